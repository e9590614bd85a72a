/* stderr as JSON lines (see logjson.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "logjson.h"

static int orig_fd = -1;
static FILE *orig;
static int pipe_r = -1;
static pthread_t reader;

static void emit(const char *line)
{
	struct timespec ts;
	struct tm tm;
	char when[40];
	const char *level = "info", *msg = line;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	if (msg[0] == '\x1e') { /* logjson__error_mark() */
		level = "error";
		msg++;
	}
	if (!strncmp(msg, "ttatrace: ", 10))
		msg += 10;
	if (strcmp(level, "error") && (!strncmp(msg, "warning: ", 9) || strstr(msg, "libbpf: ")))
		level = "warn";
	fprintf(orig, "{\"time\":\"%s.%06ldZ\",\"level\":\"%s\",\"msg\":", when, ts.tv_nsec / 1000,
		level);
	json_write_str(orig, msg);
	fputs("}\n", orig);
	fflush(orig);
}

static void *read_lines(void *arg)
{
	FILE *in = fdopen(pipe_r, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	(void)arg;
	if (!in)
		return NULL;
	while ((n = getline(&line, &cap, in)) >= 0) {
		if (n && line[n - 1] == '\n')
			line[--n] = '\0';
		if (n)
			emit(line);
	}
	free(line);
	fclose(in);
	return NULL;
}

int logjson__start(void)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	orig_fd = fcntl(2, F_DUPFD_CLOEXEC, 3);
	orig = orig_fd >= 0 ? fdopen(orig_fd, "w") : NULL;
	if (!orig) {
		int e = errno;

		if (orig_fd >= 0)
			close(orig_fd);
		orig_fd = -1;
		close(p[0]);
		close(p[1]);
		return -e;
	}
	fflush(stderr);
	if (dup2(p[1], 2) < 0) {
		int e = errno;

		fclose(orig);
		orig_fd = -1;
		close(p[0]);
		close(p[1]);
		return -e;
	}
	close(p[1]);
	pipe_r = p[0];
	setvbuf(stderr, NULL, _IOLBF, 0);
	if (pthread_create(&reader, NULL, read_lines, NULL)) {
		dup2(orig_fd, 2);
		fclose(orig);
		orig_fd = -1;
		close(pipe_r);
		return -EAGAIN;
	}
	return 0;
}

void logjson__stop(void)
{
	if (orig_fd < 0)
		return;
	fflush(stderr);
	dup2(orig_fd, 2); /* the pipe's last writer goes: the reader sees EOF */
	pthread_join(reader, NULL);
	fclose(orig);
	orig_fd = -1;
}

int logjson__orig_fd(void)
{
	return orig_fd;
}

const char *logjson__error_mark(void)
{
	return orig_fd >= 0 ? "\x1e" : "";
}
