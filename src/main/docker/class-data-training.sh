#!/usr/bin/env bash
# Writes an AOT cache (JDK 25, the image's; JEP 483/514/515: the classes loaded and linked,
# lambda forms, method profiles) of a relaunch after a crash, so a restarted container maps it
# instead of loading, verifying and linking the service's classes again: on a 2-core machine that
# is seconds of every restart.
#
#   class-data-training.sh <java> <quarkus-app dir> <cache> <kafka libs dir>
#
# The training is a real relaunch: it starts a single-node Kafka broker (KRaft, 127.0.0.1, from
# <kafka libs dir>: Apache Kafka's jars, target/training-broker after ./mvnw package), feeds it
# telemetry with a few bad records, runs the service until it has completed checkpoints, kills it
# with kill -9, feeds more, relaunches it (a restore) with the recording option until it has
# checkpointed again, and stops it with SIGTERM: the JVM writes the cache as it exits. So the
# cache holds what a relaunch under input loads: the Kafka clients and transactions, the
# restore, the job's deployment, parsing, windows, dead letters and checkpoints. (Trained without a
# broker, JDK 17's class-data archive missed all that and a relaunch was 1.3 s slower:
# bench/results/NOTES.md.)
# The cache only works with the JVM that wrote it and the same application files; a JVM that
# cannot use it warns and starts without it. Used by the Dockerfile and by bench/run.sh, so the
# benchmark runs what the image runs. Every wait is bounded; the whole run takes about 40 s.
set -euo pipefail
java_bin=$1
# Absolute: the cache records where each class came from, and a JVM started from another
# directory would resolve a relative record against that directory.
app_dir=$(realpath "$2")
cache=$(realpath -m "$3")
kafka_libs=$4
java_version=$("$java_bin" -XshowSettings:properties -version 2>&1 | sed -n 's/ *java.specification.version = //p')
if [ "${java_version%%.*}" -lt 25 ]; then
    echo "class-data-training: needs JDK 25 or newer (the image's) for an AOT cache; $java_bin is $java_version" >&2
    exit 1
fi
# The JVM options the cache will be used with ($JDK_JAVA_OPTIONS, the image's; a cache records the
# collector, among others), but the cache itself, which is being made.
training_options=$(tr ' ' '\n' <<< "${JDK_JAVA_OPTIONS:-}" \
    | { grep -v -e '^-XX:AOTCache=' -e '^-XX:MaxRAMPercentage=' || true; } | tr '\n' ' ')
# The broker's and the producer's JVMs run with their own options.
unset JDK_JAVA_OPTIONS
[ -n "$(ls "$kafka_libs"/kafka_*.jar 2>/dev/null)" ] \
    || { echo "class-data-training: no Kafka broker jars in $kafka_libs (./mvnw package makes target/training-broker)" >&2; exit 1; }
scratch=$(mktemp -d)
pids=()
stop_all() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$scratch"
}
trap stop_all EXIT
fail() {
    echo "class-data-training: $*" >&2
    for log in "$scratch"/*.log; do echo "--- $log" >&2; tail -40 "$log" >&2; done
    exit 1
}

# Flink's MiniCluster looks the host's name up. A build container's may not resolve (buildah
# writes no /etc/hosts entry for it; run-time containers always get one): add it for this step.
host_name=$(cat /proc/sys/kernel/hostname)
if ! getent hosts "$host_name" > /dev/null 2>&1 && [ -w /etc/hosts ]; then
    echo "127.0.0.1 $host_name" >> /etc/hosts
fi

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
    local port
    for _ in $(seq 1 100); do
        port=$((20000 + RANDOM % 30000))
        listening "$port" || { echo "$port"; return; }
    done
    return 1
}

# The broker, as Kafka's distribution runs one: format the log directory, then kafka.Kafka.
broker_port=$(free_port)
controller_port=$(free_port)
cat > "$scratch/broker.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$broker_port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$broker_port
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$scratch/kafka-data
num.partitions=2
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
EOF
kafka() { "$java_bin" -Xmx256m -XX:TieredStopAtLevel=1 -cp "$kafka_libs/*" "$@"; }
cluster_id=$(kafka kafka.tools.StorageTool random-uuid 2>/dev/null)
kafka kafka.tools.StorageTool format -t "$cluster_id" -c "$scratch/broker.properties" > "$scratch/format.log" 2>&1 \
    || fail "formatting the broker's log directory failed"
# The broker's own JVM in the background, not the kafka function's subshell: the pid the cleanup
# kills and waits for must be the broker's, or it goes on writing while its directory is removed.
"$java_bin" -Xmx256m -XX:TieredStopAtLevel=1 -cp "$kafka_libs/*" kafka.Kafka "$scratch/broker.properties" \
    > "$scratch/broker.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 600); do listening "$broker_port" && break; sleep 0.1; done
listening "$broker_port" || fail "the broker did not listen on 127.0.0.1:$broker_port within 60 s"

# <first second> <events>: telemetry of 10 devices x 2 metrics, 10 per second of event time from
# <first second> on, and a record that is not JSON every 100th (a dead letter).
produce() {
    local first=$1 events=$2 i
    for ((i = 0; i < events; i++)); do
        if ((i % 100 == 99)); then echo "not json $i"; continue; fi
        printf '{"deviceId":"sensor-%d","metric":"metric-%d","value":%d.5,"timestamp":%d}\n' \
            $((i % 10)) $((i / 10 % 2)) $((i % 97)) $(((first + i / 10) * 1000))
    done | kafka org.apache.kafka.tools.ConsoleProducer --bootstrap-server "127.0.0.1:$broker_port" \
        --topic class-data-training > "$scratch/producer.log" 2>&1 || fail "producing the training input failed"
}

# The newest completed checkpoint's id on the volume (0 if none).
newest_checkpoint() {
    # ls fails when a checkpoint it was given is subsumed and deleted meanwhile; what it listed
    # still counts (with pipefail, its status would add a second line, "0").
    { ls -d "$scratch"/checkpoints/*/chk-*/_metadata 2>/dev/null || true; } \
        | sed 's/.*chk-\([0-9]*\).*/\1/' | sort -n | tail -1 | grep . || echo 0
}

# <log> <checkpoints> [jvm options]: launches the service and waits (at most 120 s) until it has
# completed <checkpoints> checkpoints of its own.
service_pid=""
run_service() {
    local log=$1 checkpoints=$2 before
    shift 2
    before=$(newest_checkpoint)
    # -Xmx as in a 768 MiB pod: a heap above 32 GB would turn off compressed oops and the cache
    # would not match the JVM that uses it.
    env -i PATH="$PATH" HOME="$scratch" JDK_JAVA_OPTIONS="$training_options" \
        KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:$broker_port" \
        TELEMETRY_INPUT_TOPICS=class-data-training \
        TELEMETRY_OUTPUT_TOPIC=class-data-training-out \
        TELEMETRY_DEAD_LETTER_TOPIC=class-data-training-dlq \
        TELEMETRY_CHECKPOINT_DIR="$scratch/checkpoints" \
        TELEMETRY_CHECKPOINT_INTERVAL=1s \
        QUARKUS_HTTP_HOST=127.0.0.1 \
        QUARKUS_HTTP_PORT=0 \
        "$java_bin" -Xmx384m "$@" -Djava.io.tmpdir="$scratch" -jar "$app_dir/quarkus-run.jar" \
        > "$scratch/$log" 2>&1 &
    service_pid=$!
    pids+=("$service_pid")
    for _ in $(seq 1 1200); do
        [ "$(newest_checkpoint)" -ge $((before + checkpoints)) ] && return
        kill -0 "$service_pid" 2>/dev/null || fail "the service exited during $log"
        sleep 0.1
    done
    fail "the service completed no $checkpoints checkpoints within 120 s ($log)"
}

now=$(date +%s)
rm -f "$cache"
produce $((now - 300)) 2000
run_service fresh.log 2
kill -9 "$service_pid"
wait "$service_pid" 2>/dev/null || true
produce $((now - 100)) 1000
run_service relaunch.log 3 -XX:AOTCacheOutput="$cache"
kill -TERM "$service_pid"
for _ in $(seq 1 600); do kill -0 "$service_pid" 2>/dev/null || break; sleep 0.1; done
# A JVM still writing its cache would leave a truncated one behind.
if kill -0 "$service_pid" 2>/dev/null; then
    fail "the service did not exit within 60 s of SIGTERM"
fi
if [ ! -s "$cache" ]; then
    fail "no cache written to $cache"
fi
chmod a+r "$cache"
echo "class-data-training: wrote $cache ($(du -m "$cache" | cut -f1) MB)"
