/* Command line: options of the tracing mode (the `flamegraph` subcommand parses
 * its own). */
#ifndef TT_CLI_H
#define TT_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "governor.h"

#define MAX_PIDS 64
#define MAX_SPECS 256

enum out_format {
	FORMAT_TREE,
	FORMAT_JSONL,
	FORMAT_OTLP_JSON,
	FORMAT_NONE,
};

struct tt_opts {
	pid_t pids[MAX_PIDS];
	size_t n_pids;
	const char *specs[MAX_SPECS];
	size_t n_specs;
	enum out_format format;
	const char *output; /* NULL: stdout */
	const char *folded;
	const char *svg;
	const char *otlp; /* --otlp URL */
	const char *config; /* --config catalogue.yaml */
	const char *metrics_addr; /* --metrics-addr HOST:PORT, NULL: no /metrics */
	bool critical_path;
	double duration_s; /* 0: until stopped */
	uint32_t max_depth;
	uint64_t ringbuf_bytes;
	uint32_t drain_ms;
	double trace_timeout_s;
	int verbose;
	bool quiet_summary;
	double sample_p; /* --sample: head-sampling probability, 1 = every trace */
	int keep_errors; /* --keep-errors / --no-keep-errors; -1: on when sampling */
	double keep_slow_s; /* --keep-slow: keep traces whose root lasted this; 0: off */
	bool tail_stream; /* --tail-stream: unpicked spans go to userspace, not a kernel buffer */
	uint32_t tail_bytes; /* --tail-buffer: bytes of spans one trace may hold in the kernel */
	double target_rate; /* --target-rate: traces/s the controller aims at; 0: off */
	double max_rate; /* --max-rate-per-probe: calls/s before a probe's spans stop; 0: off */
	double max_rate_hard; /* --max-rate-hard: calls/s before a probe is detached */
	double max_overhead; /* --max-overhead: probes' cost / targets' own CPU time; 0: off */
	double max_overhead_probe; /* --max-overhead-per-probe: the same for one probe */
	struct gov_costs probe_costs; /* --probe-cost over governor__default_costs */
	bool probe_costs_set; /* --probe-cost given: no self-calibration */
	bool list_probes; /* print what would be attached and exit */
	bool no_follow_forks; /* --no-follow-forks: forked children are not traced */
	bool probe_at_entry; /* no probe placement past the first instruction */
	bool agent; /* ttatrace agent: targets from the catalogue */
	bool log_json; /* --log-format json */
	bool allow_unsafe; /* --allow-unsafe-probes: setjmp-like functions too */
	char **cmd; /* after --: launch this */
	int cmd_argc;
};

/* Parses argv into o. Returns 0; exits 0 after --help/--version/--usage; on a usage
 * error prints one line "ttatrace: ..." on stderr and exits 2. */
int cli__parse(int argc, char **argv, struct tt_opts *o);
/* The same for `ttatrace agent`: no -p or command, --config required. */
int cli__parse_agent(int argc, char **argv, struct tt_opts *o);

/* Strict number parsing: whole string, range-checked. 0 or -EINVAL/-ERANGE. */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* "1.5", "250ms", "2s", "1m" -> seconds; a bare number is seconds. */
int parse_duration_s(const char *s, double *out);
/* "16M", "1G", "65536" -> bytes */
int parse_size(const char *s, uint64_t *out);

#endif
