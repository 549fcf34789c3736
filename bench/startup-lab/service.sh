# Sourced by the start-up lab's scripts: a service instance of their own (topics, consumer group,
# transactional ids, checkpoint volume, HTTP port on 127.0.0.1) against $BOOTSTRAP, and how to
# launch it. $java_bin is the JVM; APP the packaged service (default target/quarkus-app).

# lab_instance <name>: sets id, dir, port and envs for a new instance.
lab_instance() {
  id="$1-$RANDOM"
  dir=$(mktemp -d /tmp/startup-lab.XXXX)
  port=$((20000 + RANDOM % 20000))
  envs=(KAFKA_BOOTSTRAP_SERVERS="$BOOTSTRAP" TELEMETRY_INPUT_TOPICS="$id-in" TELEMETRY_OUTPUT_TOPIC="$id-out"
        TELEMETRY_DEAD_LETTER_TOPIC="$id-dlq" TELEMETRY_SOURCE_GROUP_ID="$id" TELEMETRY_TRANSACTIONAL_ID_PREFIX="$id"
        TELEMETRY_CHECKPOINT_DIR="$dir/checkpoints" TELEMETRY_CHECKPOINT_INTERVAL=1s TELEMETRY_PARALLELISM=2
        QUARKUS_HTTP_HOST=127.0.0.1 QUARKUS_HTTP_PORT=$port)
}

# lab_launch <log> [jvm options...]: starts the instance in the background; sets pid.
lab_launch() {
  local log=$1; shift
  env -i PATH="$PATH" HOME="$dir" "${envs[@]}" "$java_bin" -Xmx384m "$@" -Djava.io.tmpdir="$dir" \
    -jar "$(realpath "${APP:-target/quarkus-app}")/quarkus-run.jar" > "$dir/$log" 2>&1 &
  pid=$!
}

# lab_checkpoints: how many checkpoints the instance's volume holds, completed.
lab_checkpoints() {
  ls "$dir"/checkpoints/*/chk-*/_metadata 2>/dev/null | wc -l
}
