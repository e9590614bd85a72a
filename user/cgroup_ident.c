/* Container id and pod UID from cgroup paths (see cgroup_ident.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cgroup_ident.h"

static bool is_hex_n(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* A pod UID at s: 8-4-4-4-12 hex digits separated by '-' or (systemd) '_'. */
static bool pod_uid_at(const char *s, size_t len, char res[37])
{
	static const int dash[] = { 8, 13, 18, 23 };
	size_t i, d = 0;
	char out[37];

	if (len < 36)
		return false;
	for (i = 0; i < 36; i++) {
		if (d < 4 && (int)i == dash[d]) {
			if (s[i] != '-' && s[i] != '_')
				return false;
			out[i] = '-';
			d++;
		} else if (isxdigit((unsigned char)s[i])) {
			out[i] = (char)tolower((unsigned char)s[i]);
		} else {
			return false;
		}
	}
	out[36] = '\0';
	memcpy(res, out, sizeof(out)); /* only a whole UID */
	return true;
}

/* "pod<uid>" (cgroupfs) or "...-pod<uid>.slice" (systemd) */
static bool pod_component(const char *c, size_t len, char out[37])
{
	size_t i;

	if (len > 6 && !memcmp(c + len - 6, ".slice", 6))
		len -= 6;
	for (i = 0; i + 3 <= len; i++) {
		if (memcmp(c + i, "pod", 3) || (i && c[i - 1] != '-'))
			continue;
		if (len - i - 3 == 36 && pod_uid_at(c + i + 3, 36, out))
			return true;
	}
	return false;
}

/* "<64hex>", "<prefix>-<64hex>.scope", "<prefix>:<runtime>:<64hex>" */
static bool container_component(const char *c, size_t len, char out[65])
{
	static const char *const not_containers[] = { "crio-conmon-", "conmon-" };
	const char *p;
	size_t i;

	for (i = 0; i < sizeof(not_containers) / sizeof(not_containers[0]); i++)
		if (len >= strlen(not_containers[i]) &&
		    !memcmp(c, not_containers[i], strlen(not_containers[i])))
			return false;
	if (len > 6 && !memcmp(c + len - 6, ".scope", 6))
		len -= 6;
	if (len < 64)
		return false;
	p = c + len - 64;
	if (!is_hex_n(p, 64))
		return false;
	/* the id is the whole component or follows a '-' or ':' separator */
	if (p != c && p[-1] != '-' && p[-1] != ':')
		return false;
	for (i = 0; i < 64; i++)
		out[i] = (char)tolower((unsigned char)p[i]);
	out[64] = '\0';
	return true;
}

bool cgroup_ident__parse(const char *path, struct cgroup_ident *out)
{
	const char *comp[128];
	size_t lens[128], n = 0, i;
	const char *s = path;
	ssize_t ci = -1;

	out->container_id[0] = '\0';
	out->pod_uid[0] = '\0';
	if (!path)
		return false;
	while (*s && n < sizeof(comp) / sizeof(comp[0])) {
		const char *e;

		while (*s == '/')
			s++;
		if (!*s)
			break;
		e = strchr(s, '/');
		if (!e)
			e = s + strlen(s);
		if (!(e - s == 2 && s[0] == '.' && s[1] == '.') && !(e - s == 1 && s[0] == '.')) {
			comp[n] = s;
			lens[n++] = (size_t)(e - s);
		}
		s = e;
	}
	for (i = n; i-- > 0;) {
		if (container_component(comp[i], lens[i], out->container_id)) {
			ci = (ssize_t)i;
			break;
		}
	}
	for (i = ci >= 0 ? (size_t)ci : n; i-- > 0;) {
		if (pod_component(comp[i], lens[i], out->pod_uid))
			break;
	}
	return out->container_id[0] || out->pod_uid[0];
}

int cgroup_ident__path_of(int pid, char *out, size_t len)
{
	char path[64], line[4096];
	FILE *f;
	int r = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(out, len, "%s", line + 3);
			r = 0;
			break;
		}
	}
	fclose(f);
	return r;
}

int cgroup_ident__mount(char *out, size_t len)
{
	char dev[256], dir[4096], type[64];
	FILE *f = fopen("/proc/mounts", "re");
	int r = -ENOENT;

	if (!f)
		return -errno;
	while (fscanf(f, "%255s %4095s %63s %*[^\n]", dev, dir, type) == 3) {
		if (!strcmp(type, "cgroup2")) {
			snprintf(out, len, "%s", dir);
			r = 0;
			break;
		}
	}
	fclose(f);
	return r;
}
