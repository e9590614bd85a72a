/* Python primitives on CPython 3.12 and 3.13 (see python.h and bpf/python.bpf.h). */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "catalog.h"
#include "elfsyms.h"
#include "file_id.h"
#include "insn.h"
#include "probes.h"
#include "procmaps.h"
#include "python.h"
#include "spans.h"
#include "ttatrace.skel.h"
#include "ttatrace.h"
#include "uprobe_multi.h"

#define PY_REG_FIELDS 8

/* One line of a process's registry: a code object (C) or a class (T). */
struct py_reg {
	char kind;
	pid_t pid; /* the process that armed it (a forked child writes its parent's file) */
	uint64_t addr;
	char *f[PY_REG_FIELDS]; /* the fields after the address */
};

struct py_proc {
	pid_t pid;
	pid_t parent; /* forked from this Python process (0: attached or exec'd) */
	/* itself, its parent, ... up to the process whose registry file the family writes
	 * (a forked child appends its lines there, marked with its pid) */
	pid_t anc[8];
	int n_anc;
	bool reaped; /* its target was freed; kept while a descendant needs its registry */
	bool placeholder; /* made to name a record before the process was attached */
	int minor;
	bool gone; /* exited: kept until its last probe records are named */
	char reg_path[PATH_MAX];
	off_t reg_off;
	int reg_fd; /* held open: a prepared service's bootstrap removes it at exit */
	struct py_reg *regs;
	size_t n_regs, cap_regs;
	struct bpf_link *links[3]; /* perf-event uprobes with a pid filter */
	int lfd[3]; /* uprobe_multi links with a pid filter (-p, launch), or -1 */
};

/* An interpreter file (libpython, or a static python executable) and _asyncio
 * module probed once for every process running them (ttatrace agent). */
struct py_file {
	uint64_t dev, ino;
	int lfd[3];
};

struct py_session {
	const struct catalog *cat;
	struct ttatrace_bpf *skel;
	struct probe_table *pt;
	int verbose;
	bool multi; /* the *_multi programs are loaded */
	bool shared; /* links shared per file, no pid filter (agent, or forks followed) */
	bool agent; /* ttatrace agent: processes looked at from their exec, retried */
	char rundir[256];
	char spec_path[512];
	struct py_proc **procs;
	size_t n_procs, cap_procs;
	struct py_file *files;
	size_t n_files;
	bool new_probes;
	uint64_t named, procs_attached, not_prepared, open_at_exit, unnamed, links;
};

/* Layouts, from the interpreters' own headers (offsetof), per minor version. */
static const struct py_layout {
	int minor;
	struct tt_py_offs o;
} layouts[] = {
	{ 12, { .frame_code = 0, .frame_prev = 8, .frame_locals = 72, .code_mon = 168,
		.tstate_frame = 56, .cframe_frame = 0, .gen_iframe = 72, .type_name = 24,
		.tuple_item = 24, .code_qualname = 128, .code_filename = 112,
		.code_firstlineno = 68, .str_state = 32, .str_ascii_data = 40,
		.str_compact_data = 56 } },
	{ 13, { .frame_code = 0, .frame_prev = 8, .frame_locals = 72, .code_mon = 176,
		.tstate_frame = 72, .cframe_frame = -1, .gen_iframe = 72, .type_name = 24,
		.tuple_item = 24, .code_qualname = 128, .code_filename = 112,
		.code_firstlineno = 68, .str_state = 32, .str_ascii_data = 40,
		.str_compact_data = 56 } },
};

bool catalog__has_python(const struct catalog *cat)
{
	for (size_t i = 0; cat && i < cat->n; i++)
		if (cat->entries[i].py_sel)
			return true;
	return false;
}

int py_spec__write(const struct catalog *cat, FILE *f)
{
	fprintf(f, "# ttatrace Python bootstrap spec (from %s)\n", cat->path ? cat->path : "?");
	for (size_t i = 0; i < cat->n; i++) {
		const struct cat_entry *e = &cat->entries[i];

		if (!e->py_sel)
			continue;
		if (e->py_func)
			fprintf(f, "func\t%s\t%s\n", e->py_sel, prim_kind__name(e->kind));
		else
			fprintf(f, "class\t%s\t%s\t%s\n", e->py_sel, e->py_methods,
				prim_kind__name(e->kind));
	}
	return ferror(f) ? -EIO : 0;
}

struct py_session *py_session__new(const struct catalog *cat, struct ttatrace_bpf *skel,
				   struct probe_table *pt, int verbose, bool always)
{
	struct py_session *s;

	errno = 0;
	if (!always && !catalog__has_python(cat))
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->cat = cat;
	s->skel = skel;
	s->pt = pt;
	s->verbose = verbose;
	if (probe_table__reserve(pt, TT_PY_MAX_PROBES)) {
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	return s;
}

/* Takes pid's placeholder (made to name a record that came before its attach or fork
 * event) out of the list: the real entry replaces it. */
static void proc_drop_placeholder(struct py_session *s, pid_t pid)
{
	size_t i, j = 0;
	struct py_proc *drop = NULL;

	for (i = 0; i < s->n_procs; i++) {
		if (s->procs[i]->pid == pid && s->procs[i]->placeholder && !drop) {
			drop = s->procs[i];
			continue;
		}
		s->procs[j++] = s->procs[i];
	}
	s->n_procs = j;
	if (drop) {
		drop->placeholder = false;
		drop->gone = true;
		drop->reaped = true;
		/* freed by the next reap: the records it named keep their names */
		s->procs[s->n_procs++] = drop;
	}
}

static void proc_free(struct py_proc *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_regs; i++)
		for (int j = 0; j < PY_REG_FIELDS; j++)
			free(p->regs[i].f[j]);
	free(p->regs);
	if (p->reg_fd > 0)
		close(p->reg_fd);
	for (int i = 0; i < 3; i++) {
		bpf_link__destroy(p->links[i]);
		if (p->lfd[i] >= 0)
			close(p->lfd[i]);
	}
	free(p);
}

static struct py_proc *proc_new(void)
{
	struct py_proc *p = calloc(1, sizeof(*p));

	if (p)
		for (int i = 0; i < 3; i++)
			p->lfd[i] = -1;
	return p;
}

static struct py_proc *proc_find(const struct py_session *s, pid_t pid)
{
	for (size_t i = s->n_procs; i-- > 0;)
		if (s->procs[i]->pid == pid)
			return s->procs[i];
	return NULL;
}

static int proc_push(struct py_session *s, struct py_proc *p)
{
	if (s->n_procs == s->cap_procs) {
		size_t nc = s->cap_procs ? 2 * s->cap_procs : 16;
		struct py_proc **nv = realloc(s->procs, nc * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		s->procs = nv;
		s->cap_procs = nc;
	}
	s->procs[s->n_procs++] = p;
	return 0;
}

void py_session__free(struct py_session *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_procs; i++) {
		struct py_proc *p = s->procs[i];

		if (s->spec_path[0] && p->reg_path[0] &&
		    !strncmp(p->reg_path, s->rundir, strlen(s->rundir)))
			unlink(p->reg_path);
		proc_free(p);
	}
	free(s->procs);
	for (size_t i = 0; i < s->n_files; i++)
		for (int j = 0; j < 3; j++)
			if (s->files[i].lfd[j] >= 0)
				close(s->files[i].lfd[j]);
	free(s->files);
	if (s->spec_path[0]) {
		unlink(s->spec_path);
		rmdir(s->rundir);
	}
	free(s);
}

void py_session__set_links(struct py_session *s, bool multi, bool shared, bool agent)
{
	if (!s)
		return;
	s->multi = multi;
	s->shared = (shared || agent) && multi;
	s->agent = agent;
}

/* Where the bootstrap lives: $TTATRACE_PY_BOOT, next to the executable in a build
 * tree (build/../tools/python), or where make install puts it. */
int py_boot_dir(char *out, size_t len)
{
	const char *env = getenv("TTATRACE_PY_BOOT");
	char exe[PATH_MAX], cand[PATH_MAX + 64], *slash;
	ssize_t n;
	struct stat st;

	if (env && *env) {
		snprintf(out, len, "%s", env);
		return 0;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			snprintf(cand, sizeof(cand), "%s/../tools/python/sitecustomize.py", exe);
			if (!stat(cand, &st)) {
				snprintf(cand, sizeof(cand), "%s/../tools/python", exe);
				if (realpath(cand, out))
					return 0;
			}
			snprintf(cand, sizeof(cand), "%s/../lib/ttatrace/python/sitecustomize.py", exe);
			if (!stat(cand, &st)) {
				snprintf(cand, sizeof(cand), "%s/../lib/ttatrace/python", exe);
				if (realpath(cand, out))
					return 0;
			}
		}
	}
	return -ENOENT;
}

int py_session__prepare_launch(struct py_session *s, char *err, size_t errlen)
{
	char boot[PATH_MAX], *pp;
	const char *orig = getenv("PYTHONPATH");
	FILE *f;
	int r;

	if (py_boot_dir(boot, sizeof(boot))) {
		snprintf(err, errlen, "the Python bootstrap (sitecustomize.py) is not installed next to "
				      "ttatrace (make install, or set TTATRACE_PY_BOOT=DIR)");
		return -ENOENT;
	}
	snprintf(s->rundir, sizeof(s->rundir), "/tmp/ttatrace-py.XXXXXX");
	if (!mkdtemp(s->rundir)) {
		r = -errno;
		snprintf(err, errlen, "cannot create a directory in /tmp: %s", strerror(-r));
		return r;
	}
	snprintf(s->spec_path, sizeof(s->spec_path), "%s/spec", s->rundir);
	f = fopen(s->spec_path, "we");
	if (!f) {
		r = -errno;
		snprintf(err, errlen, "cannot write %s: %s", s->spec_path, strerror(-r));
		return r;
	}
	r = py_spec__write(s->cat, f);
	if (fclose(f) && !r)
		r = -EIO;
	if (r) {
		snprintf(err, errlen, "cannot write %s", s->spec_path);
		return r;
	}
	/* the bootstrap puts PYTHONPATH back as it was before the app runs */
	setenv("TTATRACE_PY_ORIG_PYTHONPATH", orig ? orig : "\x01unset", 1);
	if (asprintf(&pp, "%s%s%s", boot, orig && *orig ? ":" : "", orig && *orig ? orig : "") < 0)
		return -ENOMEM;
	setenv("PYTHONPATH", pp, 1);
	free(pp);
	setenv("TTATRACE_PY_SPEC", s->spec_path, 1);
	setenv("TTATRACE_PY_RUNDIR", s->rundir, 1);
	return 0;
}

/* --- finding the interpreter ------------------------------------------------- */

/* The minor version from a name like libpython3.12.so.1.0 or python3.13, else -1. */
static int minor_from_name(const char *base)
{
	const char *p = strstr(base, "python3.");
	char *end;
	long m;

	if (!p)
		return -1;
	m = strtol(p + 8, &end, 10);
	if (end == p + 8 || (*end && *end != '.' && *end != 'd' && *end != 't'))
		return -1;
	return (int)m;
}

struct interp {
	char path[PATH_MAX]; /* libpython, or the executable when linked statically */
	uint64_t base; /* where its offset-0 mapping starts */
	bool exe_only; /* no libpython mapped: the executable (static, or just exec'd) */
	char asyncio[PATH_MAX]; /* _asyncio extension module, "" if not found */
	int minor;
};

/* The interpreter's library (or executable) and _asyncio module of pid, as paths
 * under /proc/PID/root: the files the process maps, whatever its mount namespace (a
 * container's /usr/lib is not the host's). */
static int find_interp(pid_t pid, struct interp *in)
{
	char path[64], line[PATH_MAX + 128], exe[PATH_MAX] = "", mine[PATH_MAX];
	FILE *f;
	ssize_t n;

	memset(in, 0, sizeof(*in));
	in->minor = -1;
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi, off;
		char perms[8], *file = strchr(line, '/');
		const char *base;

		if (!file || sscanf(line, "%lx-%lx %7s %lx", &lo, &hi, perms, &off) != 4)
			continue;
		file[strcspn(file, "\n")] = '\0';
		base = strrchr(file, '/') + 1;
		snprintf(mine, sizeof(mine), "/proc/%d/root%s", (int)pid, file);
		if (!strncmp(base, "libpython3.", 11) && minor_from_name(base) >= 0) {
			if (!in->path[0] || (!strcmp(in->path, mine) && off == 0 && !in->base)) {
				snprintf(in->path, sizeof(in->path), "%s", mine);
				in->minor = minor_from_name(base);
				if (off == 0)
					in->base = lo;
			}
		} else if (!strncmp(base, "_asyncio.", 9) && !in->asyncio[0]) {
			snprintf(in->asyncio, sizeof(in->asyncio), "%s", mine);
		}
	}
	fclose(f);
	if (!in->path[0]) {
		/* a statically linked interpreter: the executable itself */
		snprintf(path, sizeof(path), "/proc/%d/exe", pid);
		n = readlink(path, exe, sizeof(exe) - 1);
		if (n <= 0)
			return -errno;
		exe[n] = '\0';
		in->minor = minor_from_name(strrchr(exe, '/') + 1);
		if (in->minor < 0)
			return -ENOENT;
		in->exe_only = true;
		snprintf(in->path, sizeof(in->path), "/proc/%d/exe", pid);
	}
	if (!in->asyncio[0]) {
		/* not imported yet: the probe goes on the file, the kernel arms it when mapped.
		 * Its lib-dynload beside libpython (lib/libpython3.X.so, lib/python3.X), or
		 * beside the executable's bin/ (bin/python3.X, lib/python3.X), or the
		 * distributions' /usr/lib and /usr/local/lib */
		char dir[PATH_MAX - 128], *slash;
		const char *const fmt[] = { "%s/python3.%d/lib-dynload", "%s/../lib/python3.%d/lib-dynload",
					    "%s/usr/lib/python3.%d/lib-dynload",
					    "%s/usr/local/lib/python3.%d/lib-dynload" };
		struct stat st;

		char exe_link[64], root[32];

		snprintf(exe_link, sizeof(exe_link), "/proc/%d/exe", (int)pid);
		snprintf(root, sizeof(root), "/proc/%d/root", (int)pid);
		snprintf(dir, sizeof(dir), "%.*s", (int)sizeof(dir) - 1,
			 strcmp(in->path, exe_link) ? in->path : exe);
		slash = strrchr(dir, '/');
		if (slash)
			*slash = '\0';
		for (size_t i = 0; i < sizeof(fmt) / sizeof(fmt[0]) && !in->asyncio[0]; i++) {
			char d[PATH_MAX];

			if (i < 2 && !slash)
				continue;
			if (i < 2)
				snprintf(d, sizeof(d), fmt[i], dir, in->minor);
			else
				snprintf(d, sizeof(d), fmt[i], root, in->minor); /* the process's own */
			snprintf(in->asyncio, sizeof(in->asyncio), "%.*s/_asyncio.cpython-3%d-x86_64-linux-gnu.so",
				 (int)sizeof(in->asyncio) - 64, d, in->minor);
			if (stat(in->asyncio, &st))
				in->asyncio[0] = '\0';
		}
	}
	return 0;
}

/* Value of a (local or global) symbol of any type in .symtab/.dynsym, 0 if none. */
static uint64_t elf_symbol(const char *path, const char *name)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf *e = NULL;
	Elf_Scn *scn = NULL;
	uint64_t v = 0;

	if (fd < 0)
		return 0;
	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ, NULL);
	while (e && !v && (scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM))
			continue;
		d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && sh.sh_entsize && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			const char *n;

			if (!gelf_getsym(d, (int)i, &sym))
				continue;
			n = elf_strptr(e, sh.sh_link, sym.st_name);
			if (n && !strcmp(n, name) && sym.st_value) {
				v = sym.st_value;
				break;
			}
		}
	}
	if (e)
		elf_end(e);
	close(fd);
	return v;
}

struct sym_find {
	const char *name;
	struct elf_sym found;
	bool ok;
};

static int sym_cb(const struct elf_sym *sym, void *ctx)
{
	struct sym_find *f = ctx;

	if (!strcmp(sym->name, f->name)) {
		f->found = *sym;
		f->ok = true;
	}
	return 0;
}

/* Whether the instruction leaves the argument registers (rdi rsi rdx rcx r8) alone:
 * the prologues of _Py_call_instrumentation{,_arg} store to the stack, clear xmm
 * registers, load %eax and test it; anything else stops the search. */
static bool keeps_args(const struct insn *in)
{
	unsigned reg = in->has_modrm ? ((in->modrm >> 3) & 7) | (in->rex & 4 ? 8 : 0) : 0;
	bool to_mem = in->has_modrm && (in->modrm >> 6) != 3;

	if (in->map == 0 && in->opcode == 0x83 && reg == 5 && !to_mem && (in->modrm & 7) == 4)
		return true; /* sub $imm8,%rsp */
	if (in->map == 0 && (in->opcode == 0x89 || in->opcode == 0xc7) && to_mem)
		return true; /* stores */
	if (in->map == 0 && in->opcode == 0x8b && reg == 0)
		return true; /* mov ...,%eax */
	if (in->map == 0 && in->opcode == 0x85)
		return true; /* test */
	if (in->map == 1 && (in->opcode == 0xef || in->opcode == 0x29 || in->opcode == 0x7f ||
			     in->opcode == 0xd6))
		return true; /* pxor xmm, movaps/movdqa/movq xmm to memory */
	return false;
}

/* The probe goes on the function's first conditional jump, a few instructions in
 * with the argument registers untouched: the kernel emulates a jcc, while the `sub
 * $N,%rsp` at the entry is single-stepped (3x the cost here). Decoded with insn.c,
 * not assumed: a build that differs gets the entry instead, with a warning. */
static uint64_t jcc_offset(const char *path, uint64_t off, int verbose, const char *name)
{
	uint8_t b[96];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? pread(fd, b, sizeof(b), (off_t)off) : -1;
	size_t i = 0;

	if (fd >= 0)
		close(fd);
	while (n > 0 && i < (size_t)n) {
		struct insn in;

		if (insn__decode(b + i, (size_t)n - i, &in))
			break;
		if (in.flow == INSN_FLOW_COND && insn__class_at(&in, off + i) == INSN_CLASS_EMULATED)
			return off + i;
		if (insn__ends_block(&in) || !keeps_args(&in))
			break;
		i += in.len;
	}
	fprintf(stderr, "ttatrace: warning: %s: no emulated jump before the arguments change: "
			"probing the entry (single-stepped, slower)\n", name);
	(void)verbose;
	return off;
}

/* 3.13+ publishes its layout at the start of _PyRuntime (cookie "xdebugpy"): the
 * offsets ttatrace uses must be the ones it publishes. */
static int check_debug_offsets(pid_t pid, const struct interp *in, const struct tt_py_offs *o,
			       char *err, size_t errlen)
{
	uint64_t rt = elf_symbol(in->path, "_PyRuntime"), d[48];
	struct iovec loc = { d, sizeof(d) }, rem;

	if (!rt || !in->base) {
		snprintf(err, errlen, "pid %d: CPython 3.%d without _PyRuntime in %s: cannot check its "
				      "layout", pid, in->minor, in->path);
		return -ENOENT;
	}
	rem.iov_base = (void *)(uintptr_t)(in->base + rt);
	rem.iov_len = sizeof(d);
	if (process_vm_readv(pid, &loc, 1, &rem, 1, 0) != (ssize_t)sizeof(d)) {
		snprintf(err, errlen, "pid %d: cannot read _PyRuntime: %s", pid, strerror(errno));
		return -errno;
	}
	/* _Py_DebugOffsets of 3.13: interpreter_frame.previous at byte 232, .executable
	 * 240, .localsplus 256; code_object.qualname 296; thread_state.current_frame 184;
	 * type_object.tp_name 376 */
	if (memcmp(d, "xdebugpy", 8) || d[232 / 8] != o->frame_prev || d[240 / 8] != o->frame_code ||
	    d[256 / 8] != o->frame_locals || d[296 / 8] != 128 || d[184 / 8] != o->tstate_frame ||
	    d[376 / 8] != o->type_name) {
		snprintf(err, errlen, "pid %d: this CPython 3.%d's _Py_DebugOffsets differ from the "
				      "layout ttatrace knows (a custom build?): not attaching", pid, in->minor);
		return -EPROTO;
	}
	return 0;
}

/* A path under root ("/proc/PID/root/usr/lib/x") as the process sees it ("/usr/lib/x"),
 * NULL when it is not under root. */
static const char *ns_path(const char *path, const char *root)
{
	size_t n = strlen(root);

	return !strncmp(path, root, n) && path[n] == '/' ? path + n : NULL;
}

/* The registry's path, in the process's own view of the filesystem (TTATRACE_PY_RUNDIR
 * from its environment, else /tmp). 1 when its environment names a bootstrap spec, 0
 * if not, -1 when it reads empty: a process in the middle of its exec (its new name and
 * executable already show, its environment not yet) */
static int reg_path_of(const struct py_session *s, struct py_proc *p, bool launched)
{
	char rundir[256] = "/tmp";
	static char buf[65536];
	int spec = 0;
	ssize_t n = procmaps__environ(p->pid, buf, sizeof(buf));
	size_t len = n > 0 ? (size_t)n : 0;

	for (size_t i = 0; i < len; i += strlen(buf + i) + 1) {
		if (!strncmp(buf + i, "TTATRACE_PY_RUNDIR=", 19))
			snprintf(rundir, sizeof(rundir), "%s", buf + i + 19);
		if (!strncmp(buf + i, "TTATRACE_PY_SPEC=", 17) && buf[i + 17])
			spec = 1;
	}
	if (!len)
		spec = -1;
	if (launched && s->rundir[0])
		snprintf(p->reg_path, sizeof(p->reg_path), "%s/ttatrace-py-%d.reg", s->rundir, p->pid);
	else
		snprintf(p->reg_path, sizeof(p->reg_path), "/proc/%d/root%s/ttatrace-py-%d.reg", p->pid,
			 rundir, p->pid);
	return spec;
}

/* The programs: 0 _Py_call_instrumentation, 1 _Py_call_instrumentation_arg, 2 the
 * asyncio task hook. */
static struct bpf_program *py_prog(const struct py_session *s, int which)
{
	struct bpf_program *perf[3] = { s->skel->progs.tt_py_call, s->skel->progs.tt_py_call_arg,
					s->skel->progs.tt_py_task };
	struct bpf_program *multi[3] = { s->skel->progs.tt_py_call_multi,
					 s->skel->progs.tt_py_call_arg_multi,
					 s->skel->progs.tt_py_task_multi };

	return s->multi ? multi[which] : perf[which];
}

/* The shared link set of the file path opens, as uprobes know files (file_id.h): its
 * index in s->files, added when add, else -ENOENT; or a negative errno. */
static int shared_file(struct py_session *s, const char *path, bool add)
{
	const struct bpf_program *iter =
		bpf_program__fd(s->skel->progs.tt_file_ids) >= 0 ? s->skel->progs.tt_file_ids : NULL;
	uint64_t dev, ino;
	struct py_file *nf;
	int r = file_id__of(iter, path, &dev, &ino);

	if (r < 0)
		return r;
	for (size_t i = 0; i < s->n_files; i++)
		if (s->files[i].dev == dev && s->files[i].ino == ino)
			return (int)i;
	if (!add)
		return -ENOENT;
	nf = realloc(s->files, (s->n_files + 1) * sizeof(*nf));
	if (!nf)
		return -ENOMEM;
	s->files = nf;
	nf[s->n_files] = (struct py_file){ .dev = dev, .ino = ino, .lfd = { -1, -1, -1 } };
	return (int)s->n_files++;
}

/* Whether the shared link sets probe path with all of the programs [from, to]. */
static bool shared_probed(struct py_session *s, const char *path, int from, int to)
{
	int i = s->shared ? shared_file(s, path, false) : -1;

	while (i >= 0 && from <= to && s->files[i].lfd[from] >= 0)
		from++;
	return i >= 0 && from > to;
}

/* One probe: on the shared file's link set (agent), else limited to p's process. */
static int py_link(struct py_session *s, int which, const char *path, uint64_t off, struct py_proc *p)
{
	uint64_t cookie = 0;
	int fd, i;

	if (s->shared) {
		i = shared_file(s, path, true);
		if (i < 0)
			return i;
		if (s->files[i].lfd[which] >= 0)
			return 0; /* this file is probed for every process already */
		fd = uprobe_multi__attach(bpf_program__fd(py_prog(s, which)), path, &off, &cookie, 1, 0,
					  false);
		if (fd < 0)
			return fd;
		s->files[i].lfd[which] = fd;
		s->links++;
		return 0;
	}
	if (s->multi) {
		fd = uprobe_multi__attach(bpf_program__fd(py_prog(s, which)), path, &off, &cookie, 1,
					  p->pid, false);
		if (fd < 0)
			return fd;
		p->lfd[which] = fd;
		s->links++;
		return 0;
	}
	{
		LIBBPF_OPTS(bpf_uprobe_opts, uo);

		p->links[which] = bpf_program__attach_uprobe_opts(py_prog(s, which), p->pid, path, off, &uo);
		if (!p->links[which])
			return -errno;
		s->links++;
		return 0;
	}
}

/* Under the agent, a process of this interpreter is a Python process from its exec
 * (py_exes, bpf/python.bpf.h): its executable's identity as the exec tracepoint reads it. */
static void py_exe_known(struct py_session *s, pid_t pid, const struct tt_py_offs *o)
{
	struct tt_file_key k;
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	if (stat(path, &st))
		return;
	k.dev = ((uint64_t)major(st.st_dev) << 20) | minor(st.st_dev);
	k.ino = st.st_ino;
	bpf_map_update_elem(bpf_map__fd(s->skel->maps.py_exes), &k, o, BPF_ANY);
}

static bool reg_open(struct py_proc *p, bool scan);

/* The two instrumentation probes on the interpreter file (lib: its fd's path): its
 * symbols, the emulated jump in each function, the links. 2, or a negative errno
 * with a one-line message. */
static int link_interp(struct py_session *s, struct py_proc *p, const struct interp *in,
		       const char *lib, const char *root, char *err, size_t errlen)
{
	static const char *const fn[2] = { "_Py_call_instrumentation", "_Py_call_instrumentation_arg" };
	struct elf_syms *syms;
	pid_t pid = p->pid;
	int r = 0, n = 0;

	{
		char ns[PATH_MAX];
		ssize_t len = -1;

		if (ns_path(in->path, root))
			snprintf(ns, sizeof(ns), "%s", ns_path(in->path, root));
		else {
			if (!strncmp(in->path, "/proc/", 6))
				len = readlink(in->path, ns, sizeof(ns) - 1);
			ns[len > 0 ? len : 0] = '\0';
		}
		syms = elf_syms__open_in(lib, root, ns[0] ? ns : in->path);
	}
	if (!syms) {
		r = errno ? -errno : -EIO;
		snprintf(err, errlen, "pid %d: cannot read symbols of %s: %s", pid, in->path, strerror(-r));
		goto out;
	}
	for (int i = 0; i < 2; i++) {
		struct sym_find sf = { .name = fn[i] };
		uint64_t off;

		elf_syms__match(syms, fn[i], sym_cb, &sf);
		if (!sf.ok) {
			r = -ENOENT;
			if (elf_syms__debug_missing(syms))
				/* Debian: python3.X-dbg has the interpreter's, libpython3.X-dbg
				 * the shared library's */
				snprintf(err, errlen, "pid %d: %s is stripped (no .symtab, so no %s) and %s: "
						      "install its debug symbols (e.g. Debian's "
						      "%spython3.%d-dbg), name their directory with "
						      "--debug-dir, or use a build with symbols such as "
						      "pyenv's", pid, in->path, fn[i],
					 elf_syms__debug_missing(syms),
					 strncmp(in->path, "/proc/", 6) ? "lib" : "", in->minor);
			else {
				snprintf(err, errlen, "pid %d: %s has no symbol %s (not CPython's "
						      "interpreter?)", pid, in->path, fn[i]);
				if (in->exe_only)
					r = -EAGAIN; /* just exec'd: its libpython is not mapped yet */
			}
			goto out;
		}
		off = jcc_offset(lib, sf.found.offset, s->verbose, fn[i]);
		r = py_link(s, i, lib, off, p);
		if (r) {
			snprintf(err, errlen, "pid %d: uprobe on %s:%s+%#" PRIx64 ": %s%s", pid, in->path,
				 fn[i], off - sf.found.offset, strerror(-r),
				 (r == -EACCES || r == -EPERM) && !s->multi ?
					 " (Python probes are perf-event uprobes with a pid filter "
					 "without uprobe_multi links (Linux 6.6+), which this kernel "
					 "allows only with CAP_SYS_ADMIN)" : "");
			goto out;
		}
		if (s->verbose > 1)
			fprintf(stderr, "ttatrace: python: %s:%s at file offset %#" PRIx64 "\n",
				ns_path(in->path, root) ? ns_path(in->path, root) : in->path,
				fn[i], off);
		n++;
	}
	r = n;
out:
	elf_syms__free(syms);
	return r;
}

static int attach_proc(struct py_session *s, pid_t pid, bool launched, pid_t parent, char *err,
		       size_t errlen)
{
	const struct tt_py_offs *o = NULL;
	struct py_proc *p;
	struct interp in;
	uint32_t key = (uint32_t)pid;
	char root[32], lib[PATH_MAX];
	int r, n = 0, lib_fd = -1;
	int prepared;

	r = find_interp(pid, &in);
	if (r == -ENOENT)
		return 0; /* not Python */
	if (r) {
		snprintf(err, errlen, "pid %d: reading its maps: %s", pid, strerror(-r));
		return r;
	}
	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++)
		if (layouts[i].minor == in.minor)
			o = &layouts[i].o;
	if (!o) {
		snprintf(err, errlen, "pid %d runs CPython 3.%d: Python primitives need CPython 3.12 or "
				      "3.13 (sys.monitoring; 3.14's PEP 768 is not supported yet)",
			 pid, in.minor);
		return -ENOTSUP;
	}
	/* (a static 3.13 executable, or one whose libpython is not mapped yet, is not
	 * checked: no base address for _PyRuntime) */
	if (in.minor >= 13 && !in.exe_only && (r = check_debug_offsets(pid, &in, o, err, errlen)))
		/* the agent may look while the loader is still mapping libpython (its data
		 * not in place yet): it tries again */
		return s->agent ? -EAGAIN : r;
	p = proc_find(s, pid);
	if (p && !p->gone && !p->placeholder)
		return 0; /* attached already */
	if (p && p->placeholder)
		proc_drop_placeholder(s, pid);
	p = proc_new();
	if (!p)
		return -ENOMEM;
	p->pid = pid;
	p->parent = parent;
	p->anc[0] = pid;
	p->n_anc = 1;
	p->minor = in.minor;
	prepared = reg_path_of(s, p, launched);
	if (s->agent && prepared < 0 && !parent) {
		snprintf(err, errlen, "pid %d: its environment stayed empty: cannot tell whether it "
				      "was started with the ttatrace bootstrap", pid);
		r = -EAGAIN;
		goto out;
	}
	if (s->agent && prepared <= 0 && !parent) {
		/* the agent traces the services prepared for it (README, Python) */
		s->not_prepared++;
		snprintf(err, errlen, "pid %d: CPython 3.%d without the ttatrace bootstrap (no "
				      "TTATRACE_PY_SPEC in its environment): its primitives are not "
				      "armed (README, Python: a prepared service)", pid, in.minor);
		r = -ENOKEY;
		goto out;
	}
	if (!launched && !s->agent && !parent && !reg_open(p, true)) {
		snprintf(err, errlen, "pid %d: CPython 3.%d without the ttatrace bootstrap (no %s): start "
				      "it with PYTHONPATH=<ttatrace>/lib/ttatrace/python and "
				      "TTATRACE_PY_SPEC=FILE (see README, Python), or launch it under "
				      "ttatrace -- python3 ...", pid, in.minor, p->reg_path);
		r = -ENOENT;
		goto out;
	}
	/* a stripped interpreter's debug file, looked for in the process's root */
	snprintf(root, sizeof(root), "/proc/%d/root", pid);
	/* opened once and named through our own fd from here: the same file for the
	 * symbols and the probes, and no /proc/PID/root walk by the kernel at attach */
	lib_fd = open(in.path, O_RDONLY | O_CLOEXEC);
	if (lib_fd >= 0)
		snprintf(lib, sizeof(lib), "/proc/self/fd/%d", lib_fd);
	else
		snprintf(lib, sizeof(lib), "%.*s", (int)sizeof(lib) - 1, in.path);
	if (shared_probed(s, lib, 0, 1))
		n = 2; /* probed for every process already: no symbols to read again */
	else if ((r = link_interp(s, p, &in, lib, root, err, errlen)) < 0)
		goto out;
	else
		n = r;
	if (in.asyncio[0] && shared_probed(s, in.asyncio, 2, 2)) {
		n++;
	} else if (in.asyncio[0]) {
		int as_fd = open(in.asyncio, O_RDONLY | O_CLOEXEC);
		const char *as_ns = ns_path(in.asyncio, root);
		char as_path[64];
		struct elf_syms *as;
		struct sym_find sf = { .name = "_asyncio_Task___init__" };
		int lr = -ENOENT;

		snprintf(as_path, sizeof(as_path), "/proc/self/fd/%d", as_fd);
		as = as_fd >= 0 ? elf_syms__open_in(as_path, root, as_ns ? as_ns : in.asyncio) : NULL;
		if (as)
			elf_syms__match(as, sf.name, sym_cb, &sf);
		if (sf.ok)
			lr = py_link(s, 2, as_path, sf.found.offset, p);
		if (as_fd >= 0)
			close(as_fd);
		if (!lr)
			n++;
		else
			fprintf(stderr, "ttatrace: warning: pid %d: no probe on %s:_asyncio_Task___init__%s%s%s: "
					"asyncio tasks start their own traces\n", pid,
				as_ns ? as_ns : in.asyncio,
				elf_syms__debug_missing(as) ? " (stripped, and " : "",
				elf_syms__debug_missing(as) ? elf_syms__debug_missing(as) : "",
				elf_syms__debug_missing(as) ? ")" : "");
		elf_syms__free(as);
	} else {
		fprintf(stderr, "ttatrace: warning: pid %d: no _asyncio module mapped or found (in "
				"lib-dynload beside %s, /usr/lib or /usr/local/lib python3.%d): asyncio "
				"tasks start their own traces\n", pid,
			ns_path(in.path, root) ? ns_path(in.path, root) : in.path, in.minor);
	}
	/* after the links: a hit before both are in would open spans it cannot end */
	if (bpf_map_update_elem(bpf_map__fd(s->skel->maps.py_procs), &key, o, BPF_ANY)) {
		r = -errno;
		snprintf(err, errlen, "pid %d: py_procs: %s", pid, strerror(-r));
		goto out;
	}
	if (s->agent)
		py_exe_known(s, pid, o);
	r = proc_push(s, p);
	if (r) {
		snprintf(err, errlen, "pid %d: %s", pid, strerror(-r));
		goto out;
	}
	p = NULL;
	s->procs_attached++;
	s->skel->bss->py_active = 1; /* native roots look for a running primitive */
	r = n;
out:
	if (r < 0 && p) {
		/* (the agent's: the exec tracepoint may have put it there; the agent decides) */
		if (!parent && !s->agent)
			bpf_map_delete_elem(bpf_map__fd(s->skel->maps.py_procs), &key);
	}
	proc_free(p);
	if (lib_fd >= 0)
		close(lib_fd);
	return r;
}

int py_session__attach(struct py_session *s, pid_t pid, bool launched, char *err, size_t errlen)
{
	return attach_proc(s, pid, launched, 0, err, errlen);
}

int py_session__fork(struct py_session *s, pid_t pid, pid_t ppid, char *err, size_t errlen)
{
	const struct py_proc *pp = s ? proc_find(s, ppid) : NULL;
	struct py_proc *p;
	int r;

	if (!pp)
		return 0;
	if (!s->shared) {
		/* its own links (a pid filter each); the kernel gave it its layout at fork */
		r = attach_proc(s, pid, false, ppid, err, errlen);
		if (r <= 0)
			return r;
		p = proc_find(s, pid);
	} else {
		p = proc_find(s, pid);
		if (p && !p->placeholder)
			return 0;
		if (p)
			proc_drop_placeholder(s, pid);
		p = proc_new();
		if (!p || proc_push(s, p)) {
			proc_free(p);
			return -ENOMEM;
		}
		p->pid = pid;
		p->parent = ppid;
		p->minor = pp->minor;
		s->procs_attached++;
	}
	/* no file of its own: what it arms after the fork goes to the family's file */
	p->reg_path[0] = '\0';
	p->anc[0] = pid;
	p->n_anc = 1;
	for (int i = 0; i < pp->n_anc && p->n_anc < (int)(sizeof(p->anc) / sizeof(p->anc[0])); i++)
		p->anc[p->n_anc++] = pp->anc[i];
	return 1;
}

/* --- naming probe ids ------------------------------------------------------------ */

/* Whether our fd is a registry file (ttatrace-py-PID.reg, perhaps deleted), opened
 * for reading too (the bootstrap opens it read-write for this). */
static bool is_registry_fd(int fd)
{
	char link[64], target[PATH_MAX];
	const char *base;
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n <= 0)
		return false;
	target[n] = '\0';
	base = strrchr(target, '/');
	return base && !strncmp(base + 1, "ttatrace-py-", 12) && strstr(base, ".reg") &&
	       (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR;
}

/* The registry the process holds open (the bootstrap keeps its fd for the process's
 * life; a forked child holds its family's): a duplicate of that fd, taken with
 * pidfd_getfd, which needs ptrace access to the process (CAP_SYS_PTRACE) and no
 * permission on the file. A service of another uid keeps its file 0600 and its
 * /proc/PID/fd unreadable to uid 0 without CAP_DAC_OVERRIDE, so its low fds are
 * tried in turn (the bootstrap opens it at start-up: among the first). */
static int reg_fd_of_process(pid_t pid)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0), fd = -1;

	if (pidfd < 0)
		return -1;
	for (int i = 0; i < 1024 && fd < 0; i++) {
		int d = (int)syscall(SYS_pidfd_getfd, pidfd, i, 0);

		if (d < 0) {
			if (errno == ESRCH)
				break;
			continue;
		}
		if (is_registry_fd(d))
			fd = d;
		else
			close(d);
	}
	close(pidfd);
	return fd;
}

/* Opens the registry once it exists: by its path (through the process's root), else
 * through the process's own fd; scan: that fd is looked for even when the path does
 * not exist (a forked worker holds its family's file under its parent's name), else
 * only when the file is there but not ours to open. */
static bool reg_open(struct py_proc *p, bool scan)
{
	if (p->reg_fd > 0)
		return true;
	errno = ENOENT;
	if (p->reg_path[0])
		p->reg_fd = open(p->reg_path, O_RDONLY | O_CLOEXEC);
	if (p->reg_fd <= 0 && !p->gone && (scan || errno == EACCES || errno == EPERM))
		p->reg_fd = reg_fd_of_process(p->pid);
	if (p->reg_fd <= 0) {
		p->reg_fd = 0;
		return false;
	}
	return true;
}

static void reg_line(struct py_proc *p, char *line)
{
	struct py_reg r = {};
	char *save = NULL, *tok;
	int i = 0;

	if (!line[0] || !strchr("CTct", line[0]) || line[1] != '\t')
		return;
	r.kind = (char)(line[0] & ~0x20);
	r.pid = p->pid;
	tok = strtok_r(line + 2, "\t", &save);
	if (tok && (line[0] == 'c' || line[0] == 't')) {
		/* c/t PID ...: written by a forked child */
		r.pid = (pid_t)strtol(tok, NULL, 10);
		tok = strtok_r(NULL, "\t", &save);
	}
	if (!tok)
		return;
	r.addr = strtoull(tok, NULL, 10);
	while (i < PY_REG_FIELDS && (tok = strtok_r(NULL, "\t", &save)))
		r.f[i++] = strdup(tok);
	if (p->n_regs == p->cap_regs) {
		size_t nc = p->cap_regs ? 2 * p->cap_regs : 64;
		struct py_reg *nv = realloc(p->regs, nc * sizeof(*nv));

		if (!nv) {
			for (int j = 0; j < i; j++)
				free(r.f[j]);
			return;
		}
		p->regs = nv;
		p->cap_regs = nc;
	}
	p->regs[p->n_regs++] = r;
}

/* The lines written since the last read (pread: the fd may be the process's own
 * file description, whose offset is left alone). */
static void reg_read(struct py_proc *p)
{
	char buf[8192], *carry = NULL;
	size_t carry_len = 0;
	ssize_t n;

	if (!reg_open(p, true))
		return;
	while ((n = pread(p->reg_fd, buf, sizeof(buf), p->reg_off + (off_t)carry_len)) > 0) {
		char *all = realloc(carry, carry_len + (size_t)n + 1), *line, *nl;

		if (!all)
			break;
		memcpy(all + carry_len, buf, (size_t)n);
		carry = all;
		carry_len += (size_t)n;
		carry[carry_len] = '\0';
		line = carry;
		while ((nl = memchr(line, '\n', carry_len - (size_t)(line - carry)))) {
			*nl = '\0';
			reg_line(p, line);
			line = nl + 1;
		}
		/* a line being written stays for next time */
		p->reg_off += line - carry;
		carry_len -= (size_t)(line - carry);
		memmove(carry, line, carry_len);
	}
	free(carry);
}

/* The newest registry line of that kind and address (addresses are reused). */
static const struct py_reg *reg_find(const struct py_proc *p, char kind, uint64_t addr, pid_t pid)
{
	for (size_t i = p->n_regs; i-- > 0;)
		if (p->regs[i].kind == kind && p->regs[i].addr == addr && p->regs[i].pid == pid)
			return &p->regs[i];
	return NULL;
}

const struct cat_entry *py_catalog__entry(const struct catalog *cat, const char *sel)
{
	const char *colon = sel ? strchr(sel, ':') : NULL;

	if (!colon)
		return NULL;
	for (size_t i = 0; i < cat->n; i++) {
		const struct cat_entry *e = &cat->entries[i];

		if (e->py_sel && !strcmp(e->py_sel, colon + 1) &&
		    (!strncmp(sel, "func:", 5) == e->py_func))
			return e;
	}
	return NULL;
}

static int name_probe(struct py_session *s, const struct tt_py_probe_rec *rec)
{
	struct py_proc *p = NULL;
	const struct py_reg *c, *t;
	const struct cat_entry *e;
	struct tt_probe *pr;
	struct tt_attr *at;
	char *name = NULL, *ns = NULL;

	c = t = NULL;
	p = proc_find(s, (pid_t)rec->pid);
	if (!p) {
		/* a process userspace has not met yet (its fork event is still queued) */
		p = proc_new();
		if (!p || proc_push(s, p)) {
			proc_free(p);
			return -ENOMEM;
		}
		p->pid = (pid_t)rec->pid;
		p->anc[0] = p->pid;
		p->n_anc = 1;
		p->placeholder = true;
		reg_path_of(s, p, false);
	}
	/* the family's registry: what this process armed after its fork, then what each
	 * ancestor armed (inherited) */
	{
		struct py_proc *f = proc_find(s, p->anc[p->n_anc - 1]);

		if (f) {
			reg_read(f);
			for (int i = 0; i < p->n_anc && (!c || (rec->cls && !t)); i++) {
				if (!c)
					c = reg_find(f, 'C', rec->code, p->anc[i]);
				if (rec->cls && !t)
					t = reg_find(f, 'T', rec->cls, p->anc[i]);
			}
		}
	}
	if (!c)
		s->unnamed++;
	/* C: selector, co_name, co_qualname, filename, lineno, kind; T: selector, qualname,
	 * module, kind */
	if (t && c && t->f[1] && c->f[1]) {
		const char *dot = strrchr(t->f[1], '.');

		if (asprintf(&name, "%s.%s", dot ? dot + 1 : t->f[1], c->f[1]) < 0)
			name = NULL;
		if (asprintf(&ns, "%s.%s", t->f[2] ? t->f[2] : "", t->f[1]) < 0)
			ns = NULL;
		e = py_catalog__entry(s->cat, t->f[0]);
	} else if (c && c->f[2]) {
		name = strdup(c->f[2]);
		e = py_catalog__entry(s->cat, c->f[0]);
	} else {
		if (asprintf(&name, "python:%#" PRIx64, (uint64_t)rec->code) < 0)
			name = NULL;
		e = NULL;
	}
	if (!name)
		goto nomem;
	pr = probe_table__set(s->pt, rec->probe_id, p->pid, c && c->f[3] ? c->f[3] : "python", name);
	if (!pr)
		goto nomem;
	pr->cat = e;
	pr->kind = e ? prim_kind__name(e->kind) : "step";
	if (!e) {
		/* the agent's catalogue does not list it: the kind its process's catalogue
		 * gave it (the registry's last field) */
		const char *rk = t && t->f[3] ? t->f[3] : c && c->f[5] ? c->f[5] : NULL;
		enum prim_kind k;

		if (rk && !prim_kind__parse(rk, &k))
			pr->kind = prim_kind__name(k);
	}
	if (e && e->name)
		pr->name = e->name;
	at = calloc(5, sizeof(*at));
	if (at && c) {
		size_t k = 0;

		at[k++] = (struct tt_attr){ .key = "code.function", .type = TT_ATTR_STR, .s = c->f[1] };
		if (ns || (c->f[2] && strrchr(c->f[2], '.'))) {
			if (!ns && asprintf(&ns, "%.*s", (int)(strrchr(c->f[2], '.') - c->f[2]), c->f[2]) < 0)
				ns = NULL;
			if (ns)
				at[k++] = (struct tt_attr){ .key = "code.namespace", .type = TT_ATTR_STR, .s = ns };
		}
		at[k++] = (struct tt_attr){ .key = "code.filepath", .type = TT_ATTR_STR, .s = c->f[3] };
		at[k++] = (struct tt_attr){ .key = "code.lineno", .type = TT_ATTR_INT,
					    .i = c->f[4] ? strtoll(c->f[4], NULL, 10) : 0 };
		at[k++] = (struct tt_attr){ .key = "tta.primitive.kind", .type = TT_ATTR_STR, .s = pr->kind };
		pr->attrs = at; /* lives as long as the session (never freed before exit) */
		pr->n_attrs = k;
		ns = NULL;
	} else {
		free(at);
	}
	free(name);
	free(ns);
	s->new_probes = true;
	s->named++;
	if (s->verbose)
		fprintf(stderr, "ttatrace: python: probe %u = %s (%s)\n", rec->probe_id, pr->symbol, pr->kind);
	return 0;
nomem:
	free(name);
	free(ns);
	return -ENOMEM;
}

int py_session__on_record(struct py_session *s, const void *data, size_t size)
{
	const struct tt_py_probe_rec *r = data;

	if (size < sizeof(*r) || r->type != TT_REC_PY_PROBE)
		return 0;
	if (s && r->probe_id < TT_PY_MAX_PROBES)
		name_probe(s, r);
	return 1;
}

/* Open registries as soon as they exist: a prepared service's bootstrap removes its
 * file at exit, and its last primitives may be named after that. A forked child's is
 * its family's (its root's entry opens it). */
void py_session__tick(struct py_session *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_procs; i++)
		if (!s->procs[i]->gone && s->procs[i]->reg_fd <= 0 && s->procs[i]->n_anc == 1)
			reg_open(s->procs[i], false);
}

/* The process exited: its per-process links go, its open spans (a primitive that
 * never returned) are dropped from the kernel and counted; its registry stays for
 * the records still queued, until py_session__reap. (Their py_marks counts stay up:
 * a count too high only costs a lookup, one too low would lose a parent, and the
 * kernel updates those slots concurrently.) */
void py_session__exit(struct py_session *s, pid_t pid)
{
	struct py_proc *p = s ? proc_find(s, pid) : NULL;
	/* py_open's key (bpf/python.bpf.h: struct tt_py_key) */
	struct { uint32_t tgid, pad; uint64_t addr; } k, next, *prev = NULL;
	int fd;

	if (!p || p->gone)
		return;
	p->gone = true;
	reg_read(p);
	for (int i = 0; i < 3; i++) {
		bpf_link__destroy(p->links[i]);
		p->links[i] = NULL;
		if (p->lfd[i] >= 0)
			close(p->lfd[i]);
		p->lfd[i] = -1;
	}
	k.tgid = (uint32_t)pid;
	bpf_map_delete_elem(bpf_map__fd(s->skel->maps.py_procs), &k.tgid);
	fd = bpf_map__fd(s->skel->maps.py_open);
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		if (next.tgid == (uint32_t)pid && !bpf_map_delete_elem(fd, &next)) {
			s->open_at_exit++;
			continue; /* deleted: the walk restarts from prev */
		}
		k = next;
		prev = &k;
	}
}

/* Whether a process not yet reaped names its lines in q's file. */
static bool family_needs(const struct py_session *s, const struct py_proc *q)
{
	for (size_t i = 0; i < s->n_procs; i++) {
		const struct py_proc *p = s->procs[i];

		if (p != q && !p->reaped && p->n_anc > 1 && p->anc[p->n_anc - 1] == q->pid)
			return true;
	}
	return false;
}

void py_session__reap(struct py_session *s, pid_t pid)
{
	size_t i, j = 0;

	if (!s)
		return;
	for (i = 0; i < s->n_procs; i++)
		if (s->procs[i]->pid == pid && s->procs[i]->gone)
			s->procs[i]->reaped = true;
	for (i = 0; i < s->n_procs; i++) {
		struct py_proc *p = s->procs[i];

		if (p->reaped && !family_needs(s, p)) {
			proc_free(p);
			continue;
		}
		s->procs[j++] = p;
	}
	s->n_procs = j;
}

bool py_session__take_new(struct py_session *s)
{
	bool n = s && s->new_probes;

	if (s)
		s->new_probes = false;
	return n;
}

void py_session__summary(FILE *f, const struct py_session *s, const struct tt_kstats *ks)
{
	if (!s)
		return;
	fprintf(f,
		"ttatrace: python: %" PRIu64 " probe hits, %" PRIu64 " spans opened, %" PRIu64
		" ended, %" PRIu64
		" primitives named, %" PRIu64 " task links; hits not ttatrace's (another sys.monitoring "
		"tool or settrace): %" PRIu64 ", unwinds of other frames: %" PRIu64
		", returns of calls begun before attach: %" PRIu64 ", out of ids: %" PRIu64 "\n",
		(uint64_t)ks->py_hits, (uint64_t)ks->py_starts, (uint64_t)ks->py_ends, s->named,
		(uint64_t)ks->py_task_links, (uint64_t)ks->py_foreign, (uint64_t)ks->py_unwind_other,
		(uint64_t)ks->py_no_entry, (uint64_t)ks->py_ids_full);
	if (s->procs_attached != 1 || s->not_prepared || s->open_at_exit || s->unnamed)
		fprintf(f, "ttatrace: python: %" PRIu64 " processes traced; %" PRIu64
			" without the bootstrap (not armed); %" PRIu64
			" primitives still running when their process exited (dropped); %" PRIu64
			" primitives not in their process's registry (named by address)\n",
			s->procs_attached, s->not_prepared, s->open_at_exit, s->unnamed);
}

size_t py_session__links(const struct py_session *s)
{
	return s ? (size_t)s->links : 0;
}

void py_session__counts(const struct py_session *s, uint64_t *procs, uint64_t *not_prepared,
			uint64_t *open_at_exit)
{
	*procs = s ? s->procs_attached : 0;
	*not_prepared = s ? s->not_prepared : 0;
	*open_at_exit = s ? s->open_at_exit : 0;
}
