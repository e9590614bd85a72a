/* Function symbols of one ELF file (.symtab and .dynsym merged) and the file offsets that
 * uprobes attach at, which is what the attach layer resolves catalogue globs against. */
#include "elfsyms.h"
#include "glob.h"
#include "insn.h"
#include "placement.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

struct elf_syms {
	bool cxx;
	bool has_symtab; /* the file's own .symtab (or its debug file's) was read */
	char *path;
	char *debug_file; /* the separate debug file whose .symtab was read, or NULL */
	char *debug_missing; /* stripped and no debug file: what was looked for, or NULL */
	char build_id[2 * ELF_SYMS_BUILD_ID_MAX + 1]; /* hex, "" if none */
	char debuglink[256]; /* .gnu_debuglink's file name, "" if none */
	uint32_t debuglink_crc;
	struct elf_sym *syms;
	size_t n;
	char *names; /* every name, NUL-separated; syms[i].name points in here */
};

/* While loading, names are pool offsets because the pool moves as it grows. */
struct raw_sym {
	size_t name_off;
	struct elf_sym sym;
};

struct loader {
	struct raw_sym *raw;
	size_t n, cap;
	char *pool;
	size_t pool_len, pool_cap;
	GElf_Phdr *loads;
	size_t n_loads;
	const unsigned char *image; /* the whole file, if libelf has it mapped */
	size_t image_len;
	int fd;
	bool x86_64; /* e_machine: probe placement and classes are x86-64's */
	bool cxx; /* C++ code: mangled names, the C++ personality or __cxa_throw */
	bool has_symtab; /* a .symtab with symbols was read */
	const struct debug_where *where; /* where to look for a debug file; NULL: nowhere */
	struct elf_syms *syms; /* being built: the debug lookup records into it */
};

/* Where a file's separate debug file is looked for: the target's root directory
 * ("" for /) and the file's path as the target sees it (for .gnu_debuglink). */
struct debug_where {
	const char *root;
	const char *ns_path;
};

static const unsigned char NOP5[5] = { 0x0f, 0x1f, 0x44, 0x00, 0x00 };

static int file_offset(const struct loader *ld, uint64_t vaddr, uint64_t *off)
{
	for (size_t i = 0; i < ld->n_loads; i++) {
		const GElf_Phdr *ph = &ld->loads[i];

		/* p_filesz, not p_memsz: an address in the zero-filled tail has no file bytes */
		if (vaddr >= ph->p_vaddr && vaddr - ph->p_vaddr < ph->p_filesz) {
			*off = vaddr - ph->p_vaddr + ph->p_offset;
			return 0;
		}
	}
	return -ENOENT;
}

static bool read_nop5(const struct loader *ld, uint64_t off)
{
	unsigned char buf[sizeof(NOP5)];

	if (ld->image) {
		if (off > ld->image_len || ld->image_len - off < sizeof(buf))
			return false;
		return memcmp(ld->image + off, NOP5, sizeof(NOP5)) == 0;
	}
	if (pread(ld->fd, buf, sizeof(buf), (off_t)off) != (ssize_t)sizeof(buf))
		return false;
	return memcmp(buf, NOP5, sizeof(NOP5)) == 0;
}

static int add_sym(struct loader *ld, const char *name, size_t len, const GElf_Sym *s,
		   uint64_t off, bool dynsym)
{
	struct raw_sym *r;

	if (ld->n == ld->cap) {
		size_t cap = ld->cap ? ld->cap * 2 : 256;
		struct raw_sym *p = realloc(ld->raw, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		ld->raw = p;
		ld->cap = cap;
	}
	if (ld->pool_cap - ld->pool_len < len + 1) {
		size_t cap = ld->pool_cap ? ld->pool_cap : 4096;
		char *p;

		while (cap - ld->pool_len < len + 1)
			cap *= 2;
		p = realloc(ld->pool, cap);
		if (!p)
			return -ENOMEM;
		ld->pool = p;
		ld->pool_cap = cap;
	}
	r = &ld->raw[ld->n++];
	memset(r, 0, sizeof(*r));
	r->name_off = ld->pool_len;
	memcpy(ld->pool + ld->pool_len, name, len);
	ld->pool[ld->pool_len + len] = '\0';
	ld->pool_len += len + 1;
	r->sym.addr = s->st_value;
	r->sym.offset = off;
	r->sym.size = s->st_size;
	r->sym.nop5 = read_nop5(ld, off);
	r->sym.from_dynsym = dynsym;
	r->sym.from_symtab = !dynsym;
	return 0;
}

static int load_table(struct loader *ld, Elf *elf, Elf_Scn *scn, const GElf_Shdr *sh)
{
	bool dynsym = sh->sh_type == SHT_DYNSYM;
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t count;

	/* a truncated or SHT_NOBITS table (separate debug files) has nothing to offer */
	if (!data || !data->d_buf || sh->sh_entsize == 0)
		return 0;
	count = data->d_size / sh->sh_entsize;
	if (!dynsym && count > 1)
		ld->has_symtab = true;
	for (size_t i = 1; i < count; i++) {
		GElf_Sym s;
		const char *name;
		uint64_t off;
		int type, err;

		if (!gelf_getsym(data, (int)i, &s))
			continue;
		if (!ld->cxx && s.st_name) {
			/* defined or imported: a file with C++ frames names its personality
			 * routine, throws through __cxa_throw, or calls mangled functions */
			const char *nm = elf_strptr(elf, sh->sh_link, s.st_name);

			if (nm && (!strncmp(nm, "_Z", 2) || !strncmp(nm, "__gxx_personality", 17) ||
				   !strncmp(nm, "__cxa_throw", 11)))
				ld->cxx = true;
		}
		type = GELF_ST_TYPE(s.st_info);
		if (type != STT_FUNC && type != STT_GNU_IFUNC)
			continue;
		if (s.st_shndx == SHN_UNDEF || s.st_value == 0)
			continue;
		name = elf_strptr(elf, sh->sh_link, s.st_name);
		if (!name)
			continue;
		/* "memcpy@@GLIBC_2.14" in .symtab: callers match on the bare name */
		size_t len = strcspn(name, "@");
		if (len == 0)
			continue;
		if (file_offset(ld, s.st_value, &off))
			continue;
		err = add_sym(ld, name, len, &s, off, dynsym);
		if (err)
			return err;
	}
	return 0;
}

static int sym_cmp(const void *a, const void *b)
{
	const struct elf_sym *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int addr_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The file's bytes of one function, clipped to its segment; NULL if none. buf is used
 * when libelf has not mapped the file. */
static const uint8_t *code_of(const struct loader *ld, const struct elf_sym *s, uint8_t *buf,
			      size_t cap, size_t *len)
{
	size_t n = s->size ? s->size : PLACEMENT_MAX_SCAN;

	for (size_t i = 0; i < ld->n_loads; i++) {
		const GElf_Phdr *ph = &ld->loads[i];

		if (s->addr >= ph->p_vaddr && s->addr - ph->p_vaddr < ph->p_filesz) {
			uint64_t left = ph->p_filesz - (s->addr - ph->p_vaddr);

			if (n > left)
				n = left;
			break;
		}
	}
	if (ld->image) {
		if (s->offset >= ld->image_len)
			return NULL;
		if (n > ld->image_len - s->offset)
			n = ld->image_len - s->offset;
		*len = n;
		return ld->image + s->offset;
	}
	if (n > cap)
		n = cap;
	ssize_t r = pread(ld->fd, buf, n, (off_t)s->offset);

	if (r <= 0)
		return NULL;
	*len = (size_t)r;
	return buf;
}

/* Chooses every function's probe site (placement.h). A site that another symbol's
 * address precedes or equals would be reached by calls to that symbol too: such
 * functions keep their entry. */
static int place_all(const struct loader *ld, struct elf_syms *syms)
{
	uint64_t *addrs;
	uint8_t *buf = NULL;
	const size_t cap = 1 << 20;
	int err = 0;

	if (!ld->x86_64 || !syms->n)
		return 0;
	addrs = malloc(syms->n * sizeof(*addrs));
	if (!ld->image)
		buf = malloc(cap);
	if (!addrs || (!ld->image && !buf)) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < syms->n; i++)
		addrs[i] = syms->syms[i].addr;
	qsort(addrs, syms->n, sizeof(*addrs), addr_cmp);
	for (size_t i = 0; i < syms->n; i++) {
		struct elf_sym *s = &syms->syms[i];
		struct placement pl;
		const uint8_t *code;
		size_t len = 0;

		code = code_of(ld, s, buf, cap, &len);
		if (!code)
			continue;
		/* the page offset of a file offset and of its address agree in a loadable
		 * segment, and that is all the nop5 rule looks at */
		placement__choose(code, len, s->offset, &pl);
		s->classified = true;
		s->entry_class = pl.entry_class;
		s->site_class = pl.site_class;
		if (pl.delta) {
			/* the first address after the entry: another symbol at or before the
			 * site is a second way in */
			size_t lo = 0, hi = syms->n;

			while (lo < hi) {
				size_t mid = lo + (hi - lo) / 2;

				if (addrs[mid] <= s->addr)
					lo = mid + 1;
				else
					hi = mid;
			}
			if (lo < syms->n && addrs[lo] <= s->addr + pl.delta) {
				s->site_class = pl.entry_class;
				continue;
			}
			s->site_delta = pl.delta;
		}
	}
cleanup:
	free(buf);
	free(addrs);
	return err;
}

/* Turns the loader's raw entries into the sorted, merged table of syms. */
static int finish(struct loader *ld, struct elf_syms *syms)
{
	struct elf_sym *out;
	size_t n = 0;

	out = calloc(ld->n ? ld->n : 1, sizeof(*out));
	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < ld->n; i++) {
		out[i] = ld->raw[i].sym;
		out[i].name = ld->pool + ld->raw[i].name_off;
	}
	qsort(out, ld->n, sizeof(*out), sym_cmp);
	for (size_t i = 0; i < ld->n; i++) {
		if (n && sym_cmp(&out[n - 1], &out[i]) == 0) {
			struct elf_sym *prev = &out[n - 1];

			prev->from_dynsym |= out[i].from_dynsym;
			prev->from_symtab |= out[i].from_symtab;
			if (out[i].size > prev->size)
				prev->size = out[i].size;
			continue;
		}
		out[n++] = out[i];
	}
	syms->syms = out;
	syms->n = n;
	syms->names = ld->pool;
	ld->pool = NULL;
	return 0;
}

/* --- separate debug files ------------------------------------------------------ */

/* Directories searched first (--debug-dir, TTATRACE_DEBUG_DIRS), as build-id trees
 * (DIR/.build-id/xx/yyyy.debug) and for .gnu_debuglink names (DIR/NAME,
 * DIR/<the file's directory>/NAME). */
static char **debug_dirs;
static size_t n_debug_dirs;
static bool debug_env_read;

int elf_syms__add_debug_dir(const char *dir)
{
	char **v, *d;

	if (!dir || !*dir)
		return -EINVAL;
	d = strdup(dir);
	v = d ? realloc(debug_dirs, (n_debug_dirs + 1) * sizeof(*v)) : NULL;
	if (!v) {
		free(d);
		return -ENOMEM;
	}
	debug_dirs = v;
	debug_dirs[n_debug_dirs++] = d;
	return 0;
}

void elf_syms__clear_debug_dirs(void)
{
	for (size_t i = 0; i < n_debug_dirs; i++)
		free(debug_dirs[i]);
	free(debug_dirs);
	debug_dirs = NULL;
	n_debug_dirs = 0;
	debug_env_read = true; /* cleared on purpose: the environment's stay out */
}

static void debug_env(void)
{
	const char *env = getenv("TTATRACE_DEBUG_DIRS");
	char *copy, *save = NULL, *d;

	if (debug_env_read)
		return;
	debug_env_read = true;
	if (!env || !*env || !(copy = strdup(env)))
		return;
	for (d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save))
		elf_syms__add_debug_dir(d);
	free(copy);
}

/* The NT_GNU_BUILD_ID of ELF as lowercase hex into out (2 * ELF_SYMS_BUILD_ID_MAX + 1
 * bytes), "" if it has none. */
static void read_build_id(Elf *elf, char *out)
{
	Elf_Scn *scn = NULL;

	out[0] = '\0';
	while ((scn = elf_nextscn(elf, scn))) {
		Elf_Data *data;
		GElf_Shdr sh;
		GElf_Nhdr nh;
		size_t off = 0, next, name_off, desc_off;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data || !data->d_buf)
			continue;
		while (off < data->d_size &&
		       (next = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > off) {
			const unsigned char *p = data->d_buf;

			if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
			    !memcmp(p + name_off, "GNU", 4) && nh.n_descsz > 0 &&
			    nh.n_descsz <= ELF_SYMS_BUILD_ID_MAX) {
				for (size_t i = 0; i < nh.n_descsz; i++)
					snprintf(out + 2 * i, 3, "%02x", p[desc_off + i]);
				return;
			}
			off = next;
		}
	}
}

/* .gnu_debuglink: a file name (no directory), NUL, padding to 4, the CRC-32 of
 * the debug file in the file's byte order. */
static void read_debuglink(Elf *elf, struct elf_syms *syms)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	GElf_Ehdr eh;

	if (elf_getshdrstrndx(elf, &shstrndx) || !gelf_getehdr(elf, &eh))
		return;
	while ((scn = elf_nextscn(elf, scn))) {
		const unsigned char *p;
		const char *nm;
		Elf_Data *data;
		size_t len, crc_off;
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS)
			continue;
		nm = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!nm || strcmp(nm, ".gnu_debuglink"))
			continue;
		data = elf_getdata(scn, NULL);
		if (!data || !data->d_buf)
			return;
		p = data->d_buf;
		len = strnlen((const char *)p, data->d_size);
		crc_off = (len + 1 + 3) & ~(size_t)3;
		if (len == 0 || len >= sizeof(syms->debuglink) || crc_off + 4 > data->d_size ||
		    memchr(p, '/', len) || !strcmp((const char *)p, ".") || !strcmp((const char *)p, ".."))
			return;
		memcpy(syms->debuglink, p, len);
		syms->debuglink[len] = '\0';
		if (eh.e_ident[EI_DATA] == ELFDATA2MSB)
			syms->debuglink_crc = (uint32_t)p[crc_off] << 24 | (uint32_t)p[crc_off + 1] << 16 |
					      (uint32_t)p[crc_off + 2] << 8 | p[crc_off + 3];
		else
			syms->debuglink_crc = (uint32_t)p[crc_off + 3] << 24 |
					      (uint32_t)p[crc_off + 2] << 16 |
					      (uint32_t)p[crc_off + 1] << 8 | p[crc_off];
		return;
	}
}

static int file_crc32(int fd, uint32_t *out)
{
	unsigned char buf[1 << 16];
	uLong crc = crc32(0L, Z_NULL, 0);
	off_t at = 0;
	ssize_t n;

	while ((n = pread(fd, buf, sizeof(buf), at)) > 0) {
		crc = crc32(crc, buf, (uInt)n);
		at += n;
	}
	if (n < 0)
		return -errno;
	*out = (uint32_t)crc;
	return 0;
}

struct debug_file {
	int fd;
	Elf *elf;
	char path[PATH_MAX];
	char note[PATH_MAX + 64]; /* a candidate that was found but did not match */
};

static bool has_symtab_data(Elf *elf)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;

		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_SYMTAB && sh.sh_entsize &&
		    sh.sh_size / sh.sh_entsize > 1)
			return true;
	}
	return false;
}

/* Opens one candidate into df if it is the debug file of syms: the same build-id
 * (by_id), or the debuglink's CRC-32 (and no other build-id), and a .symtab. */
static bool try_debug(struct debug_file *df, const struct elf_syms *syms, const struct stat *self,
		      bool by_id, const char *fmt, ...)
{
	char path[PATH_MAX], id[2 * ELF_SYMS_BUILD_ID_MAX + 1];
	struct stat st;
	va_list ap;
	Elf *elf;
	int fd, n;

	va_start(ap, fmt);
	n = vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(path))
		return false;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) ||
	    (self && st.st_dev == self->st_dev && st.st_ino == self->st_ino)) {
		close(fd);
		return false;
	}
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		snprintf(df->note, sizeof(df->note), "%s is not ELF", path);
		goto reject;
	}
	read_build_id(elf, id);
	if ((by_id || (id[0] && syms->build_id[0])) && strcmp(id, syms->build_id)) {
		snprintf(df->note, sizeof(df->note), "%s has another build-id", path);
		goto reject;
	}
	if (!by_id) {
		uint32_t crc = 0;

		if (file_crc32(fd, &crc) || crc != syms->debuglink_crc) {
			snprintf(df->note, sizeof(df->note), "%s has another CRC-32", path);
			goto reject;
		}
	}
	if (!has_symtab_data(elf)) {
		snprintf(df->note, sizeof(df->note), "%s has no .symtab", path);
		goto reject;
	}
	df->fd = fd;
	df->elf = elf;
	snprintf(df->path, sizeof(df->path), "%s", path);
	return true;
reject:
	elf_end(elf);
	close(fd);
	return false;
}

/* Looks for the separate debug file of a file without .symtab, as gdb does: by
 * build-id in the debug directories, then by .gnu_debuglink next to the file, in
 * its .debug/ and under /usr/lib/debug, all in the target's root (a container's),
 * then the host's by build-id. */
static bool find_debug(struct debug_file *df, const struct elf_syms *syms,
		       const struct debug_where *w, const struct stat *self)
{
	const char *root = w->root ? w->root : "", *id = syms->build_id, *link = syms->debuglink;
	char dir[PATH_MAX];
	const char *slash = w->ns_path ? strrchr(w->ns_path, '/') : NULL;

	debug_env();
	if (id[0]) {
		for (size_t i = 0; i < n_debug_dirs; i++)
			if (try_debug(df, syms, self, true, "%s/.build-id/%.2s/%s.debug", debug_dirs[i], id,
				      id + 2))
				return true;
		if (try_debug(df, syms, self, true, "%s/usr/lib/debug/.build-id/%.2s/%s.debug", root, id,
			      id + 2))
			return true;
		if (root[0] && try_debug(df, syms, self, true, "/usr/lib/debug/.build-id/%.2s/%s.debug",
					 id, id + 2))
			return true;
	}
	if (!link[0])
		return false;
	/* the file's directory as the target sees it ("" for /) */
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - w->ns_path) : 0,
		 slash ? w->ns_path : "");
	for (size_t i = 0; i < n_debug_dirs; i++)
		if (try_debug(df, syms, self, false, "%s/%s", debug_dirs[i], link) ||
		    try_debug(df, syms, self, false, "%s%s/%s", debug_dirs[i], dir, link))
			return true;
	if (!slash)
		return false;
	return try_debug(df, syms, self, false, "%s%s/%s", root, dir, link) ||
	       try_debug(df, syms, self, false, "%s%s/.debug/%s", root, dir, link) ||
	       try_debug(df, syms, self, false, "%s/usr/lib/debug%s/%s", root, dir, link) ||
	       (root[0] && try_debug(df, syms, self, false, "/usr/lib/debug%s/%s", dir, link));
}

/* A file without .symtab: the .symtab of its debug file, whose addresses are the
 * file's (same layout; the code bytes are read from the file itself). */
static int load_debug(struct loader *ld, struct elf_syms *syms)
{
	struct debug_file df = { .fd = -1 };
	struct stat self, *sp = NULL;
	Elf_Scn *scn = NULL;
	int err = 0;

	if (ld->fd >= 0 && !fstat(ld->fd, &self))
		sp = &self;
	if (!find_debug(&df, syms, ld->where, sp)) {
		char msg[PATH_MAX + 512];
		int n;

		n = snprintf(msg, sizeof(msg), "no debug file found");
		if (syms->build_id[0])
			n += snprintf(msg + n, sizeof(msg) - n, " for build-id %s (%s/usr/lib/debug/.build-id/%.2s/%s.debug)",
				      syms->build_id, ld->where->root ? ld->where->root : "",
				      syms->build_id, syms->build_id + 2);
		if (syms->debuglink[0] && n > 0 && (size_t)n < sizeof(msg))
			n += snprintf(msg + n, sizeof(msg) - n, "%s by .gnu_debuglink %s",
				      syms->build_id[0] ? " nor" : "", syms->debuglink);
		if (!syms->build_id[0] && !syms->debuglink[0] && n > 0 && (size_t)n < sizeof(msg))
			n += snprintf(msg + n, sizeof(msg) - n, " (the file has neither a build-id nor a .gnu_debuglink)");
		if (df.note[0] && n > 0 && (size_t)n < sizeof(msg))
			snprintf(msg + n, sizeof(msg) - n, "; %s", df.note);
		syms->debug_missing = strdup(msg);
		return syms->debug_missing ? 0 : -ENOMEM;
	}
	while ((scn = elf_nextscn(df.elf, scn))) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB)
			continue;
		err = load_table(ld, df.elf, scn, &sh);
		if (err)
			break;
	}
	if (!err && !(syms->debug_file = strdup(df.path)))
		err = -ENOMEM;
	elf_end(df.elf);
	close(df.fd);
	return err;
}

/* The tables of ELF into a new elf_syms named PATH; LD's fd set by the caller
 * (-1 for an image in memory). */
static struct elf_syms *load_elf(struct loader *ld, Elf *elf, const char *path)
{
	struct elf_syms *syms = NULL;
	Elf_Scn *scn = NULL;
	bool have_table = false;
	size_t phnum;
	int err = 0;

	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		err = -ENOEXEC;
		goto cleanup;
	}
	if (elf_getphdrnum(elf, &phnum)) {
		err = -ENOEXEC;
		goto cleanup;
	}
	syms = calloc(1, sizeof(*syms));
	ld->loads = calloc(phnum ? phnum : 1, sizeof(*ld->loads));
	if (!ld->loads || !syms) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD)
			ld->loads[ld->n_loads++] = ph;
	}
	ld->image = (const unsigned char *)elf_rawfile(elf, &ld->image_len);
	{
		GElf_Ehdr eh;

		ld->x86_64 = gelf_getehdr(elf, &eh) && eh.e_machine == EM_X86_64;
	}

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM)
			continue;
		have_table = true;
		err = load_table(ld, elf, scn, &sh);
		if (err)
			goto cleanup;
	}
	read_build_id(elf, syms->build_id);
	read_debuglink(elf, syms);
	syms->has_symtab = ld->has_symtab;
	if (!ld->has_symtab && ld->where) {
		err = load_debug(ld, syms);
		if (err)
			goto cleanup;
		have_table |= syms->debug_file != NULL;
	}
	if (!have_table) {
		err = -ENOEXEC;
		goto cleanup;
	}
	syms->path = strdup(path);
	if (!syms->path) {
		err = -ENOMEM;
		goto cleanup;
	}
	err = finish(ld, syms);
	if (!err)
		err = place_all(ld, syms);
	if (!err)
		syms->cxx = ld->cxx;

cleanup:
	free(ld->raw);
	free(ld->pool);
	free(ld->loads);
	if (err) {
		elf_syms__free(syms);
		errno = -err;
		return NULL;
	}
	return syms;
}

struct elf_syms *elf_syms__open_in(const char *path, const char *root, const char *ns_path)
{
	struct debug_where w = { .root = root, .ns_path = ns_path ? ns_path : path };
	struct loader ld = { .fd = -1, .where = &w };
	struct elf_syms *syms = NULL;
	Elf *elf = NULL;
	struct stat st;
	int err = 0;

	if (!path || !*path) {
		errno = EINVAL;
		return NULL;
	}
	ld.fd = open(path, O_RDONLY | O_CLOEXEC);
	if (ld.fd < 0) {
		err = -errno;
		goto cleanup;
	}
	if (fstat(ld.fd, &st)) {
		err = -errno;
		goto cleanup;
	}
	if (S_ISDIR(st.st_mode)) {
		err = -EISDIR;
		goto cleanup;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -ENOEXEC;
		goto cleanup;
	}
	if (elf_version(EV_CURRENT) == EV_NONE) {
		err = -ENOTSUP;
		goto cleanup;
	}
	elf = elf_begin(ld.fd, ELF_C_READ_MMAP, NULL);
	if (!root)
		ld.where = NULL;
	syms = load_elf(&ld, elf, path);
	if (!syms)
		err = -errno;

cleanup:
	elf_end(elf);
	if (ld.fd >= 0)
		close(ld.fd);
	if (err) {
		errno = -err;
		return NULL;
	}
	return syms;
}

struct elf_syms *elf_syms__open(const char *path)
{
	return elf_syms__open_in(path, NULL, NULL);
}

struct elf_syms *elf_syms__open_mem(const void *image, size_t len, const char *name)
{
	struct loader ld = { .fd = -1 };
	struct elf_syms *syms;
	Elf *elf;
	int err;

	if (!image || !name) {
		errno = EINVAL;
		return NULL;
	}
	if (elf_version(EV_CURRENT) == EV_NONE) {
		errno = ENOTSUP;
		return NULL;
	}
	/* libelf reads the image in place; it never writes to an ELF_C_READ one */
	elf = elf_memory((char *)image, len);
	syms = load_elf(&ld, elf, name);
	err = errno;
	elf_end(elf);
	errno = err;
	return syms;
}

void elf_syms__free(struct elf_syms *syms)
{
	if (!syms)
		return;
	free(syms->syms);
	free(syms->names);
	free(syms->path);
	free(syms->debug_file);
	free(syms->debug_missing);
	free(syms);
}

size_t elf_syms__count(const struct elf_syms *syms)
{
	return syms ? syms->n : 0;
}

const struct elf_sym *elf_syms__get(const struct elf_syms *syms, size_t i)
{
	if (!syms || i >= syms->n)
		return NULL;
	return &syms->syms[i];
}

bool elf_syms__is_cxx(const struct elf_syms *syms)
{
	return syms && syms->cxx;
}

const char *elf_syms__path(const struct elf_syms *syms)
{
	return syms ? syms->path : NULL;
}

const char *elf_syms__debug_file(const struct elf_syms *syms)
{
	return syms ? syms->debug_file : NULL;
}

const char *elf_syms__debug_missing(const struct elf_syms *syms)
{
	return syms ? syms->debug_missing : NULL;
}

const char *elf_syms__build_id(const struct elf_syms *syms)
{
	return syms ? syms->build_id : "";
}

const char *elf_syms__debuglink(const struct elf_syms *syms, uint32_t *crc)
{
	if (crc)
		*crc = syms ? syms->debuglink_crc : 0;
	return syms ? syms->debuglink : "";
}

bool elf_syms__has_symtab(const struct elf_syms *syms)
{
	return syms && syms->has_symtab;
}

/* Index of the first symbol whose name is >= name. */
static size_t lower_bound(const struct elf_syms *syms, const char *name)
{
	size_t lo = 0, hi = syms->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(syms->syms[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int elf_syms__match(const struct elf_syms *syms, const char *glob,
		    int (*cb)(const struct elf_sym *sym, void *ctx), void *ctx)
{
	bool literal;
	size_t i, end;
	int err, cnt = 0;

	if (!syms)
		return -EINVAL;
	err = glob_validate(glob);
	if (err)
		return err;
	literal = glob_is_literal(glob);
	i = literal ? lower_bound(syms, glob) : 0;
	end = syms->n;
	for (; i < end; i++) {
		const struct elf_sym *s = &syms->syms[i];

		if (literal) {
			if (strcmp(s->name, glob) != 0)
				break;
		} else if (!glob_match(glob, s->name)) {
			continue;
		}
		if (cb) {
			err = cb(s, ctx);
			if (err < 0)
				return err;
		}
		cnt++;
	}
	return cnt;
}

bool elf_syms__is_elf_file(const char *path)
{
	unsigned char magic[SELFMAG];
	ssize_t n;
	int fd;

	if (!path)
		return false;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = pread(fd, magic, sizeof(magic), 0);
	close(fd);
	return n == (ssize_t)sizeof(magic) && memcmp(magic, ELFMAG, SELFMAG) == 0;
}
