/* Test-only pauses at the racy moments of a run (a target ending during attach,
 * calls cut by the detach), so end-to-end tests can act inside them deterministically.
 * Off unless the named environment variable holds a number of milliseconds. */
#ifndef TT_TEST_HOLD_H
#define TT_TEST_HOLD_H

#include <stdbool.h>

/* Sleeps getenv(env) ms (1 to 60000) after printing "ttatrace: test hold: WHAT N ms";
 * returns whether it did. */
bool test_hold(const char *env, const char *what);

#endif
