#!/usr/bin/env bash
# The benchmark suite: builds the service, starts its own Kafka broker (127.0.0.1), runs the
# scenarios and writes bench/results/<scenario>.json, bench/results/README.md and PNG plots.
# Usage: bash bench/run.sh [--scenario throughput|latency|recovery|footprint|keyscale]...
#          [--events N] [--rounds N] [--shape high-cardinality|typical|rollups|groupings]... [--latency-seconds S]
#          [--keys 10000,100000,1000000] [--keyscale-events N] [--keyscale-backends hashmap,rocksdb] [--recovery-seconds S] [--footprint-load-seconds S] [--starts N] [--heaps 256m,384m,1g] [--parallelism 1,2] [--results DIR]
# Defaults: every scenario, every shape, 5 M events. See the README's Benchmarks section.
# BENCH_JFR=true records a JFR profile of every service run into its work directory.
set -euo pipefail
cd "$(dirname "$0")/.."
# The service and its twin run on the JDK the image ships, for the figures to be the image's.
source deploy-check/image-jdk.sh
if [ "$image_jdk_found" != true ]; then
  echo "bench: needs JDK $image_jdk_major, the image's (java on PATH, or under /usr/lib/jvm)" >&2
  exit 1
fi
./mvnw -B -q -DskipTests package
# The image's AOT cache, made the same way for the packaged service the bench runs.
bash deploy-check/train-aot-cache.sh
./mvnw -B -q dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/bench-classpath.txt
# Headless: the plots are drawn with Java2D into PNG files.
exec java -Xmx2g -Djava.awt.headless=true \
  -cp "target/test-classes:target/classes:$(cat target/bench-classpath.txt)" \
  dev.telemetry.aggregator.bench.BenchSuite "$@"
