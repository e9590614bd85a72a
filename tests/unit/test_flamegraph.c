/* Unit tests for the flame graph builder and SVG writer: layout arithmetic,
 * pruning, merging, escaping, truncation, diff normalisation, folded
 * annotations, traces with and without the critical path, and a round trip of
 * a folded fixture. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <unistd.h>

#include "flamegraph.h"
#include "flamegraph_cmd.h"
#include "folded_parse.h"

#define USABLE(w) ((double)(w)-2.0 * FLAMEGRAPH_PAD_PX)

struct frames {
	struct flamegraph_frame *f;
	char **names; /* copies: the walk's strings live in the graph */
	size_t n, cap;
};

static int collect(const struct flamegraph_frame *f, void *ctx)
{
	struct frames *fs = ctx;

	if (fs->n == fs->cap) {
		fs->cap = fs->cap ? fs->cap * 2 : 64;
		fs->f = realloc(fs->f, fs->cap * sizeof(*fs->f));
		fs->names = realloc(fs->names, fs->cap * sizeof(*fs->names));
	}
	fs->f[fs->n] = *f;
	fs->names[fs->n] = strdup(f->name);
	fs->n++;
	return 0;
}

static void frames_free(struct frames *fs)
{
	for (size_t i = 0; i < fs->n; i++)
		free(fs->names[i]);
	free(fs->f);
	free(fs->names);
	memset(fs, 0, sizeof(*fs));
}

static struct frames walk(struct flamegraph *fg)
{
	struct frames fs = { 0 };

	assert_int_equal(flamegraph__walk(fg, collect, &fs), 0);
	return fs;
}

static const struct flamegraph_frame *find(const struct frames *fs, const char *name)
{
	for (size_t i = 0; i < fs->n; i++)
		if (!strcmp(fs->names[i], name))
			return &fs->f[i];
	return NULL;
}

static char *svg(struct flamegraph *fg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(flamegraph__write_svg(fg, f), 0);
	fclose(f);
	return buf;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* The <g> element of the frame whose data-name attribute is exactly ESCAPED. */
static char *frame_element(const char *doc, const char *escaped)
{
	char key[4096];
	const char *start, *end;

	snprintf(key, sizeof(key), "data-name=\"%s\"", escaped);
	start = strstr(doc, key);
	if (!start)
		return NULL;
	end = strstr(start, "</g>");
	assert_non_null(end);
	return strndup(start, (size_t)(end - start));
}

/* The label drawn in a frame element. */
static char *label_of(const char *el)
{
	const char *t = strstr(el, "<text");
	const char *s = strchr(t, '>') + 1, *e = strstr(s, "</text>");

	return strndup(s, (size_t)(e - s));
}

static bool valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		int n = *p < 0x80 ? 0 : (*p & 0xE0) == 0xC0 ? 1 : (*p & 0xF0) == 0xE0 ? 2 : (*p & 0xF8) == 0xF0 ? 3 : -1;

		if (n < 0 || (n == 1 && *p < 0xC2))
			return false;
		p++;
		for (int i = 0; i < n; i++, p++)
			if ((*p & 0xC0) != 0x80)
				return false;
	}
	return true;
}

static void add(struct flamegraph *fg, const char *stack, uint64_t value)
{
	char *copy = strdup(stack), *save = NULL;
	const char *frames[64];
	size_t n = 0;

	for (char *t = strtok_r(copy, ";", &save); t; t = strtok_r(NULL, ";", &save))
		frames[n++] = t;
	assert_int_equal(flamegraph__add(fg, frames, n, value, NULL, NULL), 0);
	free(copy);
}

static void add_base(struct flamegraph *fg, const char *stack, uint64_t value)
{
	char *copy = strdup(stack), *save = NULL;
	const char *frames[64];
	size_t n = 0;

	for (char *t = strtok_r(copy, ";", &save); t; t = strtok_r(NULL, ";", &save))
		frames[n++] = t;
	assert_int_equal(flamegraph__add_base(fg, frames, n, value, NULL, NULL), 0);
	free(copy);
}

/* Every frame's children start at its left edge, sit side by side, and with its
 * self time fill exactly its width; offsets are exact in value units. */
static void test_layout_widths_sum_to_parent(void **state)
{
	struct flamegraph_opts o = { .width_px = 1000, .min_width_px = FLAMEGRAPH_KEEP_ALL };
	struct flamegraph *fg = flamegraph__new(&o);
	static const char *vocab[] = { "main", "a", "b", "c", "d", "e", "f", "g" };
	uint64_t seed = 7, total = 0;
	struct frames fs;
	double scale;

	(void)state;
	assert_non_null(fg);
	for (int i = 0; i < 2000; i++) {
		const char *frames[10];
		size_t n;
		uint64_t v;

		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		n = 1 + (seed >> 33) % 9;
		for (size_t j = 0; j < n; j++)
			frames[j] = vocab[(seed >> (4 * j + 5)) % 8];
		v = 1 + (seed >> 50) % 1000;
		total += v;
		assert_int_equal(flamegraph__add(fg, frames, n, v, NULL, NULL), 0);
	}
	fs = walk(fg);
	scale = USABLE(1000) / (double)total;
	assert_string_equal(fs.names[0], "all");
	assert_int_equal(fs.f[0].value, total);
	assert_true(fabs(fs.f[0].width_px - USABLE(1000)) < 1e-9);
	assert_true(fabs(fs.f[0].x_px - FLAMEGRAPH_PAD_PX) < 1e-9);
	for (size_t i = 0; i < fs.n; i++) {
		const struct flamegraph_frame *p = &fs.f[i];
		uint64_t off = p->offset, sum = 0;
		double w = 0;

		assert_true(fabs(p->width_px - (double)p->value * scale) < 1e-6);
		assert_true(fabs(p->x_px - (FLAMEGRAPH_PAD_PX + (double)p->offset * scale)) < 1e-6);
		/* flame: one row per depth, the root at the bottom */
		assert_true(fabs(p->y_px - (fs.f[0].y_px - p->depth * FLAMEGRAPH_FRAME_H_PX)) < 1e-9);
		for (size_t j = i + 1; j < fs.n && fs.f[j].depth > p->depth; j++) {
			const struct flamegraph_frame *c = &fs.f[j];

			if (c->depth != p->depth + 1)
				continue;
			assert_int_equal(c->offset, off);
			assert_true(fabs(c->x_px - (p->x_px + w)) < 1e-6);
			off += c->value;
			sum += c->value;
			w += c->width_px;
		}
		assert_int_equal(sum + p->self, p->value);
		assert_true(fabs(w + (double)p->self * scale - p->width_px) < 1e-6);
		assert_true(w <= p->width_px + 1e-9);
	}
	frames_free(&fs);
	flamegraph__free(fg);
}

static void test_zero_width_pruning(void **state)
{
	struct flamegraph_opts o = { .width_px = 1200 };
	struct flamegraph *fg;
	struct frames fs;
	char *doc;

	(void)state;
	for (int pass = 0; pass < 4; pass++) {
		static const double min[] = { 0, 0.2, 0.3, FLAMEGRAPH_KEEP_ALL };

		o.min_width_px = min[pass];
		fg = flamegraph__new(&o);
		assert_non_null(fg);
		add(fg, "big", 1000000);
		add(fg, "big;tiny", 1); /* 0.0012 px */
		add(fg, "big;mid", 200); /* 0.236 px */
		add(fg, "small", 30); /* 50 in all: 0.059 px */
		add(fg, "small;child", 20);
		add(fg, "zero;z", 0);
		fs = walk(fg);
		assert_non_null(find(&fs, "all"));
		assert_non_null(find(&fs, "big"));
		assert_null(find(&fs, "zero"));
		assert_null(find(&fs, "z"));
		assert_int_equal(find(&fs, "big")->value, 1000201);
		/* the default, 0.1 px */
		if (pass == 0 || pass == 1) {
			assert_non_null(find(&fs, "mid"));
			assert_null(find(&fs, "tiny"));
			assert_null(find(&fs, "small"));
			assert_null(find(&fs, "child")); /* pruned with its parent */
			assert_int_equal(fs.n, 3);
		} else if (pass == 2) {
			assert_null(find(&fs, "mid"));
			assert_int_equal(fs.n, 2);
		} else {
			assert_non_null(find(&fs, "tiny"));
			assert_non_null(find(&fs, "child"));
			assert_int_equal(fs.n, 6);
		}
		doc = svg(fg);
		assert_int_equal(count(doc, "<g class=\"f\""), fs.n);
		free(doc);
		frames_free(&fs);
		flamegraph__free(fg);
	}
}

static void test_merging_and_frame_identity(void **state)
{
	struct flamegraph *fg = flamegraph__new(NULL);
	const char *st[] = { "wf", "fetch" };
	const char *k_par[] = { "sequential", "parallel" }, *k_step[] = { "sequential", "step" };
	const bool err[] = { false, true };
	struct flamegraph_stats stats;
	struct frames fs;
	size_t fetches = 0;

	(void)state;
	assert_int_equal(flamegraph__add(fg, st, 2, 10, k_par, NULL), 0);
	assert_int_equal(flamegraph__add(fg, st, 2, 5, k_par, NULL), 0); /* same path: merged */
	assert_int_equal(flamegraph__add(fg, st, 2, 7, k_step, NULL), 0); /* other kind */
	assert_int_equal(flamegraph__add(fg, st, 2, 3, k_par, err), 0); /* an error */
	assert_int_equal(flamegraph__add(fg, st, 1, 2, k_par, NULL), 0); /* wf itself */
	flamegraph__stats(fg, &stats);
	assert_int_equal(stats.total, 27);
	assert_int_equal(stats.stacks, 5);
	assert_int_equal(stats.nodes, 1 + 1 + 3);
	assert_int_equal(stats.max_depth, 2);
	fs = walk(fg);
	for (size_t i = 0; i < fs.n; i++) {
		const struct flamegraph_frame *f = &fs.f[i];

		if (strcmp(fs.names[i], "fetch"))
			continue;
		fetches++;
		if (!strcmp(f->kind, "parallel") && !f->error)
			assert_int_equal(f->value, 15);
		else if (!strcmp(f->kind, "step"))
			assert_int_equal(f->value, 7);
		else
			assert_true(f->error && f->value == 3);
	}
	assert_int_equal(fetches, 3);
	assert_int_equal(find(&fs, "wf")->self, 2);
	frames_free(&fs);
	flamegraph__free(fg);
}

static void test_escaping(void **state)
{
	struct flamegraph_opts o = { .title = "t<&>\"'", .subtitle = "from a&b.folded" };
	struct flamegraph *fg = flamegraph__new(&o);
	const char *f1[] = { "<script>alert(\"x\")</script> & 'q'" };
	const char *f2[] = { "bad\xff\xfe utf8 \xe2\x82" };
	const char *f3[] = { "ctl\x01\x7f\ttab" };
	const char *f4[] = { "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x94\xa5" };
	const char *kinds[] = { "par<allel>&" };
	char *doc, *el;

	(void)state;
	assert_int_equal(flamegraph__add(fg, f1, 1, 100, kinds, NULL), 0);
	assert_int_equal(flamegraph__add(fg, f2, 1, 100, NULL, NULL), 0);
	assert_int_equal(flamegraph__add(fg, f3, 1, 100, NULL, NULL), 0);
	assert_int_equal(flamegraph__add(fg, f4, 1, 100, NULL, NULL), 0);
	doc = svg(fg);
	assert_true(valid_utf8(doc));
	assert_int_equal(count(doc, "<script"), 1); /* ours only */
	assert_int_equal(count(doc, "alert(\"x\")"), 0);
	el = frame_element(doc, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;");
	assert_non_null(el);
	assert_non_null(strstr(el, "data-kind=\"par&lt;allel&gt;&amp;\""));
	assert_non_null(strstr(el, "<title>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; "
				   "&#39;q&#39; (par&lt;allel&gt;&amp;)"));
	free(el);
	/* invalid bytes and control characters become U+FFFD, tabs spaces */
	el = frame_element(doc, "bad\xEF\xBF\xBD\xEF\xBF\xBD utf8 \xEF\xBF\xBD\xEF\xBF\xBD");
	assert_non_null(el);
	free(el);
	el = frame_element(doc, "ctl\xEF\xBF\xBD\xEF\xBF\xBD tab");
	assert_non_null(el);
	free(el);
	/* valid multibyte text is kept as it is */
	el = frame_element(doc, "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x94\xa5");
	assert_non_null(el);
	free(el);
	assert_non_null(strstr(doc, "<text id=\"title\" x=\"600.0\" y=\"24\" text-anchor=\"middle\">"
				    "t&lt;&amp;&gt;&quot;&#39;</text>"));
	assert_non_null(strstr(doc, "from a&amp;b.folded"));
	free(doc);
	flamegraph__free(fg);
}

static void test_long_names_truncated(void **state)
{
	struct flamegraph *fg = flamegraph__new(NULL);
	char *cxx = malloc(3001), *utf = malloc(1001), *doc, *el, *label, *esc;
	const char *frames[2];
	/* the only child of a root: as wide as the graph */
	size_t fit = (size_t)((USABLE(FLAMEGRAPH_DEFAULT_WIDTH_PX) - 6) /
			      (FLAMEGRAPH_FONT_PX * FLAMEGRAPH_CHAR_EM));

	(void)state;
	strcpy(cxx, "std::map<std::string, std::vector<int>>::");
	for (size_t i = strlen(cxx); i < 3000; i++)
		cxx[i] = (char)('a' + i % 26);
	cxx[3000] = '\0';
	for (size_t i = 0; i < 1000; i += 2)
		memcpy(utf + i, "\xc3\xa9", 2);
	utf[1000] = '\0';
	frames[0] = cxx;
	assert_int_equal(flamegraph__add(fg, frames, 1, 10, NULL, NULL), 0);
	doc = svg(fg);
	esc = malloc(4000);
	strcpy(esc, "std::map&lt;std::string, std::vector&lt;int&gt;&gt;::");
	strcat(esc, cxx + strlen("std::map<std::string, std::vector<int>>::"));
	el = frame_element(doc, esc);
	assert_non_null(el);
	label = label_of(el);
	/* "std::map&lt;..." counts as one character per entity */
	assert_true(strlen(label) > fit);
	assert_memory_equal(label + strlen(label) - 2, "..", 2);
	assert_memory_equal(label, esc, 53);
	/* four entities of 4 bytes for one character each */
	assert_int_equal(strlen(label) - 2 - 4 * 3, fit - 2);
	/* the full name stays in the tooltip */
	assert_non_null(strstr(el, cxx + 100));
	free(label);
	free(el);
	free(doc);
	flamegraph__free(fg);

	fg = flamegraph__new(NULL);
	frames[0] = utf;
	frames[1] = "x";
	assert_int_equal(flamegraph__add(fg, frames, 1, 10, NULL, NULL), 0);
	doc = svg(fg);
	el = frame_element(doc, utf);
	assert_non_null(el);
	label = label_of(el);
	assert_true(valid_utf8(label));
	/* cut between characters, not inside one */
	assert_int_equal(strlen(label), 2 * (fit - 2) + 2);
	free(label);
	free(el);
	free(doc);
	free(esc);
	free(cxx);
	free(utf);
	flamegraph__free(fg);
}

static void test_narrow_frames_get_no_label(void **state)
{
	struct flamegraph *fg = flamegraph__new(NULL);
	char *doc, *el, *label;

	(void)state;
	add(fg, "wide_enough_for_its_name", 1000);
	add(fg, "narrow_frame_name", 15); /* ~17.4 px: too narrow for 3 characters */
	doc = svg(fg);
	el = frame_element(doc, "narrow_frame_name");
	assert_non_null(el);
	label = label_of(el);
	assert_string_equal(label, "");
	free(label);
	free(el);
	el = frame_element(doc, "wide_enough_for_its_name");
	label = label_of(el);
	assert_string_equal(label, "wide_enough_for_its_name");
	free(label);
	free(el);
	free(doc);
	flamegraph__free(fg);
}

static void test_diff_normalisation(void **state)
{
	struct flamegraph_opts o = { .diff = true, .min_width_px = FLAMEGRAPH_KEEP_ALL };
	struct flamegraph *fg = flamegraph__new(&o);
	struct frames fs;
	char *doc, *el;

	(void)state;
	/* before: total 1000, after: total 2000 */
	add_base(fg, "x", 500);
	add_base(fg, "y", 400);
	add_base(fg, "gone", 100);
	add(fg, "x", 1500);
	add(fg, "y", 400);
	add(fg, "new", 100);
	fs = walk(fg);
	assert_int_equal(fs.n, 4);
	assert_null(find(&fs, "gone")); /* sized by after: nothing to draw */
	assert_int_equal(find(&fs, "x")->base, 500);
	assert_int_equal(find(&fs, "x")->value, 1500);
	assert_true(fabs(find(&fs, "x")->delta - (0.75 - 0.5)) < 1e-12);
	assert_true(fabs(find(&fs, "y")->delta - (0.2 - 0.4)) < 1e-12);
	assert_true(fabs(find(&fs, "new")->delta - 0.05) < 1e-12);
	assert_true(fabs(find(&fs, "all")->delta) < 1e-12);
	doc = svg(fg);
	/* the largest move is fully red, the largest shrink (0.2 of 0.25) bluish */
	el = frame_element(doc, "x");
	assert_non_null(strstr(el, "fill=\"rgb(250,90,90)\""));
	assert_non_null(strstr(el, "\xCE\x94 +25.00 pts (+50.0% normalised)"));
	free(el);
	el = frame_element(doc, "y");
	assert_non_null(strstr(el, "fill=\"rgb(130,146,250)\""));
	assert_non_null(strstr(el, "\xCE\x94 -20.00 pts (-50.0% normalised)"));
	free(el);
	el = frame_element(doc, "new");
	assert_non_null(strstr(el, ", new</title>"));
	free(el);
	assert_non_null(strstr(doc, "10.00% of before is gone and not drawn"));
	assert_non_null(strstr(doc, "data-diff=\"1\" data-base-total=\"1000\""));
	free(doc);
	frames_free(&fs);
	flamegraph__free(fg);

	/* same shares at another scale: nothing changed, everything white */
	fg = flamegraph__new(&o);
	add_base(fg, "x", 100);
	add_base(fg, "x;y", 300);
	add(fg, "x", 1000);
	add(fg, "x;y", 3000);
	doc = svg(fg);
	assert_int_equal(count(doc, "fill=\"rgb(250,250,250)\""), 3);
	free(doc);
	flamegraph__free(fg);

	/* a baseline without diff mode is a caller bug */
	fg = flamegraph__new(NULL);
	{
		const char *fr[] = { "a" };

		assert_int_equal(flamegraph__add_base(fg, fr, 1, 1, NULL, NULL), -EINVAL);
		assert_int_equal(flamegraph__add_folded(fg, fr, 1, 1, true), -EINVAL);
	}
	flamegraph__free(fg);
}

static void test_folded_annotations(void **state)
{
	struct flamegraph *fg = flamegraph__new(NULL);
	const char *l1[] = { "checkout [sequential]", "pay [step!]" };
	const char *l2[] = { "checkout [sequential]", "pay [step]" };
	const char *l3[] = { "checkout [sequential]", "do_idle_[k]" };
	struct frames fs;
	char *doc, *el;
	size_t pays = 0;

	(void)state;
	assert_int_equal(flamegraph__add_folded(fg, l1, 2, 30, false), 0);
	assert_int_equal(flamegraph__add_folded(fg, l2, 2, 70, false), 0);
	assert_int_equal(flamegraph__add_folded(fg, l3, 2, 5, false), 0);
	fs = walk(fg);
	assert_int_equal(fs.n, 5);
	assert_string_equal(find(&fs, "checkout")->kind, "sequential");
	assert_int_equal(find(&fs, "checkout")->value, 105);
	assert_null(find(&fs, "do_idle_[k]")->kind);
	for (size_t i = 0; i < fs.n; i++) {
		if (strcmp(fs.names[i], "pay"))
			continue;
		pays++;
		assert_string_equal(fs.f[i].kind, "step");
		assert_int_equal(fs.f[i].value, fs.f[i].error ? 30 : 70);
	}
	assert_int_equal(pays, 2);
	doc = svg(fg);
	assert_null(strstr(doc, "[step"));
	el = frame_element(doc, "pay\" data-kind=\"step\" data-err=\"1");
	assert_non_null(el);
	assert_non_null(strstr(el, "class=\"err\""));
	assert_non_null(strstr(el, "<title>pay (step, error) \xE2\x80\x94 "));
	free(el);
	/* the legend names the kinds drawn, and errors */
	assert_non_null(strstr(doc, ">sequential</text>"));
	assert_non_null(strstr(doc, ">step</text>"));
	assert_non_null(strstr(doc, ">error</text>"));
	assert_non_null(strstr(doc, ">no kind</text>"));
	assert_null(strstr(doc, ">parallel</text>"));
	free(doc);
	frames_free(&fs);
	flamegraph__free(fg);
}

struct fixture_ctx {
	struct flamegraph *fg;
	char **paths;
	size_t n, cap;
	uint64_t total;
};

/* The fixture's distinct paths, counted independently of the graph. */
static int fixture_line(const char *const *frames, size_t n, uint64_t value, void *ctx)
{
	struct fixture_ctx *fc = ctx;
	char path[4096] = "";

	fc->total += value;
	for (size_t d = 0; d < n; d++) {
		bool seen = false;

		if (d)
			strcat(path, ";");
		strcat(path, frames[d]);
		for (size_t i = 0; i < fc->n && !seen; i++)
			seen = !strcmp(fc->paths[i], path);
		if (!seen) {
			if (fc->n == fc->cap) {
				fc->cap = fc->cap ? fc->cap * 2 : 64;
				fc->paths = realloc(fc->paths, fc->cap * sizeof(*fc->paths));
			}
			fc->paths[fc->n++] = strdup(path);
		}
	}
	return flamegraph__add_folded(fc->fg, frames, n, value, false);
}

static void test_round_trip_fixture(void **state)
{
	struct flamegraph_opts o = { .min_width_px = FLAMEGRAPH_KEEP_ALL };
	struct fixture_ctx fc = { .fg = flamegraph__new(&o) };
	FILE *in = fopen("tests/fixtures/workflow.folded", "r");
	struct folded_parse_stats st;
	struct frames fs;
	char *doc;

	(void)state;
	assert_non_null(in);
	assert_int_equal(folded_parse__file(in, "workflow.folded", true, fixture_line, &fc, &st), 0);
	fclose(in);
	assert_true(fc.n > 20);
	fs = walk(fc.fg);
	assert_int_equal(fs.n, fc.n + 1);
	assert_int_equal(fs.f[0].value, fc.total);
	assert_int_equal(fs.f[0].value, st.total);
	doc = svg(fc.fg);
	assert_int_equal(count(doc, "<g class=\"f\""), fc.n + 1);
	free(doc);
	frames_free(&fs);
	for (size_t i = 0; i < fc.n; i++)
		free(fc.paths[i]);
	free(fc.paths);
	flamegraph__free(fc.fg);
}

/* A parallel span with three branches on other threads. */
static void test_add_trace(void **state)
{
	struct tt_span sp[4] = { 0 };
	struct tt_span *ptrs[4] = { &sp[0], &sp[1], &sp[2], &sp[3] };
	struct tt_trace t = { .spans = ptrs, .n_spans = 4, .roots = ptrs, .n_roots = 1 };
	static const uint64_t ms = 1000000;
	struct flamegraph_opts o = { .unit = "us", .min_width_px = FLAMEGRAPH_KEEP_ALL };
	struct flamegraph *fg;
	struct flamegraph_stats st;
	struct frames fs;

	(void)state;
	sp[0] = (struct tt_span){ .name = "fanout", .kind = "parallel", .start_ns = 0, .end_ns = 100 * ms };
	sp[1] = (struct tt_span){ .name = "b1", .kind = "step", .start_ns = 0, .end_ns = 40 * ms };
	sp[2] = (struct tt_span){ .name = "b2", .kind = "step", .start_ns = 0, .end_ns = 95 * ms,
				  .status = TT_STATUS_ERROR };
	sp[3] = (struct tt_span){ .name = "b3", .kind = "step", .start_ns = 5 * ms, .end_ns = 60 * ms };
	for (int i = 1; i < 4; i++)
		sp[i].parent = &sp[0];
	sp[0].first_child = &sp[1];
	sp[1].next_sibling = &sp[2];
	sp[2].next_sibling = &sp[3];

	/* wall time: the branches add up to far more than the span took */
	fg = flamegraph__new(&o);
	assert_int_equal(flamegraph__add_trace(fg, &t, false), 0);
	flamegraph__stats(fg, &st);
	assert_int_equal(st.total, (5 + 40 + 95 + 55) * 1000);
	flamegraph__free(fg);

	/* critical path: exactly the wall time, all of it in the slowest branch */
	fg = flamegraph__new(&o);
	assert_int_equal(flamegraph__add_trace(fg, &t, true), 0);
	fs = walk(fg);
	assert_int_equal(fs.f[0].value, 100 * 1000);
	assert_int_equal(fs.n, 3);
	assert_int_equal(find(&fs, "fanout")->self, 5000);
	assert_int_equal(find(&fs, "b2")->value, 95000);
	assert_true(find(&fs, "b2")->error);
	assert_string_equal(find(&fs, "fanout")->kind, "parallel");
	assert_null(find(&fs, "b1"));
	frames_free(&fs);
	flamegraph__free(fg);

	/* ns keeps sub-microsecond spans; counts are not durations */
	sp[0].end_ns = 999;
	sp[1].end_ns = 400;
	sp[2].end_ns = 0;
	sp[3].end_ns = 5 * ms; /* = start: no duration */
	o.unit = "ns";
	fg = flamegraph__new(&o);
	assert_int_equal(flamegraph__add_trace(fg, &t, true), 0);
	flamegraph__stats(fg, &st);
	assert_int_equal(st.total, 999);
	flamegraph__free(fg);
	o.unit = "samples";
	fg = flamegraph__new(&o);
	assert_int_equal(flamegraph__add_trace(fg, &t, true), -EINVAL);
	flamegraph__free(fg);
}

static void test_units_orientation_and_empty(void **state)
{
	struct flamegraph_opts o = { .unit = "samples", .icicle = true };
	struct flamegraph *fg = flamegraph__new(&o);
	struct frames fs;
	char *doc;

	(void)state;
	add(fg, "main;work", 1234567);
	add(fg, "main", 1000);
	fs = walk(fg);
	/* icicle: the root on the top row, children below */
	assert_true(fs.f[0].y_px < find(&fs, "main")->y_px);
	assert_true(find(&fs, "main")->y_px < find(&fs, "work")->y_px);
	doc = svg(fg);
	assert_non_null(strstr(doc, "<title>work \xE2\x80\x94 1,234,567 samples, 99.92%</title>"));
	assert_non_null(strstr(doc, "<title>main \xE2\x80\x94 1,235,567 samples, 100.00%, self 1,000 samples</title>"));
	assert_non_null(strstr(doc, "data-mode=\"icicle\""));
	assert_non_null(strstr(doc, ">Icicle Graph</text>"));
	free(doc);
	frames_free(&fs);
	flamegraph__free(fg);

	o = (struct flamegraph_opts){ .unit = "us", .min_width_px = FLAMEGRAPH_KEEP_ALL };
	fg = flamegraph__new(&o);
	add(fg, "s", 2500000);
	add(fg, "s;ms", 12345);
	add(fg, "s;us", 7);
	doc = svg(fg);
	assert_non_null(strstr(doc, "<title>s \xE2\x80\x94 2.51 s, 100.00%, self 2.50 s</title>"));
	assert_non_null(strstr(doc, "<title>ms \xE2\x80\x94 12.3 ms, 0.49%</title>"));
	assert_non_null(strstr(doc, "<title>us \xE2\x80\x94 7.00 \xC2\xB5s, 0.00%</title>"));
	assert_non_null(strstr(doc, ">Flame Graph</text>"));
	free(doc);
	flamegraph__free(fg);

	/* nothing added: still a valid document that says so */
	fg = flamegraph__new(NULL);
	doc = svg(fg);
	assert_non_null(strstr(doc, "No stacks to draw"));
	assert_int_equal(count(doc, "<g class=\"f\""), 0);
	assert_non_null(strstr(doc, "</svg>\n"));
	free(doc);
	flamegraph__free(fg);
}

static void test_bad_input(void **state)
{
	struct flamegraph *fg = flamegraph__new(NULL);
	const char *ok[] = { "a" }, *empty[] = { "a", "" }, *null[] = { NULL };
	struct flamegraph_opts o = { .width_px = 50 };

	(void)state;
	assert_int_equal(flamegraph__add(fg, ok, 0, 1, NULL, NULL), -EINVAL);
	assert_int_equal(flamegraph__add(fg, empty, 2, 1, NULL, NULL), -EINVAL);
	assert_int_equal(flamegraph__add(fg, null, 1, 1, NULL, NULL), -EINVAL);
	assert_int_equal(flamegraph__add(fg, ok, 1, UINT64_MAX - 1, NULL, NULL), 0);
	assert_int_equal(flamegraph__add(fg, ok, 1, 2, NULL, NULL), -EOVERFLOW);
	flamegraph__free(fg);
	errno = 0;
	assert_null(flamegraph__new(&o));
	assert_int_equal(errno, EINVAL);
	flamegraph__free(NULL);
}

static void test_deep_stack(void **state)
{
	struct flamegraph_opts o = { .min_width_px = FLAMEGRAPH_KEEP_ALL };
	struct flamegraph *fg = flamegraph__new(&o);
	size_t depth = 20000;
	const char **frames = calloc(depth, sizeof(*frames));
	struct frames fs;
	char *doc;

	(void)state;
	for (size_t i = 0; i < depth; i++)
		frames[i] = i % 2 ? "recurse" : "again";
	assert_int_equal(flamegraph__add(fg, frames, depth, 3, NULL, NULL), 0);
	assert_int_equal(flamegraph__add(fg, frames, depth / 2, 1, NULL, NULL), 0);
	fs = walk(fg);
	assert_int_equal(fs.n, depth + 1);
	assert_int_equal(fs.f[depth].depth, depth);
	assert_int_equal(fs.f[depth / 2].value, 4);
	assert_int_equal(fs.f[depth / 2].self, 1);
	doc = svg(fg);
	assert_int_equal(count(doc, "<g class=\"f\""), depth + 1);
	free(doc);
	frames_free(&fs);
	free(frames);
	flamegraph__free(fg);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long len;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)len + 1);
	assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	return buf;
}

static void test_sink_and_file_output(void **state)
{
	struct tt_span sp[2] = { 0 };
	struct tt_span *ptrs[2] = { &sp[0], &sp[1] };
	struct tt_trace t = { .spans = ptrs, .n_spans = 2, .roots = ptrs, .n_roots = 1 };
	struct flamegraph_opts o = { .unit = "ns", .min_width_px = FLAMEGRAPH_KEEP_ALL };
	struct flamegraph *fg = flamegraph__new(&o);
	struct tt_sink *sink = flamegraph_sink__new(fg, true);
	char dir[] = "/tmp/fgtest.XXXXXX", path[256], bad[300], *doc;
	struct flamegraph_stats st;

	(void)state;
	assert_non_null(sink);
	sp[0] = (struct tt_span){ .name = "root", .kind = "sequential", .start_ns = 1000, .end_ns = 5000 };
	sp[1] = (struct tt_span){ .name = "leaf", .kind = "step", .start_ns = 2000, .end_ns = 3000,
				  .parent = &sp[0] };
	sp[0].first_child = &sp[1];
	assert_int_equal(sink->trace(sink, &t), 0);
	assert_int_equal(sink->trace(sink, &t), 0);
	assert_int_equal(tt_sink__close(sink), 0);
	flamegraph__stats(fg, &st);
	assert_int_equal(st.total, 8000);

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/out.svg", dir);
	assert_int_equal(flamegraph__write_svg_file(fg, path), 0);
	doc = slurp(path);
	assert_non_null(doc);
	assert_non_null(strstr(doc, "data-name=\"leaf\" data-kind=\"step\" data-value=\"2000\""));
	assert_non_null(strstr(doc, "</svg>"));
	free(doc);
	snprintf(bad, sizeof(bad), "%s/missing/out.svg", dir);
	assert_int_equal(flamegraph__write_svg_file(fg, bad), -ENOENT);
	unlink(path);
	assert_int_equal(rmdir(dir), 0); /* no temporary file left behind */
	flamegraph__free(fg);
	assert_null(flamegraph_sink__new(NULL, false));
}

/* Runs the subcommand with stderr captured. */
static int run_cmd(char *err, size_t err_size, int argc, ...)
{
	char *argv[16];
	va_list ap;
	FILE *cap = tmpfile();
	int saved, rc;
	size_t got;

	va_start(ap, argc);
	for (int i = 0; i < argc; i++)
		argv[i] = va_arg(ap, char *);
	va_end(ap);
	argv[argc] = NULL;
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	dup2(fileno(cap), STDERR_FILENO);
	rc = flamegraph_cmd_main(argc, argv);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(cap);
	got = fread(err, 1, err_size - 1, cap);
	err[got] = '\0';
	fclose(cap);
	return rc;
}

static void test_subcommand(void **state)
{
	char dir[] = "/tmp/fgcmd.XXXXXX", out[256], bad[256], err[2048], *doc;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(out, sizeof(out), "%s/out.svg", dir);
	snprintf(bad, sizeof(bad), "%s/bad.folded", dir);
	f = fopen(bad, "w");
	fputs("a;b 10\nno_count_at_all\na;c 5\n", f);
	fclose(f);

	assert_int_equal(run_cmd(err, sizeof(err), 9, "flamegraph", "--title", "T & T", "-w", "800",
				 "--icicle", "-o", out, "tests/fixtures/workflow.folded"),
			 0);
	assert_string_equal(err, "");
	doc = slurp(out);
	assert_non_null(strstr(doc, "width=\"800\""));
	assert_non_null(strstr(doc, ">T &amp; T</text>"));
	assert_non_null(strstr(doc, "data-mode=\"icicle\""));
	assert_non_null(strstr(doc, "tests/fixtures/workflow.folded \xC2\xB7 total 31.6 ms"));
	free(doc);

	/* malformed lines: reported and skipped, or the whole input refused */
	assert_int_equal(run_cmd(err, sizeof(err), 4, "flamegraph", "-o", out, bad), 0);
	assert_non_null(strstr(err, "bad.folded:2: missing count"));
	doc = slurp(out);
	assert_non_null(strstr(doc, "data-total=\"15\""));
	free(doc);
	assert_int_equal(run_cmd(err, sizeof(err), 5, "flamegraph", "--strict", "-o", out, bad), 1);
	assert_non_null(strstr(err, "bad.folded:2: missing count"));
	assert_non_null(strstr(err, "rejected (--strict)"));
	doc = slurp(out); /* the previous output is left alone */
	assert_non_null(strstr(doc, "data-total=\"15\""));
	free(doc);

	/* --diff BEFORE AFTER */
	assert_int_equal(run_cmd(err, sizeof(err), 6, "flamegraph", "--diff",
				 "tests/fixtures/workflow_before.folded", "-o", out,
				 "tests/fixtures/workflow.folded"),
			 0);
	doc = slurp(out);
	assert_non_null(strstr(doc, "data-diff=\"1\""));
	assert_non_null(strstr(doc, ">Differential Flame Graph</text>"));
	free(doc);

	/* usage errors: one line, exit 2 */
	assert_int_equal(run_cmd(err, sizeof(err), 3, "flamegraph", "--width", "10"), 2);
	assert_non_null(strstr(err, "ttatrace: flamegraph: --width must be"));
	assert_int_equal(run_cmd(err, sizeof(err), 3, "flamegraph", "--min-width", "-1"), 2);
	assert_int_equal(run_cmd(err, sizeof(err), 2, "flamegraph", "--nope"), 2);
	assert_non_null(strstr(err, "unknown option '--nope'"));
	assert_int_equal(run_cmd(err, sizeof(err), 3, "flamegraph", "--diff", bad), 2);
	assert_non_null(strstr(err, "needs the AFTER input"));
	assert_int_equal(run_cmd(err, sizeof(err), 3, "flamegraph", bad, bad), 2);
	assert_int_equal(run_cmd(err, sizeof(err), 2, "flamegraph", "/no/such.folded"), 1);
	assert_string_equal(err, "ttatrace: opening /no/such.folded: No such file or directory\n");

	unlink(out);
	unlink(bad);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_widths_sum_to_parent),
		cmocka_unit_test(test_zero_width_pruning),
		cmocka_unit_test(test_merging_and_frame_identity),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_long_names_truncated),
		cmocka_unit_test(test_narrow_frames_get_no_label),
		cmocka_unit_test(test_diff_normalisation),
		cmocka_unit_test(test_folded_annotations),
		cmocka_unit_test(test_round_trip_fixture),
		cmocka_unit_test(test_add_trace),
		cmocka_unit_test(test_units_orientation_and_empty),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_deep_stack),
		cmocka_unit_test(test_sink_and_file_output),
		cmocka_unit_test(test_subcommand),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
