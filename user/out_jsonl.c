/* --format jsonl: one JSON object per span, one per line, parents before children. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "json.h"
#include "outputs.h"

static const char *status_name(enum tt_status st)
{
	return st == TT_STATUS_ERROR ? "error" : st == TT_STATUS_OK ? "ok" : "unset";
}

static void write_attr_value(FILE *f, const struct tt_attr *a)
{
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
		fprintf(f, "%.17g", a->d);
		break;
	}
}

static void write_span(FILE *f, const struct tt_trace *t, const char *tid, const struct tt_span *s)
{
	char sid[17], pid[17], lt[33];
	size_t i;

	fprintf(f, "{\"trace_id\":\"%s\",\"span_id\":\"%s\",\"parent_span_id\":\"%s\",\"name\":", tid,
		span_id_hex(s->span_id, sid),
		s->parent ? span_id_hex(s->parent->span_id, pid) :
		s->parent_span_id ? span_id_hex(s->parent_span_id, pid) : "");
	json_write_str(f, s->name);
	fputs(",\"probe\":", f);
	json_write_str(f, s->probe);
	fputs(",\"kind\":", f);
	json_write_str(f, s->kind);
	fprintf(f,
		",\"pid\":%u,\"tid\":%u,\"depth\":%u,\"start_ns\":%" PRIu64 ",\"end_ns\":%" PRIu64
		",\"duration_ns\":%" PRIu64 ",\"ret\":%" PRId64 ",\"status\":\"%s\"",
		s->pid, s->tid, s->depth, s->start_ns, s->end_ns, tt_span__duration_ns(s), s->ret,
		status_name(s->status));
	if (s->status_msg) {
		fputs(",\"status_message\":", f);
		json_write_str(f, s->status_msg);
	}
	if (t->late)
		fputs(",\"late\":true", f);
	else if (!t->complete)
		fputs(",\"incomplete\":true", f);
	fputs(",\"attributes\":{", f);
	for (i = 0; i < s->n_attrs; i++) {
		if (i)
			fputc(',', f);
		json_write_str(f, s->attrs[i].key);
		fputc(':', f);
		write_attr_value(f, &s->attrs[i]);
	}
	fputs("},\"links\":[", f);
	for (i = 0; i < s->n_links; i++)
		fprintf(f, "%s{\"trace_id\":\"%s\",\"span_id\":\"%s\"}", i ? "," : "",
			hex_encode(s->links[i].trace_id, 16, lt), span_id_hex(s->links[i].span_id, sid));
	fputs("]}\n", f);
}

static void write_subtree(FILE *f, const struct tt_trace *t, const char *tid, const struct tt_span *s)
{
	const struct tt_span *c;

	write_span(f, t, tid, s);
	for (c = s->first_child; c; c = c->next_sibling)
		write_subtree(f, t, tid, c);
}

static int jsonl_trace(struct tt_sink *sink, const struct tt_trace *t)
{
	FILE *out = sink->ctx;
	char tid[33];
	size_t i;

	hex_encode(t->trace_id, 16, tid);
	for (i = 0; i < t->n_roots; i++)
		write_subtree(out, t, tid, t->roots[i]);
	fflush(out);
	return ferror(out) ? -EIO : 0;
}

struct tt_sink *jsonl_sink__new(FILE *out)
{
	return file_sink__new(out, "jsonl", jsonl_trace);
}
