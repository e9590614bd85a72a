/* `ttatrace python-bootstrap DIR`: copies the Python bootstrap into DIR, for a
 * process that is to be traceable (PYTHONPATH=DIR). */
#ifndef TT_PY_BOOTSTRAP_CMD_H
#define TT_PY_BOOTSTRAP_CMD_H

int py_bootstrap_cmd_main(int argc, char **argv);

#endif
