#!/usr/bin/env bash
# Start-up lab (bench/results/NOTES.md, "Start-up: where the seconds go"): for one JVM variant,
# <runs> times a fresh start and a relaunch after kill -9 of the packaged service, each timed to
# ready (/q/health/ready) and to the first checkpoint it completes, with the process's CPU seconds
# at both. Idle input; parallelism 2, checkpoints every second. Appends to $OUT (default
# target/startup-lab.tsv): label, run, phase, ms to ready, CPU s, ms to checkpoint, CPU s.
#
#   BOOTSTRAP=127.0.0.1:9092 bench/startup-lab/time-starts.sh <label> <java> <runs> [jvm options...]
#
# APP: the packaged service (default target/quarkus-app). LOAD: events/s of input flowing during
# both starts (the bench's recovery scenario uses 5000), else idle input. A broker on 127.0.0.1:
# e.g. the tests' (java -cp target/test-classes:... dev.telemetry.aggregator.testing.StandaloneTestBroker
# prints it).
set -uo pipefail
label=$1; java_bin=$2; runs=$3; shift 3
out=${OUT:-target/startup-lab.tsv}
source "$(dirname "$0")/service.sh"
for run in $(seq 1 "$runs"); do
  lab_instance "lab-$label-$run"
  [ -n "${LOAD:-}" ] && lab_load_start "$LOAD"
  for phase in fresh relaunch; do
    # The newest completed checkpoint before this process (the previous run's, on a relaunch):
    # the process restores it and numbers its own from the next id.
    before=$(ls "$dir"/checkpoints/*/chk-*/_metadata 2>/dev/null | sed 's/.*chk-\([0-9]*\).*/\1/' | sort -n | tail -1)
    start=$(date +%s%N)
    lab_launch "$phase.log" "$@"
    # Ready and this process's first completed checkpoint (which may come before ready), each
    # with the process's CPU seconds when first seen.
    ready=""; cpu_ready=""; checkpointed=""; cpu_chk=""
    for i in $(seq 1 600); do
      if [ -z "$ready" ] && curl -sf -m 1 "http://127.0.0.1:$port/q/health/ready" > /dev/null 2>&1; then
        ready=$(( ($(date +%s%N) - start) / 1000000 ))
        cpu_ready=$(lab_cpu "$pid")
      fi
      if [ -z "$checkpointed" ]; then
        newest=$(ls "$dir"/checkpoints/*/chk-*/_metadata 2>/dev/null | sed 's/.*chk-\([0-9]*\).*/\1/' | sort -n | tail -1)
        if [ -n "$newest" ] && { [ -z "$before" ] || [ "$newest" -gt "$before" ]; }; then
          checkpointed=$(( ($(date +%s%N) - start) / 1000000 ))
          cpu_chk=$(lab_cpu "$pid")
        fi
      fi
      [ -n "$ready" ] && [ -n "$checkpointed" ] && break
      sleep 0.05
    done
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$run" "$phase" "$ready" "$cpu_ready" "$checkpointed" "$cpu_chk" | tee -a "$out"
    sleep 2
    kill -9 $pid; wait $pid 2>/dev/null
  done
  [ -n "${LOAD:-}" ] && lab_load_stop
  rm -rf "$dir"
done
