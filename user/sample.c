/* Sampling and overhead control: threshold math shared with the kernel, tail
 * rules, the per-primitive --target-rate controller, and the assembler filter
 * that applies the tail rules in front of the outputs. */
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
	/* the assembler judged it: the catalogue's rule, else the return type's */
	return s->status == TT_STATUS_ERROR;
}

enum sample_verdict sample__verdict(const struct tt_trace *t, const struct sample_rules *r)
{
	const struct tt_span *root = t->n_roots ? t->roots[0] : NULL;

	if (!root || !(root->flags & TT_SPAN_UNSAMPLED))
		return SAMPLE_KEEP_HEAD;
	/* the kernel held the trace and judged it at the root's exit, with the same
	 * rules: its flush is the verdict (the rules here may differ, or the spans
	 * that would show the error may not have been held) */
	if (root->flags & TT_SPAN_KEPT_ERROR)
		return SAMPLE_KEEP_ERROR;
	if (root->flags & TT_SPAN_KEPT_SLOW)
		return SAMPLE_KEEP_SLOW;
	/* the workflow failed: errors recovered inside it (a retried attempt, a
	 * fallback's primary) are routine, and would keep nearly every trace */
	if (r->keep_errors && sample__span_is_error(root))
		return SAMPLE_KEEP_ERROR;
	/* an incomplete trace has no root duration to judge */
	if (r->keep_slow_ns && t->complete && tt_span__duration_ns(root) >= r->keep_slow_ns)
		return SAMPLE_KEEP_SLOW;
	return SAMPLE_DROP;
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return a < b ? -1 : a > b;
}

void sample__fair_share(const double *rates, size_t n, double target, double p_min, double *p_out)
{
	double remaining = target > 0 ? target : 0, level = INFINITY;
	size_t i, m = 0;

	/* water-filling over the rates in ascending order: p_out holds the sorted
	 * participants first, so no allocation can fail */
	for (i = 0; i < n; i++)
		if (rates[i] > 0)
			p_out[m++] = rates[i];
	qsort(p_out, m, sizeof(*p_out), cmp_double);
	for (i = 0; i < m; i++) {
		double share = remaining / (double)(m - i);

		if (p_out[i] > share) {
			/* this one and every larger one get the same share: the level */
			level = share;
			break;
		}
		remaining -= p_out[i];
	}
	for (i = 0; i < n; i++) {
		double r = rates[i], p = 1;

		if (r > 0 && r > level)
			p = level / r;
		if (!(p >= p_min))
			p = p_min;
		if (p > 1)
			p = 1;
		p_out[i] = p;
	}
}

struct rate_probe {
	uint64_t last_cum; /* cum_roots at the previous call */
	double rate; /* smoothed roots per second */
	double p; /* probability in force */
	bool started; /* has started a root */
	bool have_rate; /* rate holds at least one sample */
};

struct rate_ctl {
	double target; /* traces per second */
	double p0;
	double p_eff; /* last effective overall probability */
	struct rate_probe *pr;
	double *rates, *ps; /* scratch for sample__fair_share */
	size_t n, cap;
};

struct rate_ctl *rate_ctl__new(double target_per_s, double p0)
{
	struct rate_ctl *c;

	if (!(target_per_s > 0) || !isfinite(target_per_s) || isnan(p0)) {
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->target = target_per_s;
	c->p0 = p0 > 1 ? 1 : p0 < RATE_CTL_P_MIN ? RATE_CTL_P_MIN : p0;
	c->p_eff = c->p0;
	return c;
}

void rate_ctl__free(struct rate_ctl *c)
{
	if (!c)
		return;
	free(c->pr);
	free(c->rates);
	free(c->ps);
	free(c);
}

/* Makes room for n probe ids; new ones start at p0 with nothing counted. */
static int rate_ctl_grow(struct rate_ctl *c, size_t n)
{
	size_t ncap = c->cap ? c->cap : 64, i;
	struct rate_probe *pr;
	double *rates, *ps;

	if (n <= c->n)
		return 0;
	if (n > c->cap) {
		while (ncap < n)
			ncap *= 2;
		pr = realloc(c->pr, ncap * sizeof(*pr));
		if (!pr)
			return -ENOMEM;
		c->pr = pr;
		rates = realloc(c->rates, ncap * sizeof(*rates));
		if (!rates)
			return -ENOMEM;
		c->rates = rates;
		ps = realloc(c->ps, ncap * sizeof(*ps));
		if (!ps)
			return -ENOMEM;
		c->ps = ps;
		c->cap = ncap;
	}
	for (i = c->n; i < n; i++)
		c->pr[i] = (struct rate_probe){ .p = c->p0 };
	c->n = n;
	return 0;
}

double rate_ctl__update(struct rate_ctl *c, const uint64_t *cum_roots, size_t n, double dt_s,
			double *p_out)
{
	double started = 0, expected = 0;
	size_t i, have;

	if (rate_ctl_grow(c, n))
		errno = ENOMEM; /* the known ids go on; the new ones wait at p0 */
	have = n < c->n ? n : c->n;
	for (i = 0; i < have; i++) {
		struct rate_probe *pr = &c->pr[i];
		/* a counter that went back (a probe id reused) starts over from there */
		uint64_t d = cum_roots[i] >= pr->last_cum ? cum_roots[i] - pr->last_cum : 0;
		double now;

		pr->last_cum = cum_roots[i];
		if (cum_roots[i])
			pr->started = true;
		if (!(dt_s > 0) || !pr->started)
			continue;
		started += (double)d;
		expected += (double)d * pr->p;
		now = (double)d / dt_s;
		if (pr->have_rate)
			now = RATE_CTL_ALPHA * now + (1 - RATE_CTL_ALPHA) * pr->rate;
		pr->rate = now;
		pr->have_rate = true;
	}
	if (dt_s > 0 && have) {
		for (i = 0; i < have; i++)
			c->rates[i] = c->pr[i].have_rate ? c->pr[i].rate : 0;
		sample__fair_share(c->rates, have, c->target, RATE_CTL_P_MIN, c->ps);
		/* a probe without a measured rate keeps what the kernel started it with */
		for (i = 0; i < have; i++)
			if (c->pr[i].have_rate)
				c->pr[i].p = c->ps[i];
		if (started > 0)
			c->p_eff = expected / started;
	}
	for (i = 0; i < n; i++)
		p_out[i] = i < have ? c->pr[i].p : c->p0;
	return c->p_eff;
}

double rate_ctl__probability(const struct rate_ctl *c, uint32_t probe_id)
{
	return probe_id < c->n ? c->pr[probe_id].p : c->p0;
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

int sampler__filter(void *sampler, struct tt_trace *t)
{
	struct sampler *s = sampler;
	enum sample_verdict v = sample__verdict(t, &s->rules);
	const char *why = NULL;
	double prob;
	size_t i;
	int err = 1;

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
	/* the filter is installed only when sampling is on: every exported span says
	 * how it was kept, so counts can be scaled back (tail-kept ones stand alone) */
	for (i = 0; i < t->n_spans; i++) {
		struct tt_attr a = { .key = "tta.sampling.probability", .type = TT_ATTR_DOUBLE };

		a.d = why ? 1.0 : prob;
		if (tt_span__set_attr(t, t->spans[i], &a))
			err = -ENOMEM;
		if (why && tt_span__set_str(t, t->spans[i], "tta.sampling.kept_by", why))
			err = -ENOMEM;
	}
	return err;
}
