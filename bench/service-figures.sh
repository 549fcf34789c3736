#!/usr/bin/env bash
# Exactly-once throughput (vs a raw consumer on the same broker), start-up, restart-with-restore
# and RSS of the packaged service. Usage: bench/service-figures.sh [events, default 1000000]
set -euo pipefail
cd "$(dirname "$0")/.."
./mvnw -B -q -DskipTests package
./mvnw -B -q dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/bench-classpath.txt
java -Xmx1g -cp "target/test-classes:target/classes:$(cat target/bench-classpath.txt)" \
  dev.telemetry.aggregator.bench.ServiceFiguresBenchmark "${1:-1000000}" 2>&1 \
  | grep -vE "LogManager|JBossLoggerFinder"
