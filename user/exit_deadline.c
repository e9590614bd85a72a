/* The process-wide exit deadline; see exit_deadline.h. A lock-free 64-bit atomic,
 * so the signal handler can move it. */
#include "exit_deadline.h"

#include <time.h>

static uint64_t deadline_ns = UINT64_MAX;

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void exit_deadline__start(uint64_t timeout_ms)
{
	uint64_t want = mono_ns() + timeout_ms * 1000000ull;
	uint64_t cur = __atomic_load_n(&deadline_ns, __ATOMIC_ACQUIRE);

	while (want < cur &&
	       !__atomic_compare_exchange_n(&deadline_ns, &cur, want, false, __ATOMIC_ACQ_REL,
					    __ATOMIC_ACQUIRE))
		;
}

void exit_deadline__expire(void)
{
	/* 1, not 0: every clock reading is past it */
	__atomic_store_n(&deadline_ns, 1, __ATOMIC_RELEASE);
}

uint64_t exit_deadline__ns(void)
{
	return __atomic_load_n(&deadline_ns, __ATOMIC_ACQUIRE);
}

bool exit_deadline__passed(void)
{
	uint64_t d = exit_deadline__ns();

	return d != UINT64_MAX && mono_ns() >= d;
}
