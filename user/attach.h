/* Attach: --probe specs -> the ELF files mapped in a process -> matching symbols
 * -> one uretprobe and one uprobe per symbol, cookie = probe id. Works per
 * process, at any time and repeatedly (new libraries mapped later are picked up
 * by calling attacher__scan_pid again). */
#ifndef TT_ATTACH_H
#define TT_ATTACH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct bpf_program;
struct probe_table;

/* --probe [BINARY:]GLOB */
struct probe_spec {
	char *binary; /* NULL: the main executable and every mapped library */
	char *glob;
	char *text; /* as given */
	size_t matched; /* symbols attached for this spec, all processes */
};

/* Parses text into spec (strings owned by spec). On error fills err and returns
 * -EINVAL. "ns::f*" has no BINARY: a ':' followed by ':' does not split. */
int probe_spec__parse(const char *text, struct probe_spec *spec, char *err, size_t errlen);
void probe_spec__clear(struct probe_spec *spec);

struct attacher;

/* entry_multi/exit_multi: the same programs loaded for uprobe_multi links, or
 * NULL when the kernel lacks them (then every probe is its own perf event). */
struct attacher *attacher__new(struct bpf_program *entry, struct bpf_program *exit,
			       struct bpf_program *entry_multi, struct bpf_program *exit_multi,
			       struct probe_table *pt, struct probe_spec *specs, size_t n_specs,
			       int verbose);
void attacher__free(struct attacher *a);
/* With a catalogue, matched symbols take its names, kinds and captures; capture
 * configs go to the BPF map probe_cfg (cfg_map_fd). */
struct catalog;
/* Dry run (--list-probes): matched symbols are printed to out as
 * "binary<TAB>symbol<TAB>offset<TAB>address<TAB>entry class<TAB>probe class[@+N]<TAB>error rule"
 * instead of attached; the scan functions then return the number printed. */
void attacher__set_dry_run(struct attacher *a, FILE *out);
/* The dry run only counts (map sizing): nothing printed, no return types read. */
void attacher__set_dry_run_count_only(struct attacher *a, bool count_only);
void attacher__set_catalog(struct attacher *a, const struct catalog *cat, int cfg_map_fd);
/* x86-64: probes go on the cheapest instruction of a function's straight-line start
 * that runs with the entry's stack pointer (placement.h); at_entry keeps them on the
 * first instruction (--probe-at-entry). */
void attacher__set_probe_at_entry(struct attacher *a, bool at_entry);
/* The deny list (denylist.h) skips setjmp-like functions with one warning naming
 * them; allow turns it off (--allow-unsafe-probes). */
void attacher__set_allow_unsafe(struct attacher *a, bool allow);

/* Attaches to every mapped file of pid not scanned before. Returns the number of
 * new probes, or a negative errno with a one-line reason in err (-ESRCH: no such
 * process; -EACCES/-EPERM: not permitted; -ENOEXEC: a named binary is not ELF). */
int attacher__scan_pid(struct attacher *a, pid_t pid, char *err, size_t errlen);
/* Attaches the specs that can apply to one file for pid, before pid maps it
 * (launch mode: the executable, before exec). is_main: the file is the process's
 * executable. Same returns as attacher__scan_pid. */
int attacher__attach_file(struct attacher *a, pid_t pid, const char *path, bool is_main,
			  char *err, size_t errlen);
/* on: a process's executable gets links without a pid filter, one set per file
 * (probe table pid 0), shared by every process running it; the BPF side counts
 * only the processes in traced_tgids. Needed to follow forks from their first
 * call. off (default): every link is limited to its process. */
/* The name PID is started as (argv[0]), for a process not yet exec'd: BINARY in a
 * probe spec matches the executable by it too. Other processes' come from /proc. */
void attacher__set_started_name(struct attacher *a, pid_t pid, const char *name);

/* The kernel's count of link creations in progress (edge_attaching in the mmap'ed
 * .bss): raised around each exit+entry link pair. */
void attacher__set_edge_flag(struct attacher *a, uint32_t *attaching);

void attacher__set_shared_main(struct attacher *a, bool on);
/* iter: the loaded tt_file_ids iterator (bpf/file_id.bpf.h). Shared links are one
 * set per file as the kernel's uprobes see it (the layer's file under overlayfs,
 * one file behind two hard links), never per path: a path names another file in
 * another mount namespace. Without it (NULL), stat's identity. */
void attacher__set_file_ids(struct attacher *a, const struct bpf_program *iter);
/* Forgets what was scanned for pid (it exited). */
void attacher__forget_pid(struct attacher *a, pid_t pid);
/* Human list of the files searched for pid at the last scan ("workflow-demo, libc.so.6"). */
const char *attacher__searched(const struct attacher *a);
/* Why a probe spec naming a stripped file found nothing there (no debug file), or "". */
const char *attacher__stripped_note(const struct attacher *a);
/* Symbols matched but not attached because the kernel refused. */
size_t attacher__failed(const struct attacher *a);

#endif
