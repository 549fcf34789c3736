#!/usr/bin/env bash
# Start-up lab: a fresh start, kill -9, a relaunch; at the relaunch's first checkpoint, the CPU
# seconds of its threads by name (numbers folded), the process's total and the time it took.
#
#   BOOTSTRAP=127.0.0.1:9092 bench/startup-lab/thread-cpu.sh <java> [jvm options...]
set -uo pipefail
java_bin=$1; shift
app=${APP:-target/quarkus-app}
id="tc-$RANDOM"; dir=$(mktemp -d /tmp/tc.XXXX); port=$((20000 + RANDOM % 20000))
envs=(KAFKA_BOOTSTRAP_SERVERS="$BOOTSTRAP" TELEMETRY_INPUT_TOPICS="$id-in" TELEMETRY_OUTPUT_TOPIC="$id-out"
      TELEMETRY_DEAD_LETTER_TOPIC="$id-dlq" TELEMETRY_SOURCE_GROUP_ID="$id" TELEMETRY_TRANSACTIONAL_ID_PREFIX="$id"
      TELEMETRY_CHECKPOINT_DIR="$dir/checkpoints" TELEMETRY_CHECKPOINT_INTERVAL=1s TELEMETRY_PARALLELISM=2
      QUARKUS_HTTP_HOST=127.0.0.1 QUARKUS_HTTP_PORT=$port)
launch() { env -i PATH="$PATH" HOME="$dir" "${envs[@]}" "$java_bin" -Xmx384m "$@" -Djava.io.tmpdir="$dir" -jar "$(realpath "$app")/quarkus-run.jar" > "$dir/log" 2>&1 & pid=$!; }
waitchk() { for i in $(seq 1 600); do n=$(ls "$dir"/checkpoints/*/chk-*/_metadata 2>/dev/null | wc -l); [ "$n" -ge "$1" ] && return; sleep 0.05; done; }
launch "$@"; waitchk 2; kill -9 $pid; wait $pid 2>/dev/null
before=$(ls "$dir"/checkpoints/*/chk-*/_metadata 2>/dev/null | wc -l)
t0=$(date +%s%N); launch "$@"; waitchk $((before+1)); t1=$(date +%s%N)
for t in /proc/$pid/task/*; do printf '%s\t%s\n' "$(cat $t/comm)" "$(awk '{print ($14+$15)/100}' $t/stat)"; done | awk -F'\t' '{n=$1; gsub(/[0-9]+/,"N",n); c[n]+=$2} END {for (k in c) if (c[k]>0.05) printf "%6.2f %s\n", c[k], k}' | sort -rn | head -18
awk '{printf "process cpu %.2f s\n", ($14+$15)/100}' /proc/$pid/stat
echo "relaunch to checkpoint $(( (t1-t0)/1000000 )) ms"
kill -9 $pid; rm -rf "$dir"
