/* The capabilities tracing needs, and which of them this process lacks: checked
 * against the effective set whatever the uid (uid 0 in a container with
 * capabilities dropped has none of them). */
#ifndef TT_CAPS_H
#define TT_CAPS_H

#include <stddef.h>

/* The smallest set measured to work on Linux 6.18 (README "Least privilege"). */
#define TT_CAPS_NEEDED "CAP_BPF CAP_PERFMON CAP_SYS_PTRACE"

/* Writes the needed capabilities missing from the effective set to buf
 * ("CAP_PERFMON, CAP_SYS_PTRACE"); CAP_SYS_ADMIN stands in for CAP_BPF and
 * CAP_PERFMON. Returns how many are missing, or -errno if the set is unreadable. */
int caps__missing(char *buf, size_t len);

#endif
