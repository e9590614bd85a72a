/* The governor's self-calibration: what one traced call of each instruction class
 * costs on this machine now. Three functions of ttatrace itself, written in
 * assembly so their first instruction is fixed, get ttatrace's own entry and return
 * programs (which stop at once: ttatrace does not trace itself) through uprobe_multi
 * links limited to this process; each is called in batches and timed in thread CPU
 * time, which counts the traps and not other processes' load. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "governor.h"
#include "uprobe_multi.h"

#if defined(__x86_64__)
#define FN(name) ".globl " #name "\n.type " #name ",@function\n" #name ":\n"
#define END(name) ".size " #name ", .-" #name "\n"
__asm__(".text\n" FN(tt_gov_cal_nop5) ".byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n"
				      "lea 1(%rdi), %eax\n"
				      "ret\n" END(tt_gov_cal_nop5)
	FN(tt_gov_cal_emulated) "push %rbx\n"
				"lea 1(%rdi), %eax\n"
				"pop %rbx\n"
				"ret\n" END(tt_gov_cal_emulated)
	FN(tt_gov_cal_stepped) "lea 1(%rdi), %eax\n"
			       "ret\n" END(tt_gov_cal_stepped));
int tt_gov_cal_nop5(int), tt_gov_cal_emulated(int), tt_gov_cal_stepped(int);
#endif

#define CAL_BATCH 200
#define CAL_BATCHES 5
/* the real programs do more than return at once: the bookkeeping of a span
 * (BENCHMARKS.md: ttatrace is 1.03-1.09x an empty probe pair) */
#define CAL_WORK_FACTOR 1.08

static double thread_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median ns per call of fn over CAL_BATCHES batches. */
static double time_calls(int (*fn)(int))
{
	double v[CAL_BATCHES];
	int b, i, acc = 0;

	for (b = 0; b < CAL_BATCHES; b++) {
		double t0 = thread_ns();

		for (i = 0; i < CAL_BATCH; i++)
			acc += fn(i);
		v[b] = (thread_ns() - t0) / CAL_BATCH;
	}
	__asm__ volatile("" : : "r"(acc)); /* the calls are used */
	qsort(v, CAL_BATCHES, sizeof(v[0]), cmp_double);
	return v[CAL_BATCHES / 2];
}

/* The file offset of a function of this process (from /proc/self/maps). */
static int self_offset(const void *fn, char *path, size_t path_len, uint64_t *off)
{
	uintptr_t a = (uintptr_t)fn;
	char line[4096];
	FILE *f = fopen("/proc/self/maps", "re");
	int err = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi, foff;
		int n = 0;

		if (sscanf(line, "%lx-%lx %*s %lx %*s %*s %n", &lo, &hi, &foff, &n) < 3 || !n)
			continue;
		if (a < lo || a >= hi)
			continue;
		line[strcspn(line, "\n")] = 0;
		snprintf(path, path_len, "%s", line + n);
		*off = a - lo + foff;
		err = path[0] == '/' ? 0 : -ENOENT;
		break;
	}
	fclose(f);
	return err;
}

#if !defined(__x86_64__)
int governor__calibrate(int entry_prog_fd, int exit_prog_fd, struct gov_costs *out)
{
	(void)entry_prog_fd;
	(void)exit_prog_fd;
	(void)out;
	return -EOPNOTSUPP; /* the classes are x86-64's */
}
#else
int governor__calibrate(int entry_prog_fd, int exit_prog_fd, struct gov_costs *out)
{
	int (*const fns[3])(int) = { tt_gov_cal_nop5, tt_gov_cal_emulated, tt_gov_cal_stepped };
	static const enum gov_cost_class cls[3] = { GOV_COST_NOP5, GOV_COST_EMULATED,
						    GOV_COST_STEPPED };
	double base[3], traced[3];
	uint64_t offs[3], cookies[3] = { 0, 0, 0 };
	char path[4096], p2[4096];
	int efd = -1, xfd = -1, err, i;

	for (i = 0; i < 3; i++) {
		err = self_offset((const void *)fns[i], i ? p2 : path, sizeof(path), &offs[i]);
		if (err)
			return err;
		if (i && strcmp(p2, path))
			return -EINVAL;
		base[i] = time_calls(fns[i]);
	}
	xfd = uprobe_multi__attach(exit_prog_fd, path, offs, cookies, 3, getpid(), true);
	if (xfd < 0)
		return xfd;
	efd = uprobe_multi__attach(entry_prog_fd, path, offs, cookies, 3, getpid(), false);
	if (efd < 0) {
		close(xfd);
		return efd;
	}
	for (i = 0; i < 3; i++) {
		fns[i](0); /* the first hit of a 5-byte nop rewrites it (6.18) */
		traced[i] = time_calls(fns[i]);
	}
	close(efd);
	close(xfd);
	for (i = 0; i < 3; i++) {
		double c = (traced[i] - base[i]) * CAL_WORK_FACTOR;

		if (!(c > 0))
			return -ERANGE; /* the probes did not fire */
		out->ns[cls[i]] = c;
	}
	out->ns[GOV_COST_UNKNOWN] = out->ns[GOV_COST_EMULATED];
	return 0;
}
#endif
