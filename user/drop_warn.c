/* Rate-limited warning about ring-buffer drops during the run; see drop_warn.h. */
#include "drop_warn.h"

#include <inttypes.h>

bool drop_warn__check(struct drop_warn *dw, uint64_t dropped, uint64_t now_ns, FILE *out)
{
	if (dropped <= dw->reported)
		return false;
	if (dw->last_ns && now_ns - dw->last_ns < DROP_WARN_INTERVAL_NS)
		return false;
	fprintf(out,
		"ttatrace: warning: ring buffer full: %" PRIu64 " records dropped%s (%" PRIu64
		" in all; a larger --ringbuf-size, a shorter --drain-ms or fewer probes)\n",
		dropped - dw->reported, dw->last_ns ? " since the last warning" : "", dropped);
	fflush(out);
	dw->reported = dropped;
	dw->last_ns = now_ns ? now_ns : 1;
	return true;
}
