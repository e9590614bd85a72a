/* A small open-addressing hash map from non-zero uint64 keys to pointers; used to
 * find pending traces by trace key and spans by span id. */
#ifndef TT_U64MAP_H
#define TT_U64MAP_H

#include <stddef.h>
#include <stdint.h>

struct u64map;

struct u64map *u64map__new(size_t initial);
void u64map__free(struct u64map *m);
/* 0 or -ENOMEM; replaces an existing value. Key 0 is reserved (-EINVAL). */
int u64map__put(struct u64map *m, uint64_t key, void *val);
void *u64map__get(const struct u64map *m, uint64_t key);
/* returns the removed value or NULL */
void *u64map__del(struct u64map *m, uint64_t key);
size_t u64map__count(const struct u64map *m);
/* iterate: *pos starts at 0; returns 0 and fills key/val, or -ENOENT at the end.
 * Do not delete during iteration: a backward shift can skip entries. */
int u64map__next(const struct u64map *m, size_t *pos, uint64_t *key, void **val);

#endif
