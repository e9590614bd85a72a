/* The file a mapping really reads: a task_vma iterator that writes, for each
 * file-backed mapping of one task, its start and the (device, inode) of
 * vma->vm_file. That is the inode uprobes are registered on and fire for: an
 * overlayfs file shows its own device in stat and /proc/PID/maps, different in
 * every container that mounts the same layer, while its mappings (and the
 * kernel's uprobes, through d_real_inode) use the layer's file. Userspace keys
 * the executables' shared links by it (user/file_id.c). Included by ttatrace.bpf.c. */
#ifndef TT_FILE_ID_BPF_H
#define TT_FILE_ID_BPF_H

#include <bpf/bpf_core_read.h>

SEC("iter/task_vma")
int tt_file_ids(struct bpf_iter__task_vma *ctx)
{
	struct vm_area_struct *vma = ctx->vma;
	struct tt_file_id_rec r = {};
	struct file *f;

	if (!vma)
		return 0;
	f = BPF_CORE_READ(vma, vm_file);
	if (!f)
		return 0;
	r.start = BPF_CORE_READ(vma, vm_start);
	r.dev = BPF_CORE_READ(f, f_inode, i_sb, s_dev);
	r.ino = BPF_CORE_READ(f, f_inode, i_ino);
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}

#endif
