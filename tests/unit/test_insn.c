/* Unit tests for user/insn.c: lengths, flow, %rsp effects and uprobe classes of real
 * instruction sequences (bytes from objdump of libc 2.36, CPython 3.12.1's
 * libpython3.12.so and libstdc++ on Debian 12), and a linear sweep of libc's .text
 * checked against objdump's instruction boundaries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "insn.h"

struct want {
	uint8_t len;
	enum insn_class klass;
	enum insn_flow flow;
	int32_t sp_delta;
};

/* Decodes a byte sequence instruction by instruction against a list of expectations. */
static void walk(const uint8_t *code, size_t n, const struct want *w, size_t nw)
{
	size_t off = 0;

	for (size_t i = 0; i < nw; i++) {
		struct insn in;
		int err = insn__decode(code + off, n - off, &in);

		if (err)
			fail_msg("insn %zu at +%zu: error %d", i, off, err);
		if (in.len != w[i].len || in.klass != w[i].klass || in.flow != w[i].flow ||
		    in.sp_delta != w[i].sp_delta)
			fail_msg("insn %zu at +%zu: len %u class %s flow %u sp %d, want len %u "
				 "class %s flow %u sp %d",
				 i, off, in.len, insn__class_name(in.klass), in.flow, in.sp_delta,
				 w[i].len, insn__class_name(w[i].klass), w[i].flow, w[i].sp_delta);
		off += in.len;
	}
	assert_int_equal(off, n);
}

#define NEXT INSN_FLOW_NEXT
#define ST INSN_CLASS_STEPPED
#define EM INSN_CLASS_EMULATED

/* libpython3.12.so: _Py_call_instrumentation, whole */
static const uint8_t py_call_instr[] = {
	0x48, 0x83, 0xec, 0x28, /* sub $0x28,%rsp */
	0x8b, 0x47, 0x2c, /* mov 0x2c(%rdi),%eax */
	0x66, 0x0f, 0xef, 0xc0, /* pxor %xmm0,%xmm0 */
	0x48, 0xc7, 0x44, 0x24, 0x10, 0x00, 0x00, 0x00, 0x00, /* movq $0x0,0x10(%rsp) */
	0x0f, 0x29, 0x04, 0x24, /* movaps %xmm0,(%rsp) */
	0x85, 0xc0, /* test %eax,%eax */
	0x74, 0x0c, /* je +0x28 */
	0x31, 0xc0, /* xor %eax,%eax */
	0x48, 0x83, 0xc4, 0x28, /* add $0x28,%rsp */
	0xc3, /* ret */
	0x0f, 0x1f, 0x44, 0x00, 0x00, /* nopl 0x0(%rax,%rax,1) */
	0x48, 0x8b, 0x12, /* mov (%rdx),%rdx */
	0x49, 0x89, 0xe1, /* mov %rsp,%r9 */
	0x41, 0xb8, 0x02, 0x00, 0x00, 0x00, /* mov $0x2,%r8d */
	0xe8, 0xa7, 0xf3, 0xff, 0xff, /* call call_instrumentation_vector... */
	0x48, 0x83, 0xc4, 0x28, /* add $0x28,%rsp */
	0xc3, /* ret */
};

static void test_py_call_instrumentation(void **state)
{
	(void)state;
	static const struct want w[] = {
		{ 4, ST, NEXT, -0x28 },
		{ 3, ST, NEXT, 0 },
		{ 4, ST, NEXT, 0 },
		{ 9, ST, NEXT, 0 },
		{ 4, ST, NEXT, 0 },
		{ 2, ST, NEXT, 0 },
		{ 2, EM, INSN_FLOW_COND, 0 },
		{ 2, ST, NEXT, 0 },
		{ 4, ST, NEXT, 0x28 },
		{ 1, ST, INSN_FLOW_RET, 0 },
		{ 5, INSN_CLASS_NOP5, NEXT, 0 },
		{ 3, ST, NEXT, 0 },
		{ 3, ST, NEXT, 0 },
		{ 6, ST, NEXT, 0 },
		{ 5, EM, INSN_FLOW_CALL, 0 },
		{ 4, ST, NEXT, 0x28 },
		{ 1, ST, INSN_FLOW_RET, 0 },
	};
	walk(py_call_instr, sizeof(py_call_instr), w, sizeof(w) / sizeof(w[0]));

	/* the je: the first emulated instruction, condition "e", target 0x2c2aa8 */
	struct insn in;
	uint64_t target;

	assert_int_equal(insn__decode(py_call_instr + 0x1a, 2, &in), 0);
	assert_int_equal(in.cc, 4);
	assert_true(insn__branch_target(&in, 0x2c2a9a, &target));
	assert_int_equal(target, 0x2c2aa8);
	assert_true(insn__ends_block(&in));
	/* the call: target 0x2c1e60 */
	assert_int_equal(insn__decode(py_call_instr + 0x34, 5, &in), 0);
	assert_true(insn__branch_target(&in, 0x2c2ab4, &target));
	assert_int_equal(target, 0x2c1e60);
	/* mov 0x2c(%rdi),%eax has no branch target */
	assert_int_equal(insn__decode(py_call_instr + 4, 3, &in), 0);
	assert_false(insn__branch_target(&in, 0, &target));
	assert_false(insn__ends_block(&in));
}

/* libc.so.6: __libc_malloc's prologue */
static const uint8_t libc_malloc[] = {
	0x41, 0x54, /* push %r12 */
	0x55, /* push %rbp */
	0x53, /* push %rbx */
	0x48, 0x89, 0xfb, /* mov %rdi,%rbx */
	0x48, 0x83, 0xec, 0x10, /* sub $0x10,%rsp */
	0x80, 0x3d, 0x46, 0x1b, 0x14, 0x00, 0x00, /* cmpb $0x0,0x141b46(%rip) */
	0x0f, 0x84, 0xf8, 0x01, 0x00, 0x00, /* je +0x1f8 */
	0x48, 0x85, 0xdb, /* test %rbx,%rbx */
	0x0f, 0x88, 0xfd, 0x01, 0x00, 0x00, /* js */
};

static void test_libc_malloc(void **state)
{
	(void)state;
	static const struct want w[] = {
		{ 2, EM, NEXT, -8 }, { 1, EM, NEXT, -8 },	    { 1, EM, NEXT, -8 },
		{ 3, ST, NEXT, 0 },  { 4, ST, NEXT, -16 },	    { 7, ST, NEXT, 0 },
		{ 6, EM, INSN_FLOW_COND, 0 }, { 3, ST, NEXT, 0 }, { 6, EM, INSN_FLOW_COND, 0 },
	};
	walk(libc_malloc, sizeof(libc_malloc), w, sizeof(w) / sizeof(w[0]));

	struct insn in;
	uint64_t target;

	assert_int_equal(insn__decode(libc_malloc + 11, 7, &in), 0);
	assert_true(in.rip_relative);
	assert_int_equal(in.disp, 0x141b46);
	assert_int_equal(in.imm_len, 1);
	assert_int_equal(insn__decode(libc_malloc + 18, 6, &in), 0);
	assert_int_equal(in.cc, 4);
	assert_true(insn__branch_target(&in, 0x98942, &target));
	assert_int_equal(target, 0x98b40);
	assert_int_equal(insn__decode(libc_malloc + 27, 6, &in), 0);
	assert_int_equal(in.cc, 8); /* s */
}

/* libc.so.6: setjmp is a mov and a tail jump; libstdc++: a CET prologue */
static void test_setjmp_and_endbr(void **state)
{
	(void)state;
	static const uint8_t setjmp_code[] = {
		0xbe, 0x01, 0x00, 0x00, 0x00, /* mov $0x1,%esi */
		0xe9, 0x66, 0xff, 0xff, 0xff, /* jmp __sigsetjmp */
	};
	static const struct want w1[] = { { 5, ST, NEXT, 0 }, { 5, EM, INSN_FLOW_JUMP, 0 } };
	walk(setjmp_code, sizeof(setjmp_code), w1, 2);

	struct insn in;
	uint64_t target;

	assert_int_equal(insn__decode(setjmp_code + 5, 5, &in), 0);
	assert_true(insn__branch_target(&in, 0x3bd85, &target));
	assert_int_equal(target, 0x3bcf0);

	/* __cxa_throw_bad_array_length: endbr64 is single-stepped (6.18's insn_is_nop does
	 * not count it as a nop), the push after it is emulated */
	static const uint8_t cet[] = {
		0xf3, 0x0f, 0x1e, 0xfa, /* endbr64 */
		0x50, /* push %rax */
		0xbf, 0x08, 0x00, 0x00, 0x00, /* mov $0x8,%edi */
		0x48, 0x8b, 0x15, 0x67, 0x64, 0x17, 0x00, /* mov 0x176467(%rip),%rdx */
	};
	static const struct want w2[] = {
		{ 4, ST, NEXT, 0 }, { 1, EM, NEXT, -8 }, { 5, ST, NEXT, 0 }, { 7, ST, NEXT, 0 }
	};
	walk(cet, sizeof(cet), w2, 4);
}

struct one {
	const char *what;
	uint8_t bytes[16];
	uint8_t n;
	uint8_t len;
	enum insn_class klass;
};

static void check_ones(const struct one *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct insn in;
		int err = insn__decode(c[i].bytes, c[i].n, &in);

		if (err)
			fail_msg("%s: error %d", c[i].what, err);
		if (in.len != c[i].len || in.klass != c[i].klass)
			fail_msg("%s: len %u class %s, want %u %s", c[i].what, in.len,
				 insn__class_name(in.klass), c[i].len,
				 insn__class_name(c[i].klass));
	}
}

static void test_nops(void **state)
{
	(void)state;
	static const struct one c[] = {
		{ "nop", { 0x90 }, 1, 1, EM },
		{ "xchg %ax,%ax", { 0x66, 0x90 }, 2, 2, EM },
		{ "pause", { 0xf3, 0x90 }, 2, 2, ST },
		{ "xchg %eax,%r8d", { 0x41, 0x90 }, 2, 2, ST },
		{ "nopl (%rax)", { 0x0f, 0x1f, 0x00 }, 3, 3, EM },
		{ "nopl 0(%rax)", { 0x0f, 0x1f, 0x40, 0x00 }, 4, 4, EM },
		{ "nop5", { 0x0f, 0x1f, 0x44, 0x00, 0x00 }, 5, 5, INSN_CLASS_NOP5 },
		{ "nopw 0(%rax,%rax)", { 0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00 }, 6, 6, EM },
		{ "nopl 0L(%rax)", { 0x0f, 0x1f, 0x80, 0, 0, 0, 0 }, 7, 7, EM },
		{ "nopl 0L(%rax,%rax)", { 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0 }, 8, 8, EM },
		/* the padding gcc puts between functions: the cs prefix is refused */
		{ "cs nopw", { 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0 }, 10, 10,
		  INSN_CLASS_REFUSED },
		{ "mov %rax,%rax", { 0x48, 0x89, 0xc0 }, 3, 3, EM },
		{ "mov %rsp,%rbp", { 0x48, 0x89, 0xe5 }, 3, 3, ST },
		{ "mov %eax,%eax (zero-extends)", { 0x89, 0xc0 }, 2, 2, ST },
		{ "jmp +0", { 0xeb, 0x00 }, 2, 2, EM },
	};
	check_ones(c, sizeof(c) / sizeof(c[0]));
}

/* The refused/accepted split below was checked against Linux 6.18 by attaching uprobes
 * (uprobe_multi) at functions starting with each instruction: the kernel accepted
 * exactly the ones not marked refused. */
static void test_classes(void **state)
{
	(void)state;
	static const struct one c[] = {
		{ "push %rbp", { 0x55 }, 1, 1, EM },
		{ "push %r15", { 0x41, 0x57 }, 2, 2, EM },
		{ "push %ax", { 0x66, 0x50 }, 2, 2, ST },
		{ "rex.w push %rbp", { 0x48, 0x55 }, 2, 2, ST },
		{ "pop %rbp", { 0x5d }, 1, 1, ST },
		{ "push $imm8", { 0x6a, 0x01 }, 2, 2, ST },
		{ "call *%rax", { 0xff, 0xd0 }, 2, 2, ST },
		{ "notrack jmp *%rax", { 0x3e, 0xff, 0xe0 }, 3, 3, INSN_CLASS_REFUSED },
		{ "lock cmpxchg", { 0xf0, 0x0f, 0xb1, 0x15, 0x8f, 0xea, 0x1a, 0x00 }, 8, 8,
		  INSN_CLASS_REFUSED },
		{ "int3", { 0xcc }, 1, 1, INSN_CLASS_REFUSED },
		{ "hlt", { 0xf4 }, 1, 1, INSN_CLASS_REFUSED },
		{ "in %dx,%al", { 0xec }, 1, 1, INSN_CLASS_REFUSED },
		/* the kernel passes every 0f-escaped opcode in 64-bit code */
		{ "syscall", { 0x0f, 0x05 }, 2, 2, ST },
		{ "ud2", { 0x0f, 0x0b }, 2, 2, ST },
		{ "data16 call", { 0x66, 0xe8, 1, 2, 3, 4 }, 6, 6, INSN_CLASS_REFUSED },
		{ "ds je (branch hint)", { 0x3e, 0x74, 0x05 }, 3, 3, INSN_CLASS_REFUSED },
		{ "bnd jmp", { 0xf2, 0xe9, 1, 2, 3, 4 }, 6, 6, EM },
		{ "jrcxz", { 0xe3, 0x10 }, 2, 2, ST },
		{ "rep stos", { 0xf3, 0xab }, 2, 2, ST },
		{ "mov to %ss", { 0x8e, 0xd0 }, 2, 2, INSN_CLASS_REFUSED },
		{ "mov %fs:0x28,%rax", { 0x64, 0x48, 0x8b, 0x04, 0x25, 0x28, 0, 0, 0 }, 9, 9, ST },
		{ "movabs", { 0x49, 0xbb, 0xf8, 0xbf, 0xff, 0xff, 0xff, 0xff, 0xf7, 0xff }, 10, 10,
		  ST },
		{ "testb $1,0x10(%rbx)", { 0xf6, 0x43, 0x10, 0x01 }, 4, 4, ST },
		{ "testl $0x8000,(%rbx)", { 0xf7, 0x03, 0x00, 0x80, 0x00, 0x00 }, 6, 6, ST },
		{ "notl (%rbx)", { 0xf7, 0x13 }, 2, 2, ST },
		{ "enter", { 0xc8, 0x10, 0x00, 0x01 }, 4, 4, ST },
		{ "mov %eax,0x10(%rsp,%rbx,8)", { 0x89, 0x44, 0xdc, 0x10 }, 4, 4, ST },
		{ "mov disp32 no base", { 0x8b, 0x04, 0x25, 1, 2, 3, 4 }, 7, 7, ST },
		{ "movabs moffs", { 0x48, 0xa1, 1, 2, 3, 4, 5, 6, 7, 8 }, 10, 10, ST },
		{ "pshufb (0f 38)", { 0x66, 0x0f, 0x38, 0x00, 0xc1 }, 5, 5, ST },
		{ "palignr (0f 3a)", { 0x66, 0x0f, 0x3a, 0x0f, 0xc1, 0x08 }, 6, 6, ST },
		/* VEX and EVEX from libc's string functions: the kernel judges them by their
		 * opcode byte as if it were a one-byte opcode (3f, 60, 6f are refused) */
		{ "vzeroupper", { 0xc5, 0xf8, 0x77 }, 3, 3, ST },
		{ "bzhi", { 0xc4, 0xe2, 0xa0, 0xf5, 0xda }, 5, 5, ST },
		{ "kmovq", { 0xc4, 0xe1, 0xfb, 0x92, 0xcb }, 5, 5, ST },
		{ "vpunpcklbw", { 0xc5, 0xf9, 0x60, 0xc1 }, 4, 4, INSN_CLASS_REFUSED },
		{ "vpcmpeqb zmm", { 0x62, 0xf3, 0x7d, 0x48, 0x3f, 0xc2, 0x00 }, 7, 7,
		  INSN_CLASS_REFUSED },
		{ "vmovdqu8", { 0x62, 0xf1, 0x7f, 0xc9, 0x6f, 0x0f }, 6, 6, INSN_CLASS_REFUSED },
	};
	check_ones(c, sizeof(c) / sizeof(c[0]));
}

static void test_sp_effects(void **state)
{
	(void)state;
	static const struct {
		uint8_t b[8];
		uint8_t n;
		int32_t sp;
	} c[] = {
		{ { 0x48, 0x81, 0xec, 0x00, 0x01, 0x00, 0x00 }, 7, -0x100 }, /* sub $0x100,%rsp */
		{ { 0x48, 0x8d, 0x64, 0x24, 0xf0 }, 5, -0x10 }, /* lea -0x10(%rsp),%rsp */
		{ { 0x48, 0x83, 0xe4, 0xf0 }, 4, INSN_SP_UNKNOWN }, /* and $-16,%rsp */
		{ { 0x48, 0x89, 0xec }, 3, INSN_SP_UNKNOWN }, /* mov %rbp,%rsp */
		{ { 0xc9 }, 1, INSN_SP_UNKNOWN }, /* leave */
		{ { 0x5c }, 1, INSN_SP_UNKNOWN }, /* pop %rsp */
		{ { 0x41, 0x5c }, 2, 8 }, /* pop %r12 */
		{ { 0x48, 0x83, 0xfc, 0x10 }, 4, 0 }, /* cmp $0x10,%rsp */
		{ { 0x48, 0x89, 0xe5 }, 3, 0 }, /* mov %rsp,%rbp */
		{ { 0x49, 0x89, 0xe4 }, 3, 0 }, /* mov %rsp,%r12 */
		{ { 0x4c, 0x89, 0xe4 }, 3, INSN_SP_UNKNOWN }, /* mov %r12,%rsp */
		{ { 0x9c }, 1, -8 }, /* pushf */
		{ { 0xff, 0x35, 1, 2, 3, 4 }, 6, -8 }, /* push disp(%rip) */
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct insn in;

		assert_int_equal(insn__decode(c[i].b, c[i].n, &in), 0);
		assert_int_equal(in.len, c[i].n);
		if (in.sp_delta != c[i].sp)
			fail_msg("case %zu: sp_delta %d, want %d", i, in.sp_delta, c[i].sp);
	}
}

static void test_errors(void **state)
{
	(void)state;
	struct insn in;
	uint8_t prefixes[16];

	assert_int_equal(insn__decode((const uint8_t *)"", 0, &in), -ENODATA);
	assert_int_equal(insn__decode((const uint8_t[]){ 0x48, 0x83, 0xec }, 3, &in), -ENODATA);
	assert_int_equal(insn__decode((const uint8_t[]){ 0x0f }, 1, &in), -ENODATA);
	assert_int_equal(insn__decode((const uint8_t[]){ 0x66 }, 1, &in), -ENODATA);
	assert_int_equal(insn__decode((const uint8_t[]){ 0xe8, 0, 0 }, 3, &in), -ENODATA);
	/* invalid in 64-bit mode */
	assert_int_equal(insn__decode((const uint8_t[]){ 0x06 }, 1, &in), -EINVAL);
	assert_int_equal(insn__decode((const uint8_t[]){ 0x9a, 0, 0, 0, 0, 0, 0 }, 7, &in),
			 -EINVAL);
	assert_int_equal(insn__decode((const uint8_t[]){ 0xd6 }, 1, &in), -EINVAL);
	/* VEX after REX */
	assert_int_equal(insn__decode((const uint8_t[]){ 0x41, 0xc5, 0xf8, 0x77 }, 4, &in),
			 -EINVAL);
	/* 3DNow! is not guessed at */
	assert_int_equal(insn__decode((const uint8_t[]){ 0x0f, 0x0f, 0x54, 0x1a, 0xf2, 0xb7 },
				      6, &in),
			 -EOPNOTSUPP);
	/* more than 15 bytes */
	memset(prefixes, 0x66, sizeof(prefixes));
	assert_int_equal(insn__decode(prefixes, sizeof(prefixes), &in), -EINVAL);
	prefixes[14] = 0x90;
	assert_int_equal(insn__decode(prefixes, sizeof(prefixes), &in), 0);
	assert_int_equal(in.len, 15);
}

static void test_class_at(void **state)
{
	(void)state;
	struct insn in;

	assert_int_equal(insn__decode((const uint8_t[]){ 0x0f, 0x1f, 0x44, 0, 0 }, 5, &in), 0);
	assert_int_equal(insn__class_at(&in, 0x401000), INSN_CLASS_NOP5);
	assert_int_equal(insn__class_at(&in, 0x401ffb), INSN_CLASS_NOP5);
	/* crosses into the next page: emulated, not patched */
	assert_int_equal(insn__class_at(&in, 0x401ffc), INSN_CLASS_EMULATED);
	assert_string_equal(insn__class_name(INSN_CLASS_STEPPED), "stepped");
	assert_string_equal(insn__class_name(INSN_CLASS_REFUSED), "refused");
}

/* Linear sweep of libc's .text: every instruction boundary objdump prints must be ours. */
static void test_libc_sweep_matches_objdump(void **state)
{
	(void)state;
	static const char *const libcs[] = { "/lib/x86_64-linux-gnu/libc.so.6",
					     "/usr/lib/x86_64-linux-gnu/libc.so.6", NULL };
	const char *libc = NULL;
	char cmd[256], line[512];
	size_t checked = 0, mismatches = 0;

	for (int i = 0; libcs[i]; i++)
		if (access(libcs[i], R_OK) == 0) {
			libc = libcs[i];
			break;
		}
	if (!libc)
		fail_msg("no libc.so.6 found");
	snprintf(cmd, sizeof(cmd), "objdump -d -j .text --insn-width=16 %s", libc);
	FILE *f = popen(cmd, "r");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		uint8_t b[16], buf[32];
		int n = 0;
		char *p = strchr(line, ':'), *tab;

		/* "   2c2a80:\t48 83 ec 28 \tsub ..." */
		if (!p || line[0] != ' ' || p[1] != '\t')
			continue;
		tab = strchr(p + 2, '\t');
		if (!tab || strstr(tab, "(bad)") || strstr(tab, "fwait") || strstr(tab, "rex"))
			continue;
		for (p += 2; p < tab && n < 16;) {
			char *end;
			unsigned long v = strtoul(p, &end, 16);

			if (end == p)
				break;
			b[n++] = (uint8_t)v;
			p = end;
			while (*p == ' ')
				p++;
		}
		if (n == 0)
			continue;
		/* pad with int3 so the decoder sees the instruction end where objdump did */
		memset(buf, 0xcc, sizeof(buf));
		memcpy(buf, b, (size_t)n);
		struct insn in;
		int err = insn__decode(buf, sizeof(buf), &in);

		checked++;
		if (err || in.len != n) {
			if (mismatches++ < 5)
				print_error("mismatch: %s", line);
		}
		if (checked >= 60000)
			break;
	}
	pclose(f);
	assert_true(checked >= 10000);
	assert_int_equal(mismatches, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_py_call_instrumentation),
		cmocka_unit_test(test_libc_malloc),
		cmocka_unit_test(test_setjmp_and_endbr),
		cmocka_unit_test(test_nops),
		cmocka_unit_test(test_classes),
		cmocka_unit_test(test_sp_effects),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_class_at),
		cmocka_unit_test(test_libc_sweep_matches_objdump),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
