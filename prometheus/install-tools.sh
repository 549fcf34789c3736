#!/usr/bin/env bash
# Installs what the observability tests run (Debian packages): prometheus + promtool for the
# Prometheus and alert-rule tests, nodejs + npm for the Grafana dashboard schema check.
# Idempotent; run as root. Called by .ci/run.
set -euo pipefail

need=()
command -v prometheus >/dev/null || need+=(prometheus)
command -v promtool >/dev/null || need+=(prometheus)
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update
  apt-get install -y --no-install-recommends $(printf '%s\n' "${need[@]}" | sort -u)
fi
# The Debian package may start a system Prometheus on :9090 where an init system exists; the
# tests start their own on a free 127.0.0.1 port and do not need it.
prometheus --version | head -1
promtool --version | head -1
echo "node $(node --version), npm $(npm --version 2>/dev/null)"
