/* The built-in list of functions never probed without --allow-unsafe-probes (see
 * denylist.h): glibc's and musl's names, with their internal aliases. */
#include "denylist.h"

#include <stddef.h>
#include <string.h>

static const char *const denied[] = {
	/* setjmp family: the jmp_buf keeps the return address */
	"setjmp", "_setjmp", "__setjmp", "sigsetjmp", "__sigsetjmp", "__sigsetjmp_cancel",
	"__libc_sigsetjmp", "__GI__setjmp", "__GI___sigsetjmp", "__libc_setjmp",
	/* ucontext: getcontext/swapcontext save it in the context */
	"getcontext", "__getcontext", "swapcontext", "__swapcontext", "__GI___getcontext",
	"__GI___swapcontext",
	/* vfork: the child returns first, on the parent's stack */
	"vfork", "__vfork", "__libc_vfork", "__GI___vfork",
};

bool denylist__has(const char *name)
{
	for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++)
		if (!strcmp(name, denied[i]))
			return true;
	return false;
}

const char *denylist__text(void)
{
	return "setjmp, sigsetjmp and their aliases, getcontext, swapcontext, vfork";
}
