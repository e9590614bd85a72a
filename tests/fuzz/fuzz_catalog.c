/* libFuzzer harness: a catalogue (YAML) through catalog__parse(), the parser
 * catalog__load() reads every file with. */
#include <stddef.h>
#include <stdint.h>

#include "catalog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	struct catalog *c = catalog__parse((const char *)data, size, "fuzz.yaml", err, sizeof(err));

	catalog__free(c);
	return 0;
}
