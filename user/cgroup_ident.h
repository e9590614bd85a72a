/* Identity from a cgroup v2 path (/proc/PID/cgroup's "0::" line): the container id
 * and the Kubernetes pod UID, as kubelet's cgroupfs and systemd drivers, containerd,
 * CRI-O, Docker and podman name their cgroups. Untrusted input: any bytes. */
#ifndef TT_CGROUP_IDENT_H
#define TT_CGROUP_IDENT_H

#include <stdbool.h>
#include <stddef.h>

struct cgroup_ident {
	char container_id[65]; /* 64 lowercase hex digits, "" if none */
	char pod_uid[37]; /* 8-4-4-4-12 with dashes, "" if none */
};

/* Parses path (e.g. "/kubepods.slice/kubepods-burstable.slice/
 * kubepods-burstable-pod<uid_with_underscores>.slice/cri-containerd-<64hex>.scope",
 * "/kubepods/besteffort/pod<uid>/<64hex>", "/system.slice/docker-<64hex>.scope";
 * leading "/.." components of a private cgroup namespace are skipped). The deepest
 * component naming a container wins; the pod UID comes from a component above it.
 * Returns true when either was found. */
bool cgroup_ident__parse(const char *path, struct cgroup_ident *out);

/* The cgroup v2 path of pid from /proc/PID/cgroup ("0::PATH"); 0 or -errno. */
int cgroup_ident__path_of(int pid, char *out, size_t len);

/* The cgroup2 mount point from /proc/mounts (e.g. /sys/fs/cgroup or
 * /sys/fs/cgroup/unified on a hybrid host); 0 or -ENOENT. */
int cgroup_ident__mount(char *out, size_t len);

#endif
