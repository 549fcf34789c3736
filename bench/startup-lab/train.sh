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
source "$(dirname "$0")/service.sh"
lab_instance train
run() { # <log> <jvm options...>: launches, then waits for $want completed checkpoints
  lab_launch "$@"
  for i in $(seq 1 1200); do
    [ "$(lab_checkpoints)" -ge "${want:-2}" ] && break
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
