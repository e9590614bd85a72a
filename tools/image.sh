#!/usr/bin/env bash
# `make image`: an OCI image FROM scratch holding build/ttatrace, exactly the shared
# libraries it loads (resolved by the dynamic loader), the loader itself, CA
# certificates and a default catalogue. Built with buildah without a registry and
# without a RUN step, so it needs no base image and no network.
# Usage: tools/image.sh [IMAGE]   (default localhost/ttatrace:$VERSION, VERSION from the env)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
bin=$BUILD/ttatrace
image=${1:-localhost/ttatrace:${VERSION:-latest}}
die() { echo "image: $*" >&2; exit 1; }
[ -x "$bin" ] || die "$bin is not built (run make first)"
command -v buildah >/dev/null || die "buildah is not installed (tools/install-deps.sh installs it)"

root=$(mktemp -d)
ctr=
trap 'rm -rf "$root"; [ -n "$ctr" ] && buildah rm "$ctr" >/dev/null 2>&1; true' EXIT

# the loader named by the binary's PT_INTERP, and every library ldd resolves
interp=$(readelf -l "$bin" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
[ -n "$interp" ] || die "$bin names no program interpreter"
libs=$(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }')
missing=$(ldd "$bin" | awk '/not found/ { print $1 }')
[ -z "$missing" ] || die "$bin needs libraries this machine lacks: $missing"
for f in "$interp" $libs; do
	mkdir -p "$root$(dirname "$f")"
	cp -L "$f" "$root$f"
done
install -D -m 0755 "$bin" "$root/usr/local/bin/ttatrace"
strip --strip-debug "$root/usr/local/bin/ttatrace"
install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
install -D -m 0644 deploy/image/catalog.yaml "$root/etc/ttatrace/catalog.yaml"
# the Python bootstrap where ttatrace looks for it (launch mode, python-bootstrap)
install -D -m 0644 tools/python/sitecustomize.py "$root/usr/local/lib/ttatrace/python/sitecustomize.py"
# libc resolves names through files and dns by default; the runtime mounts /etc/hosts
printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
mkdir -p "$root/tmp"
chmod 1777 "$root/tmp"

ctr=$(buildah from scratch)
buildah copy --quiet "$ctr" "$root" / >/dev/null
buildah config \
	--entrypoint '["/usr/local/bin/ttatrace"]' \
	--cmd '["agent", "--config", "/etc/ttatrace/catalog.yaml", "--metrics-addr", "0.0.0.0:9464", "--format", "none"]' \
	--env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
	--port 9464/tcp \
	--label org.opencontainers.image.title=ttatrace \
	--label org.opencontainers.image.version="${VERSION:-latest}" \
	--label org.opencontainers.image.description="eBPF tracer of workflow primitives (node agent)" \
	"$ctr"
buildah commit --quiet --rm "$ctr" "$image" >/dev/null
ctr=
size=$(podman image inspect --format "{{.Size}}" "$image" 2>/dev/null || echo 0)
echo "image: built $image ($((${size:-0} / 1024)) KiB, $(echo "$libs" | wc -w) libraries)"
