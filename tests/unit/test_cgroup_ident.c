/* Unit tests for user/cgroup_ident.c: container id and pod UID from cgroup v2 paths
 * as kubelet (cgroupfs and systemd drivers), containerd, CRI-O, Docker and podman
 * write them, seen from the host and from a private cgroup namespace. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup_ident.h"

#define CID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define UID "3f1c2a9e-5b7d-4e21-9c0a-1b2c3d4e5f60"
#define UID_ "3f1c2a9e_5b7d_4e21_9c0a_1b2c3d4e5f60"

struct ccase {
	const char *path;
	const char *cid; /* expected, "" for none */
	const char *uid;
};

static void run(const struct ccase *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct cgroup_ident id;
		bool got = cgroup_ident__parse(c[i].path, &id);

		if (strcmp(id.container_id, c[i].cid) || strcmp(id.pod_uid, c[i].uid) ||
		    got != (c[i].cid[0] || c[i].uid[0]))
			fail_msg("%s: got container '%s' pod '%s' (%d), want '%s' '%s'", c[i].path,
				 id.container_id, id.pod_uid, got, c[i].cid, c[i].uid);
	}
}

#define RUN(a) run(a, sizeof(a) / sizeof(a[0]))

static void test_kubelet_systemd(void **state)
{
	(void)state;
	static const struct ccase c[] = {
		{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_
		  ".slice/cri-containerd-" CID ".scope", CID, UID },
		{ "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_
		  ".slice/crio-" CID ".scope", CID, UID },
		{ "/kubepods.slice/kubepods-pod" UID_ ".slice/docker-" CID ".scope", CID, UID },
		/* the pod's own cgroup, no container */
		{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_ ".slice", "",
		  UID },
		/* CRI-O's monitor process is not the container */
		{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_
		  ".slice/crio-conmon-" CID ".scope", "", UID },
		/* upper case hex is normalised */
		{ "/kubepods.slice/kubepods-pod3F1C2A9E_5B7D_4E21_9C0A_1B2C3D4E5F60.slice/cri-containerd-"
		  "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef.scope",
		  CID, UID },
	};
	RUN(c);
}

static void test_kubelet_cgroupfs(void **state)
{
	(void)state;
	static const struct ccase c[] = {
		{ "/kubepods/burstable/pod" UID "/" CID, CID, UID },
		{ "/kubepods/besteffort/pod" UID "/" CID, CID, UID },
		{ "/kubepods/pod" UID "/" CID, CID, UID },
		/* containerd's cgroupfs names with the runtime in the component */
		{ "/kubepods/burstable/pod" UID "/cri-containerd:" CID, CID, UID },
		{ "/kubepods/burstable/pod" UID, "", UID },
	};
	RUN(c);
}

static void test_runtimes_without_kubernetes(void **state)
{
	(void)state;
	static const struct ccase c[] = {
		{ "/system.slice/docker-" CID ".scope", CID, "" },
		{ "/docker/" CID, CID, "" },
		{ "/machine.slice/libpod-" CID ".scope", CID, "" },
		{ "/machine.slice/libpod-" CID ".scope/container", CID, "" },
		{ "/user.slice/user-0.slice/session-3.scope", "", "" },
		{ "/", "", "" },
		{ "", "", "" },
		{ "/system.slice/ssh.service", "", "" },
	};
	RUN(c);
}

static void test_private_namespace(void **state)
{
	(void)state;
	static const struct ccase c[] = {
		/* a process in a container with its own cgroup namespace, seen from the host
		 * agent through another namespace's /proc */
		{ "/../../kubepods-besteffort-pod" UID_ ".slice/cri-containerd-" CID ".scope", CID, UID },
		{ "/../" CID, CID, "" },
		{ "/..", "", "" },
		{ "/./kubepods/pod" UID "/./" CID, CID, UID },
	};
	RUN(c);
}

static void test_near_misses(void **state)
{
	(void)state;
	static const struct ccase c[] = {
		/* 63 and 65 hex digits */
		{ "/docker/" "123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "", "" },
		{ "/docker/0" CID, "", "" },
		/* hex glued to a name without a separator */
		{ "/system.slice/foo" CID ".scope", "", "" },
		/* a UID with a non-hex digit, one too short, "pod" inside a word */
		{ "/kubepods/pod3f1c2a9e-5b7d-4e21-9c0a-1b2c3d4e5f6g", "", "" },
		{ "/kubepods/pod3f1c2a9e-5b7d-4e21-9c0a-1b2c3d4e5f6", "", "" },
		{ "/kubepods/ipod" UID, "", "" },
		{ "/kubepods/pod" UID "x", "", "" },
		/* the pod comes from above the container, not below it */
		{ "/docker/" CID "/pod" UID, CID, "" },
		/* the deepest container wins (a container inside a pod's container) */
		{ "/kubepods/pod" UID "/" CID "/docker-"
		  "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210.scope",
		  "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210", UID },
	};
	RUN(c);
}

/* Every prefix of a real path and random bytes: no crash, no read past the end
 * (ASan), results always well-formed. */
static void test_garbage(void **state)
{
	static const char full[] = "/../kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_
				   ".slice/cri-containerd-" CID ".scope";
	char buf[512];
	unsigned seed = 12345;

	(void)state;
	for (size_t n = 0; n <= strlen(full); n++) {
		struct cgroup_ident id;
		char *p = strndup(full, n);

		assert_non_null(p);
		cgroup_ident__parse(p, &id);
		assert_true(strlen(id.container_id) == 0 || strlen(id.container_id) == 64);
		assert_true(strlen(id.pod_uid) == 0 || strlen(id.pod_uid) == 36);
		free(p);
	}
	for (int round = 0; round < 20000; round++) {
		struct cgroup_ident id;
		size_t n = (size_t)(rand_r(&seed) % (sizeof(buf) - 1));

		for (size_t i = 0; i < n; i++) {
			static const char alpha[] = "/.-_:0123456789abcdefpodscope";
			int r = rand_r(&seed);

			buf[i] = r & 1 ? alpha[(r >> 1) % (sizeof(alpha) - 1)] : (char)(r >> 8);
			if (!buf[i])
				buf[i] = '/';
		}
		buf[n] = '\0';
		cgroup_ident__parse(buf, &id);
		assert_true(strlen(id.container_id) == 0 || strlen(id.container_id) == 64);
		assert_true(strlen(id.pod_uid) == 0 || strlen(id.pod_uid) == 36);
	}
	/* more components than the parser keeps */
	{
		struct cgroup_ident id;
		char *deep = malloc(200 * 2 + sizeof("/" CID));

		assert_non_null(deep);
		deep[0] = '\0';
		for (int i = 0; i < 200; i++)
			strcat(deep, "/a");
		strcat(deep, "/" CID);
		cgroup_ident__parse(deep, &id);
		free(deep);
	}
	assert_false(cgroup_ident__parse(NULL, &(struct cgroup_ident){ 0 }));
}

static void test_this_machine(void **state)
{
	char mnt[4096], path[4096];

	(void)state;
	/* cgroup2 is mounted somewhere on any machine these tests run on */
	assert_int_equal(cgroup_ident__mount(mnt, sizeof(mnt)), 0);
	assert_true(mnt[0] == '/');
	assert_int_equal(cgroup_ident__path_of(1, path, sizeof(path)), 0);
	assert_true(path[0] == '/');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kubelet_systemd),
		cmocka_unit_test(test_kubelet_cgroupfs),
		cmocka_unit_test(test_runtimes_without_kubernetes),
		cmocka_unit_test(test_private_namespace),
		cmocka_unit_test(test_near_misses),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_this_machine),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
