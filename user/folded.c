/* Folded-stack aggregation; self times come from critpath (which clips children
 * running on other threads so a parent's self time is never negative). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "critpath.h"
#include "folded.h"
#include "out_open.h"
#include "folded_parse.h"

struct entry {
	char *path;
	uint64_t self_ns;
	struct entry *next;
};

#define NBUCKETS 4096

struct folded {
	FILE *out;
	char *path;
	bool critical;
	struct entry *buckets[NBUCKETS];
	size_t n;
};

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 0x100000001b3ULL;
	return h;
}

void folded_frame_name(const char *name, char *buf, size_t len)
{
	size_t i;

	if (!len)
		return;
	for (i = 0; name && name[i] && i + 1 < len; i++) {
		char c = name[i];

		buf[i] = (c == ';' || c == '\n' || c == '\r') ? '_' : c;
	}
	buf[i] = '\0';
}

struct folded *folded__new(const char *path, bool critical_path)
{
	struct folded *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->critical = critical_path;
	if (path) {
		f->out = out_open(path);
		f->path = strdup(path);
		if (!f->out || !f->path) {
			int e = errno;

			if (f->out && f->out != stdout)
				fclose(f->out);
			free(f->path);
			free(f);
			errno = e;
			return NULL;
		}
	}
	return f;
}

static int add_path(struct folded *f, const char *path, uint64_t ns)
{
	uint64_t h = fnv1a(path);
	struct entry **b = &f->buckets[h % NBUCKETS], *e;

	for (e = *b; e; e = e->next) {
		if (!strcmp(e->path, path)) {
			e->self_ns += ns;
			return 0;
		}
	}
	e = calloc(1, sizeof(*e));
	if (!e || !(e->path = strdup(path))) {
		free(e);
		return -ENOMEM;
	}
	e->self_ns = ns;
	e->next = *b;
	*b = e;
	f->n++;
	return 0;
}

/* path of s: root names joined by ';' (recursion depth is bounded by the tree) */
static size_t build_path(const struct tt_span *s, char *buf, size_t len)
{
	size_t at = 0, l;
	char name[512];

	if (s->parent)
		at = build_path(s->parent, buf, len);
	/* kinds and errors ride along as a " [kind]" suffix other tools ignore; plain
	 * steps stay bare so ordinary folded files look as they always did */
	folded_parse__format_frame(name, sizeof(name), s->name,
				   s->kind && strcmp(s->kind, "step") ? s->kind : NULL,
				   s->status == TT_STATUS_ERROR);
	l = strlen(name);
	if (at + l + 2 >= len)
		return at;
	if (at)
		buf[at++] = ';';
	memcpy(buf + at, name, l);
	at += l;
	buf[at] = '\0';
	return at;
}

int folded__add_trace(struct folded *f, const struct tt_trace *t)
{
	uint64_t *self;
	char *path;
	size_t i;
	int err = 0;

	if (!t->n_spans)
		return 0;
	self = calloc(t->n_spans, sizeof(*self));
	path = malloc(65536);
	if (!self || !path) {
		err = -ENOMEM;
		goto cleanup;
	}
	err = critpath__self_ns(t, self, f->critical);
	if (err)
		goto cleanup;
	for (i = 0; i < t->n_spans; i++) {
		path[0] = '\0';
		build_path(t->spans[i], path, 65536);
		err = add_path(f, path, self[i]);
		if (err)
			break;
	}
cleanup:
	free(path);
	free(self);
	return err;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp((*(const struct entry *const *)a)->path, (*(const struct entry *const *)b)->path);
}

int folded__for_each(const struct folded *f, int (*cb)(const char *, uint64_t, void *), void *ctx)
{
	struct entry **all, *e;
	size_t n = 0, i;
	int err = 0;

	all = calloc(f->n ? f->n : 1, sizeof(*all));
	if (!all)
		return -ENOMEM;
	for (i = 0; i < NBUCKETS; i++)
		for (e = f->buckets[i]; e; e = e->next)
			all[n++] = e;
	qsort(all, n, sizeof(*all), cmp_entry);
	for (i = 0; i < n && !err; i++)
		err = cb(all[i]->path, all[i]->self_ns, ctx);
	free(all);
	return err;
}

static int write_line(const char *path, uint64_t ns, void *ctx)
{
	/* microseconds, rounded to nearest */
	fprintf(ctx, "%s %" PRIu64 "\n", path, (ns + 500) / 1000);
	return 0;
}

int folded__write(const struct folded *f, FILE *out)
{
	int err = folded__for_each(f, write_line, out);

	if (!err && (fflush(out) || ferror(out)))
		err = -EIO;
	return err;
}

void folded__free(struct folded *f)
{
	size_t i;

	if (!f)
		return;
	for (i = 0; i < NBUCKETS; i++) {
		struct entry *e = f->buckets[i];

		while (e) {
			struct entry *nx = e->next;

			free(e->path);
			free(e);
			e = nx;
		}
	}
	if (f->out && f->out != stdout)
		fclose(f->out);
	free(f->path);
	free(f);
}

int folded__close(struct folded *f)
{
	int err = 0;

	if (!f)
		return 0;
	if (f->out)
		err = folded__write(f, f->out);
	folded__free(f);
	return err;
}

static int sink_trace(struct tt_sink *s, const struct tt_trace *t)
{
	return folded__add_trace(s->ctx, t);
}

static int sink_close(struct tt_sink *s)
{
	free(s);
	return 0;
}

struct tt_sink *folded_sink__new(struct folded *f)
{
	struct tt_sink *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->name = "folded";
	s->trace = sink_trace;
	s->close = sink_close;
	s->ctx = f;
	return s;
}
