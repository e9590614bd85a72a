/* The shared libraries a dynamically linked program will map before main, found
 * by its (system) dynamic loader in list mode, without running the program. */
#ifndef TT_NEEDED_LIBS_H
#define TT_NEEDED_LIBS_H

/* Calls fn(ctx, path) for each library exe needs (the loader included), in the
 * loader's order. Returns how many, 0 for a static program, or a negative errno:
 * -EPERM when the program's interpreter is not a root-owned system file (it is
 * not run), -ENOEXEC when the loader failed (a library not found), or the first
 * negative value fn returned (the walk goes on). */
int needed_libs__list(const char *exe, int (*fn)(void *ctx, const char *path), void *ctx);

#endif
