/* Attaches a reference program pair (bpf/floor.bpf.c, bpf/floor_session.bpf.c) to one
 * symbol of one process, for benchmarks, and runs until killed:
 *   bench-floor PID BINARY OFFSET [MODE]
 *   floor          the empty uprobe + uretprobe pair, perf-event links (the default)
 *   floor-multi    the same empty pair through uprobe_multi links (what ttatrace uses)
 *   floor-session  an empty uprobe session (Linux 6.13+): one program, entry and return
 *   least          the least exact timing with thread state, perf-event links
 *   session        exact timing by a uprobe session, without thread state
 *   entry          one empty uprobe, no return probe (the Python floor: ttatrace's
 *                  Python probes sit inside the instrumentation functions)
 * Exit status 3: the kernel cannot run that reference. */
#include <bpf/libbpf.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "floor.skel.h"
#include "floor_session.skel.h"
#include "uprobe_multi.h"

static volatile sig_atomic_t stop;

static void on_sig(int s)
{
	stop = s;
}

static void wait_signal(void)
{
	signal(SIGINT, on_sig);
	signal(SIGTERM, on_sig);
	fprintf(stderr, "bench-floor: attached\n");
	while (!stop)
		pause();
}

static int unavailable(const char *what, int err)
{
	fprintf(stderr, "bench-floor: %s unavailable: %s\n", what, strerror(err));
	return 3;
}

/* one program run at entry and at return (timing: 1 for session_timing) */
static int run_session(int pid, const char *path, uint64_t offset, int timing)
{
	struct floor_session_bpf *skel = floor_session_bpf__open();
	struct bpf_program *p;
	uint64_t cookie = 1;
	int link, r = 0;

	if (!skel) {
		perror("bench-floor: open");
		return 1;
	}
	p = timing ? skel->progs.session_timing : skel->progs.session_empty;
	bpf_program__set_autoload(timing ? skel->progs.session_empty : skel->progs.session_timing,
				  false);
	bpf_program__set_type(p, BPF_PROG_TYPE_KPROBE);
	bpf_program__set_expected_attach_type(p, (enum bpf_attach_type)TT_BPF_TRACE_UPROBE_SESSION);
	if (floor_session_bpf__load(skel)) {
		r = unavailable("uprobe sessions (Linux 6.13+)", errno);
		goto out;
	}
	link = uprobe_multi__attach_session(bpf_program__fd(p), path, &offset, &cookie, 1, pid);
	if (link < 0) {
		r = unavailable("uprobe sessions (Linux 6.13+)", -link);
		goto out;
	}
	wait_signal();
	close(link);
out:
	floor_session_bpf__destroy(skel);
	return r;
}

/* the empty pair through two uprobe_multi links */
static int run_multi(int pid, const char *path, uint64_t offset)
{
	struct floor_bpf *skel = floor_bpf__open();
	uint64_t cookie = 1;
	int in, out, r = 0;

	if (!skel) {
		perror("bench-floor: open");
		return 1;
	}
	bpf_program__set_autoload(skel->progs.least_entry, false);
	bpf_program__set_autoload(skel->progs.least_exit, false);
	bpf_program__set_expected_attach_type(skel->progs.floor_entry,
					      (enum bpf_attach_type)TT_BPF_TRACE_UPROBE_MULTI);
	bpf_program__set_expected_attach_type(skel->progs.floor_exit,
					      (enum bpf_attach_type)TT_BPF_TRACE_UPROBE_MULTI);
	if (floor_bpf__load(skel)) {
		r = unavailable("uprobe_multi links (Linux 6.6+)", errno);
		goto out;
	}
	out = uprobe_multi__attach(bpf_program__fd(skel->progs.floor_exit), path, &offset, &cookie,
				   1, pid, true);
	in = uprobe_multi__attach(bpf_program__fd(skel->progs.floor_entry), path, &offset, &cookie,
				  1, pid, false);
	if (in < 0 || out < 0) {
		r = unavailable("uprobe_multi links (Linux 6.6+)", in < 0 ? -in : -out);
		goto out;
	}
	wait_signal();
	close(in);
	close(out);
out:
	floor_bpf__destroy(skel);
	return r;
}

int main(int argc, char **argv)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo);
	static const char *const modes[] = { "floor", "floor-multi", "floor-session", "least",
					     "session", "entry" };
	const char *mode = argc == 5 ? argv[4] : "floor";
	struct bpf_program *pin, *pout;
	struct floor_bpf *skel;
	struct bpf_link *in, *out;
	unsigned i;
	int pid;
	long off;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (!strcmp(mode, modes[i]))
			break;
	if ((argc != 4 && argc != 5) || i == sizeof(modes) / sizeof(modes[0])) {
		fprintf(stderr, "usage: bench-floor PID BINARY OFFSET "
				"[floor|floor-multi|floor-session|least|session|entry]\n");
		return 2;
	}
	pid = atoi(argv[1]);
	off = strtol(argv[3], NULL, 0);
	if (!strcmp(mode, "floor-multi"))
		return run_multi(pid, argv[2], (uint64_t)off);
	if (!strcmp(mode, "floor-session") || !strcmp(mode, "session"))
		return run_session(pid, argv[2], (uint64_t)off, !strcmp(mode, "session"));
	skel = floor_bpf__open_and_load();
	if (!skel) {
		perror("bench-floor: load");
		return 1;
	}
	pin = strcmp(mode, "least") ? skel->progs.floor_entry : skel->progs.least_entry;
	pout = strcmp(mode, "least") ? skel->progs.floor_exit : skel->progs.least_exit;
	uo.retprobe = true;
	out = strcmp(mode, "entry") ? bpf_program__attach_uprobe_opts(pout, pid, argv[2], off, &uo) :
				      NULL;
	uo.retprobe = false;
	uo.bpf_cookie = 1;
	in = bpf_program__attach_uprobe_opts(pin, pid, argv[2], off, &uo);
	if (!in || (!out && strcmp(mode, "entry"))) {
		perror("bench-floor: attach");
		return 1;
	}
	wait_signal();
	bpf_link__destroy(in);
	bpf_link__destroy(out);
	floor_bpf__destroy(skel);
	return 0;
}
