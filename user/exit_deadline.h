/* One deadline for everything ttatrace still sends at exit (the last traces, the
 * last metrics): OTEL_BSP_EXPORT_TIMEOUT from the moment the exit starts, shared by
 * every exporter instead of one timeout each, and a second Ctrl-C moves it to now.
 * The exporters count what they could not send by then. */
#ifndef TT_EXIT_DEADLINE_H
#define TT_EXIT_DEADLINE_H

#include <stdbool.h>
#include <stdint.h>

/* Starts the exit: the deadline is TIMEOUT_MS from now (CLOCK_MONOTONIC), unless
 * one is already set (earlier wins). */
void exit_deadline__start(uint64_t timeout_ms);

/* The deadline is now; async-signal-safe (a second SIGINT/SIGTERM). */
void exit_deadline__expire(void);

/* The deadline in CLOCK_MONOTONIC ns, UINT64_MAX while no exit has started. */
uint64_t exit_deadline__ns(void);

/* Whether an exit started and its deadline has passed. */
bool exit_deadline__passed(void);

#endif
