/* Reads /proc/PID/maps to find the executable files a process runs code from, and matches the
 * module specs users write ("libc", "/usr/bin/app") against them. */
#include "procmaps.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#define DELETED_SUFFIX " (deleted)"

struct seen {
	struct proc_module mod;
	bool exec;
};

static bool proc_exists(pid_t pid)
{
	char p[64];
	struct stat st;

	snprintf(p, sizeof(p), "/proc/%d", (int)pid);
	return stat(p, &st) == 0;
}

bool procmaps__parse_line(char *line, struct proc_module *m, bool *exec, char **path)
{
	unsigned long long start, end, off, ino;
	unsigned int maj, min;
	char perms[8];
	int pos = 0;
	size_t len;
	char *p;

	if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %n", &start, &end, perms, &off, &maj, &min,
		   &ino, &pos) < 7 || pos == 0)
		return false;
	p = line + pos;
	len = strlen(p);
	if (len && p[len - 1] == '\n')
		p[--len] = '\0';
	/* [vdso], [heap] and anon_inode:... have no path we can open; inode 0 is anonymous */
	if (ino == 0 || p[0] != '/')
		return false;
	/* the file is gone: uprobes need an inode reachable by path */
	if (len >= strlen(DELETED_SUFFIX) &&
	    strcmp(p + len - strlen(DELETED_SUFFIX), DELETED_SUFFIX) == 0)
		return false;
	m->inode = ino;
	m->dev_major = maj;
	m->dev_minor = min;
	*exec = strchr(perms, 'x') != NULL;
	*path = p;
	return true;
}

static int add_module(struct seen **list, size_t *n, size_t *cap, const struct proc_module *m,
		      const char *path, bool exec)
{
	for (size_t i = 0; i < *n; i++) {
		struct seen *s = &(*list)[i];

		if (s->mod.inode == m->inode && s->mod.dev_major == m->dev_major &&
		    s->mod.dev_minor == m->dev_minor) {
			s->exec |= exec;
			return 0;
		}
	}
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 32;
		struct seen *p = realloc(*list, c * sizeof(*p));

		if (!p)
			return -ENOMEM;
		*list = p;
		*cap = c;
	}
	struct seen *s = &(*list)[*n];

	memset(s, 0, sizeof(*s));
	s->mod = *m;
	s->exec = exec;
	s->mod.path = strdup(path);
	if (!s->mod.path)
		return -ENOMEM;
	(*n)++;
	return 0;
}

/* Index of the main executable in list, or -1. Compares (dev, inode) first; overlayfs shows
 * the underlying file's device in maps but its own in stat, so falls back to the inode with the
 * path the exe link shows, then to the path alone. */
static long find_main(pid_t pid, const struct seen *list, size_t n)
{
	char link[64], exe[PATH_MAX];
	struct stat st;
	bool have_st;
	int err;

	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	have_st = stat(link, &st) == 0;
	err = procmaps__exe_path(pid, exe, sizeof(exe));
	if (have_st) {
		for (size_t i = 0; i < n; i++) {
			const struct proc_module *m = &list[i].mod;

			if (m->inode == (uint64_t)st.st_ino && m->dev_major == major(st.st_dev) &&
			    m->dev_minor == minor(st.st_dev))
				return (long)i;
		}
	}
	if (err)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const struct proc_module *m = &list[i].mod;

		if (strcmp(m->path, exe) == 0 && (!have_st || m->inode == (uint64_t)st.st_ino))
			return (long)i;
	}
	for (size_t i = 0; i < n; i++) {
		if (strcmp(list[i].mod.path, exe) == 0)
			return (long)i;
	}
	return -1;
}

static char *make_open_path(pid_t pid, const struct proc_module *m)
{
	char *s = NULL;

	if (m->is_main) {
		if (asprintf(&s, "/proc/%d/exe", (int)pid) < 0)
			return NULL;
	} else if (asprintf(&s, "/proc/%d/root%s", (int)pid, m->path) < 0) {
		return NULL;
	}
	return s;
}

int procmaps__read(pid_t pid, struct proc_module **mods, size_t *n)
{
	struct seen *list = NULL;
	struct proc_module *out = NULL;
	size_t cnt = 0, cap = 0, n_out = 0;
	char *line = NULL;
	size_t line_cap = 0;
	char maps[64];
	FILE *f = NULL;
	long main_idx;
	int err = 0;

	if (!mods || !n || pid <= 0)
		return -EINVAL;
	*mods = NULL;
	*n = 0;
	snprintf(maps, sizeof(maps), "/proc/%d/maps", (int)pid);
	f = fopen(maps, "re");
	if (!f) {
		err = errno == ENOENT ? -ESRCH : -errno;
		goto cleanup;
	}
	errno = 0;
	while (getline(&line, &line_cap, f) > 0) {
		struct proc_module m = { 0 };
		bool exec;
		char *path;

		if (!procmaps__parse_line(line, &m, &exec, &path))
			continue;
		err = add_module(&list, &cnt, &cap, &m, path, exec);
		if (err)
			goto cleanup;
	}
	if (ferror(f)) {
		err = errno ? -errno : -EIO;
		goto cleanup;
	}
	/* a process that exits between open and read shows an empty map */
	if (cnt == 0 && !proc_exists(pid)) {
		err = -ESRCH;
		goto cleanup;
	}

	main_idx = find_main(pid, list, cnt);
	out = calloc(cnt ? cnt : 1, sizeof(*out));
	if (!out) {
		err = -ENOMEM;
		goto cleanup;
	}
	if (main_idx >= 0 && list[main_idx].exec) {
		out[n_out] = list[main_idx].mod;
		out[n_out].is_main = true;
		list[main_idx].mod.path = NULL;
		n_out++;
	}
	for (size_t i = 0; i < cnt; i++) {
		if (!list[i].exec || !list[i].mod.path)
			continue;
		out[n_out++] = list[i].mod;
		list[i].mod.path = NULL;
	}
	for (size_t i = 0; i < n_out; i++) {
		out[i].open_path = make_open_path(pid, &out[i]);
		if (!out[i].open_path) {
			err = -ENOMEM;
			goto cleanup;
		}
	}
	*mods = out;
	*n = n_out;
	out = NULL;

cleanup:
	procmaps__free(out, n_out);
	for (size_t i = 0; i < cnt; i++)
		free(list[i].mod.path);
	free(list);
	free(line);
	if (f)
		fclose(f);
	return err;
}

void procmaps__free(struct proc_module *mods, size_t n)
{
	if (!mods)
		return;
	for (size_t i = 0; i < n; i++) {
		free(mods[i].path);
		free(mods[i].open_path);
	}
	free(mods);
}

bool procmaps__name_matches(const char *spec, const char *path)
{
	const char *base;
	size_t len;

	if (!spec || !path || !*spec || !*path)
		return false;
	if (strchr(spec, '/')) {
		struct stat a, b;

		if (strcmp(spec, path) == 0)
			return true;
		return stat(spec, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
		       a.st_ino == b.st_ino;
	}
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	len = strlen(spec);
	if (strncmp(base, spec, len) != 0)
		return false;
	return base[len] == '\0' || base[len] == '.' || base[len] == '-';
}

/* TASK_COMM_LEN - 1: a comm this long may have been cut */
#define COMM_MAX_LEN 15

void procmaps__pick_started_name(const char *comm, const char *argv0, char *buf, size_t len)
{
	const char *base = NULL;
	size_t clen = comm ? strcspn(comm, "\n") : 0, blen = 0;

	if (!len)
		return;
	buf[0] = '\0';
	if (argv0 && *argv0) {
		const char *slash;

		blen = strcspn(argv0, " "); /* a process title: "redis-server *:6379" */
		slash = memrchr(argv0, '/', blen);
		base = slash ? slash + 1 : argv0;
		blen -= (size_t)(base - argv0);
	}
	/* exec of /proc/self/exe or an fd (fexecve: /dev/fd/N) names no program in comm */
	if (clen && base && blen && ((clen == 3 && !strncmp(comm, "exe", 3)) ||
				     strspn(comm, "0123456789") == clen))
		clen = 0;
	if (clen && (clen < COMM_MAX_LEN || !base || blen < clen || strncmp(base, comm, clen)))
		snprintf(buf, len, "%.*s", (int)clen, comm);
	else if (base && blen)
		snprintf(buf, len, "%.*s", (int)blen, base);
}

static ssize_t read_proc_file(pid_t pid, const char *name, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

int procmaps__started_name(pid_t pid, char *buf, size_t len)
{
	char comm[32], argv0[PATH_MAX];
	ssize_t c, a;

	if (!buf || !len || pid <= 0)
		return -EINVAL;
	buf[0] = '\0';
	c = read_proc_file(pid, "comm", comm, sizeof(comm));
	a = read_proc_file(pid, "cmdline", argv0, sizeof(argv0)); /* argv[0] ends at its NUL */
	if (c < 0 && a < 0)
		return (int)c;
	procmaps__pick_started_name(c > 0 ? comm : NULL, a > 0 ? argv0 : NULL, buf, len);
	return 0;
}

int procmaps__exe_path(pid_t pid, char *buf, size_t len)
{
	char link[64];
	ssize_t r;

	if (!buf || len == 0 || pid <= 0)
		return -EINVAL;
	buf[0] = '\0';
	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	r = readlink(link, buf, len);
	if (r < 0) {
		int err = -errno;

		/* ENOENT is also what a kernel thread's exe link says */
		if (err == -ENOENT && !proc_exists(pid))
			return -ESRCH;
		buf[0] = '\0';
		return err;
	}
	if ((size_t)r >= len) {
		buf[0] = '\0';
		return -ENAMETOOLONG;
	}
	buf[r] = '\0';
	return 0;
}

/* /proc/PID/environ is mode 0400 and its owner's: uid 0 without CAP_DAC_OVERRIDE cannot
 * open another uid's. The kernel shows where the environment lies (/proc/PID/stat
 * fields 50 and 51, env_start and env_end) to whoever may ptrace-read the process,
 * and process_vm_readv reads it with CAP_SYS_PTRACE: the agent's documented set. */
ssize_t procmaps__environ(pid_t pid, char *buf, size_t len)
{
	char stat[2048], *p;
	unsigned long long start = 0, end = 0;
	struct iovec loc, rem;
	ssize_t n;
	int field;

	if (!buf || len < 2 || pid <= 0)
		return -EINVAL;
	n = read_proc_file(pid, "environ", buf, len);
	if (n >= 0 || (n != -EACCES && n != -EPERM))
		return n;
	n = read_proc_file(pid, "stat", stat, sizeof(stat));
	if (n < 0)
		return n;
	/* the command name may hold spaces and parentheses: fields follow the last ')' */
	p = strrchr(stat, ')');
	for (field = 2; p && field < 50; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%llu %llu", &start, &end) != 2 || !start || end <= start)
		return -EACCES;
	loc.iov_base = buf;
	loc.iov_len = end - start < len - 1 ? end - start : len - 1;
	rem.iov_base = (void *)(uintptr_t)start;
	rem.iov_len = loc.iov_len;
	n = process_vm_readv(pid, &loc, 1, &rem, 1, 0);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return n;
}
