#!/usr/bin/env bash
# Writes a class-data-sharing (AppCDS) archive of the classes the service loads when it starts,
# so a restarted container maps them instead of loading, verifying and linking ~10,000 classes
# again: on a 2-core machine that is seconds of every restart after a crash.
#
#   class-data-training.sh <java> <quarkus-app dir> <archive>
#
# The training run needs no broker: it points the service at a port where nothing listens, so the
# Kafka preflight gives up after KAFKA_STARTUP_TIMEOUT while the Flink cluster boots beside it,
# and the JVM writes the archive as it exits. The archive only works with the JVM that wrote it and
# the same application files; a JVM that cannot use it warns and starts without it.
# Used by the Dockerfile and by bench/run.sh, so the benchmark runs what the image runs.
set -euo pipefail
java_bin=$1
app_dir=$2
archive=$3
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
rm -f "$archive"
# -Xmx as in a 768 MiB pod: a heap above 32 GB would turn off compressed oops and the archive
# would not match the JVM that uses it.
env -i PATH="$PATH" HOME="$scratch" \
    KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9 \
    KAFKA_STARTUP_TIMEOUT=10s \
    TELEMETRY_INPUT_TOPICS=class-data-training \
    TELEMETRY_OUTPUT_TOPIC=class-data-training-out \
    TELEMETRY_DEAD_LETTER_TOPIC=class-data-training-dlq \
    TELEMETRY_CHECKPOINT_DIR="$scratch/checkpoints" \
    QUARKUS_HTTP_HOST=127.0.0.1 \
    QUARKUS_HTTP_PORT=0 \
    timeout 180 "$java_bin" -Xmx384m -XX:ArchiveClassesAtExit="$archive" \
    -Djava.io.tmpdir="$scratch" -jar "$app_dir/quarkus-run.jar" >"$scratch/training.log" 2>&1 || true
if [ ! -s "$archive" ]; then
    cat "$scratch/training.log" >&2
    echo "class-data-training: no archive written to $archive" >&2
    exit 1
fi
chmod a+r "$archive"
echo "class-data-training: wrote $archive ($(du -m "$archive" | cut -f1) MB)"
