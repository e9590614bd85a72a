/* Probe placement: the cheapest instruction every call of a function executes with the
 * entry's stack pointer (see placement.h). */
#include "placement.h"
#include "insn.h"

#include <string.h>

/* True when no relative branch of the body lands in (0, site]. */
static bool no_branch_into(const uint8_t *code, size_t len, uint64_t vaddr, uint32_t site)
{
	size_t off = 0;

	while (off < len) {
		struct insn in;
		uint64_t target;

		if (insn__decode(code + off, len - off, &in))
			return false; /* cannot see every branch: stay at the entry */
		if (insn__branch_target(&in, vaddr + off, &target) && target > vaddr &&
		    target <= vaddr + site)
			return false;
		off += in.len;
	}
	return true;
}

void placement__choose(const uint8_t *code, size_t len, uint64_t vaddr, struct placement *out)
{
	size_t off = 0, scan = len < PLACEMENT_MAX_SCAN ? len : PLACEMENT_MAX_SCAN;
	struct insn in;

	memset(out, 0, sizeof(*out));
	out->entry_class = out->site_class = INSN_CLASS_REFUSED;
	if (!len || insn__decode(code, len, &in))
		return;
	out->entry_class = out->site_class = insn__class_at(&in, vaddr);
	if (out->entry_class == INSN_CLASS_NOP5)
		return;
	while (off < scan) {
		if (off) {
			if (insn__decode(code + off, len - off, &in))
				return;
			enum insn_class k = insn__class_at(&in, vaddr + off);

			if (k < out->entry_class) {
				if (no_branch_into(code, len, vaddr, (uint32_t)off)) {
					out->delta = (uint32_t)off;
					out->site_class = k;
				}
				return;
			}
		}
		/* what runs before the site must fall through with %rsp untouched */
		if (in.sp_delta != 0 || insn__ends_block(&in))
			return;
		off += in.len;
	}
}
