/* libFuzzer harness: ELF symbol reading through elf_syms__open_mem(), the reader
 * elf_syms__open() uses on files (the build-id note and .gnu_debuglink that name a
 * stripped file's debug file included), then every lookup the attacher makes. */
#include <stddef.h>
#include <stdint.h>

#include "elfsyms.h"

static int visit(const struct elf_sym *sym, void *ctx)
{
	(void)sym;
	(void)ctx;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct elf_syms *syms = elf_syms__open_mem(data, size, "fuzz.so");
	size_t n;

	if (!syms)
		return 0;
	n = elf_syms__count(syms);
	for (size_t i = 0; i < n; i++)
		(void)elf_syms__get(syms, i);
	(void)elf_syms__match(syms, "*", visit, NULL);
	(void)elf_syms__match(syms, "main", visit, NULL);
	/* the build-id note and .gnu_debuglink a debug file is looked up by */
	(void)elf_syms__build_id(syms);
	(void)elf_syms__debuglink(syms, NULL);
	elf_syms__free(syms);
	return 0;
}
