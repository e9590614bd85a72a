/* The probe governor: a broad glob can match functions called far more often than
 * is worth tracing. Every tick (0.5 s at least) it reads each probe's hits:
 *  - by rate: above --max-rate-per-probe a probe's spans stop (histograms go on
 *    counting), above --max-rate-hard its uprobes are removed;
 *  - by cost: what the probes cost the traced processes (hits x the cost of one call
 *    of that probe's instruction class) against the CPU time of their own work
 *    (their CPU time from /proc minus that cost: the ratio is the slowdown); over
 *    --max-overhead (in total, or --max-overhead-per-probe for one probe) the
 *    costliest probes are detached first until the rest fit.
 * A rate measured inside a process the traps already slow stays low; the share of
 * its CPU time does not. Every action is announced, naming the symbol. */
#ifndef TT_GOVERNOR_H
#define TT_GOVERNOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct probe_table;
struct tt_probe;

/* What one call of a probe costs the traced thread, ns: the entry trap by the class
 * of the instruction the probe sits on (enum insn_class), plus the return probe. */
enum gov_cost_class {
	GOV_COST_NOP5,
	GOV_COST_EMULATED,
	GOV_COST_STEPPED,
	GOV_COST_UNKNOWN, /* not classified (not x86-64, unreadable text) */
	GOV_COST_N,
};
struct gov_costs {
	double ns[GOV_COST_N];
};

/* Measured on the reference machine (BENCHMARKS.md: wall ns per traced call over
 * the untraced call, Firecracker VM, kernel 6.18); --probe-cost overrides. */
#define DEFAULT_COST_NOP5_NS 4000.0
#define DEFAULT_COST_EMULATED_NS 12000.0
#define DEFAULT_COST_STEPPED_NS 28000.0

void governor__default_costs(struct gov_costs *c);
/* "nop5=NS,emulated=NS,stepped=NS" (any subset, 'us' suffix allowed; unknown
 * takes emulated's value unless given). 0 or -EINVAL. */
int governor__parse_costs(const char *s, struct gov_costs *c);
/* The cost class of a probe (its placed site's class when classified). */
enum gov_cost_class governor__cost_class(const struct tt_probe *p);
const char *governor__cost_class_name(enum gov_cost_class k);

/* Measures what one traced call of each class costs on this machine now, with the
 * entry and return programs of uprobe_multi links (x86-64; ~0.2 s): out's nop5,
 * emulated, stepped (and unknown = emulated). 0 or a negative errno. */
int governor__calibrate(int entry_prog_fd, int exit_prog_fd, struct gov_costs *out);

/* One probe's cost over an interval, for governor__plan. */
struct gov_item {
	uint32_t id;
	double cost_ns;
};
/* The decision alone (unit-tested). Sorts items by cost, costliest first (ties by
 * id), and returns how many of the first ones to detach: any probe costing over
 * max_probe x own_ns, then more until the rest cost at most max_total x own_ns.
 * own_ns: the process's own CPU time in the interval (governor__own_ns), so a
 * fraction is the slowdown the probes cause. A fraction of 0 is no limit. */
size_t governor__plan(struct gov_item *items, size_t n, double own_ns, double max_total,
		      double max_probe);
/* The process's own CPU time: what it used (cpu_ns, traps included) minus what the
 * probes cost it, at least GOV_MIN_OWN of cpu_ns (an estimate above the time
 * measured means the costs are set too high: the floor keeps the budget finite). */
#define GOV_MIN_OWN 0.02
double governor__own_ns(double cpu_ns, double probes_ns);

/* The rate decision alone (unit-tested): 0 keep, 1 mute, 2 detach. soft/hard of 0
 * are off. */
int governor__decide(double rate_per_s, double soft, double hard, int muted, int detached);

struct governor_opts {
	double soft_per_s, hard_per_s; /* calls/s; 0: off */
	double max_overhead; /* probes' cost / the targets' own CPU time, all probes; 0: off */
	double max_overhead_probe; /* ...for one probe; 0: max_overhead */
	struct gov_costs costs;
	int hits_fd; /* per-CPU u64 per probe id */
	int muted_fd; /* array of u64 mute bits */
	int entry_prog_fd, exit_prog_fd;
	int verbose; /* > 0: every detached probe is named, not only the first ones */
	/* CPU time of a process, ns (utime + stime of all its threads); NULL reads
	 * /proc/PID/stat. Negative errno when it is gone. */
	int (*cpu_ns)(pid_t pid, uint64_t *out);
};

#define GOV_TOP_N 10
struct gov_top {
	char label[96];
	pid_t pid;
	double cost_s; /* estimated, since attach */
	uint64_t calls;
	bool detached;
};

struct governor_stats {
	uint64_t muted; /* by rate */
	uint64_t detached_rate; /* over --max-rate-hard */
	uint64_t detached_cost; /* over --max-overhead */
	uint64_t detach_failed; /* could not be removed (e.g. Python code objects) */
	double cost_s; /* all probes' estimated cost to the targets, since attach */
	double overhead; /* probes' cost over the traced processes' own CPU time, last tick */
	double overhead_max; /* the highest of any tick */
	struct gov_top top[GOV_TOP_N]; /* costliest probes, costliest first */
	size_t n_top;
};

struct governor;

/* NULL + errno on failure. */
struct governor *governor__new(const struct governor_opts *o);
void governor__free(struct governor *g);
/* Reads every probe's hits since the last call (0.5 s at least) and the CPU time of
 * the traced processes (pids), and acts. Returns the number of probes muted or
 * detached by this call. */
int governor__tick(struct governor *g, struct probe_table *pt, const pid_t *pids, size_t n_pids,
		   uint64_t now_ns, FILE *warn);
void governor__stats(const struct governor *g, struct governor_stats *out);
/* The summary lines (actions, overhead, costliest probes). */
void governor__print_summary(const struct governor *g, uint64_t spans_muted, FILE *f);

#endif
