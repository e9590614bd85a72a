/* Workflow primitive semantics: for each span, what its primitive decided, read
 * from the shape of the tree (which children ran, in what order, with what status)
 * and written as tta.* attributes (OpenTelemetry naming) and span links. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "primitives.h"

static const char *name_of(const struct tt_span *s)
{
	return s->name ? s->name : "unknown";
}

static bool failed(const struct tt_span *s)
{
	return s->status == TT_STATUS_ERROR;
}

static bool is_kind(const struct tt_span *s, const char *k)
{
	return s->kind && !strcmp(s->kind, k);
}

static size_t n_children(const struct tt_span *s)
{
	size_t n = 0;

	for (const struct tt_span *c = s->first_child; c; c = c->next_sibling)
		n++;
	return n;
}

static const struct tt_span *first_failed_child(const struct tt_span *s)
{
	for (const struct tt_span *c = s->first_child; c; c = c->next_sibling)
		if (failed(c))
			return c;
	return NULL;
}

static int sequential(struct tt_trace *t, struct tt_span *s)
{
	const struct tt_span *bad = first_failed_child(s);
	int64_t i = 0;
	int err;

	for (struct tt_span *c = s->first_child; c; c = c->next_sibling)
		if ((err = tt_span__set_int(t, c, "tta.sequential.step", ++i)))
			return err;
	err = tt_span__set_int(t, s, "tta.sequential.steps", i);
	if (!err && bad)
		err = tt_span__set_str(t, s, "tta.sequential.failed_step", name_of(bad));
	return err;
}

struct edge {
	uint64_t t_ns;
	int delta; /* +1 a branch starts, -1 one ends */
};

static int cmp_edge(const void *a, const void *b)
{
	const struct edge *x = a, *y = b;

	if (x->t_ns != y->t_ns)
		return x->t_ns < y->t_ns ? -1 : 1;
	/* a branch ending exactly when another starts did not run beside it */
	return x->delta - y->delta;
}

/* Most branches running at one instant: sweep over start/end edges. */
static int max_overlap(const struct tt_span *s, size_t n, int64_t *out)
{
	struct edge *e = calloc(2 * n, sizeof(*e));
	size_t k = 0;
	int64_t cur = 0, best = 0;

	if (!e)
		return -ENOMEM;
	for (const struct tt_span *c = s->first_child; c; c = c->next_sibling) {
		/* an instant branch still ran: give it 1 ns so it counts */
		uint64_t end = c->end_ns > c->start_ns ? c->end_ns : c->start_ns + 1;

		e[k++] = (struct edge){ c->start_ns, +1 };
		e[k++] = (struct edge){ end, -1 };
	}
	qsort(e, k, sizeof(*e), cmp_edge);
	for (size_t i = 0; i < k; i++) {
		cur += e[i].delta;
		if (cur > best)
			best = cur;
	}
	free(e);
	*out = best;
	return 0;
}

static int parallel(struct tt_trace *t, struct tt_span *s)
{
	size_t n = n_children(s);
	uint64_t last_end = 0;
	int64_t i = 0, conc = 0;
	int err;

	err = tt_span__set_int(t, s, "tta.parallel.branches", (int64_t)n);
	if (err || !n)
		return err ?: tt_span__set_int(t, s, "tta.parallel.max_concurrency", 0);
	if ((err = max_overlap(s, n, &conc)) ||
	    (err = tt_span__set_int(t, s, "tta.parallel.max_concurrency", conc)))
		return err;
	for (struct tt_span *c = s->first_child; c; c = c->next_sibling) {
		if ((err = tt_span__set_int(t, c, "tta.parallel.branch", ++i)))
			return err;
		if (c->end_ns > last_end)
			last_end = c->end_ns;
	}
	/* clamped at 0: a branch on another thread may outlive an incomplete parent */
	err = tt_span__set_int(t, s, "tta.parallel.fanout_ns",
			       s->first_child->start_ns > s->start_ns ?
				       (int64_t)(s->first_child->start_ns - s->start_ns) :
				       0);
	if (!err)
		err = tt_span__set_int(t, s, "tta.parallel.fanin_ns",
				       s->end_ns > last_end ? (int64_t)(s->end_ns - last_end) : 0);
	return err;
}

static int retry(struct tt_trace *t, struct tt_span *s)
{
	struct tt_span *prev = NULL;
	int64_t n = 0;
	bool ok;
	int err;

	for (struct tt_span *c = s->first_child; c; c = c->next_sibling) {
		if ((err = tt_span__set_int(t, c, "tta.retry.attempt", ++n)))
			return err;
		if (prev && (err = tt_span__add_link(t, c, t->trace_id, prev->span_id)))
			return err;
		prev = c;
	}
	/* no attempt recorded (lost records): the retry's own status is all we know */
	ok = prev ? !failed(prev) : !failed(s);
	err = tt_span__set_int(t, s, "tta.retry.attempts", n);
	return err ?: tt_span__set_str(t, s, "tta.retry.outcome", ok ? "ok" : "error");
}

static int fallback(struct tt_trace *t, struct tt_span *s)
{
	const struct tt_span *first = s->first_child, *served = NULL;
	int err;

	for (const struct tt_span *c = first; c && !served; c = c->next_sibling)
		if (!failed(c))
			served = c;
	err = tt_span__set_int(t, s, "tta.fallback.attempts", (int64_t)n_children(s));
	if (!err)
		err = tt_span__set_str(t, s, "tta.fallback.served_by",
				       served ? name_of(served) : "none");
	if (!err && first && failed(first))
		err = tt_span__set_str(t, s, "tta.fallback.primary_error",
				       first->status_msg ? first->status_msg : "error");
	return err;
}

static int saga(struct tt_trace *t, struct tt_span *s)
{
	const struct tt_span *bad = NULL;
	int64_t steps = 0, comps = 0;
	int err;

	for (struct tt_span *c = s->first_child; c; c = c->next_sibling) {
		if (c->role == ROLE_COMPENSATION) {
			comps++;
			continue;
		}
		if ((err = tt_span__set_int(t, c, "tta.saga.step", ++steps)))
			return err;
		if (!bad && failed(c))
			bad = c;
	}
	if ((err = tt_span__set_bool(t, s, "tta.saga.compensated", comps > 0)) ||
	    (err = tt_span__set_int(t, s, "tta.saga.compensations", comps)))
		return err;
	return bad ? tt_span__set_str(t, s, "tta.saga.failed_step", name_of(bad)) : 0;
}

static int annotate_span(struct tt_trace *t, struct tt_span *s)
{
	const struct tt_span *bad = first_failed_child(s);
	const char *ran = s->first_child ? name_of(s->first_child) : "none";
	int err;

	if (s->kind && (err = tt_span__set_str(t, s, "tta.primitive.kind", s->kind)))
		return err;
	if (bad && (err = tt_span__set_str(t, s, "tta.error.child", name_of(bad))))
		return err;
	if (is_kind(s, "sequential"))
		return sequential(t, s);
	if (is_kind(s, "parallel"))
		return parallel(t, s);
	if (is_kind(s, "conditional") || is_kind(s, "switch"))
		return tt_span__set_str(t, s, "tta.branch", ran);
	if (is_kind(s, "router"))
		return tt_span__set_str(t, s, "tta.route", ran);
	if (is_kind(s, "retry"))
		return retry(t, s);
	if (is_kind(s, "fallback"))
		return fallback(t, s);
	if (is_kind(s, "timeout"))
		return tt_span__set_bool(t, s, "tta.timeout.fired", failed(s));
	if (is_kind(s, "cache"))
		return tt_span__set_bool(t, s, "tta.cache.hit", !s->first_child);
	if (is_kind(s, "saga"))
		return saga(t, s);
	return 0;
}

int primitives__annotate(struct tt_trace *t)
{
	int err;

	if (!t || !t->arena)
		return -EINVAL;
	for (size_t i = 0; i < t->n_spans; i++)
		if ((err = annotate_span(t, t->spans[i])))
			return err;
	return 0;
}

bool primitives__has_error(const struct tt_trace *t)
{
	if (!t)
		return false;
	for (size_t i = 0; i < t->n_spans; i++)
		if (failed(t->spans[i]))
			return true;
	return false;
}
