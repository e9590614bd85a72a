/* Effective capabilities against what tracing needs (see caps.h). */
#include <errno.h>
#include <linux/capability.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "caps.h"

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

int caps__missing(char *buf, size_t len)
{
	static const struct {
		int cap;
		const char *name;
		bool admin_covers; /* CAP_SYS_ADMIN grants it too */
	} need[] = {
		{ CAP_BPF, "CAP_BPF", true }, /* load programs, create maps */
		{ CAP_PERFMON, "CAP_PERFMON", true }, /* uprobes, tracepoints, kernel reads */
		{ CAP_SYS_PTRACE, "CAP_SYS_PTRACE", false }, /* other users' /proc/PID/{maps,root,environ} */
	};
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2] = {};
	uint64_t eff;
	size_t i, off = 0;
	int n = 0;

	if (len)
		buf[0] = '\0';
	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	eff = ((uint64_t)data[1].effective << 32) | data[0].effective;
	for (i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		if (eff & (1ULL << need[i].cap))
			continue;
		if (need[i].admin_covers && (eff & (1ULL << CAP_SYS_ADMIN)))
			continue;
		if (off < len)
			off += (size_t)snprintf(buf + off, len - off, "%s%s", n ? ", " : "", need[i].name);
		n++;
	}
	return n;
}
