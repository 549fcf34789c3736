#!/usr/bin/env bash
# Start-up lab (bench/results/NOTES.md, "Start-up: where the seconds go"): for one JVM variant,
# <runs> times a fresh start and a relaunch after kill -9 of the packaged service, each timed to
# ready (/q/health/ready) and to the first checkpoint it completes, with the process's CPU seconds
# at both. Idle input; parallelism 2, checkpoints every second. Appends to $OUT (default
# target/startup-lab.tsv): label, run, phase, ms to ready, CPU s, ms to checkpoint, CPU s.
#
#   BOOTSTRAP=127.0.0.1:9092 bench/startup-lab/time-starts.sh <label> <java> <runs> [jvm options...]
#
# APP: the packaged service (default target/quarkus-app). A broker on 127.0.0.1: e.g. the tests'
# (java -cp target/test-classes:... dev.telemetry.aggregator.testing.StandaloneTestBroker prints it).
set -uo pipefail
label=$1; java_bin=$2; runs=$3; shift 3
app=${APP:-target/quarkus-app}
out=${OUT:-target/startup-lab.tsv}
for run in $(seq 1 "$runs"); do
  id="lab-$label-$run-$RANDOM"
  dir=$(mktemp -d /tmp/lab.XXXX)
  port=$((20000 + RANDOM % 20000))
  envs=(KAFKA_BOOTSTRAP_SERVERS="$BOOTSTRAP" TELEMETRY_INPUT_TOPICS="$id-in" TELEMETRY_OUTPUT_TOPIC="$id-out"
        TELEMETRY_DEAD_LETTER_TOPIC="$id-dlq" TELEMETRY_SOURCE_GROUP_ID="$id" TELEMETRY_TRANSACTIONAL_ID_PREFIX="$id"
        TELEMETRY_CHECKPOINT_DIR="$dir/checkpoints" TELEMETRY_CHECKPOINT_INTERVAL=1s TELEMETRY_PARALLELISM=2
        QUARKUS_HTTP_HOST=127.0.0.1 QUARKUS_HTTP_PORT=$port)
  for phase in fresh relaunch; do
    start=$(date +%s%N)
    env -i PATH="$PATH" HOME="$dir" "${envs[@]}" "$java_bin" -Xmx384m "$@" -Djava.io.tmpdir="$dir" \
      -jar "$(realpath "$app")/quarkus-run.jar" > "$dir/$phase.log" 2>&1 &
    pid=$!
    ready=""
    for i in $(seq 1 600); do
      if curl -sf -m 1 "http://127.0.0.1:$port/q/health/ready" > /dev/null 2>&1; then
        ready=$(( ($(date +%s%N) - start) / 1000000 )); break
      fi
      sleep 0.05
    done
    cpu_ready=$(awk '{print ($14+$15)/100}' /proc/$pid/stat 2>/dev/null)
    # The first checkpoint completed by this process.
    before=$(ls -d "$dir"/checkpoints/*/chk-* 2>/dev/null | sed 's/.*chk-//' | sort -n | tail -1)
    checkpointed=""
    for i in $(seq 1 600); do
      newest=$(ls "$dir"/checkpoints/*/chk-*/_metadata 2>/dev/null | sed 's/.*chk-\([0-9]*\).*/\1/' | sort -n | tail -1)
      if [ -n "$newest" ] && { [ -z "$before" ] || [ "$newest" -gt "$before" ]; }; then
        checkpointed=$(( ($(date +%s%N) - start) / 1000000 )); break
      fi
      sleep 0.05
    done
    cpu_chk=$(awk '{print ($14+$15)/100}' /proc/$pid/stat 2>/dev/null)
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$run" "$phase" "$ready" "$cpu_ready" "$checkpointed" "$cpu_chk" | tee -a "$out"
    sleep 2
    kill -9 $pid; wait $pid 2>/dev/null
  done
  rm -rf "$dir"
done
