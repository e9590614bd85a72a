/* Error rules from return types (see rettype.h). The DWARF of a file is walked once:
 * every function definition with an entry address gets its rule, looked up later by
 * the symbol's address (aliases and C++ names need no name matching). Without DWARF a
 * .BTF section (rare outside the kernel, but pahole -J and some toolchains write one)
 * answers by name. */
#include <bpf/btf.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"
#include "rettype.h"
#include "ttatrace.h"

#define MAX_TYPE_HOPS 32
#define MAX_SCOPE_DEPTH 4

struct ret_fn {
	uint64_t addr;
	struct ret_rule r;
};

struct ret_types {
	struct ret_fn *fns; /* sorted by addr */
	size_t n, cap;
	struct btf *btf; /* NULL unless the file has no DWARF and a .BTF section */
	const char *source;
};

static void set_rule(struct ret_rule *out, uint8_t rule, const char *type)
{
	out->rule = rule;
	snprintf(out->type, sizeof(out->type), "%s", type && type[0] ? type : "?");
}

static uint8_t neg_rule_of_size(uint64_t bytes)
{
	switch (bytes) {
	case 1:
		return TT_RET_NEG_S8;
	case 2:
		return TT_RET_NEG_S16;
	case 4:
		return TT_RET_NEG_S32;
	case 8:
		return TT_RET_NEG_S64;
	default:
		return TT_RET_NONE; /* __int128 and odd sizes: no rule */
	}
}

/* --- DWARF ---------------------------------------------------------------------- */

static bool dwarf_signed_base(Dwarf_Die *t)
{
	Dwarf_Attribute at;
	Dwarf_Word enc;

	return dwarf_tag(t) == DW_TAG_base_type && dwarf_attr(t, DW_AT_encoding, &at) &&
	       !dwarf_formudata(&at, &enc) && enc == DW_ATE_signed;
}

/* The rule of a DWARF type DIE: typedefs and qualifiers are followed, the first name
 * met is the one shown (ssize_t, not long int). */
static void classify_dwarf_type(Dwarf_Die *t, struct ret_rule *out)
{
	const char *name = NULL;
	Dwarf_Attribute at;
	Dwarf_Word enc;
	Dwarf_Die under;
	int tag = 0, i;

	for (i = 0; i < MAX_TYPE_HOPS; i++) {
		tag = dwarf_tag(t);
		if (!name)
			name = dwarf_diename(t);
		if (tag != DW_TAG_typedef && tag != DW_TAG_const_type && tag != DW_TAG_volatile_type &&
		    tag != DW_TAG_restrict_type && tag != DW_TAG_atomic_type)
			break;
		if (!dwarf_attr_integrate(t, DW_AT_type, &at) || !dwarf_formref_die(&at, t)) {
			set_rule(out, TT_RET_NONE, "void");
			return;
		}
	}
	switch (tag) {
	case DW_TAG_base_type:
		if (!dwarf_attr(t, DW_AT_encoding, &at) || dwarf_formudata(&at, &enc)) {
			set_rule(out, TT_RET_NONE, name);
			return;
		}
		set_rule(out, enc == DW_ATE_signed ? neg_rule_of_size((uint64_t)dwarf_bytesize(t)) : TT_RET_NONE,
			 name);
		return;
	case DW_TAG_enumeration_type: {
		/* an enum is signed (has negative values) when its underlying type
		 * is: status enums with negative error codes */
		bool neg = dwarf_attr_integrate(t, DW_AT_type, &at) && dwarf_formref_die(&at, &under) &&
			   dwarf_signed_base(&under);

		const char *own = dwarf_diename(t);
		char ename[sizeof(out->type)];

		/* "enum status" for a named enum, a typedef's name as it is */
		snprintf(ename, sizeof(ename), "%s%s", own && name == own ? "enum " : "",
			 name ? name : "enum");
		set_rule(out, neg ? neg_rule_of_size((uint64_t)dwarf_bytesize(t)) : TT_RET_NONE, ename);
		return;
	}
	case DW_TAG_pointer_type:
	case DW_TAG_reference_type:
	case DW_TAG_rvalue_reference_type:
	case DW_TAG_ptr_to_member_type:
		set_rule(out, TT_RET_NONE, "pointer");
		return;
	case DW_TAG_structure_type:
	case DW_TAG_class_type:
		set_rule(out, TT_RET_NONE, "struct");
		return;
	case DW_TAG_union_type:
		set_rule(out, TT_RET_NONE, "union");
		return;
	default:
		set_rule(out, TT_RET_NONE, name ? name : "other type");
		return;
	}
}

/* The function's return type: DW_AT_type of the DIE or of what it completes
 * (DW_AT_abstract_origin of an out-of-line copy, DW_AT_specification of a
 * C++ member); none at all is void. */
static void classify_dwarf_fn(Dwarf_Die *fn, struct ret_rule *out)
{
	Dwarf_Attribute at;
	Dwarf_Die t;

	if (!dwarf_attr_integrate(fn, DW_AT_type, &at) || !dwarf_formref_die(&at, &t)) {
		set_rule(out, TT_RET_NONE, "void");
		return;
	}
	classify_dwarf_type(&t, out);
}

static int add_fn(struct ret_types *rt, uint64_t addr, const struct ret_rule *r)
{
	if (rt->n == rt->cap) {
		size_t cap = rt->cap ? rt->cap * 2 : 256;
		struct ret_fn *n = realloc(rt->fns, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		rt->fns = n;
		rt->cap = cap;
	}
	rt->fns[rt->n].addr = addr;
	rt->fns[rt->n].r = *r;
	rt->n++;
	return 0;
}

/* The address a call enters the function at: its entry pc or low pc, else the start
 * of its first range (hot/cold split functions have only DW_AT_ranges). */
static bool entry_addr(Dwarf_Die *fn, uint64_t *addr)
{
	Dwarf_Addr pc, base, start, end;

	if (!dwarf_entrypc(fn, &pc)) {
		*addr = pc;
		return true;
	}
	if (dwarf_ranges(fn, 0, &base, &start, &end) > 0) {
		*addr = start;
		return true;
	}
	return false;
}

/* Function definitions under a CU, a namespace or a class (in-class C++ bodies). */
static int walk_scope(struct ret_types *rt, Dwarf_Die *parent, int depth)
{
	Dwarf_Die child;
	int err = 0;

	if (depth > MAX_SCOPE_DEPTH || dwarf_child(parent, &child) != 0)
		return 0;
	do {
		int tag = dwarf_tag(&child);
		struct ret_rule r;
		uint64_t addr;

		if (tag == DW_TAG_subprogram && !dwarf_hasattr(&child, DW_AT_declaration) &&
		    entry_addr(&child, &addr)) {
			classify_dwarf_fn(&child, &r);
			err = add_fn(rt, addr, &r);
		} else if (tag == DW_TAG_namespace || tag == DW_TAG_structure_type ||
			   tag == DW_TAG_class_type) {
			err = walk_scope(rt, &child, depth + 1);
		}
	} while (!err && dwarf_siblingof(&child, &child) == 0);
	return err;
}

static int read_dwarf(struct ret_types *rt, Elf *elf)
{
	Dwarf *dw = dwarf_begin_elf(elf, DWARF_C_READ, NULL);
	Dwarf_Off off = 0, next;
	size_t hsize;
	int err = 0;

	if (!dw)
		return 0;
	while (!err && dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu;

		if (dwarf_offdie(dw, off + hsize, &cu))
			err = walk_scope(rt, &cu, 0);
		off = next;
	}
	dwarf_end(dw);
	return err;
}

static int cmp_fn(const void *a, const void *b)
{
	const struct ret_fn *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* --- BTF ------------------------------------------------------------------------ */

static void classify_btf_type(const struct btf *btf, __u32 id, struct ret_rule *out)
{
	const char *name = NULL;
	const struct btf_type *t = NULL;
	int i;

	for (i = 0; i < MAX_TYPE_HOPS; i++) {
		if (!id) {
			set_rule(out, TT_RET_NONE, "void");
			return;
		}
		t = btf__type_by_id(btf, id);
		if (!t) {
			set_rule(out, TT_RET_NONE, "no type info");
			return;
		}
		if (!name && t->name_off)
			name = btf__name_by_offset(btf, t->name_off);
		if (!btf_is_typedef(t) && !btf_is_mod(t))
			break;
		id = t->type;
	}
	if (btf_is_int(t)) {
		bool sig = (btf_int_encoding(t) & BTF_INT_SIGNED) && !(btf_int_encoding(t) & BTF_INT_BOOL);

		set_rule(out, sig ? neg_rule_of_size(t->size) : TT_RET_NONE, name);
	} else if (btf_is_any_enum(t)) {
		/* kflag: a signed enum (one with negative values) */
		set_rule(out, btf_kflag(t) ? neg_rule_of_size(t->size) : TT_RET_NONE,
			 name ? name : "enum");
	} else if (btf_is_ptr(t)) {
		set_rule(out, TT_RET_NONE, "pointer");
	} else if (btf_is_struct(t)) {
		set_rule(out, TT_RET_NONE, "struct");
	} else if (btf_is_union(t)) {
		set_rule(out, TT_RET_NONE, "union");
	} else {
		set_rule(out, TT_RET_NONE, name ? name : "other type");
	}
}

static struct btf *read_btf(Elf *elf)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *n;
		Elf_Data *d;
		struct btf *btf;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS)
			continue;
		n = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!n || strcmp(n, ".BTF"))
			continue;
		d = elf_getdata(scn, NULL);
		if (!d || !d->d_buf || !d->d_size)
			return NULL;
		btf = btf__new(d->d_buf, d->d_size);
		return btf; /* NULL on a malformed section (libbpf 1.0+) */
	}
	return NULL;
}

/* --- the table ------------------------------------------------------------------ */

struct ret_types *ret_types__open(const char *path)
{
	struct ret_types *rt = calloc(1, sizeof(*rt));
	Elf *elf = NULL;
	int fd, err = 0;

	if (!rt)
		return NULL;
	rt->source = "none";
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		goto fail;
	}
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF)
		goto out; /* not ELF: no type information */
	err = read_dwarf(rt, elf);
	if (err)
		goto fail;
	if (rt->n) {
		size_t i, j;

		rt->source = "DWARF";
		qsort(rt->fns, rt->n, sizeof(*rt->fns), cmp_fn);
		/* one entry per address: the first definition met */
		for (i = 1, j = 1; i < rt->n; i++)
			if (rt->fns[i].addr != rt->fns[j - 1].addr)
				rt->fns[j++] = rt->fns[i];
		rt->n = j;
	} else {
		rt->btf = read_btf(elf);
		if (rt->btf)
			rt->source = "BTF";
	}
out:
	if (elf)
		elf_end(elf);
	close(fd);
	return rt;
fail:
	if (elf)
		elf_end(elf);
	if (fd >= 0)
		close(fd);
	ret_types__free(rt);
	errno = -err;
	return NULL;
}

void ret_types__lookup(const struct ret_types *rt, uint64_t addr, const char *symbol,
		       struct ret_rule *out)
{
	size_t lo = 0, hi = rt ? rt->n : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (rt->fns[mid].addr == addr) {
			*out = rt->fns[mid].r;
			return;
		}
		if (rt->fns[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (rt && rt->btf && symbol) {
		__s32 id = btf__find_by_name_kind(rt->btf, symbol, BTF_KIND_FUNC);
		const struct btf_type *fn = id > 0 ? btf__type_by_id(rt->btf, id) : NULL;
		const struct btf_type *proto = fn ? btf__type_by_id(rt->btf, fn->type) : NULL;

		if (proto && btf_is_func_proto(proto)) {
			classify_btf_type(rt->btf, proto->type, out);
			return;
		}
	}
	set_rule(out, TT_RET_NONE, "no type info");
}

size_t ret_types__count(const struct ret_types *rt)
{
	if (!rt)
		return 0;
	if (rt->btf) {
		size_t n = 0;
		__u32 id, last = btf__type_cnt(rt->btf);

		for (id = 1; id < last; id++)
			n += btf_is_func(btf__type_by_id(rt->btf, id));
		return n;
	}
	return rt->n;
}

const char *ret_types__source(const struct ret_types *rt)
{
	return rt ? rt->source : "none";
}

void ret_types__free(struct ret_types *rt)
{
	if (!rt)
		return;
	btf__free(rt->btf);
	free(rt->fns);
	free(rt);
}

unsigned ret_operand_bits(const struct error_rule *cat, const struct ret_rule *r)
{
	if (cat && cat->ret_bits)
		return cat->ret_bits;
	return r && r->rule >= TT_RET_NEG_S8 && r->rule <= TT_RET_NEG_S64 ? 8u << (r->rule - 1) : 0;
}

const char *ret_rule__text(const struct error_rule *cat, const struct ret_rule *r, char *buf,
			   size_t len)
{
	static const char *const casts[65] = { [8] = "(s8)", [16] = "(s16)", [32] = "(int)",
					       [64] = "(long)" };

	if (cat && cat->none)
		snprintf(buf, len, "catalogue: none");
	else if (cat && cat->op != ERR_NONE && cat->operand)
		snprintf(buf, len, "catalogue: %s%s %s %lld",
			 cat->ret_bits <= 64 && casts[cat->ret_bits] ? casts[cat->ret_bits] : "",
			 cat->operand, err_op__text(cat->op), (long long)cat->value);
	else if (r->rule != TT_RET_NONE)
		snprintf(buf, len, "ret<0 (%s)", r->type);
	else
		snprintf(buf, len, "none (%s)", r->type);
	return buf;
}
