/* --format tree: one indented tree per finished trace, with durations, return
 * values, kinds, statuses and attributes; threads shown where they change. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "outputs.h"

const char *fmt_duration(uint64_t ns, char *buf, size_t len)
{
	if (ns < 1000)
		snprintf(buf, len, "%" PRIu64 " ns", ns);
	else if (ns < 1000000)
		snprintf(buf, len, "%.1f us", ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, len, "%.3f ms", ns / 1e6);
	else
		snprintf(buf, len, "%.3f s", ns / 1e9);
	return buf;
}

static void print_ret(FILE *f, int64_t ret)
{
	/* pointers read better in hex, error codes in decimal */
	if (ret > 0xffffffffLL || ret < -0xffffffffLL)
		fprintf(f, "ret=0x%" PRIx64, (uint64_t)ret);
	else
		fprintf(f, "ret=%" PRId64, ret);
}

static void print_attrs(FILE *f, const struct tt_span *s)
{
	size_t i;

	for (i = 0; i < s->n_attrs; i++) {
		const struct tt_attr *a = &s->attrs[i];

		/* already shown as [kind] */
		if (!strcmp(a->key, "tta.primitive.kind"))
			continue;
		fprintf(f, " %s=", a->key);
		switch (a->type) {
		case TT_ATTR_STR:
			json_write_str(f, a->s);
			break;
		case TT_ATTR_INT:
			fprintf(f, "%" PRId64, a->i);
			break;
		case TT_ATTR_BOOL:
			fputs(a->b ? "true" : "false", f);
			break;
		case TT_ATTR_DOUBLE:
			fprintf(f, "%g", a->d);
			break;
		}
	}
}

static void print_span(FILE *f, const struct tt_span *s, const char *prefix, int last, int top)
{
	char dur[32], next[512];
	const struct tt_span *c;

	fprintf(f, "%s%s%s  %s  ", prefix, top ? "" : (last ? "└─ " : "├─ "), s->name,
		fmt_duration(tt_span__duration_ns(s), dur, sizeof(dur)));
	print_ret(f, s->ret);
	if (s->kind && strcmp(s->kind, "step"))
		fprintf(f, "  [%s]", s->kind);
	if (s->status == TT_STATUS_ERROR)
		fprintf(f, "  ERROR%s%s", s->status_msg ? ": " : "", s->status_msg ? s->status_msg : "");
	if (!s->parent || s->parent->tid != s->tid)
		fprintf(f, "  tid=%u", s->tid);
	print_attrs(f, s);
	if (s->n_links)
		fprintf(f, "  links=%zu", s->n_links);
	fputc('\n', f);
	if (top)
		snprintf(next, sizeof(next), "%s", prefix);
	else
		snprintf(next, sizeof(next), "%s%s", prefix, last ? "   " : "│  ");
	for (c = s->first_child; c; c = c->next_sibling)
		print_span(f, c, next, !c->next_sibling, 0);
}

static int tree_trace(struct tt_sink *sink, const struct tt_trace *t)
{
	FILE *out = sink->ctx;
	char tid[33], dur[32];
	size_t i;

	if (!t->n_roots)
		return 0;
	fprintf(out, "trace %s  pid %u%s%s%s  %zu span%s  %s%s\n", hex_encode(t->trace_id, 16, tid),
		t->roots[0]->pid, t->proc && t->proc->exe_name ? " (" : "",
		t->proc && t->proc->exe_name ? t->proc->exe_name : "",
		t->proc && t->proc->exe_name ? ")" : "", t->n_spans, t->n_spans == 1 ? "" : "s",
		fmt_duration(tt_span__duration_ns(t->roots[0]), dur, sizeof(dur)),
		t->late ? "  (late: finished after its trace's root; same trace)" :
		t->complete ? "" : "  (incomplete: its root did not finish while traced)");
	for (i = 0; i < t->n_roots; i++)
		print_span(out, t->roots[i], "  ", 1, 1);
	fputc('\n', out);
	fflush(out);
	return ferror(out) ? -EIO : 0;
}

struct tt_sink *tree_sink__new(FILE *out)
{
	return file_sink__new(out, "tree", tree_trace);
}
