/* libFuzzer harness: capture expressions and error rules (capture__parse,
 * error_rule__parse: what the catalogue parser calls for captures: and error:; and the
 * rule's text as --list-probes prints it). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "rettype.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), err[256];
	struct capture cap;
	struct error_rule rule;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	memset(&cap, 0, sizeof(cap));
	if (!capture__parse(text, &cap, err, sizeof(err)))
		capture__clear(&cap);
	memset(&rule, 0, sizeof(rule));
	if (!error_rule__parse(text, &rule, err, sizeof(err))) {
		(void)error_rule__match(&rule, -1);
		(void)error_rule__match(&rule, 0);
		(void)ret_rule__text(&rule, &(struct ret_rule){ .type = "int" }, err, sizeof(err));
		error_rule__clear(&rule);
	}
	free(text);
	return 0;
}
