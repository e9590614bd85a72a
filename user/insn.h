/* x86-64 instruction decoder, as much as probe placement needs: the length of one
 * instruction (prefixes, REX/VEX/EVEX/XOP, 1-2-3 byte opcodes, ModRM, SIB, displacement,
 * immediate), where control goes after it, what it does to %rsp, and the class of uprobe
 * the kernel gives it (which decides what a probe there costs per hit). */
#ifndef TT_INSN_H
#define TT_INSN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INSN_MAX_LEN 15

/*
 * What a uprobe on this instruction costs, following arch/x86/kernel/uprobes.c (6.18):
 * arch_uprobe_analyze_insn refuses bad prefixes and opcodes, then tries the emulations
 * (branch_setup_xol_ops: nops and relative jmp/jcc/call; push_setup_xol_ops: push reg),
 * and single-steps everything else out of line (a second trap per hit).
 * Ordered cheapest first.
 */
enum insn_class {
	/* 0f 1f 44 00 00: from 6.18 the kernel rewrites it into a call to a trampoline
	 * after the first hit (no trap at all); earlier kernels emulate it */
	INSN_CLASS_NOP5 = 0,
	/* emulated in the trap handler, no single-step: nop (90, 0f 1f /0), push reg
	 * (50-57, 41 50-57), jmp/jcc/call with a relative target */
	INSN_CLASS_EMULATED,
	/* copied to the out-of-line slot and single-stepped: a second trap */
	INSN_CLASS_STEPPED,
	/* the kernel refuses a uprobe here (lock and cs/ds/es/ss prefixes, 66-prefixed
	 * relative branches, int3, syscall, ud2, privileged and invalid opcodes...) */
	INSN_CLASS_REFUSED,
};

/* Where execution goes after the instruction. */
enum insn_flow {
	INSN_FLOW_NEXT = 0, /* falls through */
	INSN_FLOW_JUMP, /* jmp rel: always to the target */
	INSN_FLOW_COND, /* jcc, loop, jrcxz rel: the target or the next instruction */
	INSN_FLOW_CALL, /* call rel: the target, then (normally) the next instruction */
	INSN_FLOW_CALL_INDIRECT, /* call through a register or memory */
	INSN_FLOW_JUMP_INDIRECT, /* jmp through a register or memory */
	INSN_FLOW_RET, /* ret, iret */
	INSN_FLOW_STOP, /* never continues normally: ud2, hlt, int3, int, syscall... */
};

#define INSN_SP_UNKNOWN INT32_MIN

struct insn {
	uint8_t len; /* bytes, 1..15 */
	uint8_t klass; /* enum insn_class */
	uint8_t flow; /* enum insn_flow */
	uint8_t map; /* opcode map: 0 one-byte, 1 0f, 2 0f38, 3 0f3a (VEX/EVEX maps too) */
	uint8_t opcode; /* the opcode byte in its map */
	uint8_t n_prefixes; /* legacy prefixes */
	uint8_t rex; /* REX byte, 0 if none */
	uint8_t vex; /* 0, or the escape that started it: c4, c5, 62 (EVEX), 8f (XOP) */
	bool has_modrm;
	uint8_t modrm;
	bool has_sib;
	uint8_t sib;
	bool rip_relative; /* memory operand is disp32(%rip) */
	bool opsize; /* 66 prefix */
	bool rep; /* f3 prefix */
	bool repne; /* f2 prefix */
	bool lock; /* f0 prefix */
	uint8_t disp_len, imm_len;
	uint8_t disp_off, imm_off; /* where they start in the instruction */
	int32_t disp;
	int64_t imm; /* sign-extended; the first immediate for enter/extrq */
	int64_t rel; /* branch displacement from the end (FLOW_JUMP/COND/CALL) */
	uint8_t cc; /* condition code 0-15 of a jcc (4 = e/z, 5 = ne/nz), else 0xff */
	int32_t sp_delta; /* change of %rsp, or INSN_SP_UNKNOWN (e.g. leave, mov to %rsp) */
	bool writes_sp_unknown; /* writes %rsp in a way sp_delta cannot tell */
};

/*
 * Decodes the instruction at p (len bytes available) in 64-bit mode. 0 on success;
 * -EINVAL for bytes that are no valid instruction in 64-bit mode, -ENODATA when the
 * instruction runs past len, -EOPNOTSUPP for encodings this decoder does not know
 * (3DNow! and the like: it never guesses a length).
 */
int insn__decode(const uint8_t *p, size_t len, struct insn *out);

/* True, with *target = the address control may go to, for relative jumps, jcc and calls
 * decoded at addr. */
bool insn__branch_target(const struct insn *in, uint64_t addr, uint64_t *target);

/* Ends straight-line code: control does not simply fall through (any jump, call, ret,
 * stop). A call counts, as what follows it runs only when the callee returns. */
bool insn__ends_block(const struct insn *in);

/* The class of a uprobe at vaddr (a file offset works: segments are page-aligned):
 * a nop5 that crosses a page boundary is only emulated. */
enum insn_class insn__class_at(const struct insn *in, uint64_t vaddr);

/* "nop5", "emulated", "stepped", "refused". */
const char *insn__class_name(enum insn_class c);

#endif /* TT_INSN_H */
