#!/usr/bin/env bash
# Start-up lab: what a JVM variant costs once started. Launches the service under steady input,
# waits WARM seconds (default 40), then measures the CPU seconds the service and the load
# generator use over WINDOW seconds (default 30), and the service's RSS at the end. Appends to
# $OUT (default target/steady-cpu.tsv): label, service CPU s, load generator CPU s, RSS MB.
# Start-up figures alone would favour a JIT that compiles less; this is their other side.
#
#   BOOTSTRAP=127.0.0.1:9092 [LOAD=5000] bench/startup-lab/steady-cpu.sh <label> <java> [jvm options...]
set -uo pipefail
label=$1; java_bin=$2; shift 2
out=${OUT:-target/steady-cpu.tsv}
source "$(dirname "$0")/service.sh"
lab_instance "steady-$label"
lab_load_start "${LOAD:-5000}"
lab_launch run.log "$@"
sleep "${WARM:-40}"
service_before=$(lab_cpu "$pid"); load_before=$(lab_cpu "$load_pid")
sleep "${WINDOW:-30}"
service_after=$(lab_cpu "$pid"); load_after=$(lab_cpu "$load_pid")
rss=$(awk '/VmRSS/ {print $2 / 1024}' "/proc/$pid/status")
awk -v l="$label" -v s0="$service_before" -v s1="$service_after" -v g0="$load_before" -v g1="$load_after" -v r="$rss" \
  'BEGIN {printf "%s\t%.2f\t%.2f\t%.0f\n", l, s1 - s0, g1 - g0, r}' | tee -a "$out"
kill -9 $pid; wait $pid 2>/dev/null
lab_load_stop
rm -rf "$dir"
