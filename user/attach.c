/* Attach logic. Exit probes go in before entry probes so a call that starts
 * during attach is never left with an entry and no exit (which would leave a
 * stale frame); the reverse case (exit without entry) is counted by the kernel. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "attach.h"
#include "catalog.h"
#include "ttatrace.h"
#include "elfsyms.h"
#include "file_id.h"
#include "glob.h"
#include "denylist.h"
#include "insn.h"
#include "probes.h"
#include "procmaps.h"
#include "rettype.h"
#include "test_hold.h"
#include "uprobe_multi.h"

struct sym_cache_ent {
	uint64_t dev, ino;
	struct elf_syms *syms; /* NULL: not ELF or unreadable (errno in err) */
	int err;
	uint64_t *deny_addrs; /* addresses of denied functions, under any of their names */
	size_t n_deny;
	struct ret_types *rt; /* return types, read at the first probe of the file */
	bool rt_read;
	struct sym_cache_ent *next;
};

struct seen {
	pid_t pid;
	uint64_t dev, ino;
	struct seen *next;
};

struct attacher {
	struct bpf_program *entry, *exit;
	const struct bpf_program *file_ids; /* tt_file_ids: file identity as uprobes see it */
	int entry_multi_fd, exit_multi_fd;
	bool multi_ok;
	bool multi_proven; /* a uprobe_multi link worked once */
	const struct catalog *cat;
	int cfg_map_fd;
	FILE *dry_run; /* --list-probes: print what matched, attach nothing */
	bool dry_count_only; /* the dry run only counts (map sizing) */
	struct probe_table *pt;
	struct probe_spec *specs;
	size_t n_specs;
	int verbose;
	struct sym_cache_ent *cache;
	struct seen *seen;
	char searched[1024];
	/* a probe spec named a stripped file whose debug file was not found */
	char stripped_note[PATH_MAX + 768];
	size_t failed;
	bool shared_main; /* executables: links without a pid filter, one per file */
	bool at_entry; /* --probe-at-entry: no placement past the first instruction */
	bool allow_unsafe; /* --allow-unsafe-probes: the deny list is off */
	char cxx_example[256]; /* a traced function in C++ code, "" if none yet */
	/* the name a launched process is started as, before its exec (later: /proc) */
	pid_t started_pid;
	char started[256];
	uint32_t *edge_attaching; /* the kernel's count of link creations in progress */
};

/* The C++ exception warning is given once per run, whatever the attacher. */
static bool cxx_warned_run;

/* Denied names matched so far in this run, each warned about once whichever
 * attacher (the dry run that sizes maps, the real one) met it first. */
static struct {
	pthread_mutex_t lock;
	char **names;
	size_t n;
} skipped = { .lock = PTHREAD_MUTEX_INITIALIZER };

int probe_spec__parse(const char *text, struct probe_spec *spec, char *err, size_t errlen)
{
	const char *colon = NULL, *p;
	int gerr;

	memset(spec, 0, sizeof(*spec));
	for (p = text; *p; p++) {
		if (*p == ':') {
			if (p[1] == ':') {
				p++; /* C++ scope, not a separator */
				continue;
			}
			colon = p;
			break;
		}
	}
	if (colon && colon == text) {
		snprintf(err, errlen, "probe spec '%s' is malformed: empty BINARY before ':' (use [BINARY:]GLOB)", text);
		return -EINVAL;
	}
	spec->binary = colon ? strndup(text, colon - text) : NULL;
	spec->glob = strdup(colon ? colon + 1 : text);
	spec->text = strdup(text);
	if ((colon && !spec->binary) || !spec->glob || !spec->text) {
		probe_spec__clear(spec);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	gerr = spec->glob[0] ? glob_validate(spec->glob) : -EINVAL;
	if (gerr) {
		snprintf(err, errlen, "probe spec '%s' is malformed: %s (use [BINARY:]GLOB, glob syntax * ? [..])",
			 text, spec->glob[0] ? "invalid glob" : "empty GLOB");
		probe_spec__clear(spec);
		return -EINVAL;
	}
	return 0;
}

void probe_spec__clear(struct probe_spec *spec)
{
	free(spec->binary);
	free(spec->glob);
	free(spec->text);
	memset(spec, 0, sizeof(*spec));
}

struct attacher *attacher__new(struct bpf_program *entry, struct bpf_program *exit,
			       struct bpf_program *entry_multi, struct bpf_program *exit_multi,
			       struct probe_table *pt, struct probe_spec *specs, size_t n_specs,
			       int verbose)
{
	struct attacher *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->entry = entry;
	a->exit = exit;
	a->entry_multi_fd = entry_multi ? bpf_program__fd(entry_multi) : -1;
	a->exit_multi_fd = exit_multi ? bpf_program__fd(exit_multi) : -1;
	a->multi_ok = a->entry_multi_fd >= 0 && a->exit_multi_fd >= 0;
	a->cfg_map_fd = -1;
	a->pt = pt;
	a->specs = specs;
	a->n_specs = n_specs;
	a->verbose = verbose;
	return a;
}

void attacher__set_dry_run(struct attacher *a, FILE *out)
{
	a->dry_run = out;
}

void attacher__set_dry_run_count_only(struct attacher *a, bool count_only)
{
	a->dry_count_only = count_only;
}

void attacher__set_allow_unsafe(struct attacher *a, bool allow)
{
	if (a)
		a->allow_unsafe = allow;
}

void attacher__set_probe_at_entry(struct attacher *a, bool at_entry)
{
	if (a)
		a->at_entry = at_entry;
}

void attacher__set_catalog(struct attacher *a, const struct catalog *cat, int cfg_map_fd)
{
	a->cat = cat;
	a->cfg_map_fd = cfg_map_fd;
}

/* The kernel's view of a probe's captures and error rule (map probe_cfg). */
static int write_probe_cfg(struct attacher *a, struct tt_probe *p, const struct tt_probe_cfg *cfg)
{
	if (!(p->cookie_flags & ~TT_COOKIE_RET_MASK))
		return 0;
	if (a->cfg_map_fd >= 0 && bpf_map_update_elem(a->cfg_map_fd, &p->id, cfg, BPF_ANY)) {
		fprintf(stderr, "ttatrace: warning: no room for the captures of %s (more than %d "
				"probes with captures or error rules)\n", p->label, TT_MAX_CAP_PROBES);
		p->cookie_flags &= TT_COOKIE_RET_MASK;
	}
	return 0;
}

/* The return-type error rule of a function of the file at open_path (errtype); the
 * file's types are read once, at its first probe: its own DWARF or .BTF, else those of
 * the debug file its symbols came from (same addresses). */
static void ret_rule_for(struct attacher *a, struct sym_cache_ent *ce, const char *open_path,
			 const struct elf_sym *s, struct ret_rule *out)
{
	if (ce && !ce->rt_read) {
		const char *dbg = elf_syms__debug_file(ce->syms);

		ce->rt_read = true;
		ce->rt = ret_types__open(open_path);
		if (dbg && (!ce->rt || !ret_types__count(ce->rt))) {
			ret_types__free(ce->rt);
			ce->rt = ret_types__open(dbg);
		}
		if (a->verbose > 1)
			fprintf(stderr, "ttatrace: return types of %s: %zu functions (%s)\n", open_path,
				ret_types__count(ce->rt), ret_types__source(ce->rt));
	}
	ret_types__lookup(ce ? ce->rt : NULL, s->addr, s->name, out);
}

/* Catalogue entry, resolved captures and the kernel's capture config for a new
 * probe. A capture that cannot be resolved is reported and left out: the span
 * is still traced. */
/* The name a process was started as, read once per file attached. */
struct started_name {
	bool asked;
	char name[256];
};

static const char *started_name_of(struct attacher *a, pid_t pid, struct started_name *sn)
{
	if (!sn->asked) {
		sn->asked = true;
		if (a->started[0] && pid == a->started_pid)
			snprintf(sn->name, sizeof(sn->name), "%s", a->started);
		else if (pid > 0)
			procmaps__started_name(pid, sn->name, sizeof(sn->name));
	}
	return sn->name[0] ? sn->name : NULL;
}

static int configure_probe(struct attacher *a, struct tt_probe *p, const char *open_path,
			   const char *started, const char *debug_file)
{
	const struct cat_entry *e;
	struct capture caps[CAT_MAX_CAPTURES];
	struct tt_probe_cfg cfg = {};
	char err[256];
	int i, r, strs = 0;

	if (!a->cat)
		return 0;
	e = catalog__match_as(a->cat, p->binary_path, started, p->symbol);
	if (!e)
		return 0;
	p->cat = e;
	p->name = e->name ? e->name : p->symbol;
	p->kind = prim_kind__name(e->kind);
	cfg.ctx_key = -1;
	cfg.err_cap = -1;
	cfg.tp_cap = -1;
	if ((e->error.op != ERR_NONE && e->error.operand) || e->error.none) {
		/* the kernel judges the call as userspace will (histograms, tail rules);
		 * "none" is a rule too: the return type's does not apply */
		cfg.err_op = (__u8)e->error.op;
		cfg.err_value = e->error.value;
		cfg.err_ret_bits = ret_operand_bits(&e->error, &p->ret);
		p->cookie_flags |= TT_COOKIE_ERR_RULE;
	}
	if (!e->n_caps)
		return write_probe_cfg(a, p, &cfg);
	memset(caps, 0, sizeof(caps));
	/* field names from the file's DWARF, or its separate debug file's */
	r = catalog__resolve(e, debug_file ? debug_file : open_path, p->symbol, caps, err, sizeof(err));
	if (r) {
		fprintf(stderr, "ttatrace: warning: %s: captures of %s left out: %s\n",
			a->cat->path, p->label, err);
		if (cfg.err_op && strcmp(e->error.operand, "ret"))
			cfg.err_op = TT_ERR_NONE; /* its operand is not read: never an error */
		return write_probe_cfg(a, p, &cfg);
	}
	p->caps = calloc(e->n_caps, sizeof(*p->caps));
	if (!p->caps) {
		for (i = 0; i < e->n_caps; i++)
			capture__clear(&caps[i]);
		return -ENOMEM;
	}
	memcpy(p->caps, caps, e->n_caps * sizeof(*caps));
	p->n_caps = e->n_caps;
	cfg.n_caps = e->n_caps;
	cfg.ctx_key = e->ctx_key;
	for (i = 0; i < e->n_caps; i++) {
		const struct capture *c = &p->caps[i];
		struct tt_cap_spec *k = &cfg.caps[i];
		int j;

		k->src = c->src == CAP_SRC_RET;
		k->arg = c->arg;
		k->n_derefs = c->n_derefs;
		for (j = 0; j < c->n_derefs && j < TT_MAX_DEREFS; j++)
			k->deref_off[j] = c->deref_off[j];
		k->final = c->final == CAP_FINAL_READ ? TT_CAP_READ :
			   c->final == CAP_FINAL_STR ? TT_CAP_STR :
			   c->final == CAP_FINAL_STR_PTR ? TT_CAP_STR_PTR : TT_CAP_VALUE;
		k->final_off = c->final_off;
		k->size = c->size;
		if (k->final == TT_CAP_STR || k->final == TT_CAP_STR_PTR) {
			k->str_slot = strs++ & (TT_MAX_STR_CAPS - 1);
			if (!k->src && !strcmp(c->name, "traceparent")) {
				cfg.tp_cap = (__s8)i;
				p->cookie_flags |= TT_COOKIE_TRACEPARENT;
			}
		} else if (cfg.err_op && !strcmp(c->name, e->error.operand)) {
			cfg.err_cap = (__s8)i;
			if (c->final == CAP_FINAL_READ && c->size < 8 && c->type == CAP_T_S64)
				cfg.err_sext = (__u8)(64 - 8 * c->size);
		}
		p->cookie_flags |= k->src ? TT_COOKIE_RET_CAPS : TT_COOKIE_CAPS;
	}
	if (cfg.err_op && cfg.err_cap < 0 && strcmp(e->error.operand, "ret"))
		cfg.err_op = TT_ERR_NONE; /* a string or unknown operand: never an error */
	if (e->ctx_key >= 0)
		p->cookie_flags |= TT_COOKIE_CTX_KEY | TT_COOKIE_CAPS;
	/* ret captures still need the frame's capture area from the entry */
	if (p->cookie_flags & TT_COOKIE_RET_CAPS)
		p->cookie_flags |= TT_COOKIE_CAPS;
	return write_probe_cfg(a, p, &cfg);
}

void attacher__free(struct attacher *a)
{
	if (!a)
		return;
	while (a->cache) {
		struct sym_cache_ent *n = a->cache->next;

		elf_syms__free(a->cache->syms);
		ret_types__free(a->cache->rt);
		free(a->cache->deny_addrs);
		free(a->cache);
		a->cache = n;
	}
	while (a->seen) {
		struct seen *n = a->seen->next;

		free(a->seen);
		a->seen = n;
	}
	free(a);
}

/* Symbols of a file, parsed once per (dev, inode) for all processes. */
static struct sym_cache_ent *syms_for(struct attacher *a, pid_t pid, const char *map_path,
				      const char *open_path)
{
	struct sym_cache_ent *e;
	char root[32] = "";
	struct stat st;

	if (stat(open_path, &st))
		return NULL;
	for (e = a->cache; e; e = e->next)
		if (e->dev == st.st_dev && e->ino == st.st_ino)
			return e;
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->dev = st.st_dev;
	e->ino = st.st_ino;
	/* a stripped file's debug file, looked for in the target's root (a container's) */
	if (pid > 0)
		snprintf(root, sizeof(root), "/proc/%d/root", (int)pid);
	e->syms = elf_syms__open_in(open_path, root, map_path);
	e->err = e->syms ? 0 : -errno;
	if (a->verbose && elf_syms__debug_file(e->syms))
		fprintf(stderr, "ttatrace: symbols of %s from its debug file %s\n", map_path,
			elf_syms__debug_file(e->syms));
	for (size_t i = 0; i < elf_syms__count(e->syms); i++) {
		const struct elf_sym *s = elf_syms__get(e->syms, i);
		uint64_t *na;

		if (!denylist__has(s->name))
			continue;
		na = realloc(e->deny_addrs, (e->n_deny + 1) * sizeof(*na));
		if (!na)
			break; /* fails closed below: a matched name is still checked */
		e->deny_addrs = na;
		e->deny_addrs[e->n_deny++] = s->addr;
	}
	e->next = a->cache;
	a->cache = e;
	return e;
}

/* symbols matched in one file for one process, before attaching */
struct match_ctx {
	struct attacher *a;
	struct probe_spec *spec;
	pid_t pid;
	const char *map_path;
	uint64_t dev, ino; /* the file's identity (file_id.h): probes are per (pid, file) */
	const char *keep_path; /* how to reach the file again later (the governor) */
	struct elf_sym *syms;
	size_t n, cap;
	struct sym_cache_ent *ce;
	bool skipped_new; /* a denied name not warned about yet was matched */
	pid_t proc_pid;	  /* the process being attached (pid is 0 for a shared link) */
	bool is_main;	  /* the file is its executable */
	struct started_name sn; /* the name it was started as, read when first needed */
	bool gone;	  /* it exited meanwhile: the rest is skipped without a word */
};

/* The process has exited (or is a zombie): its maps and /proc/PID/root are gone,
 * so every further link would fail alike. */
static bool pid_gone(pid_t pid)
{
	char path[32], buf[512];
	ssize_t n;
	char *rp;
	int fd;

	if (pid <= 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ESRCH;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 && errno == ESRCH;
	buf[n] = '\0';
	rp = strrchr(buf, ')');
	return rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X');
}

/* After a failed link: true (and the remaining probes counted as not attached)
 * when the failure is the process having exited. */
static bool target_went_away(struct match_ctx *m, size_t n_left)
{
	if (!m->gone && !pid_gone(m->proc_pid))
		return false;
	m->gone = true;
	m->a->failed += n_left;
	return true;
}

static bool denied(const struct match_ctx *m, const struct elf_sym *sym)
{
	if (m->a->allow_unsafe)
		return false;
	if (denylist__has(sym->name))
		return true;
	for (size_t i = 0; m->ce && i < m->ce->n_deny; i++)
		if (m->ce->deny_addrs[i] == sym->addr)
			return true;
	return false;
}

/* Remembers a denied name for the one warning (attach_specs holds skipped.lock while
 * it matches); 0 or -ENOMEM. */
static int note_skipped(struct match_ctx *m, const char *name)
{
	char **ns;

	for (size_t i = 0; i < skipped.n; i++)
		if (!strcmp(skipped.names[i], name))
			return 0;
	ns = realloc(skipped.names, (skipped.n + 1) * sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	skipped.names = ns;
	if (!(skipped.names[skipped.n] = strdup(name)))
		return -ENOMEM;
	skipped.n++;
	m->skipped_new = true;
	return 0;
}

static int collect(const struct elf_sym *sym, void *vctx)
{
	struct match_ctx *m = vctx;
	size_t i;

	if (denied(m, sym))
		return note_skipped(m, sym->name);

	/* aliases and overlapping specs: one probe per address */
	if (probe_table__find(m->a->pt, m->pid, m->dev, m->ino, sym->offset))
		return 0;
	for (i = 0; i < m->n; i++) {
		if (m->syms[i].offset != sym->offset)
			continue;
		/* an exported name before a local alias (a debug file's __GI_setjmp is
		 * setjmp) */
		if (sym->from_dynsym && !m->syms[i].from_dynsym)
			m->syms[i] = *sym;
		return 0;
	}
	if (m->n == m->cap) {
		size_t nc = m->cap ? m->cap * 2 : 64;
		struct elf_sym *ns = realloc(m->syms, nc * sizeof(*ns));

		if (!ns)
			return -ENOMEM;
		m->syms = ns;
		m->cap = nc;
	}
	m->syms[m->n++] = *sym;
	m->spec->matched++;
	return 0;
}

/* Tests only: TTATRACE_TEST_HOLD_ATTACH_MS waits that long (once per run) between
 * a file's exit links and its entry links, so a test can end the target inside
 * attach, or have calls run between the two. */
static void attach_test_hold(void)
{
	static bool held;

	if (!held)
		held = test_hold("TTATRACE_TEST_HOLD_ATTACH_MS", "attaching in");
}

/* Around link creation: an exit without entry meanwhile is an attach edge, a call
 * that entered between a probe's exit link and its entry link (edges.bpf.h). */
static void edge_begin(struct attacher *a)
{
	if (a->edge_attaching)
		__atomic_add_fetch(a->edge_attaching, 1, __ATOMIC_SEQ_CST);
}

static void edge_end(struct attacher *a)
{
	if (a->edge_attaching)
		__atomic_sub_fetch(a->edge_attaching, 1, __ATOMIC_SEQ_CST);
}

void attacher__set_edge_flag(struct attacher *a, uint32_t *attaching)
{
	a->edge_attaching = attaching;
}

/* One probe at a time through perf events: the path for kernels before 6.6. */
static int attach_legacy(struct attacher *a, struct tt_probe *p, const char *open_path)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo);
	int err;

	uo.bpf_cookie = p->id | p->cookie_flags;
	uo.retprobe = true;
	edge_begin(a);
	/* pid 0 in the probe table: a shared link, every process (-1 to perf) */
	p->exit = bpf_program__attach_uprobe_opts(a->exit, p->pid ? p->pid : -1, open_path,
						  p->probe_off, &uo);
	if (!p->exit) {
		err = -errno;
		edge_end(a);
		return err;
	}
	uo.retprobe = false;
	p->entry = bpf_program__attach_uprobe_opts(a->entry, p->pid ? p->pid : -1, open_path,
						   p->probe_off, &uo);
	if (!p->entry) {
		err = -errno;
		bpf_link__destroy(p->exit);
		p->exit = NULL;
		edge_end(a);
		return err;
	}
	edge_end(a);
	return 0;
}

/* Attaches probes[lo, hi) with one uprobe_multi link pair. One instruction the
 * kernel cannot probe (e.g. a lock prefix) fails the whole batch, so a failed batch
 * is split in halves until the culprits are alone; they are reported and skipped.
 * Returns probes attached, or a negative errno if no link could be made at all
 * on a first, whole-batch try that says the kernel lacks the feature. */
static int attach_multi_range(struct attacher *a, struct match_ctx *m, struct tt_probe **probes,
			      uint64_t *offs, uint64_t *cookies, size_t lo, size_t hi,
			      const char *open_path)
{
	int efd, xfd, l, r;
	size_t mid;

	if (m->gone) {
		m->a->failed += hi - lo;
		return 0;
	}
	edge_begin(a);
	xfd = uprobe_multi__attach(a->exit_multi_fd, open_path, offs + lo, cookies + lo, hi - lo,
				   m->pid, true);
	if (xfd >= 0)
		attach_test_hold();
	efd = xfd < 0 ? xfd :
			uprobe_multi__attach(a->entry_multi_fd, open_path, offs + lo, cookies + lo,
					     hi - lo, m->pid, false);
	edge_end(a);
	if (efd >= 0) {
		if (probe_table__add_multi(a->pt, m->pid, efd, xfd, m->keep_path, probes + lo, hi - lo)) {
			close(efd);
			close(xfd);
			return -ENOMEM;
		}
		return hi - lo;
	}
	if (xfd >= 0)
		close(xfd);
	/* the program loaded, yet the kernel refuses the link type itself */
	if (a->multi_proven == false && lo == 0 && hi == m->n &&
	    (efd == -EOPNOTSUPP || efd == -ENOSYS))
		return efd;
	if (target_went_away(m, hi - lo))
		return 0;
	if (hi - lo == 1) {
		a->failed++;
		fprintf(stderr, "ttatrace: warning: cannot attach to %s in pid %d: %s\n",
			probes[lo]->label, m->pid,
			efd == -524 ? "the kernel refuses a probe on its first instruction" :
				      strerror(-efd));
		return 0;
	}
	mid = lo + (hi - lo) / 2;
	l = attach_multi_range(a, m, probes, offs, cookies, lo, mid, open_path);
	if (l < 0)
		return l;
	r = attach_multi_range(a, m, probes, offs, cookies, mid, hi, open_path);
	if (r < 0)
		return r;
	return l + r;
}

/* Attaches the collected symbols: one uprobe_multi link pair when the kernel has
 * them, else one perf-event pair per symbol. Returns probes attached. */
/* "emulated" at the entry, "emulated@+4" further in, "entry" when unclassified. */
static const char *placement_text(bool classified, uint8_t klass, uint64_t delta, char *buf,
				  size_t len)
{
	if (!classified)
		return "entry";
	if (!delta)
		return insn__class_name(klass);
	snprintf(buf, len, "%s@+%" PRIu64, insn__class_name(klass), delta);
	return buf;
}

static int attach_collected(struct attacher *a, struct match_ctx *m, const char *open_path)
{
	uint64_t *offs = NULL, *cookies = NULL;
	struct tt_probe **probes = NULL;
	char pbuf[40];
	int added = 0;
	size_t i;

	if (!m->n)
		return 0;
	offs = calloc(m->n, sizeof(*offs));
	cookies = calloc(m->n, sizeof(*cookies));
	probes = calloc(m->n, sizeof(*probes));
	if (!offs || !cookies || !probes) {
		added = -ENOMEM;
		goto cleanup;
	}
	for (i = 0; i < m->n; i++) {
		const struct elf_sym *s = &m->syms[i];

		probes[i] = probe_table__add(a->pt, m->pid, m->map_path, s->name, s->offset, s->addr,
					     s->nop5);
		if (!probes[i]) {
			added = -errno;
			goto cleanup;
		}
		probes[i]->file_dev = m->dev;
		probes[i]->file_ino = m->ino;
		probes[i]->probe_off = s->offset + (a->at_entry ? 0 : s->site_delta);
		probes[i]->classified = s->classified;
		probes[i]->entry_class = s->entry_class;
		probes[i]->site_class = a->at_entry ? s->entry_class : s->site_class;
		/* the type first: a catalogue rule on ret reads it at the type's width */
		ret_rule_for(a, m->ce, open_path, s, &probes[i]->ret);
		if (configure_probe(a, probes[i], open_path,
				    m->is_main && a->cat ? started_name_of(a, m->proc_pid, &m->sn) :
							   NULL,
				    m->ce ? elf_syms__debug_file(m->ce->syms) : NULL)) {
			added = -ENOMEM;
			goto cleanup;
		}
		probes[i]->cookie_flags |= TT_COOKIE_RET(probes[i]->ret.rule);
		offs[i] = probes[i]->probe_off;
		cookies[i] = probes[i]->id | probes[i]->cookie_flags;
	}
	if (a->multi_ok) {
		int r = attach_multi_range(a, m, probes, offs, cookies, 0, m->n, open_path);

		if (r >= 0) {
			added = r;
			if (r > 0)
				a->multi_proven = true;
			goto report;
		}
		if (r == -ENOMEM) {
			added = r;
			goto cleanup;
		}
		/* the kernel has no uprobe_multi after all: perf events from now on */
		a->multi_ok = false;
		if (a->verbose)
			fprintf(stderr, "ttatrace: uprobe_multi links unavailable (%s): attaching one by one\n",
				strerror(-r));
	}
	for (i = 0; i < m->n; i++) {
		int err;

		if (m->gone) {
			a->failed++;
			continue;
		}
		err = attach_legacy(a, probes[i], open_path);
		if (err && target_went_away(m, 1))
			continue;
		if (err) {
			a->failed++;
			fprintf(stderr, "ttatrace: warning: cannot attach to %s in pid %d: %s\n",
				probes[i]->label, m->pid, strerror(-err));
			continue;
		}
		added++;
	}
report:
	if (a->verbose > 1)
		for (i = 0; i < m->n; i++)
			fprintf(stderr, "ttatrace: attached %s+0x%llx pid %d [%s]\n", probes[i]->label,
				(unsigned long long)probes[i]->offset, m->pid,
				placement_text(probes[i]->classified, probes[i]->site_class,
					       probes[i]->probe_off - probes[i]->offset, pbuf,
					       sizeof(pbuf)));
cleanup:
	free(probes);
	free(cookies);
	free(offs);
	return added;
}

/* One line for the denied functions matched since skipped.names[from]. */
static void warn_skipped(size_t from)
{
	bool many = skipped.n - from > 1;

	fprintf(stderr, "ttatrace: warning: not probing ");
	for (size_t i = from; i < skipped.n; i++)
		fprintf(stderr, "%s%s", i > from ? ", " : "", skipped.names[i]);
	fprintf(stderr, ": %s a return address for a later jump or return%s twice, which a "
			"return probe breaks (--allow-unsafe-probes to probe anyway)\n",
		many ? "they save" : "it saves", many ? "" : "s");
}

/* Whether BINARY names this file: its path in the maps, the file itself, or, for the
 * executable, the name the process was started as (a symlink's name: redis-server
 * for /usr/bin/redis-server -> redis-check-rdb). */
static bool binary_matches(struct attacher *a, const char *spec, pid_t pid, const char *map_path,
			   const char *open_path, bool is_main, struct started_name *sn)
{
	const char *started;

	if (procmaps__name_matches(spec, map_path) || procmaps__name_matches(spec, open_path))
		return true;
	if (!is_main || strchr(spec, '/'))
		return false;
	started = started_name_of(a, pid, sn);
	return started && procmaps__name_matches(spec, started);
}

/* The file at open_path, opened once: its symbols, its identity and the probes'
 * target are then the same file even if the process execs (or the path is replaced)
 * meanwhile, which a path opened three times would not guarantee (a probe placed by
 * one file's symbols in another file breaks that program). want_ino: the inode
 * /proc/PID/maps showed (0: no check); a different file there now is skipped, 0.
 * The fd (or -1) goes to *fd, its /proc/self/fd path to fd_path. */
static int open_module(const char *open_path, uint64_t want_ino, int *fd, char *fd_path, size_t len)
{
	struct stat st;

	*fd = open(open_path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return -errno;
	if (fstat(*fd, &st) || (want_ino && (uint64_t)st.st_ino != want_ino)) {
		close(*fd);
		*fd = -1;
		return 1;
	}
	snprintf(fd_path, len, "/proc/self/fd/%d", *fd);
	return 0;
}

static int attach_specs(struct attacher *a, pid_t pid, const char *map_path, const char *open_path,
			bool is_main, uint64_t want_ino, char *err, size_t errlen)
{
	/* a shared executable: one link set for every process running the file, the
	 * kernel's traced_tgids saying whose calls count (forked children included) */
	struct match_ctx m = { .a = a, .pid = is_main && a->shared_main ? 0 : pid, .map_path = map_path,
			       .proc_pid = pid, .is_main = is_main, .keep_path = open_path };
	struct sym_cache_ent *ce = NULL;
	const char *path = open_path;
	char fd_path[64];
	size_t skipped_before;
	int total = 0, fd = -1, r;
	size_t i;

	r = open_module(open_path, want_ino, &fd, fd_path, sizeof(fd_path));
	if (r > 0)
		return 0; /* not the file the maps named any more: its exec event follows */
	if (!r)
		path = fd_path;

	pthread_mutex_lock(&skipped.lock);
	skipped_before = skipped.n;

	for (i = 0; i < a->n_specs; i++) {
		struct probe_spec *s = &a->specs[i];
		int r;

		if (s->binary &&
		    !binary_matches(a, s->binary, pid, map_path, open_path, is_main, &m.sn))
			continue;
		if (!ce) {
			ce = syms_for(a, pid, map_path, path);
			m.ce = ce;
			/* shared links are one set per file: the file as the kernel's
			 * uprobes know it, whatever path or container reached it */
			if (ce && ce->syms &&
			    file_id__of(m.pid ? NULL : a->file_ids, path, &m.dev, &m.ino)) {
				m.dev = ((uint64_t)major(ce->dev) << 20) | minor(ce->dev);
				m.ino = ce->ino;
			}
		}
		if (!ce || !ce->syms) {
			int e = ce ? ce->err : -errno;

			if (pid_gone(pid)) {
				m.gone = true;
				break;
			}

			/* an explicitly named binary that is unusable is an error; an
			 * unnamed library we cannot read is only skipped */
			if (s->binary) {
				snprintf(err, errlen, "cannot read symbols of %s: %s", map_path,
					 e == -ENOEXEC ? "not an ELF file" : strerror(-e));
				free(m.syms);
				pthread_mutex_unlock(&skipped.lock);
				if (fd >= 0)
					close(fd);
				return e ? e : -EIO;
			}
			break;
		}
		m.spec = s;
		r = elf_syms__match(ce->syms, s->glob, collect, &m);
		if (r < 0) {
			snprintf(err, errlen, "matching %s in %s: %s", s->text, map_path, strerror(-r));
			free(m.syms);
			pthread_mutex_unlock(&skipped.lock);
			if (fd >= 0)
				close(fd);
			return r;
		}
		/* nothing in a stripped file the spec names: say what would have the symbols */
		if (r == 0 && (s->binary || is_main) && !a->stripped_note[0] &&
		    elf_syms__debug_missing(ce->syms))
			snprintf(a->stripped_note, sizeof(a->stripped_note),
				 "%s has no .symtab and %s: install its debug symbols (its -dbg or "
				 "-dbgsym package) or name their directory with --debug-dir",
				 map_path, elf_syms__debug_missing(ce->syms));
	}
	if (m.skipped_new)
		warn_skipped(skipped_before);
	pthread_mutex_unlock(&skipped.lock);
	/* an exception can cross a traced function in C++ code (its file has C++
	 * frames, or the function's name is mangled) */
	for (i = 0; i < m.n && !a->dry_run && !a->cxx_example[0]; i++)
		if (!strncmp(m.syms[i].name, "_Z", 2) || (ce && elf_syms__is_cxx(ce->syms)))
			snprintf(a->cxx_example, sizeof(a->cxx_example), "%s:%s",
				 strrchr(map_path, '/') ? strrchr(map_path, '/') + 1 : map_path,
				 m.syms[i].name);
	if (a->dry_run) {
		for (i = 0; i < m.n && !a->dry_count_only; i++) {
			const struct elf_sym *s = &m.syms[i];
			const struct cat_entry *e = a->cat ? catalog__match(a->cat, map_path, s->name) : NULL;
			struct ret_rule rr;
			char pbuf[40], ebuf[128];

			ret_rule_for(a, ce, open_path, s, &rr);
			fprintf(a->dry_run, "%s\t%s\t0x%" PRIx64 "\t0x%" PRIx64 "\t%s\t%s\t%s\n", map_path,
				s->name, s->offset, s->addr,
				s->classified ? insn__class_name(s->entry_class) : "-",
				placement_text(s->classified,
					       a->at_entry ? s->entry_class : s->site_class,
					       a->at_entry ? 0 : s->site_delta, pbuf, sizeof(pbuf)),
				ret_rule__text(e ? &e->error : NULL, &rr, ebuf, sizeof(ebuf)));
		}
		total = m.n;
	} else {
		total = attach_collected(a, &m, path);
	}
	free(m.syms);
	if (fd >= 0)
		close(fd);
	if (m.gone) {
		snprintf(err, errlen, "pid %d exited during attach", (int)pid);
		return -ESRCH;
	}
	if (total < 0)
		snprintf(err, errlen, "attaching to %s: %s", map_path, strerror(-total));
	return total;
}

static bool seen_before(struct attacher *a, pid_t pid, uint64_t dev, uint64_t ino)
{
	struct seen *s;

	for (s = a->seen; s; s = s->next)
		if (s->pid == pid && s->dev == dev && s->ino == ino)
			return true;
	s = calloc(1, sizeof(*s));
	if (s) {
		s->pid = pid;
		s->dev = dev;
		s->ino = ino;
		s->next = a->seen;
		a->seen = s;
	}
	return false;
}

/* A C++ exception that meets a pending return probe ends the program: the kernel
 * has replaced the return address with its trampoline, which the unwinder cannot
 * step through. Putting the addresses back needs bpf_probe_write_user, which a
 * locked-down kernel refuses, so the user is told once per process that maps a C++
 * runtime and has probes. */
static void warn_cxx(struct attacher *a, pid_t pid, const char *runtime)
{
	cxx_warned_run = true;
	fprintf(stderr,
		"ttatrace: warning: pid %d uses a C++ runtime (%s) and %s is C++ code: an exception "
		"thrown through a traced function ends the program (the kernel's return probe hides "
		"the return address from the unwinder); trace functions that no exception crosses "
		"(said once per run)\n",
		pid, runtime, a->cxx_example);
}

static bool pid_has_probes(const struct attacher *a, pid_t pid)
{
	uint32_t i, n = probe_table__count(a->pt);

	for (i = 0; i < n; i++) {
		const struct tt_probe *p = probe_table__get(a->pt, i);

		if (p && (p->pid == pid || !p->pid))
			return true;
	}
	return false;
}

static const char *cxx_runtime(const struct proc_module *mods, size_t n)
{
	static const char *const libs[] = { "libstdc++", "libc++abi", "libc++." };
	size_t i, j;

	for (i = 0; i < n; i++) {
		const char *base = strrchr(mods[i].path, '/');

		base = base ? base + 1 : mods[i].path;
		for (j = 0; j < sizeof(libs) / sizeof(libs[0]); j++)
			if (!strncmp(base, libs[j], strlen(libs[j])))
				return base;
	}
	return NULL;
}

int attacher__scan_pid(struct attacher *a, pid_t pid, char *err, size_t errlen)
{
	struct proc_module *mods = NULL;
	size_t n = 0, i, at = 0;
	int r, total = 0;

	r = procmaps__read(pid, &mods, &n);
	if (r) {
		if (r == -ESRCH || r == -ENOENT)
			snprintf(err, errlen, "pid %d exited during attach", pid);
		else if (r == -EACCES || r == -EPERM)
			snprintf(err, errlen,
				 "not permitted to read /proc/%d/maps (run as root, or with CAP_SYS_PTRACE)", pid);
		else
			snprintf(err, errlen, "reading /proc/%d/maps: %s", pid, strerror(-r));
		return r == -ENOENT ? -ESRCH : r;
	}
	if (!n && pid_gone(pid)) {
		/* a zombie's maps are empty */
		snprintf(err, errlen, "pid %d exited during attach", pid);
		return -ESRCH;
	}
	a->searched[0] = '\0';
	for (i = 0; i < n; i++) {
		const char *base = strrchr(mods[i].path, '/');

		base = base ? base + 1 : mods[i].path;
		if (at < sizeof(a->searched))
			at += snprintf(a->searched + at, sizeof(a->searched) - at, "%s%s", i ? ", " : "", base);
		if (seen_before(a, pid, ((uint64_t)mods[i].dev_major << 32) | mods[i].dev_minor,
				mods[i].inode))
			continue;
		r = attach_specs(a, pid, mods[i].path, mods[i].open_path, mods[i].is_main, mods[i].inode,
				 err, errlen);
		if (r < 0) {
			total = r;
			break;
		}
		total += r;
	}
	if (total >= 0 && !a->dry_run && !cxx_warned_run && a->cxx_example[0]) {
		const char *rt = cxx_runtime(mods, n);

		if (rt && pid_has_probes(a, pid))
			warn_cxx(a, pid, rt);
	}
	procmaps__free(mods, n);
	return total;
}

int attacher__attach_file(struct attacher *a, pid_t pid, const char *path, bool is_main,
			  char *err, size_t errlen)
{
	snprintf(a->searched, sizeof(a->searched), "%s", path);
	return attach_specs(a, pid, path, path, is_main, 0, err, errlen);
}

void attacher__set_started_name(struct attacher *a, pid_t pid, const char *name)
{
	const char *base = strrchr(name, '/');

	a->started_pid = pid;
	snprintf(a->started, sizeof(a->started), "%s", base ? base + 1 : name);
}

void attacher__set_shared_main(struct attacher *a, bool on)
{
	a->shared_main = on;
}

void attacher__set_file_ids(struct attacher *a, const struct bpf_program *iter)
{
	a->file_ids = iter;
}

void attacher__forget_pid(struct attacher *a, pid_t pid)
{
	struct seen **pp = &a->seen;

	while (*pp) {
		if ((*pp)->pid == pid) {
			struct seen *d = *pp;

			*pp = d->next;
			free(d);
		} else {
			pp = &(*pp)->next;
		}
	}
}

const char *attacher__searched(const struct attacher *a)
{
	return a->searched;
}

const char *attacher__stripped_note(const struct attacher *a)
{
	return a->stripped_note;
}

size_t attacher__failed(const struct attacher *a)
{
	return a->failed;
}
