/* `ttatrace flamegraph`: render a folded stack file (ours, perf's, anyone's) or
 * the difference of two as an interactive SVG. */
#ifndef TT_FLAMEGRAPH_CMD_H
#define TT_FLAMEGRAPH_CMD_H

/* ARGV[0] is "flamegraph"; the rest are its options and inputs:
 *
 *   ttatrace flamegraph [OPTIONS] [FILE|-]
 *   ttatrace flamegraph --diff BEFORE [OPTIONS] AFTER
 *
 * (--diff takes BEFORE as its argument; AFTER is the one positional input, so
 * "--diff before.folded after.folded" reads naturally.) Resets getopt's state
 * itself, so it may run after main()'s own option parsing. Errors are printed
 * as one "ttatrace: <what failed>: <why>" line. Returns the exit status: 0, 1 on
 * a failure, 2 on a usage error. */
int flamegraph_cmd_main(int argc, char **argv);

#endif /* TT_FLAMEGRAPH_CMD_H */
