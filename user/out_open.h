/* Opening output files (-o, --folded, --svg, `flamegraph -o`) safely as root:
 * close-on-exec (the traced program must not inherit them), a final symlink
 * followed only where the kernel's protected_symlinks would follow it (never one
 * planted by another user in a sticky world-writable directory such as /tmp), and
 * only regular files truncated (a pipe or a tty are written as they are; paths
 * under /dev/ and /proc/, such as /dev/stdout, are appended to, so that
 * `-o /dev/stdout >> log` keeps the log). */
#ifndef TT_OUT_OPEN_H
#define TT_OUT_OPEN_H

#include <stdbool.h>
#include <stdio.h>

/* Opens PATH for writing ("-" is stdout, returned as is). NULL + errno on failure:
 * EPERM for a refused symlink, EISDIR, ENXIO for a FIFO without a reader. */
FILE *out_open(const char *path);

/* The file descriptor behind out_open() (-1 + errno); TRUNCATE false leaves a
 * regular file's content alone (a check that the path can be written). */
int out_open_fd(const char *path, bool truncate);

/* Whether PATH is a symlink that out_open() refuses to follow: 1 yes, 0 no,
 * negative errno when its directory cannot be examined. */
int out_open__symlink_refused(const char *path);

/* A regular file (not a symlink) or nothing yet at PATH: callers that replace the
 * file by rename() ask this first and otherwise write through out_open(). */
bool out_open__is_regular_or_absent(const char *path);

/* Why out_open(PATH) failed with ERR, for "cannot open X: <why>". */
const char *out_open__strerror(const char *path, int err);

#endif
