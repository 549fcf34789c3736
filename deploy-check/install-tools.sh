#!/usr/bin/env bash
# Installs what the deployment checks need on a fresh Debian 12 machine (run as root, before
# ./mvnw verify): container tools for ContainerIT, Node/npm for ManifestsIT. Idempotent and quick
# when everything is present. See ../../shared/TOOLING.md ("Operational artifacts, checked for real").
set -euo pipefail

need=()
command -v podman >/dev/null || need+=(podman)
command -v buildah >/dev/null || need+=(buildah)
command -v runc >/dev/null || need+=(runc)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v newuidmap >/dev/null || need+=(uidmap)
[ -d /usr/lib/cni ] || need+=(containernetworking-plugins)
command -v slirp4netns >/dev/null || need+=(slirp4netns)
command -v npm >/dev/null || need+=(nodejs npm)

if [ ${#need[@]} -gt 0 ]; then
  echo "install-tools: installing ${need[*]}"
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}"
fi
