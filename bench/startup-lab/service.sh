# Sourced by the start-up lab's scripts: a service instance of their own (topics, consumer group,
# transactional ids, checkpoint volume, HTTP port on 127.0.0.1) against $BOOTSTRAP, and how to
# launch it. $java_bin is the JVM; APP the packaged service (default target/quarkus-app).

# lab_instance <name>: sets id, dir, port and envs for a new instance (parallelism 2, the bench's on
# two cores, unless LAB_ENVS says otherwise).
lab_instance() {
  id="$1-$RANDOM"
  dir=$(mktemp -d /tmp/startup-lab.XXXX)
  port=$((20000 + RANDOM % 20000))
  envs=(KAFKA_BOOTSTRAP_SERVERS="$BOOTSTRAP" TELEMETRY_INPUT_TOPICS="$id-in" TELEMETRY_OUTPUT_TOPIC="$id-out"
        TELEMETRY_DEAD_LETTER_TOPIC="$id-dlq" TELEMETRY_SOURCE_GROUP_ID="$id" TELEMETRY_TRANSACTIONAL_ID_PREFIX="$id"
        TELEMETRY_CHECKPOINT_DIR="$dir/checkpoints" TELEMETRY_CHECKPOINT_INTERVAL=1s TELEMETRY_PARALLELISM=2
        QUARKUS_HTTP_HOST=127.0.0.1 QUARKUS_HTTP_PORT=$port)
  # LAB_ENVS: more settings (or replacements: the last one named wins), e.g. TELEMETRY_PARALLELISM=1.
  envs+=(${LAB_ENVS:-})
}

# lab_launch <log> [jvm options...]: starts the instance in the background; sets pid.
lab_launch() {
  local log=$1; shift
  # From the application's directory, as the image runs it (its WORKDIR).
  local app; app=$(realpath "${APP:-target/quarkus-app}")
  (cd "$app" && exec env -i PATH="$PATH" HOME="$dir" "${envs[@]}" "$java_bin" -Xmx384m "$@" \
    -Djava.io.tmpdir="$dir" -jar "$app/quarkus-run.jar") > "$dir/$log" 2>&1 &
  pid=$!
}

# lab_cpu <pid>: CPU seconds (user + system) the process has used so far.
lab_cpu() {
  awk '{print ($14+$15)/100}' "/proc/$1/stat" 2>/dev/null
}

# lab_checkpoints: how many checkpoints the instance's volume holds, completed.
lab_checkpoints() {
  ls "$dir"/checkpoints/*/chk-*/_metadata 2>/dev/null | wc -l
}

# lab_load_start <events/s>: telemetry into the instance's input topic at that rate, from 1000
# devices x 5 metrics (Kafka's producer-perf-test with a payload file; event time from the record,
# so windows close as the wall clock moves). Needs the tests' class path (target/bench-classpath.txt,
# made by bench/run.sh). Sets load_pid; lab_load_stop ends it.
lab_load_start() {
  local rate=$1 payload="$dir/payload.txt"
  for d in $(seq 0 999); do for m in 0 1 2 3 4; do
    echo "{\"deviceId\":\"sensor-$d\",\"metric\":\"metric-$m\",\"value\":$((d % 97)).5,\"timestamp\":0}"
  done; done > "$payload"
  envs+=(TELEMETRY_EVENT_TIME=kafka)
  java -Xmx256m -cp "target/test-classes:target/classes:$(cat target/bench-classpath.txt)" \
    org.apache.kafka.tools.ProducerPerformance --topic "$id-in" --num-records $((rate * 3600)) \
    --throughput "$rate" --payload-file "$payload" \
    --producer-props bootstrap.servers="$BOOTSTRAP" linger.ms=5 > "$dir/load.log" 2>&1 &
  load_pid=$!
}
lab_load_stop() {
  kill "$load_pid" 2>/dev/null; wait "$load_pid" 2>/dev/null
}
