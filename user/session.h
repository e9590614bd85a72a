/* One tracing session: the lifecycle every mode shares (-p, launch, agent).
 *
 *   session__new      options in, nothing touched yet
 *   session__prepare  probe specs and catalogue parsed, binaries checked
 *   session__check    privileges and kernel features
 *   session__load     outputs opened, BPF object loaded, attacher ready, signals
 *   session__attach_* the attach set: PIDs, a launched command
 *   session__start    metrics, governor, sinks, assembler, ring-buffer reader
 *   session__run      drain until stopped (signal, --duration, every target gone),
 *                     then detach and flush
 *   session__close    summary, every resource released; returns the exit status
 *
 * Every step returns 0 or an exit status (EXIT_RUNTIME, EXIT_USAGE) after printing
 * one line; session__close must be called in every case. */
#ifndef TT_SESSION_H
#define TT_SESSION_H

#include <stdio.h>
#include <sys/types.h>

#include "cli.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2

struct session;

struct session *session__new(const struct tt_opts *o);
int session__prepare(struct session *s);
/* --list-probes: a dry run, nothing loaded. */
int session__list_probes(struct session *s, FILE *f);
int session__check(struct session *s);
int session__load(struct session *s);
/* -p PIDs: every one scanned; none matching anything is an error unless a command
 * is launched too. */
int session__attach_pids(struct session *s);
/* -- CMD: started stopped, probed before its first instruction. */
int session__launch(struct session *s);
/* ttatrace agent: the processes the catalogue's targets: select, running now (found
 * in /proc) and from now on (at exec, in the kernel); runs until stopped. */
int session__agent_attach(struct session *s);
int session__start(struct session *s);
int session__run(struct session *s);
int session__close(struct session *s, int rc);

/* One line "ttatrace: ..." on stderr. */
void __attribute__((format(printf, 1, 2))) tt_die_msg(const char *fmt, ...);

#endif
