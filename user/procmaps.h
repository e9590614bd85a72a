/* The executable files a running process has mapped (/proc/PID/maps), i.e. where its code lives
 * and so which ELF files can carry uprobes for it. */
#ifndef TT_PROCMAPS_H
#define TT_PROCMAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct proc_module {
	char *path; /* as in /proc/PID/maps, i.e. in the target's mount namespace */
	char *open_path; /* /proc/PID/root<path>, or /proc/PID/exe for the main binary: opens the
			  * right file from any mount namespace */
	uint64_t inode;
	uint32_t dev_major, dev_minor;
	bool is_main; /* the process's main executable */
};

/*
 * File-backed modules with at least one executable mapping, one entry per (dev, inode), in
 * order of first appearance except that the main executable (if mapped) comes first. Deleted
 * files, anonymous and special mappings ([vdso], [heap], memfd, ...) are left out.
 * 0 and a malloc'd array (free with procmaps__free), or -ESRCH no such process, -EACCES /
 * -EPERM not allowed to read its maps, -EINVAL bad arguments, other negative errnos.
 */
int procmaps__read(pid_t pid, struct proc_module **mods, size_t *n);
void procmaps__free(struct proc_module *mods, size_t n);

/* One line of /proc/PID/maps (NUL-terminated, modified in place) into M: false for
 * lines that name no regular file we could open. *EXEC: the mapping is executable;
 * *PATH points into LINE. procmaps__read() reads every line through it. */
bool procmaps__parse_line(char *line, struct proc_module *m, bool *exec, char **path);

/*
 * Whether a user's module spec names path.
 * - spec with a '/': path is exactly spec, or both exist here and are the same file (stat).
 * - otherwise spec is a name: the basename of path equals spec, or starts with spec followed
 *   by '.' or '-'. So "libc" matches libc.so.6 and libc-2.31.so but not libcurl.so.4, and
 *   "libsqlite3" matches libsqlite3.so.0.8.6; "python3.11" matches /usr/bin/python3.11.
 */
bool procmaps__name_matches(const char *spec, const char *path);

/*
 * The name a process was started as, which a symlinked program does not share with
 * the file it runs (/usr/bin/redis-server -> redis-check-rdb): COMM (the kernel's
 * basename of the path given to execve, at most 15 bytes) unless it was cut there, then
 * the basename of ARGV0 up to a space (argv[0] as rewritten by process titles, e.g.
 * "redis-server *:6379"), when it starts with COMM; ARGV0 alone when COMM is "exe" or
 * a number (exec of /proc/self/exe, fexecve). Either may be NULL. buf gets ""
 * when neither gives a name.
 */
void procmaps__pick_started_name(const char *comm, const char *argv0, char *buf, size_t len);

/* The same from /proc/PID/comm and /proc/PID/cmdline. 0 or a negative errno. */
int procmaps__started_name(pid_t pid, char *buf, size_t len);

/* readlink of /proc/PID/exe into buf, NUL-terminated. 0, -ESRCH no such process, -ENOENT no
 * executable (kernel thread), -ENAMETOOLONG buf too small, -EACCES/-EPERM, -EINVAL. */
int procmaps__exe_path(pid_t pid, char *buf, size_t len);

/* The environment of pid (NUL-separated, NUL-terminated in buf): /proc/PID/environ,
 * or, for another uid's process without CAP_DAC_OVERRIDE, read from its memory with
 * ptrace access (CAP_SYS_PTRACE). The bytes read, or a negative errno. */
ssize_t procmaps__environ(pid_t pid, char *buf, size_t len);

#endif /* TT_PROCMAPS_H */
