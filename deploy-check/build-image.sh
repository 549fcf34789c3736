#!/usr/bin/env bash
# Builds the service image from the Dockerfile with buildah, on a machine with no registry access:
# the JRE base image is made locally with debootstrap (Debian 13 minbase + openjdk-25-jre-headless)
# and imported as localhost/debian-jre25. The base is made once and reused while it exists (within
# one CI run), its root file system is also kept as a tarball under target/ for later runs.
#
# Usage: deploy-check/build-image.sh [image-tag]      (needs target/quarkus-app: ./mvnw package)
# Environment: CONTAINERS_CONF (defaults to deploy-check/containers.conf),
#              DEBIAN_MIRROR (defaults to the mirror apt on this machine uses).
set -euo pipefail
cd "$(dirname "$0")/.."

tag="${1:-localhost/telemetry-aggregator:latest}"
base=localhost/debian-jre25
work=target/container-image
export CONTAINERS_CONF="${CONTAINERS_CONF:-$PWD/deploy-check/containers.conf}"

[ -f target/quarkus-app/quarkus-run.jar ] || { echo "target/quarkus-app is missing: run ./mvnw package" >&2; exit 1; }

mirror() {
  # The first deb.debian.org-style URI apt uses here (deb822 .sources or a one-line .list).
  local uri
  uri=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v -- '-security' | head -1 || true)
  [ -n "$uri" ] || uri=$(grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '{print $2}' | grep -v -- '-security' | head -1 || true)
  echo "${uri:-http://deb.debian.org/debian}"
}

t0=$(date +%s)
if podman image exists "$base"; then
  echo "build-image: base $base already present"
else
  mkdir -p "$work"
  if [ ! -s "$work/debian-jre25.tar" ]; then
    m="${DEBIAN_MIRROR:-$(mirror)}"
    echo "build-image: debootstrap trixie from $m"
    rm -rf "$work/rootfs"
    timeout 600 debootstrap --variant=minbase --include=openjdk-25-jre-headless,ca-certificates \
      trixie "$work/rootfs" "$m" > "$work/debootstrap.log" 2>&1 \
      || { tail -30 "$work/debootstrap.log" >&2; exit 1; }
    # Smaller base: apt caches and package lists are not needed at run time.
    rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
    tar -C "$work/rootfs" -cf "$work/debian-jre25.tar.tmp" .
    mv "$work/debian-jre25.tar.tmp" "$work/debian-jre25.tar"
    rm -rf "$work/rootfs"
  fi
  timeout 300 podman import --change 'CMD ["/bin/bash"]' "$work/debian-jre25.tar" "$base" > /dev/null
fi
t1=$(date +%s)

timeout 600 buildah bud --isolation chroot --storage-driver overlay --from "$base" --format docker \
  --layers=false -t "$tag" .
t2=$(date +%s)
echo "build-image: base ${base} in $((t1 - t0)) s, image ${tag} in $((t2 - t1)) s"
podman image inspect --format 'build-image: size {{.Size}} bytes' "$tag"
