/* The shared libraries a program will map before main, found without starting it:
 * its ELF interpreter (the dynamic loader) in list mode resolves DT_NEEDED with the
 * loader's own search rules and prints the paths, and never runs the program. Used
 * by --list-probes and the histogram sizing in launch mode. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "needed_libs.h"

/* The PT_INTERP path of an ELF file; -ENOENT when static (none). */
static int elf_interp(const char *exe, char *out, size_t len)
{
	int fd = open(exe, O_RDONLY | O_CLOEXEC), err = -ENOENT;
	size_t i, n = 0;
	Elf *e;

	if (fd < 0)
		return -errno;
	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e || elf_getphdrnum(e, &n)) {
		err = -ENOEXEC;
		goto out;
	}
	for (i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_INTERP)
			continue;
		if (ph.p_filesz == 0 || ph.p_filesz >= len ||
		    pread(fd, out, ph.p_filesz, (off_t)ph.p_offset) != (ssize_t)ph.p_filesz) {
			err = -ENOEXEC;
			goto out;
		}
		out[ph.p_filesz] = 0;
		err = out[0] == '/' ? 0 : -ENOEXEC;
		break;
	}
out:
	elf_end(e);
	close(fd);
	return err;
}

/* One line of the loader's list: "\tname => /path (0x...)" or "\t/path (0x...)". */
static const char *line_path(char *line)
{
	char *p = strstr(line, "=> "), *end;

	p = p ? p + 3 : line + strspn(line, " \t");
	if (*p != '/')
		return NULL; /* "not found", the vdso */
	end = strstr(p, " (0x");
	if (end)
		*end = 0;
	else
		p[strcspn(p, "\n")] = 0;
	return p;
}

int needed_libs__list(const char *exe, int (*fn)(void *ctx, const char *path), void *ctx)
{
	char interp[4096], line[4352];
	char *argv[] = { interp, "--list", (char *)exe, NULL };
	char *envp[] = { NULL };
	posix_spawn_file_actions_t fa;
	int pipefd[2], status, r, n = 0, err = 0;
	struct stat sb;
	pid_t pid;
	FILE *in;

	r = elf_interp(exe, interp, sizeof(interp));
	if (r)
		return r == -ENOENT ? 0 : r;
	/* the program picks its interpreter: run only a system one (root's, not
	 * writable by others), never something the program brought along */
	if (stat(interp, &sb) || sb.st_uid != 0 || (sb.st_mode & (S_IWGRP | S_IWOTH)) ||
	    !S_ISREG(sb.st_mode))
		return -EPERM;
	if (pipe2(pipefd, O_CLOEXEC))
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	r = posix_spawn(&pid, interp, &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	if (r) {
		close(pipefd[0]);
		return -r;
	}
	in = fdopen(pipefd[0], "r");
	if (!in) {
		err = -errno;
		close(pipefd[0]);
		kill(pid, SIGKILL);
	} else {
		while (fgets(line, sizeof(line), in)) {
			const char *path = line_path(line);

			if (!path || !strcmp(path, exe))
				continue;
			r = fn(ctx, path);
			if (r < 0 && !err)
				err = r;
			n++;
		}
		fclose(in);
	}
	/* its exit status only says whether every library was found: the ones
	 * that were are listed either way */
	if (waitpid(pid, &status, 0) < 0 && !err)
		err = -errno;
	return err ? err : n;
}
