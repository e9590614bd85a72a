/* ttatrace entry point: picks the command and hands it its arguments. The work of
 * every tracing mode lives in the session (session.h). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "flamegraph_cmd.h"
#include "py_bootstrap_cmd.h"
#include "session.h"

/* ttatrace [trace] [OPTIONS] (-p PID... | -- CMD [ARGS...]) */
static int cmd_trace(int argc, char **argv)
{
	struct session *s;
	struct tt_opts o;
	int rc;

	if (cli__parse(argc, argv, &o))
		return EXIT_USAGE;
	s = session__new(&o);
	if (!s)
		return EXIT_RUNTIME;
	rc = session__prepare(s);
	if (!rc && o.list_probes)
		return session__close(s, session__list_probes(s, stdout));
	if (!rc)
		rc = session__check(s);
	if (!rc)
		rc = session__load(s);
	if (!rc)
		rc = session__attach_pids(s);
	if (!rc && o.cmd_argc)
		rc = session__launch(s);
	if (!rc)
		rc = session__start(s);
	if (!rc)
		rc = session__run(s);
	return session__close(s, rc);
}

/* ttatrace agent --config FILE [OPTIONS] */
static int cmd_agent(int argc, char **argv)
{
	struct session *s;
	struct tt_opts o;
	int rc;

	if (cli__parse_agent(argc, argv, &o))
		return EXIT_USAGE;
	s = session__new(&o);
	if (!s)
		return EXIT_RUNTIME;
	rc = session__prepare(s);
	if (!rc)
		rc = session__check(s);
	if (!rc)
		rc = session__load(s);
	if (!rc)
		rc = session__agent_attach(s);
	if (!rc)
		rc = session__start(s);
	if (!rc)
		rc = session__run(s);
	return session__close(s, rc);
}

struct command {
	const char *name;
	int (*run)(int argc, char **argv); /* argv[0] is the command's name */
};

static const struct command commands[] = {
	{ "trace", cmd_trace },
	{ "agent", cmd_agent },
	{ "flamegraph", flamegraph_cmd_main },
	{ "python-bootstrap", py_bootstrap_cmd_main },
};

int main(int argc, char **argv)
{
	size_t i;

	if (argc > 1) {
		for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
			if (!strcmp(argv[1], commands[i].name))
				return commands[i].run(argc - 1, argv + 1);
	}
	/* no command word: tracing, the default */
	return cmd_trace(argc, argv);
}
