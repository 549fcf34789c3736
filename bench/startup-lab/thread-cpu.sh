#!/usr/bin/env bash
# Start-up lab: a fresh start, kill -9, a relaunch; at the relaunch's first checkpoint, the CPU
# seconds of its threads by name (numbers folded), the process's total and the time it took.
#
#   BOOTSTRAP=127.0.0.1:9092 bench/startup-lab/thread-cpu.sh <java> [jvm options...]
set -uo pipefail
java_bin=$1; shift
source "$(dirname "$0")/service.sh"
lab_instance thread-cpu
launch() { lab_launch log "$@"; }
waitchk() { for i in $(seq 1 600); do [ "$(lab_checkpoints)" -ge "$1" ] && return; sleep 0.05; done; }
launch "$@"; waitchk 2; kill -9 $pid; wait $pid 2>/dev/null
before=$(lab_checkpoints)
t0=$(date +%s%N); launch "$@"; waitchk $((before+1)); t1=$(date +%s%N)
for t in /proc/$pid/task/*; do printf '%s\t%s\n' "$(cat $t/comm)" "$(awk '{print ($14+$15)/100}' $t/stat)"; done | awk -F'\t' '{n=$1; gsub(/[0-9]+/,"N",n); c[n]+=$2} END {for (k in c) if (c[k]>0.05) printf "%6.2f %s\n", c[k], k}' | sort -rn | head -18
awk '{printf "process cpu %.2f s\n", ($14+$15)/100}' /proc/$pid/stat
echo "relaunch to checkpoint $(( (t1-t0)/1000000 )) ms"
kill -9 $pid; rm -rf "$dir"
