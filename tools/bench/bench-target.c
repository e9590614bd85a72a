/* Benchmark target: calls one small non-inlined function in a tight loop and
 * prints the mean ns per call. Waits for a gate file so a tracer can attach first.
 * The third argument picks the function: bench_target (C), or one of the assembly
 * functions that start with an instruction of each uprobe class (make bench's probe
 * placement rounds): bench_nop5, bench_push, bench_moved (a single-stepped mov and
 * test before an emulated js: placement moves its probes), bench_stepped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

__attribute__((noinline, used)) int bench_target(int x)
{
	asm volatile("" ::: "memory");
	return x + 1;
}

#define FN(name) ".globl " #name "\n.type " #name ",@function\n" #name ":\n"
#define END(name) ".size " #name ", .-" #name "\n"
__asm__(".text\n" FN(bench_nop5) ".byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n"
				 "lea 1(%rdi), %eax\n"
				 "ret\n" END(bench_nop5)
	FN(bench_push) "push %rbx\n"
		       "lea 1(%rdi), %eax\n"
		       "pop %rbx\n"
		       "ret\n" END(bench_push)
	FN(bench_moved) "mov %edi, %eax\n"
			"test %edi, %edi\n"
			"js 1f\n"
			"add $1, %eax\n"
			"1: ret\n" END(bench_moved)
	FN(bench_stepped) "lea 1(%rdi), %eax\n"
			  "ret\n" END(bench_stepped));
int bench_nop5(int), bench_push(int), bench_moved(int), bench_stepped(int);

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long calls = argc > 1 ? atol(argv[1]) : 100000;
	const char *gate = argc > 2 && *argv[2] ? argv[2] : NULL;
	const char *fname = argc > 3 ? argv[3] : "bench_target";
	static const struct {
		const char *name;
		int (*fn)(int);
	} fns[] = { { "bench_target", bench_target }, { "bench_nop5", bench_nop5 },
		    { "bench_push", bench_push },     { "bench_moved", bench_moved },
		    { "bench_stepped", bench_stepped } };
	int (*fn)(int) = NULL;
	volatile int acc = 0;
	double t0, t1;
	long i;

	for (size_t k = 0; k < sizeof(fns) / sizeof(fns[0]); k++)
		if (!strcmp(fns[k].name, fname))
			fn = fns[k].fn;
	if (calls <= 0 || !fn) {
		fprintf(stderr, "usage: bench-target CALLS [GATE_FILE [FUNCTION]]\n");
		return 2;
	}
	if (gate) {
		fprintf(stderr, "bench-target: pid %d waiting for %s\n", getpid(), gate);
		while (access(gate, F_OK))
			usleep(2000);
	}
	for (i = 0; i < calls / 10; i++) /* warm up */
		acc = fn(acc);
	t0 = now_ns();
	for (i = 0; i < calls; i++)
		acc = fn(acc);
	t1 = now_ns();
	printf("%.1f\n", (t1 - t0) / calls);
	return 0;
}
