/* libFuzzer harness: --probe specs (probe_spec__parse) and globs (glob_validate,
 * glob_match, glob_is_literal). Input: "SPEC\nSUBJECT". */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attach.h"
#include "glob.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *subject, err[256];
	struct probe_spec spec;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	subject = strchr(text, '\n');
	if (subject)
		*subject++ = '\0';
	else
		subject = text;
	memset(&spec, 0, sizeof(spec));
	if (!probe_spec__parse(text, &spec, err, sizeof(err))) {
		if (!glob_validate(spec.glob)) {
			(void)glob_match(spec.glob, subject);
			(void)glob_is_literal(spec.glob);
		}
		probe_spec__clear(&spec);
	}
	if (!glob_validate(text))
		(void)glob_match(text, subject);
	free(text);
	return 0;
}
