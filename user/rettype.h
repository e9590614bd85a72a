/* Error rules from return types: when the catalogue gives a function no error rule,
 * its return type decides which calls are errors. A signed integer (int, long,
 * ssize_t, an enum with negative values) is an error when negative at its own width;
 * void, pointers, unsigned, bool, char, floats and structs never are; a function the
 * binary has no type information for gets no rule. Types come from the file's DWARF,
 * else from a .BTF section. The kernel applies the rule (cookie bits
 * TT_COOKIE_RET_*) and userspace the same one (tt_ret_rule_error). */
#ifndef TT_RETTYPE_H
#define TT_RETTYPE_H

#include <stddef.h>
#include <stdint.h>

struct error_rule;

struct ret_rule {
	uint8_t rule; /* enum tt_ret_rule */
	/* the declared type as written ("int", "long int", "ssize_t", "enum status"),
	 * or the class that has no rule ("pointer", "void", "struct", "no type info") */
	char type[48];
};

struct ret_types;

/* Reads the return types of the functions defined in the ELF file at path (its DWARF,
 * else its .BTF section). A file with neither gives a table that answers "no type
 * info". NULL with errno set only if the file cannot be read or memory runs out. */
struct ret_types *ret_types__open(const char *path);
/* The rule of the function at address addr (st_value) named symbol. */
void ret_types__lookup(const struct ret_types *rt, uint64_t addr, const char *symbol,
		       struct ret_rule *out);
/* Functions with a known return type (tests, -vv). */
size_t ret_types__count(const struct ret_types *rt);
/* Where the types came from: "DWARF", "BTF" or "none". */
const char *ret_types__source(const struct ret_types *rt);
void ret_types__free(struct ret_types *rt);

/* The width in bits at which a catalogue rule reads its ret operand: the rule's cast
 * ("(int)ret"), else the return type's signed width, else 0 (of unknown type: as
 * shown, sign-extended when its upper half is zero). */
unsigned ret_operand_bits(const struct error_rule *cat, const struct ret_rule *r);

/* The rule a probe got, for --list-probes: "catalogue: ret == 0" when the catalogue
 * has one (cat may be NULL), else "ret<0 (int)", "none (pointer)", "none (no type
 * info)" ... Returns buf. */
const char *ret_rule__text(const struct error_rule *cat, const struct ret_rule *r, char *buf,
			   size_t len);

#endif
