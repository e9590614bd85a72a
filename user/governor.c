/* Probe governor: hits from the kernel's per-probe counters, CPU time from
 * /proc/PID/stat, decisions in governor__decide (rate) and governor__plan (cost),
 * actions through the mute bitmap and probe_table__detach_probes. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "governor.h"
#include "insn.h"
#include "probes.h"
#include "ttatrace.h"

/* detached probes named per tick without -v; the rest are counted */
#define GOV_ANNOUNCE_MAX 20
/* the cost governor decides on windows of at least this much CPU time of the
 * targets (ticks add up until then): /proc/PID/stat counts in 10 ms clock ticks, and
 * fewer calls would not tell the probes apart */
#define GOV_MIN_CPU_NS 50000000.0

struct gov_probe {
	uint64_t last_hits; /* at the previous tick */
	uint64_t calls; /* since attach */
	uint64_t win_calls; /* in the cost governor's window */
	double cost_ns; /* estimated, since attach */
	bool undetachable; /* its removal failed with -ENOENT: no uprobes of its own */
};

struct gov_proc {
	pid_t pid;
	uint64_t last_cpu_ns; /* 0: not read yet */
	bool have_cpu; /* read at this tick */
};

struct governor {
	struct governor_opts o;
	int ncpu;
	struct gov_probe *pr; /* per probe id */
	uint32_t n_pr;
	struct gov_proc *procs;
	size_t n_procs, cap_procs;
	uint64_t last_ns;
	double win_cpu_ns; /* the targets' CPU time in the cost governor's window */
	struct governor_stats st;
};

void governor__default_costs(struct gov_costs *c)
{
	c->ns[GOV_COST_NOP5] = DEFAULT_COST_NOP5_NS;
	c->ns[GOV_COST_EMULATED] = DEFAULT_COST_EMULATED_NS;
	c->ns[GOV_COST_STEPPED] = DEFAULT_COST_STEPPED_NS;
	c->ns[GOV_COST_UNKNOWN] = DEFAULT_COST_EMULATED_NS;
}

static const char *const cost_names[GOV_COST_N] = { "nop5", "emulated", "stepped", "unknown" };

const char *governor__cost_class_name(enum gov_cost_class k)
{
	return k < GOV_COST_N ? cost_names[k] : "?";
}

int governor__parse_costs(const char *s, struct gov_costs *c)
{
	bool unknown_set = false;
	const char *p = s;

	if (!s || !*s)
		return -EINVAL;
	while (*p) {
		size_t len = strcspn(p, "=,");
		int k, found = -1;
		double v;
		char *end;

		for (k = 0; k < GOV_COST_N; k++)
			if (strlen(cost_names[k]) == len && !strncmp(p, cost_names[k], len))
				found = k;
		if (found < 0 || p[len] != '=')
			return -EINVAL;
		p += len + 1;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		errno = 0;
		v = strtod(p, &end);
		if (errno || end == p)
			return -EINVAL;
		if (!strncmp(end, "us", 2)) {
			v *= 1000;
			end += 2;
		} else if (!strncmp(end, "ns", 2)) {
			end += 2;
		}
		if (!(v > 0) || v > 1e9 || (*end && *end != ','))
			return -EINVAL;
		c->ns[found] = v;
		if (found == GOV_COST_UNKNOWN)
			unknown_set = true;
		p = *end ? end + 1 : end;
		if (*end && !*p)
			return -EINVAL; /* trailing comma */
	}
	if (!unknown_set)
		c->ns[GOV_COST_UNKNOWN] = c->ns[GOV_COST_EMULATED];
	return 0;
}

enum gov_cost_class governor__cost_class(const struct tt_probe *p)
{
	if (!p->classified)
		return GOV_COST_UNKNOWN;
	switch (p->site_class) {
	case INSN_CLASS_NOP5:
		return GOV_COST_NOP5;
	case INSN_CLASS_EMULATED:
		return GOV_COST_EMULATED;
	case INSN_CLASS_STEPPED:
		return GOV_COST_STEPPED;
	default:
		return GOV_COST_UNKNOWN;
	}
}

static int item_cmp(const void *a, const void *b)
{
	const struct gov_item *x = a, *y = b;

	if (x->cost_ns != y->cost_ns)
		return x->cost_ns > y->cost_ns ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

double governor__own_ns(double cpu_ns, double probes_ns)
{
	double own = cpu_ns - probes_ns;

	return own > GOV_MIN_OWN * cpu_ns ? own : GOV_MIN_OWN * cpu_ns;
}

size_t governor__plan(struct gov_item *items, size_t n, double own_ns, double max_total,
		      double max_probe)
{
	double total = 0, bt, bp;
	size_t i;

	if (!n || !(own_ns > 0))
		return 0;
	qsort(items, n, sizeof(*items), item_cmp);
	for (i = 0; i < n; i++)
		total += items[i].cost_ns;
	bt = max_total > 0 ? max_total * own_ns : -1;
	bp = max_probe > 0 ? max_probe * own_ns : -1;
	/* costliest first: once one fits both budgets, every cheaper one does too */
	for (i = 0; i < n; i++) {
		bool over_total = bt >= 0 && total > bt;
		bool over_probe = bp >= 0 && items[i].cost_ns > bp;

		if (!(items[i].cost_ns > 0) || (!over_total && !over_probe))
			break;
		total -= items[i].cost_ns;
	}
	return i;
}

int governor__decide(double rate, double soft, double hard, int muted, int detached)
{
	if (detached)
		return 0;
	if (hard > 0 && rate > hard)
		return 2;
	if (soft > 0 && rate > soft && !muted)
		return 1;
	return 0;
}

/* utime + stime (fields 14 and 15) of /proc/PID/stat, all threads, in ns. */
static int proc_cpu_ns(pid_t pid, uint64_t *out)
{
	static long hz;
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	ssize_t n;
	int fd, i;

	if (!hz) {
		hz = sysconf(_SC_CLK_TCK);
		if (hz <= 0)
			hz = 100;
	}
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -EIO;
	buf[n] = 0;
	/* the command name may hold spaces and parentheses: fields count from the last ')' */
	p = strrchr(buf, ')');
	if (!p)
		return -EIO;
	p++;
	for (i = 3; i <= 13 && p; i++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p, " %llu %llu", &ut, &st) != 2)
		return -EIO;
	*out = (ut + st) * (1000000000ULL / (uint64_t)hz);
	return 0;
}

struct governor *governor__new(const struct governor_opts *o)
{
	struct governor *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->o = *o;
	if (!g->o.cpu_ns)
		g->o.cpu_ns = proc_cpu_ns;
	if (g->o.max_overhead > 0 && !(g->o.max_overhead_probe > 0))
		g->o.max_overhead_probe = g->o.max_overhead;
	g->ncpu = libbpf_num_possible_cpus();
	if (g->ncpu <= 0) {
		free(g);
		errno = EINVAL;
		return NULL;
	}
	return g;
}

void governor__free(struct governor *g)
{
	if (!g)
		return;
	free(g->pr);
	free(g->procs);
	free(g);
}

static int read_hits(struct governor *g, uint32_t id, uint64_t *out)
{
	uint64_t per[g->ncpu];
	int i;

	if (bpf_map_lookup_elem(g->o.hits_fd, &id, per))
		return -errno;
	*out = 0;
	for (i = 0; i < g->ncpu; i++)
		*out += per[i];
	return 0;
}

static int set_muted(struct governor *g, uint32_t id)
{
	uint32_t w = id / 64;
	uint64_t bits = 0;

	if (bpf_map_lookup_elem(g->o.muted_fd, &w, &bits))
		return -errno;
	bits |= 1ULL << (id % 64);
	return bpf_map_update_elem(g->o.muted_fd, &w, &bits, BPF_ANY) ? -errno : 0;
}

static struct gov_proc *proc_of(struct governor *g, pid_t pid)
{
	size_t i;

	for (i = 0; i < g->n_procs; i++)
		if (g->procs[i].pid == pid)
			return &g->procs[i];
	if (g->n_procs == g->cap_procs) {
		size_t cap = g->cap_procs ? 2 * g->cap_procs : 8;
		struct gov_proc *v = realloc(g->procs, cap * sizeof(*v));

		if (!v)
			return NULL;
		g->procs = v;
		g->cap_procs = cap;
	}
	g->procs[g->n_procs] = (struct gov_proc){ .pid = pid };
	return &g->procs[g->n_procs++];
}

static int grow(struct governor *g, uint32_t n)
{
	struct gov_probe *v;
	uint32_t id;

	if (n <= g->n_pr)
		return 0;
	v = realloc(g->pr, n * sizeof(*v));
	if (!v)
		return -ENOMEM;
	memset(v + g->n_pr, 0, (n - g->n_pr) * sizeof(*v));
	/* new probes start from their current count */
	g->pr = v;
	for (id = g->n_pr; id < n; id++)
		read_hits(g, id, &v[id].last_hits);
	g->n_pr = n;
	return 0;
}

/* " in pid N", or "" for a probe shared by every process running its file */
static const char *in_pid(const struct tt_probe *p, char *buf, size_t len)
{
	if (p->pid <= 0)
		return "";
	snprintf(buf, len, " in pid %d", (int)p->pid);
	return buf;
}

static int rate_action(struct governor *g, struct probe_table *pt, struct tt_probe *p,
		       double rate, FILE *warn)
{
	char where[32];
	int d = governor__decide(rate, g->o.soft_per_s, g->o.hard_per_s, p->muted, p->detached);
	int err;

	if (d == 1) {
		if (set_muted(g, p->id))
			return 0;
		p->muted = true;
		g->st.muted++;
		fprintf(warn, "ttatrace: warning: %s%s is called %.0f times/s, over "
			      "--max-rate-per-probe %.0f: its spans stop (histograms continue)\n",
			p->label, in_pid(p, where, sizeof(where)), rate, g->o.soft_per_s);
		return 1;
	}
	if (d != 2)
		return 0;
	set_muted(g, p->id);
	p->muted = true;
	err = probe_table__detach_probe(pt, p->id, g->o.entry_prog_fd, g->o.exit_prog_fd);
	if (err == -ENOENT) {
		g->pr[p->id].undetachable = true;
		g->st.detach_failed++;
		return 1;
	}
	g->st.detached_rate++;
	fprintf(warn, "ttatrace: warning: %s%s is called %.0f times/s, over "
		      "the hard limit %.0f: detached%s%s\n",
		p->label, in_pid(p, where, sizeof(where)), rate, g->o.hard_per_s, err ? "; re-attaching the others failed: " : "",
		err ? strerror(-err) : "");
	return 1;
}

/* The cost governor for one process: its live probes' cost this tick against its
 * CPU time; the plan's probes are detached at once, costliest first. */
static int cost_actions(struct governor *g, struct probe_table *pt, double own_ns,
			struct gov_item *items, size_t n, double total_ns, FILE *warn)
{
	size_t k, m, named = 0;
	uint32_t *ids;
	int *res, err, acted = 0;

	m = governor__plan(items, n, own_ns, g->o.max_overhead, g->o.max_overhead_probe);
	if (!m)
		return 0;
	ids = calloc(m, sizeof(*ids));
	res = calloc(m, sizeof(*res));
	if (!ids || !res) {
		free(ids);
		free(res);
		return -ENOMEM;
	}
	for (k = 0; k < m; k++) {
		ids[k] = items[k].id;
		set_muted(g, ids[k]); /* children of calls in flight skip it (the kernel) */
	}
	err = probe_table__detach_probes(pt, ids, m, g->o.entry_prog_fd, g->o.exit_prog_fd, res);
	fprintf(warn, "ttatrace: governor: the probes cost the traced processes ~%.1f%% over their "
		      "own CPU time, above --max-overhead %g%%: detaching %zu, costliest first\n",
		100 * total_ns / own_ns, 100 * g->o.max_overhead, m);
	for (k = 0; k < m; k++) {
		struct tt_probe *p = probe_table__get(pt, ids[k]);

		if (res[k] == -ENOENT) {
			g->pr[ids[k]].undetachable = true;
			g->st.detach_failed++;
			continue;
		}
		if (res[k] || !p)
			continue;
		p->muted = true;
		g->st.detached_cost++;
		acted++;
		if (g->o.verbose > 0 || named < GOV_ANNOUNCE_MAX) {
			fprintf(warn, "ttatrace: governor: detached %s: ~%.1f%% (%.0f us per call, %s)\n",
				p->label, 100 * items[k].cost_ns / own_ns,
				g->o.costs.ns[governor__cost_class(p)] / 1000,
				governor__cost_class_name(governor__cost_class(p)));
			named++;
		}
	}
	if ((size_t)acted > named)
		fprintf(warn, "ttatrace: governor: ... and %zu more detached (-v names them)\n",
			(size_t)acted - named);
	if (err)
		fprintf(warn, "ttatrace: warning: governor: re-attaching the other probes failed: %s "
			      "(those stay)\n",
			strerror(-err));
	free(ids);
	free(res);
	return acted;
}

static void update_top(struct governor *g, struct probe_table *pt)
{
	struct gov_top *t = g->st.top;
	size_t n = 0, i, j;
	uint32_t id;

	for (id = 0; id < g->n_pr; id++) {
		struct tt_probe *p = probe_table__get(pt, id);
		double c = g->pr[id].cost_ns / 1e9;

		if (!p || !(c > 0) || (n == GOV_TOP_N && c <= t[n - 1].cost_s))
			continue;
		i = n < GOV_TOP_N ? n++ : n - 1;
		for (j = i; j > 0 && t[j - 1].cost_s < c; j--)
			t[j] = t[j - 1];
		snprintf(t[j].label, sizeof(t[j].label), "%s", p->label);
		t[j].pid = p->pid;
		t[j].cost_s = c;
		t[j].calls = g->pr[id].calls;
		t[j].detached = p->detached;
	}
	g->st.n_top = n;
}

/* CPU time the traced processes used since the last call, ns; processes seen for
 * the first time count from now, gone ones are forgotten. */
static double procs_cpu(struct governor *g, const pid_t *pids, size_t n_pids)
{
	double sum = 0;
	size_t i, j;

	for (i = 0; i < g->n_procs; i++)
		g->procs[i].have_cpu = false; /* reused as "still traced" below */
	for (i = 0; i < n_pids; i++) {
		struct gov_proc *pr = proc_of(g, pids[i]);
		uint64_t now_cpu;
		bool known;

		if (!pr)
			continue;
		known = pr->last_cpu_ns != 0;
		if (g->o.cpu_ns(pids[i], &now_cpu))
			continue; /* gone: forgotten below */
		if (known && now_cpu >= pr->last_cpu_ns)
			sum += (double)(now_cpu - pr->last_cpu_ns);
		pr->last_cpu_ns = now_cpu ? now_cpu : 1;
		pr->have_cpu = true;
	}
	for (i = j = 0; i < g->n_procs; i++)
		if (g->procs[i].have_cpu)
			g->procs[j++] = g->procs[i];
	g->n_procs = j;
	return sum;
}

int governor__tick(struct governor *g, struct probe_table *pt, const pid_t *pids, size_t n_pids,
		   uint64_t now_ns, FILE *warn)
{
	uint32_t n = probe_table__count(pt), id;
	struct gov_item *items = NULL;
	double dt, cpu, own, total = 0;
	int acted = 0;
	size_t m = 0;

	if (n > TT_GOV_PROBES)
		n = TT_GOV_PROBES;
	if (grow(g, n))
		return -ENOMEM;
	if (!g->last_ns) {
		g->last_ns = now_ns;
		procs_cpu(g, pids, n_pids);
		return 0;
	}
	dt = (now_ns - g->last_ns) / 1e9;
	if (dt < 0.5)
		return 0;
	g->last_ns = now_ns;
	if (g->o.max_overhead > 0) {
		items = calloc(n ? n : 1, sizeof(*items));
		if (!items)
			return -ENOMEM;
	}
	/* hits and estimated cost of every probe; rate actions */
	for (id = 0; id < n; id++) {
		struct tt_probe *p = probe_table__get(pt, id);
		uint64_t h, d;
		double c;

		if (!p || read_hits(g, id, &h))
			continue;
		d = h - g->pr[id].last_hits;
		g->pr[id].last_hits = h;
		g->pr[id].calls += d;
		c = d * g->o.costs.ns[governor__cost_class(p)];
		g->pr[id].cost_ns += c;
		g->pr[id].win_calls += d;
		g->st.cost_s += c / 1e9;
		if (g->o.soft_per_s > 0 || g->o.hard_per_s > 0)
			acted += rate_action(g, pt, p, d / dt, warn);
	}
	/* cost: every probe against the traced processes' own CPU time (a shared
	 * executable's probe counts the calls of every process running it) */
	if (items) {
		g->win_cpu_ns += procs_cpu(g, pids, n_pids);
		cpu = g->win_cpu_ns;
		if (cpu < GOV_MIN_CPU_NS)
			goto out; /* the window grows */
		for (id = 0; id < n; id++) {
			struct tt_probe *p = probe_table__get(pt, id);
			double c;

			if (!p)
				continue;
			c = g->pr[id].win_calls * g->o.costs.ns[governor__cost_class(p)];
			g->pr[id].win_calls = 0;
			total += c;
			if (c > 0 && !p->detached && !g->pr[id].undetachable) {
				items[m].id = id;
				items[m++].cost_ns = c;
			}
		}
		g->win_cpu_ns = 0;
		if (g->o.verbose > 1)
			fprintf(warn, "ttatrace: governor: the traced processes used %.1f ms of CPU, "
				      "the probes ~%.1f ms of it\n",
				cpu / 1e6, total / 1e6);
		own = governor__own_ns(cpu, total);
		g->st.overhead = total / own;
		if (g->st.overhead > g->st.overhead_max)
			g->st.overhead_max = g->st.overhead;
		acted += cost_actions(g, pt, own, items, m, total, warn);
	}
out:
	update_top(g, pt);
	free(items);
	return acted;
}

void governor__stats(const struct governor *g, struct governor_stats *out)
{
	*out = g->st;
}

void governor__print_summary(const struct governor *g, uint64_t spans_muted, FILE *f)
{
	const struct governor_stats *s = &g->st;
	size_t i;

	fprintf(f, "ttatrace: governor: %llu probes muted (spans stopped: %llu), %llu detached "
		   "(%llu by rate, %llu by cost)",
		(unsigned long long)s->muted, (unsigned long long)spans_muted,
		(unsigned long long)(s->detached_rate + s->detached_cost),
		(unsigned long long)s->detached_rate, (unsigned long long)s->detached_cost);
	if (s->detach_failed)
		fprintf(f, ", %llu could not be detached", (unsigned long long)s->detach_failed);
	fputc('\n', f);
	if (!s->n_top)
		return;
	fprintf(f, "ttatrace: governor: probes cost the targets ~%.3f s of CPU time", s->cost_s);
	if (g->o.max_overhead > 0)
		fprintf(f, " (over their own CPU time: %.1f%% last, %.1f%% at most, budget %g%%)",
			100 * s->overhead, 100 * s->overhead_max, 100 * g->o.max_overhead);
	fputs("; costliest:\n", f);
	for (i = 0; i < s->n_top; i++)
		fprintf(f, "  %-40s %12llu calls  ~%10.3f s%s\n", s->top[i].label,
			(unsigned long long)s->top[i].calls, s->top[i].cost_s,
			s->top[i].detached ? "  detached" : "");
}
