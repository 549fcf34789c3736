#!/usr/bin/env bash
# State size and checkpoint duration of the window operator with N distinct (device, metric) keys
# in one window: hashmap vs rocksdb with incremental checkpoints.
# Usage: bench/state-figures.sh [--percentiles] [--values-per-key N] [keys ..., default 100000 1000000]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -eq 0 ]; then set -- 100000 1000000; fi
./mvnw -B -q -DskipTests test-compile
./mvnw -B -q dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/state-bench-classpath.txt
# The heap backend keeps every key on the heap: give it room for a million.
java -Xmx2g -cp "target/test-classes:target/classes:$(cat target/state-bench-classpath.txt)" \
  dev.telemetry.aggregator.bench.StateFiguresBenchmark "$@" 2>&1 \
  | grep -vE "LogManager|JBossLoggerFinder"
