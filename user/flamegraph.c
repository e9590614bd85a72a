/* Flame graph prefix tree, layout and interactive SVG output (flamegraph.h). */
#include "flamegraph.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "critpath.h"
#include "folded_parse.h"
#include "out_open.h"

/* Space above the frames: title, subtitle, then the zoom button and search box. */
#define HEADER_PX 84
#define LEGEND_ROW_PX 20
#define FOOTER_PX 30
#define SEARCH_W_PX 300
/* Beyond this many kinds the legend stops growing. */
#define MAX_LEGEND_KINDS 32
#define NO_NODE 0u

/* A frame of the prefix tree, 32 bytes: a million-line input makes millions of
 * them. Node 0 is the root "all"; 0 is also "none" in the links, which is safe
 * because the root is nobody's child or sibling. Self values are not stored:
 * they are the value less the children's. */
struct node {
	uint32_t parent, first_child, last_child, next_sibling;
	uint32_t name; /* offset in strs */
	uint32_t kind : 31; /* offset in strs + 1; 0: no kind */
	uint32_t error : 1;
	uint64_t value; /* inclusive ("after" side of a diff) */
};

/* Interned strings stay below this so a kind offset fits the 31-bit field. */
#define MAX_STRS_BYTES ((size_t)INT32_MAX)

/* One frame of the stack being added, before interning. */
struct frame_in {
	const char *name, *kind;
	size_t name_len, kind_len;
	bool error;
};

struct flamegraph {
	char *title, *subtitle, *unit;
	unsigned width_px;
	double min_width_px;
	bool icicle, diff;

	char *strs; /* interned names and kinds, NUL-terminated */
	size_t strs_len, strs_cap;
	uint32_t *str_slots; /* open addressing: offset + 1, 0 empty */
	size_t str_slots_cap, n_strs;

	struct node *nodes;
	uint64_t *base; /* diff graphs: each node's inclusive baseline value */
	size_t n_nodes, nodes_cap;
	uint32_t *child_slots; /* open addressing on (parent, name, kind, error): node index */
	size_t child_slots_cap;

	struct frame_in *scratch;
	size_t scratch_cap;
	/* the previous stack's nodes: sorted inputs share long prefixes */
	uint32_t *last_path;
	size_t last_len, last_cap;

	uint64_t stacks;
	size_t max_depth;
};

/* ---- hashing and interning ---------------------------------------------------- */

static uint64_t hash_bytes(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

static uint64_t child_hash(uint32_t parent, uint32_t name, uint32_t kind, uint32_t error)
{
	return mix64(((uint64_t)parent << 32 | name) ^ mix64((uint64_t)kind << 1 | error));
}

static bool str_eq(const struct flamegraph *fg, uint32_t off, const char *s, size_t len)
{
	return memcmp(fg->strs + off, s, len) == 0 && fg->strs[off + len] == '\0';
}

static int str_slots_grow(struct flamegraph *fg)
{
	size_t cap = fg->str_slots_cap ? fg->str_slots_cap * 2 : 1024;
	uint32_t *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < fg->str_slots_cap; i++) {
		uint32_t v = fg->str_slots[i];
		const char *s;
		size_t j;

		if (!v)
			continue;
		s = fg->strs + v - 1;
		for (j = hash_bytes(s, strlen(s)) & (cap - 1); slots[j]; j = (j + 1) & (cap - 1))
			;
		slots[j] = v;
	}
	free(fg->str_slots);
	fg->str_slots = slots;
	fg->str_slots_cap = cap;
	return 0;
}

static int intern(struct flamegraph *fg, const char *s, size_t len, uint32_t *off)
{
	size_t j;
	int err;

	if ((fg->n_strs + 1) * 2 > fg->str_slots_cap) {
		err = str_slots_grow(fg);
		if (err)
			return err;
	}
	for (j = hash_bytes(s, len) & (fg->str_slots_cap - 1); fg->str_slots[j];
	     j = (j + 1) & (fg->str_slots_cap - 1)) {
		if (str_eq(fg, fg->str_slots[j] - 1, s, len)) {
			*off = fg->str_slots[j] - 1;
			return 0;
		}
	}
	if (fg->strs_len + len + 2 > MAX_STRS_BYTES)
		return -EOVERFLOW;
	if (fg->strs_len + len + 1 > fg->strs_cap) {
		size_t cap = fg->strs_cap ? fg->strs_cap : 4096;
		char *strs;

		while (cap < fg->strs_len + len + 1)
			cap *= 2;
		strs = realloc(fg->strs, cap);
		if (!strs)
			return -ENOMEM;
		fg->strs = strs;
		fg->strs_cap = cap;
	}
	memcpy(fg->strs + fg->strs_len, s, len);
	fg->strs[fg->strs_len + len] = '\0';
	*off = (uint32_t)fg->strs_len;
	fg->str_slots[j] = *off + 1;
	fg->strs_len += len + 1;
	fg->n_strs++;
	return 0;
}

/* ---- the prefix tree ----------------------------------------------------------- */

static int child_slots_grow(struct flamegraph *fg)
{
	size_t cap = fg->child_slots_cap ? fg->child_slots_cap * 2 : 1024;
	uint32_t *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 1; i < fg->n_nodes; i++) {
		const struct node *n = &fg->nodes[i];
		size_t j;

		for (j = child_hash(n->parent, n->name, n->kind, n->error) & (cap - 1); slots[j];
		     j = (j + 1) & (cap - 1))
			;
		slots[j] = (uint32_t)i;
	}
	free(fg->child_slots);
	fg->child_slots = slots;
	fg->child_slots_cap = cap;
	return 0;
}

static int new_node(struct flamegraph *fg, uint32_t parent, uint32_t name, uint32_t kind,
		    uint32_t error, uint32_t *idx)
{
	struct node *n;

	if (fg->n_nodes >= UINT32_MAX - 1)
		return -EOVERFLOW;
	if (fg->n_nodes == fg->nodes_cap) {
		size_t cap = fg->nodes_cap ? fg->nodes_cap * 2 : 1024;
		struct node *nodes = realloc(fg->nodes, cap * sizeof(*nodes));

		if (!nodes)
			return -ENOMEM;
		fg->nodes = nodes;
		if (fg->diff) {
			uint64_t *base = realloc(fg->base, cap * sizeof(*base));

			if (!base)
				return -ENOMEM;
			fg->base = base;
		}
		fg->nodes_cap = cap;
	}
	*idx = (uint32_t)fg->n_nodes++;
	n = &fg->nodes[*idx];
	memset(n, 0, sizeof(*n));
	if (fg->base)
		fg->base[*idx] = 0;
	n->parent = parent;
	n->name = name;
	n->kind = kind;
	n->error = error;
	if (*idx != 0) {
		struct node *p = &fg->nodes[parent];

		if (p->last_child)
			fg->nodes[p->last_child].next_sibling = *idx;
		else
			p->first_child = *idx;
		p->last_child = *idx;
	}
	return 0;
}

static int find_child(struct flamegraph *fg, uint32_t parent, const struct frame_in *fi,
		      uint32_t *idx)
{
	uint32_t name, kind = 0, error = fi->error;
	size_t j;
	int err;

	err = intern(fg, fi->name, fi->name_len, &name);
	if (!err && fi->kind_len) {
		err = intern(fg, fi->kind, fi->kind_len, &kind);
		kind++;
	}
	if (err)
		return err;
	if ((fg->n_nodes + 1) * 2 > fg->child_slots_cap) {
		err = child_slots_grow(fg);
		if (err)
			return err;
	}
	for (j = child_hash(parent, name, kind, error) & (fg->child_slots_cap - 1); fg->child_slots[j];
	     j = (j + 1) & (fg->child_slots_cap - 1)) {
		const struct node *n = &fg->nodes[fg->child_slots[j]];

		if (n->parent == parent && n->name == name && n->kind == kind && n->error == error) {
			*idx = fg->child_slots[j];
			return 0;
		}
	}
	err = new_node(fg, parent, name, kind, error, idx);
	if (!err)
		fg->child_slots[j] = *idx;
	return err;
}

static bool node_is(const struct flamegraph *fg, uint32_t idx, const struct frame_in *fi)
{
	const struct node *n = &fg->nodes[idx];

	if (n->error != (uint32_t)fi->error || !str_eq(fg, n->name, fi->name, fi->name_len))
		return false;
	if (!fi->kind_len)
		return n->kind == 0;
	return n->kind != 0 && str_eq(fg, n->kind - 1, fi->kind, fi->kind_len);
}

static int add_path(struct flamegraph *fg, size_t n, uint64_t value, bool base)
{
	uint32_t cur = 0;
	bool reuse = true;
	uint64_t *root_sum = base ? &fg->base[0] : &fg->nodes[0].value;
	int err;

	if (n == 0)
		return -EINVAL;
	if (*root_sum + value < *root_sum)
		return -EOVERFLOW;
	if (n > fg->last_cap) {
		size_t cap = fg->last_cap ? fg->last_cap : 64;
		uint32_t *lp;

		while (cap < n)
			cap *= 2;
		lp = realloc(fg->last_path, cap * sizeof(*lp));
		if (!lp)
			return -ENOMEM;
		fg->last_path = lp;
		fg->last_cap = cap;
	}
	for (size_t i = 0; i < n; i++) {
		uint32_t idx;

		if (reuse && i < fg->last_len && node_is(fg, fg->last_path[i], &fg->scratch[i])) {
			idx = fg->last_path[i];
		} else {
			reuse = false;
			err = find_child(fg, cur, &fg->scratch[i], &idx);
			if (err) {
				fg->last_len = 0;
				return err;
			}
		}
		fg->last_path[i] = idx;
		cur = idx;
	}
	fg->last_len = n;
	for (uint32_t i = cur;; i = fg->nodes[i].parent) {
		if (base)
			fg->base[i] += value;
		else
			fg->nodes[i].value += value;
		if (i == 0)
			break;
	}
	fg->stacks++;
	if (n > fg->max_depth)
		fg->max_depth = n;
	return 0;
}

static int scratch_reserve(struct flamegraph *fg, size_t n)
{
	struct frame_in *s;
	size_t cap;

	if (n <= fg->scratch_cap)
		return 0;
	for (cap = fg->scratch_cap ? fg->scratch_cap : 64; cap < n; cap *= 2)
		;
	s = realloc(fg->scratch, cap * sizeof(*s));
	if (!s)
		return -ENOMEM;
	fg->scratch = s;
	fg->scratch_cap = cap;
	return 0;
}

static int add_frames(struct flamegraph *fg, const char *const *frames, size_t n, uint64_t value,
		      const char *const *kinds, const bool *errors, bool base)
{
	int err;

	if (!fg || !frames || n == 0 || (base && !fg->diff))
		return -EINVAL;
	err = scratch_reserve(fg, n);
	if (err)
		return err;
	for (size_t i = 0; i < n; i++) {
		const char *kind = kinds ? kinds[i] : NULL;

		if (!frames[i] || !frames[i][0])
			return -EINVAL;
		fg->scratch[i] = (struct frame_in){
			.name = frames[i],
			.name_len = strlen(frames[i]),
			.kind = kind,
			.kind_len = kind ? strlen(kind) : 0,
			.error = errors && errors[i],
		};
	}
	return add_path(fg, n, value, base);
}

int flamegraph__add(struct flamegraph *fg, const char *const *frames, size_t n, uint64_t value,
		    const char *const *kinds, const bool *errors)
{
	return add_frames(fg, frames, n, value, kinds, errors, false);
}

int flamegraph__add_base(struct flamegraph *fg, const char *const *frames, size_t n,
			 uint64_t value, const char *const *kinds, const bool *errors)
{
	return add_frames(fg, frames, n, value, kinds, errors, true);
}

int flamegraph__add_folded(struct flamegraph *fg, const char *const *frames, size_t n,
			   uint64_t value, bool base)
{
	int err;

	if (!fg || !frames || n == 0 || (base && !fg->diff))
		return -EINVAL;
	err = scratch_reserve(fg, n);
	if (err)
		return err;
	for (size_t i = 0; i < n; i++) {
		struct frame_in *fi = &fg->scratch[i];

		if (!frames[i] || !frames[i][0])
			return -EINVAL;
		fi->name = frames[i];
		fi->name_len = folded_parse__annotation(frames[i], &fi->kind, &fi->kind_len, &fi->error);
	}
	return add_path(fg, n, value, base);
}

struct trace_add {
	struct flamegraph *fg;
	uint64_t ns_per_value;
};

static int trace_stack(const char *const *frames, const char *const *kinds, const bool *errors,
		       size_t n, uint64_t self_ns, void *ctx)
{
	struct trace_add *ta = ctx;
	uint64_t v = self_ns / ta->ns_per_value + (self_ns % ta->ns_per_value >= (ta->ns_per_value + 1) / 2);

	if (!v)
		return 0;
	return flamegraph__add(ta->fg, frames, n, v, kinds, errors);
}

static uint64_t unit_ns(const char *unit)
{
	if (!strcmp(unit, "ns"))
		return 1;
	if (!strcmp(unit, "us") || !strcmp(unit, "µs"))
		return 1000;
	if (!strcmp(unit, "ms"))
		return 1000000;
	if (!strcmp(unit, "s"))
		return 1000000000;
	return 0;
}

int flamegraph__add_trace(struct flamegraph *fg, const struct tt_trace *t, bool critical_path)
{
	struct trace_add ta = { .fg = fg };

	if (!fg || !t)
		return -EINVAL;
	ta.ns_per_value = unit_ns(fg->unit);
	if (!ta.ns_per_value)
		return -EINVAL;
	return critpath__stacks(t, critical_path, trace_stack, &ta);
}

/* ---- lifecycle ------------------------------------------------------------------ */

struct flamegraph *flamegraph__new(const struct flamegraph_opts *opts)
{
	struct flamegraph_opts def = { 0 };
	struct flamegraph *fg;
	uint32_t root_name, idx;

	if (!opts)
		opts = &def;
	if (opts->width_px &&
	    (opts->width_px < FLAMEGRAPH_MIN_WIDTH_PX || opts->width_px > FLAMEGRAPH_MAX_WIDTH_PX)) {
		errno = EINVAL;
		return NULL;
	}
	fg = calloc(1, sizeof(*fg));
	if (!fg) {
		errno = ENOMEM;
		return NULL;
	}
	fg->width_px = opts->width_px ? opts->width_px : FLAMEGRAPH_DEFAULT_WIDTH_PX;
	fg->min_width_px = opts->min_width_px == 0 ? FLAMEGRAPH_DEFAULT_MIN_FRAME_PX
						   : opts->min_width_px;
	fg->icicle = opts->icicle;
	fg->diff = opts->diff;
	fg->title = opts->title ? strdup(opts->title) : NULL;
	fg->subtitle = opts->subtitle ? strdup(opts->subtitle) : NULL;
	fg->unit = strdup(opts->unit ? opts->unit : FLAMEGRAPH_DEFAULT_UNIT);
	if ((opts->title && !fg->title) || (opts->subtitle && !fg->subtitle) || !fg->unit ||
	    intern(fg, "all", 3, &root_name) || new_node(fg, 0, root_name, 0, 0, &idx)) {
		flamegraph__free(fg);
		errno = ENOMEM;
		return NULL;
	}
	return fg;
}

void flamegraph__free(struct flamegraph *fg)
{
	if (!fg)
		return;
	free(fg->title);
	free(fg->subtitle);
	free(fg->unit);
	free(fg->strs);
	free(fg->str_slots);
	free(fg->nodes);
	free(fg->base);
	free(fg->child_slots);
	free(fg->scratch);
	free(fg->last_path);
	free(fg);
}

void flamegraph__stats(const struct flamegraph *fg, struct flamegraph_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!fg)
		return;
	st->total = fg->nodes[0].value;
	st->base_total = fg->base ? fg->base[0] : 0;
	st->stacks = fg->stacks;
	st->nodes = fg->n_nodes;
	st->max_depth = fg->max_depth;
}

/* ---- layout ---------------------------------------------------------------------- */

struct layout {
	double scale; /* px per value unit */
	double usable_px;
	unsigned max_depth; /* deepest drawn frame */
	size_t drawn;
	double max_abs_delta; /* diff: largest |delta| among drawn frames but the root */
	uint32_t kinds[MAX_LEGEND_KINDS]; /* kinds drawn, first seen first */
	size_t n_kinds;
	bool more_kinds, any_error, any_plain;
	uint64_t vanished_base; /* diff: baseline of frames gone from the "after" side */
};

typedef int (*visit_fn)(struct flamegraph *fg, struct layout *lo, uint32_t idx, unsigned depth,
			uint64_t offset, void *ctx);

struct iter {
	uint32_t child;
	unsigned depth;
	uint64_t offset;
};

static bool drawn(const struct flamegraph *fg, const struct layout *lo, uint64_t value)
{
	if (!value)
		return false;
	return fg->min_width_px < 0 || (double)value * lo->scale >= fg->min_width_px;
}

/* Visits every drawn frame depth first, children in first-seen order. */
static int traverse(struct flamegraph *fg, struct layout *lo, visit_fn visit, void *ctx)
{
	struct iter *stack;
	size_t top = 0;
	int err;

	if (!fg->nodes[0].value)
		return 0;
	stack = calloc(fg->max_depth + 1, sizeof(*stack));
	if (!stack)
		return -ENOMEM;
	err = visit(fg, lo, 0, 0, 0, ctx);
	if (err)
		goto cleanup;
	stack[top++] = (struct iter){ fg->nodes[0].first_child, 1, 0 };
	while (top > 0) {
		struct iter *it = &stack[top - 1];
		uint32_t c = it->child;
		uint64_t off = it->offset;
		unsigned depth = it->depth;

		if (c == NO_NODE) {
			top--;
			continue;
		}
		it->child = fg->nodes[c].next_sibling;
		it->offset += fg->nodes[c].value;
		if (!drawn(fg, lo, fg->nodes[c].value))
			continue;
		err = visit(fg, lo, c, depth, off, ctx);
		if (err)
			goto cleanup;
		if (fg->nodes[c].first_child)
			stack[top++] = (struct iter){ fg->nodes[c].first_child, depth + 1, off };
	}
cleanup:
	free(stack);
	return err;
}

static uint64_t base_of(const struct flamegraph *fg, uint32_t idx)
{
	return fg->base ? fg->base[idx] : 0;
}

static uint64_t self_of(const struct flamegraph *fg, uint32_t idx)
{
	uint64_t v = fg->nodes[idx].value;

	for (uint32_t c = fg->nodes[idx].first_child; c; c = fg->nodes[c].next_sibling)
		v -= fg->nodes[c].value;
	return v;
}

static double delta_of(const struct flamegraph *fg, uint32_t idx)
{
	double after = (double)fg->nodes[idx].value / (double)fg->nodes[0].value;
	double before = base_of(fg, 0) ? (double)base_of(fg, idx) / (double)base_of(fg, 0) : 0;

	return after - before;
}

static int measure(struct flamegraph *fg, struct layout *lo, uint32_t idx, unsigned depth,
		   uint64_t offset, void *ctx)
{
	const struct node *n = &fg->nodes[idx];

	(void)offset;
	(void)ctx;
	lo->drawn++;
	if (depth > lo->max_depth)
		lo->max_depth = depth;
	if (idx == 0)
		return 0;
	if (fg->diff) {
		double d = fabs(delta_of(fg, idx));

		if (d > lo->max_abs_delta)
			lo->max_abs_delta = d;
	}
	if (n->error)
		lo->any_error = true;
	if (!n->kind) {
		lo->any_plain = true;
	} else {
		size_t k;

		for (k = 0; k < lo->n_kinds && lo->kinds[k] != n->kind; k++)
			;
		if (k == lo->n_kinds) {
			if (lo->n_kinds < MAX_LEGEND_KINDS)
				lo->kinds[lo->n_kinds++] = n->kind;
			else
				lo->more_kinds = true;
		}
	}
	return 0;
}

static int layout(struct flamegraph *fg, struct layout *lo)
{
	memset(lo, 0, sizeof(*lo));
	lo->usable_px = fg->width_px - 2.0 * FLAMEGRAPH_PAD_PX;
	lo->scale = fg->nodes[0].value ? lo->usable_px / (double)fg->nodes[0].value : 0;
	if (fg->diff) {
		for (size_t i = 1; i < fg->n_nodes; i++) {
			const struct node *n = &fg->nodes[i];

			if (!n->value && fg->base[i] && fg->nodes[n->parent].value)
				lo->vanished_base += fg->base[i];
		}
	}
	return traverse(fg, lo, measure, NULL);
}

static double frame_y(const struct flamegraph *fg, const struct layout *lo, unsigned depth)
{
	unsigned row = fg->icicle ? depth : lo->max_depth - depth;

	return HEADER_PX + (double)row * FLAMEGRAPH_FRAME_H_PX;
}

static void fill_frame(struct flamegraph *fg, const struct layout *lo, uint32_t idx,
		       unsigned depth, uint64_t offset, struct flamegraph_frame *f)
{
	const struct node *n = &fg->nodes[idx];

	memset(f, 0, sizeof(*f));
	f->name = fg->strs + n->name;
	f->kind = n->kind ? fg->strs + n->kind - 1 : NULL;
	f->error = n->error;
	f->depth = depth;
	f->value = n->value;
	f->self = self_of(fg, idx);
	f->offset = offset;
	f->base = base_of(fg, idx);
	f->x_px = FLAMEGRAPH_PAD_PX + (double)offset * lo->scale;
	f->width_px = (double)n->value * lo->scale;
	f->y_px = frame_y(fg, lo, depth);
	f->delta = fg->diff ? delta_of(fg, idx) : 0;
}

struct walk_ctx {
	flamegraph_walk_cb cb;
	void *ctx;
};

static int walk_visit(struct flamegraph *fg, struct layout *lo, uint32_t idx, unsigned depth,
		      uint64_t offset, void *ctx)
{
	struct walk_ctx *wc = ctx;
	struct flamegraph_frame f;

	fill_frame(fg, lo, idx, depth, offset, &f);
	return wc->cb(&f, wc->ctx);
}

int flamegraph__walk(struct flamegraph *fg, flamegraph_walk_cb cb, void *ctx)
{
	struct walk_ctx wc = { cb, ctx };
	struct layout lo;
	int err;

	if (!fg || !cb)
		return -EINVAL;
	err = layout(fg, &lo);
	if (err)
		return err;
	return traverse(fg, &lo, walk_visit, &wc);
}

/* ---- text --------------------------------------------------------------------------- */

/* Decodes one UTF-8 sequence; invalid bytes, surrogates, overlong forms and
 * characters XML 1.0 forbids come back as U+FFFD. Returns the bytes used (>= 1). */
static size_t utf8_next(const unsigned char *s, size_t len, uint32_t *cp)
{
	uint32_t c = s[0], min;
	size_t need, i;

	*cp = 0xFFFD;
	if (c < 0x80) {
		if (c == '\t' || c == '\n' || c == '\r')
			*cp = ' ';
		else if (c >= 0x20 && c != 0x7f)
			*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		need = 1;
		c &= 0x1F;
		min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		need = 2;
		c &= 0x0F;
		min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		need = 3;
		c &= 0x07;
		min = 0x10000;
	} else {
		return 1;
	}
	if (len < need + 1)
		return 1;
	for (i = 1; i <= need; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 1;
		c = c << 6 | (s[i] & 0x3F);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF) || c == 0xFFFE || c == 0xFFFF)
		return 1;
	*cp = c;
	return need + 1;
}

static size_t utf8_count(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), n = 0;
	uint32_t cp;

	for (size_t i = 0; i < len; i += utf8_next(p + i, len - i, &cp))
		n++;
	return n;
}

/* Writes at most MAX_CPS characters of S, XML-escaped and valid UTF-8. */
static void put_xml_n(FILE *f, const char *s, size_t max_cps)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), i = 0, n = 0;

	while (i < len && n < max_cps) {
		uint32_t cp;
		size_t used = utf8_next(p + i, len - i, &cp);

		switch (cp) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		case 0xFFFD:
			fputs("\xEF\xBF\xBD", f);
			break;
		default:
			if (cp < 0x80)
				fputc((int)cp, f); /* tabs and line breaks became spaces */
			else
				fwrite(p + i, 1, used, f);
		}
		i += used;
		n++;
	}
}

static void put_xml(FILE *f, const char *s)
{
	put_xml_n(f, s, SIZE_MAX);
}

/* The text drawn in a frame WIDTH_PX wide: the whole name, its start and "..",
 * or nothing (the script applies the same rule after a zoom). */
static void put_label(FILE *f, const char *name, double width_px)
{
	double room = (width_px - 6) / (FLAMEGRAPH_FONT_PX * FLAMEGRAPH_CHAR_EM);
	size_t fit = room > 0 ? (size_t)room : 0;
	size_t len = utf8_count(name);

	if (len <= fit) {
		put_xml(f, name);
	} else if (fit >= 3) {
		put_xml_n(f, name, fit - 2);
		fputs("..", f);
	}
}

static void fmt_count(char *buf, size_t size, uint64_t v)
{
	char digits[32];
	int len = snprintf(digits, sizeof(digits), "%" PRIu64, v), o = 0;

	for (int i = 0; i < len && o + 2 < (int)size; i++) {
		if (i && (len - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	buf[o] = '\0';
}

/* A value for people: durations scaled to s/ms/µs/ns, other units as "1,234 unit". */
static void fmt_value(const struct flamegraph *fg, char *buf, size_t size, uint64_t v)
{
	uint64_t per = unit_ns(fg->unit);
	static const struct {
		double ns;
		const char *name;
	} scales[] = { { 1e9, "s" }, { 1e6, "ms" }, { 1e3, "µs" }, { 1, "ns" } };

	if (per) {
		double ns = (double)v * (double)per;
		size_t i;

		for (i = 0; i < 3 && ns < scales[i].ns; i++)
			;
		double x = ns / scales[i].ns;

		snprintf(buf, size, x >= 100 || x == 0 ? "%.0f %s" : x >= 10 ? "%.1f %s" : "%.2f %s", x,
			 scales[i].name);
		return;
	}
	fmt_count(buf, size, v);
	if (fg->unit[0]) {
		size_t l = strlen(buf);

		snprintf(buf + l, size - l, " %s", fg->unit);
	}
}

static double pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0;
}

/* ---- colours -------------------------------------------------------------------------- */

struct rgb {
	int r, g, b;
};

static const struct {
	const char *kind;
	int h, s, l;
} KIND_COLOURS[] = {
	{ "sequential", 210, 62, 74 }, { "parallel", 28, 88, 66 },  { "conditional", 265, 48, 78 },
	{ "switch", 250, 45, 78 },     { "router", 290, 40, 76 },   { "retry", 48, 92, 62 },
	{ "fallback", 150, 42, 68 },   { "timeout", 330, 60, 78 },  { "cache", 185, 52, 64 },
	{ "saga", 35, 38, 66 },        { "lambda", 220, 18, 76 },    { "step", 80, 52, 64 },
};

static struct rgb hsl(double h, double s, double l)
{
	double c = (1 - fabs(2 * l - 1)) * s, hp = fmod(h, 360) / 60;
	double x = c * (1 - fabs(fmod(hp, 2) - 1)), m = l - c / 2, r = 0, g = 0, b = 0;

	if (hp < 1)
		r = c, g = x;
	else if (hp < 2)
		r = x, g = c;
	else if (hp < 3)
		g = c, b = x;
	else if (hp < 4)
		g = x, b = c;
	else if (hp < 5)
		r = x, b = c;
	else
		r = c, b = x;
	return (struct rgb){ (int)lround((r + m) * 255), (int)lround((g + m) * 255),
			     (int)lround((b + m) * 255) };
}

static void kind_hsl(const char *kind, int *h, int *s, int *l)
{
	for (size_t i = 0; i < sizeof(KIND_COLOURS) / sizeof(KIND_COLOURS[0]); i++) {
		if (!strcmp(kind, KIND_COLOURS[i].kind)) {
			*h = KIND_COLOURS[i].h;
			*s = KIND_COLOURS[i].s;
			*l = KIND_COLOURS[i].l;
			return;
		}
	}
	/* kinds from a custom catalogue: a stable pastel of their own */
	*h = (int)(hash_bytes(kind, strlen(kind)) % 360);
	*s = 45;
	*l = 72;
}

static struct rgb kind_colour(const char *kind, const char *name)
{
	uint64_t hv = hash_bytes(name, strlen(name));
	int h, s, l;

	kind_hsl(kind, &h, &s, &l);
	/* a little lightness by name so neighbours of one kind stay apart */
	return hsl(h, s / 100.0, (l + (int)(hv % 9) - 4) / 100.0);
}

/* Frames without a kind (perf and other tools): the classic warm palette. */
static struct rgb plain_colour(const char *name)
{
	uint64_t hv = mix64(hash_bytes(name, strlen(name)));
	double v1 = (double)(hv & 0xffff) / 0xffff, v2 = (double)(hv >> 16 & 0xffff) / 0xffff;
	double v3 = (double)(hv >> 32 & 0xffff) / 0xffff;

	return (struct rgb){ 205 + (int)(50 * v3), 80 + (int)(150 * v1), (int)(55 * v2) };
}

static struct rgb diff_colour(double delta, double full)
{
	double i = full > 0 ? delta / full : 0;

	if (i > 1)
		i = 1;
	if (i < -1)
		i = -1;
	if (i >= 0)
		return (struct rgb){ 250, (int)lround(250 - 160 * i), (int)lround(250 - 160 * i) };
	return (struct rgb){ (int)lround(250 + 150 * i), (int)lround(250 + 130 * i), 250 };
}

/* ---- SVG -------------------------------------------------------------------------------- */

static const char SVG_STYLE[] =
	"text { font-family: Verdana, \"DejaVu Sans\", \"Liberation Sans\", sans-serif; font-size: "
	"12px; fill: #111; }\n"
	"#title { font-size: 17px; font-weight: bold; }\n"
	"#subtitle, #matched { fill: #555; }\n"
	"#details { fill: #222; }\n"
	".btn { fill: #1a5fb4; cursor: pointer; text-decoration: underline; }\n"
	"g.f { cursor: pointer; }\n"
	"g.f text { pointer-events: none; }\n"
	"g.f:hover rect { stroke: #222; stroke-width: 1; }\n"
	"g.f rect.err, g.f:hover rect.err { stroke: #d40000; stroke-width: 2; }\n"
	"g.f.match rect { fill: rgb(230,0,230); }\n"
	"g.f.anc { opacity: 0.55; }\n"
	".hide { display: none; }\n"
	"input { box-sizing: border-box; width: 100%; height: 22px; font: 12px Verdana, \"DejaVu "
	"Sans\", sans-serif; border: 1px solid #aaa; border-radius: 3px; padding: 1px 6px; }\n";

/* The page's behaviour: hover details, click zoom, reset, search. Frames carry
 * their value-space offset (data-x), value (data-value) and depth, so the script
 * can relayout them without knowing the tree. */
static const char SVG_SCRIPT[] =
	"(function () {\n"
	"'use strict';\n"
	"var svg = document.documentElement;\n"
	"var W = +svg.getAttribute('data-width'), PAD = +svg.getAttribute('data-pad');\n"
	"var CH = +svg.getAttribute('data-char-px');\n"
	"var details = document.getElementById('details');\n"
	"var matched = document.getElementById('matched');\n"
	"var unzoomBtn = document.getElementById('unzoom');\n"
	"var input = document.getElementById('search');\n"
	"var layer = document.getElementById('frames');\n"
	"var gs = layer.getElementsByTagName('g'), frames = [];\n"
	"for (var i = 0; i < gs.length; i++) {\n"
	"  var g = gs[i], r = g.getElementsByTagName('rect')[0];\n"
	"  var f = { g: g, r: r, t: g.getElementsByTagName('text')[0],\n"
	"    name: g.getAttribute('data-name'), x: +g.getAttribute('data-x'),\n"
	"    v: +g.getAttribute('data-value'), d: +g.getAttribute('data-depth'),\n"
	"    x0: +r.getAttribute('x'), w0: +r.getAttribute('width') };\n"
	"  f.chars = Array.from(f.name);\n"
	"  g.fgIndex = i;\n"
	"  frames.push(f);\n"
	"}\n"
	"var total = frames.length ? frames[0].v : 0;\n"
	"function place(f, x, w) {\n"
	"  f.r.setAttribute('x', x.toFixed(2));\n"
	"  f.r.setAttribute('width', w.toFixed(2));\n"
	"  f.t.setAttribute('x', (x + 3).toFixed(2));\n"
	"  var fit = Math.floor((w - 6) / CH);\n"
	"  f.t.textContent = f.chars.length <= fit ? f.name :\n"
	"    fit >= 3 ? f.chars.slice(0, fit - 2).join('') + '..' : '';\n"
	"}\n"
	"function unzoom() {\n"
	"  unzoomBtn.classList.add('hide');\n"
	"  frames.forEach(function (f) {\n"
	"    f.g.classList.remove('hide', 'anc');\n"
	"    place(f, f.x0, f.w0);\n"
	"  });\n"
	"}\n"
	"function zoom(z) {\n"
	"  if (z.d === 0) { unzoom(); return; }\n"
	"  unzoomBtn.classList.remove('hide');\n"
	"  var scale = (W - 2 * PAD) / z.v;\n"
	"  frames.forEach(function (f) {\n"
	"    var inside = f.x >= z.x && f.x + f.v <= z.x + z.v;\n"
	"    var over = f.x <= z.x && f.x + f.v >= z.x + z.v;\n"
	"    if (f.d >= z.d && inside) {\n"
	"      f.g.classList.remove('hide', 'anc');\n"
	"      place(f, PAD + (f.x - z.x) * scale, f.v * scale);\n"
	"    } else if (f.d < z.d && over) {\n"
	"      f.g.classList.remove('hide');\n"
	"      f.g.classList.add('anc');\n"
	"      place(f, PAD, W - 2 * PAD);\n"
	"    } else {\n"
	"      f.g.classList.add('hide');\n"
	"    }\n"
	"  });\n"
	"}\n"
	"function search(term) {\n"
	"  var re = null, lc = term.toLowerCase(), hits = [];\n"
	"  if (term.length > 2 && term.charAt(0) === '/' && term.charAt(term.length - 1) === '/') {\n"
	"    try { re = new RegExp(term.slice(1, -1)); } catch (e) { re = null; }\n"
	"  }\n"
	"  frames.forEach(function (f) {\n"
	"    var m = term !== '' && f.d > 0 &&\n"
	"      (re ? re.test(f.name) : f.name.toLowerCase().indexOf(lc) >= 0);\n"
	"    f.g.classList.toggle('match', m);\n"
	"    if (m) hits.push(f);\n"
	"  });\n"
	"  if (term === '') { matched.textContent = ''; return; }\n"
	"  /* a match inside a matched frame is already counted in its parent */\n"
	"  hits.sort(function (a, b) { return a.x - b.x || a.d - b.d; });\n"
	"  var sum = 0, end = -1;\n"
	"  hits.forEach(function (f) { if (f.x >= end) { sum += f.v; end = f.x + f.v; } });\n"
	"  matched.textContent = 'Matched: ' + (total ? 100 * sum / total : 0).toFixed(2) +\n"
	"    '% (' + hits.length + (hits.length === 1 ? ' frame)' : ' frames)');\n"
	"}\n"
	"layer.addEventListener('mouseover', function (e) {\n"
	"  var g = e.target.closest('g.f');\n"
	"  if (g) details.textContent = g.getElementsByTagName('title')[0].textContent;\n"
	"});\n"
	"layer.addEventListener('mouseleave', function () { details.textContent = ' '; });\n"
	"layer.addEventListener('click', function (e) {\n"
	"  var g = e.target.closest('g.f');\n"
	"  if (g) zoom(frames[g.fgIndex]);\n"
	"});\n"
	"unzoomBtn.addEventListener('click', unzoom);\n"
	"input.addEventListener('input', function () { search(input.value); });\n"
	"document.addEventListener('keydown', function (e) {\n"
	"  if ((e.ctrlKey || e.metaKey) && e.key === 'f') {\n"
	"    e.preventDefault();\n"
	"    input.focus();\n"
	"    input.select();\n"
	"  } else if (e.key === 'Escape') {\n"
	"    if (document.activeElement === input && input.value !== '') {\n"
	"      input.value = '';\n"
	"      search('');\n"
	"    } else {\n"
	"      unzoom();\n"
	"    }\n"
	"  }\n"
	"});\n"
	"})();\n";

struct svg_ctx {
	FILE *f;
	struct layout *lo;
	double full_delta;
};

static void put_tooltip(struct flamegraph *fg, FILE *f, const struct flamegraph_frame *fr)
{
	uint64_t total = fg->nodes[0].value, base_total = base_of(fg, 0);
	char v[64], s[64], b[64];

	put_xml(f, fr->name);
	if (fr->kind || fr->error) {
		fputs(" (", f);
		if (fr->kind)
			put_xml(f, fr->kind);
		fprintf(f, "%s)", fr->error ? fr->kind ? ", error" : "error" : "");
	}
	fmt_value(fg, v, sizeof(v), fr->value);
	if (!fg->diff) {
		fprintf(f, " \xE2\x80\x94 %s, %.2f%%", v, pct(fr->value, total));
		if (fr->self && fr->self != fr->value) {
			fmt_value(fg, s, sizeof(s), fr->self);
			fprintf(f, ", self %s", s);
		}
		return;
	}
	fmt_value(fg, b, sizeof(b), fr->base);
	fprintf(f, " \xE2\x80\x94 after %s (%.2f%%), before %s (%.2f%%)", v, pct(fr->value, total), b,
		pct(fr->base, base_total));
	if (fr->base && base_total) {
		double after = (double)fr->value / (double)total;
		double before = (double)fr->base / (double)base_total;

		fprintf(f, ", \xCE\x94 %+.2f pts (%+.1f%% normalised)", 100 * (after - before),
			100 * (after / before - 1));
	} else {
		fputs(", new", f);
	}
}

static int svg_frame(struct flamegraph *fg, struct layout *lo, uint32_t idx, unsigned depth,
		     uint64_t offset, void *ctx)
{
	struct svg_ctx *sc = ctx;
	FILE *f = sc->f;
	struct flamegraph_frame fr;
	struct rgb c;

	fill_frame(fg, lo, idx, depth, offset, &fr);
	if (idx == 0)
		c = fg->diff ? (struct rgb){ 250, 250, 250 } : (struct rgb){ 205, 205, 205 };
	else if (fg->diff)
		c = diff_colour(fr.delta, sc->full_delta);
	else if (fr.kind)
		c = kind_colour(fr.kind, fr.name);
	else
		c = plain_colour(fr.name);

	fputs("<g class=\"f\" data-name=\"", f);
	put_xml(f, fr.name);
	fputc('"', f);
	if (fr.kind) {
		fputs(" data-kind=\"", f);
		put_xml(f, fr.kind);
		fputc('"', f);
	}
	if (fr.error)
		fputs(" data-err=\"1\"", f);
	fprintf(f, " data-value=\"%" PRIu64 "\" data-self=\"%" PRIu64 "\" data-x=\"%" PRIu64
		   "\" data-depth=\"%u\"",
		fr.value, fr.self, fr.offset, fr.depth);
	if (fg->diff)
		fprintf(f, " data-base=\"%" PRIu64 "\" data-delta=\"%.6f\"", fr.base, fr.delta);
	fputs("><title>", f);
	put_tooltip(fg, f, &fr);
	fprintf(f,
		"</title><rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%d\" rx=\"2\" "
		"fill=\"rgb(%d,%d,%d)\"%s/><text x=\"%.2f\" y=\"%.1f\">",
		fr.x_px, fr.y_px, fr.width_px, FLAMEGRAPH_FRAME_H_PX - 1, c.r, c.g, c.b,
		fr.error ? " class=\"err\"" : "", fr.x_px + 3, fr.y_px + FLAMEGRAPH_FRAME_H_PX - 5);
	put_label(f, fr.name, fr.width_px);
	fputs("</text></g>\n", f);
	return 0;
}

/* Legend items laid out left to right, wrapping; returns the rows used. With
 * F NULL only counts. */
static unsigned legend(struct flamegraph *fg, const struct layout *lo, FILE *f, double y0)
{
	double x = FLAMEGRAPH_PAD_PX, right = fg->width_px - FLAMEGRAPH_PAD_PX;
	unsigned rows = 0;
	const double char_px = FLAMEGRAPH_FONT_PX * FLAMEGRAPH_CHAR_EM;
	size_t items = lo->n_kinds + (lo->more_kinds ? 1 : 0) + (lo->any_plain && lo->n_kinds ? 1 : 0) +
		       (lo->any_error ? 1 : 0);

	if (fg->diff) {
		rows = 1;
		if (f) {
			double y = y0 + LEGEND_ROW_PX - 6;

			fprintf(f, "<g id=\"legend\"><text x=\"%.1f\" y=\"%.1f\">shrank</text>", x, y);
			fprintf(f,
				"<rect x=\"%.1f\" y=\"%.1f\" width=\"160\" height=\"12\" "
				"fill=\"url(#diffscale)\" stroke=\"#999\" stroke-width=\"0.5\"/>",
				x + 52, y - 10);
			fprintf(f,
				"<text x=\"%.1f\" y=\"%.1f\">grew (share of the total, before vs "
				"after; width = after)</text>",
				x + 220, y);
			if (lo->any_error)
				fprintf(f,
					"<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" "
					"fill=\"#fafafa\" stroke=\"#d40000\" stroke-width=\"2\"/>"
					"<text x=\"%.1f\" y=\"%.1f\">error</text>",
					right - 60, y - 10, right - 42, y);
			fputs("</g>\n", f);
		}
		return rows;
	}
	if (!items)
		return 0;
	rows = 1;
	if (f)
		fputs("<g id=\"legend\">", f);
	for (size_t i = 0; i < items; i++) {
		const char *label;
		struct rgb c = { 250, 250, 250 };
		bool err = false;
		double w;

		if (i < lo->n_kinds) {
			int h, s, l;

			label = fg->strs + lo->kinds[i] - 1;
			kind_hsl(label, &h, &s, &l);
			c = hsl(h, s / 100.0, l / 100.0);
		} else if (i == lo->n_kinds && lo->more_kinds) {
			label = "more kinds";
			c = (struct rgb){ 220, 220, 220 };
		} else if (lo->any_error && i == items - 1) {
			label = "error";
			err = true;
		} else {
			label = "no kind";
			c = plain_colour("no kind");
		}
		w = 12 + 5 + (double)utf8_count(label) * char_px + 16;
		if (x + w > right && x > FLAMEGRAPH_PAD_PX) {
			rows++;
			x = FLAMEGRAPH_PAD_PX;
		}
		if (f) {
			double y = y0 + (rows - 1) * LEGEND_ROW_PX;

			fprintf(f,
				"<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" rx=\"2\" "
				"fill=\"rgb(%d,%d,%d)\"%s/><text x=\"%.1f\" y=\"%.1f\">",
				x, y + 4, c.r, c.g, c.b,
				err ? " stroke=\"#d40000\" stroke-width=\"2\"" : "", x + 17, y + 14);
			put_xml(f, label);
			fputs("</text>", f);
		}
		x += w;
	}
	if (f)
		fputs("</g>\n", f);
	return rows;
}

int flamegraph__write_svg(struct flamegraph *fg, FILE *f)
{
	const struct node *root;
	struct layout lo;
	struct svg_ctx sc = { .f = f, .lo = &lo };
	double frames_h, legend_y, height;
	unsigned legend_rows;
	const char *title = fg->title;
	char tot[64], btot[64];
	int err;

	if (!fg || !f)
		return -EINVAL;
	root = &fg->nodes[0];
	err = layout(fg, &lo);
	if (err)
		return err;
	if (!title)
		title = fg->diff ? "Differential Flame Graph" : fg->icicle ? "Icicle Graph" : "Flame Graph";
	sc.full_delta = lo.max_abs_delta > FLAMEGRAPH_DIFF_FULL_SCALE ? lo.max_abs_delta
								      : FLAMEGRAPH_DIFF_FULL_SCALE;
	frames_h = lo.drawn ? (lo.max_depth + 1.0) * FLAMEGRAPH_FRAME_H_PX : 2.0 * FLAMEGRAPH_FRAME_H_PX;
	legend_rows = legend(fg, &lo, NULL, 0);
	legend_y = HEADER_PX + frames_h + 10;
	height = legend_y + legend_rows * LEGEND_ROW_PX + FOOTER_PX;

	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n", f);
	fprintf(f,
		"<svg version=\"1.1\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%u\" "
		"height=\"%.0f\" viewBox=\"0 0 %u %.0f\" data-width=\"%u\" data-pad=\"%d\" "
		"data-char-px=\"%.2f\" data-total=\"%" PRIu64 "\" data-unit=\"",
		fg->width_px, height, fg->width_px, height, fg->width_px, FLAMEGRAPH_PAD_PX,
		FLAMEGRAPH_FONT_PX * FLAMEGRAPH_CHAR_EM, root->value);
	put_xml(f, fg->unit);
	fprintf(f, "\" data-mode=\"%s\"", fg->icicle ? "icicle" : "flame");
	if (fg->diff)
		fprintf(f, " data-diff=\"1\" data-base-total=\"%" PRIu64 "\"", base_of(fg, 0));
	fputs(">\n<style type=\"text/css\"><![CDATA[\n", f);
	fputs(SVG_STYLE, f);
	fputs("]]></style>\n", f);
	fputs("<defs><linearGradient id=\"bg\" x1=\"0\" y1=\"0\" x2=\"0\" y2=\"1\">"
	      "<stop stop-color=\"#f4f4f4\" offset=\"0\"/><stop stop-color=\"#e4e4ec\" offset=\"1\"/>"
	      "</linearGradient>"
	      "<linearGradient id=\"diffscale\" x1=\"0\" y1=\"0\" x2=\"1\" y2=\"0\">"
	      "<stop stop-color=\"rgb(100,120,250)\" offset=\"0\"/>"
	      "<stop stop-color=\"rgb(250,250,250)\" offset=\"0.5\"/>"
	      "<stop stop-color=\"rgb(250,90,90)\" offset=\"1\"/></linearGradient></defs>\n",
	      f);
	fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%u\" height=\"%.0f\" fill=\"url(#bg)\"/>\n",
		fg->width_px, height);
	fprintf(f, "<text id=\"title\" x=\"%.1f\" y=\"24\" text-anchor=\"middle\">",
		fg->width_px / 2.0);
	put_xml(f, title);
	fprintf(f, "</text>\n<text id=\"subtitle\" x=\"%.1f\" y=\"43\" text-anchor=\"middle\">",
		fg->width_px / 2.0);
	if (fg->subtitle) {
		put_xml(f, fg->subtitle);
		fputs(" \xC2\xB7 ", f);
	}
	fmt_value(fg, tot, sizeof(tot), root->value);
	if (fg->diff) {
		fmt_value(fg, btot, sizeof(btot), base_of(fg, 0));
		fprintf(f, "after %s, before %s", tot, btot);
		if (lo.vanished_base)
			fprintf(f, "; %.2f%% of before is gone and not drawn",
				pct(lo.vanished_base, base_of(fg, 0)));
	} else {
		fprintf(f, "total %s", tot);
	}
	fputs("</text>\n", f);
	fprintf(f, "<text id=\"unzoom\" class=\"btn hide\" x=\"%d\" y=\"%d\">Reset Zoom</text>\n",
		FLAMEGRAPH_PAD_PX, HEADER_PX - 16);
	fprintf(f,
		"<foreignObject x=\"%d\" y=\"%d\" width=\"%d\" height=\"24\"><input "
		"xmlns=\"http://www.w3.org/1999/xhtml\" id=\"search\" type=\"search\" "
		"placeholder=\"Search (Ctrl+F): text or /regex/\" autocomplete=\"off\" "
		"spellcheck=\"false\"/></foreignObject>\n",
		fg->width_px - FLAMEGRAPH_PAD_PX - SEARCH_W_PX, HEADER_PX - 32, SEARCH_W_PX);
	fprintf(f, "<text id=\"matched\" x=\"%d\" y=\"%d\" text-anchor=\"end\"></text>\n",
		fg->width_px - FLAMEGRAPH_PAD_PX - SEARCH_W_PX - 10, HEADER_PX - 16);
	fputs("<g id=\"frames\">\n", f);
	if (lo.drawn) {
		err = traverse(fg, &lo, svg_frame, &sc);
		if (err)
			return err;
	} else {
		fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">No stacks to draw</text>\n",
			fg->width_px / 2.0, HEADER_PX + FLAMEGRAPH_FRAME_H_PX);
	}
	fputs("</g>\n", f);
	legend(fg, &lo, f, legend_y);
	fprintf(f, "<text id=\"details\" x=\"%d\" y=\"%.0f\"> </text>\n", FLAMEGRAPH_PAD_PX,
		height - 10);
	fputs("<script type=\"text/ecmascript\"><![CDATA[\n", f);
	fputs(SVG_SCRIPT, f);
	fputs("]]></script>\n</svg>\n", f);
	/* errno tells why (ENOSPC, EPIPE) when the final flush fails */
	errno = 0;
	if (fflush(f) || ferror(f))
		return errno ? -errno : -EIO;
	return 0;
}

int flamegraph__write_svg_file(struct flamegraph *fg, const char *path)
{
	char *tmp = NULL;
	FILE *f;
	int fd, err = 0;

	if (!fg || !path)
		return -EINVAL;
	if (!strcmp(path, "-"))
		return flamegraph__write_svg(fg, stdout);
	if (!out_open__is_regular_or_absent(path)) {
		/* a device, a FIFO or a symlink: written in place, through the checks
		 * of out_open() (a rename would replace the node itself) */
		f = out_open(path);
		if (!f)
			return -errno;
		err = flamegraph__write_svg(fg, f);
		if (fclose(f) && !err)
			err = -errno;
		return err;
	}
	if (asprintf(&tmp, "%s.%d.tmp", path, (int)getpid()) < 0)
		return -ENOMEM;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 && errno == EEXIST && !unlink(tmp)) /* left by a crashed run */
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		err = -errno;
		free(tmp);
		return err;
	}
	f = fdopen(fd, "w");
	if (!f) {
		err = -errno;
		close(fd);
		goto cleanup;
	}
	err = flamegraph__write_svg(fg, f);
	if (fclose(f) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
cleanup:
	if (err)
		unlink(tmp);
	free(tmp);
	return err;
}

struct fg_sink {
	struct tt_sink sink;
	struct flamegraph *fg;
	bool critical_path;
};

static int fg_sink_trace(struct tt_sink *s, const struct tt_trace *t)
{
	struct fg_sink *fs = s->ctx;

	return flamegraph__add_trace(fs->fg, t, fs->critical_path);
}

static int fg_sink_close(struct tt_sink *s)
{
	free(s->ctx);
	return 0;
}

struct tt_sink *flamegraph_sink__new(struct flamegraph *fg, bool critical_path)
{
	struct fg_sink *fs;

	if (!fg) {
		errno = EINVAL;
		return NULL;
	}
	fs = calloc(1, sizeof(*fs));
	if (!fs) {
		errno = ENOMEM;
		return NULL;
	}
	fs->fg = fg;
	fs->critical_path = critical_path;
	fs->sink.name = "svg";
	fs->sink.trace = fg_sink_trace;
	fs->sink.close = fg_sink_close;
	fs->sink.ctx = fs;
	return &fs->sink;
}
