/* x86-64 instruction decoder for probe placement: lengths, control flow, %rsp effects,
 * and the uprobe class the kernel gives each instruction (see insn.h). */
#include "insn.h"

#include <errno.h>
#include <string.h>

/* operand encodings of an opcode */
#define OP_MODRM 0x01
#define OP_I8 0x02 /* imm8 */
#define OP_IZ 0x04 /* imm16 with 66, else imm32 */
#define OP_I16 0x08 /* imm16 */
#define OP_IV 0x10 /* imm16/32/64 by operand size (mov r, imm) */
#define OP_MOFFS 0x20 /* 8-byte address (4 with 67) */
#define OP_BAD 0x40 /* invalid in 64-bit mode */
#define OP_GRP3 0x80 /* f6/f7: an immediate only for /0 and /1 */

static uint8_t onebyte_ops(uint8_t op)
{
	if (op < 0x40) {
		switch (op & 7) {
		case 0 ... 3:
			return OP_MODRM;
		case 4:
			return OP_I8;
		case 5:
			return OP_IZ;
		default: /* push/pop seg, daa... (0f, 26, 2e... are handled as escapes) */
			return OP_BAD;
		}
	}
	switch (op) {
	case 0x50 ... 0x5f:
		return 0;
	case 0x60 ... 0x62:
		return OP_BAD;
	case 0x63:
		return OP_MODRM;
	case 0x68:
		return OP_IZ;
	case 0x69:
		return OP_MODRM | OP_IZ;
	case 0x6a:
		return OP_I8;
	case 0x6b:
		return OP_MODRM | OP_I8;
	case 0x6c ... 0x6f:
		return 0;
	case 0x70 ... 0x7f:
		return OP_I8;
	case 0x80:
	case 0x83:
		return OP_MODRM | OP_I8;
	case 0x81:
		return OP_MODRM | OP_IZ;
	case 0x82:
		return OP_BAD;
	case 0x84 ... 0x8f:
		return OP_MODRM;
	case 0x9a:
		return OP_BAD;
	case 0x90 ... 0x99:
	case 0x9b ... 0x9f:
		return 0;
	case 0xa0 ... 0xa3:
		return OP_MOFFS;
	case 0xa8:
		return OP_I8;
	case 0xa9:
		return OP_IZ;
	case 0xa4 ... 0xa7:
	case 0xaa ... 0xaf:
		return 0;
	case 0xb0 ... 0xb7:
		return OP_I8;
	case 0xb8 ... 0xbf:
		return OP_IV;
	case 0xc0:
	case 0xc1:
	case 0xc6:
		return OP_MODRM | OP_I8;
	case 0xc7:
		return OP_MODRM | OP_IZ;
	case 0xc2:
	case 0xca:
		return OP_I16;
	case 0xc8:
		return OP_I16 | OP_I8; /* enter imm16, imm8 */
	case 0xcd:
		return OP_I8;
	case 0xce:
		return OP_BAD;
	case 0xc3:
	case 0xc9:
	case 0xcb:
	case 0xcc:
	case 0xcf:
		return 0;
	case 0xd0 ... 0xd3:
		return OP_MODRM;
	case 0xd4 ... 0xd6:
		return OP_BAD;
	case 0xd7:
		return 0;
	case 0xd8 ... 0xdf:
		return OP_MODRM;
	case 0xe0 ... 0xe7:
	case 0xeb:
		return OP_I8;
	case 0xe8:
	case 0xe9:
		return OP_IZ;
	case 0xea:
		return OP_BAD;
	case 0xec ... 0xef:
	case 0xf1:
	case 0xf4:
	case 0xf5:
	case 0xf8 ... 0xfd:
		return 0;
	case 0xf6:
	case 0xf7:
		return OP_MODRM | OP_GRP3;
	case 0xfe:
	case 0xff:
		return OP_MODRM;
	}
	return OP_BAD;
}

static uint8_t twobyte_ops(uint8_t op)
{
	switch (op) {
	case 0x00 ... 0x03:
	case 0x0d:
		return OP_MODRM;
	case 0x05 ... 0x09:
	case 0x0b:
	case 0x0e:
		return 0;
	case 0x04:
	case 0x0a:
	case 0x0c:
	case 0x0f: /* 3DNow!: not decoded (AMD dropped it; no compiler emits it) */
		return OP_BAD;
	case 0x10 ... 0x23:
	case 0x28 ... 0x2f:
		return OP_MODRM;
	case 0x24 ... 0x27:
		return OP_BAD;
	case 0x30 ... 0x35:
	case 0x37:
		return 0;
	case 0x36:
	case 0x39:
	case 0x3b ... 0x3f:
		return OP_BAD;
	case 0x40 ... 0x6f:
		return OP_MODRM;
	case 0x70 ... 0x73:
		return OP_MODRM | OP_I8;
	case 0x74 ... 0x76:
		return OP_MODRM;
	case 0x77:
		return 0;
	case 0x78 ... 0x7f:
		return OP_MODRM;
	case 0x80 ... 0x8f:
		return OP_IZ;
	case 0x90 ... 0x9f:
		return OP_MODRM;
	case 0xa0 ... 0xa2:
	case 0xa8 ... 0xaa:
		return 0;
	case 0xa3:
	case 0xa5:
	case 0xab:
	case 0xad ... 0xaf:
		return OP_MODRM;
	case 0xa4:
	case 0xac:
		return OP_MODRM | OP_I8;
	case 0xa6:
	case 0xa7:
		return OP_BAD;
	case 0xba:
		return OP_MODRM | OP_I8;
	case 0xb0 ... 0xb9:
	case 0xbb ... 0xbf:
		return OP_MODRM;
	case 0xc2:
	case 0xc4 ... 0xc6:
		return OP_MODRM | OP_I8;
	case 0xc0:
	case 0xc1:
	case 0xc3:
	case 0xc7:
		return OP_MODRM;
	case 0xc8 ... 0xcf:
		return 0;
	default: /* d0-ff: SSE/MMX with ModRM, ff = ud0 */
		return OP_MODRM;
	}
}

/* Immediate of a VEX/EVEX-encoded opcode: map 3 (0f3a) always has imm8; in map 1 the
 * compares, shuffles and shift-by-immediate groups do. */
static bool vex_has_imm8(uint8_t map, uint8_t op)
{
	if (map == 3)
		return true;
	if (map == 1)
		return (op >= 0x70 && op <= 0x73) || op == 0xc2 || op == 0xc4 || op == 0xc5 ||
		       op == 0xc6;
	return false;
}

/* The kernel's table of one-byte opcodes a uprobe may sit on in a 64-bit process
 * (good_insns_64 in arch/x86/kernel/uprobes.c; unchanged from 3.19 through 6.18). Every
 * two- and three-byte opcode passes it through its 0f escape byte; VEX/EVEX instructions
 * are judged by their opcode byte as if it were a one-byte opcode. */
static const uint16_t good_insns_64[16] = {
	/* bit n of row r: opcode r*16+n */
	0xbf3f, /* 00: not 06 07 0e */
	0x3f3f, /* 10: not 16 17 1e 1f */
	0x7f7f, /* 20: not 27 2f */
	0x7f7f, /* 30: not 37 3f */
	0xffff, /* 40 */
	0xffff, /* 50 */
	0x0ff8, /* 60: not 60 61 62 6c-6f */
	0xffff, /* 70 */
	0xfffb, /* 80: not 82 */
	0xfbff, /* 90: not 9a */
	0xffff, /* a0 */
	0xffff, /* b0 */
	0x0fff, /* c0: not cc-cf */
	0xff8f, /* d0: not d4 d5 d6 */
	0x0b0f, /* e0: not e4-e7 ea ec-ef */
	0xf3ed, /* f0: not f1 f4 fa fb */
};

static bool good_opcode(uint8_t op)
{
	return good_insns_64[op >> 4] & (1u << (op & 15));
}

/* insn_is_nop() as 6.18's uprobes use it to emulate: 90 (not pause, not xchg r8),
 * 0f 1f /0, mov %reg,%reg (64-bit), lea 0(%reg),%reg (64-bit), jmp +0. */
static bool kernel_nop(const struct insn *in)
{
	uint8_t mod = in->modrm >> 6, reg = (in->modrm >> 3) & 7, rm = in->modrm & 7;
	bool rex_w = in->rex & 8, rex_r = in->rex & 4, rex_b = in->rex & 1;

	if (in->vex)
		return false;
	if (in->map == 1)
		return in->opcode == 0x1f && reg == 0 && !rex_r;
	if (in->map != 0)
		return false;
	switch (in->opcode) {
	case 0x90:
		return !in->rep && !rex_b;
	case 0x89:
		return mod == 3 && rex_w && !in->opsize && reg + 8 * rex_r == rm + 8 * rex_b;
	case 0xe9:
	case 0xeb:
		return in->imm == 0;
	default:
		return false;
	}
}

static void classify(struct insn *in, const uint8_t *p, int n_bad_prefix)
{
	static const uint8_t nop5[5] = { 0x0f, 0x1f, 0x44, 0x00, 0x00 };
	uint8_t op = in->opcode;
	uint8_t first = in->map == 0 || in->vex ? op : 0x0f;

	if (n_bad_prefix || !good_opcode(first) ||
	    (in->map == 0 && !in->vex && op == 0x8e && ((in->modrm >> 3) & 7) == 2) ||
	    in->vex == 0x8f) {
		/* lock/cs/ds/es/ss prefixes, masked-exception mov to %ss, opcodes the table
		 * refuses; XOP is not decoded by the kernel at all */
		in->klass = INSN_CLASS_REFUSED;
		return;
	}
	if (in->len == 5 && memcmp(p, nop5, 5) == 0) {
		in->klass = INSN_CLASS_NOP5;
		return;
	}
	if (kernel_nop(in)) {
		in->klass = INSN_CLASS_EMULATED;
		return;
	}
	bool rel_branch = !in->vex && ((in->map == 0 && (op == 0xe8 || op == 0xe9 || op == 0xeb ||
							   (op >= 0x70 && op <= 0x7f))) ||
				       (in->map == 1 && op >= 0x80 && op <= 0x8f));
	if (rel_branch) {
		/* branch_setup_xol_ops refuses 16-bit operand size overrides */
		in->klass = in->opsize ? INSN_CLASS_REFUSED : INSN_CLASS_EMULATED;
		return;
	}
	/* push_setup_xol_ops: 50-57 alone, or with exactly the prefix 41 */
	if (in->map == 0 && !in->vex && op >= 0x50 && op <= 0x57 &&
	    (in->len == 1 || (in->len == 2 && in->rex == 0x41))) {
		in->klass = INSN_CLASS_EMULATED;
		return;
	}
	in->klass = INSN_CLASS_STEPPED;
}

static int64_t read_le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = (v << 8) | p[i];
	if (n < 8 && (v >> (8 * n - 1)) & 1)
		v |= ~0ULL << (8 * n);
	return (int64_t)v;
}

/* The effect of a one-byte-map instruction on %rsp and on the flow. */
static void flow_and_sp(struct insn *in)
{
	uint8_t op = in->opcode, mod = in->modrm >> 6, reg = (in->modrm >> 3) & 7;
	uint8_t rm = in->modrm & 7;
	bool rex_b = in->rex & 1, rex_r = in->rex & 4, rex_w = in->rex & 8;
	bool rm_is_sp = in->has_modrm && mod == 3 && rm == 4 && !rex_b;
	bool reg_is_sp = in->has_modrm && reg == 4 && !rex_r;

	in->flow = INSN_FLOW_NEXT;
	in->cc = 0xff;
	in->sp_delta = 0;
	if (in->vex) {
		/* no VEX instruction writes a general register named %rsp in practice, but
		 * a few can (BMI): say so rather than guess */
		if (reg_is_sp || rm_is_sp)
			in->writes_sp_unknown = true;
		goto done;
	}
	if (in->map == 1) {
		if (op >= 0x80 && op <= 0x8f) {
			in->flow = INSN_FLOW_COND;
			in->cc = op & 15;
			in->rel = in->imm;
		} else if (op == 0x05 || op == 0x07 || op == 0x0b || op == 0x34 || op == 0x35 ||
			   op == 0xff || op == 0xb9) {
			in->flow = INSN_FLOW_STOP; /* syscall, sysret, ud2, sysenter/exit, ud0/1 */
		} else if (op == 0xa0 || op == 0xa8) {
			in->sp_delta = -8; /* push fs/gs */
		} else if (op == 0xa1 || op == 0xa9) {
			in->sp_delta = 8;
		} else if (reg_is_sp && (op == 0xaf || (op >= 0x40 && op <= 0x4f) ||
					 op == 0xb6 || op == 0xb7 || op == 0xbe || op == 0xbf ||
					 op == 0xb8 || op == 0xbc || op == 0xbd)) {
			in->writes_sp_unknown = true; /* imul, cmov, movzx/sx, popcnt, bsf... */
		} else if (rm_is_sp && (op == 0xc8 || (op >= 0x90 && op <= 0x9f))) {
			in->writes_sp_unknown = true;
		}
		goto done;
	}
	if (in->map != 0)
		goto done;
	switch (op) {
	case 0x70 ... 0x7f:
		in->flow = INSN_FLOW_COND;
		in->cc = op & 15;
		in->rel = in->imm;
		break;
	case 0xe0 ... 0xe3:
		in->flow = INSN_FLOW_COND;
		in->rel = in->imm;
		break;
	case 0xe8:
		in->flow = INSN_FLOW_CALL;
		in->rel = in->imm;
		break;
	case 0xe9:
	case 0xeb:
		in->flow = INSN_FLOW_JUMP;
		in->rel = in->imm;
		break;
	case 0xc2:
	case 0xc3:
	case 0xca:
	case 0xcb:
	case 0xcf:
		in->flow = INSN_FLOW_RET;
		break;
	case 0xcc:
	case 0xcd:
	case 0xf1:
	case 0xf4:
		in->flow = INSN_FLOW_STOP;
		break;
	case 0xff:
		if (reg == 2 || reg == 3)
			in->flow = INSN_FLOW_CALL_INDIRECT;
		else if (reg == 4 || reg == 5)
			in->flow = INSN_FLOW_JUMP_INDIRECT;
		else if (reg == 6)
			in->sp_delta = in->opsize ? -2 : -8;
		else if (rm_is_sp)
			in->writes_sp_unknown = true; /* inc/dec %rsp */
		break;
	case 0x50 ... 0x57:
	case 0x68:
	case 0x6a:
	case 0x9c:
		in->sp_delta = in->opsize ? -2 : -8;
		break;
	case 0x58 ... 0x5f:
		if (op == 0x5c && !rex_b)
			in->writes_sp_unknown = true; /* pop %rsp */
		else
			in->sp_delta = in->opsize ? 2 : 8;
		break;
	case 0x9d:
		in->sp_delta = in->opsize ? 2 : 8;
		break;
	case 0x8f:
		in->sp_delta = 8;
		if (rm_is_sp)
			in->writes_sp_unknown = true;
		break;
	case 0xc8:
	case 0xc9:
		in->writes_sp_unknown = true; /* enter, leave */
		break;
	case 0x81:
	case 0x83:
		/* add/sub $imm, %rsp are the frame allocations of a prologue */
		if (rm_is_sp && rex_w && (reg == 0 || reg == 5))
			in->sp_delta = (int32_t)(reg == 0 ? in->imm : -in->imm);
		else if (rm_is_sp && reg != 7)
			in->writes_sp_unknown = true; /* and, or, adc... (cmp writes nothing) */
		break;
	case 0x8d:
		/* lea disp(%rsp), %rsp */
		if (reg_is_sp) {
			/* base %rsp, no index, no REX.X/REX.B */
			bool plain_sp = mod != 3 && in->has_sib && (in->sib & 7) == 4 &&
					((in->sib >> 3) & 7) == 4 && !(in->rex & 3);

			if (plain_sp && rex_w)
				in->sp_delta = in->disp;
			else
				in->writes_sp_unknown = true;
		}
		break;
	case 0x00 ... 0x3f:
		/* ALU ops: 00-03 etc. with a register destination */
		if ((op & 7) <= 3 && (op & 0x38) != 0x38) {
			bool to_reg = op & 2;

			if ((to_reg && reg_is_sp) || (!to_reg && rm_is_sp))
				in->writes_sp_unknown = true;
		}
		break;
	case 0x86 ... 0x8b:
		/* xchg and mov: 88/89 write r/m, 8a/8b write reg, 86/87 both */
		if (((op == 0x8a || op == 0x8b || op == 0x86 || op == 0x87) && reg_is_sp) ||
		    ((op == 0x88 || op == 0x89 || op == 0x86 || op == 0x87) && rm_is_sp))
			in->writes_sp_unknown = true;
		break;
	case 0x63:
	case 0x69:
	case 0x6b:
		if (reg_is_sp)
			in->writes_sp_unknown = true;
		break;
	case 0x94:
		if (!rex_b)
			in->writes_sp_unknown = true; /* xchg %rsp, %rax */
		break;
	case 0xbc:
		if (!rex_b)
			in->writes_sp_unknown = true; /* mov $imm, %rsp */
		break;
	case 0xc0:
	case 0xc1:
	case 0xc7:
	case 0xd0 ... 0xd3:
	case 0xf7:
		if (rm_is_sp && !(op == 0xf7 && reg <= 1))
			in->writes_sp_unknown = true;
		break;
	}
done:
	if (in->writes_sp_unknown)
		in->sp_delta = INSN_SP_UNKNOWN;
}

int insn__decode(const uint8_t *p, size_t len, struct insn *out)
{
	size_t i = 0, max = len < INSN_MAX_LEN ? len : INSN_MAX_LEN;
	bool addr32 = false;
	int n_bad_prefix = 0;
	uint8_t ops;

	memset(out, 0, sizeof(*out));
	if (len == 0)
		return -ENODATA;

	/* legacy prefixes, any order; a REX only counts right before the opcode */
	for (;; i++) {
		if (i >= max)
			return len < INSN_MAX_LEN ? -ENODATA : -EINVAL;
		uint8_t b = p[i];

		if (b == 0x66) {
			out->opsize = true;
		} else if (b == 0x67) {
			addr32 = true;
		} else if (b == 0xf3) {
			out->rep = true;
		} else if (b == 0xf2) {
			out->repne = true;
		} else if (b == 0xf0) {
			out->lock = true;
			n_bad_prefix++;
		} else if (b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e) {
			n_bad_prefix++;
		} else if (b == 0x64 || b == 0x65) {
			/* fs/gs: fine */
		} else if ((b & 0xf0) == 0x40) {
			out->rex = b;
			if (i + 1 >= max)
				return len <= i + 1 ? -ENODATA : -EINVAL;
			uint8_t nb = p[i + 1];

			/* a legacy prefix after REX cancels it */
			if (nb == 0x66 || nb == 0x67 || nb == 0xf0 || nb == 0xf2 || nb == 0xf3 ||
			    nb == 0x26 || nb == 0x2e || nb == 0x36 || nb == 0x3e || nb == 0x64 ||
			    nb == 0x65 || (nb & 0xf0) == 0x40) {
				out->rex = 0;
				out->n_prefixes++;
				continue;
			}
			i++;
			break;
		} else {
			break;
		}
		out->n_prefixes++;
	}

#define NEED(n)                                                                               \
	do {                                                                                  \
		if (i + (n) > max)                                                            \
			return len < INSN_MAX_LEN && i + (n) > len ? -ENODATA : -EINVAL;      \
	} while (0)

	NEED(1);
	uint8_t b = p[i];
	bool rex_w = out->rex & 8;

	if (b == 0xc4 || b == 0xc5 || b == 0x62 ||
	    (b == 0x8f && i + 1 < max && (p[i + 1] & 0x38) != 0)) {
		/* VEX (c4/c5), EVEX (62), XOP (8f with a map in place of /0); none may follow
		 * REX, 66, f2 or f3 */
		if (out->rex || out->opsize || out->rep || out->repne || out->lock)
			return -EINVAL;
		out->vex = b;
		if (b == 0xc5) {
			NEED(3);
			out->map = 1;
			i += 2;
		} else if (b == 0x62) {
			NEED(5);
			out->map = p[i + 1] & 7;
			if (out->map == 0 || out->map == 4 || out->map == 7)
				return -EINVAL;
			rex_w = p[i + 2] & 0x80;
			i += 4;
		} else {
			NEED(4);
			out->map = p[i + 1] & 0x1f;
			rex_w = p[i + 2] & 0x80;
			if (b == 0xc4 && (out->map < 1 || out->map > 3))
				return -EINVAL;
			if (b == 0x8f && (out->map < 8 || out->map > 10))
				return -EINVAL;
			i += 3;
		}
		out->opcode = p[i++];
		/* every VEX/EVEX opcode has a ModRM but vzeroupper/vzeroall (map 1, 77) */
		out->has_modrm = !(out->vex == 0xc5 || out->vex == 0xc4) || out->map != 1 ||
				 out->opcode != 0x77;
		ops = out->has_modrm ? OP_MODRM : 0;
		if (out->vex == 0x8f)
			ops |= out->map == 8 ? OP_I8 : out->map == 10 ? OP_IZ : 0;
		else if (vex_has_imm8(out->map, out->opcode))
			ops |= OP_I8;
	} else if (b == 0x0f) {
		NEED(2);
		uint8_t b2 = p[i + 1];

		if (b2 == 0x38 || b2 == 0x3a) {
			NEED(3);
			out->map = b2 == 0x38 ? 2 : 3;
			out->opcode = p[i + 2];
			i += 3;
			ops = OP_MODRM | (out->map == 3 ? OP_I8 : 0);
		} else {
			out->map = 1;
			out->opcode = b2;
			i += 2;
			ops = twobyte_ops(b2);
		}
	} else {
		out->map = 0;
		out->opcode = b;
		i++;
		ops = onebyte_ops(b);
	}
	if (ops & OP_BAD)
		return out->map == 1 && out->opcode == 0x0f ? -EOPNOTSUPP : -EINVAL;

	if (ops & OP_MODRM) {
		NEED(1);
		out->has_modrm = true;
		out->modrm = p[i++];
		uint8_t mod = out->modrm >> 6, rm = out->modrm & 7;

		if (mod != 3) {
			if (rm == 4) {
				NEED(1);
				out->has_sib = true;
				out->sib = p[i++];
				if ((out->sib & 7) == 5 && mod == 0)
					out->disp_len = 4;
			} else if (rm == 5 && mod == 0) {
				out->disp_len = 4;
				out->rip_relative = true;
			}
			if (mod == 1)
				out->disp_len = 1;
			else if (mod == 2)
				out->disp_len = 4;
		}
		if (out->disp_len) {
			NEED(out->disp_len);
			out->disp_off = (uint8_t)i;
			out->disp = (int32_t)read_le(p + i, out->disp_len);
			i += out->disp_len;
		}
	}

	uint8_t imm_len = 0, imm2_len = 0;

	if (ops & OP_GRP3)
		imm_len = ((out->modrm >> 3) & 7) <= 1 ? (out->opcode == 0xf6 ? 1 : out->opsize ? 2 : 4)
						       : 0;
	if (ops & OP_I16)
		imm_len = 2;
	if (ops & OP_I8) {
		if (imm_len)
			imm2_len = 1;
		else
			imm_len = 1;
	}
	if (ops & OP_IZ) {
		bool branch = out->map == 1 || out->opcode == 0xe8 || out->opcode == 0xe9;

		/* near branches keep rel32 under 66 in 64-bit mode (Intel) */
		imm_len = out->opsize && !branch ? 2 : 4;
	}
	if (ops & OP_IV)
		imm_len = rex_w ? 8 : out->opsize ? 2 : 4;
	if (ops & OP_MOFFS)
		imm_len = addr32 ? 4 : 8;
	if (imm_len) {
		NEED(imm_len + imm2_len);
		out->imm_off = (uint8_t)i;
		out->imm_len = imm_len;
		out->imm = read_le(p + i, imm_len);
		i += imm_len + imm2_len;
	}
#undef NEED
	out->len = (uint8_t)i;
	flow_and_sp(out);
	classify(out, p, n_bad_prefix);
	return 0;
}

bool insn__branch_target(const struct insn *in, uint64_t addr, uint64_t *target)
{
	if (in->flow != INSN_FLOW_JUMP && in->flow != INSN_FLOW_COND && in->flow != INSN_FLOW_CALL)
		return false;
	*target = addr + in->len + (uint64_t)in->rel;
	return true;
}

bool insn__ends_block(const struct insn *in)
{
	return in->flow != INSN_FLOW_NEXT;
}

enum insn_class insn__class_at(const struct insn *in, uint64_t vaddr)
{
	/* 6.18 patches a nop5 only where it does not cross a page (no atomic cross-page
	 * write); elsewhere it is emulated like any nop */
	if (in->klass == INSN_CLASS_NOP5 && 4096 - (vaddr & 4095) < 5)
		return INSN_CLASS_EMULATED;
	return (enum insn_class)in->klass;
}

const char *insn__class_name(enum insn_class c)
{
	switch (c) {
	case INSN_CLASS_NOP5:
		return "nop5";
	case INSN_CLASS_EMULATED:
		return "emulated";
	case INSN_CLASS_STEPPED:
		return "stepped";
	case INSN_CLASS_REFUSED:
		return "refused";
	}
	return "?";
}
