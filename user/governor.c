/* Probe governor: rates from the kernel's per-probe hit counters, decisions in
 * governor__decide, actions through the mute bitmap and probe_table__detach_probe. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "governor.h"
#include "probes.h"
#include "ttatrace.h"

struct governor {
	double soft, hard;
	int hits_fd, muted_fd, entry_fd, exit_fd;
	int ncpu;
	uint64_t *last; /* hits at the previous tick, per probe */
	uint32_t n_last;
	uint64_t last_ns;
	struct governor_stats st;
};

int governor__decide(double rate, double soft, double hard, int muted, int detached)
{
	if (detached)
		return 0;
	if (rate > hard)
		return 2;
	if (rate > soft && !muted)
		return 1;
	return 0;
}

struct governor *governor__new(double soft, double hard, int hits_fd, int muted_fd,
			       int entry_prog_fd, int exit_prog_fd)
{
	struct governor *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->soft = soft;
	g->hard = hard;
	g->hits_fd = hits_fd;
	g->muted_fd = muted_fd;
	g->entry_fd = entry_prog_fd;
	g->exit_fd = exit_prog_fd;
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
	free(g->last);
	free(g);
}

static int read_hits(struct governor *g, uint32_t id, uint64_t *out)
{
	uint64_t per[g->ncpu];
	int i;

	if (bpf_map_lookup_elem(g->hits_fd, &id, per))
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

	if (bpf_map_lookup_elem(g->muted_fd, &w, &bits))
		return -errno;
	bits |= 1ULL << (id % 64);
	return bpf_map_update_elem(g->muted_fd, &w, &bits, BPF_ANY) ? -errno : 0;
}

int governor__tick(struct governor *g, struct probe_table *pt, uint64_t now_ns, FILE *warn)
{
	uint32_t n = probe_table__count(pt), id;
	double dt;
	int acted = 0;

	if (n > TT_GOV_PROBES)
		n = TT_GOV_PROBES;
	if (n > g->n_last) {
		uint64_t *nl = realloc(g->last, n * sizeof(*nl));

		if (!nl)
			return -ENOMEM;
		memset(nl + g->n_last, 0, (n - g->n_last) * sizeof(*nl));
		/* new probes start from their current count */
		for (id = g->n_last; id < n; id++)
			read_hits(g, id, &nl[id]);
		g->last = nl;
		g->n_last = n;
	}
	if (!g->last_ns) {
		g->last_ns = now_ns;
		return 0;
	}
	dt = (now_ns - g->last_ns) / 1e9;
	if (dt < 0.5)
		return 0;
	for (id = 0; id < n; id++) {
		struct tt_probe *p = probe_table__get(pt, id);
		uint64_t h;
		double rate;
		int d;

		if (!p || read_hits(g, id, &h))
			continue;
		rate = (h - g->last[id]) / dt;
		g->last[id] = h;
		d = governor__decide(rate, g->soft, g->hard, p->muted, p->detached);
		if (d == 1) {
			if (set_muted(g, id))
				continue;
			p->muted = true;
			g->st.muted++;
			acted++;
			fprintf(warn, "ttatrace: warning: %s in pid %d is called %.0f times/s, over "
				      "--max-rate-per-probe %.0f: its spans stop (histograms continue)\n",
				p->label, p->pid, rate, g->soft);
		} else if (d == 2) {
			int err;

			set_muted(g, id);
			p->muted = true;
			err = probe_table__detach_probe(pt, id, g->entry_fd, g->exit_fd);
			g->st.detached++;
			acted++;
			fprintf(warn, "ttatrace: warning: %s in pid %d is called %.0f times/s, over "
				      "the hard limit %.0f: detached%s%s\n",
				p->label, p->pid, rate, g->hard, err ? "; re-attaching the others failed: " : "",
				err ? strerror(-err) : "");
		}
	}
	g->last_ns = now_ns;
	return acted;
}

void governor__stats(const struct governor *g, struct governor_stats *out)
{
	*out = g->st;
}
