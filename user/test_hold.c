/* Test-only pauses (see test_hold.h). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "test_hold.h"

bool test_hold(const char *env, const char *what)
{
	const char *v = getenv(env);
	long ms = v ? strtol(v, NULL, 10) : 0;

	if (ms <= 0 || ms > 60000)
		return false;
	fprintf(stderr, "ttatrace: test hold: %s %ld ms\n", what, ms);
	usleep((useconds_t)ms * 1000);
	return true;
}
