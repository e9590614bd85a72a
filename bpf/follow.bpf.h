/* Process following: which processes are traced (traced_tgids), and the fork,
 * exec and exit tracepoints that keep that set current. Included by
 * ttatrace.bpf.c; see include/ttatrace.h for the shared types. */
#ifndef TT_FOLLOW_BPF_H
#define TT_FOLLOW_BPF_H

#include <bpf/bpf_core_read.h>

/* set by userspace before load: add forked children of traced processes */
const volatile bool follow_forks = false;
/* set by userspace before load: every exec is looked at (ttatrace agent) */
const volatile bool agent_mode = false;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct tt_file_key);
	__type(value, __u8);
} probed_exes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TT_MAX_TRACED_PROCS);
	__type(key, __u32); /* tgid */
	__type(value, struct tt_traced);
} traced_tgids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} proc_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tt_follow_stats);
} follow_stats SEC(".maps");

static __always_inline struct tt_follow_stats *follow_st(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&follow_stats, &zero);
}

/* Probe hits from a process that is not traced return at once: links without a
 * pid filter (an executable's, shared by its processes) trap every process
 * running that file. */
static __always_inline bool tt_current_traced(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct tt_follow_stats *fs;

	if (bpf_map_lookup_elem(&traced_tgids, &tgid))
		return true;
	fs = follow_st();
	if (fs)
		fs->foreign_hits++;
	return false;
}

static __always_inline void proc_event_file(__u32 type, __u32 pid, __u32 ppid,
					    const struct tt_file_key *fk)
{
	struct tt_proc_event *e = bpf_ringbuf_reserve(&proc_events, sizeof(*e), 0);
	struct tt_follow_stats *fs;

	if (!e) {
		fs = follow_st();
		if (fs)
			fs->ev_lost++;
		return;
	}
	e->type = type;
	e->pid = pid;
	e->ppid = ppid;
	e->pad = 0;
	e->ts_ns = bpf_ktime_get_ns();
	e->exe_dev = fk ? fk->dev : 0;
	e->exe_ino = fk ? fk->ino : 0;
	bpf_ringbuf_submit(e, 0);
}

static __always_inline void proc_event(__u32 type, __u32 pid, __u32 ppid)
{
	proc_event_file(type, pid, ppid, NULL);
}

/* A new process (not a thread) forked by a traced one is traced before it runs:
 * the tracepoint fires before the child is first woken. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(tt_follow_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = parent->tgid, ctgid = child->tgid;
	struct tt_follow_stats *fs;
	struct tt_traced *pv, cv;

	if (!follow_forks || ctgid == ptgid)
		return 0;
	pv = bpf_map_lookup_elem(&traced_tgids, &ptgid);
	if (!pv)
		return 0;
	cv.parent = ptgid;
	cv.flags = 0;
	cv.exe_dev = pv->exe_dev;
	cv.exe_ino = pv->exe_ino;
	fs = follow_st();
	if (bpf_map_update_elem(&traced_tgids, &ctgid, &cv, BPF_NOEXIST)) {
		if (fs)
			fs->lost++;
		proc_event(TT_PROC_LOST, ctgid, ptgid);
		return 0;
	}
	if (fs)
		fs->forks++;
	proc_event(TT_PROC_FORK, ctgid, ptgid);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(tt_follow_exec, struct task_struct *p)
{
	__u32 tgid = p->tgid;
	struct tt_traced *v = bpf_map_lookup_elem(&traced_tgids, &tgid);
	struct inode *ino = BPF_CORE_READ(p, mm, exe_file, f_inode);
	struct tt_file_key fk = {};

	if (ino) {
		fk.dev = BPF_CORE_READ(ino, i_sb, s_dev);
		fk.ino = BPF_CORE_READ(ino, i_ino);
	}
	if (!v) {
		struct tt_traced nv = { .parent = tgid, .exe_dev = fk.dev, .exe_ino = fk.ino };

		if (!agent_mode)
			return 0;
		/* a program already probed: its shared links see the first call */
		if (ino && bpf_map_lookup_elem(&probed_exes, &fk) &&
		    !bpf_map_update_elem(&traced_tgids, &tgid, &nv, BPF_NOEXIST)) {
			proc_event_file(TT_PROC_EXEC_PROBED, tgid, 0, &fk);
			return 0;
		}
		proc_event(TT_PROC_EXEC_NEW, tgid, 0);
		return 0;
	}
	if (v->flags & TT_TRACED_ROOT)
		return 0;
	if (ino && fk.ino == v->exe_ino && fk.dev == v->exe_dev) {
		proc_event(TT_PROC_EXEC_SAME, tgid, v->parent);
		return 0;
	}
	/* another program (a shell, a helper): not what was asked for */
	bpf_map_delete_elem(&traced_tgids, &tgid);
	proc_event(TT_PROC_EXEC_OTHER, tgid, 0);
	return 0;
}

/* The last thread of a traced process: its entry goes, userspace frees the rest. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(tt_follow_exit, struct task_struct *p)
{
	__u32 tgid = p->tgid;

	if (p->signal->live.counter != 0)
		return 0; /* other threads still run */
	if (!bpf_map_delete_elem(&traced_tgids, &tgid))
		proc_event(TT_PROC_EXIT, tgid, 0);
	return 0;
}

#endif
