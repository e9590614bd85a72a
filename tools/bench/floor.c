/* Attaches the empty uprobe + uretprobe pair (bpf/floor.bpf.c) to one symbol of
 * one process, for benchmarks: `bench-floor PID BINARY OFFSET`; runs until killed. */
#include <bpf/libbpf.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "floor.skel.h"

static volatile sig_atomic_t stop;

static void on_sig(int s)
{
	stop = s;
}

int main(int argc, char **argv)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo);
	struct floor_bpf *skel;
	struct bpf_link *in, *out;
	int pid;
	long off;

	if (argc != 4) {
		fprintf(stderr, "usage: bench-floor PID BINARY OFFSET\n");
		return 2;
	}
	pid = atoi(argv[1]);
	off = strtol(argv[3], NULL, 0);
	skel = floor_bpf__open_and_load();
	if (!skel) {
		perror("bench-floor: load");
		return 1;
	}
	uo.retprobe = true;
	out = bpf_program__attach_uprobe_opts(skel->progs.floor_exit, pid, argv[2], off, &uo);
	uo.retprobe = false;
	in = bpf_program__attach_uprobe_opts(skel->progs.floor_entry, pid, argv[2], off, &uo);
	if (!in || !out) {
		perror("bench-floor: attach");
		return 1;
	}
	signal(SIGINT, on_sig);
	signal(SIGTERM, on_sig);
	fprintf(stderr, "bench-floor: attached\n");
	while (!stop)
		pause();
	bpf_link__destroy(in);
	bpf_link__destroy(out);
	floor_bpf__destroy(skel);
	return 0;
}
