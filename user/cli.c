/* Command-line parsing with argp: grouped options, examples in --help, strict
 * range-checked numbers, one-line errors. */
#include <argp.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "elfsyms.h"
#include "governor.h"
#include "ttatrace.h"

static const char version[] = "ttatrace " TTATRACE_VERSION;
const char *argp_program_bug_address = "https://github.com/ttatrace/ttatrace/issues";

static const char doc[] =
	"ttatrace -- trace workflow primitives in a running process with eBPF, no code change.\n"
	"\n"
	"Attaches an entry uprobe and an exit uretprobe to every function matching --probe,\n"
	"pairs them in the kernel and prints one span tree per finished workflow.\n"
	"\v"
	"PROBE SPEC: [BINARY:]GLOB. BINARY is a path or a library name as it appears in\n"
	"/proc/PID/maps ('libsqlite3' matches libsqlite3.so.0.8.6); without it the main\n"
	"executable and every mapped library are searched. GLOB uses * ? [..].\n"
	"\n"
	"Examples:\n"
	"  sudo ttatrace -p 1234 --probe 'tta_*'\n"
	"  sudo ttatrace -p 1234 --config tools/workflow-demo.yaml\n"
	"  sudo ttatrace -p 1234 --probe 'libsqlite3:sqlite3_*' --format jsonl -o spans.jsonl\n"
	"  sudo ttatrace --probe 'tta_*' --folded out.folded -- ./build/workflow-demo --iterations 100\n"
	"  sudo ttatrace -p 1234 --probe 'tta_*' --otlp http://127.0.0.1:4318 --format none\n"
	"  sudo ttatrace -p 1234 --probe 'tta_*' --metrics-addr :9464 --format none\n"
	"  sudo ttatrace -p 1234 --probe 'tta_*' --duration 30 --svg workflow.svg\n"
	"  sudo ttatrace -p 1234 --probe 'libpython3.12:Py*' --max-overhead 5% --format none\n"
	"  ttatrace flamegraph out.folded > out.svg\n"
	"\n"
	"Commands (the first word; none means trace):\n"
	"  trace        trace processes (this help)\n"
	"  agent        trace every process the catalogue's targets: select, as they start,\n"
	"               on the whole host, prepared Python services included:\n"
	"               ttatrace agent --config FILE [OPTIONS]\n"
	"  flamegraph   render a folded-stacks file as an interactive SVG (ttatrace flamegraph --help)\n"
	"  python-bootstrap DIR\n"
	"               copy the Python bootstrap into DIR, for PYTHONPATH (a pod's initContainer)\n"
	"\n"
	"Needs CAP_BPF CAP_PERFMON CAP_SYS_PTRACE (root, unless they were dropped). "
	"Exit status: 0 ok (targets that exit while traced end the run normally), 1 runtime "
	"error (among them: a target that exited before its probes were all in, said in one "
	"line 'pid N exited during attach'; with several -p the others are traced and it is "
	"a warning), 2 usage error.";

static const char args_doc[] = "[-- CMD [ARGS...]]";

enum {
	OPT_PROBE = 'P',
	OPT_FORMAT = 'f',
	OPT_FOLDED = 1000,
	OPT_SVG,
	OPT_CRITICAL,
	OPT_DURATION,
	OPT_MAX_DEPTH,
	OPT_RINGBUF,
	OPT_DRAIN_MS,
	OPT_TRACE_TIMEOUT,
	OPT_NO_SUMMARY,
	OPT_OTLP,
	OPT_METRICS_ADDR,
	OPT_USAGE,
	OPT_CONFIG,
	OPT_SAMPLE,
	OPT_KEEP_ERRORS,
	OPT_NO_KEEP_ERRORS,
	OPT_KEEP_SLOW,
	OPT_TAIL_STREAM,
	OPT_TAIL_BUFFER,
	OPT_DEBUG_DIR,
	OPT_TARGET_RATE,
	OPT_LIST_PROBES,
	OPT_PROBE_AT_ENTRY,
	OPT_ALLOW_UNSAFE,
	OPT_MAX_RATE,
	OPT_MAX_RATE_HARD,
	OPT_MAX_OVERHEAD,
	OPT_MAX_OVERHEAD_PROBE,
	OPT_PROBE_COST,
	OPT_NO_FOLLOW_FORKS,
	OPT_LOG_FORMAT,
};

static const struct argp_option options[] = {
	{ NULL, 0, NULL, 0, "Targets:", 1 },
	{ "pid", 'p', "PID", 0, "Trace this running process (repeatable)", 1 },
	{ "probe", OPT_PROBE, "SPEC", 0, "Functions to trace: [BINARY:]GLOB (repeatable)", 1 },
	{ "config", OPT_CONFIG, "FILE", 0,
	  "Primitive catalogue (YAML): kinds, names, captures, error rules, context keys, "
	  "SLOs; its globs are traced too (see tools/catalog.md)",
	  1 },
	{ "no-follow-forks", OPT_NO_FOLLOW_FORKS, NULL, 0,
	  "Trace only the given processes, not the ones they fork (by default a forked "
	  "child, and one that execs the same program, is traced from its first call)",
	  1 },
	{ NULL, 0, NULL, 0, "Output:", 2 },
	{ "format", OPT_FORMAT, "FMT", 0,
	  "tree (default), jsonl, otlp-json (OTLP/JSON lines, as the Collector's file exporter "
	  "writes), or none",
	  2 },
	{ "otlp", OPT_OTLP, "URL", 0,
	  "Export spans as OTLP/HTTP protobuf to URL (e.g. http://127.0.0.1:4318); the "
	  "OTEL_EXPORTER_OTLP_* variables are honoured too; at exit the last exports get "
	  "OTEL_BSP_EXPORT_TIMEOUT ms (default 5000) in all, a second Ctrl-C stops waiting",
	  2 },
	{ "metrics-addr", OPT_METRICS_ADDR, "HOST:PORT", 0,
	  "Serve Prometheus metrics (per-primitive latency histograms) on "
	  "http://HOST:PORT/metrics; HOST defaults to 127.0.0.1",
	  2 },
	{ "output", 'o', "FILE", 0, "Write spans to FILE instead of stdout", 2 },
	{ "folded", OPT_FOLDED, "FILE", 0, "Write folded stacks (self time in us) at exit", 2 },
	{ "svg", OPT_SVG, "FILE", 0, "Write an interactive flame graph SVG at exit", 2 },
	{ "critical-path", OPT_CRITICAL, NULL, 0,
	  "Folded/SVG: only the branch that bounded each fan-out keeps its time", 2 },
	{ "no-summary", OPT_NO_SUMMARY, NULL, 0, "Do not print the summary at exit", 2 },
	{ "log-format", OPT_LOG_FORMAT, "FMT", 0,
	  "text (default) or json: every line ttatrace writes to stderr as one JSON object "
	  "{time, level, msg}",
	  2 },
	{ "verbose", 'v', NULL, 0, "More messages (-vv lists every attached probe)", 2 },
	{ "help", '?', NULL, 0, "Show this help", -1 },
	{ "usage", OPT_USAGE, NULL, 0, "Show a short usage message", -1 },
	{ "version", 'V', NULL, 0, "Print the version", -1 },
	{ NULL, 0, NULL, 0, "Limits:", 3 },
	{ "duration", OPT_DURATION, "SEC", 0, "Stop after SEC seconds (e.g. 30, 1.5, 500ms)", 3 },
	{ "max-depth", OPT_MAX_DEPTH, "N", 0, "Nesting depth traced per thread (1-32, default 32)", 3 },
	{ "ringbuf-size", OPT_RINGBUF, "BYTES", 0, "Ring buffer size, power of two (default 16M)", 3 },
	{ "drain-ms", OPT_DRAIN_MS, "MS", 0, "Drain the ring buffer every MS ms (default 100)", 3 },
	{ "trace-timeout", OPT_TRACE_TIMEOUT, "SEC", 0,
	  "Emit a trace whose root never finishes after SEC idle (default 30)", 3 },
	{ NULL, 0, NULL, 0, "Sampling:", 4 },
	{ "sample", OPT_SAMPLE, "P", 0,
	  "Keep each trace with probability P (0-1), decided in the kernel at its root; "
	  "histograms and /metrics still count every call",
	  4 },
	{ "keep-errors", OPT_KEEP_ERRORS, NULL, 0,
	  "Also keep every trace whose root (the workflow) failed by its error rule (default "
	  "when --sample < 1 or --target-rate); the kernel holds an unpicked trace's spans "
	  "until its root exits",
	  4 },
	{ "no-keep-errors", OPT_NO_KEEP_ERRORS, NULL, 0, "Do not keep error traces head sampling dropped",
	  4 },
	{ "keep-slow", OPT_KEEP_SLOW, "DURATION", 0,
	  "Also keep every trace whose root lasted at least DURATION (e.g. 30ms)", 4 },
	{ "target-rate", OPT_TARGET_RATE, "N[/s]", 0,
	  "Adapt the sampling probability every second to export about N traces/s, shared "
	  "fairly between root primitives (rare ones keep every trace)",
	  4 },
	{ "tail-stream", OPT_TAIL_STREAM, NULL, 0,
	  "Tail rules decide in userspace: stream every span of unpicked traces instead of "
	  "holding them in the kernel (for comparison)",
	  4 },
	{ "tail-buffer", OPT_TAIL_BUFFER, "BYTES", 0,
	  "Span records one unpicked trace may hold in the kernel (72 bytes a span, 240 with "
	  "captures; default and most 16352); a trace that outgrows it is streamed instead",
	  4 },
	{ "max-rate-per-probe", OPT_MAX_RATE, "N", 0,
	  "Governor: a probe called more than N times/s stops emitting spans (its histograms "
	  "go on); off by default",
	  3 },
	{ "max-rate-hard", OPT_MAX_RATE_HARD, "N", 0,
	  "Governor: a probe called more than N times/s is detached (default 10x "
	  "--max-rate-per-probe)",
	  3 },
	{ "max-overhead", OPT_MAX_OVERHEAD, "PCT", 0,
	  "Governor: when the probes cost the traced processes more than PCT% over their own "
	  "CPU time (calls x the cost of their instruction class against /proc's CPU time, "
	  "each second: a slowdown of PCT%), detach the costliest first until the rest fit; "
	  "off by default (e.g. 5% for broad globs)",
	  3 },
	{ "max-overhead-per-probe", OPT_MAX_OVERHEAD_PROBE, "PCT", 0,
	  "Governor: detach any one probe costing more than PCT% over the traced processes' "
	  "own CPU time (default: --max-overhead)",
	  3 },
	{ "probe-cost", OPT_PROBE_COST, "CLASS=NS,...", 0,
	  "Governor: what one traced call costs by the class of its probe's instruction "
	  "(nop5, emulated, stepped, unknown; ns, or us with a suffix); by default measured "
	  "at start on ttatrace's own functions (~0.2 s), else nop5=4000,emulated=12000,"
	  "stepped=28000 (a Firecracker VM; bare metal is far cheaper)",
	  3 },
	{ "probe-at-entry", OPT_PROBE_AT_ENTRY, NULL, 0,
	  "Put every probe on its function's first instruction (x86-64 otherwise moves it "
	  "to a cheaper instruction of the straight-line start run with the same stack "
	  "pointer, e.g. setjmp's jmp past its mov)",
	  4 },
	{ "allow-unsafe-probes", OPT_ALLOW_UNSAFE, NULL, 0,
	  "Probe setjmp, sigsetjmp, getcontext, swapcontext and vfork too (skipped by "
	  "default: a return probe on them kills the target)",
	  4 },
	{ "debug-dir", OPT_DEBUG_DIR, "DIR", 0,
	  "Also look for the debug files of stripped binaries in DIR (a build-id tree "
	  "DIR/.build-id/xx/yyyy.debug, or .gnu_debuglink names in DIR), before "
	  "/usr/lib/debug; repeatable; TTATRACE_DEBUG_DIRS=DIR:DIR does the same",
	  4 },
	{ "list-probes", OPT_LIST_PROBES, NULL, 0,
	  "Print every function that would be probed (binary, symbol, offset, address, the "
	  "class of its first instruction, where its probes go with their class: "
	  "nop5, emulated, stepped, refused, @+N past the entry, and its error rule: "
	  "the catalogue's, else from its return type, e.g. ret<0 (int), none (pointer), "
	  "none (no type info)) and exit without tracing",
	  4 },
	{ 0 },
};

int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	/* strtoull skips blanks and takes a sign: only digits may start a number */
	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno == ERANGE)
		return -ERANGE;
	if (*end)
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int parse_duration_s(const char *s, double *out)
{
	double v, mul = 1;
	char *end;

	/* digits or '.' first: no blanks, signs, "nan" or "inf" */
	if (!s || ((*s < '0' || *s > '9') && *s != '.'))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !(v >= 0))
		return -EINVAL;
	if (!strcmp(end, "") || !strcmp(end, "s"))
		mul = 1;
	else if (!strcmp(end, "ms"))
		mul = 1e-3;
	else if (!strcmp(end, "us"))
		mul = 1e-6;
	else if (!strcmp(end, "m"))
		mul = 60;
	else if (!strcmp(end, "h"))
		mul = 3600;
	else
		return -EINVAL;
	*out = v * mul;
	return 0;
}

int parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	int shift = 0;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	if (!strcmp(end, "K") || !strcmp(end, "k"))
		shift = 10;
	else if (!strcmp(end, "M"))
		shift = 20;
	else if (!strcmp(end, "G"))
		shift = 30;
	else if (*end)
		return -EINVAL;
	if (v > (~0ULL >> shift))
		return -ERANGE;
	v <<= shift;
	*out = v;
	return 0;
}

/* One line on stderr and exit 2: argp_error would add a second "Try ..." line. */
static void __attribute__((noreturn, format(printf, 1, 2))) usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("ttatrace: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see ttatrace --help)\n", stderr);
	exit(2);
}

static FILE *argp_errs;

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct tt_opts *o = state->input;
	uint64_t v;

	switch (key) {
	case 'p':
		if (parse_u64(arg, 1, INT_MAX, &v))
			usage_error("invalid PID '%s' (expected a positive integer)", arg);
		if (o->n_pids == MAX_PIDS)
			usage_error("too many -p (at most %d)", MAX_PIDS);
		o->pids[o->n_pids++] = (pid_t)v;
		break;
	case OPT_PROBE:
		if (o->n_specs == MAX_SPECS)
			usage_error("too many --probe (at most %d)", MAX_SPECS);
		o->specs[o->n_specs++] = arg;
		break;
	case OPT_FORMAT:
		if (!strcmp(arg, "tree"))
			o->format = FORMAT_TREE;
		else if (!strcmp(arg, "jsonl"))
			o->format = FORMAT_JSONL;
		else if (!strcmp(arg, "otlp-json"))
			o->format = FORMAT_OTLP_JSON;
		else if (!strcmp(arg, "none"))
			o->format = FORMAT_NONE;
		else
			usage_error("unknown --format '%s' (expected tree, jsonl, otlp-json or none)", arg);
		break;
	case OPT_OTLP:
		o->otlp = arg;
		break;
	case OPT_CONFIG:
		o->config = arg;
		break;
	case OPT_METRICS_ADDR:
		if (!*arg)
			usage_error("empty --metrics-addr (expected HOST:PORT, e.g. 127.0.0.1:9464)");
		o->metrics_addr = arg;
		break;
	case 'o':
		o->output = arg;
		break;
	case OPT_FOLDED:
		o->folded = arg;
		break;
	case OPT_SVG:
		o->svg = arg;
		break;
	case OPT_CRITICAL:
		o->critical_path = true;
		break;
	case OPT_LOG_FORMAT:
		if (!strcmp(arg, "json"))
			o->log_json = true;
		else if (strcmp(arg, "text"))
			usage_error("unknown --log-format '%s' (expected text or json)", arg);
		break;
	case OPT_NO_FOLLOW_FORKS:
		o->no_follow_forks = true;
		break;
	case OPT_NO_SUMMARY:
		o->quiet_summary = true;
		break;
	case 'v':
		o->verbose++;
		break;
	case OPT_DURATION:
		if (parse_duration_s(arg, &o->duration_s) || o->duration_s <= 0)
			usage_error("invalid --duration '%s' (expected seconds, e.g. 30, 1.5, 500ms)", arg);
		break;
	case OPT_MAX_DEPTH:
		if (parse_u64(arg, 1, TT_MAX_DEPTH, &v))
			usage_error("invalid --max-depth '%s' (expected 1-%d)", arg, TT_MAX_DEPTH);
		o->max_depth = v;
		break;
	case OPT_RINGBUF:
		if (parse_size(arg, &v) || v < 4096 || v > (1ULL << 30) || (v & (v - 1)))
			usage_error("invalid --ringbuf-size '%s' (a power of two, 4K-1G)", arg);
		o->ringbuf_bytes = v;
		break;
	case OPT_DRAIN_MS:
		if (parse_u64(arg, 1, 10000, &v))
			usage_error("invalid --drain-ms '%s' (expected 1-10000)", arg);
		o->drain_ms = v;
		break;
	case OPT_TRACE_TIMEOUT:
		if (parse_duration_s(arg, &o->trace_timeout_s))
			usage_error("invalid --trace-timeout '%s'", arg);
		break;
	case OPT_SAMPLE: {
		char *end = arg;

		errno = 0;
		o->sample_p = (arg[0] >= '0' && arg[0] <= '9') || arg[0] == '.' ? strtod(arg, &end) : -1;
		if (o->sample_p < 0 || errno || *end || !(o->sample_p <= 1))
			usage_error("invalid --sample '%s' (expected a probability, 0-1)", arg);
		break;
	}
	case OPT_KEEP_ERRORS:
		o->keep_errors = 1;
		break;
	case OPT_NO_KEEP_ERRORS:
		o->keep_errors = 0;
		break;
	case OPT_TAIL_BUFFER: {
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(arg, &end, 10);
		if (errno || end == arg || *end || v < 72 || v > TT_TAIL_DATA_BYTES)
			usage_error("invalid --tail-buffer '%s' (expected bytes, 72 to %u)", arg,
				    (unsigned)TT_TAIL_DATA_BYTES);
		o->tail_bytes = (uint32_t)v;
		break;
	}
	case OPT_TAIL_STREAM:
		o->tail_stream = true;
		break;
	case OPT_DEBUG_DIR: {
		struct stat st;

		if (stat(arg, &st) || !S_ISDIR(st.st_mode))
			usage_error("invalid --debug-dir '%s' (not a directory)", arg);
		if (elf_syms__add_debug_dir(arg))
			usage_error("--debug-dir '%s': out of memory", arg);
		break;
	}
	case OPT_KEEP_SLOW:
		if (parse_duration_s(arg, &o->keep_slow_s) || o->keep_slow_s <= 0)
			usage_error("invalid --keep-slow '%s' (expected a duration, e.g. 30ms)", arg);
		break;
	case OPT_TARGET_RATE: {
		char *end = arg;

		errno = 0;
		o->target_rate = (arg[0] >= '0' && arg[0] <= '9') || arg[0] == '.' ? strtod(arg, &end) : -1;
		if (o->target_rate > 0 && !errno && !strcmp(end, "/s"))
			end += 2;
		if (!(o->target_rate > 0) || errno || *end || o->target_rate > 1e9)
			usage_error("invalid --target-rate '%s' (expected traces per second, e.g. 50/s)",
				    arg);
		break;
	}
	case OPT_MAX_RATE:
	case OPT_MAX_RATE_HARD: {
		char *end;
		double v;

		errno = 0;
		v = (arg[0] >= '0' && arg[0] <= '9') ? strtod(arg, &end) : -1;
		if (v <= 0 || errno || (*end && strcmp(end, "/s")))
			usage_error("invalid %s '%s' (expected calls per second, e.g. 1000 or 1000/s)",
				    key == OPT_MAX_RATE ? "--max-rate-per-probe" : "--max-rate-hard", arg);
		if (key == OPT_MAX_RATE)
			o->max_rate = v;
		else
			o->max_rate_hard = v;
		break;
	}
	case OPT_MAX_OVERHEAD:
	case OPT_MAX_OVERHEAD_PROBE: {
		char *end;
		double v;

		errno = 0;
		v = (arg[0] >= '0' && arg[0] <= '9') ? strtod(arg, &end) : -1;
		if (!(v > 0) || v > 100 || errno || (*end && strcmp(end, "%")))
			usage_error("invalid %s '%s' (expected a percentage of the target's CPU time "
				    "above 0 and at most 100, e.g. 5%%)",
				    key == OPT_MAX_OVERHEAD ? "--max-overhead" : "--max-overhead-per-probe",
				    arg);
		if (key == OPT_MAX_OVERHEAD)
			o->max_overhead = v / 100;
		else
			o->max_overhead_probe = v / 100;
		break;
	}
	case OPT_PROBE_COST:
		if (governor__parse_costs(arg, &o->probe_costs))
			usage_error("invalid --probe-cost '%s' (expected CLASS=NS[,...] with CLASS one "
				    "of nop5, emulated, stepped, unknown, e.g. nop5=300,stepped=2us)",
				    arg);
		o->probe_costs_set = true;
		break;
	case OPT_LIST_PROBES:
		o->list_probes = true;
		break;
	case OPT_PROBE_AT_ENTRY:
		o->probe_at_entry = true;
		break;
	case OPT_ALLOW_UNSAFE:
		o->allow_unsafe = true;
		break;
	case ARGP_KEY_INIT:
		/* argp's own errors (unknown option, missing argument) go to a buffer:
		 * cli__parse prints their first line only */
		state->err_stream = argp_errs;
		break;
	case '?':
		argp_state_help(state, stdout, ARGP_HELP_STD_HELP & ~ARGP_HELP_EXIT_OK);
		exit(0);
	case 'V':
		printf("%s\n", version);
		exit(0);
	case OPT_USAGE:
		argp_state_help(state, stdout, ARGP_HELP_USAGE);
		exit(0);
	case ARGP_KEY_ARGS:
		o->cmd = state->argv + state->next;
		o->cmd_argc = state->argc - state->next;
		break;
	case ARGP_KEY_ARG:
		return ARGP_ERR_UNKNOWN;
	case ARGP_KEY_END:
		if (o->max_rate_hard && !o->max_rate)
			usage_error("--max-rate-hard needs --max-rate-per-probe");
		if (o->max_rate && !o->max_rate_hard)
			o->max_rate_hard = 10 * o->max_rate;
		if (o->max_rate && o->max_rate_hard <= o->max_rate)
			usage_error("--max-rate-hard must be above --max-rate-per-probe");
		if (o->max_overhead_probe && !o->max_overhead)
			usage_error("--max-overhead-per-probe needs --max-overhead");
		if (o->max_overhead_probe > o->max_overhead)
			usage_error("--max-overhead-per-probe cannot be above --max-overhead");
		if (o->agent) {
			if (o->n_pids || o->cmd_argc)
				usage_error("agent: the catalogue's targets: choose the processes, not -p or a command");
			if (!o->config)
				usage_error("agent: give --config FILE, a catalogue with targets: (see tools/catalog.md)");
			break;
		}
		if (!o->n_pids && !o->cmd_argc)
			usage_error("no target: give -p PID or -- CMD [ARGS]");
		if (!o->n_specs && !o->config)
			usage_error("no --probe or --config given: say which functions to trace, e.g. --probe 'tta_*'");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static int parse(int argc, char **argv, struct tt_opts *o, bool agent);

int cli__parse(int argc, char **argv, struct tt_opts *o)
{
	return parse(argc, argv, o, false);
}

int cli__parse_agent(int argc, char **argv, struct tt_opts *o)
{
	return parse(argc, argv, o, true);
}

static int parse(int argc, char **argv, struct tt_opts *o, bool agent)
{
	static const struct argp argp = { options, parse_opt, args_doc, doc, NULL, NULL, NULL };

	memset(o, 0, sizeof(*o));
	o->agent = agent;
	o->format = FORMAT_TREE;
	governor__default_costs(&o->probe_costs);
	o->max_depth = TT_DEFAULT_MAX_DEPTH;
	o->ringbuf_bytes = TT_DEFAULT_RINGBUF_BYTES;
	o->drain_ms = 100;
	o->trace_timeout_s = 30;
	o->sample_p = 1;
	o->keep_errors = -1;
	argp_err_exit_status = 2;
	char *buf = NULL, *nl, *saved_name;
	size_t len = 0;
	int err;

	argp_errs = open_memstream(&buf, &len);
	if (!argp_errs)
		return -ENOMEM;
	/* getopt prints unknown options itself, prefixed with argv[0] */
	saved_name = argv[0];
	argv[0] = (char *)"ttatrace";
	err = argp_parse(&argp, argc, argv, ARGP_NO_EXIT | ARGP_NO_HELP, NULL, o);
	argv[0] = saved_name;
	fclose(argp_errs);
	argp_errs = NULL;
	/* argp adds "Try `ttatrace --help'..." after getopt's line: keep one line */
	if (err && buf && *buf && strncmp(buf, "Try", 3)) {
		nl = strchr(buf, '\n');
		if (nl)
			*nl = '\0';
		fprintf(stderr, "%s (see ttatrace --help)\n", buf);
	}
	free(buf);
	if (err)
		exit(2);
	return 0;
}
