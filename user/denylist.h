/* Functions no return probe may sit on: they save their return address for a later
 * jump (setjmp, getcontext...) or return twice on one stack (vfork). The kernel's
 * uretprobe has replaced that address with its trampoline by then, so the later jump
 * lands in the trampoline outside the call it belongs to and the process dies
 * (SIGILL/SIGSEGV). */
#ifndef TT_DENYLIST_H
#define TT_DENYLIST_H

#include <stdbool.h>

/* True for a denied symbol name (exact, after any "@VERSION" is stripped). */
bool denylist__has(const char *name);

/* The list, for help and messages: "setjmp, _setjmp, ..." */
const char *denylist__text(void);

#endif /* TT_DENYLIST_H */
