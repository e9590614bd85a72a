/* Open addressing with linear probing and backward-shift deletion (no tombstones,
 * so long-running collectors do not degrade). */
#include <errno.h>
#include <stdlib.h>

#include "u64map.h"

struct slot {
	uint64_t key; /* 0: empty */
	void *val;
};

struct u64map {
	struct slot *slots;
	size_t cap; /* power of two */
	size_t n;
};

static uint64_t mix(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ULL;
	k ^= k >> 33;
	return k;
}

struct u64map *u64map__new(size_t initial)
{
	struct u64map *m = calloc(1, sizeof(*m));
	size_t cap = 16;

	if (!m)
		return NULL;
	while (cap < initial * 2)
		cap <<= 1;
	m->slots = calloc(cap, sizeof(*m->slots));
	if (!m->slots) {
		free(m);
		errno = ENOMEM;
		return NULL;
	}
	m->cap = cap;
	return m;
}

void u64map__free(struct u64map *m)
{
	if (!m)
		return;
	free(m->slots);
	free(m);
}

static int grow(struct u64map *m)
{
	size_t ncap = m->cap * 2, i;
	struct slot *ns = calloc(ncap, sizeof(*ns));

	if (!ns)
		return -ENOMEM;
	for (i = 0; i < m->cap; i++) {
		size_t j;

		if (!m->slots[i].key)
			continue;
		j = mix(m->slots[i].key) & (ncap - 1);
		while (ns[j].key)
			j = (j + 1) & (ncap - 1);
		ns[j] = m->slots[i];
	}
	free(m->slots);
	m->slots = ns;
	m->cap = ncap;
	return 0;
}

int u64map__put(struct u64map *m, uint64_t key, void *val)
{
	size_t i;

	if (!key)
		return -EINVAL;
	if ((m->n + 1) * 4 > m->cap * 3) {
		int err = grow(m);

		if (err)
			return err;
	}
	i = mix(key) & (m->cap - 1);
	while (m->slots[i].key && m->slots[i].key != key)
		i = (i + 1) & (m->cap - 1);
	if (!m->slots[i].key)
		m->n++;
	m->slots[i].key = key;
	m->slots[i].val = val;
	return 0;
}

static size_t find(const struct u64map *m, uint64_t key)
{
	size_t i = mix(key) & (m->cap - 1);

	while (m->slots[i].key) {
		if (m->slots[i].key == key)
			return i;
		i = (i + 1) & (m->cap - 1);
	}
	return (size_t)-1;
}

void *u64map__get(const struct u64map *m, uint64_t key)
{
	size_t i;

	if (!key)
		return NULL;
	i = find(m, key);
	return i == (size_t)-1 ? NULL : m->slots[i].val;
}

void *u64map__del(struct u64map *m, uint64_t key)
{
	size_t i, j, mask = m->cap - 1;
	void *val;

	if (!key)
		return NULL;
	i = find(m, key);
	if (i == (size_t)-1)
		return NULL;
	val = m->slots[i].val;
	m->slots[i].key = 0;
	m->n--;
	/* shift back the run that follows so lookups never stop early */
	for (j = (i + 1) & mask; m->slots[j].key; j = (j + 1) & mask) {
		size_t home = mix(m->slots[j].key) & mask;

		/* move j to i when its home is not cyclically in (i, j] */
		if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
			m->slots[i] = m->slots[j];
			m->slots[j].key = 0;
			i = j;
		}
	}
	return val;
}

size_t u64map__count(const struct u64map *m)
{
	return m->n;
}

int u64map__next(const struct u64map *m, size_t *pos, uint64_t *key, void **val)
{
	while (*pos < m->cap) {
		size_t i = (*pos)++;

		if (m->slots[i].key) {
			*key = m->slots[i].key;
			*val = m->slots[i].val;
			return 0;
		}
	}
	return -ENOENT;
}
