/* Function symbols of one ELF file, with the file offsets uprobes attach at. */
#ifndef TT_ELFSYMS_H
#define TT_ELFSYMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct elf_sym {
	const char *name; /* without any "@VERSION" suffix; owned by the elf_syms */
	uint64_t addr; /* st_value (link-time virtual address) */
	uint64_t offset; /* file offset for uprobe attach: st_value - p_vaddr + p_offset */
	uint64_t size; /* st_size, 0 if unknown */
	bool nop5; /* the first 5 bytes at offset are 0f 1f 44 00 00 (x86 5-byte nop) */
	/* x86-64 probe placement (placement.h): the probes go at offset + site_delta */
	bool classified; /* entry_class and site_class are known */
	uint8_t entry_class, site_class; /* enum insn_class */
	uint32_t site_delta;
	bool from_dynsym; /* seen in .dynsym */
	bool from_symtab; /* seen in .symtab */
};

struct elf_syms;

/*
 * Loads the defined function symbols (STT_FUNC and STT_GNU_IFUNC, st_shndx != SHN_UNDEF,
 * st_value != 0) of .symtab and .dynsym, merged by (name, addr). Symbols that fall in no
 * PT_LOAD segment's file image are skipped: nothing could be attached there.
 *
 * Aliases (several names at one address, e.g. __libc_malloc and malloc) are all kept; a caller
 * that attaches must de-duplicate by offset itself, since it alone knows which name to report.
 *
 * NULL and errno on failure: ENOENT missing, EACCES unreadable, EISDIR a directory, ENOEXEC not
 * an ELF file or one with neither .symtab nor .dynsym, ENOMEM.
 */
struct elf_syms *elf_syms__open(const char *path);

/* The longest build-id kept (bytes). */
#define ELF_SYMS_BUILD_ID_MAX 64

/*
 * The same, and for a file without .symtab (a stripped distro build) the .symtab of its
 * separate debug file, whose addresses apply to PATH (same layout; code is read from PATH).
 * Looked for as gdb does, in the directories of elf_syms__add_debug_dir() and
 * TTATRACE_DEBUG_DIRS (colon-separated) first, then under ROOT (the target's root, e.g.
 * "/proc/PID/root"; "" for the host's): ROOT/usr/lib/debug/.build-id/xx/yyyy.debug by the
 * NT_GNU_BUILD_ID note (the candidate's must match), then the .gnu_debuglink name (its
 * CRC-32 checked) in NS_PATH's directory, its .debug/ and ROOT/usr/lib/debug/<dir>/; a
 * build-id also in the host's /usr/lib/debug. NS_PATH is PATH as the target sees it
 * (NULL: PATH). ROOT NULL: no lookup, as elf_syms__open(). Not found: the file's own
 * tables, and elf_syms__debug_missing() says what was looked for.
 */
struct elf_syms *elf_syms__open_in(const char *path, const char *root, const char *ns_path);
/* One more directory to look for debug files in (before the system's). */
int elf_syms__add_debug_dir(const char *dir);
/* Forgets them, and TTATRACE_DEBUG_DIRS (tests). */
void elf_syms__clear_debug_dirs(void);
/* The same over an ELF image in memory (LEN bytes, read in place, kept by the
 * caller while this runs), reported as NAME: the fuzzing entry point, over the
 * same reader as elf_syms__open(). */
struct elf_syms *elf_syms__open_mem(const void *image, size_t len, const char *name);
void elf_syms__free(struct elf_syms *syms);

/* Sorted by name, then by addr. */
size_t elf_syms__count(const struct elf_syms *syms);
const struct elf_sym *elf_syms__get(const struct elf_syms *syms, size_t i);

/*
 * Calls cb for every symbol whose name matches the glob (see glob.h), in sorted order. Literal
 * patterns are found by binary search. Returns the number of matches, -EINVAL for a bad
 * pattern, or the first negative value cb returns (which stops the walk). cb may be NULL to
 * just count.
 */
int elf_syms__match(const struct elf_syms *syms, const char *glob,
		    int (*cb)(const struct elf_sym *sym, void *ctx), void *ctx);

/* The file has C++ code: a symbol (defined or imported) with a mangled name, the C++
 * personality routine or __cxa_throw. Exceptions can unwind through its functions. */
bool elf_syms__is_cxx(const struct elf_syms *syms);

/* The debug file whose .symtab was read, or NULL. */
const char *elf_syms__debug_file(const struct elf_syms *syms);
/* For a file without .symtab whose debug file was not found: what was looked for
 * (one line, for an error message); else NULL. */
const char *elf_syms__debug_missing(const struct elf_syms *syms);
/* The NT_GNU_BUILD_ID note in hex, "" if none. */
const char *elf_syms__build_id(const struct elf_syms *syms);
/* The .gnu_debuglink file name ("" if none) and its CRC-32. */
const char *elf_syms__debuglink(const struct elf_syms *syms, uint32_t *crc);
/* The file has a .symtab of its own. */
bool elf_syms__has_symtab(const struct elf_syms *syms);

/* The path given to elf_syms__open. */
const char *elf_syms__path(const struct elf_syms *syms);

/* True if the file starts with the ELF magic; reads 4 bytes, parses nothing. */
bool elf_syms__is_elf_file(const char *path);

#endif /* TT_ELFSYMS_H */
