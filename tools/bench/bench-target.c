/* Benchmark target: calls one small non-inlined function in a tight loop and
 * prints the mean ns per call. Waits for a gate file so a tracer can attach first. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

__attribute__((noinline, used)) int bench_target(int x)
{
	asm volatile("" ::: "memory");
	return x + 1;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long calls = argc > 1 ? atol(argv[1]) : 100000;
	const char *gate = argc > 2 ? argv[2] : NULL;
	volatile int acc = 0;
	double t0, t1;
	long i;

	if (calls <= 0) {
		fprintf(stderr, "usage: bench-target CALLS [GATE_FILE]\n");
		return 2;
	}
	if (gate) {
		fprintf(stderr, "bench-target: pid %d waiting for %s\n", getpid(), gate);
		while (access(gate, F_OK))
			usleep(2000);
	}
	for (i = 0; i < calls / 10; i++) /* warm up */
		acc = bench_target(acc);
	t0 = now_ns();
	for (i = 0; i < calls; i++)
		acc = bench_target(acc);
	t1 = now_ns();
	printf("%.1f\n", (t1 - t0) / calls);
	return 0;
}
