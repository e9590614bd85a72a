/* Self times of a trace's spans, plain or along the critical path, and the
 * root..span stacks built from them; the algorithm is described in critpath.h. */
#include "critpath.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct ptr_idx {
	const struct tt_span *s;
	size_t i;
};

/* Children lists by index (CSR), each sorted by start time, built from the
 * parent pointers so that a span whose parent is missing becomes a root. */
struct tree {
	size_t n;
	size_t *parent; /* SIZE_MAX for a root */
	size_t *coff; /* children of i: cidx[coff[i] .. coff[i + 1]) */
	size_t *cidx;
};

/* A child's interval clipped to its parent's window. */
struct clip {
	uint64_t cs, ce;
	size_t i;
};

static int cmp_ptr(const void *a, const void *b)
{
	const struct ptr_idx *x = a, *y = b;

	return x->s < y->s ? -1 : x->s > y->s;
}

static int cmp_child(const void *a, const void *b, void *arg)
{
	const struct tt_trace *t = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	uint64_t sx = t->spans[x]->start_ns, sy = t->spans[y]->start_ns;

	if (sx != sy)
		return sx < sy ? -1 : 1;
	return x < y ? -1 : x > y;
}

static int cmp_clip(const void *a, const void *b)
{
	const struct clip *x = a, *y = b;

	if (x->cs != y->cs)
		return x->cs < y->cs ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

static void tree__free(struct tree *tr)
{
	free(tr->parent);
	free(tr->coff);
	free(tr->cidx);
}

static int tree__build(const struct tt_trace *t, struct tree *tr)
{
	struct ptr_idx *map = NULL;
	size_t *fill = NULL;
	size_t n = t->n_spans;
	int err = 0;

	memset(tr, 0, sizeof(*tr));
	tr->n = n;
	for (size_t i = 0; i < n; i++)
		if (!t->spans[i])
			return -EINVAL;
	map = calloc(n ? n : 1, sizeof(*map));
	tr->parent = calloc(n ? n : 1, sizeof(*tr->parent));
	tr->coff = calloc(n + 1, sizeof(*tr->coff));
	tr->cidx = calloc(n ? n : 1, sizeof(*tr->cidx));
	fill = calloc(n ? n : 1, sizeof(*fill));
	if (!map || !tr->parent || !tr->coff || !tr->cidx || !fill) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < n; i++)
		map[i] = (struct ptr_idx){ t->spans[i], i };
	qsort(map, n, sizeof(*map), cmp_ptr);
	for (size_t i = 0; i < n; i++) {
		struct ptr_idx key = { t->spans[i]->parent, 0 }, *hit = NULL;

		if (key.s && key.s != t->spans[i])
			hit = bsearch(&key, map, n, sizeof(*map), cmp_ptr);
		tr->parent[i] = hit ? hit->i : SIZE_MAX;
		if (hit)
			tr->coff[hit->i + 1]++;
	}
	for (size_t i = 0; i < n; i++)
		tr->coff[i + 1] += tr->coff[i];
	for (size_t i = 0; i < n; i++) {
		size_t p = tr->parent[i];

		if (p != SIZE_MAX)
			tr->cidx[tr->coff[p] + fill[p]++] = i;
	}
	for (size_t i = 0; i < n; i++)
		qsort_r(tr->cidx + tr->coff[i], tr->coff[i + 1] - tr->coff[i], sizeof(size_t), cmp_child,
			(void *)t);
cleanup:
	free(map);
	free(fill);
	if (err)
		tree__free(tr);
	return err;
}

/* Children of P clipped to [lo, hi], empty ones dropped, sorted by clipped start. */
static size_t clip_children(const struct tt_trace *t, const struct tree *tr, size_t p, uint64_t lo,
			    uint64_t hi, struct clip *out)
{
	size_t k = 0;

	for (size_t j = tr->coff[p]; j < tr->coff[p + 1]; j++) {
		const struct tt_span *c = t->spans[tr->cidx[j]];
		uint64_t cs = c->start_ns > lo ? c->start_ns : lo;
		uint64_t ce = c->end_ns < hi ? c->end_ns : hi;

		if (ce > cs)
			out[k++] = (struct clip){ cs, ce, tr->cidx[j] };
	}
	qsort(out, k, sizeof(*out), cmp_clip);
	return k;
}

static int plain_self(const struct tt_trace *t, const struct tree *tr, uint64_t *self_ns)
{
	struct clip *ch = calloc(tr->n ? tr->n : 1, sizeof(*ch));

	if (!ch)
		return -ENOMEM;
	for (size_t i = 0; i < tr->n; i++) {
		const struct tt_span *s = t->spans[i];
		uint64_t covered = 0, run_s = 0, run_e = 0;
		size_t k = clip_children(t, tr, i, s->start_ns, s->end_ns, ch);

		for (size_t j = 0; j < k; j++) {
			if (j == 0 || ch[j].cs > run_e) {
				covered += run_e - run_s;
				run_s = ch[j].cs;
				run_e = ch[j].ce;
			} else if (ch[j].ce > run_e) {
				run_e = ch[j].ce;
			}
		}
		covered += run_e - run_s;
		self_ns[i] = tt_span__duration_ns(s) - covered;
	}
	free(ch);
	return 0;
}

/* One span being walked: its candidate children sorted by clipped start, the
 * running maximum of their ends, and how many of them start before the cursor. */
struct walk_frame {
	size_t span;
	uint64_t lo, cursor;
	struct clip *ch;
	uint64_t *pmax;
	size_t p;
};

static int push_walk(const struct tt_trace *t, const struct tree *tr, struct walk_frame *stack,
		     size_t *depth, size_t span, uint64_t lo, uint64_t hi)
{
	size_t nch = tr->coff[span + 1] - tr->coff[span];
	struct walk_frame *f = &stack[(*depth)++];

	f->span = span;
	f->lo = lo;
	f->cursor = hi;
	f->ch = calloc(nch ? nch : 1, sizeof(*f->ch));
	f->pmax = calloc(nch ? nch : 1, sizeof(*f->pmax));
	if (!f->ch || !f->pmax)
		return -ENOMEM;
	f->p = clip_children(t, tr, span, lo, hi, f->ch);
	for (size_t j = 0; j < f->p; j++)
		f->pmax[j] = j && f->pmax[j - 1] > f->ch[j].ce ? f->pmax[j - 1] : f->ch[j].ce;
	return 0;
}

/* First index in [0, n) whose running maximum reaches V (there is one). */
static size_t first_reaching(const uint64_t *pmax, size_t n, uint64_t v)
{
	size_t lo = 0, hi = n - 1;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (pmax[mid] >= v)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* Number of candidates whose clipped start is below V. */
static size_t count_before(const struct clip *ch, size_t n, uint64_t v)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ch[mid].cs < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int critical_self(const struct tt_trace *t, const struct tree *tr, uint64_t *self_ns)
{
	/* a span is walked at most once, so the stack never holds more than n frames */
	struct walk_frame *stack = calloc(tr->n ? tr->n : 1, sizeof(*stack));
	size_t depth = 0;
	int err = 0;

	if (!stack)
		return -ENOMEM;
	for (size_t i = 0; i < tr->n; i++)
		self_ns[i] = 0;
	for (size_t r = 0; r < tr->n && !err; r++) {
		const struct tt_span *root = t->spans[r];

		if (tr->parent[r] != SIZE_MAX || root->end_ns <= root->start_ns)
			continue;
		err = push_walk(t, tr, stack, &depth, r, root->start_ns, root->end_ns);
		while (depth > 0 && !err) {
			struct walk_frame *f = &stack[depth - 1];
			uint64_t target, e, cs;
			size_t j;

			if (f->p == 0) {
				self_ns[f->span] += f->cursor - f->lo;
				free(f->ch);
				free(f->pmax);
				depth--;
				continue;
			}
			/* latest effective end; ties go to the earliest start */
			target = f->pmax[f->p - 1] < f->cursor ? f->pmax[f->p - 1] : f->cursor;
			j = first_reaching(f->pmax, f->p, target);
			e = target;
			cs = f->ch[j].cs;
			self_ns[f->span] += f->cursor - e;
			f->cursor = cs;
			f->p = count_before(f->ch, f->p, cs);
			err = push_walk(t, tr, stack, &depth, f->ch[j].i, cs, e);
		}
	}
	while (depth > 0) {
		depth--;
		free(stack[depth].ch);
		free(stack[depth].pmax);
	}
	free(stack);
	return err;
}

int critpath__self_ns(const struct tt_trace *t, uint64_t *self_ns, bool critical_path)
{
	struct tree tr;
	int err;

	if (!t || (!self_ns && t->n_spans) || (!t->spans && t->n_spans))
		return -EINVAL;
	err = tree__build(t, &tr);
	if (err)
		return err;
	err = critical_path ? critical_self(t, &tr, self_ns) : plain_self(t, &tr, self_ns);
	tree__free(&tr);
	return err;
}

int critpath__stacks(const struct tt_trace *t, bool critical_path, critpath_stack_cb cb, void *ctx)
{
	struct tree tr = { 0 };
	uint64_t *self = NULL;
	size_t *todo = NULL, *todo_depth = NULL;
	const char **frames = NULL, **kinds = NULL;
	bool *errors = NULL;
	size_t n, top = 0;
	int err;

	if (!t || !cb || (!t->spans && t->n_spans))
		return -EINVAL;
	n = t->n_spans;
	err = tree__build(t, &tr);
	if (err)
		return err;
	self = calloc(n ? n : 1, sizeof(*self));
	todo = calloc(n ? n : 1, sizeof(*todo));
	todo_depth = calloc(n ? n : 1, sizeof(*todo_depth));
	frames = calloc(n ? n : 1, sizeof(*frames));
	kinds = calloc(n ? n : 1, sizeof(*kinds));
	errors = calloc(n ? n : 1, sizeof(*errors));
	if (!self || !todo || !todo_depth || !frames || !kinds || !errors) {
		err = -ENOMEM;
		goto cleanup;
	}
	err = critical_path ? critical_self(t, &tr, self) : plain_self(t, &tr, self);
	if (err)
		goto cleanup;
	/* depth-first, roots and children in start order: push in reverse */
	for (size_t i = n; i-- > 0;) {
		if (tr.parent[i] == SIZE_MAX) {
			todo[top] = i;
			todo_depth[top++] = 0;
		}
	}
	while (top > 0) {
		size_t i = todo[--top], d = todo_depth[top];
		const struct tt_span *s = t->spans[i];

		frames[d] = s->name ? s->name : "?";
		kinds[d] = s->kind;
		errors[d] = s->status == TT_STATUS_ERROR;
		if (self[i]) {
			err = cb(frames, kinds, errors, d + 1, self[i], ctx);
			if (err)
				goto cleanup;
		}
		for (size_t j = tr.coff[i + 1]; j-- > tr.coff[i];) {
			todo[top] = tr.cidx[j];
			todo_depth[top++] = d + 1;
		}
	}
cleanup:
	tree__free(&tr);
	free(self);
	free(todo);
	free(todo_depth);
	free(frames);
	free(kinds);
	free(errors);
	return err;
}
