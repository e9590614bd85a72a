/* The primitive catalogue file: YAML (libyaml document API) -> struct catalog, with strict
 * validation so that every mistake is reported as one "FILE:LINE: what was expected" line,
 * and the lookup that picks the entry for a (binary, symbol) pair. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "attach.h"
#include "catalog.h"
#include "ttatrace.h"
#include "glob.h"
#include "procmaps.h"

#define MAX_STR_CAPS TT_MAX_STR_CAPS /* string buffers per record on the BPF side */
#define MAX_FILE_BYTES (16u << 20)

struct loader {
	yaml_document_t *doc;
	const char *fname;
	char *err;
	size_t errlen;
	bool failed;
};

static int lfail(struct loader *l, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int lfail(struct loader *l, const yaml_node_t *n, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	if (l->failed)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(l->err, l->errlen, "%s:%zu: %s", l->fname, n ? n->start_mark.line + 1 : 1, what);
	l->failed = true;
	return -EINVAL;
}

static const char *node_type_name(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE: return "a scalar";
	case YAML_SEQUENCE_NODE: return "a list";
	case YAML_MAPPING_NODE: return "a mapping";
	default: return "nothing";
	}
}

/* A scalar's text, or NULL after reporting "KEY: expected WHAT, got a list". */
static const char *scalar(struct loader *l, const yaml_node_t *n, const char *key, const char *what)
{
	if (n->type != YAML_SCALAR_NODE) {
		lfail(l, n, "%s: expected %s, got %s", key, what, node_type_name(n));
		return NULL;
	}
	return (const char *)n->data.scalar.value;
}

static int want_type(struct loader *l, const yaml_node_t *n, yaml_node_type_t t, const char *key)
{
	if (n->type == t)
		return 0;
	return lfail(l, n, "%s: expected %s, got %s", key,
		     t == YAML_MAPPING_NODE ? "a mapping" : t == YAML_SEQUENCE_NODE ? "a list" : "a scalar",
		     node_type_name(n));
}

/* Mapping keys must be scalars and unique. */
static int check_keys(struct loader *l, const yaml_node_t *map, const char *where)
{
	yaml_node_pair_t *a, *b;

	for (a = map->data.mapping.pairs.start; a < map->data.mapping.pairs.top; a++) {
		yaml_node_t *k = yaml_document_get_node(l->doc, a->key);

		if (k->type != YAML_SCALAR_NODE)
			return lfail(l, k, "%s: keys must be plain names, got %s", where,
				     node_type_name(k));
		for (b = map->data.mapping.pairs.start; b < a; b++) {
			yaml_node_t *kb = yaml_document_get_node(l->doc, b->key);

			if (!strcmp((char *)kb->data.scalar.value, (char *)k->data.scalar.value))
				return lfail(l, k, "%s: duplicate key \"%s\"", where,
					     (char *)k->data.scalar.value);
		}
	}
	return 0;
}

#define FOR_PAIRS(l, map, p, k, v)                                                                \
	for (yaml_node_pair_t *p = (map)->data.mapping.pairs.start;                               \
	     p < (map)->data.mapping.pairs.top &&                                                  \
	     ((k = yaml_document_get_node((l)->doc, p->key)),                                      \
	      (v = yaml_document_get_node((l)->doc, p->value)), 1);                                \
	     p++)

#define KEY(k) ((const char *)(k)->data.scalar.value)

/* "250ms", "1.5s", "800us", "100000ns" */
static int parse_duration(const char *s, uint64_t *ns)
{
	static const struct {
		const char *unit;
		double mul;
	} units[] = { { "ns", 1 }, { "us", 1e3 }, { "ms", 1e6 }, { "s", 1e9 } };
	char *end;
	double v;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	v = strtod(s, &end);
	if (end == s || !isfinite(v) || v <= 0)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (!strcmp(end, units[i].unit)) {
			double r = v * units[i].mul;

			if (r < 1 || r > 1e18)
				return -EINVAL;
			*ns = (uint64_t)(r + 0.5);
			return 0;
		}
	}
	return -EINVAL;
}

/* "99%", "99.9%" or a fraction "0.99": a target in (0, 1]. */
static int parse_target(const char *s, double *out)
{
	char *end;
	double v;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	v = strtod(s, &end);
	if (end == s || !isfinite(v))
		return -EINVAL;
	if (!strcmp(end, "%"))
		v /= 100;
	else if (*end)
		return -EINVAL;
	if (!(v > 0 && v <= 1))
		return -EINVAL;
	*out = v;
	return 0;
}

static int load_target(struct loader *l, const yaml_node_t *v, const char *key, double *out)
{
	const char *s = scalar(l, v, key, "a percentage like 99% or a fraction like 0.99");

	if (!s)
		return -EINVAL;
	if (parse_target(s, out))
		return lfail(l, v, "%s: expected a percentage like 99%% or 99.9%% or a fraction like 0.99 (greater than 0, at most 100%%), got \"%s\"",
			     key, s);
	return 0;
}

static int load_slo(struct loader *l, const yaml_node_t *slo_node, struct slo *slo)
{
	yaml_node_t *k, *v, *k2, *v2;
	int err;

	if ((err = want_type(l, slo_node, YAML_MAPPING_NODE, "slo")) ||
	    (err = check_keys(l, slo_node, "slo")))
		return err;
	FOR_PAIRS(l, slo_node, p, k, v)
	{
		bool latency = !strcmp(KEY(k), "latency");
		bool has_threshold = false, has_target = false;

		if (!latency && strcmp(KEY(k), "errors"))
			return lfail(l, k, "slo: unknown key \"%s\" (expected latency or errors)", KEY(k));
		if ((err = want_type(l, v, YAML_MAPPING_NODE, latency ? "slo.latency" : "slo.errors")) ||
		    (err = check_keys(l, v, latency ? "slo.latency" : "slo.errors")))
			return err;
		FOR_PAIRS(l, v, p2, k2, v2)
		{
			if (latency && !strcmp(KEY(k2), "threshold")) {
				const char *s = scalar(l, v2, "slo.latency.threshold",
						       "a duration like 250ms");

				if (!s)
					return -EINVAL;
				if (parse_duration(s, &slo->latency_threshold_ns))
					return lfail(l, v2, "slo.latency.threshold: expected a positive duration with a unit (ns, us, ms, s) like 250ms, got \"%s\"",
						     s);
				has_threshold = true;
			} else if (!strcmp(KEY(k2), "target")) {
				err = load_target(l, v2, latency ? "slo.latency.target" : "slo.errors.target",
						  latency ? &slo->latency_target : &slo->errors_target);
				if (err)
					return err;
				has_target = true;
			} else {
				return lfail(l, k2, "slo.%s: unknown key \"%s\" (expected %s)", KEY(k),
					     KEY(k2), latency ? "threshold and target" : "target");
			}
		}
		if (latency && !has_threshold)
			return lfail(l, v, "slo.latency: missing threshold (e.g. threshold: 250ms)");
		if (!has_target)
			return lfail(l, v, "slo.%s: missing target (e.g. target: 99%%)", KEY(k));
		if (latency)
			slo->has_latency = true;
		else
			slo->has_errors = true;
	}
	return 0;
}

static int load_captures(struct loader *l, const yaml_node_t *map, struct cat_entry *e)
{
	yaml_node_t *k, *v;
	int err, n_str = 0;

	if ((err = want_type(l, map, YAML_MAPPING_NODE, "capture")) ||
	    (err = check_keys(l, map, "capture")))
		return err;
	FOR_PAIRS(l, map, p, k, v)
	{
		char why[320];
		struct capture *c;
		const char *s;

		if (e->n_caps == CAT_MAX_CAPTURES)
			return lfail(l, k, "capture: at most %d captures per primitive, \"%s\" is one too many",
				     CAT_MAX_CAPTURES, KEY(k));
		if (!KEY(k)[0])
			return lfail(l, k, "capture: expected an attribute name, got an empty key");
		s = scalar(l, v, "capture", "an expression like arg0->field");
		if (!s)
			return -EINVAL;
		c = &e->caps[e->n_caps];
		err = capture__parse(s, c, why, sizeof(why));
		if (err)
			return lfail(l, v, "capture %s: %s", KEY(k), why);
		e->n_caps++;
		c->name = strdup(KEY(k));
		if (!c->name)
			return lfail(l, k, "out of memory");
		if (capture__is_string(c) && ++n_str > MAX_STR_CAPS)
			return lfail(l, v, "capture %s: at most %d string captures per primitive",
				     KEY(k), MAX_STR_CAPS);
	}
	return 0;
}

static int dup_scalar(struct loader *l, const yaml_node_t *v, const char *key, const char *what,
		      char **out)
{
	const char *s = scalar(l, v, key, what);

	if (!s)
		return -EINVAL;
	if (!*s)
		return lfail(l, v, "%s: expected %s, got an empty string", key, what);
	*out = strdup(s);
	return *out ? 0 : lfail(l, v, "out of memory");
}

/* "MODULE:QUALNAME": a dotted module name, a colon, a dotted qualified name (with
 * glob characters for python:); non-ASCII bytes are identifier characters */
static bool py_selector_ok(const char *sel, bool glob)
{
	const char *colon = strchr(sel, ':'), *p;

	if (!colon || colon == sel || !colon[1] || sel[0] == '.' || colon[-1] == '.')
		return false;
	for (p = sel; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (p == colon || isalnum(c) || c == '_' || c == '.' || c >= 0x80)
			continue;
		/* a qualname's part: f.<locals>.g; a glob's characters */
		if (p > colon && (c == '<' || c == '>' || (glob && strchr("*?[]!-", c))))
			continue;
		return false;
	}
	return true;
}

/* methods: [execute, run]: joined with commas for the bootstrap's spec */
static int load_methods(struct loader *l, const yaml_node_t *v, struct cat_entry *e)
{
	yaml_node_item_t *it;
	size_t len = 0;
	char *out;

	if (want_type(l, v, YAML_SEQUENCE_NODE, "methods"))
		return -EINVAL;
	for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
		yaml_node_t *n = yaml_document_get_node(l->doc, *it);
		const char *s = scalar(l, n, "methods", "a method name");

		if (!s || !*s || strpbrk(s, ",\t\n :"))
			return lfail(l, n, "methods: expected method names like execute");
		len += strlen(s) + 1;
	}
	if (!len)
		return lfail(l, v, "methods: expected at least one method name");
	out = calloc(1, len);
	if (!out)
		return lfail(l, v, "out of memory");
	for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
		if (*out)
			strcat(out, ",");
		strcat(out, (const char *)yaml_document_get_node(l->doc, *it)->data.scalar.value);
	}
	free(e->py_methods);
	e->py_methods = out;
	return 0;
}

static int load_entry(struct loader *l, const yaml_node_t *m, struct cat_entry *e)
{
	yaml_node_t *k, *v, *error_node = NULL, *etype_node = NULL, *ctx_node = NULL;
	char *error_text = NULL, *ctx_name = NULL, why[320];
	bool has_match = false;
	int err;

	e->ctx_key = -1;
	e->line = (int)m->start_mark.line + 1;
	if ((err = want_type(l, m, YAML_MAPPING_NODE, "primitives entry")) ||
	    (err = check_keys(l, m, "primitives entry")))
		return err;
	FOR_PAIRS(l, m, p, k, v)
	{
		const char *key = KEY(k), *s;

		if (!strcmp(key, "match")) {
			struct probe_spec spec;

			s = scalar(l, v, "match", "a symbol glob like \"tta_*\" or \"BINARY:GLOB\"");
			if (!s)
				goto fail;
			if (probe_spec__parse(s, &spec, why, sizeof(why))) {
				lfail(l, v, "match: expected a symbol glob or BINARY:GLOB: %s", why);
				goto fail;
			}
			e->binary = spec.binary;
			e->glob = spec.glob;
			spec.binary = spec.glob = NULL;
			probe_spec__clear(&spec);
			has_match = true;
		} else if (!strcmp(key, "python_class") || !strcmp(key, "python")) {
			if (dup_scalar(l, v, key, "\"MODULE:QUALNAME\"", &e->py_sel))
				goto fail;
			if (!py_selector_ok(e->py_sel, !strcmp(key, "python"))) {
				lfail(l, v, "%s: expected \"MODULE:QUALNAME\", got \"%s\"", key, e->py_sel);
				goto fail;
			}
			if (!strcmp(key, "python_class") && !e->py_methods)
				e->py_methods = strdup("execute");
			else if (!strcmp(key, "python"))
				e->py_func = true;
		} else if (!strcmp(key, "methods")) {
			if (load_methods(l, v, e))
				goto fail;
		} else if (!strcmp(key, "name")) {
			if (dup_scalar(l, v, "name", "a span name", &e->name))
				goto fail;
		} else if (!strcmp(key, "kind")) {
			s = scalar(l, v, "kind", "a primitive kind");
			if (!s)
				goto fail;
			if (prim_kind__parse(s, &e->kind)) {
				lfail(l, v, "kind: expected one of step sequential parallel conditional switch router retry fallback timeout cache saga lambda, got \"%s\"",
				      s);
				goto fail;
			}
		} else if (!strcmp(key, "role")) {
			s = scalar(l, v, "role", "compensation");
			if (!s)
				goto fail;
			if (strcmp(s, "compensation")) {
				lfail(l, v, "role: expected compensation, got \"%s\"", s);
				goto fail;
			}
			e->role = ROLE_COMPENSATION;
		} else if (!strcmp(key, "capture")) {
			if (load_captures(l, v, e))
				goto fail;
		} else if (!strcmp(key, "error")) {
			error_node = v;
		} else if (!strcmp(key, "error_type")) {
			etype_node = v;
		} else if (!strcmp(key, "context_key")) {
			ctx_node = v;
		} else if (!strcmp(key, "slo")) {
			if (load_slo(l, v, &e->slo))
				goto fail;
		} else {
			lfail(l, k, "unknown key \"%s\" (expected match, python_class, methods, python, name, kind, role, capture, error, error_type, context_key or slo)",
			      key);
			goto fail;
		}
	}
	if (has_match && e->py_sel) {
		lfail(l, m, "primitives entry: match and python/python_class exclude each other");
		goto fail;
	}
	if (e->py_func && e->py_methods) {
		lfail(l, m, "primitives entry: methods goes with python_class, not python");
		goto fail;
	}
	if (!has_match && !e->py_sel) {
		lfail(l, m, "primitives entry: missing match (a symbol glob like \"tta_*\") or python_class/python");
		goto fail;
	}
	/* the keys below refer to captures, which may come later in the mapping */
	if (error_node) {
		if (dup_scalar(l, error_node, "error", "a rule like \"ret < 0\"", &error_text))
			goto fail;
		if (error_rule__parse(error_text, &e->error, why, sizeof(why))) {
			lfail(l, error_node, "error: %s", why);
			goto fail;
		}
		if (e->error.operand && strcmp(e->error.operand, "ret") &&
		    cat_entry__find_capture(e, e->error.operand) < 0) {
			lfail(l, error_node, "error: \"%s\" is neither ret nor the name of a capture of this entry",
			      e->error.operand);
			goto fail;
		}
	}
	if (etype_node) {
		if (!error_node || e->error.none) {
			lfail(l, etype_node, "error_type: needs an error rule (error: ret < 0) in the same entry");
			goto fail;
		}
		if (dup_scalar(l, etype_node, "error_type", "an error.type value", &e->error.error_type))
			goto fail;
	}
	if (ctx_node) {
		if (dup_scalar(l, ctx_node, "context_key", "the name of a capture", &ctx_name))
			goto fail;
		e->ctx_key = cat_entry__find_capture(e, ctx_name);
		if (e->ctx_key < 0) {
			lfail(l, ctx_node, "context_key: \"%s\" names no capture of this entry", ctx_name);
			goto fail;
		}
		if (capture__is_string(&e->caps[e->ctx_key])) {
			lfail(l, ctx_node, "context_key: capture \"%s\" is a string; expected a number or pointer",
			      ctx_name);
			goto fail;
		}
	}
	free(error_text);
	free(ctx_name);
	return 0;
fail:
	free(error_text);
	free(ctx_name);
	return -EINVAL;
}

static void entry_clear(struct cat_entry *e)
{
	free(e->binary);
	free(e->glob);
	free(e->py_sel);
	free(e->py_methods);
	free(e->name);
	for (int i = 0; i < CAT_MAX_CAPTURES; i++)
		capture__clear(&e->caps[i]);
	error_rule__clear(&e->error);
	memset(e, 0, sizeof(*e));
}

int cat_entry__find_capture(const struct cat_entry *e, const char *name)
{
	for (int i = 0; i < e->n_caps; i++)
		if (e->caps[i].name && !strcmp(e->caps[i].name, name))
			return i;
	return -1;
}

static int load_target_sel(struct loader *l, const yaml_node_t *m, struct cat_target *t)
{
	yaml_node_t *k, *v;
	int err;

	t->line = (int)m->start_mark.line + 1;
	if ((err = want_type(l, m, YAML_MAPPING_NODE, "targets entry")) ||
	    (err = check_keys(l, m, "targets entry")))
		return err;
	FOR_PAIRS(l, m, p, k, v)
	{
		const char *key = KEY(k);
		char **dst = !strcmp(key, "exe")     ? &t->exe :
			     !strcmp(key, "comm")    ? &t->comm :
			     !strcmp(key, "cmdline") ? &t->cmdline :
			     !strcmp(key, "cgroup")  ? &t->cgroup :
			     !strcmp(key, "service") ? &t->service :
						       NULL;

		if (!dst)
			return lfail(l, k, "targets entry: unknown key \"%s\" (expected exe, comm, "
					   "cmdline, cgroup or service)",
				     key);
		err = dup_scalar(l, v, key, strcmp(key, "service") ? "a glob" : "a service name", dst);
		if (err)
			return err;
		if (dst != &t->service && glob_validate(*dst))
			return lfail(l, v, "%s: invalid glob \"%s\"", key, *dst);
	}
	if (!t->exe && !t->comm && !t->cmdline && !t->cgroup)
		return lfail(l, m, "targets entry: give at least one of exe, comm, cmdline, cgroup");
	return 0;
}

static int load_targets(struct loader *l, const yaml_node_t *list, struct catalog *c)
{
	yaml_node_item_t *it;
	int err;

	if ((err = want_type(l, list, YAML_SEQUENCE_NODE, "targets")))
		return err;
	c->targets = calloc((size_t)(list->data.sequence.items.top - list->data.sequence.items.start) + 1,
			    sizeof(*c->targets));
	if (!c->targets)
		return lfail(l, list, "out of memory");
	for (it = list->data.sequence.items.start; it < list->data.sequence.items.top; it++) {
		err = load_target_sel(l, yaml_document_get_node(l->doc, *it), &c->targets[c->n_targets++]);
		if (err)
			return err;
	}
	return 0;
}

static int load_doc(struct loader *l, struct catalog *c)
{
	yaml_node_t *root = yaml_document_get_root_node(l->doc), *k, *v, *list = NULL, *targets = NULL;
	yaml_node_item_t *it;
	int err;

	if (!root)
		return lfail(l, NULL, "expected a mapping with key \"primitives\", got an empty file");
	if (root->type != YAML_MAPPING_NODE)
		return lfail(l, root, "expected a mapping with key \"primitives\" at the top, got %s",
			     node_type_name(root));
	if ((err = check_keys(l, root, "top level")))
		return err;
	FOR_PAIRS(l, root, p, k, v)
	{
		if (!strcmp(KEY(k), "targets"))
			targets = v;
		else if (!strcmp(KEY(k), "primitives"))
			list = v;
		else
			return lfail(l, k, "unknown key \"%s\" (expected primitives or targets)", KEY(k));
	}
	if (targets && (err = load_targets(l, targets, c)))
		return err;
	if (!list && targets)
		return 0; /* processes only: prepared Python services bring their primitives */
	if (!list)
		return lfail(l, root, "missing key \"primitives\"");
	if (list->type == YAML_SCALAR_NODE && !list->data.scalar.value[0] &&
	    list->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
		return 0; /* "primitives:" with nothing: an empty catalogue */
	if ((err = want_type(l, list, YAML_SEQUENCE_NODE, "primitives")))
		return err;
	c->entries = calloc((size_t)(list->data.sequence.items.top - list->data.sequence.items.start) + 1,
			    sizeof(*c->entries));
	if (!c->entries)
		return lfail(l, list, "out of memory");
	for (it = list->data.sequence.items.start; it < list->data.sequence.items.top; it++) {
		struct cat_entry *e = &c->entries[c->n++];

		err = load_entry(l, yaml_document_get_node(l->doc, *it), e);
		if (err)
			return err;
	}
	return 0;
}

struct catalog *catalog__parse(const char *yaml, size_t len, const char *fname, char *err,
			       size_t errlen)
{
	struct loader l = { .fname = fname ? fname : "<catalog>", .err = err, .errlen = errlen };
	yaml_parser_t parser;
	yaml_document_t doc;
	struct catalog *c = NULL;
	int ret = -EINVAL;

	if (!yaml) {
		snprintf(err, errlen, "%s:1: no data", l.fname);
		errno = EINVAL;
		return NULL;
	}
	if (!yaml_parser_initialize(&parser)) {
		snprintf(err, errlen, "%s:1: out of memory", l.fname);
		errno = ENOMEM;
		return NULL;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(err, errlen, "%s:%zu: YAML syntax error: %s%s%s", l.fname,
			 parser.problem_mark.line + 1, parser.problem ? parser.problem : "unknown",
			 parser.context ? " " : "", parser.context ? parser.context : "");
		yaml_parser_delete(&parser);
		errno = EINVAL;
		return NULL;
	}
	l.doc = &doc;
	c = calloc(1, sizeof(*c));
	if (c)
		c->path = strdup(l.fname);
	if (!c || !c->path) {
		snprintf(err, errlen, "%s:1: out of memory", l.fname);
		ret = -ENOMEM;
		goto cleanup;
	}
	ret = load_doc(&l, c);
	if (!ret) {
		/* a second document would be silently ignored: refuse it */
		yaml_document_t doc2;

		if (!yaml_parser_load(&parser, &doc2)) {
			snprintf(err, errlen, "%s:%zu: YAML syntax error: %s", l.fname,
				 parser.problem_mark.line + 1, parser.problem ? parser.problem : "unknown");
			ret = -EINVAL;
		} else {
			yaml_node_t *r2 = yaml_document_get_root_node(&doc2);

			if (r2) {
				snprintf(err, errlen, "%s:%zu: expected one YAML document, found another",
					 l.fname, r2->start_mark.line + 1);
				ret = -EINVAL;
			}
			yaml_document_delete(&doc2);
		}
	}
cleanup:
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	if (ret) {
		catalog__free(c);
		errno = -ret;
		return NULL;
	}
	return c;
}

struct catalog *catalog__load(const char *path, char *err, size_t errlen)
{
	struct catalog *c;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	FILE *f;
	int e;

	f = fopen(path, "r");
	if (!f) {
		e = errno;
		snprintf(err, errlen, "%s: cannot open the catalogue: %s", path, strerror(e));
		errno = e;
		return NULL;
	}
	for (;;) {
		size_t got;

		if (cap - len < 4096) {
			char *nb;

			cap = cap ? cap * 2 : 8192;
			nb = cap > MAX_FILE_BYTES ? NULL : realloc(buf, cap);
			if (!nb) {
				snprintf(err, errlen, "%s: file too large (max 16 MiB) or out of memory", path);
				free(buf);
				fclose(f);
				errno = cap > MAX_FILE_BYTES ? EFBIG : ENOMEM;
				return NULL;
			}
			buf = nb;
		}
		got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		free(buf);
		fclose(f);
		errno = EIO;
		return NULL;
	}
	fclose(f);
	c = catalog__parse(buf, len, path, err, errlen);
	e = errno;
	free(buf);
	errno = e;
	return c;
}

void catalog__free(struct catalog *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		entry_clear(&c->entries[i]);
	free(c->entries);
	for (size_t i = 0; i < c->n_targets; i++) {
		free(c->targets[i].exe);
		free(c->targets[i].comm);
		free(c->targets[i].cmdline);
		free(c->targets[i].cgroup);
		free(c->targets[i].service);
	}
	free(c->targets);
	free(c->path);
	free(c);
}

const struct cat_entry *catalog__match(const struct catalog *c, const char *binary_path,
				       const char *symbol)
{
	return catalog__match_as(c, binary_path, NULL, symbol);
}

const struct cat_entry *catalog__match_as(const struct catalog *c, const char *binary_path,
					  const char *started_name, const char *symbol)
{
	if (!c || !symbol)
		return NULL;
	for (size_t i = 0; i < c->n; i++) {
		const struct cat_entry *e = &c->entries[i];

		if (!e->glob)
			continue; /* a Python entry */
		if (e->binary && (!binary_path || !procmaps__name_matches(e->binary, binary_path)) &&
		    (!started_name || strchr(e->binary, '/') ||
		     !procmaps__name_matches(e->binary, started_name)))
			continue;
		if (glob_match(e->glob, symbol))
			return e;
	}
	return NULL;
}
