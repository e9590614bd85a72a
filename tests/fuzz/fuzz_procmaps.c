/* libFuzzer harness: /proc/PID/maps lines through procmaps__parse_line(), the
 * parser procmaps__read() reads every line with. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "procmaps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = malloc(size + 1), *path = NULL;
	struct proc_module m;
	bool exec;

	if (!line)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	memset(&m, 0, sizeof(m));
	if (procmaps__parse_line(line, &m, &exec, &path) && (!path || path < line || path > line + size))
		__builtin_trap();
	free(line);
	return 0;
}
