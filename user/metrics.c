/* Prometheus text exposition (0.0.4) of the kernel's per-primitive histograms and
 * counters. Series are keyed by span name and kind only, so their number stays
 * bounded by the code traced, never by pids or ids. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "metrics.h"

#define NAME_MAX_LEN 256
#define KIND_MAX_LEN 64

struct group {
	char name[NAME_MAX_LEN];
	char kind[KIND_MAX_LEN];
	struct hist_snapshot h;
	bool has_slo;
	struct slo slo;
};

uint64_t metrics__le_ns(uint32_t i)
{
	uint64_t p = 1ULL << (TT_PROM_MIN_LOG2 + i / 2);

	return i % 2 ? p + p / 2 : p;
}

void metrics__fmt_seconds(uint64_t ns, char *buf, size_t len)
{
	uint64_t s = ns / 1000000000ULL, frac = ns % 1000000000ULL;
	int digits = 9;

	if (!frac) {
		snprintf(buf, len, "%" PRIu64, s);
		return;
	}
	while (frac % 10 == 0) {
		frac /= 10;
		digits--;
	}
	snprintf(buf, len, "%" PRIu64 ".%0*" PRIu64, s, digits, frac);
}

/* label values: backslash, double quote and newline are escaped (format 0.0.4) */
static void put_label_value(FILE *out, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\')
			fputs("\\\\", out);
		else if (*v == '"')
			fputs("\\\"", out);
		else if (*v == '\n')
			fputs("\\n", out);
		else
			fputc(*v, out);
	}
}

static void put_labels(FILE *out, const struct group *g, const char *service, const char *le)
{
	const char *sep = "";

	if (!g && !service && !le)
		return;
	fputc('{', out);
	if (g) {
		fputs("primitive=\"", out);
		put_label_value(out, g->name);
		fputs("\",kind=\"", out);
		put_label_value(out, g->kind);
		fputc('"', out);
		sep = ",";
	}
	if (service) {
		fprintf(out, "%sservice=\"", sep);
		put_label_value(out, service);
		fputc('"', out);
		sep = ",";
	}
	if (le)
		fprintf(out, "%sle=\"%s\"", sep, le);
	fputc('}', out);
}

static int cmp_group(const void *a, const void *b)
{
	const struct group *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->kind, y->kind);
}

/* Reads every probe and merges those with the same (name, kind). */
static int collect(const struct metrics_source *src, struct group **out, size_t *n_out)
{
	uint32_t n = src->n_probes(src->ctx), id;
	struct hist_snapshot *snap = malloc(sizeof(*snap));
	struct group *groups = NULL, *g;
	size_t ng = 0, cap = 0, j;
	char name[NAME_MAX_LEN], kind[KIND_MAX_LEN];
	int err = 0, r;

	if (!snap)
		return -ENOMEM;
	for (id = 0; id < n; id++) {
		if (src->probe_labels(src->ctx, id, name, sizeof(name), kind, sizeof(kind)))
			continue;
		memset(snap, 0, sizeof(*snap));
		r = src->read_probe(src->ctx, id, snap);
		if (r == -ENOENT)
			continue;
		if (r) {
			err = r;
			goto out;
		}
		for (j = 0; j < ng; j++)
			if (!strcmp(groups[j].name, name) && !strcmp(groups[j].kind, kind))
				break;
		if (j == ng) {
			if (ng == cap) {
				size_t nc = cap ? 2 * cap : 16;
				struct group *nv = realloc(groups, nc * sizeof(*nv));

				if (!nv) {
					err = -ENOMEM;
					goto out;
				}
				groups = nv;
				cap = nc;
			}
			g = &groups[ng++];
			memset(g, 0, sizeof(*g));
			snprintf(g->name, sizeof(g->name), "%s", name);
			snprintf(g->kind, sizeof(g->kind), "%s", kind);
		}
		hist__add(&groups[j].h, snap);
		if (!groups[j].has_slo && src->probe_slo) {
			struct slo slo = {};

			r = src->probe_slo(src->ctx, id, &slo);
			if (!r && (slo.has_latency || slo.has_errors)) {
				groups[j].slo = slo;
				groups[j].has_slo = true;
			} else if (r && r != -ENOENT) {
				err = r;
				goto out;
			}
		}
	}
	if (ng)
		qsort(groups, ng, sizeof(*groups), cmp_group);
out:
	free(snap);
	if (err) {
		free(groups);
		return err;
	}
	*out = groups;
	*n_out = ng;
	return 0;
}

uint64_t metrics__slo_bound_ns(uint64_t threshold_ns)
{
	uint64_t bound = 0;
	uint32_t b;

	for (b = 0; b < TT_HIST_NBUCKETS - 1 && hist__bucket_upper_ns(b) <= threshold_ns; b++)
		bound = hist__bucket_upper_ns(b);
	return bound;
}

uint64_t metrics__slo_good(const struct hist_snapshot *s, uint64_t threshold_ns)
{
	/* bucket b holds [lower, upper): upper <= threshold means every call in it took
	 * less than the threshold */
	return hist__count_below(s, threshold_ns);
}

int metrics__for_each(const struct metrics_source *src,
		      int (*cb)(const struct metrics_series *s, void *ctx), void *ctx)
{
	struct group *groups = NULL;
	size_t ng = 0, j;
	int err;

	err = collect(src, &groups, &ng);
	if (err)
		return err;
	for (j = 0; j < ng && !err; j++) {
		struct metrics_series s = { .name = groups[j].name,
					    .kind = groups[j].kind,
					    .h = &groups[j].h,
					    .slo = groups[j].has_slo ? &groups[j].slo : NULL };

		err = cb(&s, ctx);
	}
	free(groups);
	return err;
}

static void family(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static bool any_slo(const struct group *groups, size_t ng, bool latency)
{
	for (size_t j = 0; j < ng; j++)
		if (groups[j].has_slo && (latency ? groups[j].slo.has_latency : groups[j].slo.has_errors))
			return true;
	return false;
}

/* Targets and thresholds are exported as series so that the burn-rate rules
 * (deploy/prometheus/alerts.yaml) need no copy of the catalogue. */
static void render_slos(FILE *out, const struct group *groups, size_t ng, const char *service)
{
	char sec[48];
	size_t j;

	if (any_slo(groups, ng, true)) {
		family(out, "ttatrace_slo_latency_threshold_seconds", "gauge",
		       "Latency SLO threshold of the primitive (from the catalogue).");
		for (j = 0; j < ng; j++) {
			if (!groups[j].has_slo || !groups[j].slo.has_latency)
				continue;
			metrics__fmt_seconds(groups[j].slo.latency_threshold_ns, sec, sizeof(sec));
			fputs("ttatrace_slo_latency_threshold_seconds", out);
			put_labels(out, &groups[j], service, NULL);
			fprintf(out, " %s\n", sec);
		}
		family(out, "ttatrace_slo_latency_target", "gauge",
		       "Fraction of calls that should finish within the latency threshold.");
		for (j = 0; j < ng; j++) {
			if (!groups[j].has_slo || !groups[j].slo.has_latency)
				continue;
			fputs("ttatrace_slo_latency_target", out);
			put_labels(out, &groups[j], service, NULL);
			fprintf(out, " %.15g\n", groups[j].slo.latency_target);
		}
		family(out, "ttatrace_slo_latency_good_total", "counter",
		       "Calls within the latency threshold: those in histogram buckets whose upper "
		       "bound is at or below it (a call within 6.25% below the threshold may count as "
		       "slow, never the reverse).");
		for (j = 0; j < ng; j++) {
			if (!groups[j].has_slo || !groups[j].slo.has_latency)
				continue;
			fputs("ttatrace_slo_latency_good_total", out);
			put_labels(out, &groups[j], service, NULL);
			fprintf(out, " %" PRIu64 "\n",
				metrics__slo_good(&groups[j].h, groups[j].slo.latency_threshold_ns));
		}
	}
	if (any_slo(groups, ng, false)) {
		family(out, "ttatrace_slo_errors_target", "gauge",
		       "Fraction of calls that should not be errors (SLI: 1 - errors_total / "
		       "calls_total).");
		for (j = 0; j < ng; j++) {
			if (!groups[j].has_slo || !groups[j].slo.has_errors)
				continue;
			fputs("ttatrace_slo_errors_target", out);
			put_labels(out, &groups[j], service, NULL);
			fprintf(out, " %.15g\n", groups[j].slo.errors_target);
		}
	}
}

static void self_line(FILE *out, const char *name, const char *service, const char *lk,
		      const char *lv, const char *fmt_val)
{
	bool any = service || lk;

	fputs(name, out);
	if (any) {
		fputc('{', out);
		if (service) {
			fputs("service=\"", out);
			put_label_value(out, service);
			fputc('"', out);
		}
		if (lk)
			fprintf(out, "%s%s=\"%s\"", service ? "," : "", lk, lv);
		fputc('}', out);
	}
	fprintf(out, " %s\n", fmt_val);
}

/* What sampling decided: with the probability, the counts let a dashboard scale
 * sampled trace counts back and see what the tail rules rescued. */

/* One self-metric counter or gauge line with an integer value. */
static void self_count(FILE *out, const char *name, const char *service, const char *lk,
		       const char *lv, uint64_t n)
{
	char v[32];

	snprintf(v, sizeof(v), "%" PRIu64, n);
	self_line(out, name, service, lk, lv, v);
}

/* Exits without entry that are not losses: calls cut by the attach or the detach
 * (bpf/edges.bpf.h); ttatrace_drops_total{reason="exit_no_entry"} keeps the rest. */
static void render_edges(FILE *out, const struct tt_kstats *ks, const char *service)
{
	family(out, "ttatrace_edge_exits_total", "counter",
	       "Calls cut by the tracing interval: they returned without an entry because they "
	       "entered while probes were being attached or detached (not losses).");
	self_count(out, "ttatrace_edge_exits_total", service, "edge", "attach", ks->exit_attach_edge);
	self_count(out, "ttatrace_edge_exits_total", service, "edge", "detach", ks->exit_detach_edge);
}

static void render_sampling(FILE *out, const struct self_stats *ss, const char *service)
{
	static const char *const decisions[] = { "head", "error", "slow", "dropped" };
	const uint64_t counts[] = { ss->sampled_head, ss->kept_error, ss->kept_slow, ss->dropped };
	char v[64];
	size_t i;

	family(out, "ttatrace_sampling_probability", "gauge",
	       "Overall effective head-sampling probability (expected picked / started traces).");
	snprintf(v, sizeof(v), "%.9g", ss->sampling_probability);
	self_line(out, "ttatrace_sampling_probability", service, NULL, NULL, v);
	family(out, "ttatrace_sampling_roots_total", "counter",
	       "Traces started: head-sampling decisions taken in the kernel.");
	self_count(out, "ttatrace_sampling_roots_total", service, NULL, NULL, ss->sampling_roots);
	family(out, "ttatrace_sampling_traces_total", "counter",
	       "Sampling decisions by outcome: picked by head sampling, or unpicked and kept "
	       "by a tail rule (error, slow), or dropped.");
	for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
		self_count(out, "ttatrace_sampling_traces_total", service, "decision", decisions[i],
			   counts[i]);
	family(out, "ttatrace_tail_held_spans_total", "counter",
	       "Spans of unpicked traces held in a kernel buffer until the tail rules decided.");
	self_count(out, "ttatrace_tail_held_spans_total", service, NULL, NULL, ss->tail_held_spans);
	family(out, "ttatrace_tail_overflow_traces_total", "counter",
	       "Unpicked traces that outgrew their kernel buffer and were streamed to userspace.");
	self_count(out, "ttatrace_tail_overflow_traces_total", service, NULL, NULL,
		   ss->tail_overflow_traces);
}

/* Processes followed and (agent) selected: a bounded set of series, no pid label. */
static void render_procs(FILE *out, const struct self_stats *ss, const char *service)
{
	family(out, "ttatrace_processes_traced", "gauge", "Processes traced now.");
	self_count(out, "ttatrace_processes_traced", service, NULL, NULL, ss->procs_traced);
	family(out, "ttatrace_processes_followed_total", "counter",
	       "Processes traced because a traced process forked them.");
	self_count(out, "ttatrace_processes_followed_total", service, NULL, NULL, ss->procs_followed);
	family(out, "ttatrace_processes_not_followed_total", "counter",
	       "Forked processes not (or no longer) traced, by reason.");
	self_count(out, "ttatrace_processes_not_followed_total", service, "reason", "exec_other",
		   ss->procs_exec_other);
	self_count(out, "ttatrace_processes_not_followed_total", service, "reason", "limit",
		   ss->procs_over_limit);
	family(out, "ttatrace_untraced_probe_hits_total", "counter",
	       "Probe hits by processes that are not traced but run a probed program (their cost).");
	self_count(out, "ttatrace_untraced_probe_hits_total", service, NULL, NULL, ss->untraced_hits);
	if (!ss->is_agent)
		return;
	family(out, "ttatrace_agent_processes_matched_total", "counter",
	       "Processes the catalogue's targets selected.");
	self_count(out, "ttatrace_agent_processes_matched_total", service, NULL, NULL, ss->agent_matched);
	family(out, "ttatrace_agent_attach_failures_total", "counter",
	       "Selected processes whose probes could not be attached.");
	self_count(out, "ttatrace_agent_attach_failures_total", service, NULL, NULL, ss->attach_failures);
	family(out, "ttatrace_agent_probed_programs", "gauge",
	       "Program files probed for every process that runs them.");
	self_count(out, "ttatrace_agent_probed_programs", service, NULL, NULL, ss->probed_programs);
	if (!ss->python)
		return;
	family(out, "ttatrace_python_processes_total", "counter",
	       "Python processes traced (attached, or forked by one).");
	self_count(out, "ttatrace_python_processes_total", service, NULL, NULL, ss->py_procs);
	family(out, "ttatrace_python_processes_not_prepared_total", "counter",
	       "Selected Python processes started without the ttatrace bootstrap (nothing armed).");
	self_count(out, "ttatrace_python_processes_not_prepared_total", service, NULL, NULL,
		   ss->py_not_prepared);
	family(out, "ttatrace_python_spans_dropped_at_exit_total", "counter",
	       "Python primitives still running when their process exited.");
	self_count(out, "ttatrace_python_spans_dropped_at_exit_total", service, NULL, NULL,
		   ss->py_open_at_exit);
}

/* The governor: its actions, the probes' estimated cost, the costliest probes (at
 * most GOV_TOP_N series: a broad glob must not make a thousand). */
static void render_governor(FILE *out, const struct governor_stats *g, const char *service)
{
	char v[64];
	size_t i;

	family(out, "ttatrace_governor_probes_total", "counter",
	       "Probes the governor acted on, by action: muted (over --max-rate-per-probe), "
	       "detached by rate (--max-rate-hard) or by cost (--max-overhead), or whose "
	       "detach failed.");
	self_count(out, "ttatrace_governor_probes_total", service, "action", "muted", g->muted);
	self_count(out, "ttatrace_governor_probes_total", service, "action", "detached_rate",
		   g->detached_rate);
	self_count(out, "ttatrace_governor_probes_total", service, "action", "detached_cost",
		   g->detached_cost);
	self_count(out, "ttatrace_governor_probes_total", service, "action", "detach_failed",
		   g->detach_failed);
	family(out, "ttatrace_probe_cost_seconds_total", "counter",
	       "CPU time the probes cost the traced processes (calls x the cost of their "
	       "instruction class, an estimate).");
	snprintf(v, sizeof(v), "%.6f", g->cost_s);
	self_line(out, "ttatrace_probe_cost_seconds_total", service, NULL, NULL, v);
	family(out, "ttatrace_probe_overhead_ratio", "gauge",
	       "The probes' estimated cost over the traced processes' own CPU time in the "
	       "governor's last interval, with --max-overhead (0.05: 5% slower).");
	snprintf(v, sizeof(v), "%.6f", g->overhead);
	self_line(out, "ttatrace_probe_overhead_ratio", service, NULL, NULL, v);
	if (!g->n_top)
		return;
	family(out, "ttatrace_probe_top_cost_seconds_total", "counter",
	       "Estimated CPU time cost of the costliest probes (at most 10), by probe and "
	       "state (attached or detached).");
	for (i = 0; i < g->n_top; i++) {
		fputs("ttatrace_probe_top_cost_seconds_total{", out);
		if (service) {
			fputs("service=\"", out);
			put_label_value(out, service);
			fputs("\",", out);
		}
		fputs("probe=\"", out);
		put_label_value(out, g->top[i].label);
		fprintf(out, "\",state=\"%s\"} %.6f\n", g->top[i].detached ? "detached" : "attached",
			g->top[i].cost_s);
	}
}

/* Self-metrics of the collector: what it read, how late, what sampling decided,
 * what the exporter lost. */
static void render_self(FILE *out, const struct metrics_source *src, const char *service)
{
	struct self_stats ss = {};
	char v[64];

	if (!src->read_self || src->read_self(src->self_ctx, &ss))
		return;
	family(out, "ttatrace_records_total", "counter", "Span records read from the ring buffer.");
	self_count(out, "ttatrace_records_total", service, NULL, NULL, ss.records);
	family(out, "ttatrace_records_malformed_total", "counter",
	       "Ring buffer records that could not be decoded.");
	self_count(out, "ttatrace_records_malformed_total", service, NULL, NULL, ss.malformed);
	family(out, "ttatrace_traces_total", "counter",
	       "Traces handed to the outputs; incomplete ones never saw their root finish.");
	self_count(out, "ttatrace_traces_total", service, "state", "complete", ss.traces_complete);
	self_count(out, "ttatrace_traces_total", service, "state", "incomplete", ss.traces_incomplete);
	family(out, "ttatrace_pending_spans", "gauge", "Spans waiting for their trace's root.");
	self_count(out, "ttatrace_pending_spans", service, NULL, NULL, ss.pending_spans);
	family(out, "ttatrace_ringbuf_lag_seconds", "gauge",
	       "Age of the newest span record when the collector read it.");
	snprintf(v, sizeof(v), "%.6f", ss.ringbuf_lag_s);
	self_line(out, "ttatrace_ringbuf_lag_seconds", service, NULL, NULL, v);
	if (ss.have_sampling)
		render_sampling(out, &ss, service);
	if (ss.have_procs)
		render_procs(out, &ss, service);
	if (ss.have_governor)
		render_governor(out, &ss.gov, service);
	if (!ss.have_export)
		return;
	family(out, "ttatrace_export_spans_total", "counter", "Spans the OTLP collector accepted.");
	self_count(out, "ttatrace_export_spans_total", service, NULL, NULL, ss.export_spans);
	family(out, "ttatrace_export_failures_total", "counter", "OTLP export requests that failed.");
	self_count(out, "ttatrace_export_failures_total", service, NULL, NULL, ss.export_failures);
	family(out, "ttatrace_export_dropped_spans_total", "counter",
	       "Spans the OTLP exporter gave up on, by reason.");
	self_count(out, "ttatrace_export_dropped_spans_total", service, "reason", "queue_full",
		   ss.export_dropped_queue);
	self_count(out, "ttatrace_export_dropped_spans_total", service, "reason", "retries_exhausted",
		   ss.export_dropped_retries);
	self_count(out, "ttatrace_export_dropped_spans_total", service, "reason", "rejected",
		   ss.export_dropped_rejected);
}

int metrics__render(const struct metrics_source *src, const char *service, FILE *out)
{
	struct group *groups = NULL;
	struct tt_kstats ks;
	uint64_t spans = 0;
	size_t ng = 0, j;
	uint32_t i;
	char sec[48];
	int err;

	err = collect(src, &groups, &ng);
	if (err)
		return err;

	family(out, "ttatrace_primitive_duration_seconds", "histogram",
	       "Duration of traced primitive calls, measured in the kernel (every paired call).");
	for (j = 0; j < ng; j++) {
		const struct group *g = &groups[j];

		for (i = 0; i < TT_PROM_N_LE; i++) {
			metrics__fmt_seconds(metrics__le_ns(i), sec, sizeof(sec));
			fputs("ttatrace_primitive_duration_seconds_bucket", out);
			put_labels(out, g, service, sec);
			fprintf(out, " %" PRIu64 "\n", hist__count_below(&g->h, metrics__le_ns(i)));
		}
		fputs("ttatrace_primitive_duration_seconds_bucket", out);
		put_labels(out, g, service, "+Inf");
		fprintf(out, " %" PRIu64 "\n", g->h.calls);
		metrics__fmt_seconds(g->h.sum_ns, sec, sizeof(sec));
		fputs("ttatrace_primitive_duration_seconds_sum", out);
		put_labels(out, g, service, NULL);
		fprintf(out, " %s\n", sec);
		fputs("ttatrace_primitive_duration_seconds_count", out);
		put_labels(out, g, service, NULL);
		fprintf(out, " %" PRIu64 "\n", g->h.calls);
	}

	family(out, "ttatrace_primitive_calls_total", "counter",
	       "Calls of the primitive that returned while traced.");
	for (j = 0; j < ng; j++) {
		fputs("ttatrace_primitive_calls_total", out);
		put_labels(out, &groups[j], service, NULL);
		fprintf(out, " %" PRIu64 "\n", groups[j].h.calls);
		spans += groups[j].h.calls;
	}
	family(out, "ttatrace_primitive_errors_total", "counter",
	       "Calls of the primitive whose return value, as a 32-bit int, was negative.");
	for (j = 0; j < ng; j++) {
		fputs("ttatrace_primitive_errors_total", out);
		put_labels(out, &groups[j], service, NULL);
		fprintf(out, " %" PRIu64 "\n", groups[j].h.errors);
	}
	family(out, "ttatrace_primitive_inflight", "gauge",
	       "Calls of the primitive entered and not yet returned.");
	for (j = 0; j < ng; j++) {
		fputs("ttatrace_primitive_inflight", out);
		put_labels(out, &groups[j], service, NULL);
		/* frames abandoned by longjmp never return: never report below zero */
		fprintf(out, " %" PRId64 "\n", groups[j].h.inflight > 0 ? groups[j].h.inflight : 0);
	}

	render_slos(out, groups, ng, service);

	family(out, "ttatrace_spans_total", "counter",
	       "Spans finished in the kernel (paired calls of every traced function).");
	fputs("ttatrace_spans_total", out);
	put_labels(out, NULL, service, NULL);
	fprintf(out, " %" PRIu64 "\n", spans);

	if (src->read_kstats && !src->read_kstats(src->ctx, &ks)) {
		static const char *const reasons[] = { "rb_reserve_fail", "stack_overflow",
						       "exit_no_entry", "unwound", "storage_fail" };
		const uint64_t vals[] = { ks.rb_reserve_fail, ks.stack_overflow, ks.exit_no_entry,
					  ks.unwound, ks.storage_fail };

		family(out, "ttatrace_drops_total", "counter",
		       "Spans or frames the kernel could not record, by reason.");
		for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
			fputs("ttatrace_drops_total{", out);
			if (service) {
				fputs("service=\"", out);
				put_label_value(out, service);
				fputs("\",", out);
			}
			fprintf(out, "reason=\"%s\"} %" PRIu64 "\n", reasons[i], vals[i]);
		}
		render_edges(out, &ks, service);
	}
	render_self(out, src, service);
	free(groups);
	return ferror(out) ? -EIO : 0;
}

int metrics__render_buf(const struct metrics_source *src, const char *service, char **buf,
			size_t *len)
{
	FILE *f;
	int err;

	*buf = NULL;
	*len = 0;
	f = open_memstream(buf, len);
	if (!f)
		return -errno;
	err = metrics__render(src, service, f);
	if (fclose(f) && !err)
		err = -EIO;
	if (err) {
		free(*buf);
		*buf = NULL;
		*len = 0;
	}
	return err;
}
