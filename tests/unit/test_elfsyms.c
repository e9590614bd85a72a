/* Unit tests for user/elfsyms.c: every symbol and offset is checked against what binutils
 * (nm, readelf, objdump) independently say about the same files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "elfsyms.h"

#define LIBC_PATH "/lib/x86_64-linux-gnu/libc.so.6"

static char g_build[512];
static char g_tmp[512];

/* --- running tools ---------------------------------------------------------------------- */

struct lines {
	char **v;
	size_t n;
};

static void lines_free(struct lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* Runs a shell command; fails the test unless it exits 0. */
static struct lines run(const char *fmt, ...)
{
	struct lines l = { 0 };
	char cmd[2048], *line = NULL;
	size_t cap = 0;
	ssize_t len;
	va_list ap;
	FILE *p;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	p = popen(cmd, "r");
	if (!p)
		fail_msg("popen(%s): %s", cmd, strerror(errno));
	while ((len = getline(&line, &cap, p)) > 0) {
		if (line[len - 1] == '\n')
			line[len - 1] = '\0';
		l.v = realloc(l.v, (l.n + 1) * sizeof(*l.v));
		assert_non_null(l.v);
		l.v[l.n++] = strdup(line);
	}
	free(line);
	st = pclose(p);
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("command failed (status %d): %s", st, cmd);
	return l;
}

static void fixture(char *buf, size_t len, const char *name)
{
	struct stat st;

	snprintf(buf, len, "%s/fixtures/%s", g_build, name);
	if (stat(buf, &st))
		fail_msg("fixture %s missing (build it: make BUILD=%s %s)", buf, g_build, buf);
}

static void tmp_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", g_tmp, name);
}

/* --- reference data from binutils --------------------------------------------------------- */

struct load {
	uint64_t off, vaddr, filesz;
};

struct loads {
	struct load v[32];
	size_t n;
};

/* PT_LOAD headers as readelf -lW prints them. */
static struct loads read_loads(const char *path)
{
	struct lines l = run("readelf -lW '%s'", path);
	struct loads ld = { .n = 0 };

	for (size_t i = 0; i < l.n; i++) {
		char type[32];
		unsigned long long off, va, pa, fsz, msz;

		if (sscanf(l.v[i], " %31s 0x%llx 0x%llx 0x%llx 0x%llx 0x%llx", type, &off, &va, &pa,
			   &fsz, &msz) != 6 ||
		    strcmp(type, "LOAD") != 0)
			continue;
		assert_true(ld.n < 32);
		ld.v[ld.n++] = (struct load){ off, va, fsz };
	}
	lines_free(&l);
	if (ld.n == 0)
		fail_msg("readelf -lW %s shows no LOAD segment", path);
	return ld;
}

static bool expected_offset(const struct loads *ld, uint64_t addr, uint64_t *off)
{
	for (size_t i = 0; i < ld->n; i++) {
		if (addr >= ld->v[i].vaddr && addr < ld->v[i].vaddr + ld->v[i].filesz) {
			*off = addr - ld->v[i].vaddr + ld->v[i].off;
			return true;
		}
	}
	return false;
}

struct ref_sym {
	char *name;
	uint64_t addr, size;
	bool dyn, tab;
	char nm_type; /* for nm lists */
};

struct refs {
	struct ref_sym *v;
	size_t n;
};

static void refs_free(struct refs *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->v[i].name);
	free(r->v);
	r->v = NULL;
	r->n = 0;
}

static void refs_add(struct refs *r, const char *name, uint64_t addr, uint64_t size, bool dyn,
		     char nm_type)
{
	r->v = realloc(r->v, (r->n + 1) * sizeof(*r->v));
	assert_non_null(r->v);
	r->v[r->n] = (struct ref_sym){ .name = strndup(name, strcspn(name, "@")),
				       .addr = addr,
				       .size = size,
				       .dyn = dyn,
				       .tab = !dyn,
				       .nm_type = nm_type };
	r->n++;
}

static int ref_cmp(const void *a, const void *b)
{
	const struct ref_sym *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* Sorts like elf_syms and merges equal (name, addr) pairs. */
static void refs_sort_merge(struct refs *r)
{
	size_t n = 0;

	if (r->n)
		qsort(r->v, r->n, sizeof(*r->v), ref_cmp);
	for (size_t i = 0; i < r->n; i++) {
		if (n && ref_cmp(&r->v[n - 1], &r->v[i]) == 0) {
			r->v[n - 1].dyn |= r->v[i].dyn;
			r->v[n - 1].tab |= r->v[i].tab;
			if (r->v[i].size > r->v[n - 1].size)
				r->v[n - 1].size = r->v[i].size;
			free(r->v[i].name);
			continue;
		}
		r->v[n++] = r->v[i];
	}
	r->n = n;
}

/* Defined FUNC/IFUNC symbols with a non-zero value inside a PT_LOAD, per readelf -sW. */
static struct refs readelf_funcs(const char *path, const struct loads *ld)
{
	struct lines l = run("readelf -sW '%s'", path);
	struct refs r = { 0 };
	int table = -1; /* 1 = .dynsym, 0 = .symtab */

	for (size_t i = 0; i < l.n; i++) {
		char num[32], type[32], bind[32], vis[32], ndx[32], name[1024], sz[64];
		unsigned long long value;
		uint64_t off;

		if (strstr(l.v[i], "Symbol table '.dynsym'")) {
			table = 1;
			continue;
		}
		if (strstr(l.v[i], "Symbol table '.symtab'")) {
			table = 0;
			continue;
		}
		if (sscanf(l.v[i], " %31s %llx %63s %31s %31s %31s %31s %1023s", num, &value, sz,
			   type, bind, vis, ndx, name) != 8)
			continue;
		if (num[strlen(num) - 1] != ':')
			continue;
		if (strcmp(type, "FUNC") != 0 && strcmp(type, "IFUNC") != 0)
			continue;
		if (strcmp(ndx, "UND") == 0 || value == 0)
			continue;
		if (!expected_offset(ld, value, &off))
			continue;
		assert_true(table == 0 || table == 1);
		refs_add(&r, name, value, strtoull(sz, NULL, 0), table == 1, 0);
	}
	lines_free(&l);
	refs_sort_merge(&r);
	return r;
}

/* nm --defined-only (symtab) or nm -D --defined-only (dynsym): every defined symbol, any type.
 * stderr is dropped because nm complains "no symbols" about stripped files, yet exits 0. */
static struct refs nm_syms(const char *path, bool dyn)
{
	struct lines l = run("nm %s --defined-only '%s' 2>/dev/null", dyn ? "-D" : "", path);
	struct refs r = { 0 };

	for (size_t i = 0; i < l.n; i++) {
		unsigned long long addr;
		char type, name[1024];

		if (sscanf(l.v[i], "%llx %c %1023s", &addr, &type, name) != 3)
			continue;
		refs_add(&r, name, addr, 0, dyn, type);
	}
	lines_free(&l);
	/* sort only: nm lists the same (name, addr) once per table entry, merge is harmless */
	refs_sort_merge(&r);
	return r;
}

static const struct ref_sym *refs_find(const struct refs *r, const char *name, uint64_t addr)
{
	struct ref_sym key = { .name = (char *)name, .addr = addr };

	if (!r->n)
		return NULL;
	return bsearch(&key, r->v, r->n, sizeof(*r->v), ref_cmp);
}

/* The first n bytes objdump -d shows at addr (it prints whole instructions only, hence the
 * slack in the stop address). */
static size_t objdump_bytes(const char *path, uint64_t addr, unsigned char *out, size_t n)
{
	struct lines l = run("objdump -d --start-address=0x%llx --stop-address=0x%llx '%s'",
			     (unsigned long long)addr, (unsigned long long)addr + n + 16, path);
	size_t got = 0;

	for (size_t i = 0; i < l.n && got < n; i++) {
		char *p = l.v[i], *tab;
		unsigned long long a;
		int pos = 0;

		/* instruction lines: "  401136:\t8d 04 37   \tlea ..." */
		if (sscanf(p, " %llx:%n", &a, &pos) != 1 || pos == 0 || p[pos] != '\t')
			continue;
		p += pos + 1;
		tab = strchr(p, '\t');
		if (tab)
			*tab = '\0';
		for (char *tok = strtok(p, " "); tok && got < n; tok = strtok(NULL, " "))
			out[got++] = (unsigned char)strtoul(tok, NULL, 16);
	}
	lines_free(&l);
	return got;
}

static void read_file_bytes(const char *path, uint64_t off, unsigned char *out, size_t n)
{
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, out, n, (off_t)off), (ssize_t)n);
	close(fd);
}

/*
 * The whole contract on one file:
 * - exactly the readelf FUNC/IFUNC set, same order, same table flags, sizes;
 * - every entry present in nm (-D) with a text-ish type at the same address;
 * - offsets as the PT_LOAD headers imply; nop5 as the file bytes say.
 * Returns the number of symbols checked.
 */
static size_t check_against_tools(const char *path)
{
	struct loads ld = read_loads(path);
	struct refs ref = readelf_funcs(path, &ld);
	struct refs nm_tab = nm_syms(path, false);
	struct refs nm_dyn = nm_syms(path, true);
	struct elf_syms *s = elf_syms__open(path);
	size_t n;

	if (!s)
		fail_msg("elf_syms__open(%s): %s", path, strerror(errno));
	assert_string_equal(elf_syms__path(s), path);
	n = elf_syms__count(s);
	if (n != ref.n)
		fail_msg("%s: %zu symbols, readelf says %zu", path, n, ref.n);
	for (size_t i = 0; i < n; i++) {
		const struct elf_sym *e = elf_syms__get(s, i);
		const struct ref_sym *r = &ref.v[i];
		unsigned char bytes[5];
		uint64_t off;

		assert_non_null(e);
		if (strcmp(e->name, r->name) != 0 || e->addr != r->addr)
			fail_msg("%s[%zu]: %s@%#llx, readelf: %s@%#llx", path, i, e->name,
				 (unsigned long long)e->addr, r->name, (unsigned long long)r->addr);
		assert_null(strchr(e->name, '@'));
		if (e->from_dynsym != r->dyn || e->from_symtab != r->tab)
			fail_msg("%s: %s dyn=%d tab=%d, readelf dyn=%d tab=%d", path, e->name,
				 e->from_dynsym, e->from_symtab, r->dyn, r->tab);
		assert_int_equal(e->size, r->size);
		if (i > 0) {
			const struct elf_sym *prev = elf_syms__get(s, i - 1);
			int c = strcmp(prev->name, e->name);

			assert_true(c < 0 || (c == 0 && prev->addr < e->addr));
		}

		/* nm agrees on name and address in each table it came from */
		const struct refs *tables[2] = { e->from_symtab ? &nm_tab : NULL,
						 e->from_dynsym ? &nm_dyn : NULL };
		for (int t = 0; t < 2; t++) {
			const struct ref_sym *m;

			if (!tables[t])
				continue;
			m = refs_find(tables[t], e->name, e->addr);
			if (!m)
				fail_msg("%s: %s@%#llx not in nm%s", path, e->name,
					 (unsigned long long)e->addr, t ? " -D" : "");
			if (!strchr("TtWwi", m->nm_type))
				fail_msg("%s: nm type of %s is %c", path, e->name, m->nm_type);
		}

		assert_true(expected_offset(&ld, e->addr, &off));
		if (e->offset != off)
			fail_msg("%s: %s offset %#llx, program headers say %#llx", path, e->name,
				 (unsigned long long)e->offset, (unsigned long long)off);
		read_file_bytes(path, off, bytes, sizeof(bytes));
		assert_int_equal(e->nop5, memcmp(bytes, "\x0f\x1f\x44\x00\x00", 5) == 0);
	}
	elf_syms__free(s);
	refs_free(&ref);
	refs_free(&nm_tab);
	refs_free(&nm_dyn);
	return n;
}

/* --- helpers over the API --------------------------------------------------------------- */

struct collect {
	const struct elf_sym *v[64];
	size_t n;
	int stop_after; /* return -ECANCELED on this call (1-based), 0 never */
};

static int collect_cb(const struct elf_sym *sym, void *ctx)
{
	struct collect *c = ctx;

	assert_true(c->n < 64);
	c->v[c->n++] = sym;
	if (c->stop_after && (int)c->n == c->stop_after)
		return -ECANCELED;
	return 0;
}

static const struct elf_sym *find1(const struct elf_syms *s, const char *name)
{
	struct collect c = { .n = 0 };
	int r = elf_syms__match(s, name, collect_cb, &c);

	if (r != 1)
		fail_msg("%s: %d symbols named %s, want 1", elf_syms__path(s), r, name);
	return c.v[0];
}

/* objdump's bytes at the symbol's address are the file's bytes at the symbol's offset. */
static void check_bytes(const char *path, const struct elf_sym *e)
{
	unsigned char want[8], got[8];
	size_t n = e->size && e->size < sizeof(want) ? e->size : sizeof(want);

	assert_int_equal(objdump_bytes(path, e->addr, want, n), n);
	read_file_bytes(path, e->offset, got, n);
	if (memcmp(want, got, n) != 0)
		fail_msg("%s: bytes at offset %#llx differ from objdump's at %#llx (%s)", path,
			 (unsigned long long)e->offset, (unsigned long long)e->addr, e->name);
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* --- tests -------------------------------------------------------------------------------- */

static void test_executable(void **state)
{
	(void)state;
	static const char *names[] = { "symtest_add",	       "symtest_mul",
				       "symtest_retry_step",   "symtest_static_helper",
				       "symtest_static_other", "symtest_alias",
				       "main" };
	char path[600];
	struct elf_syms *s;
	const struct elf_sym *add, *alias, *helper;

	fixture(path, sizeof(path), "symtest");
	assert_true(check_against_tools(path) >= 8);

	s = elf_syms__open(path);
	assert_non_null(s);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct elf_sym *e = find1(s, names[i]);

		assert_true(e->from_symtab);
		check_bytes(path, e);
	}
	/* the alias is a second name for the same code, and both are kept */
	add = find1(s, "symtest_add");
	alias = find1(s, "symtest_alias");
	assert_int_equal(add->addr, alias->addr);
	assert_int_equal(add->offset, alias->offset);
	assert_ptr_not_equal(add, alias);
	/* static functions exist only in .symtab */
	helper = find1(s, "symtest_static_helper");
	assert_false(helper->from_dynsym);
	assert_false(add->nop5);
#if defined(__x86_64__) || defined(__i386__)
	assert_true(find1(s, "symtest_nop5")->nop5);
	check_bytes(path, find1(s, "symtest_nop5"));
#endif
	elf_syms__free(s);
}

static void test_shared_library(void **state)
{
	(void)state;
	char path[600];
	struct elf_syms *s;
	const struct elf_sym *e, *a;

	fixture(path, sizeof(path), "libsymtest.so");
	assert_true(check_against_tools(path) >= 8);

	s = elf_syms__open(path);
	assert_non_null(s);
	e = find1(s, "libsymtest_open");
	assert_true(e->from_dynsym && e->from_symtab);
	check_bytes(path, e);
	e = find1(s, "libsymtest_hidden");
	assert_true(e->from_symtab && !e->from_dynsym);
	check_bytes(path, e);
	e = find1(s, "libsymtest_static");
	assert_true(e->from_symtab && !e->from_dynsym);
	e = find1(s, "libsymtest_ifunc"); /* STT_GNU_IFUNC counts as a function */
	assert_true(e->from_dynsym && e->from_symtab);
	e = find1(s, "libsymtest_entry");
	a = find1(s, "libsymtest_entry_alias");
	assert_int_equal(e->addr, a->addr);
	assert_true(a->from_dynsym);
	check_bytes(path, e);
#if defined(__x86_64__) || defined(__i386__)
	assert_true(find1(s, "libsymtest_nop5")->nop5);
#endif
	assert_false(find1(s, "libsymtest_close")->nop5);
	elf_syms__free(s);
}

/* Non-PIE: link addresses are not file offsets, so the PT_LOAD translation really matters. */
static void test_non_pie_executable(void **state)
{
	(void)state;
	char bin[600];
	struct elf_syms *s;
	const struct elf_sym *e;

	tmp_path(bin, sizeof(bin), "symtest-nopie");
	{
		struct lines l = run("${CC:-cc} -g -O1 -no-pie -fno-pie tests/fixtures/symtest.c "
				     "-o '%s' && readelf -hW '%s' | grep 'Type:'",
				     bin, bin);

		assert_int_equal(l.n, 1);
		assert_non_null(strstr(l.v[0], "EXEC"));
		lines_free(&l);
	}
	/* the fixture gives puts a canonical PLT entry: undefined, but with a value */
	{
		/* a value with a non-zero digit, then size, FUNC ... UND puts */
		struct lines l = run("readelf -sW --dyn-syms '%s' | grep -E "
				     "' [0-9a-f]*[1-9a-f][0-9a-f]* +[0-9]+ FUNC .* UND puts'",
				     bin);

		assert_true(l.n >= 1);
		lines_free(&l);
	}
	check_against_tools(bin);
	s = elf_syms__open(bin);
	assert_non_null(s);
	assert_int_equal(elf_syms__match(s, "puts", NULL, NULL), 0);
	e = find1(s, "symtest_retry_step");
	assert_true(e->addr != e->offset);
	check_bytes(bin, e);
	check_bytes(bin, find1(s, "symtest_static_other"));
	check_bytes(bin, find1(s, "main"));
#if defined(__x86_64__) || defined(__i386__)
	e = find1(s, "symtest_nop5");
	assert_true(e->nop5);
	check_bytes(bin, e);
#endif
	elf_syms__free(s);
	unlink(bin);
}

/* Stripped files keep only .dynsym: exported functions remain, local and hidden ones go. */
static void test_stripped(void **state)
{
	(void)state;
	char lib[600], out[600], exe[600], exe_out[600];
	struct elf_syms *s;
	struct collect c = { .n = 0 };

	fixture(lib, sizeof(lib), "libsymtest.so");
	tmp_path(out, sizeof(out), "libsymtest-stripped.so");
	{
		struct lines l = run("strip --strip-all -o '%s' '%s' && readelf -SW '%s'", out, lib,
				     out);
		bool has_symtab = false;

		for (size_t i = 0; i < l.n; i++)
			has_symtab |= strstr(l.v[i], " .symtab ") != NULL;
		assert_false(has_symtab);
		lines_free(&l);
	}
	assert_true(check_against_tools(out) >= 6);
	s = elf_syms__open(out);
	assert_non_null(s);
	for (size_t i = 0; i < elf_syms__count(s); i++) {
		assert_true(elf_syms__get(s, i)->from_dynsym);
		assert_false(elf_syms__get(s, i)->from_symtab);
	}
	assert_int_equal(elf_syms__match(s, "libsymtest_hidden", NULL, NULL), 0);
	assert_int_equal(elf_syms__match(s, "libsymtest_static", NULL, NULL), 0);
	/* open, close, entry, entry_alias, ifunc (+ nop5 on x86) */
	assert_true(elf_syms__match(s, "libsymtest_*", collect_cb, &c) >= 5);
	assert_int_equal(elf_syms__match(s, "libsymtest_open", NULL, NULL), 1);
	elf_syms__free(s);
	unlink(out);

	/* a stripped PIE executable still has a .dynsym: it opens, with what readelf lists */
	fixture(exe, sizeof(exe), "symtest");
	tmp_path(exe_out, sizeof(exe_out), "symtest-stripped");
	{
		struct lines l = run("strip --strip-all -o '%s' '%s'", exe_out, exe);

		lines_free(&l);
	}
	check_against_tools(exe_out);
	s = elf_syms__open(exe_out);
	assert_non_null(s);
	assert_int_equal(elf_syms__match(s, "symtest_static_helper", NULL, NULL), 0);
	elf_syms__free(s);
	unlink(exe_out);
}

/* Versioned definitions are named "vfunc@VERS_1" and "vfunc@@VERS_2" in .symtab (and shown so by
 * nm -D): callers must see two plain "vfunc" entries, one per implementation. Built here because
 * it needs a version script, which the Makefile's fixture rule does not pass. */
static void test_versioned_symbols(void **state)
{
	(void)state;
	static const char src[] = "int impl_v1(int x) { return x + 1; }\n"
				  "int impl_v2(int x) { return x * 2; }\n"
				  "__asm__(\".symver impl_v1, vfunc@VERS_1\");\n"
				  "__asm__(\".symver impl_v2, vfunc@@VERS_2\");\n";
	static const char map[] = "VERS_1 { global: vfunc; local: *; };\n"
				  "VERS_2 { global: vfunc; } VERS_1;\n";
	char c_path[600], map_path[600], lib[600];
	struct collect c = { .n = 0 };
	struct elf_syms *s;
	struct lines l;

	tmp_path(c_path, sizeof(c_path), "v.c");
	tmp_path(map_path, sizeof(map_path), "v.map");
	tmp_path(lib, sizeof(lib), "libv.so");
	write_file(c_path, src, sizeof(src) - 1);
	write_file(map_path, map, sizeof(map) - 1);
	l = run("${CC:-cc} -shared -fPIC -O1 '%s' -Wl,--version-script='%s' -o '%s' && "
		"readelf -sW '%s' | grep -c 'vfunc@@VERS_2'",
		c_path, map_path, lib, lib);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0], "2"); /* in both tables, with the suffix */
	lines_free(&l);

	assert_true(check_against_tools(lib) >= 4);
	s = elf_syms__open(lib);
	assert_non_null(s);
	assert_int_equal(elf_syms__match(s, "vfunc", collect_cb, &c), 2);
	assert_true(c.v[0]->addr < c.v[1]->addr);
	for (size_t i = 0; i < 2; i++) {
		assert_string_equal(c.v[i]->name, "vfunc");
		assert_true(c.v[i]->from_dynsym && c.v[i]->from_symtab);
		check_bytes(lib, c.v[i]);
	}
	assert_int_equal(c.v[0]->addr, find1(s, "impl_v1")->addr);
	assert_int_equal(c.v[1]->addr, find1(s, "impl_v2")->addr);
	assert_int_equal(elf_syms__match(s, "*@*", NULL, NULL), 0);
	assert_int_equal(elf_syms__match(s, "vfunc*", NULL, NULL), 2);
	elf_syms__free(s);
	unlink(c_path);
	unlink(map_path);
	unlink(lib);
}

static void expect_open_errno(const char *path, int want)
{
	struct elf_syms *s;

	errno = 0;
	s = elf_syms__open(path);
	if (s || errno != want)
		fail_msg("elf_syms__open(%s) = %p errno %d (%s), want NULL errno %d (%s)", path,
			 (void *)s, errno, strerror(errno), want, strerror(want));
}

static void test_errors(void **state)
{
	(void)state;
	char p[600], dir[600], noshdr[600], empty[600], exe[600], stat_out[600];
	Elf64_Ehdr eh;

	tmp_path(p, sizeof(p), "missing");
	expect_open_errno(p, ENOENT);
	expect_open_errno("/nonexistent/dir/libfoo.so", ENOENT);
	expect_open_errno(NULL, EINVAL);

	tmp_path(p, sizeof(p), "not-elf.txt");
	write_file(p, "#!/bin/sh\necho hello\n", 21);
	expect_open_errno(p, ENOEXEC);
	assert_false(elf_syms__is_elf_file(p));

	tmp_path(empty, sizeof(empty), "empty");
	write_file(empty, "", 0);
	expect_open_errno(empty, ENOEXEC);
	assert_false(elf_syms__is_elf_file(empty));

	/* the magic alone is not enough */
	tmp_path(p, sizeof(p), "magic-only");
	write_file(p, ELFMAG, SELFMAG);
	expect_open_errno(p, ENOEXEC);
	assert_true(elf_syms__is_elf_file(p));
	write_file(p, ELFMAG, SELFMAG - 1);
	assert_false(elf_syms__is_elf_file(p));

	/* a valid ELF header with no sections at all: nothing to resolve symbols from */
	memset(&eh, 0, sizeof(eh));
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_EXEC;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_shentsize = sizeof(Elf64_Shdr);
	tmp_path(noshdr, sizeof(noshdr), "no-sections.elf");
	write_file(noshdr, &eh, sizeof(eh));
	assert_true(elf_syms__is_elf_file(noshdr));
	expect_open_errno(noshdr, ENOEXEC);

	/* a stripped static executable has neither .symtab nor .dynsym */
	tmp_path(exe, sizeof(exe), "symtest-static");
	tmp_path(stat_out, sizeof(stat_out), "symtest-static-stripped");
	{
		struct lines l = run("${CC:-cc} -O1 -static tests/fixtures/symtest.c -o '%s' && "
				     "strip --strip-all -o '%s' '%s' && readelf -SW '%s'",
				     exe, stat_out, exe, stat_out);

		for (size_t i = 0; i < l.n; i++)
			assert_null(strstr(l.v[i], "SYMTAB"));
		lines_free(&l);
	}
	expect_open_errno(stat_out, ENOEXEC);
	assert_true(elf_syms__is_elf_file(stat_out));
	/* while the unstripped one has a .symtab and works */
	check_against_tools(exe);
	unlink(exe);
	unlink(stat_out);

	snprintf(dir, sizeof(dir), "%s", g_tmp);
	expect_open_errno(dir, EISDIR);
	assert_false(elf_syms__is_elf_file(dir));
	assert_false(elf_syms__is_elf_file("/nonexistent"));
	assert_false(elf_syms__is_elf_file(NULL));
	expect_open_errno("/dev/null", ENOEXEC);

	tmp_path(p, sizeof(p), "not-elf.txt");
	unlink(p);
	unlink(empty);
	tmp_path(p, sizeof(p), "magic-only");
	unlink(p);
	unlink(noshdr);
}

/* An unreadable file gives EACCES. Root reads anything, so as root the check runs in a child
 * that has dropped to an unprivileged uid. */
static void test_unreadable(void **state)
{
	(void)state;
	char lib[600], p[600];
	struct lines l;
	pid_t pid;
	int st;

	fixture(lib, sizeof(lib), "libsymtest.so");
	tmp_path(p, sizeof(p), "unreadable.so");
	l = run("cp '%s' '%s'", lib, p);
	lines_free(&l);
	assert_int_equal(chmod(p, 0), 0);
	assert_int_equal(chmod(g_tmp, 0755), 0);

	if (geteuid() != 0) {
		expect_open_errno(p, EACCES);
	} else {
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			struct elf_syms *s;

			if (setgid(65534) || setuid(65534))
				_exit(100);
			errno = 0;
			s = elf_syms__open(p);
			_exit(s ? 101 : errno);
		}
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), EACCES);
	}
	/* the magic check fails quietly on it too */
	if (geteuid() != 0)
		assert_false(elf_syms__is_elf_file(p));
	chmod(g_tmp, 0700);
	unlink(p);
}

static int count_prefix(const struct elf_syms *s, const char *prefix)
{
	int n = 0;

	for (size_t i = 0; i < elf_syms__count(s); i++)
		n += strncmp(elf_syms__get(s, i)->name, prefix, strlen(prefix)) == 0;
	return n;
}

static void test_glob_match(void **state)
{
	(void)state;
	char path[600];
	struct elf_syms *s;
	struct collect c = { .n = 0 };
	struct refs nm;
	int want = 0;

	fixture(path, sizeof(path), "symtest");
	s = elf_syms__open(path);
	assert_non_null(s);

	/* independent count from nm: text symbols named symtest_* */
	nm = nm_syms(path, false);
	for (size_t i = 0; i < nm.n; i++)
		want += strncmp(nm.v[i].name, "symtest_", 8) == 0 && strchr("Tt", nm.v[i].nm_type);
	refs_free(&nm);
#if defined(__x86_64__) || defined(__i386__)
	assert_int_equal(want, 7); /* add alias mul nop5 retry_step static_helper static_other */
#else
	assert_int_equal(want, 6);
#endif
	assert_int_equal(elf_syms__match(s, "symtest_*", collect_cb, &c), want);
	assert_int_equal(c.n, (size_t)want);
	for (size_t i = 0; i < c.n; i++) {
		assert_int_equal(strncmp(c.v[i]->name, "symtest_", 8), 0);
		if (i)
			assert_true(strcmp(c.v[i - 1]->name, c.v[i]->name) <= 0);
	}
	assert_int_equal(elf_syms__match(s, "symtest_static_*", NULL, NULL), 2);
	assert_int_equal(elf_syms__match(s, "symtest_[am]*", NULL, NULL), 3); /* add alias mul */
	assert_int_equal(elf_syms__match(s, "symtest_?ul", NULL, NULL), 1);
	assert_int_equal(elf_syms__match(s, "symtest_[!a]*", NULL, NULL), want - 2);
	assert_int_equal(elf_syms__match(s, "*", NULL, NULL), (int)elf_syms__count(s));
	assert_int_equal(elf_syms__match(s, "nothing_like_this_*", NULL, NULL), 0);
	assert_int_equal(elf_syms__match(s, "symtest", NULL, NULL), 0);
	assert_int_equal(count_prefix(s, "symtest_"), want);

	/* a negative callback return stops the walk and is returned */
	memset(&c, 0, sizeof(c));
	c.stop_after = 2;
	assert_int_equal(elf_syms__match(s, "symtest_*", collect_cb, &c), -ECANCELED);
	assert_int_equal(c.n, 2);

	/* bad patterns and arguments */
	assert_int_equal(elf_syms__match(s, "symtest_[", NULL, NULL), -EINVAL);
	assert_int_equal(elf_syms__match(s, "", NULL, NULL), -EINVAL);
	assert_int_equal(elf_syms__match(s, NULL, NULL, NULL), -EINVAL);
	assert_int_equal(elf_syms__match(NULL, "x", NULL, NULL), -EINVAL);
	elf_syms__free(s);
}

static int count_exact(const struct elf_syms *s, const char *name)
{
	int n = 0;

	for (size_t i = 0; i < elf_syms__count(s); i++)
		n += strcmp(elf_syms__get(s, i)->name, name) == 0;
	return n;
}

/* Literal patterns take the binary-search path: for every name in a large table, the result
 * must be exactly the run of entries with that name, and absent names (before the first, after
 * the last, between neighbours) must find nothing. */
static void check_literal_lookups(const char *path)
{
	struct elf_syms *s = elf_syms__open(path);
	size_t n, i = 0;

	assert_non_null(s);
	n = elf_syms__count(s);
	assert_true(n > 0);
	while (i < n) {
		const char *name = elf_syms__get(s, i)->name;
		struct collect c = { .n = 0 };
		size_t j = i;
		char probe[1100];

		while (j < n && strcmp(elf_syms__get(s, j)->name, name) == 0)
			j++;
		if (strpbrk(name, "*?[\\")) {
			i = j;
			continue;
		}
		assert_true(j - i <= 64);
		assert_int_equal(elf_syms__match(s, name, collect_cb, &c), (int)(j - i));
		for (size_t k = 0; k < c.n; k++)
			assert_ptr_equal(c.v[k], elf_syms__get(s, i + k));
		/* just after this name in sort order, and a strict prefix of it */
		snprintf(probe, sizeof(probe), "%s\x01", name);
		assert_int_equal(elf_syms__match(s, probe, NULL, NULL), 0);
		if (strlen(name) > 1) {
			snprintf(probe, sizeof(probe), "%.*s", (int)strlen(name) - 1, name);
			assert_int_equal(elf_syms__match(s, probe, NULL, NULL),
					 count_exact(s, probe));
		}
		i = j;
	}
	assert_int_equal(elf_syms__match(s, "\x01", NULL, NULL), 0);
	assert_int_equal(elf_syms__match(s, "\x7f\x7f", NULL, NULL), 0);
	elf_syms__free(s);
}

static void test_literal_fast_path(void **state)
{
	(void)state;
	char path[600];

	fixture(path, sizeof(path), "symtest");
	check_literal_lookups(path);
	fixture(path, sizeof(path), "libsymtest.so");
	check_literal_lookups(path);
	check_literal_lookups(LIBC_PATH);
}

/* A real system library: malloc is where nm -D says, at the offset its program headers give. */
static void test_libc(void **state)
{
	(void)state;
	struct refs nm = nm_syms(LIBC_PATH, true);
	struct loads ld = read_loads(LIBC_PATH);
	const struct ref_sym *want = NULL;
	const struct elf_sym *e;
	struct elf_syms *s;
	uint64_t off;

	for (size_t i = 0; i < nm.n; i++) {
		if (strcmp(nm.v[i].name, "malloc") == 0) {
			assert_null(want);
			want = &nm.v[i];
		}
	}
	assert_non_null(want);
	s = elf_syms__open(LIBC_PATH);
	assert_non_null(s);
	assert_true(elf_syms__count(s) > 1000);
	e = find1(s, "malloc");
	assert_true(e->from_dynsym);
	assert_int_equal(e->addr, want->addr);
	assert_true(expected_offset(&ld, want->addr, &off));
	assert_int_equal(e->offset, off);
	assert_true(e->size > 0);
	check_bytes(LIBC_PATH, e);
	/* versioned exports are plain names */
	assert_int_equal(elf_syms__match(s, "*@*", NULL, NULL), 0);
	assert_true(elf_syms__match(s, "pthread_mutex_*lock", NULL, NULL) >= 2);
	elf_syms__free(s);
	refs_free(&nm);

	/* and every other function in it agrees with readelf and nm */
	assert_true(check_against_tools(LIBC_PATH) > 1000);
}

static void test_null_safety(void **state)
{
	(void)state;
	char path[600];
	struct elf_syms *s;

	elf_syms__free(NULL);
	assert_int_equal(elf_syms__count(NULL), 0);
	assert_null(elf_syms__get(NULL, 0));
	assert_null(elf_syms__path(NULL));
	fixture(path, sizeof(path), "symtest");
	s = elf_syms__open(path);
	assert_non_null(s);
	assert_null(elf_syms__get(s, elf_syms__count(s)));
	assert_non_null(elf_syms__get(s, elf_syms__count(s) - 1));
	assert_true(elf_syms__is_elf_file(path));
	elf_syms__free(s);
}

/* A stripped library's separate debug file (objcopy --only-keep-debug): found by build-id
 * under a debug directory and by .gnu_debuglink (CRC-32 checked), its .symtab read with the
 * stripped file's offsets and code, so every symbol matches the unstripped file's. */
static void test_debug_file(void **state)
{
	(void)state;
	char lib[600], dir[600], dbg[700], out[700], ids[600], bad[700];
	struct elf_syms *ref, *s;
	const struct elf_sym *a, *b;
	uint32_t crc = 0;
	char id[200] = "";

	fixture(lib, sizeof(lib), "libsymtest.so");
	tmp_path(dir, sizeof(dir), "dbg");
	tmp_path(ids, sizeof(ids), "ids");
	snprintf(dbg, sizeof(dbg), "%s/keep.debug", dir);
	snprintf(out, sizeof(out), "%s/lib/libsymtest.so", dir);
	{
		struct lines l = run("mkdir -p '%s/lib' && objcopy --only-keep-debug '%s' '%s' && "
				     "objcopy --strip-all --add-gnu-debuglink='%s' '%s' '%s' && "
				     "readelf -n '%s' | sed -n 's/.*Build ID: *//p'",
				     dir, lib, dbg, dbg, lib, out, out);

		assert_int_equal(l.n, 1);
		snprintf(id, sizeof(id), "%s", l.v[0]);
		lines_free(&l);
	}
	assert_true(strlen(id) >= 16);
	ref = elf_syms__open(lib);
	assert_non_null(ref);
	assert_true(elf_syms__has_symtab(ref));

	/* the file's own view: no .symtab, but its build-id and debuglink */
	elf_syms__clear_debug_dirs();
	s = elf_syms__open(out);
	assert_non_null(s);
	assert_false(elf_syms__has_symtab(s));
	assert_string_equal(elf_syms__build_id(s), id);
	assert_string_equal(elf_syms__debuglink(s, &crc), "keep.debug");
	assert_int_equal(elf_syms__match(s, "libsymtest_static", NULL, NULL), 0);
	assert_null(elf_syms__debug_missing(s)); /* no lookup asked */
	elf_syms__free(s);

	/* looked up, absent: what was looked for */
	s = elf_syms__open_in(out, "", out);
	assert_non_null(s);
	assert_null(elf_syms__debug_file(s));
	assert_non_null(elf_syms__debug_missing(s));
	assert_non_null(strstr(elf_syms__debug_missing(s), id));
	assert_non_null(strstr(elf_syms__debug_missing(s), ".gnu_debuglink keep.debug"));
	elf_syms__free(s);

	/* by build-id in a debug directory */
	{
		struct lines l = run("mkdir -p '%s/.build-id/%.2s' && cp '%s' '%s/.build-id/%.2s/%s.debug'",
				     ids, id, dbg, ids, id, id + 2);

		lines_free(&l);
	}
	assert_int_equal(elf_syms__add_debug_dir(ids), 0);
	s = elf_syms__open_in(out, "", out);
	assert_non_null(s);
	assert_non_null(elf_syms__debug_file(s));
	assert_non_null(strstr(elf_syms__debug_file(s), "/.build-id/"));
	assert_int_equal(elf_syms__count(s), elf_syms__count(ref));
	for (size_t i = 0; i < elf_syms__count(ref); i++) {
		a = elf_syms__get(ref, i);
		b = elf_syms__get(s, i);
		assert_string_equal(a->name, b->name);
		assert_int_equal(a->addr, b->addr);
		assert_int_equal(a->offset, b->offset);
		assert_int_equal(a->size, b->size);
		assert_int_equal(a->nop5, b->nop5);
		assert_int_equal(a->site_delta, b->site_delta);
	}
	assert_int_equal(elf_syms__match(s, "libsymtest_static", NULL, NULL), 1);
	elf_syms__free(s);
	elf_syms__clear_debug_dirs();

	/* by .gnu_debuglink next to the file; a file of that name with another CRC-32 is not it */
	snprintf(bad, sizeof(bad), "%s/lib/keep.debug", dir);
	{
		struct lines l = run("cp '%s' '%s'", lib, bad);

		lines_free(&l);
	}
	s = elf_syms__open_in(out, "", out);
	assert_non_null(s);
	assert_null(elf_syms__debug_file(s));
	assert_non_null(strstr(elf_syms__debug_missing(s), "another CRC-32"));
	elf_syms__free(s);
	{
		struct lines l = run("cp '%s' '%s'", dbg, bad);

		lines_free(&l);
	}
	s = elf_syms__open_in(out, "", out);
	assert_non_null(s);
	assert_string_equal(elf_syms__debug_file(s), bad);
	assert_int_equal(elf_syms__match(s, "libsymtest_static", NULL, NULL), 1);
	assert_int_equal(elf_syms__count(s), elf_syms__count(ref));
	elf_syms__free(s);
	elf_syms__free(ref);
}

static int setup(void **state)
{
	const char *b = getenv("TT_BUILD_DIR");
	const char *t = getenv("TMPDIR");

	(void)state;
	snprintf(g_build, sizeof(g_build), "%s", b && *b ? b : "build");
	snprintf(g_tmp, sizeof(g_tmp), "%s/tt-elfsyms-XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(g_tmp)) {
		fprintf(stderr, "mkdtemp %s: %s\n", g_tmp, strerror(errno));
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	char cmd[700];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_tmp);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_executable),
		cmocka_unit_test(test_shared_library),
		cmocka_unit_test(test_non_pie_executable),
		cmocka_unit_test(test_stripped),
		cmocka_unit_test(test_versioned_symbols),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_unreadable),
		cmocka_unit_test(test_glob_match),
		cmocka_unit_test(test_literal_fast_path),
		cmocka_unit_test(test_libc),
		cmocka_unit_test(test_null_safety),
		cmocka_unit_test(test_debug_file),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
