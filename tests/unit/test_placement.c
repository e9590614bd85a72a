/* Unit tests for user/placement.c: where the probes of real and constructed function
 * starts go (bytes from objdump of libc 2.36 and libpython3.12). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "insn.h"
#include "placement.h"

static void place(const uint8_t *code, size_t len, uint64_t vaddr, uint32_t delta,
		  enum insn_class entry, enum insn_class site)
{
	struct placement pl;

	placement__choose(code, len, vaddr, &pl);
	if (pl.delta != delta || pl.entry_class != entry || pl.site_class != site)
		fail_msg("delta %u entry %s site %s, want %u %s %s", pl.delta,
			 insn__class_name(pl.entry_class), insn__class_name(pl.site_class), delta,
			 insn__class_name(entry), insn__class_name(site));
}

static void test_setjmp_moves_to_its_jmp(void **state)
{
	(void)state;
	/* libc setjmp: mov $0x1,%esi; jmp __sigsetjmp */
	static const uint8_t c[] = { 0xbe, 0x01, 0x00, 0x00, 0x00, 0xe9, 0x66, 0xff, 0xff, 0xff };

	place(c, sizeof(c), 0x3bd80, 5, INSN_CLASS_STEPPED, INSN_CLASS_EMULATED);
}

static void test_frame_first_stays(void **state)
{
	(void)state;
	/* _Py_call_instrumentation: sub $0x28,%rsp first; its je runs 0x28 bytes lower */
	static const uint8_t c[] = { 0x48, 0x83, 0xec, 0x28, 0x8b, 0x47, 0x2c, 0x85, 0xc0,
				     0x74, 0x02, 0x31, 0xc0, 0x48, 0x83, 0xc4, 0x28, 0xc3 };

	place(c, sizeof(c), 0x2c2a80, 0, INSN_CLASS_STEPPED, INSN_CLASS_STEPPED);
}

static void test_cheap_entry_stays(void **state)
{
	(void)state;
	static const uint8_t push[] = { 0x41, 0x54, 0x55, 0x53, 0xc3 }; /* malloc's pushes */
	static const uint8_t nop5[] = { 0x0f, 0x1f, 0x44, 0x00, 0x00, 0xc3 };

	place(push, sizeof(push), 0x98930, 0, INSN_CLASS_EMULATED, INSN_CLASS_EMULATED);
	place(nop5, sizeof(nop5), 0x1000, 0, INSN_CLASS_NOP5, INSN_CLASS_NOP5);
	/* a nop5 across a page boundary is only emulated: still nothing cheaper after */
	place(nop5, sizeof(nop5), 0x1ffd, 0, INSN_CLASS_EMULATED, INSN_CLASS_EMULATED);
}

static void test_branch_into_start_keeps_entry(void **state)
{
	(void)state;
	/* xor %eax,%eax; 1: add %edi,%eax; sub $1,%edi; jg 1b; ret */
	static const uint8_t loop[] = { 0x31, 0xc0, 0x01, 0xf8, 0x83, 0xef, 0x01, 0x7f, 0xf9, 0xc3 };
	/* mov %edi,%eax; test %edi,%edi; js +1; ret; jmp back to +2 from later code */
	static const uint8_t later[] = { 0x89, 0xf8, 0x85, 0xff, 0x78, 0x01, 0xc3, 0xeb, 0xf9 };
	/* the same without the jump back: the js at +4 */
	static const uint8_t plain[] = { 0x89, 0xf8, 0x85, 0xff, 0x78, 0x01, 0xc3, 0xc3 };

	place(loop, sizeof(loop), 0x1000, 0, INSN_CLASS_STEPPED, INSN_CLASS_STEPPED);
	place(later, sizeof(later), 0x1000, 0, INSN_CLASS_STEPPED, INSN_CLASS_STEPPED);
	place(plain, sizeof(plain), 0x1000, 4, INSN_CLASS_STEPPED, INSN_CLASS_EMULATED);
	/* the body cannot be decoded to its end (06 is invalid): the entry stays */
	static const uint8_t data[] = { 0x89, 0xf8, 0x85, 0xff, 0x78, 0x01, 0xc3, 0x06 };

	place(data, sizeof(data), 0x1000, 0, INSN_CLASS_STEPPED, INSN_CLASS_STEPPED);
}

static void test_refused_entry_moves(void **state)
{
	(void)state;
	/* notrack jmp *%rax is refused; nothing follows it in straight line */
	static const uint8_t notrack[] = { 0x3e, 0xff, 0xe0 };
	/* lock incl (%rdi) refused; then a stepped mov at the same %rsp: better than none */
	static const uint8_t lock[] = { 0xf0, 0xff, 0x07, 0x89, 0xf8, 0xc3 };

	place(notrack, sizeof(notrack), 0x1000, 0, INSN_CLASS_REFUSED, INSN_CLASS_REFUSED);
	place(lock, sizeof(lock), 0x1000, 3, INSN_CLASS_REFUSED, INSN_CLASS_STEPPED);
	place(lock, 0, 0x1000, 0, INSN_CLASS_REFUSED, INSN_CLASS_REFUSED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_setjmp_moves_to_its_jmp),
		cmocka_unit_test(test_frame_first_stays),
		cmocka_unit_test(test_cheap_entry_stays),
		cmocka_unit_test(test_branch_into_start_keeps_entry),
		cmocka_unit_test(test_refused_entry_moves),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
