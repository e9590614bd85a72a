/* Per-trace bump allocator and the span attribute/link setters built on it. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spans.h"

#define CHUNK_BYTES 16384

struct chunk {
	struct chunk *next;
	size_t used, cap;
	max_align_t data[];
};

struct tt_arena {
	struct chunk *head;
};

struct tt_arena *tt_arena__new(void)
{
	return calloc(1, sizeof(struct tt_arena));
}

void tt_arena__free(struct tt_arena *a)
{
	if (!a)
		return;
	while (a->head) {
		struct chunk *n = a->head->next;

		free(a->head);
		a->head = n;
	}
	free(a);
}

void *tt_arena__alloc(struct tt_arena *a, size_t n)
{
	struct chunk *c = a->head;
	void *p;

	n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
	if (!c || c->cap - c->used < n) {
		size_t cap = n > CHUNK_BYTES ? n : CHUNK_BYTES;

		c = malloc(sizeof(*c) + cap);
		if (!c) {
			errno = ENOMEM;
			return NULL;
		}
		c->used = 0;
		c->cap = cap;
		c->next = a->head;
		a->head = c;
	}
	p = (char *)c->data + c->used;
	c->used += n;
	memset(p, 0, n);
	return p;
}

char *tt_arena__strdup(struct tt_arena *a, const char *s)
{
	size_t l = strlen(s ? s : "");
	char *d = tt_arena__alloc(a, l + 1);

	if (d && s)
		memcpy(d, s, l);
	return d;
}

char *tt_arena__printf(struct tt_arena *a, const char *fmt, ...)
{
	va_list ap;
	char *d;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	d = tt_arena__alloc(a, n + 1);
	if (!d)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(d, n + 1, fmt, ap);
	va_end(ap);
	return d;
}

const struct tt_attr *tt_span__attr(const struct tt_span *s, const char *key)
{
	size_t i;

	for (i = 0; i < s->n_attrs; i++)
		if (!strcmp(s->attrs[i].key, key))
			return &s->attrs[i];
	return NULL;
}

int tt_span__set_attr(struct tt_trace *t, struct tt_span *s, const struct tt_attr *a)
{
	struct tt_attr *na, *slot = NULL;
	size_t i;

	for (i = 0; i < s->n_attrs; i++)
		if (!strcmp(s->attrs[i].key, a->key))
			slot = &s->attrs[i];
	if (!slot) {
		/* arrays grow by copying into the arena: few attributes per span */
		na = tt_arena__alloc(t->arena, (s->n_attrs + 1) * sizeof(*na));
		if (!na)
			return -ENOMEM;
		if (s->n_attrs)
			memcpy(na, s->attrs, s->n_attrs * sizeof(*na));
		s->attrs = na;
		slot = &s->attrs[s->n_attrs++];
		slot->key = tt_arena__strdup(t->arena, a->key);
		if (!slot->key)
			return -ENOMEM;
	}
	slot->type = a->type;
	if (a->type == TT_ATTR_STR) {
		slot->s = tt_arena__strdup(t->arena, a->s);
		if (!slot->s)
			return -ENOMEM;
	} else if (a->type == TT_ATTR_INT) {
		slot->i = a->i;
	} else if (a->type == TT_ATTR_BOOL) {
		slot->b = a->b;
	} else {
		slot->d = a->d;
	}
	return 0;
}

int tt_span__set_str(struct tt_trace *t, struct tt_span *s, const char *key, const char *v)
{
	struct tt_attr a = { .key = key, .type = TT_ATTR_STR, .s = v };

	return tt_span__set_attr(t, s, &a);
}

int tt_span__set_int(struct tt_trace *t, struct tt_span *s, const char *key, int64_t v)
{
	struct tt_attr a = { .key = key, .type = TT_ATTR_INT, .i = v };

	return tt_span__set_attr(t, s, &a);
}

int tt_span__set_bool(struct tt_trace *t, struct tt_span *s, const char *key, bool v)
{
	struct tt_attr a = { .key = key, .type = TT_ATTR_BOOL, .b = v };

	return tt_span__set_attr(t, s, &a);
}

int tt_span__add_link(struct tt_trace *t, struct tt_span *s, const uint8_t trace_id[16],
		      uint64_t span_id)
{
	struct tt_link *nl = tt_arena__alloc(t->arena, (s->n_links + 1) * sizeof(*nl));

	if (!nl)
		return -ENOMEM;
	if (s->n_links)
		memcpy(nl, s->links, s->n_links * sizeof(*nl));
	memcpy(nl[s->n_links].trace_id, trace_id, 16);
	nl[s->n_links].span_id = span_id;
	s->links = nl;
	s->n_links++;
	return 0;
}
