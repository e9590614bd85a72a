#!/usr/bin/env bash
# Installs every Debian/Ubuntu package ttatrace needs to build, test and benchmark.
# Idempotent: packages already present are not reinstalled, apt is only asked
# when something is missing.
set -euo pipefail

PKGS=(
	make gcc g++ clang llvm pkg-config
	libclang-rt-14-dev # libFuzzer for Debian 12's clang 14 (make fuzz)
	libbpf-dev bpftool libelf-dev zlib1g-dev
	libcmocka-dev libyaml-dev libdw-dev
	libcurl4-openssl-dev libmicrohttpd-dev
	libprotobuf-c-dev protobuf-c-compiler
	binutils python3 sqlite3 libsqlite3-0 libc6-dev util-linux curl libcap2-bin
	prometheus gdb time
	postgresql # test_postgres: a pre-fork server (its client psql comes with it)
	# make image and its test: OCI image without a registry, run under runc
	podman buildah runc ca-certificates
)

# Test tools wanted as commands: a machine may already have them from elsewhere
# (e.g. a nodejs build that bundles npm and conflicts with Debian's npm package).
command -v node >/dev/null 2>&1 || PKGS+=(nodejs)
command -v npm >/dev/null 2>&1 || PKGS+=(npm)
command -v chromium >/dev/null 2>&1 || PKGS+=(chromium)

# Ubuntu ships bpftool inside linux-tools; Debian has its own package.
if ! apt-cache show bpftool >/dev/null 2>&1; then
	PKGS=("${PKGS[@]/bpftool/linux-tools-common}")
fi

missing=()
for p in "${PKGS[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all packages present"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages: ${missing[*]} (run as root: sudo $0)" >&2
	exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
