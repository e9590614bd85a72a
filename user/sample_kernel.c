/* The kernel half of sampling, driven from userspace: writes the head-sampling
 * thresholds the BPF programs compare against (per root primitive through an
 * mmap'ed array under --target-rate), turns the tail rules on, and frees tail
 * buffers whose root never exited. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sample_kernel.h"
#include "ttatrace.skel.h"

struct sample_kernel {
	struct ttatrace_bpf *skel;
	struct sample_kernel_opts o;
	struct rate_ctl *ctl; /* NULL: a fixed probability */
	volatile uint64_t *thr; /* root_thr, mmap'ed */
	volatile uint64_t *cnt; /* root_cnt, mmap'ed */
	uint64_t *cum; /* a copy of cnt for the controller */
	double *p;
	size_t cap;
	double p_now;
	uint64_t t_last;
	struct tt_tailbuf *buf; /* one value, for the sweeper's reads */
	struct sample_kernel_stats st;
};

#define ROOT_ARRAY_BYTES ((size_t)TT_GOV_PROBES * sizeof(uint64_t))

void sample_kernel__configure(struct ttatrace_bpf *skel, const struct sample_kernel_opts *o)
{
	skel->rodata->root_budget = o->target_rate > 0;
}

static void set_global(struct sample_kernel *k, double p)
{
	/* .data is mapped: the kernel sees these from the next root on */
	k->skel->data->sample_thr = sample__threshold(p);
	k->skel->data->sample_ppm = sample__ppm(p);
}

struct sample_kernel *sample_kernel__new(struct ttatrace_bpf *skel,
					 const struct sample_kernel_opts *o)
{
	struct sample_kernel *k = calloc(1, sizeof(*k));
	bool tail = o->rules.keep_errors || o->rules.keep_slow_ns;
	size_t i;

	if (!k)
		return NULL;
	k->skel = skel;
	k->o = *o;
	k->p_now = o->p;
	k->buf = malloc(sizeof(*k->buf));
	if (!k->buf)
		goto fail;
	if (o->target_rate > 0) {
		void *t, *c;

		k->ctl = rate_ctl__new(o->target_rate, o->p);
		if (!k->ctl)
			goto fail;
		/* a probe that has started no root yet has p0, clamped */
		k->p_now = rate_ctl__probability(k->ctl, 0);
		t = mmap(NULL, ROOT_ARRAY_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED,
			 bpf_map__fd(skel->maps.root_thr), 0);
		if (t == MAP_FAILED)
			goto fail;
		k->thr = t;
		c = mmap(NULL, ROOT_ARRAY_BYTES, PROT_READ, MAP_SHARED, bpf_map__fd(skel->maps.root_cnt),
			 0);
		if (c == MAP_FAILED)
			goto fail;
		k->cnt = c;
		for (i = 0; i < TT_GOV_PROBES; i++)
			k->thr[i] = sample__threshold(k->p_now);
	}
	set_global(k, k->p_now);
	skel->bss->tail_errors = o->rules.keep_errors;
	skel->bss->tail_slow_ns = o->rules.keep_slow_ns;
	if (o->tail_bytes && o->tail_bytes < TT_TAIL_DATA_BYTES)
		skel->data->tail_bytes = o->tail_bytes;
	skel->bss->sample_tail = !tail ? TT_TAIL_OFF : o->tail_stream ? TT_TAIL_STREAM : TT_TAIL_KERNEL;
	return k;
fail:
	sample_kernel__free(k);
	return NULL;
}

void sample_kernel__free(struct sample_kernel *k)
{
	if (!k)
		return;
	if (k->thr)
		munmap((void *)k->thr, ROOT_ARRAY_BYTES);
	if (k->cnt)
		munmap((void *)k->cnt, ROOT_ARRAY_BYTES);
	rate_ctl__free(k->ctl);
	free(k->cum);
	free(k->p);
	free(k->buf);
	free(k);
}

static int grow(struct sample_kernel *k, size_t n)
{
	uint64_t *c;
	double *p;
	size_t cap = k->cap ? k->cap : 64;

	if (n <= k->cap)
		return 0;
	while (cap < n)
		cap *= 2;
	c = realloc(k->cum, cap * sizeof(*c));
	if (!c)
		return -ENOMEM;
	k->cum = c;
	p = realloc(k->p, cap * sizeof(*p));
	if (!p)
		return -ENOMEM;
	k->p = p;
	k->cap = cap;
	return 0;
}

static void step_controller(struct sample_kernel *k, uint64_t now, uint32_t n_probes)
{
	size_t i, n = n_probes < TT_GOV_PROBES ? n_probes : TT_GOV_PROBES;
	double dt = k->t_last ? (now - k->t_last) / 1e9 : 0;

	if (!n || grow(k, n))
		return;
	for (i = 0; i < n; i++)
		k->cum[i] = k->cnt[i];
	k->p_now = rate_ctl__update(k->ctl, k->cum, n, dt, k->p);
	for (i = 0; i < n; i++)
		k->thr[i] = sample__threshold(k->p[i]);
	/* probes past the per-root array use the global threshold */
	set_global(k, k->p_now);
	k->t_last = now;
}

/* Frees tail buffers idle for at least idle_ns (all of them when idle_ns is 0). */
static void sweep(struct sample_kernel *k, uint64_t now, uint64_t idle_ns, uint64_t *spans,
		  uint64_t *traces)
{
	int fd = bpf_map__fd(k->skel->maps.tailbuf);
	uint64_t key, next, *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		if (!bpf_map_lookup_elem(fd, &key, k->buf) &&
		    (!idle_ns || (k->buf->last_ns && now > k->buf->last_ns &&
				     now - k->buf->last_ns >= idle_ns)) &&
		    !bpf_map_delete_elem(fd, &key)) {
			*spans += k->buf->spans;
			(*traces)++;
			/* the walk restarts: the deleted key cannot lead on */
			prev = NULL;
			continue;
		}
		prev = &key;
	}
}

void sample_kernel__tick(struct sample_kernel *k, uint64_t now_mono_ns, uint32_t n_probes)
{
	if (!k)
		return;
	if (k->ctl)
		step_controller(k, now_mono_ns, n_probes);
	if (k->skel->bss->sample_tail == TT_TAIL_KERNEL && k->o.idle_ns)
		sweep(k, now_mono_ns, k->o.idle_ns, &k->st.expired_spans, &k->st.expired_traces);
}

double sample_kernel__probability(const struct sample_kernel *k)
{
	return k ? k->p_now : 1;
}

double sample_kernel__root_probability(const struct sample_kernel *k, uint32_t probe_id)
{
	if (!k)
		return 1;
	return k->ctl ? rate_ctl__probability(k->ctl, probe_id) : k->p_now;
}

void sample_kernel__drain(struct sample_kernel *k)
{
	if (k)
		sweep(k, 0, 0, &k->st.unfinished_spans, &k->st.unfinished_traces);
}

void sample_kernel__stats(const struct sample_kernel *k, struct sample_kernel_stats *out)
{
	if (k)
		*out = k->st;
	else
		memset(out, 0, sizeof(*out));
}

void sample_kernel__totals(const struct sample_kernel *k, const struct sampler *s,
			   const struct tt_kstats *ks, struct sampling_totals *out)
{
	struct sample_stats ss = {};

	memset(out, 0, sizeof(*out));
	if (s)
		sampler__stats(s, &ss);
	out->p = sample_kernel__probability(k);
	out->roots = ks->sample_roots;
	out->picked = ks->sample_kept;
	out->kept_error = ss.traces_error;
	out->kept_slow = ss.traces_slow;
	/* unpicked traces end in the kernel (no tail rules, or its tail rules) or in
	 * userspace (streamed) */
	out->dropped = ks->tail_dropped + ss.traces_discarded;
	if (k && k->skel->bss->sample_tail == TT_TAIL_OFF && ks->sample_roots > ks->sample_kept)
		out->dropped += ks->sample_roots - ks->sample_kept;
	out->tail_held = ks->tail_held;
	out->tail_overflow = ks->tail_overflow;
}

void sample_kernel__print_summary(FILE *f, const struct sample_kernel *k, const struct sampler *s,
				  const struct tt_kstats *ks)
{
	struct sampling_totals t;
	struct sample_stats ss = {};
	__u32 mode;

	if (!k)
		return;
	mode = k->skel->bss->sample_tail;
	sample_kernel__totals(k, s, ks, &t);
	sampler__stats(s, &ss);
	fprintf(f,
		"ttatrace: sampling: probability now %.6g%s; %" PRIu64 " traces started, %" PRIu64
		" picked by head sampling; exported %" PRIu64 " head-sampled, %" PRIu64
		" kept for an error, %" PRIu64 " kept as slow; %" PRIu64 " dropped\n",
		t.p, k->ctl ? " (overall, per root primitive budgets)" : "", t.roots, t.picked,
		ss.traces_head, t.kept_error, t.kept_slow, t.dropped);
	if (ks->tp_sampled || ks->tp_unsampled)
		fprintf(f,
			"ttatrace: sampling: %" PRIu64 " roots followed a remote traceparent's sampled "
			"flag (%" PRIu64 " set, %" PRIu64 " not)\n",
			(uint64_t)ks->tp_sampled + (uint64_t)ks->tp_unsampled, (uint64_t)ks->tp_sampled, (uint64_t)ks->tp_unsampled);
	if (mode == TT_TAIL_OFF)
		fprintf(f, "ttatrace: sampling: %" PRIu64 " spans of unpicked traces never left the kernel\n",
			(uint64_t)ks->spans_unsampled);
	if (mode == TT_TAIL_KERNEL)
		fprintf(f,
			"ttatrace: sampling: tail rules in the kernel: %" PRIu64 " spans held, %" PRIu64
			" sent on (kept or outgrown traces), %" PRIu64 " freed with %" PRIu64 " dropped traces (%" PRIu64
			" finished after their root); %" PRIu64 " traces outgrew their buffer and %" PRIu64
			" spans found none (streamed instead: %" PRIu64 " spans)\n",
			(uint64_t)ks->tail_held, (uint64_t)ks->tail_flushed, (uint64_t)ks->tail_freed + (uint64_t)ks->tail_late, (uint64_t)ks->tail_dropped,
			(uint64_t)ks->tail_late, (uint64_t)ks->tail_overflow, (uint64_t)ks->tail_nobuf, (uint64_t)ks->spans_tail);
	if (mode == TT_TAIL_STREAM || (uint64_t)ks->spans_tail)
		fprintf(f,
			"ttatrace: sampling: unpicked spans streamed to userspace: %" PRIu64 " (%" PRIu64
			" ring bytes; picked traces: %" PRIu64 " bytes); %" PRIu64
			" traces (%" PRIu64 " spans) dropped there\n",
			(uint64_t)ks->spans_tail, ss.bytes_unsampled, ss.bytes_kept, ss.traces_discarded,
			ss.spans_discarded);
	if (ks->tail_flush_fail || k->st.expired_spans || k->st.unfinished_spans)
		fprintf(f,
			"ttatrace: sampling: lost: %" PRIu64 " held spans at flush (ring buffer full), %" PRIu64
			" spans of %" PRIu64 " traces whose root never exited (freed after --trace-timeout), %" PRIu64
			" spans of %" PRIu64 " traces still open at exit\n",
			(uint64_t)ks->tail_flush_fail, k->st.expired_spans, k->st.expired_traces,
			k->st.unfinished_spans, k->st.unfinished_traces);
}
