/* Kernel latency histograms: bucket bounds, per-CPU merge, percentiles, and the
 * reader that serves the skeleton's maps to the metrics endpoint and the summary. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "hist.h"
#include "metrics.h"
#include "probes.h"
#include "ttatrace.skel.h"

uint64_t hist__bucket_lower_ns(uint32_t b)
{
	uint32_t g = b / TT_HIST_SUB, s = b % TT_HIST_SUB;

	if (g == 0)
		return b;
	return (uint64_t)(TT_HIST_SUB + s) << (g - 1);
}

uint64_t hist__bucket_upper_ns(uint32_t b)
{
	uint32_t g = b / TT_HIST_SUB;

	return hist__bucket_lower_ns(b) + (g == 0 ? 1 : 1ULL << (g - 1));
}

uint64_t hist__bucket_mid_ns(uint32_t b)
{
	uint64_t lo = hist__bucket_lower_ns(b);

	return lo + (hist__bucket_upper_ns(b) - lo) / 2;
}

void hist__record(struct hist_snapshot *s, uint64_t ns, int32_t ret)
{
	s->calls++;
	s->sum_ns += ns;
	if (ns > s->max_ns)
		s->max_ns = ns;
	if (ret < 0)
		s->errors++;
	s->buckets[tt_hist_bucket(ns)]++;
}

void hist__add(struct hist_snapshot *dst, const struct hist_snapshot *src)
{
	uint32_t b;

	dst->calls += src->calls;
	dst->errors += src->errors;
	dst->sum_ns += src->sum_ns;
	dst->inflight += src->inflight;
	if (src->max_ns > dst->max_ns)
		dst->max_ns = src->max_ns;
	for (b = 0; b < TT_HIST_NBUCKETS; b++)
		dst->buckets[b] += src->buckets[b];
}

void hist__merge_percpu(const struct tt_hist *per, int ncpu, struct hist_snapshot *out)
{
	int i;
	uint32_t b;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < ncpu; i++) {
		const struct tt_hist *h = &per[i];

		out->calls += h->calls;
		out->errors += h->errors;
		out->sum_ns += h->sum_ns;
		out->inflight += h->inflight;
		if (h->max_ns > out->max_ns)
			out->max_ns = h->max_ns;
		for (b = 0; b < TT_HIST_NBUCKETS; b++)
			out->buckets[b] += h->buckets[b];
	}
}

uint64_t hist__percentile_ns(const struct hist_snapshot *s, double q)
{
	uint64_t rank, seen = 0, v;
	uint32_t b;

	if (!s->calls)
		return 0;
	if (q <= 0)
		q = 1e-12;
	if (q > 1)
		q = 1;
	rank = (uint64_t)ceil(q * (double)s->calls);
	if (rank < 1)
		rank = 1;
	/* the largest value is known exactly */
	if (rank >= s->calls)
		return s->max_ns;
	for (b = 0; b < TT_HIST_NBUCKETS; b++) {
		seen += s->buckets[b];
		if (seen >= rank)
			break;
	}
	/* the bucket counts and calls are read at slightly different moments: a
	 * rank past every bucket, or the open-ended last bucket, reports the max */
	if (b >= TT_HIST_NBUCKETS - 1)
		return s->max_ns;
	v = hist__bucket_mid_ns(b);
	return v > s->max_ns ? s->max_ns : v;
}

uint64_t hist__count_below(const struct hist_snapshot *s, uint64_t le_ns)
{
	uint64_t n = 0;
	uint32_t b;

	for (b = 0; b < TT_HIST_NBUCKETS - 1 && hist__bucket_upper_ns(b) <= le_ns; b++)
		n += s->buckets[b];
	return n;
}

int hist__read(int map_fd, uint32_t probe_id, struct hist_snapshot *out)
{
	int ncpu = libbpf_num_possible_cpus(), err = 0;
	struct tt_hist *per;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	per = calloc(ncpu, sizeof(*per));
	if (!per)
		return -ENOMEM;
	if (bpf_map_lookup_elem(map_fd, &probe_id, per))
		err = -errno;
	else
		hist__merge_percpu(per, ncpu, out);
	free(per);
	return err;
}

/* --- reader ---------------------------------------------------------------------- */

struct reader_probe {
	char *name;
	char *kind;
	bool has_slo;
	struct slo slo; /* copied: the HTTP thread must not read the catalogue's */
};

struct hist_reader {
	struct ttatrace_bpf *skel;
	pthread_mutex_t lock; /* guards probes/n: sync runs on the main thread */
	struct reader_probe *probes;
	uint32_t n;
};

struct hist_reader *hist_reader__new(struct ttatrace_bpf *skel)
{
	struct hist_reader *r;

	if (!skel) {
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->skel = skel;
	pthread_mutex_init(&r->lock, NULL);
	return r;
}

void hist_reader__free(struct hist_reader *r)
{
	uint32_t i;

	if (!r)
		return;
	for (i = 0; i < r->n; i++) {
		free(r->probes[i].name);
		free(r->probes[i].kind);
	}
	free(r->probes);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

int hist_reader__sync(struct hist_reader *r, struct probe_table *pt)
{
	uint32_t n = probe_table__count(pt), i;
	struct reader_probe *v;
	int err = 0;

	pthread_mutex_lock(&r->lock);
	/* ids reserved for Python primitives get their probe later */
	for (i = 0; i < r->n; i++) {
		struct tt_probe *p = r->probes[i].name ? NULL : probe_table__get(pt, i);

		if (!p)
			continue;
		r->probes[i].name = strdup(p->name ? p->name : p->symbol);
		r->probes[i].kind = strdup(p->kind ? p->kind : "step");
		r->probes[i].has_slo = p->cat && (p->cat->slo.has_latency || p->cat->slo.has_errors);
		if (r->probes[i].has_slo)
			r->probes[i].slo = p->cat->slo;
	}
	if (n <= r->n)
		goto out;
	v = realloc(r->probes, n * sizeof(*v));
	if (!v) {
		err = -ENOMEM;
		goto out;
	}
	r->probes = v;
	/* probes are only ever appended, so the ones already copied stay valid */
	for (i = r->n; i < n; i++) {
		struct tt_probe *p = probe_table__get(pt, i);

		memset(&v[i], 0, sizeof(v[i]));
		if (!p)
			continue; /* a reserved id: no labels until it has a probe */
		v[i].name = strdup(p->name ? p->name : p->symbol ? p->symbol : "?");
		v[i].kind = strdup(p->kind ? p->kind : "step");
		v[i].has_slo = p->cat && (p->cat->slo.has_latency || p->cat->slo.has_errors);
		if (v[i].has_slo)
			v[i].slo = p->cat->slo;
		if (!v[i].name || !v[i].kind) {
			free(v[i].name);
			free(v[i].kind);
			err = -ENOMEM;
			break;
		}
	}
	r->n = i;
out:
	pthread_mutex_unlock(&r->lock);
	return err;
}

static uint32_t rd_n_probes(void *ctx)
{
	struct hist_reader *r = ctx;
	uint32_t n;

	pthread_mutex_lock(&r->lock);
	n = r->n;
	pthread_mutex_unlock(&r->lock);
	return n;
}

static int rd_read_probe(void *ctx, uint32_t id, struct hist_snapshot *out)
{
	struct hist_reader *r = ctx;

	if (id >= bpf_map__max_entries(r->skel->maps.hists))
		return -ENOENT;
	return hist__read(bpf_map__fd(r->skel->maps.hists), id, out);
}

static int rd_probe_labels(void *ctx, uint32_t id, char *name, size_t name_len, char *kind,
			   size_t kind_len)
{
	struct hist_reader *r = ctx;
	int err = 0;

	pthread_mutex_lock(&r->lock);
	if (id >= r->n || !r->probes[id].name || !r->probes[id].kind) {
		err = -ENOENT;
	} else {
		snprintf(name, name_len, "%s", r->probes[id].name);
		snprintf(kind, kind_len, "%s", r->probes[id].kind);
	}
	pthread_mutex_unlock(&r->lock);
	return err;
}

static int rd_probe_slo(void *ctx, uint32_t id, struct slo *out)
{
	struct hist_reader *r = ctx;
	int err = -ENOENT;

	pthread_mutex_lock(&r->lock);
	if (id < r->n && r->probes[id].has_slo) {
		*out = r->probes[id].slo;
		err = 0;
	}
	pthread_mutex_unlock(&r->lock);
	return err;
}

int kstats__read(int map_fd, struct tt_kstats *out)
{
	int ncpu = libbpf_num_possible_cpus(), i, err = 0;
	const size_t nf = sizeof(*out) / sizeof(__u64);
	struct tt_kstats *per;
	uint32_t zero = 0;
	size_t f;

	/* every field is a __u64 counter: sum them as an array, whatever is added */
	_Static_assert(sizeof(struct tt_kstats) % sizeof(__u64) == 0, "tt_kstats holds __u64 only");
	memset(out, 0, sizeof(*out));
	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	per = calloc(ncpu, sizeof(*per));
	if (!per)
		return -ENOMEM;
	if (bpf_map_lookup_elem(map_fd, &zero, per)) {
		err = -errno;
		goto out;
	}
	for (i = 0; i < ncpu; i++)
		for (f = 0; f < nf; f++)
			((__u64 *)out)[f] += ((const __u64 *)&per[i])[f];
out:
	free(per);
	return err;
}

static int rd_read_kstats(void *ctx, struct tt_kstats *out)
{
	struct hist_reader *r = ctx;

	return kstats__read(bpf_map__fd(r->skel->maps.kstats), out);
}

void hist_reader__source(struct hist_reader *r, struct metrics_source *src)
{
	memset(src, 0, sizeof(*src));
	src->n_probes = rd_n_probes;
	src->read_probe = rd_read_probe;
	src->probe_labels = rd_probe_labels;
	src->read_kstats = rd_read_kstats;
	src->probe_slo = rd_probe_slo;
	src->ctx = r;
}
