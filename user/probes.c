/* Probe table storage and detach order. */
#include <bpf/libbpf.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"
#include "probes.h"
#include "test_hold.h"
#include "uprobe_multi.h"
#include "ttatrace.h"

struct multi_link {
	pid_t pid;
	int entry_fd, exit_fd;
	char *open_path;
	uint32_t *ids; /* probes in the group */
	size_t n_ids;
};

struct probe_table {
	struct tt_probe **v;
	uint32_t n, cap;
	struct multi_link *ml;
	size_t n_ml;
	/* links taken out and to take out in the detach under way (read by another
	 * thread for progress) */
	size_t detach_done, detach_total;
};

struct probe_table *probe_table__new(void)
{
	return calloc(1, sizeof(struct probe_table));
}

static void probe_free(struct tt_probe *p)
{
	if (!p)
		return;
	bpf_link__destroy(p->entry);
	bpf_link__destroy(p->exit);
	free(p->binary_path);
	free(p->binary_name);
	free(p->symbol);
	free(p->label);
	if (p->caps) {
		int i;

		for (i = 0; i < p->n_caps; i++)
			capture__clear(&p->caps[i]);
		free(p->caps);
	}
	free(p);
}

void probe_table__free(struct probe_table *t)
{
	uint32_t i;

	if (!t)
		return;
	probe_table__detach_all(t);
	for (i = 0; i < t->n; i++)
		probe_free(t->v[i]);
	free(t->v);
	for (i = 0; i < t->n_ml; i++) {
		free(t->ml[i].open_path);
		free(t->ml[i].ids);
	}
	free(t->ml);
	free(t);
}

static int table_grow(struct probe_table *t)
{
	if (t->n >= TT_MAX_PROBES) {
		errno = E2BIG;
		return -1;
	}
	if (t->n == t->cap) {
		uint32_t ncap = t->cap ? t->cap * 2 : 64;
		struct tt_probe **nv = realloc(t->v, ncap * sizeof(*nv));

		if (!nv)
			return -1;
		t->v = nv;
		t->cap = ncap;
	}
	return 0;
}

static struct tt_probe *probe_new(uint32_t id, pid_t pid, const char *binary_path,
				  const char *symbol, uint64_t offset, uint64_t addr, bool nop5);

struct tt_probe *probe_table__add(struct probe_table *t, pid_t pid, const char *binary_path,
				  const char *symbol, uint64_t offset, uint64_t addr, bool nop5)
{
	struct tt_probe *p;

	if (table_grow(t))
		return NULL;
	p = probe_new(t->n, pid, binary_path, symbol, offset, addr, nop5);
	if (p)
		t->v[t->n++] = p;
	return p;
}

int probe_table__reserve(struct probe_table *t, uint32_t n)
{
	while (n--) {
		if (table_grow(t))
			return -errno;
		t->v[t->n++] = NULL;
	}
	return 0;
}

struct tt_probe *probe_table__set(struct probe_table *t, uint32_t id, pid_t pid,
				  const char *binary_path, const char *symbol)
{
	struct tt_probe *p;

	if (id >= t->n || t->v[id]) {
		errno = EEXIST;
		return NULL;
	}
	p = probe_new(id, pid, binary_path, symbol, 0, 0, false);
	if (p)
		t->v[id] = p;
	return p;
}

static struct tt_probe *probe_new(uint32_t id, pid_t pid, const char *binary_path,
				  const char *symbol, uint64_t offset, uint64_t addr, bool nop5)
{
	struct tt_probe *p;
	const char *base;

	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	base = strrchr(binary_path, '/');
	base = base ? base + 1 : binary_path;
	p->id = id;
	p->pid = pid;
	p->binary_path = strdup(binary_path);
	p->binary_name = strdup(base);
	p->symbol = strdup(symbol);
	if (!p->binary_path || !p->binary_name || !p->symbol ||
	    asprintf(&p->label, "%s:%s", base, symbol) < 0) {
		p->label = NULL;
		probe_free(p);
		errno = ENOMEM;
		return NULL;
	}
	p->name = p->symbol;
	p->kind = "step";
	p->offset = offset;
	p->probe_off = offset;
	p->addr = addr;
	p->nop5 = nop5;
	return p;
}

struct tt_probe *probe_table__get(const struct probe_table *t, uint32_t id)
{
	return id < t->n ? t->v[id] : NULL;
}

uint32_t probe_table__count(const struct probe_table *t)
{
	return t->n;
}

struct tt_probe *probe_table__find(const struct probe_table *t, pid_t pid, uint64_t dev, uint64_t ino,
				   uint64_t offset)
{
	uint32_t i;

	for (i = 0; i < t->n; i++) {
		struct tt_probe *p = t->v[i];

		if (p && p->pid == pid && p->offset == offset && p->file_dev == dev && p->file_ino == ino)
			return p;
	}
	return NULL;
}

/* Closing a uprobe perf event waits for an SRCU grace period in the kernel
 * (~100 ms here): one at a time, a thousand probes take minutes to detach.
 * Concurrent closes share grace periods, so detach from a pool of threads. */
#define DETACH_THREADS 32

struct detach_job {
	struct probe_table *t;
	pid_t pid;
	bool entries; /* entries pass, then exits pass */
	uint32_t next; /* shared cursor */
	pthread_mutex_t lock;
};

static void *detach_worker(void *arg)
{
	struct detach_job *j = arg;

	for (;;) {
		struct tt_probe *p;
		struct bpf_link **l;
		uint32_t i;

		pthread_mutex_lock(&j->lock);
		i = j->next++;
		pthread_mutex_unlock(&j->lock);
		if (i >= j->t->n)
			return NULL;
		p = j->t->v[i];
		if (!p || (j->pid && p->pid != j->pid))
			continue;
		l = j->entries ? &p->entry : &p->exit;
		if (!*l)
			continue;
		bpf_link__destroy(*l);
		*l = NULL;
		__atomic_add_fetch(&j->t->detach_done, 1, __ATOMIC_RELAXED);
	}
}

static void detach_pass(struct probe_table *t, pid_t pid, bool entries)
{
	struct detach_job j = { .t = t, .pid = pid, .entries = entries };
	pthread_t th[DETACH_THREADS];
	int n = 0, i;
	uint32_t k, links = 0;

	for (k = 0; k < t->n; k++)
		if (t->v[k] && (!pid || t->v[k]->pid == pid) && (entries ? t->v[k]->entry : t->v[k]->exit))
			links++;
	if (!links)
		return;
	pthread_mutex_init(&j.lock, NULL);
	for (i = 0; i < DETACH_THREADS && (uint32_t)i < links; i++) {
		if (pthread_create(&th[n], NULL, detach_worker, &j))
			break;
		n++;
	}
	detach_worker(&j); /* also works alone if no thread could start */
	for (i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&j.lock);
}

int probe_table__add_multi(struct probe_table *t, pid_t pid, int entry_fd, int exit_fd,
			   const char *open_path, struct tt_probe *const *probes, size_t n)
{
	struct multi_link *nm = realloc(t->ml, (t->n_ml + 1) * sizeof(*nm));
	struct multi_link g = { pid, entry_fd, exit_fd, NULL, NULL, n };
	size_t i;

	if (!nm)
		return -ENOMEM;
	t->ml = nm;
	g.open_path = strdup(open_path);
	g.ids = calloc(n ? n : 1, sizeof(*g.ids));
	if (!g.open_path || !g.ids) {
		free(g.open_path);
		free(g.ids);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++)
		g.ids[i] = probes[i]->id;
	t->ml[t->n_ml++] = g;
	return 0;
}

/* Re-creates a uprobe_multi group without its detached probes. */
static int multi_rebuild(struct probe_table *t, struct multi_link *g, int entry_prog_fd,
			 int exit_prog_fd)
{
	uint64_t *offs = NULL, *cookies = NULL;
	uint32_t *keep = NULL;
	int err = 0, fd, nfd_entry = -1, nfd_exit = -1;
	size_t j, n = 0;

	offs = calloc(g->n_ids ? g->n_ids : 1, sizeof(*offs));
	cookies = calloc(g->n_ids ? g->n_ids : 1, sizeof(*cookies));
	keep = calloc(g->n_ids ? g->n_ids : 1, sizeof(*keep));
	if (!offs || !cookies || !keep) {
		err = -ENOMEM;
		goto out;
	}
	for (j = 0; j < g->n_ids; j++) {
		struct tt_probe *q = probe_table__get(t, g->ids[j]);

		if (!q || q->detached)
			continue;
		offs[n] = q->probe_off;
		cookies[n] = q->id | q->cookie_flags;
		keep[n++] = q->id;
	}
	/* new links first, old ones after: no instant without probes. While both are
	 * on, the kernel drops the second entry of a call and counts its second exit
	 * as an exit without entry. */
	if (n) {
		fd = uprobe_multi__attach(exit_prog_fd, g->open_path, offs, cookies, n, g->pid, true);
		if (fd < 0) {
			err = fd;
			goto out;
		}
		nfd_exit = fd;
		fd = uprobe_multi__attach(entry_prog_fd, g->open_path, offs, cookies, n, g->pid, false);
		if (fd < 0) {
			close(nfd_exit);
			err = fd;
			goto out;
		}
		nfd_entry = fd;
	}
	if (g->entry_fd >= 0)
		close(g->entry_fd);
	close(g->exit_fd);
	g->entry_fd = nfd_entry;
	g->exit_fd = nfd_exit;
	memcpy(g->ids, keep, n * sizeof(*keep));
	g->n_ids = n;
out:
	free(offs);
	free(cookies);
	free(keep);
	return err;
}

static struct multi_link *multi_of(struct probe_table *t, uint32_t id)
{
	size_t i, j;

	for (i = 0; i < t->n_ml; i++)
		for (j = 0; j < t->ml[i].n_ids; j++)
			if (t->ml[i].ids[j] == id && t->ml[i].exit_fd >= 0)
				return &t->ml[i];
	return NULL;
}

int probe_table__detach_probes(struct probe_table *t, const uint32_t *ids, size_t n,
			       int entry_prog_fd, int exit_prog_fd, int *res)
{
	bool *rebuild = NULL;
	size_t i, k;
	int err = 0;

	if (t->n_ml) {
		rebuild = calloc(t->n_ml, sizeof(*rebuild));
		if (!rebuild)
			return -ENOMEM;
	}
	for (k = 0; k < n; k++) {
		struct tt_probe *p = probe_table__get(t, ids[k]);
		struct multi_link *g;

		res[k] = 0;
		if (!p || p->detached) {
			res[k] = -ENOENT;
			continue;
		}
		if (p->entry || p->exit) {
			bpf_link__destroy(p->entry);
			bpf_link__destroy(p->exit);
			p->entry = p->exit = NULL;
			p->detached = true;
			continue;
		}
		g = multi_of(t, ids[k]);
		if (!g) {
			res[k] = -ENOENT; /* no uprobe of its own (a Python code object) */
			continue;
		}
		p->detached = true;
		rebuild[g - t->ml] = true;
	}
	/* one re-creation per group, however many of its probes go */
	for (i = 0; i < t->n_ml; i++) {
		int e;

		if (!rebuild || !rebuild[i])
			continue;
		e = multi_rebuild(t, &t->ml[i], entry_prog_fd, exit_prog_fd);
		if (!e)
			continue;
		/* the old links stay on: so do these probes */
		for (k = 0; k < n; k++)
			if (multi_of(t, ids[k]) == &t->ml[i]) {
				probe_table__get(t, ids[k])->detached = false;
				res[k] = e;
			}
		if (!err)
			err = e;
	}
	free(rebuild);
	return err;
}

int probe_table__detach_probe(struct probe_table *t, uint32_t id, int entry_prog_fd,
			      int exit_prog_fd)
{
	int res, err;

	err = probe_table__detach_probes(t, &id, 1, entry_prog_fd, exit_prog_fd, &res);
	return err ? err : res;
}

static void close_multi(struct probe_table *t, pid_t pid, bool entries)
{
	size_t i;

	for (i = 0; i < t->n_ml; i++) {
		int *fd = entries ? &t->ml[i].entry_fd : &t->ml[i].exit_fd;

		if ((pid && t->ml[i].pid != pid) || *fd < 0)
			continue;
		close(*fd);
		*fd = -1;
		__atomic_add_fetch(&t->detach_done, 1, __ATOMIC_RELAXED);
	}
}

/* Links of pid (0: all) still in, to count the detach's progress against. */
static size_t links_in(const struct probe_table *t, pid_t pid)
{
	size_t n = 0, i;

	for (i = 0; i < t->n_ml; i++)
		if (!pid || t->ml[i].pid == pid)
			n += (t->ml[i].entry_fd >= 0) + (t->ml[i].exit_fd >= 0);
	for (i = 0; i < t->n; i++)
		if (t->v[i] && (!pid || t->v[i]->pid == pid))
			n += !!t->v[i]->entry + !!t->v[i]->exit;
	return n;
}

void probe_table__detach_progress(const struct probe_table *t, size_t *done, size_t *total)
{
	*done = __atomic_load_n(&t->detach_done, __ATOMIC_RELAXED);
	*total = __atomic_load_n(&t->detach_total, __ATOMIC_RELAXED);
}

void probe_table__detach_pid(struct probe_table *t, pid_t pid)
{
	__atomic_store_n(&t->detach_done, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&t->detach_total, links_in(t, pid), __ATOMIC_RELAXED);
	/* Exits first. Every link's release waits for the kernel's uretprobe SRCU grace
	 * period (6.12+), and a pending return probe holds that SRCU lease until the
	 * call returns, or until a 100 ms per-thread timer turns it into a reference:
	 * a timer each new return probe on that thread pushes back. So a traced call
	 * still open (main, a server's loop) with a hot traced callee on its thread kept
	 * close() waiting for minutes (uninterruptible, SIGKILL included). With the exit
	 * links out first no return probe is set any more, the timer fires, and the
	 * wait is one period. The process no longer counts as traced here (or the
	 * kernel's stop flag holds new entries back), so the entries the exits leave
	 * open are never paired. */
	if (!pid && t->detach_total)
		/* tests only: calls cut by the detach, its progress lines */
		test_hold("TTATRACE_TEST_HOLD_DETACH_MS", "exit probes out in");
	close_multi(t, pid, false);
	detach_pass(t, pid, false);
	close_multi(t, pid, true);
	detach_pass(t, pid, true);
}

void probe_table__detach_all(struct probe_table *t)
{
	probe_table__detach_pid(t, 0);
}
