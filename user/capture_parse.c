/* The small languages inside a catalogue entry: capture expressions (argN, ret, str(...),
 * argN->field paths, *(T *)(argN + K) reads with explicit pointer hops, (bool)...), error
 * rules ("ret < 0") and primitive kind names. Everything here is pure string parsing; field
 * names are turned into offsets later, from DWARF (dwarf_resolve.c). */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"

#define MAX_ARG_IDX 5 /* BPF sees the first six integer arguments in registers */
#define MAX_FIELDS (CAT_MAX_DEREFS + 1)

static const char *const kind_names[KIND__COUNT] = {
	[KIND_STEP] = "step",		[KIND_SEQUENTIAL] = "sequential",
	[KIND_PARALLEL] = "parallel",	[KIND_CONDITIONAL] = "conditional",
	[KIND_SWITCH] = "switch",	[KIND_ROUTER] = "router",
	[KIND_RETRY] = "retry",		[KIND_FALLBACK] = "fallback",
	[KIND_TIMEOUT] = "timeout",	[KIND_CACHE] = "cache",
	[KIND_SAGA] = "saga",		[KIND_LAMBDA] = "lambda",
};

const char *prim_kind__name(enum prim_kind k)
{
	if ((int)k < 0 || k >= KIND__COUNT)
		return "unknown";
	return kind_names[k];
}

int prim_kind__parse(const char *s, enum prim_kind *out)
{
	if (!s)
		return -EINVAL;
	for (int k = 0; k < KIND__COUNT; k++) {
		if (!strcmp(s, kind_names[k])) {
			*out = k;
			return 0;
		}
	}
	return -EINVAL;
}

void capture__clear(struct capture *c)
{
	if (!c)
		return;
	free(c->name);
	free(c->expr);
	free(c->field_path);
	memset(c, 0, sizeof(*c));
}

int capture__copy(struct capture *dst, const struct capture *src)
{
	*dst = *src;
	dst->name = src->name ? strdup(src->name) : NULL;
	dst->expr = src->expr ? strdup(src->expr) : NULL;
	dst->field_path = src->field_path ? strdup(src->field_path) : NULL;
	if ((src->name && !dst->name) || (src->expr && !dst->expr) ||
	    (src->field_path && !dst->field_path)) {
		capture__clear(dst);
		return -ENOMEM;
	}
	return 0;
}

bool capture__is_string(const struct capture *c)
{
	return c->final == CAP_FINAL_STR || c->final == CAP_FINAL_STR_PTR;
}

/* --- capture expressions: a recursive-descent parser over one string ------------------ */

struct cparser {
	const char *s; /* whole expression, for messages */
	const char *p;
	char *err;
	size_t errlen;
	bool failed;
};

/* What a sub-expression denotes while it is being built. */
struct cval {
	enum cap_src src;
	int arg;
	int n_derefs;
	int64_t deref_off[CAT_MAX_DEREFS];
	bool loaded; /* value is the result of *(T *)(... + load_off): not yet a hop */
	int64_t load_off;
	uint32_t load_size;
	enum cap_type load_type;
	int n_fields; /* by-name path after argN */
	char fields[MAX_FIELDS][64];
};

static int cfail(struct cparser *cp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int cfail(struct cparser *cp, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	if (cp->failed)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(cp->err, cp->errlen, "bad capture expression \"%s\": %s", cp->s, why);
	cp->failed = true;
	return -EINVAL;
}

static void skip_ws(struct cparser *cp)
{
	while (*cp->p == ' ' || *cp->p == '\t')
		cp->p++;
}

static bool eat(struct cparser *cp, const char *tok)
{
	size_t n = strlen(tok);

	skip_ws(cp);
	if (strncmp(cp->p, tok, n))
		return false;
	cp->p += n;
	return true;
}

/* An identifier at p (without consuming it): its length, 0 if none. */
static size_t ident_len(const char *p)
{
	size_t n = 0;

	if (!(isalpha((unsigned char)*p) || *p == '_'))
		return 0;
	while (isalnum((unsigned char)p[n]) || p[n] == '_')
		n++;
	return n;
}

/* A keyword is an identifier equal to kw, not a prefix of a longer one. */
static bool eat_word(struct cparser *cp, const char *kw)
{
	skip_ws(cp);
	if (ident_len(cp->p) != strlen(kw) || strncmp(cp->p, kw, strlen(kw)))
		return false;
	cp->p += strlen(kw);
	return true;
}

static int expect(struct cparser *cp, const char *tok)
{
	if (eat(cp, tok))
		return 0;
	skip_ws(cp);
	if (!*cp->p)
		return cfail(cp, "expected '%s' at the end", tok);
	return cfail(cp, "expected '%s' at \"%s\"", tok, cp->p);
}

static int parse_number(struct cparser *cp, int64_t *out)
{
	char *end;
	long long v;

	skip_ws(cp);
	if (!isdigit((unsigned char)*cp->p))
		return cfail(cp, "expected a byte offset (a number) at \"%s\"", cp->p);
	errno = 0;
	v = strtoll(cp->p, &end, 0);
	if (errno || isalnum((unsigned char)*end) || *end == '_')
		return cfail(cp, "bad offset at \"%s\"", cp->p);
	if (v > (1LL << 31))
		return cfail(cp, "offset %lld is too large", v);
	cp->p = end;
	*out = v;
	return 0;
}

struct type_name {
	const char *name;
	uint32_t size;
	enum cap_type type;
};

static const struct type_name type_names[] = {
	{ "u8", 1, CAP_T_U64 },	 { "u16", 2, CAP_T_U64 }, { "u32", 4, CAP_T_U64 },
	{ "u64", 8, CAP_T_U64 }, { "s8", 1, CAP_T_S64 },  { "s16", 2, CAP_T_S64 },
	{ "s32", 4, CAP_T_S64 }, { "s64", 8, CAP_T_S64 }, { "int", 4, CAP_T_S64 },
	{ "long", 8, CAP_T_S64 }, { "ptr", 8, CAP_T_PTR }, { "bool", 1, CAP_T_BOOL },
};

static int parse_type(struct cparser *cp, uint32_t *size, enum cap_type *type)
{
	size_t n;

	skip_ws(cp);
	n = ident_len(cp->p);
	for (size_t i = 0; n && i < sizeof(type_names) / sizeof(type_names[0]); i++) {
		if (strlen(type_names[i].name) == n && !strncmp(cp->p, type_names[i].name, n)) {
			cp->p += n;
			*size = type_names[i].size;
			*type = type_names[i].type;
			return 0;
		}
	}
	return cfail(cp, "unknown type \"%.*s\" (expected u8 u16 u32 u64 s8 s16 s32 s64 int long ptr bool)",
		     (int)(n ? n : strlen(cp->p)), cp->p);
}

/* A pending 8-byte load becomes a pointer hop, so the value can be added to or read through. */
static int make_address(struct cparser *cp, struct cval *v)
{
	if (v->n_fields)
		return cfail(cp, "cannot mix field names and explicit offsets; use one style");
	if (!v->loaded)
		return 0;
	if (v->load_size != 8)
		return cfail(cp, "a pointer hop must read 8 bytes (u64, s64, long or ptr)");
	if (v->n_derefs == CAT_MAX_DEREFS)
		return cfail(cp, "too many pointer hops (at most %d)", CAT_MAX_DEREFS);
	v->deref_off[v->n_derefs++] = v->load_off;
	v->loaded = false;
	return 0;
}

static int parse_value(struct cparser *cp, struct cval *v, int depth);

/* "V", "V + K" or "V - K": an address, its constant part in *off. A by-name path stays a path
 * (str(argN->name)); anything else becomes an address, turning a pending load into a hop. */
static int parse_sum(struct cparser *cp, struct cval *v, int64_t *off, int depth)
{
	bool neg;
	int err;

	*off = 0;
	err = parse_value(cp, v, depth + 1);
	if (err)
		return err;
	skip_ws(cp);
	if (v->n_fields) {
		if (*cp->p == '+' || *cp->p == '-')
			return cfail(cp, "cannot add an offset to a named field; use one style");
		return 0;
	}
	err = make_address(cp, v);
	if (err)
		return err;
	if (*cp->p != '+' && *cp->p != '-')
		return 0;
	neg = *cp->p == '-';
	cp->p++;
	err = parse_number(cp, off);
	if (!err && neg)
		*off = -*off;
	return err;
}

static int parse_argn(struct cparser *cp, struct cval *v)
{
	const char *q = cp->p + 3;
	char *end;
	long n;

	if (!isdigit((unsigned char)*q))
		return cfail(cp, "expected a digit after \"arg\" (arg0..arg%d)", MAX_ARG_IDX);
	n = strtol(q, &end, 10);
	if (isalnum((unsigned char)*end) || *end == '_')
		return cfail(cp, "unknown name \"%.*s\"", (int)ident_len(cp->p), cp->p);
	if (n > MAX_ARG_IDX)
		return cfail(cp, "argument index %ld out of range (arg0..arg%d: BPF sees 6 register arguments)",
			     n, MAX_ARG_IDX);
	cp->p = end;
	v->src = CAP_SRC_ARG;
	v->arg = (int)n;
	return 0;
}

/* Field path after argN: ->a->b->c */
static int parse_fields(struct cparser *cp, struct cval *v)
{
	while (eat(cp, "->")) {
		size_t n;

		skip_ws(cp);
		n = ident_len(cp->p);
		if (!n)
			return cfail(cp, "expected a field name after '->'");
		if (v->n_fields == MAX_FIELDS)
			return cfail(cp, "too many '->' (at most %d pointer hops, then a field)",
				     CAT_MAX_DEREFS);
		if (n >= sizeof(v->fields[0]))
			return cfail(cp, "field name too long");
		memcpy(v->fields[v->n_fields], cp->p, n);
		v->fields[v->n_fields][n] = 0;
		v->n_fields++;
		cp->p += n;
	}
	return 0;
}

static int parse_value(struct cparser *cp, struct cval *v, int depth)
{
	int err;

	if (depth > 8)
		return cfail(cp, "nested too deeply");
	skip_ws(cp);
	if (eat(cp, "*")) {
		uint32_t size = 0;
		enum cap_type type = CAP_T_S64;
		int64_t off = 0;

		if ((err = expect(cp, "(")) || (err = parse_type(cp, &size, &type)) ||
		    (err = expect(cp, "*")) || (err = expect(cp, ")")))
			return err;
		skip_ws(cp);
		if (eat(cp, "(")) {
			err = parse_sum(cp, v, &off, depth);
			if (!err)
				err = expect(cp, ")");
		} else {
			err = parse_value(cp, v, depth + 1);
			if (!err)
				err = make_address(cp, v);
		}
		if (err)
			return err;
		if (v->n_fields)
			return cfail(cp, "cannot mix field names and explicit offsets; use one style");
		v->loaded = true;
		v->load_off = off;
		v->load_size = size;
		v->load_type = type;
		return 0;
	}
	if (eat(cp, "(")) {
		int64_t off;

		err = parse_sum(cp, v, &off, depth);
		if (!err)
			err = expect(cp, ")");
		if (!err && off)
			return cfail(cp, "an address (argN + K) must be read: *(T *)(...) or str(...)");
		return err;
	}
	if (eat_word(cp, "ret")) {
		v->src = CAP_SRC_RET;
		skip_ws(cp);
		if (!strncmp(cp->p, "->", 2))
			return cfail(cp, "fields of the return value are not supported (use *(T *)(ret + K))");
		return 0;
	}
	if (!strncmp(cp->p, "arg", 3)) {
		err = parse_argn(cp, v);
		return err ?: parse_fields(cp, v);
	}
	if (!*cp->p)
		return cfail(cp, "expected a value (argN, ret, str(...), *(T *)(...)) at the end");
	return cfail(cp, "expected argN, ret, str(...), (bool) or *(T *)(...) at \"%s\"", cp->p);
}

static int fields_to_path(struct cparser *cp, const struct cval *v, struct capture *out)
{
	size_t len = 0;

	for (int i = 0; i < v->n_fields; i++)
		len += strlen(v->fields[i]) + 1;
	out->field_path = calloc(1, len);
	if (!out->field_path) {
		snprintf(cp->err, cp->errlen, "out of memory");
		return -ENOMEM;
	}
	for (int i = 0; i < v->n_fields; i++) {
		if (i)
			strcat(out->field_path, ".");
		strcat(out->field_path, v->fields[i]);
	}
	return 0;
}

static void copy_base(const struct cval *v, struct capture *out)
{
	out->src = v->src;
	out->arg = v->arg;
	out->n_derefs = v->n_derefs;
	memcpy(out->deref_off, v->deref_off, sizeof(out->deref_off));
}

int capture__parse(const char *expr, struct capture *out, char *err, size_t errlen)
{
	struct cparser cp = { .s = expr ? expr : "", .p = expr ? expr : "", .err = err,
			      .errlen = errlen };
	struct cval v = { 0 };
	bool is_str = false, is_bool = false;
	int64_t off = 0;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!expr || !*expr) {
		snprintf(err, errlen, "bad capture expression \"\": empty");
		return -EINVAL;
	}
	if (eat_word(&cp, "str")) {
		is_str = true;
		ret = expect(&cp, "(");
		if (!ret)
			ret = parse_sum(&cp, &v, &off, 0);
		if (!ret)
			ret = expect(&cp, ")");
	} else if (eat(&cp, "(bool)")) {
		is_bool = true;
		ret = parse_value(&cp, &v, 0);
	} else {
		ret = parse_value(&cp, &v, 0);
	}
	if (!ret) {
		skip_ws(&cp);
		if (*cp.p)
			ret = cfail(&cp, "unexpected \"%s\" after the expression", cp.p);
	}
	if (ret) {
		memset(out, 0, sizeof(*out));
		return ret;
	}
	out->expr = strdup(expr);
	if (!out->expr) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	copy_base(&v, out);
	if (v.n_fields) {
		/* by name: catalog__resolve picks final, offsets, size and type from DWARF; the
		 * hints below say what the user forced */
		ret = fields_to_path(&cp, &v, out);
		if (ret) {
			capture__clear(out);
			return ret;
		}
		out->final = is_str ? CAP_FINAL_STR : CAP_FINAL_READ;
		out->type = is_str ? CAP_T_STR : is_bool ? CAP_T_BOOL : CAP_T_S64;
		out->size = 0;
		return 0;
	}
	if (is_str) {
		out->final = CAP_FINAL_STR;
		out->final_off = off;
		out->type = CAP_T_STR;
		out->size = 0;
		return 0;
	}
	if (v.loaded) {
		out->final = CAP_FINAL_READ;
		out->final_off = v.load_off;
		out->size = v.load_size;
		out->type = is_bool ? CAP_T_BOOL : v.load_type;
		return 0;
	}
	out->final = CAP_FINAL_VALUE;
	out->size = 8;
	out->type = is_bool ? CAP_T_BOOL : CAP_T_S64;
	return 0;
}

/* --- error rules --------------------------------------------------------------------- */

void error_rule__clear(struct error_rule *r)
{
	if (!r)
		return;
	free(r->operand);
	free(r->error_type);
	memset(r, 0, sizeof(*r));
}

int error_rule__parse(const char *text, struct error_rule *out, char *err, size_t errlen)
{
	static const struct {
		const char *tok;
		enum err_op op;
	} ops[] = { { "<=", ERR_LE }, { ">=", ERR_GE }, { "==", ERR_EQ }, { "!=", ERR_NE },
		    { "<", ERR_LT },  { ">", ERR_GT } };
	const char *p = text, *name;
	size_t n = 0;
	enum err_op op = ERR_NONE;
	long long v;
	char *end;

	memset(out, 0, sizeof(*out));
	if (!text)
		text = p = "";
	while (*p == ' ')
		p++;
	if (!strncmp(p, "none", 4) && !p[4 + strspn(p + 4, " ")]) {
		out->none = true; /* no value is an error, whatever the return type */
		return 0;
	}
	if (*p == '(') {
		/* a cast of the return value: its sign at that width */
		static const struct {
			const char *name;
			uint8_t bits;
		} casts[] = { { "s8", 8 },  { "s16", 16 }, { "s32", 32 }, { "s64", 64 },
			      { "int", 32 }, { "long", 64 } };
		size_t len = strcspn(p + 1, ")");

		for (size_t i = 0; i < sizeof(casts) / sizeof(casts[0]); i++)
			if (len == strlen(casts[i].name) && !strncmp(p + 1, casts[i].name, len))
				out->ret_bits = casts[i].bits;
		if (!out->ret_bits || p[1 + len] != ')' || strncmp(p + 2 + len, "ret", 3) ||
		    isalnum((unsigned char)p[5 + len]) || strchr("_.-", p[5 + len]) != NULL) {
			snprintf(err, errlen, "bad error rule \"%s\": a cast applies to ret only and is one of (s8) (s16) (s32) (s64) (int) (long), e.g. \"(int)ret < 0\"",
				 text);
			out->ret_bits = 0;
			return -EINVAL;
		}
		p += 2 + len;
	}
	name = p;
	/* capture names are attribute keys: letters, digits, '_', '.' and '-' */
	while (isalnum((unsigned char)p[n]) || p[n] == '_' || p[n] == '.' || p[n] == '-')
		n++;
	if (!n) {
		snprintf(err, errlen, "bad error rule \"%s\": expected \"OPERAND OP NUMBER\" with OPERAND ret or a capture name, e.g. \"ret < 0\"",
			 text);
		return -EINVAL;
	}
	p += n;
	while (*p == ' ')
		p++;
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (!strncmp(p, ops[i].tok, strlen(ops[i].tok))) {
			op = ops[i].op;
			p += strlen(ops[i].tok);
			break;
		}
	}
	if (op == ERR_NONE) {
		snprintf(err, errlen, "bad error rule \"%s\": expected an operator (< <= > >= == !=) after \"%.*s\"",
			 text, (int)n, name);
		return -EINVAL;
	}
	while (*p == ' ')
		p++;
	errno = 0;
	v = strtoll(p, &end, 0);
	if (end == p || errno || (*p != '-' && *p != '+' && !isdigit((unsigned char)*p))) {
		snprintf(err, errlen, "bad error rule \"%s\": expected an integer after the operator", text);
		return -EINVAL;
	}
	while (*end == ' ')
		end++;
	if (*end) {
		snprintf(err, errlen, "bad error rule \"%s\": unexpected \"%s\" after the number", text, end);
		return -EINVAL;
	}
	out->operand = strndup(name, n);
	if (!out->operand) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	out->op = op;
	out->value = v;
	if (out->ret_bits && out->ret_bits < 64) {
		int64_t lo = -((int64_t)1 << (out->ret_bits - 1)), hi = ((int64_t)1 << (out->ret_bits - 1)) - 1;

		if (v < lo || v > hi) {
			snprintf(err, errlen, "bad error rule \"%s\": %lld does not fit a %u-bit signed value",
				 text, v, out->ret_bits);
			error_rule__clear(out);
			return -EINVAL;
		}
	}
	return 0;
}

const char *err_op__text(enum err_op op)
{
	static const char *const t[] = { "", "<", "<=", ">", ">=", "==", "!=" };

	return op <= ERR_NE ? t[op] : "?";
}

bool error_rule__match(const struct error_rule *r, int64_t v)
{
	switch (r->op) {
	case ERR_LT: return v < r->value;
	case ERR_LE: return v <= r->value;
	case ERR_GT: return v > r->value;
	case ERR_GE: return v >= r->value;
	case ERR_EQ: return v == r->value;
	case ERR_NE: return v != r->value;
	default: return false;
	}
}
