/* Probe placement: which instruction of a function's straight-line start carries its
 * uprobe and uretprobe, so that every call pays the cheapest trap the kernel offers
 * (x86-64; other architectures keep the entry). */
#ifndef TT_PLACEMENT_H
#define TT_PLACEMENT_H

#include <stddef.h>
#include <stdint.h>

/* How far into the function's start a site may be. */
#define PLACEMENT_MAX_SCAN 64

struct placement {
	uint32_t delta; /* bytes from the entry to the probe site (0: the entry) */
	uint8_t entry_class; /* enum insn_class of the first instruction */
	uint8_t site_class; /* enum insn_class at the site */
};

/*
 * Chooses the site for a function whose code (the whole body, len = st_size; less
 * when unknown) starts at vaddr (a file offset works: only the page offset matters).
 *
 * The site is the first instruction cheaper than the entry's (nop5 < emulated < stepped
 * < refused) such that every call executes it with the stack pointer it had at the
 * entry: only instructions that fall through and leave %rsp alone come before it, and
 * no branch of the function lands between the entry (excluded) and the site
 * (included). A return probe must sit where *%rsp is the return address (the kernel
 * swaps that slot for its trampoline), which is why a site after a push is not taken.
 * When the body cannot be decoded to the end (data in code, an unknown encoding),
 * the entry stays. entry_class is INSN_CLASS_REFUSED if the first instruction does not
 * decode.
 */
void placement__choose(const uint8_t *code, size_t len, uint64_t vaddr, struct placement *out);

#endif /* TT_PLACEMENT_H */
