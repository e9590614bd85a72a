/* Attach and detach edges (issue 13 item 9), included by ttatrace.bpf.c.
 *
 * Exit probes are attached before entry probes (no frame is left open by a call
 * caught mid-attach). The price: a call that enters between the two links gets a
 * return probe and no entry frame. At the final detach the entries stop opening
 * frames first (edge_stopping), then the exit links go, then the entry links: a call
 * that entered after the stop returns without a frame while its exit link is still
 * in. On a hot target that is thousands of calls, which are not losses: they lie
 * across the edge of the traced interval. They are counted apart:
 * - detach edge: any exit without entry while links are being taken out;
 * - attach edge: one while links are being made, one on a thread that has no traced
 *   entry yet, or one whose stack pointer is above every entry its thread has made
 *   (the call encloses all of them: it entered before the thread's first traced
 *   entry, which a call entered after attach could not do);
 * everything else stays an "exit without entry", a genuine loss that should be 0.
 * Userspace raises the two flags around link work (mmap'ed .bss). */
#ifndef TT_EDGES_BPF_H
#define TT_EDGES_BPF_H

__u32 edge_attaching = 0; /* link creations in progress */
__u32 edge_detaching = 0; /* link removals in progress */
/* The final detach has begun: entries open no frame any more (the exit links go
 * first, see probes.c), exits still pair the frames already open. */
__u32 edge_stopping = 0;

/* An exit that found no frame (and no refused entry to account for). */
static __always_inline void tt_count_orphan_exit(struct tt_kstats *st, struct tt_stack *stk,
						 __u64 sp)
{
	if (!st)
		return;
	if (edge_detaching || edge_stopping)
		st->exit_detach_edge++;
	else if (edge_attaching || !stk || sp > stk->max_entry_sp)
		st->exit_attach_edge++;
	else
		st->exit_no_entry++;
}

/* At every entry the thread makes: the outermost stack pointer seen. */
static __always_inline void tt_edge_entry(struct tt_stack *stk, __u64 sp)
{
	if (sp > stk->max_entry_sp)
		stk->max_entry_sp = sp;
}

#endif
