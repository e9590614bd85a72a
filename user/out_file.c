/* The plumbing shared by the text outputs: a sink over a FILE the caller owns. */
#include <errno.h>
#include <stdlib.h>

#include "outputs.h"

static int file_close(struct tt_sink *sink)
{
	if (!sink)
		return 0;
	fflush(sink->ctx);
	free(sink);
	return 0;
}

struct tt_sink *file_sink__new(FILE *out, const char *name,
			       int (*trace)(struct tt_sink *sink, const struct tt_trace *t))
{
	struct tt_sink *s = calloc(1, sizeof(*s));

	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	s->name = name;
	s->trace = trace;
	s->close = file_close;
	s->ctx = out;
	return s;
}
