/* Unit tests for user/procmaps.c: reading this process's and a child's maps, module name specs,
 * and the errors for missing or forbidden processes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "procmaps.h"

extern char **environ;

static char g_build[512];
static char g_tmp[600];

static void fixture(char *buf, size_t len, const char *name)
{
	struct stat st;

	snprintf(buf, len, "%s/fixtures/%s", g_build, name);
	if (stat(buf, &st))
		fail_msg("fixture %s missing (build it: make BUILD=%s %s)", buf, g_build, buf);
}

static void copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	ssize_t n;

	assert_true(in >= 0 && out >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	assert_int_equal(n, 0);
	close(in);
	close(out);
}

static const struct proc_module *find_inode(const struct proc_module *m, size_t n, dev_t dev,
					    ino_t ino)
{
	for (size_t i = 0; i < n; i++) {
		if (m[i].inode == (uint64_t)ino && m[i].dev_major == major(dev) &&
		    m[i].dev_minor == minor(dev))
			return &m[i];
	}
	return NULL;
}

static const struct proc_module *find_name(const struct proc_module *m, size_t n,
					   const char *spec)
{
	const struct proc_module *hit = NULL;

	for (size_t i = 0; i < n; i++) {
		if (procmaps__name_matches(spec, m[i].path)) {
			if (hit)
				fail_msg("%s matches %s and %s", spec, hit->path, m[i].path);
			hit = &m[i];
		}
	}
	return hit;
}

/* Properties every successful read must have, for any process. */
static void check_invariants(pid_t pid, const struct proc_module *m, size_t n)
{
	size_t mains = 0;

	for (size_t i = 0; i < n; i++) {
		char want[PATH_MAX + 64];
		struct stat st;

		assert_non_null(m[i].path);
		assert_non_null(m[i].open_path);
		assert_true(m[i].path[0] == '/');
		assert_null(strstr(m[i].path, "(deleted)"));
		assert_true(m[i].inode != 0);
		if (m[i].is_main) {
			assert_int_equal(i, 0);
			mains++;
			snprintf(want, sizeof(want), "/proc/%d/exe", (int)pid);
		} else {
			snprintf(want, sizeof(want), "/proc/%d/root%s", (int)pid, m[i].path);
		}
		assert_string_equal(m[i].open_path, want);
		/* open_path reaches the very file maps names */
		if (stat(m[i].open_path, &st))
			fail_msg("stat %s: %s", m[i].open_path, strerror(errno));
		assert_int_equal(st.st_ino, m[i].inode);
		for (size_t j = 0; j < i; j++) {
			if (m[i].inode == m[j].inode && m[i].dev_major == m[j].dev_major &&
			    m[i].dev_minor == m[j].dev_minor)
				fail_msg("%s listed twice", m[i].path);
		}
	}
	assert_int_equal(mains, 1);
}

/* Our own view of /proc/PID/maps: how many distinct files have an executable mapping. */
static size_t count_exec_files(pid_t pid)
{
	struct {
		unsigned maj, min;
		unsigned long long ino;
	} seen[512];
	size_t n = 0;
	char path[64], line[4096];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char perms[8], name[4096] = "";
		unsigned maj, min;
		unsigned long long ino;
		bool dup = false;

		if (sscanf(line, "%*x-%*x %7s %*x %x:%x %llu %4095[^\n]", perms, &maj, &min, &ino,
			   name) < 4)
			continue;
		if (!strchr(perms, 'x') || ino == 0 || name[0] != '/' || strstr(name, " (deleted)"))
			continue;
		for (size_t i = 0; i < n; i++)
			dup |= seen[i].maj == maj && seen[i].min == min && seen[i].ino == ino;
		if (!dup) {
			assert_true(n < 512);
			seen[n].maj = maj;
			seen[n].min = min;
			seen[n].ino = ino;
			n++;
		}
	}
	fclose(f);
	return n;
}

static void test_self(void **state)
{
	(void)state;
	struct proc_module *m = NULL;
	size_t n = 0;
	char exe[PATH_MAX];
	struct stat st;
	ssize_t len;
	const struct proc_module *libc;

	assert_int_equal(procmaps__read(getpid(), &m, &n), 0);
	assert_non_null(m);
	assert_true(n >= 3); /* the test binary, libc, ld.so at least */
	check_invariants(getpid(), m, n);
	assert_int_equal(n, count_exec_files(getpid()));

	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(len > 0);
	exe[len] = '\0';
	assert_true(m[0].is_main);
	assert_string_equal(m[0].path, exe);
	assert_int_equal(stat("/proc/self/exe", &st), 0);
	assert_int_equal(m[0].inode, st.st_ino);
	assert_int_equal(m[0].dev_major, major(st.st_dev));
	assert_int_equal(m[0].dev_minor, minor(st.st_dev));

	libc = find_name(m, n, "libc");
	assert_non_null(libc);
	assert_false(libc->is_main);
	assert_non_null(strstr(libc->path, "libc.so"));
	assert_non_null(find_name(m, n, "libc.so.6"));
	assert_non_null(find_name(m, n, "libcmocka"));
	assert_non_null(find_name(m, n, "libelf"));
	assert_null(find_name(m, n, "libnotloaded"));
	assert_null(find_name(m, n, "[vdso]"));
	procmaps__free(m, n);
}

/* A library loaded at run time appears; a file mapped without exec permission does not; a
 * library whose file was deleted after loading is left out. */
static void test_dlopen_and_mmap(void **state)
{
	(void)state;
	char lib[600], copy[700], data[700];
	struct proc_module *m = NULL;
	size_t n = 0;
	struct stat lst, cst, dst;
	void *h, *h2, *map;
	int fd;

	fixture(lib, sizeof(lib), "libsymtest.so");
	assert_int_equal(stat(lib, &lst), 0);
	snprintf(copy, sizeof(copy), "%s/libsymtest-deleted.so", g_tmp);
	copy_file(lib, copy);
	assert_int_equal(stat(copy, &cst), 0);
	snprintf(data, sizeof(data), "%s/data.bin", g_tmp);
	copy_file(lib, data);
	assert_int_equal(stat(data, &dst), 0);

	h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		fail_msg("dlopen %s: %s", lib, dlerror());
	h2 = dlopen(copy, RTLD_NOW | RTLD_LOCAL);
	if (!h2)
		fail_msg("dlopen %s: %s", copy, dlerror());
	fd = open(data, O_RDONLY);
	assert_true(fd >= 0);
	map = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	assert_true(map != MAP_FAILED);
	close(fd);

	/* before the unlink both copies of the library show up */
	assert_int_equal(procmaps__read(getpid(), &m, &n), 0);
	check_invariants(getpid(), m, n);
	assert_non_null(find_inode(m, n, lst.st_dev, lst.st_ino));
	assert_non_null(find_inode(m, n, cst.st_dev, cst.st_ino));
	assert_null(find_inode(m, n, dst.st_dev, dst.st_ino)); /* read-only data */
	assert_string_equal(find_inode(m, n, lst.st_dev, lst.st_ino)->path,
			    realpath(lib, (char[PATH_MAX]){ 0 }));
	procmaps__free(m, n);

	assert_int_equal(unlink(copy), 0);
	assert_int_equal(procmaps__read(getpid(), &m, &n), 0);
	check_invariants(getpid(), m, n);
	assert_non_null(find_inode(m, n, lst.st_dev, lst.st_ino));
	assert_null(find_inode(m, n, cst.st_dev, cst.st_ino));
	assert_int_equal(n, count_exec_files(getpid()));
	procmaps__free(m, n);

	munmap(map, 4096);
	dlclose(h2);
	dlclose(h);
	/* and after dlclose the library is gone again */
	assert_int_equal(procmaps__read(getpid(), &m, &n), 0);
	assert_null(find_inode(m, n, lst.st_dev, lst.st_ino));
	procmaps__free(m, n);
	unlink(data);
}

/* Another process: its executable first, its libc found, read from outside. */
static void test_child_process(void **state)
{
	(void)state;
	char *argv[] = { "sleep", "30", NULL };
	struct proc_module *m = NULL;
	size_t n = 0;
	struct stat sst;
	pid_t pid;
	int st, tries;

	assert_int_equal(stat("/bin/sleep", &sst), 0);
	assert_int_equal(posix_spawn(&pid, "/bin/sleep", NULL, NULL, argv, environ), 0);
	/* wait until the dynamic loader has mapped libc */
	for (tries = 0; tries < 500; tries++) {
		assert_int_equal(procmaps__read(pid, &m, &n), 0);
		if (n && m[0].is_main && find_name(m, n, "libc"))
			break;
		procmaps__free(m, n);
		m = NULL;
		nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
	}
	assert_true(tries < 500);
	check_invariants(pid, m, n);
	assert_int_equal(n, count_exec_files(pid));
	assert_int_equal(m[0].inode, sst.st_ino);
	assert_true(procmaps__name_matches("sleep", m[0].path));
	assert_true(procmaps__name_matches("/bin/sleep", m[0].path));
	{
		char exe[PATH_MAX];

		assert_int_equal(procmaps__exe_path(pid, exe, sizeof(exe)), 0);
		assert_string_equal(exe, m[0].path);
	}
	procmaps__free(m, n);

	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	/* reaped: the pid is free now (reuse within this test is not plausible) */
	m = NULL;
	n = 1;
	assert_int_equal(procmaps__read(pid, &m, &n), -ESRCH);
	assert_null(m);
	assert_int_equal(n, 0);
}

static void test_name_matches(void **state)
{
	(void)state;
	static const struct {
		const char *spec, *path;
		bool want;
	} c[] = {
		{ "libsqlite3", "/usr/lib/x86_64-linux-gnu/libsqlite3.so.0.8.6", true },
		{ "libsqlite3", "/usr/lib/x86_64-linux-gnu/libsqlite3.so.0", true },
		{ "libsqlite3.so.0", "/usr/lib/x86_64-linux-gnu/libsqlite3.so.0.8.6", true },
		{ "libsqlite3.so.0.8.6", "/usr/lib/x86_64-linux-gnu/libsqlite3.so.0.8.6", true },
		{ "libsqlite", "/usr/lib/x86_64-linux-gnu/libsqlite3.so.0.8.6", false },
		{ "libsqlite3.so.1", "/usr/lib/x86_64-linux-gnu/libsqlite3.so.0.8.6", false },
		{ "libc", "/usr/lib/x86_64-linux-gnu/libc.so.6", true },
		{ "libc", "/lib/x86_64-linux-gnu/libc-2.31.so", true },
		{ "libc", "/usr/lib/x86_64-linux-gnu/libcurl.so.4", false },
		{ "libc", "/usr/lib/x86_64-linux-gnu/libcrypto.so.3", false },
		{ "libc", "/usr/lib/x86_64-linux-gnu/libcap.so.2", false },
		{ "libc", "/usr/lib/libc_malloc_debug.so.0", false },
		{ "libcrypto", "/usr/lib/x86_64-linux-gnu/libcrypto.so.3", true },
		{ "libpython3.11", "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0", true },
		{ "libpython3", "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0", true },
		{ "python3.11", "/usr/bin/python3.11", true },
		{ "python3", "/usr/bin/python3.11", true }, /* "python3" then '.' */
		{ "python", "/usr/bin/python3.11", false },
		{ "workflow-demo", "/work/main/build/workflow-demo", true },
		{ "workflow", "/work/main/build/workflow-demo", true }, /* then '-' */
		{ "workflow-dem", "/work/main/build/workflow-demo", false },
		{ "workflow-demo", "/work/main/build/workflow-demo-stripped", true },
		{ "demo", "/work/main/build/workflow-demo", false }, /* a suffix is not enough */
		{ "build", "/work/main/build/workflow-demo", false }, /* directories do not count */
		{ "ld-linux-x86-64", "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", true },
		{ "app", "app", true }, /* bare names without a directory */
		{ "app", "/app", true },
		{ "", "/usr/lib/libc.so.6", false },
		{ "libc", "", false },
		/* specs with a '/' are paths */
		{ "/usr/bin/python3.11", "/usr/bin/python3.11", true },
		/* no prefix rule for paths */
		{ "/usr/bin/python3.1", "/usr/bin/python3.11", false },
		{ "/nonexistent/dir/libc.so.6", "/nonexistent/dir/libc.so.6", true },
		{ "/nonexistent/dir/libc.so.6", "/nonexistent/other/libc.so.6", false },
		{ "bin/python3.11", "/usr/bin/python3.11", false },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		if (procmaps__name_matches(c[i].spec, c[i].path) != c[i].want)
			fail_msg("procmaps__name_matches(\"%s\", \"%s\") != %d", c[i].spec,
				 c[i].path, c[i].want);
	}
	assert_false(procmaps__name_matches(NULL, "/usr/lib/libc.so.6"));
	assert_false(procmaps__name_matches("libc", NULL));
}

/* Path specs also match the same file reached another way (symlinks, /proc/PID/exe). */
static void test_name_matches_same_file(void **state)
{
	(void)state;
	struct proc_module *m = NULL;
	size_t n = 0;
	const struct proc_module *libc;
	char exe[PATH_MAX], link[700], real[PATH_MAX];
	ssize_t len;

	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(len > 0);
	exe[len] = '\0';
	assert_true(procmaps__name_matches("/proc/self/exe", exe));
	assert_false(procmaps__name_matches("/bin/sh", exe));

	snprintf(link, sizeof(link), "%s/exe-link", g_tmp);
	assert_int_equal(symlink(exe, link), 0);
	assert_true(procmaps__name_matches(link, exe));
	unlink(link);

	assert_int_equal(procmaps__read(getpid(), &m, &n), 0);
	libc = find_name(m, n, "libc");
	assert_non_null(libc);
	assert_non_null(realpath(libc->path, real));
	assert_true(procmaps__name_matches(real, libc->path));
	/* Debian's merged /usr: /lib/... is /usr/lib/... through a symlink */
	if (strncmp(libc->path, "/usr/lib/", 9) == 0) {
		char alt[PATH_MAX];

		snprintf(alt, sizeof(alt), "%s", libc->path + 4);
		assert_true(procmaps__name_matches(alt, libc->path));
	}
	assert_false(procmaps__name_matches(exe, libc->path));
	procmaps__free(m, n);
}

static void test_exe_path(void **state)
{
	(void)state;
	char want[PATH_MAX], got[PATH_MAX], tiny[4];
	ssize_t len = readlink("/proc/self/exe", want, sizeof(want) - 1);

	assert_true(len > 0);
	want[len] = '\0';
	assert_int_equal(procmaps__exe_path(getpid(), got, sizeof(got)), 0);
	assert_string_equal(got, want);
	assert_int_equal(procmaps__exe_path(getpid(), tiny, sizeof(tiny)), -ENAMETOOLONG);
	assert_string_equal(tiny, "");
	/* exactly long enough: the path plus its NUL */
	assert_int_equal(procmaps__exe_path(getpid(), got, (size_t)len + 1), 0);
	assert_string_equal(got, want);
	assert_int_equal(procmaps__exe_path(getpid(), got, (size_t)len), -ENAMETOOLONG);
	assert_int_equal(procmaps__exe_path(0, got, sizeof(got)), -EINVAL);
	assert_int_equal(procmaps__exe_path(getpid(), NULL, 10), -EINVAL);
	assert_int_equal(procmaps__exe_path(getpid(), got, 0), -EINVAL);
}

static pid_t unused_pid(void)
{
	FILE *f = fopen("/proc/sys/kernel/pid_max", "r");
	long max = 0;

	assert_non_null(f);
	assert_int_equal(fscanf(f, "%ld", &max), 1);
	fclose(f);
	/* above pid_max no process can exist */
	return (pid_t)(max + 1);
}

static void test_errors(void **state)
{
	(void)state;
	struct proc_module *m = (struct proc_module *)1;
	size_t n = 7;
	char buf[64];
	pid_t none = unused_pid();

	assert_int_equal(procmaps__read(none, &m, &n), -ESRCH);
	assert_null(m);
	assert_int_equal(n, 0);
	assert_int_equal(procmaps__exe_path(none, buf, sizeof(buf)), -ESRCH);
	assert_int_equal(procmaps__read(0, &m, &n), -EINVAL);
	assert_int_equal(procmaps__read(-1, &m, &n), -EINVAL);
	assert_int_equal(procmaps__read(getpid(), NULL, &n), -EINVAL);
	assert_int_equal(procmaps__read(getpid(), &m, NULL), -EINVAL);
	procmaps__free(NULL, 0);
	procmaps__free(NULL, 5);
}

/* Reading a process we may not trace fails with EACCES (or EPERM) from both calls. */
static void expect_denied(pid_t target)
{
	struct proc_module *m = NULL;
	size_t n = 0;
	char buf[PATH_MAX];
	int r = procmaps__read(target, &m, &n);

	if (r != -EACCES && r != -EPERM)
		fail_msg("procmaps__read(%d) = %d, want -EACCES or -EPERM", (int)target, r);
	assert_null(m);
	r = procmaps__exe_path(target, buf, sizeof(buf));
	if (r != -EACCES && r != -EPERM)
		fail_msg("procmaps__exe_path(%d) = %d, want -EACCES or -EPERM", (int)target, r);
}

/* As root (CAP_SYS_PTRACE reads everything) the reader is a child that has dropped to an
 * unprivileged uid and the target is this root-owned process. Otherwise the target is a child
 * that made itself non-dumpable, which forbids same-uid readers too. */
static void test_permission(void **state)
{
	(void)state;
	int pipefd[2], st;
	pid_t pid;
	char c;

	if (geteuid() == 0) {
		pid_t target = getpid();

		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			struct proc_module *m = NULL;
			size_t n = 0;
			char buf[PATH_MAX];
			int r, r2;

			if (setgid(65534) || setuid(65534))
				_exit(100);
			r = procmaps__read(target, &m, &n);
			r2 = procmaps__exe_path(target, buf, sizeof(buf));
			if (r != -EACCES && r != -EPERM)
				_exit(101);
			_exit(r2 == -EACCES || r2 == -EPERM ? 0 : 102);
		}
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
		return;
	}
	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pipefd[0]);
		if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0))
			_exit(100);
		if (write(pipefd[1], "r", 1) != 1)
			_exit(101);
		pause();
		_exit(0);
	}
	close(pipefd[1]);
	assert_int_equal(read(pipefd[0], &c, 1), 1);
	close(pipefd[0]);
	expect_denied(pid);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &st, 0), pid);
}

/* The name a process was started as (issue 13 item 18): a symlinked program keeps
 * the symlink's name in comm and argv[0], not the file's. */
static void test_started_name(void **state)
{
	char b[64];

	(void)state;
	/* /usr/bin/redis-server -> redis-check-rdb, title rewritten */
	procmaps__pick_started_name("redis-server\n", "redis-server *:6379", b, sizeof(b));
	assert_string_equal(b, "redis-server");
	/* comm is whole below 15 bytes: argv[0] rewritten to another word does not win */
	procmaps__pick_started_name("postgres\n", "postgres: writer", b, sizeof(b));
	assert_string_equal(b, "postgres");
	procmaps__pick_started_name("busybox\n", "ls", b, sizeof(b));
	assert_string_equal(b, "busybox");
	/* comm cut at 15 bytes: the rest from argv[0]'s basename, up to a space */
	procmaps__pick_started_name("a-very-long-pro\n", "/opt/x/a-very-long-program-name --flag", b,
				    sizeof(b));
	assert_string_equal(b, "a-very-long-program-name");
	/* ...but not from an argv[0] that is another name */
	procmaps__pick_started_name("a-very-long-pro\n", "other", b, sizeof(b));
	assert_string_equal(b, "a-very-long-pro");
	/* exec'd through /proc/self/exe or fexecve: argv[0] names it */
	procmaps__pick_started_name("exe\n", "/usr/bin/redis-server", b, sizeof(b));
	assert_string_equal(b, "redis-server");
	procmaps__pick_started_name("4\n", "redis-server", b, sizeof(b));
	assert_string_equal(b, "redis-server");
	procmaps__pick_started_name("exe\n", "", b, sizeof(b));
	assert_string_equal(b, "exe");
	procmaps__pick_started_name(NULL, "./srv arg", b, sizeof(b));
	assert_string_equal(b, "srv");
	procmaps__pick_started_name(NULL, NULL, b, sizeof(b));
	assert_string_equal(b, "");
	procmaps__pick_started_name("", "", b, sizeof(b));
	assert_string_equal(b, "");
	/* this process, started as test_procmaps */
	assert_int_equal(procmaps__started_name(getpid(), b, sizeof(b)), 0);
	assert_string_equal(b, "test_procmaps");
}

static int setup(void **state)
{
	const char *b = getenv("TT_BUILD_DIR");

	(void)state;
	snprintf(g_build, sizeof(g_build), "%s", b && *b ? b : "build");
	/* inside the build tree, not /tmp: dlopen needs a filesystem mounted with exec */
	snprintf(g_tmp, sizeof(g_tmp), "%s/tests/tmp-procmaps-XXXXXX", g_build);
	if (!mkdtemp(g_tmp)) {
		fprintf(stderr, "mkdtemp %s: %s (is TT_BUILD_DIR the build directory?)\n", g_tmp,
			strerror(errno));
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	char cmd[700];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_tmp);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_self),
		cmocka_unit_test(test_dlopen_and_mmap),
		cmocka_unit_test(test_child_process),
		cmocka_unit_test(test_name_matches),
		cmocka_unit_test(test_name_matches_same_file),
		cmocka_unit_test(test_exe_path),
		cmocka_unit_test(test_started_name),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_permission),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
