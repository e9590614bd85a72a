/* The `ttatrace flamegraph` subcommand: options, inputs, output file. */
#include "flamegraph_cmd.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flamegraph.h"
#include "folded_parse.h"
#include "out_open.h"
#include "text_safe.h"

#define EXIT_USAGE 2

static const char USAGE[] =
	"Usage: ttatrace flamegraph [OPTIONS] [FILE|-]\n"
	"       ttatrace flamegraph --diff BEFORE [OPTIONS] AFTER\n"
	"\n"
	"Draws folded stacks ('a;b;c 123' per line, from ttatrace --folded, perf +\n"
	"stackcollapse-perf.pl, inferno, ...) as an interactive SVG: hover for details,\n"
	"click to zoom, Ctrl+F to search. FILE '-' or no FILE reads standard input.\n"
	"\n"
	"Output:\n"
	"  -o, --output FILE      write the SVG to FILE (default: standard output)\n"
	"  -t, --title TEXT       title (default: Flame Graph / Icicle Graph /\n"
	"                         Differential Flame Graph)\n"
	"  -w, --width PX         image width, 200..100000 (default 1200)\n"
	"  -m, --min-width PX     leave out frames narrower than PX pixels, with their\n"
	"                         children (default 0.1; 0 keeps every frame)\n"
	"  -i, --icicle           draw top-down: roots at the top\n"
	"  -u, --unit NAME        what the counts are: ns, us (default), ms, s are shown\n"
	"                         as durations; anything else, e.g. samples, as counts\n"
	"\n"
	"Input:\n"
	"  -d, --diff BEFORE      differential graph: frames sized by AFTER (the FILE),\n"
	"                         red where their share of the total grew since BEFORE,\n"
	"                         blue where it shrank\n"
	"  -s, --strict           reject the input at the first malformed line (default:\n"
	"                         report it with its line number and skip it)\n"
	"  -h, --help             show this help\n"
	"\n"
	"Examples:\n"
	"  ttatrace flamegraph out.folded > out.svg\n"
	"  ttatrace flamegraph --icicle --title 'checkout' -o checkout.svg out.folded\n"
	"  perf script | stackcollapse-perf.pl | ttatrace flamegraph --unit samples > cpu.svg\n"
	"  ttatrace flamegraph --diff before.folded after.folded > diff.svg\n";

struct input_ctx {
	struct flamegraph *fg;
	bool base;
	int cb_err; /* what stopped the parse from the callback, if anything */
};

static int add_line(const char *const *frames, size_t n, uint64_t value, void *ctx)
{
	struct input_ctx *ic = ctx;

	ic->cb_err = flamegraph__add_folded(ic->fg, frames, n, value, ic->base);
	return ic->cb_err;
}

/* Reads one input; prints its own errors. */
static int read_input(struct flamegraph *fg, const char *path, bool base, bool strict,
		      uint64_t *stacks)
{
	struct input_ctx ic = { fg, base, 0 };
	struct folded_parse_stats st = { 0 };
	char name[TEXT_SAFE_SIZE(256)];
	FILE *f = stdin;
	int err;

	text_safe(name, sizeof(name), strcmp(path, "-") ? path : "<stdin>", SIZE_MAX);
	if (strcmp(path, "-")) {
		f = fopen(path, "re");
		if (!f) {
			err = -errno;
			fprintf(stderr, "ttatrace: opening %s: %s\n", name, strerror(-err));
			return err;
		}
	}
	err = folded_parse__file(f, path, strict, add_line, &ic, &st);
	if (f != stdin)
		fclose(f);
	if (err == -EINVAL && strict) {
		fprintf(stderr, "ttatrace: %s: rejected (--strict)\n", name);
	} else if (err && ic.cb_err) {
		/* the parser reports its own errors with their reason */
		fprintf(stderr, "ttatrace: reading %s: %s\n", name, strerror(-err));
	} else if (!err && st.stacks == 0) {
		fprintf(stderr,
			"ttatrace: %s: no stacks found (expected folded lines such as "
			"'main;work;step 123')\n",
			name);
		err = -ENODATA;
	}
	*stacks = st.stacks;
	return err;
}

static int parse_width(const char *s, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < FLAMEGRAPH_MIN_WIDTH_PX ||
	    v > FLAMEGRAPH_MAX_WIDTH_PX)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

static int parse_min_width(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < 0 || v > FLAMEGRAPH_MAX_WIDTH_PX)
		return -EINVAL;
	*out = v == 0 ? FLAMEGRAPH_KEEP_ALL : v;
	return 0;
}

static int usage_error(const char *fmt, const char *arg)
{
	fputs("ttatrace: flamegraph: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs(" (see 'ttatrace flamegraph --help')\n", stderr);
	return EXIT_USAGE;
}

int flamegraph_cmd_main(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "title", required_argument, NULL, 't' },
		{ "width", required_argument, NULL, 'w' },
		{ "min-width", required_argument, NULL, 'm' },
		{ "icicle", no_argument, NULL, 'i' },
		{ "unit", required_argument, NULL, 'u' },
		{ "diff", required_argument, NULL, 'd' },
		{ "strict", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct flamegraph_opts opts = { 0 };
	const char *output = NULL, *before = NULL, *after;
	char *subtitle = NULL;
	struct flamegraph *fg = NULL;
	uint64_t stacks;
	bool strict = false;
	int c, rc = 1, err;

	/* optind = 0 makes glibc start over, whatever parsed argv before us */
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:t:w:m:iu:d:sh", long_opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			output = optarg;
			break;
		case 't':
			opts.title = optarg;
			break;
		case 'w':
			if (parse_width(optarg, &opts.width_px))
				return usage_error("--width must be a whole number of pixels "
						   "from 200 to 100000, not '%s'",
						   optarg);
			break;
		case 'm':
			if (parse_min_width(optarg, &opts.min_width_px))
				return usage_error("--min-width must be a number of pixels >= 0, "
						   "not '%s'",
						   optarg);
			break;
		case 'i':
			opts.icicle = true;
			break;
		case 'u':
			opts.unit = optarg;
			break;
		case 'd':
			before = optarg;
			opts.diff = true;
			break;
		case 's':
			strict = true;
			break;
		case 'h':
			fputs(USAGE, stdout);
			return 0;
		case ':':
			return usage_error("option '%s' needs an argument", argv[optind - 1]);
		default:
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind > 1)
		return usage_error("%s", before ? "--diff takes BEFORE as its argument and one "
						  "AFTER input, no more"
						: "one input at a time (to compare two, use --diff "
						  "BEFORE AFTER)");
	if (before && argc - optind == 0)
		return usage_error("%s", "--diff BEFORE needs the AFTER input too");
	after = argc - optind == 1 ? argv[optind] : "-";
	if (!strcmp(after, "-") && before && !strcmp(before, "-"))
		return usage_error("%s", "only one input can be standard input");
	if (!strcmp(after, "-") && isatty(STDIN_FILENO))
		return usage_error("%s", "no input: give a folded FILE, or pipe one in");

	if (before) {
		if (asprintf(&subtitle, "%s \xE2\x86\x92 %s", before,
			     strcmp(after, "-") ? after : "<stdin>") < 0)
			subtitle = NULL;
	} else if (strcmp(after, "-")) {
		subtitle = strdup(after);
	}
	opts.subtitle = subtitle;
	fg = flamegraph__new(&opts);
	if (!fg) {
		fprintf(stderr, "ttatrace: creating the flame graph: %s\n", strerror(errno));
		goto cleanup;
	}
	if (before && read_input(fg, before, true, strict, &stacks))
		goto cleanup;
	if (read_input(fg, after, false, strict, &stacks))
		goto cleanup;

	/* only now, and through a temporary file, so a failed read or write
	 * leaves an existing output file alone */
	err = flamegraph__write_svg_file(fg, output ? output : "-");
	if (err) {
		char safe[TEXT_SAFE_SIZE(256)];

		text_safe(safe, sizeof(safe), output && strcmp(output, "-") ? output : "<stdout>",
			  SIZE_MAX);
		fprintf(stderr, "ttatrace: writing %s: %s\n", safe,
			output ? out_open__strerror(output, -err) : strerror(-err));
		goto cleanup;
	}
	rc = 0;
cleanup:
	flamegraph__free(fg);
	free(subtitle);
	return rc;
}
