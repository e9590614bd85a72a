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

/* The path given to elf_syms__open. */
const char *elf_syms__path(const struct elf_syms *syms);

/* True if the file starts with the ELF magic; reads 4 bytes, parses nothing. */
bool elf_syms__is_elf_file(const char *path);

#endif /* TT_ELFSYMS_H */
