/* Python primitives (CPython 3.12 and 3.13): the bootstrap's spec and environment in
 * launch mode, finding the interpreter of a process and attaching the three probes
 * (bpf/python.bpf.h), and naming the probe ids the kernel hands out from the
 * bootstrap's registry of armed code objects and classes. */
#ifndef TT_PYTHON_H
#define TT_PYTHON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
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
/* NULL (errno 0) when the catalogue names no Python primitive and not always (the
 * agent: a prepared service's own catalogue names its primitives); reserves the probe
 * ids [0, TT_PY_MAX_PROBES) in pt, so call it before any probe is added. */
struct py_session *py_session__new(const struct catalog *cat, struct ttatrace_bpf *skel,
				   struct probe_table *pt, int verbose, bool always);
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
/* multi: the *_multi programs are loaded (uprobe_multi links: no CAP_SYS_ADMIN);
 * shared (needs multi): one link set per interpreter file for every process running
 * it, the kernel filtering by py_procs (forked children are traced from their first
 * call); agent (ttatrace agent, shared too): a process of a known interpreter is a
 * Python process from its exec, one looked at too early is tried again. Call before
 * attaching. */
void py_session__set_links(struct py_session *s, bool multi, bool shared, bool agent);
/* A process forked by a Python process: traced like its parent (the kernel copied
 * its layout at fork; without shared links it gets its own). 1 when it was a Python
 * process's child, 0 if not, or a negative errno with a message. The agent's
 * attach returns -EAGAIN for a process whose libpython is not mapped yet (try again)
 * and -ENOKEY for a Python process without the bootstrap in its environment. */
int py_session__fork(struct py_session *s, pid_t pid, pid_t ppid, char *err, size_t errlen);
/* Opens the registries that appeared (each drain tick). */
void py_session__tick(struct py_session *s);
/* pid exited: its links and open spans go; py_session__reap frees the rest once its
 * last records are read. */
void py_session__exit(struct py_session *s, pid_t pid);
void py_session__reap(struct py_session *s, pid_t pid);
/* The Python probes attached (links made), for the summary. */
size_t py_session__links(const struct py_session *s);
/* For the agent's summary and self-metrics. */
void py_session__counts(const struct py_session *s, uint64_t *procs, uint64_t *not_prepared,
			uint64_t *open_at_exit);
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
