/* workflow-demo: a deterministic stand-in for an application built from workflow primitives
 * (sequential, conditional, parallel, pool, retry, fallback, timeout, cache, router, saga).
 * ttatrace's tests and demo attach uprobes to its tta_* functions and compare the spans they
 * see with the exact call counts this program writes with --counts; see workflow-demo.md. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The tracer resolves these functions by symbol, so each must stay a real, separate function
 * that really calls its children: no inlining, no .constprop/.isra clones, no identical-code
 * folding, and no interprocedural use of its return value by callers. */
#if defined(__clang__)
/* clang has neither noclone nor noipa; it does not clone or merge exported functions at -O2 */
#define TTA_PRIMITIVE __attribute__((noinline, used, disable_tail_calls))
#define NOT_INLINED __attribute__((noinline))
#else
#define TTA_PRIMITIVE __attribute__((noinline, noclone, noipa, used))
#define NOT_INLINED __attribute__((noinline, noclone, noipa))
#endif

/* Placed after a call whose result is returned, so the call cannot become a tail jump: a tail
 * jump would drop the caller's frame and the tracer would see the child under the grandparent. */
#define KEEP_CALL() __asm__ __volatile__("" ::: "memory")

/* Layout is a contract with the tests (captures by DWARF name and by offset): only append. */
struct tta_context {
	uint64_t workflow_id;	  /* offset 0 */
	int32_t iteration;	  /* offset 8 */
	int32_t flags;		  /* offset 12, TTA_FLAG_* */
	char traceparent[64];	  /* offset 16, "" when not given */
	char session_id[32];	  /* offset 80 */
};

/* One unit of work handed to the pool; ctx first so a tracer can link by the same pointer
 * that tta_parallel_pool received. */
struct tta_task {
	struct tta_context *ctx; /* offset 0 */
	int32_t idx;		 /* offset 8 */
	int32_t result;		 /* offset 12, written by the worker */
	struct tta_task *next;	 /* offset 16, pool queue link */
};

_Static_assert(__builtin_offsetof(struct tta_context, iteration) == 8, "ctx layout");
_Static_assert(__builtin_offsetof(struct tta_context, flags) == 12, "ctx layout");
_Static_assert(__builtin_offsetof(struct tta_context, traceparent) == 16, "ctx layout");
_Static_assert(__builtin_offsetof(struct tta_context, session_id) == 80, "ctx layout");
_Static_assert(sizeof(struct tta_context) == 112, "ctx layout");
_Static_assert(__builtin_offsetof(struct tta_task, idx) == 8, "task layout");
_Static_assert(__builtin_offsetof(struct tta_task, result) == 12, "task layout");
_Static_assert(sizeof(struct tta_task) == 24, "task layout");

enum {
	TTA_FLAG_FAIL = 1 << 0, /* this iteration's tta_step_validate fails (--fail-every) */
	TTA_FLAG_SLOW = 1 << 1, /* this iteration's tta_step_finalize is slow (--slow-every) */
};

#define DEFAULT_ITERATIONS 10
#define DEFAULT_WORKFLOW_ID 1000ULL
#define DEFAULT_SESSION "sess-demo"
#define PARALLEL_BRANCHES 3
#define POOL_WORKERS 3
#define POOL_TASKS 3
#define RETRY_MAX_ATTEMPTS 5
#define RETRY_SUCCEEDS_AT 3
#define TIMEOUT_DEADLINE_MS 20
#define TIMEOUT_FAST_WORK_MS 2
#define TIMEOUT_SLOW_WORK_MS 60
#define CACHE_SLOTS 64
#define GATE_POLL_US 5000
#define SLOW_FINALIZE_EXTRA_US 50000

/* Every function counted here is a primitive; names sorted (C locale) because --counts prints
 * them in this order. */
#define PRIMITIVES(X)                                                                      \
	X(tta_branch_even)                                                                 \
	X(tta_branch_odd)                                                                  \
	X(tta_cache_get)                                                                   \
	X(tta_cache_load)                                                                  \
	X(tta_conditional)                                                                 \
	X(tta_fallback)                                                                    \
	X(tta_fallback_service)                                                            \
	X(tta_hot_checksum)                                                                \
	X(tta_parallel)                                                                    \
	X(tta_parallel_branch)                                                             \
	X(tta_parallel_pool)                                                               \
	X(tta_pool_task)                                                                   \
	X(tta_primary_service)                                                             \
	X(tta_retry)                                                                       \
	X(tta_retry_attempt)                                                               \
	X(tta_route_bulk)                                                                  \
	X(tta_route_fast)                                                                  \
	X(tta_route_standard)                                                              \
	X(tta_router)                                                                      \
	X(tta_saga)                                                                        \
	X(tta_saga_charge)                                                                 \
	X(tta_saga_compensate_charge)                                                      \
	X(tta_saga_compensate_reserve)                                                     \
	X(tta_saga_reserve)                                                                \
	X(tta_saga_ship)                                                                   \
	X(tta_sequential)                                                                  \
	X(tta_slow_operation)                                                              \
	X(tta_step_finalize)                                                               \
	X(tta_step_validate)                                                               \
	X(tta_timeout)                                                                     \
	X(tta_workflow_run)

#define AS_ENUM(name) CNT_##name,
#define AS_NAME(name) #name,
enum { PRIMITIVES(AS_ENUM) CNT_MAX };
static const char *const cnt_names[CNT_MAX] = { PRIMITIVES(AS_NAME) };
static unsigned long call_cnt[CNT_MAX];

/* Out of line on purpose: inlined, the atomic add can become a primitive's first instruction,
 * and x86 uprobes refuse to probe a lock-prefixed instruction (-ENOTSUPP at attach time). */
static NOT_INLINED void count_call(int idx)
{
	__atomic_fetch_add(&call_cnt[idx], 1, __ATOMIC_RELAXED);
}

#define COUNT_CALL(name) count_call(CNT_##name)

/* What the primitives decided in the current workflow; only the main thread touches it, and the
 * stdout line is built from it so that it depends on decisions, never on timing. */
struct workflow_report {
	const char *branch;
	const char *route;
	const char *fallback;
	const char *saga;
	const char *failed_step;
	int cache_results[8];
	int cache_cnt;
	int retry_attempts;
	bool timeout_fired;
};

static struct workflow_report report;

static volatile sig_atomic_t stop_requested;

/* Helper threads block every signal so SIGINT/SIGTERM/SIGUSR1 always reach the main thread,
 * which is the one sleeping at the gate or checking the stop flag. */
static pthread_attr_t helper_attr;

/* ---- small helpers (deliberately not named tta_*: they are not primitives) ---------------- */

static void sleep_us(long us)
{
	struct timespec req = { .tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000 };

	/* a signal must not shorten a step: tests assert span durations >= these sleeps */
	while (nanosleep(&req, &req) == -1 && errno == EINTR)
		;
}

static void deadline_after_ms(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* ---- leaf steps ----------------------------------------------------------------------------- */

TTA_PRIMITIVE int tta_step_validate(struct tta_context *ctx)
{
	COUNT_CALL(tta_step_validate);
	sleep_us(200);
	if (ctx->flags & TTA_FLAG_FAIL)
		return -EINVAL;
	return 0;
}

/* --hot-calls: a tiny function called in a tight loop, the kind a broad glob
 * catches by accident (the probe governor's test subject). */
static long long g_hot_calls;
static volatile uint64_t g_hot_sink;

TTA_PRIMITIVE uint64_t tta_hot_checksum(uint64_t x)
{
	COUNT_CALL(tta_hot_checksum);
	return (x ^ (x >> 7)) * 0x9e3779b97f4a7c15ULL;
}

TTA_PRIMITIVE int tta_step_finalize(struct tta_context *ctx)
{
	uint64_t acc = ctx->workflow_id;
	long long i;

	COUNT_CALL(tta_step_finalize);
	for (i = 0; i < g_hot_calls; i++) {
		acc = tta_hot_checksum(acc + (uint64_t)i);
		asm volatile("" ::: "memory"); /* a real call each time */
	}
	g_hot_sink = acc;
	sleep_us(200);
	if (ctx->flags & TTA_FLAG_SLOW)
		sleep_us(SLOW_FINALIZE_EXTRA_US);
	return 0;
}

TTA_PRIMITIVE int tta_branch_even(struct tta_context *ctx)
{
	COUNT_CALL(tta_branch_even);
	(void)ctx;
	sleep_us(300);
	return 0;
}

TTA_PRIMITIVE int tta_branch_odd(struct tta_context *ctx)
{
	COUNT_CALL(tta_branch_odd);
	(void)ctx;
	sleep_us(300);
	return 0;
}

TTA_PRIMITIVE int tta_parallel_branch(struct tta_context *ctx, int idx)
{
	COUNT_CALL(tta_parallel_branch);
	(void)ctx;
	sleep_us(500L * (idx + 1));
	return 0;
}

TTA_PRIMITIVE int tta_pool_task(struct tta_task *task)
{
	COUNT_CALL(tta_pool_task);
	(void)task->ctx;
	sleep_us(400);
	return 0;
}

TTA_PRIMITIVE int tta_retry_attempt(struct tta_context *ctx, int attempt)
{
	COUNT_CALL(tta_retry_attempt);
	(void)ctx;
	sleep_us(100);
	return attempt < RETRY_SUCCEEDS_AT ? -EAGAIN : 0;
}

TTA_PRIMITIVE int tta_primary_service(struct tta_context *ctx)
{
	COUNT_CALL(tta_primary_service);
	(void)ctx;
	sleep_us(100);
	return -ECONNREFUSED;
}

TTA_PRIMITIVE int tta_fallback_service(struct tta_context *ctx)
{
	COUNT_CALL(tta_fallback_service);
	(void)ctx;
	sleep_us(150);
	return 0;
}

/* Set by tta_timeout when the deadline passes; only one timeout runs at a time. */
static int slow_op_cancel;

TTA_PRIMITIVE int tta_slow_operation(struct tta_context *ctx, int work_ms)
{
	COUNT_CALL(tta_slow_operation);
	(void)ctx;
	/* 1 ms slices so a cancelled operation ends promptly and its span shows it was cut short */
	for (int i = 0; i < work_ms; i++) {
		if (__atomic_load_n(&slow_op_cancel, __ATOMIC_ACQUIRE))
			return -ECANCELED;
		sleep_us(1000);
	}
	return 0;
}

TTA_PRIMITIVE int tta_cache_load(struct tta_context *ctx, uint64_t key)
{
	COUNT_CALL(tta_cache_load);
	(void)ctx;
	(void)key;
	sleep_us(300);
	return 0;
}

TTA_PRIMITIVE int tta_route_fast(struct tta_context *ctx)
{
	COUNT_CALL(tta_route_fast);
	(void)ctx;
	sleep_us(200);
	return 0;
}

TTA_PRIMITIVE int tta_route_standard(struct tta_context *ctx)
{
	COUNT_CALL(tta_route_standard);
	(void)ctx;
	sleep_us(210);
	return 0;
}

TTA_PRIMITIVE int tta_route_bulk(struct tta_context *ctx)
{
	COUNT_CALL(tta_route_bulk);
	(void)ctx;
	sleep_us(220);
	return 0;
}

TTA_PRIMITIVE int tta_saga_reserve(struct tta_context *ctx)
{
	COUNT_CALL(tta_saga_reserve);
	(void)ctx;
	sleep_us(100);
	return 0;
}

TTA_PRIMITIVE int tta_saga_charge(struct tta_context *ctx)
{
	COUNT_CALL(tta_saga_charge);
	(void)ctx;
	sleep_us(110);
	return 0;
}

TTA_PRIMITIVE int tta_saga_ship(struct tta_context *ctx)
{
	COUNT_CALL(tta_saga_ship);
	sleep_us(120);
	if (ctx->iteration & 1)
		return -EIO;
	return 0;
}

TTA_PRIMITIVE int tta_saga_compensate_charge(struct tta_context *ctx)
{
	COUNT_CALL(tta_saga_compensate_charge);
	(void)ctx;
	sleep_us(130);
	return 0;
}

TTA_PRIMITIVE int tta_saga_compensate_reserve(struct tta_context *ctx)
{
	COUNT_CALL(tta_saga_compensate_reserve);
	(void)ctx;
	sleep_us(140);
	return 0;
}

/* ---- composite primitives ----------------------------------------------------------------- */

TTA_PRIMITIVE int tta_conditional(struct tta_context *ctx)
{
	int err;

	COUNT_CALL(tta_conditional);
	if (ctx->workflow_id % 2 == 0) {
		err = tta_branch_even(ctx);
		KEEP_CALL();
		report.branch = "even";
	} else {
		err = tta_branch_odd(ctx);
		KEEP_CALL();
		report.branch = "odd";
	}
	return err < 0 ? err : 0;
}

struct branch_arg {
	struct tta_context *ctx;
	int idx;
	int result;
};

static void *parallel_branch_thread(void *p)
{
	struct branch_arg *arg = p;

	arg->result = tta_parallel_branch(arg->ctx, arg->idx);
	KEEP_CALL();
	return NULL;
}

TTA_PRIMITIVE int tta_parallel(struct tta_context *ctx)
{
	struct branch_arg args[PARALLEL_BRANCHES];
	pthread_t threads[PARALLEL_BRANCHES];
	int started = 0, err = 0;

	COUNT_CALL(tta_parallel);
	for (int i = 0; i < PARALLEL_BRANCHES; i++) {
		args[i] = (struct branch_arg){ .ctx = ctx, .idx = i };
		err = -pthread_create(&threads[i], &helper_attr, parallel_branch_thread, &args[i]);
		if (err)
			break;
		started++;
	}
	/* join whatever started even on failure: the branches point into this frame */
	for (int i = 0; i < started; i++) {
		pthread_join(threads[i], NULL);
		if (!err && args[i].result < 0)
			err = args[i].result;
	}
	return err;
}

/* Workers exist before the gate opens, so the tracer sees tasks run on threads it did not
 * watch being created: linking must come from the task's ctx pointer, not from clone(). */
static struct {
	pthread_mutex_t mu;
	pthread_cond_t work_cv;
	pthread_cond_t done_cv;
	struct tta_task *head, *tail;
	int done_cnt;
	bool shutdown;
	pthread_t threads[POOL_WORKERS];
	int started;
} pool = {
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.work_cv = PTHREAD_COND_INITIALIZER,
	.done_cv = PTHREAD_COND_INITIALIZER,
};

static void *pool_worker_main(void *unused)
{
	(void)unused;
	pthread_mutex_lock(&pool.mu);
	for (;;) {
		struct tta_task *task;
		int r;

		while (!pool.head && !pool.shutdown)
			pthread_cond_wait(&pool.work_cv, &pool.mu);
		if (!pool.head)
			break;
		task = pool.head;
		pool.head = task->next;
		if (!pool.head)
			pool.tail = NULL;
		pthread_mutex_unlock(&pool.mu);

		r = tta_pool_task(task);
		KEEP_CALL();

		pthread_mutex_lock(&pool.mu);
		/* the task lives in tta_parallel_pool's frame: untouchable once done_cnt moves */
		task->result = r;
		pool.done_cnt++;
		pthread_cond_signal(&pool.done_cv);
	}
	pthread_mutex_unlock(&pool.mu);
	return NULL;
}

static int pool__start(void)
{
	for (int i = 0; i < POOL_WORKERS; i++) {
		int err = pthread_create(&pool.threads[i], &helper_attr, pool_worker_main, NULL);

		if (err)
			return -err;
		pool.started++;
	}
	return 0;
}

static void pool__stop(void)
{
	pthread_mutex_lock(&pool.mu);
	pool.shutdown = true;
	pthread_cond_broadcast(&pool.work_cv);
	pthread_mutex_unlock(&pool.mu);
	for (int i = 0; i < pool.started; i++)
		pthread_join(pool.threads[i], NULL);
	pool.started = 0;
}

TTA_PRIMITIVE int tta_parallel_pool(struct tta_context *ctx)
{
	struct tta_task tasks[POOL_TASKS];
	int err = 0;

	COUNT_CALL(tta_parallel_pool);
	pthread_mutex_lock(&pool.mu);
	pool.done_cnt = 0;
	for (int i = 0; i < POOL_TASKS; i++) {
		tasks[i] = (struct tta_task){ .ctx = ctx, .idx = i };
		if (pool.tail)
			pool.tail->next = &tasks[i];
		else
			pool.head = &tasks[i];
		pool.tail = &tasks[i];
	}
	pthread_cond_broadcast(&pool.work_cv);
	while (pool.done_cnt < POOL_TASKS)
		pthread_cond_wait(&pool.done_cv, &pool.mu);
	pthread_mutex_unlock(&pool.mu);
	for (int i = 0; i < POOL_TASKS; i++)
		if (!err && tasks[i].result < 0)
			err = tasks[i].result;
	return err;
}

TTA_PRIMITIVE int tta_retry(struct tta_context *ctx)
{
	int err = -EAGAIN;

	COUNT_CALL(tta_retry);
	report.retry_attempts = 0;
	for (int attempt = 1; attempt <= RETRY_MAX_ATTEMPTS; attempt++) {
		err = tta_retry_attempt(ctx, attempt);
		KEEP_CALL();
		report.retry_attempts = attempt;
		if (err != -EAGAIN)
			break;
	}
	return err;
}

TTA_PRIMITIVE int tta_fallback(struct tta_context *ctx)
{
	int err;

	COUNT_CALL(tta_fallback);
	err = tta_primary_service(ctx);
	KEEP_CALL();
	if (err == 0) {
		report.fallback = "primary";
		return 0;
	}
	err = tta_fallback_service(ctx);
	KEEP_CALL();
	report.fallback = "fallback";
	return err;
}

struct slow_job {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct tta_context *ctx;
	int work_ms;
	int result;
	bool done;
};

static void *slow_operation_thread(void *p)
{
	struct slow_job *job = p;
	int r;

	r = tta_slow_operation(job->ctx, job->work_ms);
	KEEP_CALL();
	pthread_mutex_lock(&job->mu);
	job->result = r;
	job->done = true;
	pthread_cond_signal(&job->cv);
	pthread_mutex_unlock(&job->mu);
	return NULL;
}

/* Margins are wide on purpose (2 ms vs 20 ms vs 60 ms) so the outcome depends only on the
 * iteration's parity, even with probes attached on a loaded machine. */
TTA_PRIMITIVE int tta_timeout(struct tta_context *ctx)
{
	struct slow_job job = { .ctx = ctx, .done = false };
	pthread_condattr_t cattr;
	struct timespec deadline;
	pthread_t thread;
	int err;

	COUNT_CALL(tta_timeout);
	job.work_ms = (ctx->iteration & 1) ? TIMEOUT_SLOW_WORK_MS : TIMEOUT_FAST_WORK_MS;
	pthread_mutex_init(&job.mu, NULL);
	pthread_condattr_init(&cattr);
	pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
	pthread_cond_init(&job.cv, &cattr);
	pthread_condattr_destroy(&cattr);
	__atomic_store_n(&slow_op_cancel, 0, __ATOMIC_RELEASE);

	deadline_after_ms(&deadline, TIMEOUT_DEADLINE_MS);
	err = -pthread_create(&thread, &helper_attr, slow_operation_thread, &job);
	if (err)
		goto cleanup;

	pthread_mutex_lock(&job.mu);
	while (!job.done) {
		if (pthread_cond_timedwait(&job.cv, &job.mu, &deadline) == ETIMEDOUT && !job.done)
			break;
	}
	report.timeout_fired = !job.done;
	if (!job.done)
		__atomic_store_n(&slow_op_cancel, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&job.mu);

	pthread_join(thread, NULL);
	err = report.timeout_fired ? -ETIMEDOUT : job.result;
cleanup:
	pthread_cond_destroy(&job.cv);
	pthread_mutex_destroy(&job.mu);
	return err;
}

/* Direct-mapped; each workflow uses its own key, so its first lookup always misses. */
static struct {
	uint64_t key;
	bool valid;
} cache_slots[CACHE_SLOTS];

TTA_PRIMITIVE int tta_cache_get(struct tta_context *ctx, uint64_t key)
{
	unsigned int slot = key % CACHE_SLOTS;
	int err;

	COUNT_CALL(tta_cache_get);
	if (cache_slots[slot].valid && cache_slots[slot].key == key)
		return 1;
	err = tta_cache_load(ctx, key);
	KEEP_CALL();
	if (err < 0)
		return err;
	cache_slots[slot].key = key;
	cache_slots[slot].valid = true;
	return 0;
}

TTA_PRIMITIVE int tta_router(struct tta_context *ctx)
{
	int route = ctx->workflow_id % 3, err;

	COUNT_CALL(tta_router);
	switch (route) {
	case 0:
		err = tta_route_fast(ctx);
		KEEP_CALL();
		report.route = "fast";
		break;
	case 1:
		err = tta_route_standard(ctx);
		KEEP_CALL();
		report.route = "standard";
		break;
	default:
		err = tta_route_bulk(ctx);
		KEEP_CALL();
		report.route = "bulk";
		break;
	}
	return err < 0 ? err : route;
}

TTA_PRIMITIVE int tta_saga(struct tta_context *ctx)
{
	int err;

	COUNT_CALL(tta_saga);
	err = tta_saga_reserve(ctx);
	KEEP_CALL();
	if (err < 0)
		goto failed_reserve;
	err = tta_saga_charge(ctx);
	KEEP_CALL();
	if (err < 0)
		goto failed_charge;
	err = tta_saga_ship(ctx);
	KEEP_CALL();
	if (err < 0)
		goto failed_ship;
	report.saga = "committed";
	return 0;

	/* compensations undo the completed forward steps, newest first */
failed_ship:
	tta_saga_compensate_charge(ctx);
	KEEP_CALL();
failed_charge:
	tta_saga_compensate_reserve(ctx);
	KEEP_CALL();
failed_reserve:
	report.saga = "compensated";
	return err;
}

static uint64_t cache_key_for(const struct tta_context *ctx)
{
	/* odd multiplier: a bijection on uint64_t, so keys never repeat within a run */
	return ctx->workflow_id * 7 + 3;
}

static void cache_record(int r)
{
	if (report.cache_cnt < (int)(sizeof(report.cache_results) / sizeof(report.cache_results[0])))
		report.cache_results[report.cache_cnt++] = r;
}

/* Any error ends the workflow except the two outcomes the demo is built to show: a fired
 * timeout and a compensated saga. */
TTA_PRIMITIVE int tta_sequential(struct tta_context *ctx)
{
	uint64_t key = cache_key_for(ctx);
	int err;

	COUNT_CALL(tta_sequential);
#define STEP(name, call)                         \
	do {                                     \
		err = (call);                    \
		KEEP_CALL();                     \
		if (err < 0) {                   \
			report.failed_step = name; \
			return err;              \
		}                                \
	} while (0)

	STEP("tta_step_validate", tta_step_validate(ctx));
	STEP("tta_conditional", tta_conditional(ctx));
	STEP("tta_parallel", tta_parallel(ctx));
	STEP("tta_parallel_pool", tta_parallel_pool(ctx));
	STEP("tta_retry", tta_retry(ctx));
	STEP("tta_fallback", tta_fallback(ctx));

	err = tta_timeout(ctx);
	KEEP_CALL();
	if (err < 0 && err != -ETIMEDOUT) {
		report.failed_step = "tta_timeout";
		return err;
	}

	for (int i = 0; i < 3; i++) {
		STEP("tta_cache_get", tta_cache_get(ctx, key));
		cache_record(err);
	}
	STEP("tta_router", tta_router(ctx));

	err = tta_saga(ctx);
	KEEP_CALL();
	if (err < 0 && err != -EIO) {
		report.failed_step = "tta_saga";
		return err;
	}

	STEP("tta_step_finalize", tta_step_finalize(ctx));
#undef STEP
	return 0;
}

TTA_PRIMITIVE int tta_workflow_run(struct tta_context *ctx)
{
	int err;

	COUNT_CALL(tta_workflow_run);
	err = tta_sequential(ctx);
	KEEP_CALL();
	return err;
}

/* ---- program -------------------------------------------------------------------------------- */

struct options {
	long long iterations;
	uint64_t workflow_id;
	const char *traceparent;
	const char *session;
	const char *gate_file;
	bool wait_signal;
	long long fail_every;
	long long slow_every;
	long long hot_calls;
	long long interval_ms;
	long long change_after, change_interval_ms;
	const char *counts_file;
};

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: workflow-demo [OPTIONS]\n"
		"Runs one workflow of tta_* primitives per iteration and prints one line per workflow.\n"
		"\n"
		"  --iterations N       workflows to run (default 10; 0 = until SIGINT/SIGTERM)\n"
		"  --workflow-id BASE   workflow_id of iteration i is BASE+i (default 1000)\n"
		"  --traceparent HDR    copied into ctx->traceparent (at most 63 bytes)\n"
		"  --session ID         copied into ctx->session_id (at most 31 bytes, default %s)\n"
		"  --gate-file PATH     before the first workflow, wait until PATH exists\n"
		"  --wait-signal        before the first workflow, wait for SIGUSR1\n"
		"  --fail-every K       iterations with (i+1)%%K==0 fail in tta_step_validate (-EINVAL)\n"
		"  --slow-every K       iterations with (i+1)%%K==0 sleep 50 ms more in tta_step_finalize\n"
		"  --hot-calls N        tta_step_finalize calls tta_hot_checksum N times (a hot function)\n"
		"  --interval-after K:MS  after K workflows the pause becomes MS ms (a load change)\n"
		"  --interval-ms MS     pause between workflows (default 0)\n"
		"  --counts FILE        at exit, write 'name count' per primitive, sorted by name\n"
		"  --help               show this help\n"
		"\n"
		"Examples:\n"
		"  workflow-demo --iterations 4 --counts /tmp/counts\n"
		"  workflow-demo --gate-file /tmp/go --fail-every 3 &  sleep 1; touch /tmp/go\n"
		"  workflow-demo --iterations 0 --wait-signal --interval-ms 100\n",
		DEFAULT_SESSION);
}

static int bad_usage(const char *what, const char *why)
{
	fprintf(stderr, "workflow-demo: %s: %s (see --help)\n", what, why);
	return 2;
}

static int parse_ll(const char *s, long long min, long long max, long long *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	/* strtoull accepts "-1" and wraps it: refuse signs explicitly */
	if (*s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Returns 0 to run, 1 after --help, 2 on bad usage (already reported). */
static int parse_args(int argc, char **argv, struct options *o)
{
	enum { OPT_ITER = 256, OPT_WID, OPT_TP, OPT_SESS, OPT_GATE, OPT_WAITSIG, OPT_FAIL,
	       OPT_SLOW, OPT_INTERVAL, OPT_COUNTS, OPT_HELP, OPT_HOT, OPT_CHANGE };
	static const struct option longopts[] = {
		{ "iterations", required_argument, NULL, OPT_ITER },
		{ "workflow-id", required_argument, NULL, OPT_WID },
		{ "traceparent", required_argument, NULL, OPT_TP },
		{ "session", required_argument, NULL, OPT_SESS },
		{ "gate-file", required_argument, NULL, OPT_GATE },
		{ "wait-signal", no_argument, NULL, OPT_WAITSIG },
		{ "fail-every", required_argument, NULL, OPT_FAIL },
		{ "slow-every", required_argument, NULL, OPT_SLOW },
		{ "hot-calls", required_argument, NULL, OPT_HOT },
		{ "interval-after", required_argument, NULL, OPT_CHANGE },
		{ "interval-ms", required_argument, NULL, OPT_INTERVAL },
		{ "counts", required_argument, NULL, OPT_COUNTS },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct options){
		.iterations = DEFAULT_ITERATIONS,
		.workflow_id = DEFAULT_WORKFLOW_ID,
		.traceparent = "",
		.session = DEFAULT_SESSION,
	};
	opterr = 0; /* one line of our own instead of getopt's */
	while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_ITER:
			if (parse_ll(optarg, 0, INT32_MAX, &o->iterations))
				return bad_usage("--iterations", "expects an integer 0..2147483647");
			break;
		case OPT_WID:
			if (parse_u64(optarg, &o->workflow_id))
				return bad_usage("--workflow-id", "expects an unsigned 64-bit integer");
			break;
		case OPT_TP:
			o->traceparent = optarg;
			break;
		case OPT_SESS:
			o->session = optarg;
			break;
		case OPT_GATE:
			o->gate_file = optarg;
			break;
		case OPT_WAITSIG:
			o->wait_signal = true;
			break;
		case OPT_FAIL:
			if (parse_ll(optarg, 1, INT32_MAX, &o->fail_every))
				return bad_usage("--fail-every", "expects an integer K > 0");
			break;
		case OPT_SLOW:
			if (parse_ll(optarg, 1, INT32_MAX, &o->slow_every))
				return bad_usage("--slow-every", "expects an integer K > 0");
			break;
		case OPT_CHANGE: {
			char k[32], *colon = strchr(optarg, ':');

			/* a copy: argv stays intact for ps and /proc/PID/cmdline */
			if (!colon || (size_t)(colon - optarg) >= sizeof(k))
				return bad_usage("--interval-after", "expects K:MS");
			memcpy(k, optarg, colon - optarg);
			k[colon - optarg] = '\0';
			if (parse_ll(k, 1, INT32_MAX, &o->change_after) ||
			    parse_ll(colon + 1, 0, 3600000, &o->change_interval_ms))
				return bad_usage("--interval-after", "expects K:MS");
			break;
		}
		case OPT_HOT:
			if (parse_ll(optarg, 0, 100000000, &o->hot_calls))
				return bad_usage("--hot-calls", "expects an integer 0..100000000");
			break;
		case OPT_INTERVAL:
			if (parse_ll(optarg, 0, 3600000, &o->interval_ms))
				return bad_usage("--interval-ms", "expects an integer 0..3600000");
			break;
		case OPT_COUNTS:
			o->counts_file = optarg;
			break;
		case OPT_HELP:
			usage(stdout);
			return 1;
		case ':':
			return bad_usage(argv[optind - 1], "missing argument");
		default:
			return bad_usage(optind > 1 ? argv[optind - 1] : "arguments",
					 "unknown option");
		}
	}
	if (optind < argc)
		return bad_usage(argv[optind], "unexpected argument");
	if (o->gate_file && o->wait_signal)
		return bad_usage("--gate-file", "cannot be combined with --wait-signal");
	return 0;
}

static void copy_bounded(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Returns 0 when the gate opened, -EINTR when a stop signal came first. */
static int wait_gate(const struct options *o, const sigset_t *usr1)
{
	if (o->gate_file) {
		fprintf(stderr, "workflow-demo: pid %d waiting for gate file %s\n", getpid(),
			o->gate_file);
		while (access(o->gate_file, F_OK) != 0) {
			if (stop_requested)
				return -EINTR;
			sleep_us(GATE_POLL_US);
		}
	} else if (o->wait_signal) {
		fprintf(stderr, "workflow-demo: pid %d waiting for SIGUSR1\n", getpid());
		/* SIGUSR1 is blocked process-wide from the start, so one sent early stays pending */
		while (sigwaitinfo(usr1, NULL) != SIGUSR1) {
			if (stop_requested)
				return -EINTR;
		}
	}
	return 0;
}

static void interval_pause(long long ms)
{
	struct timespec req = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	/* unlike a step's sleep, this one yields to a stop request */
	while (nanosleep(&req, &req) == -1 && errno == EINTR && !stop_requested)
		;
}

static void print_workflow(const struct tta_context *ctx, int err)
{
	if (err < 0) {
		printf("workflow id=%" PRIu64 " iter=%d result=error errno=%d failed_step=%s\n",
		       ctx->workflow_id, ctx->iteration, err,
		       report.failed_step ? report.failed_step : "unknown");
		return;
	}
	printf("workflow id=%" PRIu64 " iter=%d result=ok branch=%s route=%s cache=", ctx->workflow_id,
	       ctx->iteration, report.branch, report.route);
	for (int i = 0; i < report.cache_cnt; i++)
		printf("%s%s", i ? "," : "", report.cache_results[i] == 1 ? "hit" : "miss");
	printf(" retry_attempts=%d fallback=%s timeout=%s saga=%s\n", report.retry_attempts,
	       report.fallback, report.timeout_fired ? "fired" : "no", report.saga);
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(cnt_names[*(const int *)a], cnt_names[*(const int *)b]);
}

static int write_counts(const char *path)
{
	int order[CNT_MAX];
	FILE *f;
	int err = 0;

	for (int i = 0; i < CNT_MAX; i++)
		order[i] = i;
	/* the X-macro list is meant to be sorted already; sorting here keeps a typo harmless */
	qsort(order, CNT_MAX, sizeof(order[0]), cmp_name);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	for (int i = 0; i < CNT_MAX; i++)
		fprintf(f, "%s %lu\n", cnt_names[order[i]],
			__atomic_load_n(&call_cnt[order[i]], __ATOMIC_RELAXED));
	if (ferror(f))
		err = -EIO;
	if (fclose(f) && !err)
		err = -errno;
	return err;
}

int main(int argc, char **argv)
{
	struct options opts;
	struct sigaction sa = { .sa_handler = on_stop_signal };
	sigset_t usr1, all;
	long long done = 0, errors = 0;
	int rc = 0, err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	err = parse_args(argc, argv, &opts);
	if (err)
		return err == 1 ? 0 : err;

	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	sigfillset(&all);
	pthread_attr_init(&helper_attr);
	pthread_attr_setsigmask_np(&helper_attr, &all);

	err = pool__start();
	if (err) {
		fprintf(stderr, "workflow-demo: starting pool workers: %s\n", strerror(-err));
		rc = 1;
		goto cleanup;
	}

	if (wait_gate(&opts, &usr1) == 0) {
		for (long long i = 0; opts.iterations == 0 || i < opts.iterations; i++) {
			struct tta_context ctx = {
				.workflow_id = opts.workflow_id + (uint64_t)i,
				.iteration = (int32_t)i,
			};

			if (stop_requested)
				break;
			if (opts.fail_every && (i + 1) % opts.fail_every == 0)
				ctx.flags |= TTA_FLAG_FAIL;
			g_hot_calls = opts.hot_calls;
			if (opts.slow_every && (i + 1) % opts.slow_every == 0)
				ctx.flags |= TTA_FLAG_SLOW;
			copy_bounded(ctx.traceparent, sizeof(ctx.traceparent), opts.traceparent);
			copy_bounded(ctx.session_id, sizeof(ctx.session_id), opts.session);

			memset(&report, 0, sizeof(report));
			err = tta_workflow_run(&ctx);
			print_workflow(&ctx, err);
			done++;
			if (err < 0)
				errors++;
			/* --interval-after K:MS: the load changes after K workflows */
			if (opts.change_after && i + 1 == opts.change_after)
				opts.interval_ms = opts.change_interval_ms;
			if (opts.interval_ms && !stop_requested &&
			    (opts.iterations == 0 || i + 1 < opts.iterations))
				interval_pause(opts.interval_ms);
		}
	}
	printf("done workflows=%lld errors=%lld\n", done, errors);

cleanup:
	pool__stop();
	pthread_attr_destroy(&helper_attr);
	if (opts.counts_file) {
		err = write_counts(opts.counts_file);
		if (err) {
			fprintf(stderr, "workflow-demo: writing %s: %s\n", opts.counts_file,
				strerror(-err));
			rc = 1;
		}
	}
	return rc;
}
