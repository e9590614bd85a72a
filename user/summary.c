/* Exit summary. Per-function lines aggregate every process that mapped the same
 * binary:symbol. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"
#include "metrics.h"
#include "outputs.h"
#include "probes.h"
#include "summary.h"

static int sum_trace(struct tt_sink *s, const struct tt_trace *t)
{
	struct probe_table *pt = s->ctx;
	size_t i;

	for (i = 0; i < t->n_spans; i++) {
		const struct tt_span *sp = t->spans[i];
		struct tt_probe *p = probe_table__get(pt, sp->probe_id);
		uint64_t d = tt_span__duration_ns(sp);

		if (!p)
			continue;
		p->count++;
		p->sum_ns += d;
		if (d > p->max_ns)
			p->max_ns = d;
	}
	return 0;
}

static int sum_close(struct tt_sink *s)
{
	free(s);
	return 0;
}

struct tt_sink *summary_sink__new(struct probe_table *pt)
{
	struct tt_sink *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->name = "summary";
	s->trace = sum_trace;
	s->close = sum_close;
	s->ctx = pt;
	return s;
}

struct row {
	const char *label;
	uint64_t count, sum_ns, max_ns;
};

static int cmp_row(const void *a, const void *b)
{
	return strcmp(((const struct row *)a)->label, ((const struct row *)b)->label);
}

uint64_t summary__drops(const struct tt_kstats *ks, const struct assembler_stats *as)
{
	return ks->rb_reserve_fail + ks->stack_overflow + ks->exit_no_entry + ks->unwound +
	       ks->storage_fail + as->bad_records;
}

struct hrow {
	const char *label;
	struct hist_snapshot h;
};

static int cmp_hrow(const void *a, const void *b)
{
	return strcmp(((const struct hrow *)a)->label, ((const struct hrow *)b)->label);
}

/* Per-function lines from the kernel histograms: they count every call, even the
 * spans the ring buffer lost. Nonzero (nothing printed) when a probe has none. */
static int print_hist_rows(FILE *f, struct probe_table *pt, const struct metrics_source *src,
			   double elapsed_s)
{
	uint32_t n = probe_table__count(pt), i;
	struct hrow *rows = calloc(n ? n : 1, sizeof(*rows));
	struct hist_snapshot *snap = malloc(sizeof(*snap));
	char p50[32], p95[32], p99[32], max[32], rate[32];
	size_t nr = 0, j;
	int err = 0;

	if (!rows || !snap) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct tt_probe *p = probe_table__get(pt, i);

		if (!p)
			continue;
		memset(snap, 0, sizeof(*snap));
		if (src->read_probe(src->ctx, i, snap)) {
			/* a probe past the map's size: a partial table would mislead */
			err = -ENOENT;
			goto out;
		}
		for (j = 0; j < nr; j++)
			if (!strcmp(rows[j].label, p->label))
				break;
		if (j == nr)
			rows[nr++].label = p->label;
		hist__add(&rows[j].h, snap);
	}
	if (!nr) {
		err = -ENOENT;
		goto out;
	}
	qsort(rows, nr, sizeof(*rows), cmp_hrow);
	fprintf(f, "%-40s %10s %10s %7s %10s %10s %10s %10s\n", "function", "count", "calls/s",
		"errors", "p50", "p95", "p99", "max");
	for (j = 0; j < nr; j++) {
		const struct hist_snapshot *h = &rows[j].h;

		if (!h->calls)
			continue;
		snprintf(rate, sizeof(rate), "%.1f", elapsed_s > 0 ? h->calls / elapsed_s : 0.0);
		fprintf(f, "%-40s %10" PRIu64 " %10s %6.2f%% %10s %10s %10s %10s\n", rows[j].label,
			h->calls, rate, 100.0 * h->errors / h->calls,
			fmt_duration(hist__percentile_ns(h, 0.50), p50, sizeof(p50)),
			fmt_duration(hist__percentile_ns(h, 0.95), p95, sizeof(p95)),
			fmt_duration(hist__percentile_ns(h, 0.99), p99, sizeof(p99)),
			fmt_duration(h->max_ns, max, sizeof(max)));
	}
out:
	free(snap);
	free(rows);
	return err;
}

void summary__print(FILE *f, struct probe_table *pt, const struct tt_kstats *ks,
		    const struct assembler_stats *as, const struct run_totals *rt)
{
	uint32_t n = probe_table__count(pt), i;
	struct row *rows = calloc(n ? n : 1, sizeof(*rows));
	size_t nr = 0, j;
	char mean[32], max[32];

	fprintf(f, "\nttatrace: %.1f s, %zu probes attached%s", rt->elapsed_s, rt->probes_attached,
		rt->probes_failed ? "" : "\n");
	if (rt->probes_failed)
		fprintf(f, " (%zu could not be attached)\n", rt->probes_failed);
	fprintf(f, "ttatrace: spans: %" PRIu64 " seen, %" PRIu64 " printed; traces: %" PRIu64
		   " (%" PRIu64 " incomplete)%s",
		as->records, rt->sink_spans_printed, as->traces, as->traces_incomplete,
		as->traces_late ? "" : "\n");
	if (as->traces_late)
		fprintf(f, ", and %" PRIu64 " groups of spans that finished after their trace's root\n",
			as->traces_late);
	fprintf(f,
		"ttatrace: drops: ring buffer full %llu, stack deeper than --max-depth %llu"
		", exits without entry %llu, frames unwound without exit %llu"
		", no thread storage %llu, malformed records %" PRIu64 "\n",
		ks->rb_reserve_fail, ks->stack_overflow, ks->exit_no_entry, ks->unwound, ks->storage_fail,
		as->bad_records);
	if (ks->exit_attach_edge || ks->exit_detach_edge)
		fprintf(f,
			"ttatrace: edges: %llu calls cut by the attach, %llu by the detach (they "
			"entered before their entry probe was in or after it was out: not losses)\n",
			ks->exit_attach_edge, ks->exit_detach_edge);
	if (ks->entries)
		fprintf(f, "ttatrace: ring buffer: %" PRIu64 " bytes read, %.1f bytes per traced call\n",
			as->ring_bytes, (double)as->ring_bytes / ks->entries);
	if (ks->threads_inherited || ks->ctx_joined || ks->cap_read_fail || as->invalid_traceparents)
		fprintf(f,
			"ttatrace: across threads: %llu threads continued the span that created them, "
			"%llu spans joined by context key; capture reads failed %llu; invalid "
			"traceparents ignored %" PRIu64 "\n",
			ks->threads_inherited, ks->ctx_joined, ks->cap_read_fail, as->invalid_traceparents);
	if (rt->hist && !print_hist_rows(f, pt, rt->hist, rt->elapsed_s)) {
		free(rows);
		return;
	}
	if (!rows)
		return;
	for (i = 0; i < n; i++) {
		struct tt_probe *p = probe_table__get(pt, i);

		if (!p)
			continue;
		for (j = 0; j < nr; j++)
			if (!strcmp(rows[j].label, p->label))
				break;
		if (j == nr) {
			rows[nr].label = p->label;
			nr++;
		}
		rows[j].count += p->count;
		rows[j].sum_ns += p->sum_ns;
		if (p->max_ns > rows[j].max_ns)
			rows[j].max_ns = p->max_ns;
	}
	qsort(rows, nr, sizeof(*rows), cmp_row);
	fprintf(f, "%-48s %10s %12s %12s\n", "function", "count", "mean", "max");
	for (j = 0; j < nr; j++) {
		if (!rows[j].count)
			continue;
		fprintf(f, "%-48s %10" PRIu64 " %12s %12s\n", rows[j].label, rows[j].count,
			fmt_duration(rows[j].sum_ns / rows[j].count, mean, sizeof(mean)),
			fmt_duration(rows[j].max_ns, max, sizeof(max)));
	}
	free(rows);
}
