/* Span and trace model shared by the collector and every output (tree, jsonl,
 * folded, OTLP, SVG). A trace is handed to outputs once, when it is finished. */
#ifndef TT_SPANS_H
#define TT_SPANS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ttatrace.h"

enum tt_attr_type {
	TT_ATTR_STR,
	TT_ATTR_INT,
	TT_ATTR_BOOL,
	TT_ATTR_DOUBLE,
};

/* One span attribute; keys follow OpenTelemetry naming (e.g. "tta.retry.attempt"). */
struct tt_attr {
	const char *key;
	enum tt_attr_type type;
	union {
		const char *s;
		int64_t i;
		bool b;
		double d;
	};
};

/* A link to another span (OTel span link), e.g. retry attempt -> previous attempt. */
struct tt_link {
	uint8_t trace_id[16];
	uint64_t span_id;
};

enum tt_status {
	TT_STATUS_UNSET = 0,
	TT_STATUS_OK = 1,
	TT_STATUS_ERROR = 2,
};

/* The traced process a span came from: the OTLP resource. */
struct tt_process {
	uint32_t pid;
	const char *exe_path; /* /proc/PID/exe target at attach time */
	const char *exe_name; /* basename of exe_path */
	const char *cmdline; /* argv joined with spaces */
	/* agent mode (NULL otherwise): semantic-convention identity of the process */
	const char *service_name; /* over the exporter's OTEL_SERVICE_NAME */
	const char *service_instance_id;
	const char *container_id;
	const char *pod_uid; /* k8s.pod.uid */
	const char *node_name; /* k8s.node.name */
};

struct tt_span {
	uint64_t span_id; /* never 0 */
	uint64_t parent_span_id; /* 0 for a root */
	uint64_t start_ns; /* Unix epoch ns */
	uint64_t end_ns; /* Unix epoch ns */
	int64_t ret;
	uint32_t pid, tid;
	uint32_t probe_id;
	uint16_t depth;
	uint16_t flags; /* enum tt_span_flags */
	const char *name; /* span name: symbol, or the catalogue's name */
	const char *probe; /* "binary:symbol" */
	const char *kind; /* primitive kind ("step" for a plain --probe) */
	int role; /* enum prim_role (catalog.h): ROLE_COMPENSATION for saga compensations */
	enum tt_status status;
	/* a catalogue error rule judged the span: status UNSET then means "not an
	 * error", whatever the return value (the kernel's tail rule agrees) */
	bool error_ruled;
	const char *status_msg; /* NULL unless status is ERROR */
	struct tt_attr *attrs;
	size_t n_attrs;
	struct tt_link *links;
	size_t n_links;
	/* tree, children ordered by start time */
	struct tt_span *parent;
	struct tt_span *first_child;
	struct tt_span *next_sibling;
};

struct tt_trace {
	uint8_t trace_id[16]; /* W3C, never all zero */
	struct tt_span **spans; /* every span, ordered by start time */
	size_t n_spans;
	struct tt_span **roots; /* spans without a parent in this trace; [0] is the root */
	size_t n_roots;
	bool complete; /* false: the root never finished (target died, record lost) */
	/* spans that finished after their trace was emitted (a thread outliving its
	 * workflow): the same trace id, parents in the trace already emitted */
	bool late;
	const struct tt_process *proc;
	uint64_t remote_parent_span_id; /* joined a W3C traceparent: the remote parent, else 0 */
	struct tt_arena *arena; /* memory that lives as long as the trace (attributes, links) */
};

/* Per-trace bump allocator: everything taken from it is freed with the trace. */
struct tt_arena;
struct tt_arena *tt_arena__new(void);
void tt_arena__free(struct tt_arena *a);
void *tt_arena__alloc(struct tt_arena *a, size_t n); /* zeroed; NULL on ENOMEM */
char *tt_arena__strdup(struct tt_arena *a, const char *s);
char *tt_arena__printf(struct tt_arena *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Appends (or replaces, same key) an attribute on s; strings are copied into the
 * trace's arena. 0 or -ENOMEM. */
int tt_span__set_attr(struct tt_trace *t, struct tt_span *s, const struct tt_attr *a);
int tt_span__set_str(struct tt_trace *t, struct tt_span *s, const char *key, const char *v);
int tt_span__set_int(struct tt_trace *t, struct tt_span *s, const char *key, int64_t v);
int tt_span__set_bool(struct tt_trace *t, struct tt_span *s, const char *key, bool v);
int tt_span__add_link(struct tt_trace *t, struct tt_span *s, const uint8_t trace_id[16],
		      uint64_t span_id);
/* The attribute with key, or NULL. */
const struct tt_attr *tt_span__attr(const struct tt_span *s, const char *key);

static inline uint64_t tt_span__duration_ns(const struct tt_span *s)
{
	return s->end_ns >= s->start_ns ? s->end_ns - s->start_ns : 0;
}

/* An output. trace() is called once per finished trace, from the collector thread;
 * close() flushes and frees (accepts NULL). Both return 0 or a negative errno. */
struct tt_sink {
	const char *name;
	int (*trace)(struct tt_sink *sink, const struct tt_trace *t);
	int (*close)(struct tt_sink *sink);
	void *ctx;
};

static inline int tt_sink__close(struct tt_sink *s)
{
	return s && s->close ? s->close(s) : 0;
}

#endif /* TT_SPANS_H */
