#!/usr/bin/env bash
# A training run of the start-up lab against a broker: a fresh start that checkpoints and is
# killed with kill -9, then a relaunch (a restore) with the recording options, which runs until it
# has completed checkpoints and is stopped with SIGTERM (the JVM writes its archive or cache at
# exit). So the archive holds what a relaunch after a crash loads, Kafka clients, job deployment,
# restore and checkpoint included.
#
#   BOOTSTRAP=127.0.0.1:9092 bench/startup-lab/train.sh <java> <recording options...>
#   e.g. ... train.sh java -XX:ArchiveClassesAtExit=target/app-cds.jsa     (JDK 17, AppCDS)
#        ... train.sh jdk-25/bin/java -XX:AOTCacheOutput=target/app.aot  (JDK 25, Leyden)
set -uo pipefail
java_bin=$1; shift
app=${APP:-target/quarkus-app}
id="train-$RANDOM"
dir=$(mktemp -d /tmp/train.XXXX)
port=$((20000 + RANDOM % 20000))
envs=(KAFKA_BOOTSTRAP_SERVERS="$BOOTSTRAP" TELEMETRY_INPUT_TOPICS="$id-in" TELEMETRY_OUTPUT_TOPIC="$id-out"
      TELEMETRY_DEAD_LETTER_TOPIC="$id-dlq" TELEMETRY_SOURCE_GROUP_ID="$id" TELEMETRY_TRANSACTIONAL_ID_PREFIX="$id"
      TELEMETRY_CHECKPOINT_DIR="$dir/checkpoints" TELEMETRY_CHECKPOINT_INTERVAL=1s TELEMETRY_PARALLELISM=2
      QUARKUS_HTTP_HOST=127.0.0.1 QUARKUS_HTTP_PORT=$port)
run() { # <log> <jvm options...>
  local log=$1; shift
  env -i PATH="$PATH" HOME="$dir" "${envs[@]}" "$java_bin" -Xmx384m "$@" -Djava.io.tmpdir="$dir" \
    -jar "$(realpath "$app")/quarkus-run.jar" > "$dir/$log" 2>&1 &
  pid=$!
  for i in $(seq 1 1200); do
    n=$(ls "$dir"/checkpoints/*/chk-*/_metadata 2>/dev/null | wc -l)
    [ "$n" -ge "${want:-2}" ] && break
    sleep 0.1
  done
}
want=2 run fresh.log
kill -9 $pid; wait $pid 2>/dev/null
want=4 run relaunch.log "$@"
sleep 3
kill -TERM $pid; wait $pid
echo "training exit $?"; tail -3 "$dir/relaunch.log"
rm -rf "$dir"
