/* The primitive catalogue: a YAML file mapping symbol globs to primitive kinds,
 * span names, captures (arguments, return values, fields behind pointers), an
 * error rule, a context key and SLOs. Parsed once; field names are resolved to
 * offsets from the target's DWARF at attach time (catalog__resolve). */
#ifndef TT_CATALOG_H
#define TT_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CAT_MAX_CAPTURES 4 /* per primitive; at most TT_MAX_STR_CAPS of them strings */
#define CAT_MAX_DEREFS 2 /* pointer hops before the final read: a->b->c */

enum prim_kind {
	KIND_STEP = 0,
	KIND_SEQUENTIAL,
	KIND_PARALLEL,
	KIND_CONDITIONAL,
	KIND_SWITCH,
	KIND_ROUTER,
	KIND_RETRY,
	KIND_FALLBACK,
	KIND_TIMEOUT,
	KIND_CACHE,
	KIND_SAGA,
	KIND_LAMBDA,
	KIND__COUNT,
};

const char *prim_kind__name(enum prim_kind k); /* "step", "sequential", ... */
int prim_kind__parse(const char *s, enum prim_kind *out); /* 0 or -EINVAL */

/* A role refines what a span means to its parent (saga compensations). */
enum prim_role {
	ROLE_NONE = 0,
	ROLE_COMPENSATION, /* a saga compensation step */
};

enum cap_src {
	CAP_SRC_ARG, /* argN, N in 0..5, read at entry */
	CAP_SRC_RET, /* the return value, read at exit */
};

enum cap_final {
	CAP_FINAL_VALUE, /* the (possibly dereferenced) value itself: arg1, ret, arg0->ctx */
	CAP_FINAL_READ, /* read `size` bytes at value + final_off: arg0->workflow_id, *(u64 *)(arg0 + 16) */
	CAP_FINAL_STR, /* read a NUL-terminated string at value + final_off (bounded):
			  str(arg1), str(arg0 + 8), arg0->name when name is a char array */
	CAP_FINAL_STR_PTR, /* read a pointer at value + final_off, then a string there:
			      arg0->name when name is a char * */
};

enum cap_type {
	CAP_T_S64, /* signed integer, sign-extended from `size` bytes */
	CAP_T_U64, /* unsigned integer */
	CAP_T_PTR, /* shown as hex */
	CAP_T_STR,
	CAP_T_BOOL,
};

struct capture {
	char *name; /* attribute key, e.g. "workflow.id"; "traceparent", "tracestate" and
		       "baggage" have W3C meaning */
	char *expr; /* as written, for messages */
	enum cap_src src;
	int arg; /* argument index for CAP_SRC_ARG */
	/* pointer hops: value = *(u64 *)(value + deref_off[i]) for i < n_derefs */
	int n_derefs;
	int64_t deref_off[CAT_MAX_DEREFS];
	enum cap_final final;
	int64_t final_off;
	uint32_t size; /* bytes for CAP_FINAL_READ: 1, 2, 4 or 8 */
	enum cap_type type;
	/* by-name access not yet resolved: "workflow_id" or "ctx.workflow_id" path of
	 * fields after argN (catalog__resolve fills the offsets, size, final and type) */
	char *field_path;
};

/* Error rule: "<operand> <op> <int>" where operand is "ret" or a capture name. */
enum err_op { ERR_NONE = 0, ERR_LT, ERR_LE, ERR_GT, ERR_GE, ERR_EQ, ERR_NE };

struct error_rule {
	enum err_op op;
	char *operand; /* "ret" or a capture name; NULL with none */
	int64_t value;
	/* "error: none": no value is an error (the return type's rule is off) */
	bool none;
	/* "(int)ret < 0": the return value read at 8, 16, 32 or 64 bits, signed; 0:
	 * as shown (sign-extended when its upper half is zero) */
	uint8_t ret_bits;
	char *error_type; /* error.type attribute value; default: the operand and value */
};

struct slo {
	bool has_latency;
	uint64_t latency_threshold_ns;
	double latency_target; /* 0..1, e.g. 0.99 */
	bool has_errors;
	double errors_target; /* 0..1, e.g. 0.999: good = non-error calls */
};

struct cat_entry {
	char *binary; /* NULL: any; else as in --probe BINARY */
	char *glob; /* symbol glob; NULL for a Python entry */
	/* Python entries (user/python.c): "MODULE:QUALNAME" of a class whose methods
	 * (comma-separated in py_methods) are primitives on it and every subclass, or
	 * "MODULE:QUALNAME_GLOB" of functions (py_methods NULL) */
	char *py_sel;
	char *py_methods;
	bool py_func;
	char *name; /* span name; NULL: the symbol */
	enum prim_kind kind;
	enum prim_role role;
	struct capture caps[CAT_MAX_CAPTURES];
	int n_caps;
	/* op ERR_NONE and not none: the return type's rule (user/rettype.h) */
	struct error_rule error;
	int ctx_key; /* index in caps of the context key, -1 for none */
	struct slo slo;
	int line; /* line in the file, for messages */
};

/* targets: entry (agent mode): a process is traced when every selector given
 * matches it; the catalogue's primitives then apply to it. */
struct cat_target {
	char *exe; /* glob on the executable's path as the process sees it */
	char *comm; /* glob on /proc/PID/comm */
	char *cmdline; /* glob on the arguments joined by spaces */
	char *cgroup; /* glob on the cgroup v2 path ("0::" line of /proc/PID/cgroup) */
	char *service; /* service.name of its processes; NULL: from the process */
	int line;
};

struct catalog {
	char *path;
	struct cat_entry *entries;
	size_t n;
	struct cat_target *targets;
	size_t n_targets;
};

/* Parses a catalogue file. NULL on error with errno set and a one-line message
 * "FILE:LINE: what was expected" in err. */
struct catalog *catalog__load(const char *path, char *err, size_t errlen);
/* The same from memory (tests); fname is used in messages. */
struct catalog *catalog__parse(const char *yaml, size_t len, const char *fname, char *err,
			       size_t errlen);
void catalog__free(struct catalog *c);
/* Parses one capture expression (tests, and the parser itself). 0 or -EINVAL with
 * a message. */
int capture__parse(const char *expr, struct capture *out, char *err, size_t errlen);
void capture__clear(struct capture *c);
/* Parses "ret < 0", "status != 0", "(int)ret < 0", "none" ... 0 or -EINVAL. */
int error_rule__parse(const char *text, struct error_rule *out, char *err, size_t errlen);
/* First entry whose binary (procmaps__name_matches) and glob match; NULL if none. */
const struct cat_entry *catalog__match(const struct catalog *c, const char *binary_path,
				       const char *symbol);
/* The same for an executable whose process was started as started_name (a symlink's
 * name; NULL for a library): an entry's BINARY that is a name matches either. */
const struct cat_entry *catalog__match_as(const struct catalog *c, const char *binary_path,
					  const char *started_name, const char *symbol);
/* Resolves by-name captures of entry for function `symbol` in the ELF at path, using
 * its DWARF (the type of the function's parameter argN). Writes the resolved
 * captures to out[] (copies of e->caps with offsets filled). 0, or a negative errno
 * and a one-line message (-ENODATA: no debug info: use explicit offsets). */
int catalog__resolve(const struct cat_entry *e, const char *path, const char *symbol,
		     struct capture out[CAT_MAX_CAPTURES], char *err, size_t errlen);

/* Additions (issue 3 catalogue implementation). */
/* Deep copy (strings duplicated). 0 or -ENOMEM (dst cleared). */
int capture__copy(struct capture *dst, const struct capture *src);
/* Whether the capture reads a string (CAP_FINAL_STR or CAP_FINAL_STR_PTR). */
bool capture__is_string(const struct capture *c);
void error_rule__clear(struct error_rule *r);
/* "<", "<=" ... "!=" ("" for ERR_NONE). */
const char *err_op__text(enum err_op op);
/* Whether value v (ret or the operand capture's value) is an error under r; false for ERR_NONE. */
bool error_rule__match(const struct error_rule *r, int64_t v);
/* Index of the capture named name in e, -1 if none. */
int cat_entry__find_capture(const struct cat_entry *e, const char *name);

#endif
