/* The tracing lifecycle shared by every mode: check the system, load the BPF
 * skeleton, attach to the targets, drain the ring buffer until stopped, detach,
 * summarise (see session.h). */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <pthread.h>
#include <libelf.h>
#include <limits.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/epoll.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include "assembler.h"
#include "attach.h"
#include "caps.h"
#include "catalog.h"
#include "cgroup_ident.h"
#include "glob.h"
#include "logjson.h"
#include "cli.h"
#include "drop_warn.h"
#include "elfsyms.h"
#include "exit_deadline.h"
#include "flamegraph_cmd.h"
#include "flamegraph.h"
#include "folded.h"
#include "governor.h"
#include "hist.h"
#include "metrics.h"
#include "otlp.h"
#include "otlp_http.h"
#include "otlp_json.h"
#include "otlp_metrics.h"
#include "out_open.h"
#include "outputs.h"
#include "probes.h"
#include "python.h"
#include "procmaps.h"
#include "prom_http.h"
#include "sample.h"
#include "sample_kernel.h"
#include "session.h"
#include "test_hold.h"
#include "needed_libs.h"
#include "summary.h"
#include "u64map.h"
#include "uprobe_multi.h"
#include "ttatrace.skel.h"

static volatile sig_atomic_t exiting;
static volatile sig_atomic_t reload; /* SIGHUP in agent mode */
static bool hup_reloads;

static void on_signal(int sig)
{
	if (sig == SIGHUP && hup_reloads) {
		reload = 1;
		return;
	}
	/* a second one: stop waiting for the exporters (they count what is left) */
	if (exiting)
		exit_deadline__expire();
	exiting = sig;
}

void tt_die_msg(const char *fmt, ...)
{
	va_list ap;

	fputs(logjson__error_mark(), stderr);
	fputs("ttatrace: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int verbosity;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG && verbosity < 3)
		return 0;
	if (level == LIBBPF_INFO && verbosity < 2)
		return 0;
	if (level == LIBBPF_WARN && verbosity < 1)
		return 0;
	return vfprintf(stderr, fmt, args);
}

static uint64_t now_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* --- targets --------------------------------------------------------------- */

struct target {
	pid_t pid;
	bool launched;
	bool alive;
	unsigned long long starttime; /* /proc/PID/stat field 22: detects pid reuse */
	char exe[PATH_MAX];
	char started[256]; /* the name it was started as */
	char *cmdline;
	struct tt_process proc;
	pid_t ppid; /* a followed child: the traced process that forked it; 0 for a root */
	uint64_t gone_ns; /* no longer followed: when (freed a trace timeout later) */
	/* agent mode: identity (tt_process points here) */
	char *service;
	char instance_id[320];
	struct cgroup_ident cg;
	/* agent: a Python process whose libpython was not mapped yet at its exec: its
	 * attach is tried again each drain tick until then */
	uint64_t py_retry_until;
	int env_retry; /* ticks left to read its environment (OTEL_SERVICE_NAME) again */
	bool reaping; /* being freed (reap_children) */
};

static unsigned long long proc_starttime(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long st = 0;
	ssize_t n;
	int fd, field;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* the command name may hold spaces and parentheses: fields follow the last ')' */
	p = strrchr(buf, ')');
	if (!p)
		return 0;
	for (field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (p)
		st = strtoull(p + 1, NULL, 10);
	return st;
}

static char *proc_cmdline(pid_t pid)
{
	char path[64], buf[4096];
	ssize_t n, i;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return strdup("");
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return strdup("");
	for (i = 0; i < n - 1; i++)
		if (!buf[i])
			buf[i] = ' ';
	buf[n] = '\0';
	return strdup(buf);
}

static void target_fill(struct target *t)
{
	const char *base;

	if (procmaps__exe_path(t->pid, t->exe, sizeof(t->exe)))
		snprintf(t->exe, sizeof(t->exe), "?");
	free(t->cmdline);
	t->cmdline = proc_cmdline(t->pid);
	t->starttime = proc_starttime(t->pid);
	base = strrchr(t->exe, '/');
	t->proc.pid = t->pid;
	t->proc.exe_path = t->exe;
	/* the name it was started as (a symlink's, like redis-server's), which is
	 * process.executable.name and the default service name; the path stays the file */
	if (procmaps__started_name(t->pid, t->started, sizeof(t->started)) || !t->started[0])
		snprintf(t->started, sizeof(t->started), "%.255s", base ? base + 1 : t->exe);
	t->proc.exe_name = t->started;
	t->proc.cmdline = t->cmdline;
}

static bool target_alive(struct target *t)
{
	int st;

	if (!t->alive)
		return false;
	if (t->launched) {
		pid_t r = waitpid(t->pid, &st, WNOHANG);

		if (r == t->pid && (WIFEXITED(st) || WIFSIGNALED(st))) {
			t->alive = false;
			if (WIFEXITED(st))
				fprintf(stderr, "ttatrace: pid %d exited with status %d\n", t->pid, WEXITSTATUS(st));
			else
				fprintf(stderr, "ttatrace: pid %d killed by signal %d\n", t->pid, WTERMSIG(st));
		}
		return t->alive;
	}
	if (kill(t->pid, 0) && errno == ESRCH)
		t->alive = false;
	else if (proc_starttime(t->pid) != t->starttime)
		t->alive = false; /* the pid now names another process */
	return t->alive;
}

/* --- callbacks for the assembler ------------------------------------------- */

struct launch {
	pid_t pid;
	int gate_w; /* write one byte: exec */
	int err_r; /* reads errno if exec failed; EOF when exec succeeded */
};

struct session {
	struct tt_opts o;
	struct probe_spec specs[MAX_SPECS];
	size_t n_specs;
	struct catalog *cat;
	struct target **targets; /* roots (-p, launched, agent matches), followed children */
	bool agent; /* ttatrace agent: roots come and go with the catalogue's targets: */
	char host[256];
	struct probed_exe { /* programs in probed_exes, and what selected them */
		uint64_t dev, ino;
		char *service; /* the selecting entry's service (NULL: from the process) */
		char *exe;
	} *probed;
	size_t n_probed;
	struct agent_totals {
		uint64_t matched; /* processes that matched a target (found at start or exec) */
		uint64_t from_first_call; /* of which the kernel traced from exec (probed program) */
		uint64_t execs_seen; /* exec events looked at */
		uint64_t attach_failed; /* matched processes whose scan failed */
		/* spans of processes no target selects, admitted by the kernel at the exec
		 * of a probed program or known interpreter before the agent looked */
		uint64_t unselected_spans;
	} ag;
	size_t n_targets, cap_targets;
	/* pid -> its newest target: spans are checked against it one by one (agent) */
	struct u64map *by_pid;
	bool follow; /* forked children are traced */
	struct bpf_link *follow_links[6]; /* fork, exec, exit tracepoints; then Python's */
	struct follow_totals {
		uint64_t followed; /* children traced */
		uint64_t exec_same; /* exec's of the same program by a traced child */
		uint64_t exec_other; /* children that exec'd another program: no longer traced */
		uint64_t lost; /* children not followed: traced_tgids full */
		uint64_t late; /* children whose library probes came after their fork */
		uint64_t late_max_ns; /* the longest such gap */
	} fol;
	struct ttatrace_bpf *skel;
	bool multi; /* uprobe_multi links */
	bool file_ids; /* the tt_file_ids iterator loaded */
	struct probe_table *pt;
	struct attacher *att;
	struct hist_reader *hreader;
	struct metrics_source msrc;
	struct bpf_link *fork_link;
	struct bpf_link *stop_link;
	int stop_fd; /* the same on a uprobe_multi link, or -1 */
	struct launch launch;
	int total; /* probes attached */
	/* outputs */
	FILE *out;
	struct folded *folded;
	struct flamegraph *svg;
	struct otlp_config oc;
	bool oc_ok;
	struct tt_sink *sinks[8];
	size_t n_sinks;
	struct tt_sink *otlp_sink;
	struct prom_server *prom;
	struct otlp_metrics *om;
	/* control */
	struct governor *gov;
	uint64_t gov_cal_hits; /* foreign hits of the governor's calibration */
	struct sampler *sampler; /* NULL: sampling off */
	struct py_session *py; /* NULL: no Python primitives */
	struct sample_kernel *sk;
	struct sample_kernel_opts sko;
	struct assembler *asmb;
	struct ring_buffer *rb;
	struct ring_buffer *prb; /* process lifecycle events: read before spans */
	int epfd; /* both rings */
	struct run_totals rt;
};

static const struct tt_probe *lookup_probe(void *ctx, uint32_t id)
{
	return probe_table__get(((struct session *)ctx)->pt, id);
}

static struct target *target_find(struct session *s, pid_t pid);

static const struct tt_process *lookup_process(void *ctx, uint32_t pid)
{
	struct session *s = ctx;
	struct target *t = target_find(s, (pid_t)pid);

	/* its exec or fork event may be waiting in the other ring: read it, once */
	if (!t && s->prb && ring_buffer__consume(s->prb) > 0)
		t = target_find(s, (pid_t)pid);
	return t ? &t->proc : NULL;
}

/* A root target in the kernel's traced_tgids, with the program (exe) the children
 * it forks must keep running to be followed. 0 or -errno. */
static int traced_put(struct session *s, pid_t pid, const char *exe)
{
	/* an agent's process is followed like a child: exec of another program ends it */
	struct tt_traced v = { .parent = pid, .flags = s->agent ? 0 : TT_TRACED_ROOT };
	__u32 k = pid;
	struct stat st;

	if (!stat(exe, &st)) {
		v.exe_dev = ((uint64_t)major(st.st_dev) << 20) | minor(st.st_dev);
		v.exe_ino = st.st_ino;
	}
	return bpf_map_update_elem(bpf_map__fd(s->skel->maps.traced_tgids), &k, &v, BPF_ANY) ? -errno :
											       0;
}

/* t leaves the pid index; an older target of its pid (still listed) takes its place. */
static void target_unindex(struct session *s, const struct target *t)
{
	if (!s->by_pid || u64map__get(s->by_pid, (uint32_t)t->pid) != t)
		return;
	u64map__del(s->by_pid, (uint32_t)t->pid);
	for (size_t i = s->n_targets; i-- > 0;)
		if (s->targets[i] != t && !s->targets[i]->reaping && s->targets[i]->pid == t->pid) {
			u64map__put(s->by_pid, (uint32_t)t->pid, s->targets[i]);
			break;
		}
}

/* A new traced process: in the table userspace names spans by, and in the kernel's
 * traced_tgids (unless the kernel put it there at fork). NULL when out of memory. */
static struct target *target_add(struct session *s, pid_t pid, pid_t ppid, bool to_kernel)
{
	struct target *t;

	if (s->n_targets == s->cap_targets) {
		size_t nc = s->cap_targets ? s->cap_targets * 2 : 16;
		struct target **nt = realloc(s->targets, nc * sizeof(*nt));

		if (!nt)
			return NULL;
		s->targets = nt;
		s->cap_targets = nc;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->pid = pid;
	t->ppid = ppid;
	t->alive = true;
	if ((!s->by_pid && !(s->by_pid = u64map__new(64))) || u64map__put(s->by_pid, (uint32_t)pid, t)) {
		free(t);
		return NULL;
	}
	if (to_kernel) {
		char path[64];

		snprintf(path, sizeof(path), "/proc/%d/exe", pid);
		if (traced_put(s, pid, path)) {
			target_unindex(s, t);
			free(t);
			return NULL;
		}
	}
	s->targets[s->n_targets++] = t;
	return t;
}

/* The newest target of that pid (a reused pid names its latest process). */
static struct target *target_find(struct session *s, pid_t pid)
{
	return s->by_pid && pid > 0 ? u64map__get(s->by_pid, (uint32_t)pid) : NULL;
}

/* Self-metrics shared with the metrics thread: the main loop refreshes a copy. */
static struct {
	pthread_mutex_t lock;
	struct self_stats s;
} self_share = { PTHREAD_MUTEX_INITIALIZER, {} };

static int read_self(void *ctx, struct self_stats *out)
{
	(void)ctx;
	pthread_mutex_lock(&self_share.lock);
	*out = self_share.s;
	pthread_mutex_unlock(&self_share.lock);
	return 0;
}

static void fill_procs(struct session *ss, struct self_stats *s);

static void update_self(struct session *ss, struct assembler *a, struct tt_sink *otlp,
			const struct sampling_totals *st, uint64_t now_mono, uint64_t *last_records)
{
	struct assembler_stats as;
	struct self_stats s = {};

	if (st) {
		s.have_sampling = true;
		s.sampling_probability = st->p;
		s.sampling_roots = st->roots;
		s.sampled_head = st->picked;
		s.kept_error = st->kept_error;
		s.kept_slow = st->kept_slow;
		s.dropped = st->dropped;
		s.tail_held_spans = st->tail_held;
		s.tail_overflow_traces = st->tail_overflow;
	}

	assembler__stats(a, &as);
	s.records = as.records;
	s.malformed = as.bad_records;
	s.traces_complete = as.traces - as.traces_incomplete;
	s.traces_incomplete = as.traces_incomplete;
	s.pending_spans = assembler__pending_spans(a);
	if (otlp) {
		struct otlp_stats os = {};

		otlp_http_sink__stats(otlp, &os);
		s.have_export = true;
		s.export_spans = os.spans_exported;
		s.export_failures = os.failures;
		s.export_dropped_queue = os.spans_dropped_queue_full;
		s.export_dropped_retries = os.spans_dropped_retries;
		s.export_dropped_rejected = os.spans_dropped_rejected + os.spans_dropped_shutdown;
	}
	fill_procs(ss, &s);
	if (ss->gov) {
		s.have_governor = true;
		governor__stats(ss->gov, &s.gov);
	}
	pthread_mutex_lock(&self_share.lock);
	/* lag: measured when this drain read something, else kept */
	s.ringbuf_lag_s = self_share.s.ringbuf_lag_s;
	if (as.records != *last_records && now_mono > as.newest_end_ns)
		s.ringbuf_lag_s = (now_mono - as.newest_end_ns) / 1e9;
	self_share.s = s;
	pthread_mutex_unlock(&self_share.lock);
	*last_records = as.records;
}

static void read_follow_stats(struct session *s, struct tt_follow_stats *fs);

/* Measures the probe costs by class here and now (unless --probe-cost set them);
 * the calibration's own hits are not the targets' and are not counted as foreign. */
static void gov_calibrate(struct session *s, struct governor_opts *go)
{
	struct tt_follow_stats before, after;
	struct gov_costs c = go->costs;
	int err = -EOPNOTSUPP;

	read_follow_stats(s, &before);
	if (s->multi)
		err = governor__calibrate(go->entry_prog_fd, go->exit_prog_fd, &c);
	read_follow_stats(s, &after);
	s->gov_cal_hits = after.foreign_hits - before.foreign_hits;
	if (err) {
		fprintf(stderr, "ttatrace: governor: could not measure the probe costs here (%s): "
				"the defaults measured on a Firecracker VM apply (--probe-cost to set "
				"them)\n",
			strerror(-err));
		return;
	}
	go->costs = c;
	fprintf(stderr, "ttatrace: governor: one traced call costs %.1f us (nop5), %.1f us "
			"(emulated), %.1f us (stepped) here (measured; --probe-cost to set)\n",
		c.ns[GOV_COST_NOP5] / 1000, c.ns[GOV_COST_EMULATED] / 1000,
		c.ns[GOV_COST_STEPPED] / 1000);
}

/* The governor's tick, with the processes traced now (their CPU time is the budget). */
static void gov_tick(struct session *s, uint64_t now)
{
	pid_t *pids = calloc(s->n_targets ? s->n_targets : 1, sizeof(*pids));
	size_t i, n = 0;

	if (!pids)
		return;
	for (i = 0; i < s->n_targets; i++)
		if (s->targets[i]->alive)
			pids[n++] = s->targets[i]->pid;
	governor__tick(s->gov, s->pt, pids, n, now, stderr);
	free(pids);
}

static const struct tt_process *lookup_process(void *ctx, uint32_t pid);

static int on_record(void *ctx, void *data, size_t size)
{
	struct session *s = ctx;
	const struct tt_span_rec *r = data;

	if (py_session__on_record(s->py, data, size))
		return 0;
	if (s->agent && size >= sizeof(*r) &&
	    (r->type == TT_REC_SPAN || r->type == TT_REC_SPAN_CAPS) && !lookup_process(s, r->pid)) {
		s->ag.unselected_spans++;
		return 0;
	}
	if (s->sampler)
		sampler__on_record(s->sampler, data, size);
	assembler__add(s->asmb, data, size);
	return 0;
}

/* --- system checks ----------------------------------------------------------- */

/* Whatever the uid (root in a container may hold none of them): all three, in
 * every mode. Measured on 6.18: without CAP_SYS_PTRACE even a process of one's own
 * uid is refused (its /proc/PID/root files, the launch stop's perf event). */
static int check_privileges(bool agent)
{
	char missing[128];
	int n = caps__missing(missing, sizeof(missing));

	if (n <= 0)
		return 0;
	if (agent)
		tt_die_msg("agent: missing capabilit%s %s (the agent needs %s)", n > 1 ? "ies" : "y",
			   missing, TT_CAPS_NEEDED);
	else if (geteuid() == 0)
		tt_die_msg("not permitted: missing capabilit%s %s (tracing needs %s; this uid 0 "
			   "process has had %s dropped)",
			   n > 1 ? "ies" : "y", missing, TT_CAPS_NEEDED, n > 1 ? "them" : "it");
	else
		tt_die_msg("not permitted: missing capabilit%s %s (tracing needs %s: run as root, "
			   "e.g. with sudo, or grant them)",
			   n > 1 ? "ies" : "y", missing, TT_CAPS_NEEDED);
	return -EPERM;
}

static int check_kernel(void)
{
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		tt_die_msg("kernel lacks BTF: /sys/kernel/btf/vmlinux is missing (needs a kernel built "
			"with CONFIG_DEBUG_INFO_BTF=y)");
		return -ENOTSUP;
	}
	if (access("/sys/bus/event_source/devices/uprobe/type", R_OK)) {
		tt_die_msg("kernel lacks uprobe support: no uprobe PMU in /sys/bus/event_source/devices "
			"(needs CONFIG_UPROBE_EVENTS=y)");
		return -ENOTSUP;
	}
	return 0;
}

static void raise_fd_limit(void)
{
	struct rlimit r;

	/* two perf event fds per probe: broad globs need many */
	if (!getrlimit(RLIMIT_NOFILE, &r) && r.rlim_cur < r.rlim_max) {
		r.rlim_cur = r.rlim_max;
		setrlimit(RLIMIT_NOFILE, &r);
	}
}

/* --- launch mode ------------------------------------------------------------- */

/* Path of the program execvp would run, following one "#!" interpreter line. */
static int resolve_program(const char *cmd, char *out, size_t len)
{
	char cand[PATH_MAX], line[PATH_MAX];
	const char *path = getenv("PATH");
	FILE *f;

	if (strchr(cmd, '/')) {
		if (!realpath(cmd, out))
			return -errno;
	} else {
		const char *p = path ? path : "/usr/local/bin:/usr/bin:/bin";
		bool found = false;

		while (*p && !found) {
			const char *e = strchr(p, ':');
			size_t l = e ? (size_t)(e - p) : strlen(p);

			snprintf(cand, sizeof(cand), "%.*s/%s", (int)l, l ? p : ".", cmd);
			if (!access(cand, X_OK) && realpath(cand, out))
				found = true;
			p += l + (e ? 1 : 0);
		}
		if (!found)
			return -ENOENT;
	}
	(void)len;
	f = fopen(out, "re");
	if (!f)
		return -errno;
	if (fgets(line, sizeof(line), f) && line[0] == '#' && line[1] == '!') {
		char *s = line + 2, *e;

		while (*s == ' ' || *s == '\t')
			s++;
		e = s + strcspn(s, " \t\n");
		*e = '\0';
		if (!realpath(s, out)) {
			fclose(f);
			return -errno;
		}
	}
	fclose(f);
	return 0;
}

/* File offset of the ELF entry point: where tt_launch_stop goes. */
static int entry_offset(const char *path, uint64_t *off)
{
	Elf *e = NULL;
	GElf_Ehdr eh;
	size_t n, i;
	int fd, err = -ENOEXEC;

	elf_version(EV_CURRENT);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e || !gelf_getehdr(e, &eh) || elf_getphdrnum(e, &n))
		goto cleanup;
	for (i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(e, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (eh.e_entry >= ph.p_vaddr && eh.e_entry < ph.p_vaddr + ph.p_filesz) {
			*off = eh.e_entry - ph.p_vaddr + ph.p_offset;
			err = 0;
			break;
		}
	}
cleanup:
	elf_end(e);
	close(fd);
	return err;
}

static int launch_prepare(char **argv, struct launch *l)
{
	int gate[2], errp[2];
	pid_t pid;

	pid_t parent = getpid();

	if (pipe2(gate, O_CLOEXEC) || pipe2(errp, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		char c;
		int e;

		close(gate[1]);
		close(errp[0]);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		if (logjson__orig_fd() >= 0)
			dup2(logjson__orig_fd(), 2); /* its own stderr, not ttatrace's log */
		/* the program stops itself at its entry point until ttatrace has attached
		 * its libraries (tt_launch_stop); should ttatrace die meanwhile, even by
		 * SIGKILL, the kernel's parent-death signal continues it. It survives exec
		 * (not for set-user-ID programs, which ttatrace's uprobes do not stop
		 * differently) and is cleared by nothing else. */
		if (prctl(PR_SET_PDEATHSIG, SIGCONT) || getppid() != parent)
			_exit(127);
		if (read(gate[0], &c, 1) != 1)
			_exit(127);
		execvp(argv[0], argv);
		e = errno;
		if (write(errp[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(gate[0]);
	close(errp[1]);
	l->pid = pid;
	l->gate_w = gate[1];
	l->err_r = errp[0];
	return 0;
}

/* Tests only: TTATRACE_TEST_HOLD_STOPPED_MS keeps a launched child stopped at its
 * entry that long, so a test can kill ttatrace in the window deterministically. */
static void launch_test_hold(void)
{
	test_hold("TTATRACE_TEST_HOLD_STOPPED_MS", "child stopped at its entry for");
}

/* Releases the child into exec; returns 0 once exec succeeded. */
static int launch_go(struct launch *l)
{
	ssize_t n;
	int e = 0;

	if (write(l->gate_w, "g", 1) != 1)
		return -errno;
	close(l->gate_w);
	l->gate_w = -1;
	n = read(l->err_r, &e, sizeof(e));
	close(l->err_r);
	l->err_r = -1;
	if (n == sizeof(e)) {
		waitpid(l->pid, NULL, 0);
		return -e;
	}
	return 0;
}

/* --- main -------------------------------------------------------------------- */

static FILE *open_output(const char *path)
{
	if (!path)
		return stdout;
	return out_open(path);
}

/* Read-only settings, before load (and again if the first load fails). */
static void configure_skel(struct ttatrace_bpf *skel, const struct tt_opts *o,
			   const struct sample_kernel_opts *sko, uint32_t hist_probes)
{
	bpf_map__set_max_entries(skel->maps.hists, hist_probes);
	skel->rodata->max_depth = o->max_depth;
	skel->rodata->governor_on = o->max_rate > 0 || o->max_overhead > 0;
	skel->rodata->wake_bytes = o->ringbuf_bytes / TT_DEFAULT_WAKE_DIVISOR;
	skel->rodata->follow_forks = !o->no_follow_forks;
	skel->rodata->agent_mode = o->agent;
	bpf_map__set_max_entries(skel->maps.events, o->ringbuf_bytes);
	sample_kernel__configure(skel, sko);
}

static void read_kstats(struct ttatrace_bpf *skel, struct tt_kstats *out)
{
	if (kstats__read(bpf_map__fd(skel->maps.kstats), out))
		memset(out, 0, sizeof(*out));
}

static int validate_specs(struct probe_spec *specs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const char *b = specs[i].binary;

		if (!b || !strchr(b, '/'))
			continue;
		if (access(b, F_OK)) {
			tt_die_msg("binary %s: %s (from --probe '%s')", b, strerror(errno), specs[i].text);
			return -ENOENT;
		}
		if (access(b, R_OK)) {
			tt_die_msg("binary %s is unreadable: %s (from --probe '%s')", b, strerror(errno),
				specs[i].text);
			return -EACCES;
		}
		if (!elf_syms__is_elf_file(b)) {
			tt_die_msg("binary %s is not an ELF file (from --probe '%s')", b, specs[i].text);
			return -ENOEXEC;
		}
	}
	return 0;
}

/* --- --list-probes ------------------------------------------------------------ */

struct lib_walk {
	struct attacher *a;
	int total;
	bool listing;
};

static int list_lib(void *ctx, const char *path)
{
	struct lib_walk *w = ctx;
	char err[512];
	int r = attacher__attach_file(w->a, 0, path, false, err, sizeof(err));

	if (r > 0)
		w->total += r;
	else if (r < 0 && w->listing)
		fprintf(stderr, "ttatrace: warning: %s\n", err);
	return 0;
}

/* Prints what would be attached, through the attacher's dry run: the same matching
 * as a real attach, nothing loaded. Returns the number listed. */
static int list_probes(FILE *f, struct probe_spec *specs, size_t n_specs, const struct tt_opts *o,
		       const struct catalog *cat, bool listing)
{
	struct probe_table *pt = probe_table__new(); /* stays empty: dedup by offset only */
	struct attacher *a = pt ? attacher__new(NULL, NULL, NULL, NULL, pt, specs, n_specs, 0) : NULL;
	int total = 0, r = 0;
	char err[512];
	size_t i;

	if (!a) {
		probe_table__free(pt);
		return -ENOMEM;
	}
	attacher__set_dry_run(a, f);
	attacher__set_dry_run_count_only(a, !listing);
	attacher__set_probe_at_entry(a, o->probe_at_entry);
	attacher__set_allow_unsafe(a, o->allow_unsafe);
	attacher__set_catalog(a, cat, -1); /* the errors column names the catalogue's rules */
	fprintf(f, "binary\tsymbol\toffset\taddress\tentry\tprobe\terrors\n");
	for (i = 0; i < o->n_pids && r >= 0; i++) {
		r = attacher__scan_pid(a, o->pids[i], err, sizeof(err));
		if (r >= 0)
			total += r;
		else if (listing)
			tt_die_msg("%s", err);
	}
	if (r >= 0 && o->cmd_argc) {
		char exe[PATH_MAX];

		r = resolve_program(o->cmd[0], exe, sizeof(exe));
		if (r) {
			if (listing)
				tt_die_msg("cannot run '%s': %s", o->cmd[0], strerror(-r));
		} else {
			/* not started: the executable, and its libraries as its loader
			 * resolves them (the loader in list mode, the program never run) */
			struct lib_walk w = { .a = a, .listing = listing };
			int n;

			attacher__set_started_name(a, 0, o->cmd[0]);
			r = attacher__attach_file(a, 0, exe, true, err, sizeof(err));
			if (r < 0) {
				if (listing)
					tt_die_msg("%s", err);
			} else {
				total += r;
				n = needed_libs__list(exe, list_lib, &w);
				total += w.total;
				if (listing)
					fprintf(stderr,
						"ttatrace: %s was not started: %s\n", o->cmd[0],
						n >= 0 ? "libraries it would dlopen are not listed" :
							 "its libraries are not listed (its loader is not a system file)");
			}
		}
	}
	attacher__free(a);
	probe_table__free(pt);
	for (i = 0; i < n_specs; i++)
		specs[i].matched = 0; /* the real attach counts again */
	return r < 0 ? r : total;
}

/* Histogram slots: every probe a dry run finds now (in launch mode, in the program
 * and the libraries its loader will map), with room for libraries loaded later,
 * within a memory budget since the histograms are per CPU. At least the default. */
static uint32_t hist_slots(struct probe_spec *specs, size_t n_specs, const struct tt_opts *o)
{
	FILE *null = fopen("/dev/null", "w");
	int n = null ? list_probes(null, specs, n_specs, o, NULL, false) : -1;
	int ncpu = libbpf_num_possible_cpus();
	uint64_t cap = TT_HIST_BUDGET_BYTES / (sizeof(struct tt_hist) * (uint64_t)(ncpu > 0 ? ncpu : 1));
	uint64_t want = n < 0 ? TT_HIST_DEFAULT_PROBES : (uint64_t)n + (uint64_t)n / 4 + 64;

	if (null)
		fclose(null);
	if (want > cap)
		want = cap;
	if (want < TT_HIST_DEFAULT_PROBES)
		want = TT_HIST_DEFAULT_PROBES;
	if (want > TT_GOV_PROBES)
		want = TT_GOV_PROBES;
	return (uint32_t)want;
}


static int follow_start(struct session *s);
static void agent_consider(struct session *s, pid_t pid, const struct tt_proc_event *e);
static void agent_inherit(struct session *s, struct target *t, const struct target *parent);

/* --- the lifecycle ------------------------------------------------------------ */

struct session *session__new(const struct tt_opts *o)
{
	struct session *s = calloc(1, sizeof(*s));

	if (!s) {
		tt_die_msg("out of memory");
		return NULL;
	}
	s->o = *o;
	s->multi = true;
	s->file_ids = true;
	if (o->log_json && logjson__start())
		fprintf(stderr, "ttatrace: warning: --log-format json: %s; logging text\n", strerror(errno));
	s->agent = o->agent;
	if (gethostname(s->host, sizeof(s->host) - 1))
		snprintf(s->host, sizeof(s->host), "localhost");
	s->launch = (struct launch){ -1, -1, -1 };
	s->stop_fd = -1;
	verbosity = o->verbose;
	libbpf_set_print(libbpf_print);
	return s;
}

int session__prepare(struct session *s)
{
	const struct tt_opts *o = &s->o;
	char err[512] = "";
	size_t i;

	for (i = 0; i < o->n_specs; i++) {
		if (probe_spec__parse(o->specs[i], &s->specs[i], err, sizeof(err))) {
			tt_die_msg("%s", err);
			return EXIT_USAGE;
		}
		s->n_specs++;
	}
	if (o->config) {
		s->cat = catalog__load(o->config, err, sizeof(err));
		if (!s->cat) {
			tt_die_msg("%s", err);
			return EXIT_USAGE;
		}
		/* every catalogue entry is also a probe spec */
		for (i = 0; i < s->cat->n; i++) {
			const struct cat_entry *ce = &s->cat->entries[i];
			char text[1024];

			if (ce->py_sel)
				continue; /* Python: user/python.c */
			if (s->n_specs == MAX_SPECS) {
				tt_die_msg("%s: more than %d primitives", o->config, MAX_SPECS);
				return EXIT_USAGE;
			}
			snprintf(text, sizeof(text), "%s%s%s", ce->binary ? ce->binary : "",
				 ce->binary ? ":" : "", ce->glob);
			if (probe_spec__parse(text, &s->specs[s->n_specs], err, sizeof(err))) {
				tt_die_msg("%s:%d: %s", o->config, ce->line, err);
				return EXIT_USAGE;
			}
			s->n_specs++;
		}
	}
	if (validate_specs(s->specs, s->n_specs))
		return EXIT_RUNTIME;
	return 0;
}

int session__list_probes(struct session *s, FILE *f)
{
	/* a dry run: nothing is loaded or attached */
	int r = list_probes(f, s->specs, s->n_specs, &s->o, s->cat, true);

	if (r >= 0)
		fprintf(stderr, "ttatrace: %d functions would be probed\n", r);
	s->o.quiet_summary = true;
	return r < 0 ? EXIT_RUNTIME : 0;
}

int session__check(struct session *s)
{
	if (check_privileges(s->agent))
		return EXIT_RUNTIME;
	if (check_kernel())
		return EXIT_RUNTIME;
	return 0;
}

/* Outputs that must be writable before anything is traced. */
static int open_outputs(struct session *s)
{
	const struct tt_opts *o = &s->o;

	s->out = open_output(o->output);
	if (!s->out) {
		tt_die_msg("cannot open output %s: %s", o->output, out_open__strerror(o->output, errno));
		return EXIT_RUNTIME;
	}
	if (o->folded && !(s->folded = folded__new(o->folded, o->critical_path))) {
		tt_die_msg("cannot open folded output %s: %s", o->folded,
			   out_open__strerror(o->folded, errno));
		return EXIT_RUNTIME;
	}
	if (o->svg) {
		struct flamegraph_opts fo = { .unit = "ns", .title = "ttatrace" };
		int probe_fd = strcmp(o->svg, "-") ? out_open_fd(o->svg, false) : STDOUT_FILENO;

		/* fail before tracing if the SVG cannot be written */
		if (probe_fd < 0) {
			tt_die_msg("cannot write flame graph %s: %s", o->svg,
				   out_open__strerror(o->svg, errno));
			return EXIT_RUNTIME;
		}
		if (probe_fd != STDOUT_FILENO)
			close(probe_fd);
		s->svg = flamegraph__new(&fo);
		if (!s->svg)
			return EXIT_RUNTIME;
	}
	if (otlp_config__from_env(&s->oc, o->otlp)) {
		tt_die_msg("OTLP settings: %s", s->oc.err);
		return EXIT_USAGE;
	}
	s->oc_ok = true;
	s->oc.verbose = o->verbose > 0;
	if (s->oc.endpoint) {
		char why[512];

		if (otlp_http__probe(&s->oc, why, sizeof(why))) {
			tt_die_msg("OTLP endpoint unreachable: %s (check --otlp or OTEL_EXPORTER_OTLP_ENDPOINT)",
				   why);
			return EXIT_RUNTIME;
		}
	}
	return 0;
}

/* The Python probes' uprobe_multi variants: loaded as such (on), or not at all (off). */
static void set_python_multi(struct ttatrace_bpf *skel, bool on)
{
	struct bpf_program *p[3] = { skel->progs.tt_py_call_multi, skel->progs.tt_py_call_arg_multi,
				     skel->progs.tt_py_task_multi };

	for (int i = 0; i < 3; i++) {
		if (on)
			bpf_program__set_expected_attach_type(
				p[i], (enum bpf_attach_type)TT_BPF_TRACE_UPROBE_MULTI);
		else
			bpf_program__set_autoload(p[i], false);
	}
}

/* The BPF object, with uprobe_multi (Linux 6.6+) if the kernel takes it. */
static int load_bpf(struct session *s)
{
	const struct tt_opts *o = &s->o;
	uint32_t hist_probes = hist_slots(s->specs, s->n_specs, o) +
			       (catalog__has_python(s->cat) || o->agent ? TT_PY_MAX_PROBES : 0);
	int r;

	s->skel = ttatrace_bpf__open();
	if (!s->skel) {
		tt_die_msg("opening the BPF object: %s", strerror(errno));
		return EXIT_RUNTIME;
	}
	s->sko.p = o->sample_p;
	s->sko.target_rate = o->target_rate;
	s->sko.rules.keep_errors = o->keep_errors != 0 && (o->keep_errors > 0 || o->sample_p < 1 ||
							   o->target_rate > 0);
	s->sko.rules.keep_slow_ns = (uint64_t)(o->keep_slow_s * 1e9);
	s->sko.tail_stream = o->tail_stream;
	s->sko.tail_bytes = o->tail_bytes;
	s->sko.idle_ns = (uint64_t)(o->trace_timeout_s * 1e9);
	configure_skel(s->skel, o, &s->sko, hist_probes);
	/* uprobe_multi (Linux 6.6+): try it, and load without it if the kernel refuses */
	bpf_program__set_expected_attach_type(s->skel->progs.tt_entry_multi,
					      (enum bpf_attach_type)TT_BPF_TRACE_UPROBE_MULTI);
	bpf_program__set_expected_attach_type(s->skel->progs.tt_exit_multi,
					      (enum bpf_attach_type)TT_BPF_TRACE_UPROBE_MULTI);
	bpf_program__set_expected_attach_type(s->skel->progs.tt_launch_stop_multi,
					      (enum bpf_attach_type)TT_BPF_TRACE_UPROBE_MULTI);
	set_python_multi(s->skel, true);
	r = ttatrace_bpf__load(s->skel);
	/* then without uprobe_multi (before 6.6), then also without the task_vma
	 * iterator (before 5.12; shared links then go by stat's file identity) */
	for (int attempt = 1; r && attempt <= 2; attempt++) {
		ttatrace_bpf__destroy(s->skel);
		s->skel = ttatrace_bpf__open();
		if (!s->skel) {
			tt_die_msg("opening the BPF object: %s", strerror(errno));
			return EXIT_RUNTIME;
		}
		configure_skel(s->skel, o, &s->sko, hist_probes);
		bpf_program__set_autoload(s->skel->progs.tt_entry_multi, false);
		bpf_program__set_autoload(s->skel->progs.tt_exit_multi, false);
		bpf_program__set_autoload(s->skel->progs.tt_launch_stop_multi, false);
		set_python_multi(s->skel, false);
		s->multi = false;
		if (attempt == 2) {
			bpf_program__set_autoload(s->skel->progs.tt_file_ids, false);
			s->file_ids = false;
		}
		r = ttatrace_bpf__load(s->skel);
	}
	if (r) {
		tt_die_msg("loading the BPF programs failed: %s (is this kernel 5.15+ with BTF and task "
			   "storage? -vvv shows the verifier log)",
			   strerror(-r));
		return EXIT_RUNTIME;
	}
	return 0;
}

int session__load(struct session *s)
{
	const struct tt_opts *o = &s->o;
	struct ttatrace_bpf *skel;
	bool sampling;
	int rc;

	raise_fd_limit();
	rc = open_outputs(s);
	if (rc)
		return rc;
	rc = load_bpf(s);
	if (rc)
		return rc;
	skel = s->skel;
	sampling = o->sample_p < 1 || o->target_rate > 0 || o->keep_errors > 0 || o->keep_slow_s > 0;
	if (sampling) {
		s->sk = sample_kernel__new(skel, &s->sko);
		if (!s->sk) {
			tt_die_msg("setting up sampling: %s", strerror(errno));
			return EXIT_RUNTIME;
		}
		s->sampler = sampler__new(sample_kernel__probability(s->sk), &s->sko.rules);
		if (!s->sampler)
			return EXIT_RUNTIME;
	}

	s->pt = probe_table__new();
	if (!s->pt)
		return EXIT_RUNTIME;
	s->py = py_session__new(s->cat, skel, s->pt, o->verbose, o->agent);
	/* shared per interpreter file when forks are followed: a forked child is traced
	 * from its first call (as the executable's links are, for native code) */
	py_session__set_links(s->py, s->multi, !o->no_follow_forks, o->agent);
	if (!s->py && errno)
		return EXIT_RUNTIME;
	s->hreader = hist_reader__new(skel);
	if (!s->hreader)
		return EXIT_RUNTIME;
	hist_reader__source(s->hreader, &s->msrc);
	s->msrc.read_self = read_self;
	s->att = attacher__new(skel->progs.tt_entry, skel->progs.tt_exit,
			       s->multi ? skel->progs.tt_entry_multi : NULL,
			       s->multi ? skel->progs.tt_exit_multi : NULL, s->pt, s->specs, s->n_specs,
			       o->verbose);
	if (!s->att)
		return EXIT_RUNTIME;
	attacher__set_probe_at_entry(s->att, o->probe_at_entry);
	attacher__set_allow_unsafe(s->att, o->allow_unsafe);
	attacher__set_edge_flag(s->att, &skel->bss->edge_attaching);
	attacher__set_file_ids(s->att, s->file_ids ? skel->progs.tt_file_ids : NULL);
	if (s->cat)
		attacher__set_catalog(s->att, s->cat, bpf_map__fd(skel->maps.probe_cfg));
	if (!o->no_follow_forks || o->agent) {
		rc = follow_start(s);
		if (rc)
			return rc;
	}
	/* threads created inside a span continue its trace */
	s->fork_link = bpf_program__attach(skel->progs.tt_fork);
	if (!s->fork_link && o->verbose)
		fprintf(stderr, "ttatrace: warning: no fork tracepoint (%s): threads started inside a "
				"span begin their own traces\n", strerror(errno));

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/* --- following forked processes ------------------------------------------------
 * The kernel adds a traced process's child to traced_tgids at fork, before the
 * child runs, so the executable's shared links (attacher__set_shared_main) count
 * its calls from the first; a child that execs the same program keeps its tgid
 * and the links install into the new image. Libraries keep per-process links:
 * the child gets its own here, on the fork event (a gap, measured and reported). */
static int follow_start(struct session *s)
{
	struct bpf_program *progs[3] = { s->skel->progs.tt_follow_fork, s->skel->progs.tt_follow_exec,
					 s->skel->progs.tt_follow_exit };
	int i;

	struct bpf_program *py[3] = { s->skel->progs.tt_py_fork, s->skel->progs.tt_py_exec,
				      s->skel->progs.tt_py_exit };

	for (i = 0; i < 6; i++) {
		if (i >= 3 && !s->py)
			break; /* Python processes' layouts follow them through fork, exec, exit */
		s->follow_links[i] = bpf_program__attach(i < 3 ? progs[i] : py[i - 3]);
		if (!s->follow_links[i]) {
			tt_die_msg("following forks needs the sched_process_fork/exec/exit tracepoints: %s "
				   "(or pass --no-follow-forks)",
				   strerror(errno));
			return EXIT_RUNTIME;
		}
	}
	attacher__set_shared_main(s->att, true);
	s->follow = true;
	return 0;
}

/* A child no longer followed (exited, or exec'd another program; the kernel took it
 * out of traced_tgids): its own links go. */
static void unfollow(struct session *s, struct target *t)
{
	/* a live process (untargeted on SIGHUP) has calls cut by its detach */
	__atomic_add_fetch(&s->skel->bss->edge_detaching, 1, __ATOMIC_SEQ_CST);
	probe_table__detach_pid(s->pt, t->pid);
	__atomic_sub_fetch(&s->skel->bss->edge_detaching, 1, __ATOMIC_SEQ_CST);
	attacher__forget_pid(s->att, t->pid);
	py_session__exit(s->py, t->pid);
	t->alive = false;
	t->gone_ns = now_mono_ns();
	t->py_retry_until = 0;
}

/* Frees the children gone for longer than a trace can stay open: their last spans
 * have been named by then (the outputs copy what they keep). */
static void reap_children(struct session *s, uint64_t now)
{
	uint64_t grace = (uint64_t)(s->o.trace_timeout_s * 1e9) + 2000000000ULL;
	size_t i, j = 0;

	for (i = 0; i < s->n_targets; i++)
		s->targets[i]->reaping = s->targets[i]->gone_ns && now - s->targets[i]->gone_ns > grace;
	for (i = 0; i < s->n_targets; i++)
		if (s->targets[i]->reaping)
			target_unindex(s, s->targets[i]);
	for (i = 0; i < s->n_targets; i++) {
		struct target *t = s->targets[i];

		if (t->reaping) {
			py_session__reap(s->py, t->pid);
			free(t->cmdline);
			free(t->service);
			free(t);
			continue;
		}
		s->targets[j++] = t;
	}
	s->n_targets = j;
}

static int on_proc_event(void *ctx, void *data, size_t size)
{
	const struct tt_proc_event *e = data;
	struct session *s = ctx;
	struct target *t;
	char err[512];
	int r;

	if (size < sizeof(*e))
		return 0;
	switch (e->type) {
	case TT_PROC_FORK:
		t = target_add(s, e->pid, e->ppid, false);
		if (!t) {
			s->fol.lost++;
			return 0;
		}
		s->fol.followed++;
		target_fill(t);
		if (s->agent)
			agent_inherit(s, t, target_find(s, e->ppid));
		/* its libraries: per-process links, so the child needs its own */
		r = attacher__scan_pid(s->att, t->pid, err, sizeof(err));
		if (r > 0) {
			uint64_t gap = now_mono_ns() - e->ts_ns;

			s->fol.late++;
			if (gap > s->fol.late_max_ns)
				s->fol.late_max_ns = gap;
			s->total += r;
			hist_reader__sync(s->hreader, s->pt);
		}
		if (s->o.verbose)
			fprintf(stderr, "ttatrace: following pid %d (forked by %d)%s\n", e->pid, e->ppid,
				r > 0 ? ", its library probes attached now" : "");
		if (s->py && py_session__fork(s->py, e->pid, e->ppid, err, sizeof(err)) < 0)
			fprintf(stderr, "ttatrace: warning: %s\n", err);
		break;
	case TT_PROC_EXEC_SAME:
		s->fol.exec_same++;
		t = target_find(s, e->pid);
		if (t)
			target_fill(t);
		break;
	case TT_PROC_EXEC_OTHER:
		s->fol.exec_other++;
		t = target_find(s, e->pid);
		if (t && s->agent && t->alive && !t->ppid) {
			char now_exe[PATH_MAX];

			/* a wrapper (env, sh -c 'exec ...') the agent looked at only after it
			 * exec'd its program: it is traced as that program already, and the
			 * event is older than that look. The kernel's entry goes back (and
			 * goes again if the process ended meanwhile: its exit saw none). */
			if (!procmaps__exe_path(t->pid, now_exe, sizeof(now_exe)) &&
			    !strcmp(now_exe, t->exe)) {
				char path[64];
				__u32 k = t->pid;

				snprintf(path, sizeof(path), "/proc/%d/exe", t->pid);
				if (!traced_put(s, t->pid, path)) {
					/* a zombie's exe link is gone too */
					if (!procmaps__exe_path(t->pid, now_exe, sizeof(now_exe)))
						break;
					bpf_map_delete_elem(bpf_map__fd(s->skel->maps.traced_tgids), &k);
				}
			}
		}
		if (t)
			unfollow(s, t);
		if (s->o.verbose)
			fprintf(stderr, "ttatrace: pid %d exec'd another program: not followed\n", e->pid);
		if (s->agent)
			agent_consider(s, e->pid, NULL); /* it may match another target */
		break;
	case TT_PROC_EXEC_PROBED:
	case TT_PROC_EXEC_NEW:
		s->ag.execs_seen++;
		agent_consider(s, e->pid, e);
		break;
	case TT_PROC_EXIT:
		t = target_find(s, e->pid);
		if (t && t->alive && (t->ppid || s->agent))
			unfollow(s, t);
		break;
	case TT_PROC_LOST:
		if (!s->fol.lost++)
			fprintf(stderr, "ttatrace: warning: pid %u (forked by %u) not followed: more than "
					"%d traced processes\n",
				e->pid, e->ppid, TT_MAX_TRACED_PROCS);
		break;
	}
	return 0;
}

/* The follower's per-CPU counters, summed. */
static void read_follow_stats(struct session *s, struct tt_follow_stats *fs)
{
	int ncpu = libbpf_num_possible_cpus(), i;
	struct tt_follow_stats *v;
	__u32 zero = 0;

	memset(fs, 0, sizeof(*fs));
	if (ncpu > 0 && (v = calloc(ncpu, sizeof(*v)))) {
		if (!bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.follow_stats), &zero, v))
			for (i = 0; i < ncpu; i++) {
				fs->foreign_hits += v[i].foreign_hits;
				fs->ev_lost += v[i].ev_lost;
			}
		free(v);
	}
	/* the governor's calibration calls (ttatrace's own, not a target's) */
	fs->foreign_hits -= fs->foreign_hits >= s->gov_cal_hits ? s->gov_cal_hits : fs->foreign_hits;
}

static void fill_procs(struct session *ss, struct self_stats *s)
{
	struct tt_follow_stats fs;
	size_t i;

	if (!ss->follow && !ss->agent)
		return;
	read_follow_stats(ss, &fs);
	s->have_procs = true;
	for (i = 0; i < ss->n_targets; i++)
		s->procs_traced += ss->targets[i]->alive;
	s->procs_followed = ss->fol.followed;
	s->procs_exec_other = ss->fol.exec_other;
	s->procs_over_limit = ss->fol.lost;
	s->untraced_hits = fs.foreign_hits;
	s->is_agent = ss->agent;
	s->agent_matched = ss->ag.matched;
	s->attach_failures = ss->ag.attach_failed;
	s->probed_programs = ss->n_probed;
	s->python = ss->py != NULL;
	py_session__counts(ss->py, &s->py_procs, &s->py_not_prepared, &s->py_open_at_exit);
}

static void print_follow_summary(struct session *s)
{
	struct tt_follow_stats fs;

	read_follow_stats(s, &fs);
	if (!s->follow && !fs.foreign_hits)
		return;
	fprintf(stderr,
		"ttatrace: forks: %" PRIu64 " processes followed (%" PRIu64 " exec's of the same program); "
		"not followed: %" PRIu64 " exec'd another program, %" PRIu64 " over the limit, %llu "
		"events lost\n",
		s->fol.followed, s->fol.exec_same, s->fol.exec_other, s->fol.lost,
		(unsigned long long)fs.ev_lost);
	if (s->fol.late)
		fprintf(stderr,
			"ttatrace: forks: %" PRIu64 " children had library probes attached after the fork "
			"(up to %.1f ms later; their library calls before that are not seen)\n",
			s->fol.late, s->fol.late_max_ns / 1e6);
	if (fs.foreign_hits)
		fprintf(stderr, "ttatrace: %llu probe hits by untraced processes running a probed "
				"program were ignored\n",
			(unsigned long long)fs.foreign_hits);
}

/* --- the agent: targets from the catalogue ------------------------------------ */

static int read_small(pid_t pid, const char *name, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return (int)n;
}

/* The value of NAME in pid's environment (as it was at exec), malloc'd; NULL if unset. */
/* NULL when the process has no such variable, or (*unread) its environment could not
 * be read now */
static char *proc_env(pid_t pid, const char *name, bool *unread)
{
	static char buf[65536];
	size_t nl = strlen(name);
	int n = (int)procmaps__environ(pid, buf, sizeof(buf)), i = 0;

	*unread = n <= 0;
	while (n > 0 && i < n) {
		const char *e = buf + i;
		size_t l = strnlen(e, (size_t)(n - i));

		if (l > nl && !strncmp(e, name, nl) && e[nl] == '=')
			return strndup(e + nl + 1, l - nl - 1);
		i += (int)l + 1;
	}
	return NULL;
}

/* The first targets: entry every given selector of which matches pid; NULL if none. */
static const struct cat_target *agent_match(struct session *s, pid_t pid, char *cg, size_t cglen,
					    bool *gone)
{
	char exe[PATH_MAX], path[64], comm[64];
	const struct cat_target *hit = NULL;
	char *cmdline = NULL;
	bool have_cg = false;
	size_t i;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	*gone = n < 0 && (errno == ENOENT || errno == ESRCH);
	if (n <= 0)
		return NULL; /* gone, or a kernel thread */
	exe[n] = '\0';
	if (read_small(pid, "comm", comm, sizeof(comm)) < 0)
		return NULL;
	comm[strcspn(comm, "\n")] = '\0';
	cg[0] = '\0';
	for (i = 0; i < s->cat->n_targets && !hit; i++) {
		const struct cat_target *t = &s->cat->targets[i];

		if (t->exe && !glob_match(t->exe, exe))
			continue;
		if (t->comm && !glob_match(t->comm, comm))
			continue;
		if (t->cmdline) {
			if (!cmdline)
				cmdline = proc_cmdline(pid);
			if (!cmdline || !glob_match(t->cmdline, cmdline))
				continue;
		}
		if (t->cgroup) {
			if (!have_cg && cgroup_ident__path_of(pid, cg, cglen))
				continue;
			have_cg = true;
			if (!glob_match(t->cgroup, cg))
				continue;
		}
		hit = t;
	}
	free(cmdline);
	if (hit && !have_cg && cgroup_ident__path_of(pid, cg, cglen))
		cg[0] = '\0';
	return hit;
}

/* service.name (the catalogue's, else the process's OTEL_SERVICE_NAME, else the
 * name it was started as), service.instance.id, container.id, k8s.pod.uid. */
static void agent_identity(struct session *s, struct target *t, const struct cat_target *sel,
			   const char *cg)
{
	const char *argv0 = t->cmdline && *t->cmdline ? t->cmdline : t->exe, *base;
	size_t l;

	bool unread = false;

	if (sel->service)
		t->service = strdup(sel->service);
	else
		t->service = proc_env(t->pid, "OTEL_SERVICE_NAME", &unread);
	/* an environment read as empty (every program gets one, even if only PATH, but
	 * not while its exec is still being set up): read again at the next tick */
	t->env_retry = unread && !sel->service ? 20 : 0; /* 2 s: an empty one may be real */
	if (t->env_retry && s->o.verbose)
		fprintf(stderr, "ttatrace: agent: pid %d: its environment reads empty: read again "
				"each tick for 2 s\n", t->pid);
	if (!t->service || !*t->service) {
		free(t->service);
		l = strcspn(argv0, " ");
		base = memrchr(argv0, '/', l);
		base = base ? base + 1 : argv0;
		t->service = strndup(base, l - (size_t)(base - argv0));
	}
	snprintf(t->instance_id, sizeof(t->instance_id), "%s-%d-%llu", s->host, t->pid,
		 t->starttime);
	cgroup_ident__parse(cg, &t->cg);
	t->proc.service_name = t->service;
	t->proc.service_instance_id = t->instance_id;
	t->proc.container_id = t->cg.container_id[0] ? t->cg.container_id : NULL;
	t->proc.pod_uid = t->cg.pod_uid[0] ? t->cg.pod_uid : NULL;
	t->proc.node_name = getenv("NODE_NAME");
}

/* A forked child of an agent's process: its parent's service, its own instance and
 * cgroup (a child may have moved). A child already gone when its fork event is read
 * has no cgroup left to read: it ran in its parent's. */
static void agent_inherit(struct session *s, struct target *t, const struct target *parent)
{
	struct cat_target sel = { .service = parent ? parent->service : NULL };
	char cg[4096];
	bool gone = cgroup_ident__path_of(t->pid, cg, sizeof(cg)) != 0;

	if (gone)
		cg[0] = '\0';
	agent_identity(s, t, &sel, cg);
	if (gone && parent) {
		t->cg = parent->cg;
		t->proc.container_id = t->cg.container_id[0] ? t->cg.container_id : NULL;
		t->proc.pod_uid = t->cg.pod_uid[0] ? t->cg.pod_uid : NULL;
	}
}

/* Its program in probed_exes: its next processes are traced by the kernel at exec. */
static void agent_probed(struct session *s, const struct target *t, const struct cat_target *sel)
{
	struct probed_exe *np;
	struct tt_file_key k;
	char path[64];
	struct stat st;
	__u8 one = 1;
	size_t i;

	snprintf(path, sizeof(path), "/proc/%d/exe", t->pid);
	if (stat(path, &st))
		return;
	k.dev = ((uint64_t)major(st.st_dev) << 20) | minor(st.st_dev);
	k.ino = st.st_ino;
	for (i = 0; i < s->n_probed; i++)
		if (s->probed[i].dev == k.dev && s->probed[i].ino == k.ino)
			return;
	np = realloc(s->probed, (s->n_probed + 1) * sizeof(*np));
	if (!np)
		return;
	s->probed = np;
	np[s->n_probed] = (struct probed_exe){ k.dev, k.ino, sel->service ? strdup(sel->service) : NULL,
					       strdup(t->exe) };
	if (!np[s->n_probed].exe || (sel->service && !np[s->n_probed].service)) {
		free(np[s->n_probed].exe);
		free(np[s->n_probed].service);
		return;
	}
	s->n_probed++;
	bpf_map_update_elem(bpf_map__fd(s->skel->maps.probed_exes), &k, &one, BPF_ANY);
}

/* A process of a probed program that ended before userspace looked at it: the
 * kernel traced it; it is named by what probed its program. */
static const struct probed_exe *probed_of(struct session *s, uint64_t dev, uint64_t ino)
{
	size_t i;

	for (i = 0; i < s->n_probed; i++)
		if (s->probed[i].dev == dev && s->probed[i].ino == ino)
			return &s->probed[i];
	return NULL;
}

/* A selected process's Python primitives (catalogue python:/python_class: entries).
 * A process exec'd a moment ago may not have mapped its libpython yet: tried again
 * each drain tick for 5 s. */
static void agent_python(struct session *s, struct target *t)
{
	char err[512];
	int r;

	if (!s->py)
		return;
	r = py_session__attach(s->py, t->pid, false, err, sizeof(err));
	if (r == -EAGAIN) {
		if (!t->py_retry_until)
			t->py_retry_until = now_mono_ns() + 5000000000ULL;
		else if (now_mono_ns() > t->py_retry_until) {
			t->py_retry_until = 0;
			s->ag.attach_failed++;
			fprintf(stderr, "ttatrace: agent: %s\n", err);
		}
		return;
	}
	t->py_retry_until = 0;
	if (r > 0) {
		s->total += r;
		hist_reader__sync(s->hreader, s->pt);
	}
	if (r == -ENOKEY) {
		if (s->o.verbose)
			fprintf(stderr, "ttatrace: agent: %s\n", err);
	} else if (r < 0) {
		s->ag.attach_failed++;
		fprintf(stderr, "ttatrace: agent: %s\n", err);
	} else if (r > 0 && s->o.verbose) {
		fprintf(stderr, "ttatrace: agent: pid %d: %d Python probes\n", t->pid, r);
	}
}

/* A service name read from the process's own OTEL_SERVICE_NAME once its environment
 * can be read (the first look came in the middle of its exec: its new name and
 * executable show before its arguments and environment), its command line too; its
 * spans are named at export. */
static void agent_env_retry(struct session *s)
{
	for (size_t i = 0; s->agent && i < s->n_targets; i++) {
		struct target *t = s->targets[i];
		bool unread = true;
		char *svc;

		if (!t->env_retry || !t->alive)
			continue;
		svc = proc_env(t->pid, "OTEL_SERVICE_NAME", &unread);
		if (unread) {
			t->env_retry--;
			continue;
		}
		t->env_retry = 0;
		if (!t->cmdline || !*t->cmdline) {
			/* read at the same moment: its arguments are set up with its environment */
			free(t->cmdline);
			t->cmdline = proc_cmdline(t->pid);
			t->proc.cmdline = t->cmdline;
		}
		if (svc && *svc) {
			free(t->service);
			t->service = svc;
			t->proc.service_name = t->service;
		} else {
			free(svc);
		}
	}
}

static void agent_python_retry(struct session *s)
{
	for (size_t i = 0; s->py && s->agent && i < s->n_targets; i++) {
		struct target *t = s->targets[i];

		if (t->alive && t->py_retry_until)
			agent_python(s, t);
	}
}

/* A process found at start or at exec: traced if a targets: entry matches it.
 * in_kernel: the kernel already put it in traced_tgids (a probed program). */
static void agent_consider(struct session *s, pid_t pid, const struct tt_proc_event *e)
{
	const struct probed_exe *pe = NULL;
	bool in_kernel = e && e->type == TT_PROC_EXEC_PROBED, gone = false;
	const struct cat_target *sel;
	struct target *t;
	char cg[4096], err[512];
	int r;

	if (pid == getpid())
		return;
	sel = agent_match(s, pid, cg, sizeof(cg), &gone);
	if (!sel && gone && in_kernel && (pe = probed_of(s, e->exe_dev, e->exe_ino))) {
		/* already over: the kernel traced it whole; name it by its program */
		t = target_add(s, pid, 0, false);
		if (!t)
			return;
		s->ag.matched++;
		s->ag.from_first_call++;
		snprintf(t->exe, sizeof(t->exe), "%s", pe->exe);
		t->cmdline = strdup("");
		t->proc.pid = pid;
		t->proc.exe_path = t->exe;
		t->proc.exe_name = strrchr(t->exe, '/') ? strrchr(t->exe, '/') + 1 : t->exe;
		t->proc.cmdline = t->cmdline;
		agent_identity(s, t, &(struct cat_target){ .service = pe->service }, "");
		unfollow(s, t);
		return;
	}
	if (!sel) {
		if (s->py) {
			/* a process of a known interpreter: the kernel made it a Python
			 * process at exec, but no targets: entry selects it */
			__u32 k = pid;

			bpf_map_delete_elem(bpf_map__fd(s->skel->maps.py_procs), &k);
		}
		if (in_kernel) {
			/* a probed program, but this process is not selected */
			__u32 k = pid;

			bpf_map_delete_elem(bpf_map__fd(s->skel->maps.traced_tgids), &k);
		}
		return;
	}
	t = target_find(s, pid);
	if (t && t->alive)
		return;
	t = target_add(s, pid, 0, !in_kernel);
	if (!t) {
		s->ag.attach_failed++;
		return;
	}
	s->ag.matched++;
	if (in_kernel)
		s->ag.from_first_call++;
	target_fill(t);
	agent_identity(s, t, sel, cg);
	r = attacher__scan_pid(s->att, pid, err, sizeof(err));
	if (r < 0) {
		s->ag.attach_failed++;
		if (s->o.verbose)
			fprintf(stderr, "ttatrace: agent: pid %d: %s\n", pid, err);
		unfollow(s, t);
		return;
	}
	s->total += r;
	if (r > 0)
		hist_reader__sync(s->hreader, s->pt);
	agent_python(s, t);
	agent_probed(s, t, sel);
	if (s->o.verbose)
		fprintf(stderr, "ttatrace: agent: tracing pid %d (%s, service %s, targets: line %d)%s\n",
			pid, t->exe, t->service ? t->service : "?", sel->line,
			in_kernel ? " from its first call" : "");
}

int session__agent_attach(struct session *s)
{
	struct dirent *de;
	DIR *d;

	if (!s->cat || !s->cat->n_targets) {
		tt_die_msg("agent: %s has no targets: (say which processes to trace, see tools/catalog.md)",
			   s->o.config);
		return EXIT_USAGE;
	}
	/* the tracepoints are on (session__load): a process started from now is seen at
	 * exec; those already running are found here */
	d = opendir("/proc");
	if (!d) {
		tt_die_msg("agent: cannot list /proc: %s", strerror(errno));
		return EXIT_RUNTIME;
	}
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0)
			continue;
		agent_consider(s, (pid_t)pid, NULL);
	}
	closedir(d);
	fprintf(stderr, "ttatrace: agent: %" PRIu64 " running processes matched the targets\n",
		s->ag.matched);
	return 0;
}

/* SIGHUP: the catalogue's targets: are read again. Processes no entry selects any more
 * stop being traced, running ones newly selected start; primitives are kept (their
 * probes, histograms and series stay as they are): changing them takes a restart. */
static void agent_reload(struct session *s)
{
	struct catalog *nc;
	struct cat_target *tt;
	char err[512];
	size_t i, nt;
	bool same = true;
	struct dirent *de;
	DIR *d;

	nc = catalog__load(s->o.config, err, sizeof(err));
	if (!nc) {
		tt_die_msg("SIGHUP: %s: keeping the catalogue loaded at start", err);
		return;
	}
	same = nc->n == s->cat->n;
	for (i = 0; same && i < nc->n; i++)
		same = !strcmp(nc->entries[i].glob, s->cat->entries[i].glob) &&
		       !nc->entries[i].binary == !s->cat->entries[i].binary &&
		       (!nc->entries[i].binary || !strcmp(nc->entries[i].binary, s->cat->entries[i].binary));
	if (!same)
		fprintf(stderr, "ttatrace: warning: SIGHUP: primitives changed in %s: they apply after a "
				"restart; the targets are reloaded\n",
			s->o.config);
	/* the probes point into the old catalogue's entries: keep it, take the targets */
	tt = s->cat->targets;
	nt = s->cat->n_targets;
	s->cat->targets = nc->targets;
	s->cat->n_targets = nc->n_targets;
	nc->targets = tt;
	nc->n_targets = nt;
	catalog__free(nc);
	for (i = 0; i < s->n_targets; i++) {
		struct target *t = s->targets[i];
		char cg[4096];
		bool gone;

		if (t->alive && !t->ppid && !agent_match(s, t->pid, cg, sizeof(cg), &gone)) {
			__u32 k = t->pid;

			bpf_map_delete_elem(bpf_map__fd(s->skel->maps.traced_tgids), &k);
			unfollow(s, t);
		}
	}
	d = opendir("/proc");
	while (d && (de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (!*end && pid > 0)
			agent_consider(s, (pid_t)pid, NULL);
	}
	if (d)
		closedir(d);
	fprintf(stderr, "ttatrace: SIGHUP: %zu targets entries loaded from %s\n", s->cat->n_targets,
		s->o.config);
}

static void print_agent_summary(struct session *s)
{
	if (!s->agent)
		return;
	fprintf(stderr,
		"ttatrace: agent: %" PRIu64 " processes traced (%" PRIu64 " from their first call, "
		"their program already probed), %" PRIu64 " execs looked at, %" PRIu64
		" attach failures; %" PRIu64 " spans of processes no target selects dropped\n",
		s->ag.matched, s->ag.from_first_call, s->ag.execs_seen, s->ag.attach_failed,
		s->ag.unselected_spans);
}

static void nothing_matched(struct session *s, const char *what)
{
	const char *note = attacher__stripped_note(s->att);

	tt_die_msg("nothing matched: no function of %s matches %s%s (searched: %s)%s%s", what,
		   s->specs[0].text, s->n_specs > 1 ? " or the other probe specs" : "",
		   attacher__searched(s->att), note[0] ? "; " : "", note);
}

int session__attach_pids(struct session *s)
{
	const struct tt_opts *o = &s->o;
	char err[512] = "";
	pid_t last = 0;
	size_t i, gone = 0;
	int r;

	for (i = 0; i < o->n_pids; i++) {
		if (kill(o->pids[i], 0) && errno == ESRCH) {
			tt_die_msg("no such process: %d (check the PID with ps)", o->pids[i]);
			return EXIT_RUNTIME;
		}
	}
	for (i = 0; i < o->n_pids; i++) {
		struct target *t = target_add(s, o->pids[i], 0, true);

		if (!t) {
			tt_die_msg("pid %d: cannot track it: %s", o->pids[i], strerror(errno));
			return EXIT_RUNTIME;
		}
		target_fill(t);
		r = attacher__scan_pid(s->att, t->pid, err, sizeof(err));
		if (r >= 0 && s->py)
			r = py_attach_add(s->py, t->pid, false, r, err, sizeof(err));
		if (r == -ESRCH) {
			/* it exited while its probes went in: one line, not one per probe */
			t->alive = false;
			if (++gone < o->n_pids || o->cmd_argc)
				fprintf(stderr, "ttatrace: warning: %s: not traced\n", err);
			continue;
		}
		if (r < 0) {
			tt_die_msg("%s", err);
			return EXIT_RUNTIME;
		}
		if (!r && o->verbose)
			fprintf(stderr, "ttatrace: pid %d: nothing matched in %s\n", t->pid,
				attacher__searched(s->att));
		s->total += r;
		last = t->pid;
	}
	if (o->n_pids && gone == o->n_pids && !o->cmd_argc) {
		if (gone == 1)
			tt_die_msg("%s: nothing traced", err);
		else
			tt_die_msg("every target exited during attach: nothing traced");
		return EXIT_RUNTIME;
	}
	if (o->n_pids && !s->total && !o->cmd_argc) {
		char what[32];

		snprintf(what, sizeof(what), "pid %d", last);
		nothing_matched(s, what);
		return EXIT_RUNTIME;
	}
	return 0;
}

static void stop_detach(struct session *s)
{
	bpf_link__destroy(s->stop_link);
	s->stop_link = NULL;
	if (s->stop_fd >= 0)
		close(s->stop_fd);
	s->stop_fd = -1;
}

/* A launched program that ended before ttatrace finished attaching: reaped (unless
 * STATUS already says how it ended), and said in one line. */
static void launched_gone(struct session *s, struct target *t, const int *status)
{
	char how[64] = "";
	int st;

	if (status)
		st = *status;
	else if (waitpid(t->pid, &st, 0) != t->pid)
		st = -1;
	if (st != -1 && WIFEXITED(st))
		snprintf(how, sizeof(how), ", with status %d", WEXITSTATUS(st));
	else if (st != -1 && WIFSIGNALED(st))
		snprintf(how, sizeof(how), ", killed by signal %d", WTERMSIG(st));
	t->alive = false;
	tt_die_msg("'%s' (pid %d) exited during attach%s: nothing traced", s->o.cmd[0], t->pid, how);
}

int session__launch(struct session *s)
{
	const struct tt_opts *o = &s->o;
	struct launch *launch = &s->launch;
	char exe[PATH_MAX], err[512] = "";
	uint64_t eoff = 0;
	struct target *t;
	int st, r;
	LIBBPF_OPTS(bpf_uprobe_opts, uo);

	r = resolve_program(o->cmd[0], exe, sizeof(exe));
	if (r) {
		tt_die_msg("cannot run '%s': %s", o->cmd[0], strerror(-r));
		return EXIT_RUNTIME;
	}
	if (s->py && py_session__prepare_launch(s->py, err, sizeof(err))) {
		tt_die_msg("%s", err);
		return EXIT_RUNTIME;
	}
	r = launch_prepare(o->cmd, launch);
	if (r) {
		tt_die_msg("cannot start '%s': %s", o->cmd[0], strerror(-r));
		return EXIT_RUNTIME;
	}
	t = target_add(s, launch->pid, 0, true);
	if (!t) {
		tt_die_msg("cannot track '%s': %s", o->cmd[0], strerror(errno));
		kill(launch->pid, SIGKILL);
		return EXIT_RUNTIME;
	}
	t->launched = true;
	traced_put(s, launch->pid, exe); /* not yet exec'd: its program is exe */
	/* the executable's own functions: attached before exec so the first call is seen */
	attacher__set_started_name(s->att, launch->pid, o->cmd[0]);
	r = attacher__attach_file(s->att, launch->pid, exe, true, err, sizeof(err));
	if (r == -ESRCH) {
		launched_gone(s, t, NULL);
		return EXIT_RUNTIME;
	}
	if (r < 0) {
		tt_die_msg("%s", err);
		return EXIT_RUNTIME;
	}
	s->total += r;
	r = entry_offset(exe, &eoff);
	if (!r && s->multi) {
		uint64_t cookie = 0;

		s->stop_fd = r = uprobe_multi__attach(bpf_program__fd(s->skel->progs.tt_launch_stop_multi),
						      exe, &eoff, &cookie, 1, launch->pid, false);
		r = r < 0 ? r : 0;
	} else if (!r) {
		s->stop_link = bpf_program__attach_uprobe_opts(s->skel->progs.tt_launch_stop,
							       launch->pid, exe, eoff, &uo);
		if (!s->stop_link)
			r = -errno;
	}
	if (r && o->verbose)
		fprintf(stderr, "ttatrace: warning: no stop at the entry of %s (%s): libraries "
				"are attached once mapped\n", exe, strerror(-r));
	r = launch_go(launch);
	if (r) {
		tt_die_msg("cannot run '%s': %s", o->cmd[0], strerror(-r));
		t->alive = false;
		return EXIT_RUNTIME;
	}
	if (s->stop_link || s->stop_fd >= 0) {
		/* the child stops itself at its entry point: libraries are mapped */
		pid_t w = waitpid(launch->pid, &st, WUNTRACED);

		if (w == launch->pid && WIFSTOPPED(st)) {
			stop_detach(s);
			launch_test_hold();
			target_fill(t);
			r = attacher__scan_pid(s->att, launch->pid, err, sizeof(err));
			if (r >= 0 && s->py)
				r = py_attach_add(s->py, launch->pid, true, r, err, sizeof(err));
			if (r == -ESRCH) {
				launched_gone(s, t, NULL);
				return EXIT_RUNTIME;
			}
			if (r < 0) {
				tt_die_msg("%s", err);
				kill(launch->pid, SIGKILL);
				return EXIT_RUNTIME;
			}
			s->total += r;
			kill(launch->pid, SIGCONT);
		} else {
			/* it ended (or was killed) before its entry point */
			if (w != launch->pid)
				kill(launch->pid, SIGKILL);
			launched_gone(s, t, w == launch->pid ? &st : NULL);
			return EXIT_RUNTIME;
		}
	}
	if (!s->total) {
		char what[PATH_MAX + 32];

		snprintf(what, sizeof(what), "'%s' or its libraries", o->cmd[0]);
		nothing_matched(s, what);
		if (t->alive)
			kill(launch->pid, SIGKILL);
		return EXIT_RUNTIME;
	}
	return 0;
}

/* The bounded service label for metrics: never a pid. */
static const char *service_label(struct session *s)
{
	const char *service = s->oc.service_name;

	if (!service && s->agent)
		return "ttatrace-agent"; /* per-process services go to the spans' resources */
	if (!service && s->n_targets && s->targets[0]->proc.exe_name &&
	    s->targets[0]->proc.exe_name[0])
		service = s->targets[0]->proc.exe_name; /* the name it was started as */
	return service ? service : "unknown";
}

static void kill_launched(struct session *s)
{
	size_t i;

	for (i = 0; i < s->n_targets; i++)
		if (s->targets[i]->launched && s->targets[i]->alive)
			kill(s->targets[i]->pid, SIGKILL);
}

int session__start(struct session *s)
{
	const struct tt_opts *o = &s->o;
	struct assembler_opts ao = {};
	char err[512] = "";
	size_t i, n_alive;

	for (i = 0; i < s->n_specs; i++)
		if (!s->specs[i].matched)
			fprintf(stderr, "ttatrace: warning: --probe '%s' matched nothing yet\n",
				s->specs[i].text);
	hist_reader__sync(s->hreader, s->pt);
	if (o->metrics_addr) {
		s->prom = prom_server__start(o->metrics_addr, &s->msrc, service_label(s), err,
					     sizeof(err));
		if (!s->prom) {
			tt_die_msg("--metrics-addr: %s (give a free HOST:PORT, e.g. 127.0.0.1:9464)", err);
			kill_launched(s);
			return EXIT_RUNTIME;
		}
		if (o->verbose)
			fprintf(stderr, "ttatrace: metrics on http://%s/metrics\n", o->metrics_addr);
	}
	if (s->oc.endpoint) {
		/* the kernel's histograms and counters go out as OTLP metrics too */
		s->om = otlp_metrics__start(&s->oc, &s->msrc, service_label(s), 0);
		if (!s->om && o->verbose)
			fprintf(stderr, "ttatrace: warning: no OTLP metrics export: %s\n", strerror(errno));
	}
	if (o->max_rate > 0 || o->max_overhead > 0) {
		struct ttatrace_bpf *skel = s->skel;
		struct governor_opts go = {
			.soft_per_s = o->max_rate,
			.hard_per_s = o->max_rate_hard,
			.max_overhead = o->max_overhead,
			.max_overhead_probe = o->max_overhead_probe,
			.costs = o->probe_costs,
			.hits_fd = bpf_map__fd(skel->maps.hits),
			.muted_fd = bpf_map__fd(skel->maps.muted),
			.entry_prog_fd = bpf_program__fd(s->multi ? skel->progs.tt_entry_multi :
								    skel->progs.tt_entry),
			.exit_prog_fd = bpf_program__fd(s->multi ? skel->progs.tt_exit_multi :
								   skel->progs.tt_exit),
			.verbose = o->verbose,
		};

		if (o->max_overhead > 0 && !o->probe_costs_set)
			gov_calibrate(s, &go);
		s->gov = governor__new(&go);
		if (!s->gov) {
			tt_die_msg("starting the probe governor: %s", strerror(errno));
			return EXIT_RUNTIME;
		}
		gov_tick(s, now_mono_ns());
	}
	for (i = 0, n_alive = 0; i < s->n_targets; i++)
		n_alive += s->targets[i]->alive;
	fprintf(stderr, "ttatrace: %d probes attached to %zu process%s; Ctrl-C to stop\n", s->total,
		n_alive, n_alive == 1 ? "" : "es");

	if (o->format == FORMAT_TREE)
		s->sinks[s->n_sinks++] = tree_sink__new(s->out);
	else if (o->format == FORMAT_JSONL)
		s->sinks[s->n_sinks++] = jsonl_sink__new(s->out);
	else if (o->format == FORMAT_OTLP_JSON)
		s->sinks[s->n_sinks++] = otlp_json_sink__new(s->out, &s->oc);
	if (s->oc.endpoint)
		s->sinks[s->n_sinks++] = s->otlp_sink = otlp_http_sink__new(&s->oc);
	if (s->svg)
		s->sinks[s->n_sinks++] = flamegraph_sink__new(s->svg, o->critical_path);
	if (s->folded)
		s->sinks[s->n_sinks++] = folded_sink__new(s->folded);
	s->sinks[s->n_sinks++] = summary_sink__new(s->pt);
	for (i = 0; i < s->n_sinks; i++)
		if (!s->sinks[i])
			return EXIT_RUNTIME;
	ao.probe = lookup_probe;
	ao.process = lookup_process;
	ao.ctx = s;
	ao.sinks = s->sinks;
	ao.n_sinks = s->n_sinks;
	if (s->sampler) {
		/* the tail rules decide before any output sees a trace */
		ao.filter = sampler__filter;
		ao.filter_ctx = s->sampler;
	}
	ao.idle_timeout_ns = (uint64_t)(o->trace_timeout_s * 1e9);
	ao.max_pending_spans = 4u << 20;
	ao.annotate = s->cat != NULL;
	s->asmb = assembler__new(&ao);
	if (!s->asmb)
		return EXIT_RUNTIME;
	s->rb = ring_buffer__new(bpf_map__fd(s->skel->maps.events), on_record, s, NULL);
	s->prb = ring_buffer__new(bpf_map__fd(s->skel->maps.proc_events), on_proc_event, s, NULL);
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!s->rb || !s->prb || s->epfd < 0 ||
	    epoll_ctl(s->epfd, EPOLL_CTL_ADD, ring_buffer__epoll_fd(s->rb),
		      &(struct epoll_event){ .events = EPOLLIN }) ||
	    epoll_ctl(s->epfd, EPOLL_CTL_ADD, ring_buffer__epoll_fd(s->prb),
		      &(struct epoll_event){ .events = EPOLLIN })) {
		tt_die_msg("creating the ring buffer reader: %s", strerror(errno));
		return EXIT_RUNTIME;
	}
	return 0;
}

/* Libraries loaded since the last look (dlopen). */
static void rescan_targets(struct session *s)
{
	char err[512];
	size_t i;
	int r;

	for (i = 0; i < s->n_targets; i++) {
		if (!s->targets[i]->alive)
			continue;
		r = attacher__scan_pid(s->att, s->targets[i]->pid, err, sizeof(err));
		if (r > 0 && s->o.verbose)
			fprintf(stderr, "ttatrace: pid %d: %d new probes\n", s->targets[i]->pid, r);
		if (r > 0)
			hist_reader__sync(s->hreader, s->pt);
	}
}

/* Entries open no frame any more: let the calls in flight end (their exit links
 * still pair them) while any do, so a workflow running at the stop keeps its root:
 * until the kernel's count of open frames stops falling for 50 ms, 1 s at most.
 * Calls that stay open longer (main, a server's loop) are cut by the detach. */
static void detach_grace(struct session *s)
{
	uint64_t t0 = now_mono_ns(), changed = t0, now;
	struct tt_kstats ks;
	int64_t prev, cur;

	read_kstats(s->skel, &ks);
	prev = (int64_t)ks.frames_open;
	while (prev > 0) {
		usleep(5000);
		now = now_mono_ns();
		read_kstats(s->skel, &ks);
		cur = (int64_t)ks.frames_open;
		if (cur < prev) {
			prev = cur;
			changed = now;
		}
		if (now - changed >= 50000000ULL || now - t0 >= 1000000000ULL)
			break;
	}
}

/* The final detach, with a line every second once it has taken more than one: the
 * kernel may wait there for traced calls still running in the target. */
struct detach_watch {
	struct probe_table *pt;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
};

static void *detach_watcher(void *arg)
{
	struct detach_watch *w = arg;
	uint64_t t0 = now_mono_ns();
	struct timespec until;
	bool said = false;

	pthread_mutex_lock(&w->lock);
	clock_gettime(CLOCK_MONOTONIC, &until);
	while (!w->done) {
		size_t done, total;

		until.tv_sec += 1;
		if (pthread_cond_timedwait(&w->cond, &w->lock, &until) != ETIMEDOUT || w->done)
			break;
		probe_table__detach_progress(w->pt, &done, &total);
		fprintf(stderr, "ttatrace: detaching: %zu of %zu links out after %.0f s%s\n", done,
			total, (now_mono_ns() - t0) / 1e9,
			said ? "" : " (the kernel waits for traced calls still running in the target)");
		said = true;
	}
	pthread_mutex_unlock(&w->lock);
	if (said)
		fprintf(stderr, "ttatrace: detached in %.1f s\n", (now_mono_ns() - t0) / 1e9);
	return NULL;
}

static void detach_watched(struct session *s)
{
	struct detach_watch w = { .pt = s->pt };
	pthread_condattr_t ca;
	pthread_t th;
	bool watching;

	pthread_mutex_init(&w.lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w.cond, &ca);
	pthread_condattr_destroy(&ca);
	watching = !pthread_create(&th, NULL, detach_watcher, &w);
	probe_table__detach_all(s->pt);
	pthread_mutex_lock(&w.lock);
	w.done = true;
	pthread_cond_signal(&w.cond);
	pthread_mutex_unlock(&w.lock);
	if (watching)
		pthread_join(th, NULL);
	pthread_cond_destroy(&w.cond);
	pthread_mutex_destroy(&w.lock);
}

int session__run(struct session *s)
{
	const struct tt_opts *o = &s->o;
	uint64_t t_start, t_last_scan, t_last_clock, t_last_drops, t_last_ctl = 0, self_records = 0;
	struct drop_warn drops = { 0 };
	struct tt_kstats ks;
	size_t i;
	int r;

	t_start = t_last_scan = t_last_clock = t_last_drops = now_mono_ns();
	hup_reloads = s->agent;
	prom_server__set_ready(s->prom, true);
	while (!exiting) {
		uint64_t now;
		bool any = false;

		struct epoll_event ev[2];

		r = epoll_wait(s->epfd, ev, 2, (int)o->drain_ms);
		if (r < 0 && errno != EINTR) {
			tt_die_msg("reading the ring buffer: %s", strerror(errno));
			break;
		}
		/* a process's exec or fork before its spans; the kernel wakes us only past
		 * a fill level: drain what is there */
		ring_buffer__consume(s->prb);
		ring_buffer__consume(s->rb);
		prom_server__beat(s->prom);
		if (reload) {
			reload = 0;
			agent_reload(s);
		}
		now = now_mono_ns();
		if (s->gov)
			gov_tick(s, now); /* acts every 0.5 s at most; /metrics shows it below */
		if (s->sk) {
			struct sampling_totals stt;

			read_kstats(s->skel, &ks);
			sample_kernel__totals(s->sk, s->sampler, &ks, &stt);
			update_self(s, s->asmb, s->otlp_sink, &stt, now, &self_records);
		} else {
			update_self(s, s->asmb, s->otlp_sink, NULL, now, &self_records);
		}
		if (s->sk || now - t_last_drops >= 1000000000ULL) {
			if (!s->sk)
				read_kstats(s->skel, &ks);
			drop_warn__check(&drops, ks.rb_reserve_fail + ks.tail_flush_fail, now, stderr);
			t_last_drops = now;
		}
		agent_python_retry(s);
		agent_env_retry(s);
		py_session__tick(s->py);
		if (py_session__take_new(s->py))
			hist_reader__sync(s->hreader, s->pt);
		assembler__expire(s->asmb, now);
		for (i = 0; i < s->n_targets; i++) {
			struct target *t = s->targets[i];
			bool was = t->alive;

			any |= target_alive(t);
			if (was && !t->alive && (t->ppid || s->agent))
				unfollow(s, t); /* its exit event was lost */
		}
		if (!any && !s->agent) {
			if (o->verbose)
				fprintf(stderr, "ttatrace: every target has exited\n");
			break;
		}
		if (o->duration_s > 0 && now - t_start >= (uint64_t)(o->duration_s * 1e9))
			break;
		if (now - t_last_scan > 1000000000ULL) {
			rescan_targets(s);
			reap_children(s, now);
			t_last_scan = now;
		}
		if (s->sk && now - t_last_ctl >= 1000000000ULL) {
			sample_kernel__tick(s->sk, now, probe_table__count(s->pt));
			sampler__set_probability(s->sampler, sample_kernel__probability(s->sk));
			t_last_ctl = now;
		}
		if (now - t_last_clock > 10000000000ULL) {
			assembler__set_clock(s->asmb, tt_mono_to_wall_offset());
			t_last_clock = now;
		}
	}

	/* calls/s in the summary: the time traced, without the detach below */
	s->rt.elapsed_s = (now_mono_ns() - t_start) / 1e9;
	prom_server__set_ready(s->prom, false);
	/* detach first (entries stop opening frames, exit links out, entry links out),
	 * then take what is left in the ring; calls that enter after the stop return
	 * without a frame: detach edges */
	__atomic_store_n(&s->skel->bss->edge_stopping, 1, __ATOMIC_SEQ_CST);
	detach_grace(s);
	detach_watched(s);
	ring_buffer__consume(s->prb);
	ring_buffer__consume(s->rb);
	/* traces whose root is still open keep their held spans: count them */
	sample_kernel__drain(s->sk);
	assembler__flush(s->asmb);
	return 0;
}

static void print_summary(struct session *s, const struct tt_kstats *ks,
			  const struct assembler_stats *as)
{
	struct run_totals *rt = &s->rt;

	/* (Python's probe ids are reserved, not attached: its links are counted) */
	rt->probes_attached = probe_table__count(s->pt) - (s->py ? TT_PY_MAX_PROBES : 0) -
			      attacher__failed(s->att) + py_session__links(s->py);
	rt->probes_failed = attacher__failed(s->att);
	rt->sink_spans_printed = s->o.format == FORMAT_NONE ? 0 : as->spans;
	rt->hist = s->hreader ? &s->msrc : NULL;
	summary__print(stderr, s->pt, ks, as, rt);
	if (s->gov)
		governor__print_summary(s->gov, ks->spans_muted, stderr);
	sample_kernel__print_summary(stderr, s->sk, s->sampler, ks);
	print_follow_summary(s);
	print_agent_summary(s);
	py_session__summary(stderr, s->py, ks);
}

int session__close(struct session *s, int rc)
{
	const struct tt_opts *o;
	struct assembler_stats as = {};
	struct tt_kstats ks = {};
	size_t i;

	if (!s)
		return rc;
	o = &s->o;
	/* before anything it reads (the maps, the reader) goes away */
	prom_server__stop(s->prom);
	otlp_metrics__stop(s->om); /* a last export with the final counts */
	if (s->skel)
		read_kstats(s->skel, &ks);
	if (s->asmb)
		assembler__stats(s->asmb, &as);
	if (s->otlp_sink) {
		struct otlp_stats os = {};

		otlp_http_sink__shutdown(s->otlp_sink);
		otlp_http_sink__stats(s->otlp_sink, &os);
		if (!o->quiet_summary)
			fprintf(stderr,
				"ttatrace: otlp: %" PRIu64 " spans exported in %" PRIu64 " requests (%" PRIu64
				" retries); dropped: queue full %" PRIu64 ", retries exhausted %" PRIu64
				", rejected %" PRIu64 ", unsent at exit %" PRIu64 "\n",
				os.spans_exported, os.requests, os.retries, os.spans_dropped_queue_full,
				os.spans_dropped_retries, os.spans_dropped_rejected, os.spans_dropped_shutdown);
	}
	for (i = 0; i < s->n_sinks; i++)
		tt_sink__close(s->sinks[i]);
	if (s->svg) {
		int e = rc == 0 ? flamegraph__write_svg_file(s->svg, o->svg) : 0;

		if (e) {
			tt_die_msg("writing flame graph to %s failed: %s", o->svg, strerror(-e));
			rc = EXIT_RUNTIME;
		}
		flamegraph__free(s->svg);
	}
	if (s->oc_ok)
		otlp_config__cleanup(&s->oc);
	if (s->folded && folded__close(s->folded)) {
		tt_die_msg("writing folded stacks to %s failed", o->folded);
		rc = EXIT_RUNTIME;
	}
	if (rc == 0 && !o->quiet_summary && s->pt)
		print_summary(s, &ks, &as);
	if (s->launch.gate_w >= 0) {
		/* never released: the child must not run untraced */
		kill(s->launch.pid, SIGKILL);
		waitpid(s->launch.pid, NULL, 0);
	}
	if (s->out && s->out != stdout)
		fclose(s->out);
	else if (s->out)
		fflush(s->out);
	stop_detach(s);
	bpf_link__destroy(s->fork_link);
	ring_buffer__free(s->rb);
	ring_buffer__free(s->prb);
	if (s->epfd > 0)
		close(s->epfd);
	assembler__free(s->asmb);
	sampler__free(s->sampler);
	sample_kernel__free(s->sk);
	attacher__free(s->att);
	py_session__free(s->py);
	probe_table__free(s->pt);
	hist_reader__free(s->hreader);
	governor__free(s->gov);
	ttatrace_bpf__destroy(s->skel);
	for (i = 0; i < s->n_specs; i++)
		probe_spec__clear(&s->specs[i]);
	catalog__free(s->cat);
	for (i = 0; i < 6; i++)
		bpf_link__destroy(s->follow_links[i]);
	for (i = 0; i < s->n_targets; i++) {
		free(s->targets[i]->cmdline);
		free(s->targets[i]->service);
		free(s->targets[i]);
	}
	free(s->targets);
	u64map__free(s->by_pid);
	logjson__stop();
	for (i = 0; i < s->n_probed; i++) {
		free(s->probed[i].exe);
		free(s->probed[i].service);
	}
	free(s->probed);
	free(s);
	return rc;
}
