/* Turns by-name captures (arg0->ctx->workflow_id) into offsets, sizes and read kinds from
 * the target's DWARF (libdw), at attach time: the function's parameter type tells which
 * struct each "->" walks into. Captures written with explicit offsets need no DWARF at all. */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"
#include "ttatrace.h"

#define MAX_STR_CAPS TT_MAX_STR_CAPS /* string buffers per record on the BPF side */
#define MAX_FIELDS (CAT_MAX_DEREFS + 1)
#define MAX_ANON_DEPTH 8

/* Strips typedefs and qualifiers; *name gets the last typedef name seen (for anonymous
 * structs in messages). 0, or -1 if the chain ends (void). */
static int peel(Dwarf_Die *die, const char **name)
{
	for (int i = 0; i < 64; i++) {
		Dwarf_Attribute at;
		int tag = dwarf_tag(die);

		if (tag != DW_TAG_typedef && tag != DW_TAG_const_type && tag != DW_TAG_volatile_type &&
		    tag != DW_TAG_restrict_type && tag != DW_TAG_atomic_type)
			return 0;
		if (tag == DW_TAG_typedef && name)
			*name = dwarf_diename(die);
		if (!dwarf_attr_integrate(die, DW_AT_type, &at) || !dwarf_formref_die(&at, die))
			return -1;
	}
	return -1;
}

/* The DIE's DW_AT_type, peeled. 0 or -1 (no type: void). */
static int type_of(Dwarf_Die *die, Dwarf_Die *out, const char **tname)
{
	Dwarf_Attribute at;

	if (!dwarf_attr_integrate(die, DW_AT_type, &at) || !dwarf_formref_die(&at, out))
		return -1;
	return peel(out, tname);
}

static bool is_definition_named(Dwarf_Die *die, const char *symbol)
{
	Dwarf_Attribute at;
	const char *n;

	if (dwarf_tag(die) != DW_TAG_subprogram || dwarf_hasattr(die, DW_AT_declaration))
		return false;
	n = dwarf_diename(die);
	if (n && !strcmp(n, symbol))
		return true;
	/* C++ and other mangled names */
	if (dwarf_attr_integrate(die, DW_AT_linkage_name, &at) ||
	    dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &at)) {
		n = dwarf_formstring(&at);
		return n && !strcmp(n, symbol);
	}
	return false;
}

/* Depth-first through namespaces/CUs: the definition DIE of function symbol. */
static bool find_in(Dwarf_Die *parent, const char *symbol, Dwarf_Die *out, int depth)
{
	Dwarf_Die child;

	if (depth > 4 || dwarf_child(parent, &child) != 0)
		return false;
	do {
		int tag = dwarf_tag(&child);

		if (is_definition_named(&child, symbol)) {
			*out = child;
			return true;
		}
		if ((tag == DW_TAG_namespace || tag == DW_TAG_structure_type ||
		     tag == DW_TAG_class_type) &&
		    find_in(&child, symbol, out, depth + 1))
			return true;
	} while (dwarf_siblingof(&child, &child) == 0);
	return false;
}

static bool find_function(Dwarf *dw, const char *symbol, Dwarf_Die *out)
{
	Dwarf_Off off = 0, next;
	size_t hsize;

	while (dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu;

		if (dwarf_offdie(dw, off + hsize, &cu) && find_in(&cu, symbol, out, 0))
			return true;
		off = next;
	}
	return false;
}

/* Nth formal parameter of fn: 0, or the number of parameters (>= 0) as a negative - 1. */
static int nth_param(Dwarf_Die *fn, int n, Dwarf_Die *out)
{
	Dwarf_Die child;
	int i = 0;

	if (dwarf_child(fn, &child) != 0)
		return -1;
	do {
		if (dwarf_tag(&child) != DW_TAG_formal_parameter)
			continue;
		if (i == n) {
			*out = child;
			return 0;
		}
		i++;
	} while (dwarf_siblingof(&child, &child) == 0);
	return -(i + 1);
}

static const char *struct_name(Dwarf_Die *st, const char *tname, char *buf, size_t len)
{
	const char *n = dwarf_diename(st);
	const char *kw = dwarf_tag(st) == DW_TAG_union_type ? "union" : "struct";

	if (n)
		snprintf(buf, len, "%s %s", kw, n);
	else if (tname)
		snprintf(buf, len, "%s", tname);
	else
		snprintf(buf, len, "%s (anonymous)", kw);
	return buf;
}

/* Member `field` of struct/union st, looking into anonymous members; *off accumulates. */
static int find_member(Dwarf_Die *st, const char *field, Dwarf_Die *out, int64_t *off, int depth)
{
	Dwarf_Die m;

	if (depth > MAX_ANON_DEPTH || dwarf_child(st, &m) != 0)
		return -ENOENT;
	do {
		Dwarf_Attribute at;
		Dwarf_Word loc = 0;
		const char *n;

		if (dwarf_tag(&m) != DW_TAG_member)
			continue;
		if (dwarf_attr_integrate(&m, DW_AT_data_member_location, &at) &&
		    dwarf_formudata(&at, &loc) != 0)
			continue; /* a location expression: not something C emits */
		n = dwarf_diename(&m);
		if (n && !strcmp(n, field)) {
			if (dwarf_hasattr(&m, DW_AT_bit_size))
				return -EOPNOTSUPP;
			*out = m;
			*off += (int64_t)loc;
			return 0;
		}
		if (!n) {
			Dwarf_Die t;
			int64_t sub = 0;

			if (type_of(&m, &t, NULL) == 0 &&
			    (dwarf_tag(&t) == DW_TAG_structure_type || dwarf_tag(&t) == DW_TAG_union_type) &&
			    find_member(&t, field, out, &sub, depth + 1) == 0) {
				*off += (int64_t)loc + sub;
				return 0;
			}
		}
	} while (dwarf_siblingof(&m, &m) == 0);
	return -ENOENT;
}

static bool is_char_type(Dwarf_Die *t)
{
	Dwarf_Attribute at;
	Dwarf_Word enc;

	if (dwarf_tag(t) != DW_TAG_base_type || dwarf_bytesize(t) != 1)
		return false;
	if (!dwarf_attr_integrate(t, DW_AT_encoding, &at) || dwarf_formudata(&at, &enc))
		return false;
	return enc == DW_ATE_signed_char || enc == DW_ATE_unsigned_char || enc == DW_ATE_signed ||
	       enc == DW_ATE_unsigned || enc == DW_ATE_UTF;
}

static bool is_signed_base(Dwarf_Die *t)
{
	Dwarf_Attribute at;
	Dwarf_Word enc;

	if (!dwarf_attr_integrate(t, DW_AT_encoding, &at) || dwarf_formudata(&at, &enc))
		return false;
	return enc == DW_ATE_signed || enc == DW_ATE_signed_char;
}

/* The last member's type decides how it is read. */
static int set_final(struct capture *c, Dwarf_Die *t, const char *what, char *err, size_t errlen)
{
	bool want_str = c->type == CAP_T_STR, want_bool = c->type == CAP_T_BOOL;
	int tag = dwarf_tag(t), size;
	Dwarf_Die pointee;

	if (tag == DW_TAG_array_type) {
		Dwarf_Die elem;

		if (want_str || (type_of(t, &elem, NULL) == 0 && is_char_type(&elem))) {
			c->final = CAP_FINAL_STR;
			c->type = CAP_T_STR;
			c->size = 0;
			return 0;
		}
		snprintf(err, errlen, "capture %s: %s is an array of non-characters (use str(%s) or *(T *)(... + K))",
			 c->name ? c->name : c->expr, what, c->expr);
		return -EINVAL;
	}
	if (tag == DW_TAG_pointer_type) {
		bool char_ptr = type_of(t, &pointee, NULL) == 0 && is_char_type(&pointee);

		if (want_str || char_ptr) {
			c->final = CAP_FINAL_STR_PTR;
			c->type = CAP_T_STR;
			c->size = 8;
			return 0;
		}
		c->final = CAP_FINAL_READ;
		c->size = 8;
		c->type = want_bool ? CAP_T_BOOL : CAP_T_PTR;
		return 0;
	}
	if (want_str) {
		snprintf(err, errlen, "capture %s: %s is not a string (str() needs a char array or a pointer)",
			 c->name ? c->name : c->expr, what);
		return -EINVAL;
	}
	size = dwarf_bytesize(t);
	if (tag == DW_TAG_base_type || tag == DW_TAG_enumeration_type) {
		Dwarf_Attribute at;
		Dwarf_Word enc = 0;
		Dwarf_Die under;

		if (size != 1 && size != 2 && size != 4 && size != 8) {
			snprintf(err, errlen, "capture %s: %s has size %d (expected 1, 2, 4 or 8 bytes)",
				 c->name ? c->name : c->expr, what, size);
			return -EINVAL;
		}
		if (tag == DW_TAG_base_type && dwarf_attr_integrate(t, DW_AT_encoding, &at))
			dwarf_formudata(&at, &enc);
		if (enc == DW_ATE_float || enc == DW_ATE_complex_float) {
			snprintf(err, errlen, "capture %s: %s is a floating-point number (not supported)",
				 c->name ? c->name : c->expr, what);
			return -EINVAL;
		}
		c->final = CAP_FINAL_READ;
		c->size = (uint32_t)size;
		if (want_bool || enc == DW_ATE_boolean)
			c->type = CAP_T_BOOL;
		else if (tag == DW_TAG_base_type)
			c->type = is_signed_base(t) ? CAP_T_S64 : CAP_T_U64;
		else /* enum: signed if its underlying type is */
			c->type = type_of(t, &under, NULL) == 0 && is_signed_base(&under) ? CAP_T_S64 :
											       CAP_T_U64;
		return 0;
	}
	snprintf(err, errlen, "capture %s: %s is a %s (name one of its fields, or use explicit offsets)",
		 c->name ? c->name : c->expr, what,
		 tag == DW_TAG_structure_type ? "struct" : tag == DW_TAG_union_type ? "union" : "non-scalar type");
	return -EINVAL;
}

static int resolve_one(Dwarf_Die *fn, const char *symbol, struct capture *c, char *err, size_t errlen)
{
	char fields[MAX_FIELDS][64], what[256], sname[128];
	const char *tname = NULL;
	Dwarf_Die param, t;
	int n_fields = 0, ret;
	const char *p = c->field_path;
	int64_t off = 0;

	while (*p && n_fields < MAX_FIELDS) {
		size_t n = strcspn(p, ".");

		if (n >= sizeof(fields[0]))
			n = sizeof(fields[0]) - 1;
		memcpy(fields[n_fields], p, n);
		fields[n_fields++][n] = 0;
		p += n;
		if (*p == '.')
			p++;
	}
	ret = nth_param(fn, c->arg, &param);
	if (ret < 0) {
		snprintf(err, errlen, "capture %s: arg%d: %s has only %d parameter%s",
			 c->name ? c->name : c->expr, c->arg, symbol, -ret - 1, -ret - 1 == 1 ? "" : "s");
		return -EINVAL;
	}
	snprintf(what, sizeof(what), "arg%d", c->arg);
	if (type_of(&param, &t, &tname)) {
		snprintf(err, errlen, "capture %s: %s has no type in DWARF", c->name ? c->name : c->expr,
			 what);
		return -EINVAL;
	}
	c->n_derefs = 0;
	for (int i = 0; i < n_fields; i++) {
		Dwarf_Die st, member;

		if (i > 0) {
			/* the previous member holds the pointer: that is a hop */
			c->deref_off[c->n_derefs++] = off;
			off = 0;
		}
		if (dwarf_tag(&t) != DW_TAG_pointer_type) {
			snprintf(err, errlen, "capture %s: %s is not a pointer", c->name ? c->name : c->expr,
				 what);
			return -EINVAL;
		}
		tname = NULL;
		if (type_of(&t, &st, &tname) ||
		    (dwarf_tag(&st) != DW_TAG_structure_type && dwarf_tag(&st) != DW_TAG_union_type &&
		     dwarf_tag(&st) != DW_TAG_class_type)) {
			snprintf(err, errlen, "capture %s: %s does not point to a struct",
				 c->name ? c->name : c->expr, what);
			return -EINVAL;
		}
		if (dwarf_hasattr(&st, DW_AT_declaration)) {
			snprintf(err, errlen, "capture %s: %s is incomplete in this DWARF unit (use explicit offsets)",
				 c->name ? c->name : c->expr, struct_name(&st, tname, sname, sizeof(sname)));
			return -EINVAL;
		}
		ret = find_member(&st, fields[i], &member, &off, 0);
		if (ret == -EOPNOTSUPP) {
			snprintf(err, errlen, "capture %s: %s member %s is a bit-field (not supported)",
				 c->name ? c->name : c->expr, struct_name(&st, tname, sname, sizeof(sname)),
				 fields[i]);
			return -EINVAL;
		}
		if (ret) {
			snprintf(err, errlen, "capture %s: %s has no member %s", c->name ? c->name : c->expr,
				 struct_name(&st, tname, sname, sizeof(sname)), fields[i]);
			return -EINVAL;
		}
		snprintf(what + strlen(what), sizeof(what) - strlen(what), "->%s", fields[i]);
		if (type_of(&member, &t, NULL)) {
			snprintf(err, errlen, "capture %s: %s has no type", c->name ? c->name : c->expr, what);
			return -EINVAL;
		}
	}
	c->final_off = off;
	ret = set_final(c, &t, what, err, errlen);
	if (ret)
		return ret;
	free(c->field_path);
	c->field_path = NULL;
	return 0;
}

int catalog__resolve(const struct cat_entry *e, const char *path, const char *symbol,
		     struct capture out[CAT_MAX_CAPTURES], char *err, size_t errlen)
{
	Dwarf *dw = NULL;
	Dwarf_Die fn;
	bool need_dwarf = false;
	int fd = -1, ret = 0, i, n_str = 0;

	memset(out, 0, sizeof(*out) * CAT_MAX_CAPTURES);
	if (!e || !path || !symbol)
		return -EINVAL;
	for (i = 0; i < e->n_caps; i++) {
		ret = capture__copy(&out[i], &e->caps[i]);
		if (ret) {
			snprintf(err, errlen, "out of memory");
			goto cleanup;
		}
		need_dwarf |= e->caps[i].field_path != NULL;
	}
	if (!need_dwarf)
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(-ret));
		goto cleanup;
	}
	dw = dwarf_begin(fd, DWARF_C_READ);
	if (!dw) {
		ret = -ENODATA;
		snprintf(err, errlen, "no debug info in %s (build with -g, or use explicit offsets like *(u64 *)(arg0 + 16))",
			 path);
		goto cleanup;
	}
	if (!find_function(dw, symbol, &fn)) {
		ret = -ENOENT;
		snprintf(err, errlen, "function %s not found in DWARF of %s", symbol, path);
		goto cleanup;
	}
	for (i = 0; i < e->n_caps; i++) {
		if (!out[i].field_path)
			continue;
		ret = resolve_one(&fn, symbol, &out[i], err, errlen);
		if (ret)
			goto cleanup;
	}
	for (i = 0; i < e->n_caps; i++) {
		if (capture__is_string(&out[i]) && ++n_str > MAX_STR_CAPS) {
			ret = -EINVAL;
			snprintf(err, errlen, "capture %s: at most %d string captures per primitive (%s has more after resolving fields)",
				 out[i].name ? out[i].name : out[i].expr, MAX_STR_CAPS, symbol);
			goto cleanup;
		}
	}
	if (e->ctx_key >= 0 && capture__is_string(&out[e->ctx_key])) {
		ret = -EINVAL;
		snprintf(err, errlen, "context_key %s resolves to a string; expected a number or pointer",
			 out[e->ctx_key].name);
	}
cleanup:
	if (dw)
		dwarf_end(dw);
	if (fd >= 0)
		close(fd);
	if (ret)
		for (i = 0; i < CAT_MAX_CAPTURES; i++)
			capture__clear(&out[i]);
	return ret;
}
