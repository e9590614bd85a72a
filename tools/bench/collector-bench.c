/* Collector throughput without the kernel: replays a recorded-like stream of span
 * records (generated once, deterministic) through a fresh assembler per output
 * (none, tree, jsonl, folded, OTLP/JSON, OTLP protobuf) and prints spans/s of CPU
 * time on one core and the peak RSS of each run, which runs in its own child. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "assembler.h"
#include "folded.h"
#include "otlp.h"
#include "otlp_json.h"
#include "outputs.h"
#include "probes.h"
#include "ttatrace.h"

#define DEFAULT_SPANS 1000000UL
#define DEFAULT_REPS 3
#define MAX_SPANS 100000000UL
#define MAX_REPS 101
#define N_THREADS 4 /* traced threads whose traces interleave in the stream */
#define N_PROBES 30
/* largest trace the generator makes: root, 10 steps, 3 children each, 2 below each */
#define MAX_TRACE_SPANS (1 + 10 * (1 + 3 * (1 + 2)))
#define BENCH_PID 4242
#define SEED 0x7474617472616365ULL /* "ttatrace" */

static const char *const probe_syms[N_PROBES] = {
	/* depth 0 */
	"tta_workflow_run",
	/* depth 1 */
	"tta_sequential", "tta_parallel", "tta_retry", "tta_saga", "tta_router", "tta_cache_get",
	"tta_timeout", "tta_conditional", "tta_fallback",
	/* depth 2 */
	"tta_step_validate", "tta_parallel_branch", "tta_retry_attempt", "tta_saga_reserve",
	"tta_saga_charge", "tta_route_fast", "tta_cache_load", "tta_slow_operation",
	"tta_branch_even", "tta_primary_service",
	/* depth 3 */
	"tta_task", "tta_step_finalize", "tta_saga_ship", "tta_route_standard", "tta_route_bulk",
	"tta_branch_odd", "tta_fallback_service", "tta_pool_task", "tta_saga_compensate_charge",
	"tta_context",
};

/* --- deterministic stream --------------------------------------------------------- */

struct rng {
	uint64_t s;
};

/* splitmix64: tiny, fast, and the same sequence everywhere */
static uint64_t rng__next(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rng__below(struct rng *r, uint64_t n)
{
	return rng__next(r) % n;
}

/* log-uniform in [lo, hi): leaf durations spread over orders of magnitude, as real
 * steps do (a cache hit vs. a remote call) */
static uint64_t rng__log_uniform(struct rng *r, uint64_t lo, uint64_t hi)
{
	double u = (double)(rng__next(r) >> 11) / (double)(1ULL << 53);
	double v = (double)lo * exp(u * log((double)hi / (double)lo));

	return (uint64_t)v;
}

struct thread_gen {
	uint32_t tid;
	uint64_t clock_ns; /* when this thread's next trace may start */
	struct tt_span_rec q[MAX_TRACE_SPANS]; /* the current trace, in emission order */
	size_t n, pos;
};

/* Appends one span and (first) its descendants in the order the kernel emits them:
 * a record when the function returns, so children before their parent. */
static uint64_t gen_span(struct thread_gen *tg, struct rng *r, unsigned int depth,
			 uint64_t parent_id, uint64_t trace_key, uint64_t start_ns)
{
	static const unsigned int kids_lo[4] = { 6, 0, 0, 0 }, kids_n[4] = { 5, 4, 3, 1 };
	struct tt_span_rec rec = {};
	uint64_t id, cursor, end_ns;
	unsigned int i, kids;

	do
		id = depth ? rng__next(r) : trace_key;
	while (!id);
	kids = kids_lo[depth] + (unsigned int)rng__below(r, kids_n[depth]);
	cursor = start_ns + 300 + rng__below(r, 4000);
	for (i = 0; i < kids; i++)
		cursor = gen_span(tg, r, depth + 1, id, trace_key, cursor) + 200 +
			 rng__below(r, 20000);
	if (!kids)
		cursor += rng__log_uniform(r, 2000, 2000000); /* 2 us .. 2 ms */
	end_ns = cursor + 200 + rng__below(r, 3000);

	rec.type = TT_REC_SPAN;
	rec.probe_id = depth == 0 ? 0 :
		       depth == 1 ? 1 + (uint32_t)rng__below(r, 9) :
		       depth == 2 ? 10 + (uint32_t)rng__below(r, 10) :
				    20 + (uint32_t)rng__below(r, 10);
	rec.span_id = id;
	rec.parent_span_id = parent_id;
	rec.trace_key = trace_key;
	rec.start_ns = start_ns;
	rec.end_ns = end_ns;
	rec.ret = rng__below(r, 100) < 3 ? (int64_t)(uint32_t)-5 : 0; /* a few -EIO */
	rec.pid = BENCH_PID;
	rec.tid = tg->tid;
	rec.depth = (uint16_t)depth;
	rec.flags = depth ? 0 : TT_SPAN_ROOT;
	tg->q[tg->n++] = rec;
	return end_ns;
}

static void gen_trace(struct thread_gen *tg, struct rng *r)
{
	uint64_t key, end_ns;

	do
		key = rng__next(r);
	while (!key);
	tg->n = tg->pos = 0;
	end_ns = gen_span(tg, r, 0, 0, key, tg->clock_ns);
	tg->clock_ns = end_ns + 10000 + rng__below(r, 200000);
}

/* At least `want` records, whole traces only, from N_THREADS threads merged by end
 * time as one ring buffer would carry them. NULL + errno on failure. */
static struct tt_span_rec *gen_stream(size_t want, size_t *n_out, size_t *traces_out)
{
	struct thread_gen *tg = calloc(N_THREADS, sizeof(*tg));
	size_t cap = want + N_THREADS * MAX_TRACE_SPANS, n = 0, queued = 0, traces = 0;
	struct tt_span_rec *recs = malloc(cap * sizeof(*recs));
	struct rng r = { SEED };
	int i;

	if (!tg || !recs) {
		free(tg);
		free(recs);
		errno = ENOMEM;
		return NULL;
	}
	for (i = 0; i < N_THREADS; i++) {
		tg[i].tid = BENCH_PID + 1 + (uint32_t)i;
		tg[i].clock_ns = 1000000000ULL + rng__below(&r, 1000000);
		gen_trace(&tg[i], &r);
		queued += tg[i].n;
		traces++;
	}
	for (;;) {
		struct thread_gen *best = NULL;

		for (i = 0; i < N_THREADS; i++) {
			struct thread_gen *t = &tg[i];

			if (t->pos == t->n && queued < want) {
				gen_trace(t, &r);
				queued += t->n;
				traces++;
			}
			if (t->pos < t->n &&
			    (!best || t->q[t->pos].end_ns < best->q[best->pos].end_ns))
				best = t;
		}
		if (!best)
			break;
		recs[n++] = best->q[best->pos++];
	}
	free(tg);
	*n_out = n;
	*traces_out = traces;
	return recs;
}

/* --- the OTLP protobuf output, encoded and packed but not sent ---------------------- */

struct pb_sink {
	struct tt_sink sink;
	struct otlp_config cfg;
	uint64_t bytes;
};

static int pb_sink_trace(struct tt_sink *sink, const struct tt_trace *t)
{
	struct pb_sink *ps = sink->ctx;
	struct otlp_spans *spans = NULL;
	struct otlp_request *req = NULL;
	struct otlp_slice slice;
	uint8_t *buf = NULL;
	size_t len = 0;
	int err = 0;

	spans = otlp_spans__new(t);
	if (!spans) {
		err = -errno;
		goto cleanup;
	}
	slice = (struct otlp_slice){ .spans = spans, .off = 0, .n = otlp_spans__count(spans) };
	req = otlp_request__new(&ps->cfg, &slice, 1);
	if (!req) {
		err = -errno;
		goto cleanup;
	}
	err = otlp_request__pack(req, &buf, &len);
	if (!err)
		ps->bytes += len;
cleanup:
	free(buf);
	otlp_request__free(req);
	otlp_spans__free(spans);
	return err;
}

static int pb_sink_close(struct tt_sink *sink)
{
	struct pb_sink *ps;

	if (!sink)
		return 0;
	ps = sink->ctx;
	otlp_config__cleanup(&ps->cfg);
	free(ps);
	return 0;
}

static struct tt_sink *pb_sink__new(const struct otlp_config *cfg)
{
	struct pb_sink *ps = calloc(1, sizeof(*ps));
	int err;

	if (!ps)
		return NULL;
	err = otlp_config__copy(&ps->cfg, cfg);
	if (err) {
		free(ps);
		errno = -err;
		return NULL;
	}
	ps->sink = (struct tt_sink){ .name = "otlp-pb", .trace = pb_sink_trace,
				     .close = pb_sink_close, .ctx = ps };
	return &ps->sink;
}

/* --- /dev/null, counted ------------------------------------------------------------ */

/* Text outputs write to /dev/null through this stream, which makes the same write()
 * calls a plain fopen("/dev/null") would and counts the bytes (ftell on /dev/null
 * is always 0). */
struct null_out {
	int fd;
	uint64_t bytes;
};

static ssize_t null_out_write(void *cookie, const char *buf, size_t size)
{
	struct null_out *no = cookie;
	ssize_t n = write(no->fd, buf, size);

	if (n > 0)
		no->bytes += (uint64_t)n;
	return n;
}

static int null_out_close(void *cookie)
{
	return close(((struct null_out *)cookie)->fd);
}

static FILE *null_out__open(struct null_out *no)
{
	cookie_io_functions_t io = { .write = null_out_write, .close = null_out_close };
	FILE *f;

	no->bytes = 0;
	no->fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (no->fd < 0)
		return NULL;
	f = fopencookie(no, "w", io);
	if (!f) {
		close(no->fd);
		return NULL;
	}
	/* the buffer glibc gives fopen("/dev/null") (its st_blksize) */
	setvbuf(f, NULL, _IOFBF, 4096);
	return f;
}

/* --- one run ----------------------------------------------------------------------- */

enum bench_sink { SINK_NONE, SINK_TREE, SINK_JSONL, SINK_FOLDED, SINK_OTLP_JSON, SINK_OTLP_PB, SINK_CNT };
static const char *const sink_names[SINK_CNT] = { "none", "tree", "jsonl", "folded", "otlp-json",
						  "otlp-pb" };

struct bench_env {
	const struct tt_span_rec *recs;
	size_t n_recs;
	struct probe_table *pt;
	struct tt_process proc;
	struct otlp_config ocfg;
};

/* what a child reports back through its pipe */
struct run_result {
	int err; /* 0 or a negative errno */
	double cpu_s;
	long base_rss_kib; /* resident before the replay: the stream and the program */
	uint64_t spans, traces, incomplete, sink_errors, out_bytes;
};

static const struct tt_probe *lookup_probe(void *ctx, uint32_t id)
{
	return probe_table__get(((struct bench_env *)ctx)->pt, id);
}

static const struct tt_process *lookup_process(void *ctx, uint32_t pid)
{
	struct bench_env *env = ctx;

	return pid == env->proc.pid ? &env->proc : NULL;
}

static double cpu_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_now_kib(void)
{
	long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return 0;
	if (fscanf(f, "%ld %ld", &size, &resident) != 2)
		resident = 0;
	fclose(f);
	return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* The measured part: building the sink, every record, the flush at exit, and the
 * close (folded writes its aggregate there). */
static void replay(struct bench_env *env, enum bench_sink which, struct run_result *res)
{
	struct assembler_opts ao = {};
	struct assembler_stats st;
	struct assembler *a = NULL;
	struct folded *fo = NULL;
	struct tt_sink *sink = NULL;
	struct null_out no = { .fd = -1 };
	FILE *out = NULL;
	double t0;
	size_t i;
	int err = 0;

	res->base_rss_kib = rss_now_kib();
	t0 = cpu_now_s();
	if (which == SINK_TREE || which == SINK_JSONL || which == SINK_OTLP_JSON ||
	    which == SINK_FOLDED) {
		out = null_out__open(&no);
		if (!out) {
			err = -errno;
			goto cleanup;
		}
	}
	switch (which) {
	case SINK_TREE:
		sink = tree_sink__new(out);
		break;
	case SINK_JSONL:
		sink = jsonl_sink__new(out);
		break;
	case SINK_FOLDED:
		fo = folded__new(NULL, false);
		sink = fo ? folded_sink__new(fo) : NULL;
		break;
	case SINK_OTLP_JSON:
		sink = otlp_json_sink__new(out, &env->ocfg);
		break;
	case SINK_OTLP_PB:
		sink = pb_sink__new(&env->ocfg);
		break;
	default:
		break;
	}
	if (which != SINK_NONE && !sink) {
		err = -errno;
		goto cleanup;
	}
	ao.probe = lookup_probe;
	ao.process = lookup_process;
	ao.ctx = env;
	ao.sinks = &sink;
	ao.n_sinks = sink ? 1 : 0;
	ao.max_pending_spans = 4u << 20; /* as main.c sets it */
	a = assembler__new(&ao);
	if (!a) {
		err = -errno;
		goto cleanup;
	}
	assembler__set_clock(a, 1700000000000000000LL);
	for (i = 0; i < env->n_recs; i++) {
		err = assembler__add(a, &env->recs[i], sizeof(env->recs[i]));
		if (err)
			goto cleanup;
	}
	err = assembler__flush(a);
	if (err)
		goto cleanup;
	if (which == SINK_OTLP_PB)
		res->out_bytes = ((struct pb_sink *)sink->ctx)->bytes;
	err = tt_sink__close(sink);
	sink = NULL;
	if (!err && fo)
		err = folded__write(fo, out);
	if (!err && out && fflush(out))
		err = -errno;
	if (!err && out)
		res->out_bytes = no.bytes;
cleanup:
	if (a) {
		assembler__stats(a, &st);
		res->spans = st.spans;
		res->traces = st.traces;
		res->incomplete = st.traces_incomplete;
		res->sink_errors = st.sink_errors;
	}
	assembler__free(a);
	tt_sink__close(sink);
	folded__free(fo);
	if (out)
		fclose(out);
	res->cpu_s = cpu_now_s() - t0;
	res->err = err;
}

/* Runs one replay in a child, so every run starts from the same heap and its peak
 * RSS is its own. 0 or a negative errno. */
static int run_child(struct bench_env *env, enum bench_sink which, struct run_result *res,
		     long *maxrss_kib)
{
	struct rusage ru = {};
	int fds[2], status = 0;
	ssize_t got;
	pid_t pid;

	if (pipe(fds))
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -errno;
	}
	if (pid == 0) {
		struct run_result r = {};

		close(fds[0]);
		replay(env, which, &r);
		_exit(write(fds[1], &r, sizeof(r)) == sizeof(r) ? 0 : 1);
	}
	close(fds[1]);
	got = read(fds[0], res, sizeof(*res));
	close(fds[0]);
	if (wait4(pid, &status, 0, &ru) < 0)
		return -errno;
	if (got != sizeof(*res) || !WIFEXITED(status) || WEXITSTATUS(status))
		return -ECHILD;
	*maxrss_kib = ru.ru_maxrss;
	return res->err;
}

/* --- main -------------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return x < y ? -1 : x > y;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: collector-bench [--spans N] [--reps N] [--cpu N]\n"
		"Replays a generated stream of span records through the collector (no kernel)\n"
		"once per output and prints spans/s of CPU time on one core and peak RSS.\n\n"
		"  --spans N   records in the stream (default %lu)\n"
		"  --reps N    runs per output; the median is reported (default %d)\n"
		"  --cpu N     the core to pin to (default: the one it starts on)\n\n"
		"Examples:\n"
		"  collector-bench\n"
		"  collector-bench --spans 100000 --reps 5 --cpu 1\n",
		DEFAULT_SPANS, DEFAULT_REPS);
}

static int parse_ul(const char *opt, const char *s, unsigned long min, unsigned long max,
		    unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > max) {
		fprintf(stderr, "collector-bench: %s %s: not a number in [%lu, %lu] (see --help)\n",
			opt, s, min, max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "spans", required_argument, NULL, 's' }, { "reps", required_argument, NULL, 'r' },
		{ "cpu", required_argument, NULL, 'c' },   { "help", no_argument, NULL, 'h' },
		{},
	};
	unsigned long want = DEFAULT_SPANS, reps = DEFAULT_REPS, cpu;
	struct bench_env env = {};
	struct tt_span_rec *recs = NULL;
	size_t n_traces = 0;
	cpu_set_t set;
	int c, i, err, ret = 1;
	long stream_rss_kib;

	cpu = (unsigned long)sched_getcpu();
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (parse_ul("--spans", optarg, 1, MAX_SPANS, &want))
				return 2;
			break;
		case 'r':
			if (parse_ul("--reps", optarg, 1, MAX_REPS, &reps))
				return 2;
			break;
		case 'c':
			if (parse_ul("--cpu", optarg, 0, CPU_SETSIZE - 1, &cpu))
				return 2;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	/* one core, so spans/s is what one collector thread can do */
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		fprintf(stderr, "collector-bench: pinning to CPU %lu: %s (try --cpu)\n", cpu,
			strerror(errno));
		return 1;
	}

	recs = gen_stream(want, &env.n_recs, &n_traces);
	if (!recs) {
		fprintf(stderr, "collector-bench: generating the stream: %s\n", strerror(errno));
		return 1;
	}
	env.recs = recs;
	env.pt = probe_table__new();
	if (!env.pt)
		goto cleanup;
	for (i = 0; i < N_PROBES; i++)
		if (!probe_table__add(env.pt, BENCH_PID, "/usr/local/bin/workflow-demo",
				      probe_syms[i], 0x1000 + 0x40 * (uint64_t)i,
				      0x401000 + 0x40 * (uint64_t)i, false)) {
			fprintf(stderr, "collector-bench: adding probes: %s\n", strerror(errno));
			goto cleanup;
		}
	env.proc = (struct tt_process){ .pid = BENCH_PID,
					.exe_path = "/usr/local/bin/workflow-demo",
					.exe_name = "workflow-demo",
					.cmdline = "workflow-demo --workers 4" };
	err = otlp_config__init(&env.ocfg);
	if (err) {
		fprintf(stderr, "collector-bench: OTLP config: %s\n", strerror(-err));
		goto cleanup;
	}
	stream_rss_kib = rss_now_kib();

	printf("collector replay: %zu spans in %zu traces (%.1f spans/trace, %d probes, "
	       "%d interleaved threads)\n",
	       env.n_recs, n_traces, (double)env.n_recs / (double)n_traces, N_PROBES, N_THREADS);
	printf("stream: %.1f MiB (%zu B/record); RSS with it loaded: %.1f MiB; CPU %lu, "
	       "median of %lu runs\n",
	       (double)(env.n_recs * sizeof(*recs)) / 1048576.0, sizeof(*recs),
	       (double)stream_rss_kib / 1024.0, cpu, reps);
	printf("%-10s %12s %9s %8s %7s %10s %12s %11s\n", "output", "spans/s", "ns/span", "cpu s",
	       "spread", "peak MiB", "+replay MiB", "out B/span");
	for (c = 0; c < SINK_CNT; c++) {
		double cpu_s[MAX_REPS];
		long peak[MAX_REPS], above[MAX_REPS];
		struct run_result res = {};
		unsigned long k;

		for (k = 0; k < reps; k++) {
			long maxrss = 0;

			memset(&res, 0, sizeof(res));
			err = run_child(&env, (enum bench_sink)c, &res, &maxrss);
			if (err) {
				fprintf(stderr, "collector-bench: %s run: %s\n", sink_names[c],
					strerror(-err));
				goto cleanup;
			}
			if (res.spans != env.n_recs || res.traces != n_traces || res.incomplete ||
			    res.sink_errors) {
				fprintf(stderr,
					"collector-bench: %s run: %lu spans, %lu traces (%lu incomplete), "
					"%lu sink errors; expected %zu spans in %zu complete traces\n",
					sink_names[c], (unsigned long)res.spans,
					(unsigned long)res.traces, (unsigned long)res.incomplete,
					(unsigned long)res.sink_errors, env.n_recs, n_traces);
				goto cleanup;
			}
			cpu_s[k] = res.cpu_s;
			peak[k] = maxrss;
			above[k] = maxrss - res.base_rss_kib;
		}
		qsort(cpu_s, reps, sizeof(double), cmp_double);
		qsort(peak, reps, sizeof(long), cmp_long);
		qsort(above, reps, sizeof(long), cmp_long);
		{
			double med = cpu_s[reps / 2];
			char ob[32] = "-";

			if (res.out_bytes)
				snprintf(ob, sizeof(ob), "%.1f",
					 (double)res.out_bytes / (double)env.n_recs);
			/* spread: (slowest - fastest) / median, how far to trust the median */
			printf("%-10s %12.0f %9.0f %8.3f %6.1f%% %10.1f %12.1f %11s\n", sink_names[c],
			       (double)env.n_recs / med, med * 1e9 / (double)env.n_recs, med,
			       100.0 * (cpu_s[reps - 1] - cpu_s[0]) / med,
			       (double)peak[reps / 2] / 1024.0, (double)above[reps / 2] / 1024.0,
			       ob);
		}
	}
	ret = 0;
cleanup:
	otlp_config__cleanup(&env.ocfg);
	probe_table__free(env.pt);
	free(recs);
	return ret;
}
