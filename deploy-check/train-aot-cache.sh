#!/usr/bin/env bash
# The image's AOT cache for target/quarkus-app, trained as the image build trains its own
# (src/main/docker/class-data-training.sh) and with the Dockerfile's JVM options, so that the
# integration tests (ServiceProcess) and the benchmark run the packaged service as the image runs
# it. ./mvnw verify runs it before the integration tests, after the package; so does bench/run.sh.
#   train-aot-cache.sh [java]   (default: the java on PATH)
# A JVM older than the image's (25) makes no cache: this says so, removes a stale one and
# succeeds, and the service then runs without a cache.
set -euo pipefail
cd "$(dirname "$0")/.."
java_bin=${1:-$(command -v java)}
options=$(sed -n 's/^ENV JDK_JAVA_OPTIONS="\(.*\)"$/\1/p' Dockerfile)
# The cache's file name as the image's option gives it (-XX:AOTCache=/deployments/<name>).
name=$(tr ' ' '\n' <<< "$options" | sed -n 's|^-XX:AOTCache=/deployments/||p')
[ -n "$name" ] || { echo "train-aot-cache: the Dockerfile's JDK_JAVA_OPTIONS name no AOT cache" >&2; exit 1; }
major=$("$java_bin" -XshowSettings:properties -version 2>&1 | sed -n 's/ *java.specification.version = //p')
if [ "${major%%.*}" -lt 25 ]; then
  echo "train-aot-cache: $java_bin is Java $major; the image's AOT cache needs 25: none made"
  rm -f "target/quarkus-app/$name"
  exit 0
fi
JDK_JAVA_OPTIONS="$options" exec bash src/main/docker/class-data-training.sh \
  "$java_bin" target/quarkus-app "target/quarkus-app/$name" target/training-broker
