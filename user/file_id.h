/* Which file a path really is, as uprobes see it. Under overlayfs, stat and
 * /proc/PID/maps give a device of the overlay mount (one per container), while a
 * mapping's file, and the inode a uprobe is registered on and fires for, is the
 * layer's: two containers sharing a layer run one file under two identities. The
 * identity here is the inode a mapping of the file gets, read back through the
 * tt_file_ids iterator (bpf/file_id.bpf.h); without it, stat's. */
#ifndef TT_FILE_ID_H
#define TT_FILE_ID_H

#include <stdint.h>

struct bpf_program;

/* (dev, ino) of the file path opens, dev as the kernel encodes it (major << 20 |
 * minor). prog: the loaded tt_file_ids iterator, or NULL for stat's identity (also
 * the answer when the iterator fails). 0 or a negative errno (path not openable). */
int file_id__of(const struct bpf_program *prog, const char *path, uint64_t *dev, uint64_t *ino);

#endif
