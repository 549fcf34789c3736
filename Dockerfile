# telemetry-aggregator: the packaged Quarkus service (aot-jar) with its embedded Flink MiniCluster.
#
#   ./mvnw package -DskipTests
#   docker build -t telemetry-aggregator .
#
# Any JRE 25 image with bash works as the base (bash runs the health check; JDK 25 reads the AOT
# cache below, and JDK_JAVA_OPTIONS names it with an option older JVMs refuse).
# CI, which reaches no registry, builds on a locally made Debian image:
#   buildah bud --from localhost/debian-jre25 --format docker -t telemetry-aggregator .
# (see deploy-check/build-image.sh). Keep the entrypoint plain `java -jar` so that works.
ARG BASE_IMAGE=eclipse-temurin:25-jre
FROM ${BASE_IMAGE}

# Numeric UID (Kubernetes' runAsNonRoot can only verify a numeric user) in group 0, so the image
# also runs under OpenShift's arbitrary UIDs, which are always in group 0.
ARG APP_UID=10001

# The checkpoint volume must be writable by the service's user. A named volume starts as a copy of
# this directory (owner included); a bind-mounted host directory must be chowned to APP_UID.
RUN mkdir -p /deployments /data/checkpoints \
    && chown -R "${APP_UID}:0" /data/checkpoints \
    && chmod -R g=u /data/checkpoints

# Layered: dependencies change least often, the application jar most often. Owned by root and
# only readable by the service's user: it cannot modify its own code.
COPY target/quarkus-app/lib/ /deployments/lib/
COPY target/quarkus-app/quarkus/ /deployments/quarkus/
COPY target/quarkus-app/app/ /deployments/app/
COPY target/quarkus-app/quarkus-run.jar /deployments/quarkus-run.jar
COPY src/main/docker/healthcheck.sh /deployments/healthcheck.sh

# All configuration is by environment variable (see README "Configuration"). The defaults that
# matter in a container:
#   TELEMETRY_CHECKPOINT_DIR  the volume below (also the application's own default);
#   QUARKUS_HTTP_HOST         every interface, for the published port and the kubelet's probes.
ENV TELEMETRY_CHECKPOINT_DIR=/data/checkpoints \
    QUARKUS_HTTP_HOST=0.0.0.0 \
    QUARKUS_HTTP_PORT=8080

# JVM flags, read by the java launcher itself (so the entrypoint stays exec-form `java -jar`, and a
# user replaces them by setting JDK_JAVA_OPTIONS). Memory follows the container's limit:
#   MaxRAMPercentage=50   heap = half the limit; the other half is for what the heap does not hold:
#                         Flink's network buffers and managed memory (off-heap), ~110 MB of
#                         metaspace and code cache, thread stacks. With a 768 MiB limit: 384 MB heap.
#   InitialRAMPercentage=50  the heap starts at that size. The JVM's default start, 1/64 of the
#                         limit (12 MB in a 768 MiB pod), grows it through 8 young collections in
#                         the first 3.2 s of a start (0.2 s of pauses) against 1 from the full
#                         size; a relaunch under input was processing again 3.64 s after launch
#                         against 3.87 s (medians of 6 in the pod's memory, -XX:MaxRAM=768m). The
#                         benchmark's host (24 GB) gave the JVM this start already, so its figures,
#                         RSS included, are what the pod now gets.
#   MaxMetaspaceSize, ReservedCodeCacheSize, MaxDirectMemorySize  caps on the non-heap pools,
#                         so RSS stays below the limit instead of growing until the OOM killer.
#   ExitOnOutOfMemoryError  a JVM out of heap exits, and the runtime restarts it from the last
#                         completed checkpoint, instead of limping on with broken threads.
#   AOTCache              the AOT cache made below (a JDK 25 that cannot use it, e.g. another
#                         build, warns and starts without it; an older JVM refuses the option).
#   CompileThresholdScaling=3  JIT-compile a method after 3x the default number of calls. Start-up
#                         code mostly runs a few hundred times and then never again, and compiling
#                         it was half of the CPU a start took (C1 + C2 threads: 3.9 of 7.1 CPU s to
#                         ready); with 3: 5.8-7.6 CPU s instead of 8.0-9.7 in paired starts. The per-
#                         record path runs millions of times and is compiled a moment later; the
#                         bench's throughput was the same or better in 6 paired runs. On a small
#                         pod's CPU, start-up CPU is restart time.
#   UseParallelGC         young collections on every core the container may use. Below ~1.8 GB
#                         of memory the JVM would pick SerialGC, whose one-threaded pauses stop
#                         the pipeline every few hundred ms while the other core idles: over the
#                         bench's typical 5M backlog, 11 paired runs took a median 11.2 s with
#                         ParallelGC against 12.9 s with SerialGC (faster in 8), with less CPU
#                         and the same start-up CPU; RSS 388 / 452 MB idle / under load against
#                         380 / 437 (bench footprint scenario). G1, the JVM's pick on bigger hosts,
#                         was slower than ParallelGC in 6 of 6 pairs (median 10.4 s against 9.5 s)
#                         and used more CPU and 44 MB more RSS.
#   java.io.tmpdir        Flink's blob/RPC scratch (one run-<id> directory per run, under
#                         /tmp/telemetry-aggregator; a start removes those of killed runs) and
#                         Vert.x's cache; /tmp is an emptyDir on a
#                         read-only root file system.
ENV JDK_JAVA_OPTIONS="-XX:MaxRAMPercentage=50 -XX:InitialRAMPercentage=50 -XX:MaxMetaspaceSize=192m -XX:ReservedCodeCacheSize=64m -XX:MaxDirectMemorySize=192m -XX:+ExitOnOutOfMemoryError -XX:AOTCache=/deployments/app.aot -XX:CompileThresholdScaling=3 -XX:+UseParallelGC -Djava.io.tmpdir=/tmp"

# The AOT cache of a relaunch (JEP 483/514/515, see the script), made with the JVM options above
# (the cache records the collector, among others): a restart after a crash maps ~16,400 of the
# ~17,000 classes it loads, already linked, instead of loading them again. The training relaunches
# the service against a Kafka broker of its own on 127.0.0.1, from Apache Kafka's jars that
# `./mvnw package` puts in target/training-broker, mounted for this step only (no layer keeps
# them; `RUN --mount` needs BuildKit, Docker's default builder, or buildah).
COPY src/main/docker/class-data-training.sh /tmp/class-data-training.sh
RUN --mount=type=bind,source=target/training-broker,target=/tmp/training-broker \
    bash /tmp/class-data-training.sh java /deployments /deployments/app.aot /tmp/training-broker \
    && rm /tmp/class-data-training.sh

# Flink checkpoints (completed ones are restored on start). Must survive the container.
# The service writes nowhere else but java.io.tmpdir (/tmp), so it runs with a read-only root file
# system: `--read-only --tmpfs /tmp:rw,exec` (Kubernetes: readOnlyRootFilesystem + an emptyDir on
# /tmp, see k8s/), and with every capability dropped.
VOLUME /data/checkpoints

EXPOSE 8080

USER ${APP_UID}:0
WORKDIR /deployments

# Live = the embedded cluster answers and the job has not failed for good. The start period covers
# the broker preflight and the restore; a failing check does not restart a container by itself
# (Kubernetes uses its own probes, see k8s/), it shows in `docker ps` / `podman healthcheck run`.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["bash", "/deployments/healthcheck.sh"]

# Exec form: java is PID 1 and receives SIGTERM itself, which stops the Flink job within
# TELEMETRY_SHUTDOWN_TIMEOUT (20s by default) before exiting.
ENTRYPOINT ["java", "-jar", "/deployments/quarkus-run.jar"]
