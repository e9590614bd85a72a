/* Sampling and overhead control: threshold math shared with the kernel, tail
 * rules, the --target-rate controller, and the gate sink in front of the outputs. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sample.h"

uint64_t sample__threshold(double p)
{
	if (!(p > 0))
		return 0;
	if (p >= 1)
		return TT_SAMPLE_ALL;
	return (uint64_t)llround(p * (double)TT_SAMPLE_ALL);
}

uint32_t sample__ppm(double p)
{
	if (!(p > 0))
		return 0;
	if (p >= 1)
		return TT_SAMPLE_PPM;
	return (uint32_t)llround(p * TT_SAMPLE_PPM);
}

bool sample__decide(uint32_t rnd, uint64_t threshold)
{
	return threshold >= TT_SAMPLE_ALL || (uint64_t)rnd < threshold;
}

bool sample__span_is_error(const struct tt_span *s)
{
	if (s->status != TT_STATUS_UNSET)
		return s->status == TT_STATUS_ERROR;
	return (int32_t)(uint32_t)(uint64_t)s->ret < 0;
}

enum sample_verdict sample__verdict(const struct tt_trace *t, const struct sample_rules *r)
{
	const struct tt_span *root = t->n_roots ? t->roots[0] : NULL;

	if (!root || !(root->flags & TT_SPAN_UNSAMPLED))
		return SAMPLE_KEEP_HEAD;
	/* the workflow failed: errors recovered inside it (a retried attempt, a
	 * fallback's primary) are routine, and would keep nearly every trace */
	if (r->keep_errors && sample__span_is_error(root))
		return SAMPLE_KEEP_ERROR;
	/* an incomplete trace has no root duration to judge */
	if (r->keep_slow_ns && t->complete && tt_span__duration_ns(root) >= r->keep_slow_ns)
		return SAMPLE_KEEP_SLOW;
	return SAMPLE_DROP;
}

void rate_ctl__init(struct rate_ctl *c, double target_per_s, double p0)
{
	c->target = target_per_s;
	c->p_min = 1e-4;
	c->alpha = 0.5;
	c->rate = -1;
	c->p = p0 > 1 ? 1 : p0 < c->p_min ? c->p_min : p0;
}

double rate_ctl__step(struct rate_ctl *c, uint64_t roots, double dt_s)
{
	double now, p;

	if (!(dt_s > 0))
		return c->p;
	now = (double)roots / dt_s;
	c->rate = c->rate < 0 ? now : c->alpha * now + (1 - c->alpha) * c->rate;
	p = c->rate > 0 ? c->target / c->rate : 1;
	if (p > 1)
		p = 1;
	if (p < c->p_min)
		p = c->p_min;
	c->p = p;
	return p;
}

struct sampler {
	double p;
	struct sample_rules rules;
	struct sample_stats st;
	/* the last root record seen: its trace is emitted while it is being added */
	uint64_t last_root_span;
	uint32_t last_root_ppm;
};

struct sampler *sampler__new(double p, const struct sample_rules *r)
{
	struct sampler *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->p = p;
	if (r)
		s->rules = *r;
	return s;
}

void sampler__free(struct sampler *s)
{
	free(s);
}

void sampler__set_probability(struct sampler *s, double p)
{
	s->p = p;
}

double sampler__probability(const struct sampler *s)
{
	return s->p;
}

void sampler__on_record(struct sampler *s, const void *data, size_t size)
{
	const struct tt_span_rec *r = data;

	if (size < sizeof(*r))
		return;
	if (r->flags & TT_SPAN_UNSAMPLED) {
		s->st.records_unsampled++;
		s->st.bytes_unsampled += size;
	} else {
		s->st.records_kept++;
		s->st.bytes_kept += size;
	}
	if (r->span_id == r->trace_key) {
		s->last_root_span = r->span_id;
		s->last_root_ppm = r->sample_ppm;
	}
}

void sampler__stats(const struct sampler *s, struct sample_stats *out)
{
	*out = s->st;
}

struct gate {
	struct sampler *s;
	struct tt_sink **inner;
	size_t n;
	struct tt_sink sink;
};

static int gate_trace(struct tt_sink *sink, const struct tt_trace *ct)
{
	struct gate *g = sink->ctx;
	struct sampler *s = g->s;
	enum sample_verdict v = sample__verdict(ct, &s->rules);
	/* the gate runs first and owns the trace's annotations for sampling, like
	 * the assembler's annotate pass: the trace's memory is writable */
	struct tt_trace *t = (struct tt_trace *)ct;
	const char *why = NULL;
	double prob;
	size_t i;
	int err = 0;

	switch (v) {
	case SAMPLE_DROP:
		s->st.traces_discarded++;
		s->st.spans_discarded += t->n_spans;
		return 0;
	case SAMPLE_KEEP_ERROR:
		s->st.traces_error++;
		why = "error";
		break;
	case SAMPLE_KEEP_SLOW:
		s->st.traces_slow++;
		why = "slow";
		break;
	default:
		s->st.traces_head++;
		break;
	}
	if (t->n_roots && t->roots[0]->span_id == s->last_root_span)
		prob = s->last_root_ppm / (double)TT_SAMPLE_PPM;
	else
		prob = s->p; /* emitted without its root: the probability in force */
	/* the gate exists only when sampling is on: every exported span says how
	 * it was kept, so counts can be scaled back (tail-kept ones stand alone) */
	for (i = 0; i < t->n_spans; i++) {
		struct tt_attr a = { .key = "tta.sampling.probability", .type = TT_ATTR_DOUBLE };

		a.d = why ? 1.0 : prob;
		if (tt_span__set_attr(t, t->spans[i], &a))
			err = -ENOMEM;
		if (why && tt_span__set_str(t, t->spans[i], "tta.sampling.kept_by", why))
			err = -ENOMEM;
	}
	for (i = 0; i < g->n; i++) {
		struct tt_sink *in = g->inner[i];

		if (in && in->trace && in->trace(in, t))
			err = -EIO;
	}
	return err;
}

static int gate_close(struct tt_sink *sink)
{
	free(sink->ctx);
	return 0;
}

struct tt_sink *sample_gate__new(struct sampler *s, struct tt_sink **inner, size_t n)
{
	struct gate *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->s = s;
	g->inner = inner;
	g->n = n;
	g->sink.name = "sampling";
	g->sink.trace = gate_trace;
	g->sink.close = gate_close;
	g->sink.ctx = g;
	return &g->sink;
}

void sample__print_summary(FILE *f, const struct sampler *s, uint64_t roots, uint64_t picked,
			   uint64_t spans_unsampled, uint64_t spans_tail)
{
	const struct sample_stats *st = &s->st;

	if (s->p >= 1 && !roots)
		return;
	if (s->p >= 1 && picked == roots)
		return;
	fprintf(f,
		"ttatrace: sampling: probability now %.6g; %" PRIu64 " traces started, %" PRIu64
		" picked by head sampling; exported %" PRIu64 " head-sampled, %" PRIu64
		" kept for an error, %" PRIu64 " kept as slow; %" PRIu64 " discarded by the tail rules (%" PRIu64
		" spans), %" PRIu64 " spans of unpicked traces never left the kernel\n",
		s->p, roots, picked, st->traces_head, st->traces_error, st->traces_slow,
		st->traces_discarded, st->spans_discarded, spans_unsampled);
	if (spans_tail)
		fprintf(f,
			"ttatrace: sampling: tail rules stream unpicked traces to userspace: %" PRIu64
			" spans, %" PRIu64 " ring bytes (picked traces: %" PRIu64 " bytes)\n",
			spans_tail, st->bytes_unsampled, st->bytes_kept);
}
