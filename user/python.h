/* Python primitives (CPython 3.12 and 3.13): the bootstrap's spec and environment in
 * launch mode, finding the interpreter of a process and attaching the three probes
 * (bpf/python.bpf.h), and naming the probe ids the kernel hands out from the
 * bootstrap's registry of armed code objects and classes. */
#ifndef TT_PYTHON_H
#define TT_PYTHON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

struct catalog;
struct cat_entry;
struct probe_table;
struct ttatrace_bpf;
struct tt_kstats;

struct py_session;

/* Whether the catalogue names Python primitives. */
bool catalog__has_python(const struct catalog *cat);
/* NULL (errno 0) when the catalogue names no Python primitive; reserves the probe
 * ids [0, TT_PY_MAX_PROBES) in pt, so call it before any probe is added. */
struct py_session *py_session__new(const struct catalog *cat, struct ttatrace_bpf *skel,
				   struct probe_table *pt, int verbose);
void py_session__free(struct py_session *s);
/* Launch mode: writes the bootstrap's spec and puts the bootstrap first on
 * PYTHONPATH in this process's environment (the child inherits it). 0 or -errno. */
int py_session__prepare_launch(struct py_session *s, char *err, size_t errlen);
/* Finds the interpreter of pid and attaches. The number of probes attached (0: pid
 * is not a Python process), or a negative errno with a one-line message. */
int py_session__attach(struct py_session *s, pid_t pid, bool launched, char *err, size_t errlen);
/* py_session__attach after the native scan found n_native probes: their sum, or
 * the attach's negative errno. */
static inline int py_attach_add(struct py_session *s, pid_t pid, bool launched, int n_native,
				char *err, size_t errlen)
{
	int r = py_session__attach(s, pid, launched, err, errlen);

	return r < 0 ? r : n_native + r;
}
/* A ring record: 1 when it was the session's (TT_REC_PY_PROBE), else 0. */
int py_session__on_record(struct py_session *s, const void *data, size_t size);
/* Whether probes were named since the last call (the metrics need a sync). */
bool py_session__take_new(struct py_session *s);
/* One summary line: spans, hits that were not ttatrace's. */
void py_session__summary(FILE *f, const struct py_session *s, const struct tt_kstats *ks);
/* The directory holding the bootstrap (sitecustomize.py): $TTATRACE_PY_BOOT, else
 * <ttatrace's dir>/../tools/python (the source tree), else ../lib/ttatrace/python
 * (make install, the image). 0 or -ENOENT. */
int py_boot_dir(char *out, size_t len);
/* Writes the bootstrap's spec for a catalogue (for a prepared service). 0 or -errno. */
int py_spec__write(const struct catalog *cat, FILE *f);
/* The catalogue entry a bootstrap selector ("class:MODULE:QUALNAME" or
 * "func:MODULE:GLOB") came from: the first with that selector, NULL if none. */
const struct cat_entry *py_catalog__entry(const struct catalog *cat, const char *sel);

#endif
