/* --log-format json: everything ttatrace writes to stderr (its messages, libbpf's,
 * the summary) becomes one JSON object per line, {"time","level","msg"}, for log
 * collectors. stderr is replaced by a pipe that a thread reads and rewrites. */
#ifndef TT_LOGJSON_H
#define TT_LOGJSON_H

/* 0 or -errno (stderr untouched on failure). */
int logjson__start(void);
/* Flushes and restores stderr; waits for the last line. Accepts not started. */
void logjson__stop(void);
/* The original stderr while started (for a launched command), else -1. */
int logjson__orig_fd(void);
/* Written at the start of a line, makes it level "error" (tt_die_msg); "" when
 * not started. */
const char *logjson__error_mark(void);

#endif
