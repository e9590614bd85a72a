/* The probe table: one entry per attached function (process, binary, symbol).
 * A probe's id is the BPF cookie of its uprobe and uretprobe, so every record
 * the kernel sends names the probe it came from. */
#ifndef TT_PROBES_H
#define TT_PROBES_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "rettype.h"

struct bpf_link;
struct cat_entry;
struct capture;
struct tt_attr;

struct tt_probe {
	uint32_t id;
	pid_t pid;
	char *binary_path; /* as mapped in the process */
	uint64_t file_dev, file_ino; /* the file the uprobes are on (file_id.h) */
	char *binary_name; /* basename of binary_path */
	char *symbol;
	char *label; /* "binary_name:symbol" */
	const char *name; /* span name: the symbol unless a catalogue renames it */
	const char *kind; /* primitive kind, "step" by default */
	uint64_t offset; /* file offset of the entry */
	uint64_t probe_off; /* file offset the uprobe and uretprobe sit at (placement.h) */
	bool classified; /* x86-64: entry_class/site_class known */
	uint8_t entry_class, site_class; /* enum insn_class of the entry and of the site */
	uint64_t addr; /* st_value */
	bool nop5;
	/* attributes every span of the probe carries (Python: code.function ...) */
	const struct tt_attr *attrs;
	size_t n_attrs;
	/* from the catalogue (NULL without --config): kind, name, captures, rules */
	const struct cat_entry *cat;
	struct capture *caps; /* resolved copies of cat->caps (offsets filled) */
	int n_caps;
	uint64_t cookie_flags; /* TT_COOKIE_* */
	/* the error rule of its return type, used when the catalogue gives none */
	struct ret_rule ret;
	bool muted; /* the governor stopped its spans (histograms continue) */
	bool detached; /* the governor removed its uprobes */
	struct bpf_link *entry;
	struct bpf_link *exit;
	/* summary, from received spans */
	uint64_t count;
	uint64_t sum_ns;
	uint64_t max_ns;
};

struct probe_table;

struct probe_table *probe_table__new(void);
void probe_table__free(struct probe_table *t); /* destroys links too */
/* Adds a probe (copies the strings); NULL + errno on failure. */
struct tt_probe *probe_table__add(struct probe_table *t, pid_t pid, const char *binary_path,
				  const char *symbol, uint64_t offset, uint64_t addr, bool nop5);
/* Reserves n ids with no probe yet (probe_table__get gives NULL for them), filled
 * later by probe_table__set (Python primitives get their ids from the kernel). */
int probe_table__reserve(struct probe_table *t, uint32_t n);
struct tt_probe *probe_table__set(struct probe_table *t, uint32_t id, pid_t pid,
				  const char *binary_path, const char *symbol);
struct tt_probe *probe_table__get(const struct probe_table *t, uint32_t id);
uint32_t probe_table__count(const struct probe_table *t);
/* Finds an existing probe of pid at offset in the file (dev, ino) (file_dev and
 * file_ino; a path names different files in different mount namespaces), NULL if none. */
struct tt_probe *probe_table__find(const struct probe_table *t, pid_t pid, uint64_t dev, uint64_t ino,
				   uint64_t offset);
/* Records a uprobe_multi link pair owning a group of probes of pid (fds are closed
 * at detach, exit first). 0 or -ENOMEM. */
int probe_table__add_multi(struct probe_table *t, pid_t pid, int entry_fd, int exit_fd,
			   const char *open_path, struct tt_probe *const *probes, size_t n);
/* Removes one probe's uprobes (the governor's last resort). A uprobe_multi group is
 * re-created without it; the new links go on before the old ones come off, so the
 * other functions are never left unprobed. 0 or a negative errno. */
int probe_table__detach_probe(struct probe_table *t, uint32_t id, int entry_prog_fd,
			      int exit_prog_fd);
/* The same for n probes at once: each uprobe_multi group is re-created once.
 * res[k]: 0, or -ENOENT for a probe with no uprobes of its own or already gone.
 * Returns 0 or the first group's re-attach error (its probes stay detached). */
int probe_table__detach_probes(struct probe_table *t, const uint32_t *ids, size_t n,
			       int entry_prog_fd, int exit_prog_fd, int *res);
/* Destroys the BPF links of every probe of pid (entries first). */
void probe_table__detach_pid(struct probe_table *t, pid_t pid);
/* The detach under way (another thread may ask): links taken out, of how many. */
void probe_table__detach_progress(const struct probe_table *t, size_t *done, size_t *total);
void probe_table__detach_all(struct probe_table *t);

#endif
