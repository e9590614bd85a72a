/* ttatrace entry point and lifecycle: check the system, load the BPF skeleton,
 * attach to the targets, drain the ring buffer until stopped, detach, summarise. */
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
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "assembler.h"
#include "attach.h"
#include "catalog.h"
#include "cli.h"
#include "elfsyms.h"
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
#include "outputs.h"
#include "probes.h"
#include "procmaps.h"
#include "prom_http.h"
#include "sample.h"
#include "sample_kernel.h"
#include "needed_libs.h"
#include "summary.h"
#include "uprobe_multi.h"
#include "ttatrace.skel.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2

static volatile sig_atomic_t exiting;

static void on_signal(int sig)
{
	exiting = sig;
}

static void __attribute__((format(printf, 1, 2))) die_msg(const char *fmt, ...)
{
	va_list ap;

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
	char *cmdline;
	struct tt_process proc;
};

static struct target targets[MAX_PIDS + 1];
static size_t n_targets;

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
	t->proc.exe_name = base ? base + 1 : t->exe;
	t->proc.cmdline = t->cmdline;
}

static bool target_alive(struct target *t)
{
	int st;

	if (!t->alive)
		return false;
	if (t->launched) {
		pid_t r = waitpid(t->pid, &st, WNOHANG);

		if (r == t->pid && (WIFEXITED(st) || WIFSIGNALED(st)))
			t->alive = false;
		return t->alive;
	}
	if (kill(t->pid, 0) && errno == ESRCH)
		t->alive = false;
	else if (proc_starttime(t->pid) != t->starttime)
		t->alive = false; /* the pid now names another process */
	return t->alive;
}

/* --- callbacks for the assembler ------------------------------------------- */

struct app {
	struct probe_table *pt;
	struct assembler *asmb;
	struct sampler *sampler; /* NULL: sampling off */
};

static const struct tt_probe *lookup_probe(void *ctx, uint32_t id)
{
	return probe_table__get(((struct app *)ctx)->pt, id);
}

static const struct tt_process *lookup_process(void *ctx, uint32_t pid)
{
	size_t i;

	(void)ctx;
	for (i = 0; i < n_targets; i++)
		if ((uint32_t)targets[i].pid == pid)
			return &targets[i].proc;
	return NULL;
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

static void update_self(struct assembler *a, struct tt_sink *otlp, const struct sampling_totals *st,
			uint64_t now_mono, uint64_t *last_records)
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
	pthread_mutex_lock(&self_share.lock);
	/* lag: measured when this drain read something, else kept */
	s.ringbuf_lag_s = self_share.s.ringbuf_lag_s;
	if (as.records != *last_records && now_mono > as.newest_end_ns)
		s.ringbuf_lag_s = (now_mono - as.newest_end_ns) / 1e9;
	self_share.s = s;
	pthread_mutex_unlock(&self_share.lock);
	*last_records = as.records;
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct app *app = ctx;

	if (app->sampler)
		sampler__on_record(app->sampler, data, size);
	assembler__add(app->asmb, data, size);
	return 0;
}

/* --- system checks ----------------------------------------------------------- */

static int check_privileges(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2] = {};
	uint64_t eff;

	if (geteuid() == 0)
		return 0;
	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	eff = ((uint64_t)data[1].effective << 32) | data[0].effective;
	/* CAP_BPF 39, CAP_PERFMON 38 (Linux 5.8+), or CAP_SYS_ADMIN 21 */
	if ((eff & (1ULL << 21)) || ((eff & (1ULL << 39)) && (eff & (1ULL << 38))))
		return 0;
	die_msg("not permitted: tracing needs root, or CAP_BPF + CAP_PERFMON + CAP_SYS_PTRACE "
		"(run with sudo)");
	return -EPERM;
}

static int check_kernel(void)
{
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		die_msg("kernel lacks BTF: /sys/kernel/btf/vmlinux is missing (needs a kernel built "
			"with CONFIG_DEBUG_INFO_BTF=y)");
		return -ENOTSUP;
	}
	if (access("/sys/bus/event_source/devices/uprobe/type", R_OK)) {
		die_msg("kernel lacks uprobe support: no uprobe PMU in /sys/bus/event_source/devices "
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

struct launch {
	pid_t pid;
	int gate_w; /* write one byte: exec */
	int err_r; /* reads errno if exec failed; EOF when exec succeeded */
};

static int launch_prepare(char **argv, struct launch *l)
{
	int gate[2], errp[2];
	pid_t pid;

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
	if (!path || !strcmp(path, "-"))
		return stdout;
	return fopen(path, "we");
}

/* Read-only settings, before load (and again if the first load fails). */
static void configure_skel(struct ttatrace_bpf *skel, const struct tt_opts *o,
			   const struct sample_kernel_opts *sko, uint32_t hist_probes)
{
	bpf_map__set_max_entries(skel->maps.hists, hist_probes);
	skel->rodata->max_depth = o->max_depth;
	skel->rodata->governor_on = o->max_rate > 0;
	skel->rodata->wake_bytes = o->ringbuf_bytes / TT_DEFAULT_WAKE_DIVISOR;
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
			die_msg("binary %s: %s (from --probe '%s')", b, strerror(errno), specs[i].text);
			return -ENOENT;
		}
		if (access(b, R_OK)) {
			die_msg("binary %s is unreadable: %s (from --probe '%s')", b, strerror(errno),
				specs[i].text);
			return -EACCES;
		}
		if (!elf_syms__is_elf_file(b)) {
			die_msg("binary %s is not an ELF file (from --probe '%s')", b, specs[i].text);
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
		       bool listing)
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
	fprintf(f, "binary\tsymbol\toffset\taddress\tentry\n");
	for (i = 0; i < o->n_pids && r >= 0; i++) {
		r = attacher__scan_pid(a, o->pids[i], err, sizeof(err));
		if (r >= 0)
			total += r;
		else if (listing)
			die_msg("%s", err);
	}
	if (r >= 0 && o->cmd_argc) {
		char exe[PATH_MAX];

		r = resolve_program(o->cmd[0], exe, sizeof(exe));
		if (r) {
			if (listing)
				die_msg("cannot run '%s': %s", o->cmd[0], strerror(-r));
		} else {
			/* not started: the executable, and its libraries as its loader
			 * resolves them (the loader in list mode, the program never run) */
			struct lib_walk w = { .a = a, .listing = listing };
			int n;

			r = attacher__attach_file(a, 0, exe, true, err, sizeof(err));
			if (r < 0) {
				if (listing)
					die_msg("%s", err);
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
	int n = null ? list_probes(null, specs, n_specs, o, false) : -1;
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

int main(int argc, char **argv)
{
	struct probe_spec specs[MAX_SPECS] = {};
	struct catalog *cat = NULL;
	struct bpf_link *fork_link = NULL;
	size_t n_specs = 0;
	struct tt_sink *sinks[8] = {};
	struct tt_sink *otlp_sink = NULL;
	struct flamegraph *svg = NULL;
	struct otlp_config oc = {};
	bool oc_ok = false;
	struct ttatrace_bpf *skel = NULL;
	struct ring_buffer *rb = NULL;
	struct attacher *att = NULL;
	struct assembler *asmb = NULL;
	struct probe_table *pt = NULL;
	struct folded *folded = NULL;
	struct bpf_link *stop_link = NULL;
	struct launch launch = { -1, -1, -1 };
	struct assembler_opts ao = {};
	struct assembler_stats as = {};
	struct tt_kstats ks = {};
	struct hist_reader *hreader = NULL;
	struct metrics_source msrc = {};
	struct prom_server *prom = NULL;
	struct otlp_metrics *om = NULL;
	struct governor *gov = NULL;
	struct run_totals rt = {};
	struct app app = {};
	struct sampler *sampler = NULL;
	struct sample_kernel *sk = NULL;
	struct sample_kernel_opts sko = {};
	uint64_t t_last_ctl = 0;
	struct tt_opts o;
	FILE *out = NULL;
	uint64_t t_start, t_last_scan, t_last_clock, self_records = 0;
	size_t i, n_sinks = 0;
	char err[512] = "";
	int rc = EXIT_RUNTIME, r, total = 0;
	bool multi = true, sampling;
	uint32_t hist_probes;

	if (argc > 1 && !strcmp(argv[1], "flamegraph"))
		return flamegraph_cmd_main(argc - 1, argv + 1);
	if (cli__parse(argc, argv, &o))
		return EXIT_USAGE;
	verbosity = o.verbose;
	libbpf_set_print(libbpf_print);

	for (i = 0; i < o.n_specs; i++) {
		if (probe_spec__parse(o.specs[i], &specs[i], err, sizeof(err))) {
			die_msg("%s", err);
			rc = EXIT_USAGE;
			goto cleanup;
		}
		n_specs++;
	}
	if (o.config) {
		cat = catalog__load(o.config, err, sizeof(err));
		if (!cat) {
			die_msg("%s", err);
			rc = EXIT_USAGE;
			goto cleanup;
		}
		/* every catalogue entry is also a probe spec */
		for (i = 0; i < cat->n; i++) {
			char text[1024];

			if (n_specs == MAX_SPECS) {
				die_msg("%s: more than %d primitives", o.config, MAX_SPECS);
				rc = EXIT_USAGE;
				goto cleanup;
			}
			snprintf(text, sizeof(text), "%s%s%s", cat->entries[i].binary ? cat->entries[i].binary : "",
				 cat->entries[i].binary ? ":" : "", cat->entries[i].glob);
			if (probe_spec__parse(text, &specs[n_specs], err, sizeof(err))) {
				die_msg("%s:%d: %s", o.config, cat->entries[i].line, err);
				rc = EXIT_USAGE;
				goto cleanup;
			}
			n_specs++;
		}
	}
	if (validate_specs(specs, n_specs))
		goto cleanup;
	if (o.list_probes) {
		/* a dry run: nothing is loaded or attached */
		r = list_probes(stdout, specs, n_specs, &o, true);
		if (r >= 0)
			fprintf(stderr, "ttatrace: %d functions would be probed\n", r);
		rc = r < 0 ? EXIT_RUNTIME : 0;
		o.quiet_summary = true;
		goto cleanup;
	}
	if (check_privileges() || check_kernel())
		goto cleanup;
	for (i = 0; i < o.n_pids; i++) {
		if (kill(o.pids[i], 0) && errno == ESRCH) {
			die_msg("no such process: %d (check the PID with ps)", o.pids[i]);
			goto cleanup;
		}
	}
	raise_fd_limit();

	out = open_output(o.output);
	if (!out) {
		die_msg("cannot open output %s: %s", o.output, strerror(errno));
		goto cleanup;
	}
	if (o.folded && !(folded = folded__new(o.folded, o.critical_path))) {
		die_msg("cannot open folded output %s: %s", o.folded, strerror(errno));
		goto cleanup;
	}

	if (o.svg) {
		struct flamegraph_opts fo = { .unit = "ns", .title = "ttatrace" };
		FILE *probe_f = fopen(o.svg, "ae");

		/* fail before tracing if the SVG cannot be written */
		if (!probe_f) {
			die_msg("cannot write flame graph %s: %s", o.svg, strerror(errno));
			goto cleanup;
		}
		fclose(probe_f);
		svg = flamegraph__new(&fo);
		if (!svg)
			goto cleanup;
	}
	if (otlp_config__from_env(&oc, o.otlp)) {
		die_msg("OTLP settings: %s", oc.err);
		rc = EXIT_USAGE;
		goto cleanup;
	}
	oc_ok = true;
	oc.verbose = o.verbose > 0;
	if (oc.endpoint) {
		char why[512];

		if (otlp_http__probe(&oc, why, sizeof(why))) {
			die_msg("OTLP endpoint unreachable: %s (check --otlp or OTEL_EXPORTER_OTLP_ENDPOINT)",
				why);
			goto cleanup;
		}
	}

	hist_probes = hist_slots(specs, n_specs, &o);
	skel = ttatrace_bpf__open();
	if (!skel) {
		die_msg("opening the BPF object: %s", strerror(errno));
		goto cleanup;
	}
	sampling = o.sample_p < 1 || o.target_rate > 0 || o.keep_errors > 0 || o.keep_slow_s > 0;
	sko.p = o.sample_p;
	sko.target_rate = o.target_rate;
	sko.rules.keep_errors = o.keep_errors != 0 && (o.keep_errors > 0 || o.sample_p < 1 ||
						       o.target_rate > 0);
	sko.rules.keep_slow_ns = (uint64_t)(o.keep_slow_s * 1e9);
	sko.tail_stream = o.tail_stream;
	sko.tail_bytes = o.tail_bytes;
	sko.idle_ns = (uint64_t)(o.trace_timeout_s * 1e9);
	configure_skel(skel, &o, &sko, hist_probes);
	/* uprobe_multi (Linux 6.6+): try it, and load without it if the kernel refuses */
	bpf_program__set_expected_attach_type(skel->progs.tt_entry_multi,
					      (enum bpf_attach_type)TT_BPF_TRACE_UPROBE_MULTI);
	bpf_program__set_expected_attach_type(skel->progs.tt_exit_multi,
					      (enum bpf_attach_type)TT_BPF_TRACE_UPROBE_MULTI);
	r = ttatrace_bpf__load(skel);
	if (r) {
		ttatrace_bpf__destroy(skel);
		skel = ttatrace_bpf__open();
		if (!skel) {
			die_msg("opening the BPF object: %s", strerror(errno));
			goto cleanup;
		}
		configure_skel(skel, &o, &sko, hist_probes);
		bpf_program__set_autoload(skel->progs.tt_entry_multi, false);
		bpf_program__set_autoload(skel->progs.tt_exit_multi, false);
		multi = false;
		r = ttatrace_bpf__load(skel);
	}
	if (r) {
		die_msg("loading the BPF programs failed: %s (is this kernel 5.15+ with BTF and task "
			"storage? -vvv shows the verifier log)",
			strerror(-r));
		goto cleanup;
	}

	if (sampling) {
		sk = sample_kernel__new(skel, &sko);
		if (!sk) {
			die_msg("setting up sampling: %s", strerror(errno));
			goto cleanup;
		}
		sampler = sampler__new(sample_kernel__probability(sk), &sko.rules);
		if (!sampler)
			goto cleanup;
	}

	pt = probe_table__new();
	if (!pt)
		goto cleanup;
	hreader = hist_reader__new(skel);
	if (!hreader)
		goto cleanup;
	hist_reader__source(hreader, &msrc);
	msrc.read_self = read_self;
	att = attacher__new(skel->progs.tt_entry, skel->progs.tt_exit,
			    multi ? skel->progs.tt_entry_multi : NULL,
			    multi ? skel->progs.tt_exit_multi : NULL, pt, specs, n_specs, o.verbose);
	if (!att)
		goto cleanup;
	if (cat)
		attacher__set_catalog(att, cat, bpf_map__fd(skel->maps.probe_cfg));
	/* threads created inside a span continue its trace */
	fork_link = bpf_program__attach(skel->progs.tt_fork);
	if (!fork_link && o.verbose)
		fprintf(stderr, "ttatrace: warning: no fork tracepoint (%s): threads started inside a "
				"span begin their own traces\n", strerror(errno));

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGPIPE, SIG_IGN);

	for (i = 0; i < o.n_pids; i++) {
		struct target *t = &targets[n_targets++];

		t->pid = o.pids[i];
		t->alive = true;
		target_fill(t);
		r = attacher__scan_pid(att, t->pid, err, sizeof(err));
		if (r < 0) {
			die_msg("%s", err);
			goto cleanup;
		}
		if (!r && o.verbose)
			fprintf(stderr, "ttatrace: pid %d: nothing matched in %s\n", t->pid,
				attacher__searched(att));
		total += r;
		if (!total && i + 1 == o.n_pids && !o.cmd_argc) {
			die_msg("nothing matched: no function of pid %d matches %s%s (searched: %s)",
				t->pid, specs[0].text, n_specs > 1 ? " or the other probe specs" : "",
				attacher__searched(att));
			goto cleanup;
		}
	}

	if (o.cmd_argc) {
		char exe[PATH_MAX];
		uint64_t eoff = 0;
		struct target *t;
		int st;
		LIBBPF_OPTS(bpf_uprobe_opts, uo);

		r = resolve_program(o.cmd[0], exe, sizeof(exe));
		if (r) {
			die_msg("cannot run '%s': %s", o.cmd[0], strerror(-r));
			goto cleanup;
		}
		r = launch_prepare(o.cmd, &launch);
		if (r) {
			die_msg("cannot start '%s': %s", o.cmd[0], strerror(-r));
			goto cleanup;
		}
		t = &targets[n_targets++];
		t->pid = launch.pid;
		t->launched = true;
		t->alive = true;
		/* the executable's own functions: attached before exec so the first call is seen */
		r = attacher__attach_file(att, launch.pid, exe, true, err, sizeof(err));
		if (r < 0) {
			die_msg("%s", err);
			goto cleanup;
		}
		total += r;
		r = entry_offset(exe, &eoff);
		if (!r) {
			stop_link = bpf_program__attach_uprobe_opts(skel->progs.tt_launch_stop,
								    launch.pid, exe, eoff, &uo);
			if (!stop_link)
				r = -errno;
		}
		if (r && o.verbose)
			fprintf(stderr, "ttatrace: warning: no stop at the entry of %s (%s): libraries "
					"are attached once mapped\n", exe, strerror(-r));
		r = launch_go(&launch);
		if (r) {
			die_msg("cannot run '%s': %s", o.cmd[0], strerror(-r));
			t->alive = false;
			goto cleanup;
		}
		if (stop_link) {
			/* the child stops itself at its entry point: libraries are mapped */
			if (waitpid(launch.pid, &st, WUNTRACED) == launch.pid && WIFSTOPPED(st)) {
				bpf_link__destroy(stop_link);
				stop_link = NULL;
				target_fill(t);
				r = attacher__scan_pid(att, launch.pid, err, sizeof(err));
				if (r < 0) {
					die_msg("%s", err);
					kill(launch.pid, SIGKILL);
					goto cleanup;
				}
				total += r;
				kill(launch.pid, SIGCONT);
			} else {
				t->alive = false;
			}
		}
		if (!total) {
			die_msg("nothing matched: no function of '%s' or its libraries matches %s%s "
				"(searched: %s)",
				o.cmd[0], specs[0].text, n_specs > 1 ? " or the other probe specs" : "",
				attacher__searched(att));
			if (t->alive)
				kill(launch.pid, SIGKILL);
			goto cleanup;
		}
	}
	for (i = 0; i < n_specs; i++)
		if (!specs[i].matched)
			fprintf(stderr, "ttatrace: warning: --probe '%s' matched nothing yet\n",
				specs[i].text);
	hist_reader__sync(hreader, pt);
	if (o.metrics_addr) {
		const char *service = oc.service_name;

		/* bounded label: the service, never a pid */
		if (!service && n_targets && targets[0].exe[0]) {
			service = strrchr(targets[0].exe, '/');
			service = service ? service + 1 : targets[0].exe;
		}
		prom = prom_server__start(o.metrics_addr, &msrc, service ? service : "unknown", err,
					  sizeof(err));
		if (!prom) {
			die_msg("--metrics-addr: %s (give a free HOST:PORT, e.g. 127.0.0.1:9464)", err);
			for (i = 0; i < n_targets; i++)
				if (targets[i].launched && targets[i].alive)
					kill(targets[i].pid, SIGKILL);
			goto cleanup;
		}
		if (o.verbose)
			fprintf(stderr, "ttatrace: metrics on http://%s/metrics\n", o.metrics_addr);
	}
	if (oc.endpoint) {
		/* the kernel's histograms and counters go out as OTLP metrics too */
		const char *service = oc.service_name;

		if (!service && n_targets && targets[0].exe[0]) {
			service = strrchr(targets[0].exe, '/');
			service = service ? service + 1 : targets[0].exe;
		}
		om = otlp_metrics__start(&oc, &msrc, service ? service : "unknown", 0);
		if (!om && o.verbose)
			fprintf(stderr, "ttatrace: warning: no OTLP metrics export: %s\n", strerror(errno));
	}
	if (o.max_rate > 0) {
		gov = governor__new(o.max_rate, o.max_rate_hard, bpf_map__fd(skel->maps.hits),
				    bpf_map__fd(skel->maps.muted),
				    bpf_program__fd(multi ? skel->progs.tt_entry_multi : skel->progs.tt_entry),
				    bpf_program__fd(multi ? skel->progs.tt_exit_multi : skel->progs.tt_exit));
		if (!gov) {
			die_msg("starting the probe governor: %s", strerror(errno));
			goto cleanup;
		}
		governor__tick(gov, pt, now_mono_ns(), stderr);
	}
	fprintf(stderr, "ttatrace: %d probes attached to %zu process%s; Ctrl-C to stop\n", total,
		n_targets, n_targets == 1 ? "" : "es");

	app.pt = pt;
	if (o.format == FORMAT_TREE)
		sinks[n_sinks++] = tree_sink__new(out);
	else if (o.format == FORMAT_JSONL)
		sinks[n_sinks++] = jsonl_sink__new(out);
	else if (o.format == FORMAT_OTLP_JSON)
		sinks[n_sinks++] = otlp_json_sink__new(out, &oc);
	if (oc.endpoint)
		sinks[n_sinks++] = otlp_sink = otlp_http_sink__new(&oc);
	if (svg)
		sinks[n_sinks++] = flamegraph_sink__new(svg, o.critical_path);
	if (folded)
		sinks[n_sinks++] = folded_sink__new(folded);
	sinks[n_sinks++] = summary_sink__new(pt);
	for (i = 0; i < n_sinks; i++)
		if (!sinks[i])
			goto cleanup;
	ao.probe = lookup_probe;
	ao.process = lookup_process;
	ao.ctx = &app;
	ao.sinks = sinks;
	ao.n_sinks = n_sinks;
	if (sampler) {
		/* the tail rules decide before any output sees a trace */
		ao.filter = sampler__filter;
		ao.filter_ctx = sampler;
	}
	ao.idle_timeout_ns = (uint64_t)(o.trace_timeout_s * 1e9);
	ao.max_pending_spans = 4u << 20;
	ao.annotate = cat != NULL;
	asmb = assembler__new(&ao);
	if (!asmb)
		goto cleanup;
	app.asmb = asmb;
	app.sampler = sampler;
	rb = ring_buffer__new(bpf_map__fd(skel->maps.events), on_record, &app, NULL);
	if (!rb) {
		die_msg("creating the ring buffer reader: %s", strerror(errno));
		goto cleanup;
	}

	t_start = t_last_scan = t_last_clock = now_mono_ns();
	while (!exiting) {
		uint64_t now;
		bool any = false;

		r = ring_buffer__poll(rb, o.drain_ms);
		if (r < 0 && r != -EINTR) {
			die_msg("reading the ring buffer: %s", strerror(-r));
			break;
		}
		/* the kernel wakes us only past a fill level: drain what is there */
		ring_buffer__consume(rb);
		now = now_mono_ns();
		if (sk) {
			struct sampling_totals stt;

			read_kstats(skel, &ks);
			sample_kernel__totals(sk, sampler, &ks, &stt);
			update_self(asmb, otlp_sink, &stt, now, &self_records);
		} else {
			update_self(asmb, otlp_sink, NULL, now, &self_records);
		}
		if (gov)
			governor__tick(gov, pt, now, stderr); /* acts every 0.5 s at most */
		assembler__expire(asmb, now);
		for (i = 0; i < n_targets; i++)
			any |= target_alive(&targets[i]);
		if (!any) {
			if (o.verbose)
				fprintf(stderr, "ttatrace: every target has exited\n");
			break;
		}
		if (o.duration_s > 0 && now - t_start >= (uint64_t)(o.duration_s * 1e9))
			break;
		if (now - t_last_scan > 1000000000ULL) {
			/* libraries loaded since (dlopen) */
			for (i = 0; i < n_targets; i++) {
				if (!targets[i].alive)
					continue;
				r = attacher__scan_pid(att, targets[i].pid, err, sizeof(err));
				if (r > 0 && o.verbose)
					fprintf(stderr, "ttatrace: pid %d: %d new probes\n", targets[i].pid, r);
				if (r > 0)
					hist_reader__sync(hreader, pt);
			}
			t_last_scan = now;
		}
		if (sk && now - t_last_ctl >= 1000000000ULL) {
			sample_kernel__tick(sk, now, probe_table__count(pt));
			sampler__set_probability(sampler, sample_kernel__probability(sk));
			t_last_ctl = now;
		}
		if (now - t_last_clock > 10000000000ULL) {
			assembler__set_clock(asmb, tt_mono_to_wall_offset());
			t_last_clock = now;
		}
	}

	/* detach first (entries, then exits), then take what is left in the ring */
	probe_table__detach_all(pt);
	ring_buffer__consume(rb);
	/* traces whose root is still open keep their held spans: count them */
	sample_kernel__drain(sk);
	assembler__flush(asmb);
	rt.elapsed_s = (now_mono_ns() - t_start) / 1e9;
	rc = 0;

cleanup:
	/* before anything it reads (the maps, the reader) goes away */
	prom_server__stop(prom);
	otlp_metrics__stop(om); /* a last export with the final counts */
	if (skel)
		read_kstats(skel, &ks);
	if (asmb)
		assembler__stats(asmb, &as);
	if (otlp_sink) {
		struct otlp_stats os = {};

		otlp_http_sink__shutdown(otlp_sink);
		otlp_http_sink__stats(otlp_sink, &os);
		if (!o.quiet_summary)
			fprintf(stderr,
				"ttatrace: otlp: %" PRIu64 " spans exported in %" PRIu64 " requests (%" PRIu64
				" retries); dropped: queue full %" PRIu64 ", retries exhausted %" PRIu64
				", rejected %" PRIu64 ", unsent at exit %" PRIu64 "\n",
				os.spans_exported, os.requests, os.retries, os.spans_dropped_queue_full,
				os.spans_dropped_retries, os.spans_dropped_rejected, os.spans_dropped_shutdown);
	}
	for (i = 0; i < n_sinks; i++)
		tt_sink__close(sinks[i]);
	if (svg) {
		int e = rc == 0 ? flamegraph__write_svg_file(svg, o.svg) : 0;

		if (e) {
			die_msg("writing flame graph to %s failed: %s", o.svg, strerror(-e));
			rc = EXIT_RUNTIME;
		}
		flamegraph__free(svg);
	}
	if (oc_ok)
		otlp_config__cleanup(&oc);
	if (folded && folded__close(folded)) {
		die_msg("writing folded stacks to %s failed", o.folded);
		rc = EXIT_RUNTIME;
	}
	if (rc == 0 && !o.quiet_summary && pt) {
		rt.probes_attached = probe_table__count(pt) - attacher__failed(att);
		rt.probes_failed = attacher__failed(att);
		rt.sink_spans_printed = o.format == FORMAT_NONE ? 0 : as.spans;
		rt.hist = hreader ? &msrc : NULL;
		summary__print(stderr, pt, &ks, &as, &rt);
		if (gov) {
			struct governor_stats gs;

			governor__stats(gov, &gs);
			fprintf(stderr, "ttatrace: governor: %llu probes muted (spans stopped: %llu), "
					"%llu detached\n",
				(unsigned long long)gs.muted, (unsigned long long)ks.spans_muted,
				(unsigned long long)gs.detached);
		}
		sample_kernel__print_summary(stderr, sk, sampler, &ks);
	}
	if (launch.gate_w >= 0) {
		/* never released: the child must not run untraced */
		kill(launch.pid, SIGKILL);
		waitpid(launch.pid, NULL, 0);
	}
	if (out && out != stdout)
		fclose(out);
	else if (out)
		fflush(out);
	bpf_link__destroy(stop_link);
	bpf_link__destroy(fork_link);
	ring_buffer__free(rb);
	assembler__free(asmb);
	sampler__free(sampler);
	sample_kernel__free(sk);
	attacher__free(att);
	probe_table__free(pt);
	hist_reader__free(hreader);
	governor__free(gov);
	ttatrace_bpf__destroy(skel);
	for (i = 0; i < n_specs; i++)
		probe_spec__clear(&specs[i]);
	catalog__free(cat);
	for (i = 0; i < n_targets; i++)
		free(targets[i].cmdline);
	return rc;
}
