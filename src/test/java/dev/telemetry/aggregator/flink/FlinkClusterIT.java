package dev.telemetry.aggregator.flink;

import static org.assertj.core.api.Assertions.assertThat;

import dev.telemetry.aggregator.job.TelemetryAggregationJob;
import dev.telemetry.aggregator.testing.KafkaTestClient;
import dev.telemetry.aggregator.testing.SharedBrokerTest;
import dev.telemetry.aggregator.testing.StandaloneFlinkCluster;
import dev.telemetry.aggregator.testing.TelemetryFixtures;
import dev.telemetry.aggregator.testing.TelemetryFixtures.Aggregate;
import dev.telemetry.aggregator.testing.TelemetryFixtures.AggregateKey;
import dev.telemetry.aggregator.testing.TelemetryFixtures.Event;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * The Flink job jar on a real standalone Flink cluster (a JobManager and two TaskManagers, each its
 * own JVM), submitted through Flink's REST API, with one TaskManager killed by {@code kill -9}
 * while input flows: a {@code read_committed} reader sees exactly the expected aggregates, on the
 * window level and on a 10 s rollup level, each with its percentiles.
 */
class FlinkClusterIT extends SharedBrokerTest {
    private static final int PARTITIONS = 4;
    private static final int PARALLELISM = 2;
    private static final long WINDOW_MILLIS = 2_000;
    private static final long START = 1_763_704_800_000L;

    @Test
    void taskManagerKilledMidStreamOutputIsExactlyOnce() throws Exception {
        Path jobJar = Paths.get(System.getProperty("flink.job.jar", "missing-flink-job.jar"));
        Path lib = Paths.get(System.getProperty("flink.cluster.lib", "target/flink-cluster-lib"));
        assertThat(jobJar).as("the Flink job jar; run with verify").isRegularFile();

        String input = KafkaTestClient.uniqueTopic("telemetry");
        String output = KafkaTestClient.uniqueTopic("aggregates");
        String deadLetters = KafkaTestClient.uniqueTopic("dlq");
        String rollup = KafkaTestClient.uniqueTopic("aggregates-10s");
        String group = "flink-cluster-it-" + input;
        kafka.createTopic(input, PARTITIONS);
        kafka.createTopic(output, 2);
        kafka.createTopic(rollup, 2);
        kafka.createTopic(deadLetters, 1);

        // 20 devices x 2 metrics, an event every 250 ms of event time each: 30 s of event time.
        List<Event> events = TelemetryFixtures.events("sensor-", 20, 2, 120, START, 250, 0, 5);
        Map<AggregateKey, Aggregate> expected =
                TelemetryFixtures.expectedAggregates(events, WINDOW_MILLIS);
        List<String> args =
                List.of(
                        "--kafka.bootstrap-servers",
                        kafka.bootstrapServers(),
                        "--telemetry.input-topics",
                        input,
                        "--telemetry.output-topic",
                        output,
                        "--telemetry.dead-letter-topic",
                        deadLetters,
                        "--telemetry.source.group-id",
                        group,
                        "--telemetry.transactional-id-prefix",
                        group,
                        "--telemetry.source.start",
                        "earliest",
                        "--telemetry.window-size",
                        WINDOW_MILLIS + "ms",
                        "--telemetry.watermark.max-out-of-orderness",
                        "1s",
                        "--telemetry.watermark.idleness",
                        "3s",
                        "--telemetry.checkpoint.interval",
                        "1s",
                        "--telemetry.parallelism",
                        Integer.toString(PARALLELISM),
                        "--telemetry.percentiles",
                        "0.5,0.99",
                        "--telemetry.rollups",
                        "10s=" + rollup);

        AtomicReference<Throwable> producerFailure = new AtomicReference<>();
        Thread producer =
                new Thread(
                        () -> {
                            try {
                                produceSteadily(input, events);
                            } catch (Throwable t) {
                                producerFailure.set(t);
                            }
                        },
                        "flink-cluster-it-producer");

        Path dir = Paths.get("target", "flink-cluster-it", input).toAbsolutePath();
        try (StandaloneFlinkCluster cluster = new StandaloneFlinkCluster(dir, lib, 2)) {
            long started = System.nanoTime();
            cluster.start(2, Duration.ofSeconds(90));
            long clusterStartMillis = millisSince(started);
            System.out.printf(
                    "Flink cluster (1 JM + 2 TMs) up in %d ms at %s (logs: %s)%n",
                    clusterStartMillis, cluster.restUrl(), dir);

            String jobId =
                    cluster.runJar(
                            cluster.uploadJar(jobJar),
                            TelemetryAggregationJob.class.getName(),
                            args,
                            PARALLELISM);
            Awaitility.await()
                    .atMost(Duration.ofMinutes(1))
                    .pollInterval(Duration.ofMillis(200))
                    .until(() -> cluster.allTasksRunning(jobId));
            System.out.printf(
                    "Job %s running in %d ms after cluster start; busy slots %s%n",
                    jobId, millisSince(started) - clusterStartMillis, cluster.busySlots());
            assertOnlyLoopbackListeners(cluster.pids());
            producer.start();

            // Kill only after a completed checkpoint (it commits the group's offsets), so the
            // restart restores state and aborts an open transaction rather than starting afresh.
            Awaitility.await()
                    .atMost(Duration.ofMinutes(1))
                    .until(() -> kafka.committedOffsetSum(group, input) > 0);
            Thread.sleep(1_500);
            assertThat(cluster.busySlots()).as("tm-1 runs subtasks").containsKey("tm-1");
            assertThat(cluster.busySlots().get("tm-1")).as("busy slots of tm-1").isPositive();
            long killed = System.nanoTime();
            cluster.killTaskManager("tm-1");
            // As Kubernetes would restart the pod; the job may recover on tm-2 before it joins.
            cluster.startTaskManager("tm-3");

            Awaitility.await()
                    .atMost(Duration.ofMinutes(2))
                    .pollInterval(Duration.ofMillis(100))
                    .until(
                            () ->
                                    !cluster.get("/jobs/" + jobId + "/checkpoints")
                                                    .path("latest")
                                                    .path("restored")
                                                    .isNull()
                                            && cluster.allTasksRunning(jobId));
            long runningAgainMillis = millisSince(killed);
            long restoredCheckpoint =
                    cluster.get("/jobs/" + jobId + "/checkpoints")
                            .path("latest")
                            .path("restored")
                            .path("id")
                            .asLong();

            producer.join(Duration.ofMinutes(2).toMillis());
            assertThat(producerFailure.get()).isNull();
            assertThat(producer.isAlive()).as("producer finished").isFalse();
            kafka.awaitCheckpointed(group, input, Duration.ofMinutes(2));
            kafka.send(TelemetryFixtures.watermarkFlush(input, PARTITIONS, START + 3_600_000));
            kafka.readCommitted(
                    output,
                    Duration.ofMinutes(2),
                    read -> TelemetryFixtures.parseAggregates(read).size() >= expected.size());
            int expectedRollups = TelemetryFixtures.expectedAggregates(events, 10_000).size();
            kafka.readCommitted(
                    rollup,
                    Duration.ofMinutes(2),
                    read -> TelemetryFixtures.parseAggregates(read).size() >= expectedRollups);
            long caughtUpMillis = millisSince(killed);
            System.out.printf(
                    "TaskManager tm-1 killed: job RUNNING again (restored checkpoint %d) after %d"
                            + " ms, output caught up after %d ms; busy slots %s%n",
                    restoredCheckpoint, runningAgainMillis, caughtUpMillis, cluster.busySlots());
        } finally {
            producer.interrupt();
        }

        List<ConsumerRecord<byte[], byte[]>> committed =
                kafka.readCommittedToEnd(output, Duration.ofSeconds(30));
        TelemetryFixtures.assertExactlyOnce(TelemetryFixtures.parseAggregates(committed), expected);
        // The job jar carries the sketches (and their serializer) the cluster's TaskManagers use.
        double[] quantiles = {0.5, 0.99};
        TelemetryFixtures.assertPercentiles(events, WINDOW_MILLIS, committed, quantiles, 0.01);
        List<ConsumerRecord<byte[], byte[]>> rolledUp =
                kafka.readCommittedToEnd(rollup, Duration.ofSeconds(30));
        TelemetryFixtures.assertExactlyOnce(
                TelemetryFixtures.parseAggregates(rolledUp),
                TelemetryFixtures.expectedAggregates(events, 10_000));
        TelemetryFixtures.assertPercentiles(events, 10_000, rolledUp, quantiles, 0.01);
    }

    /**
     * A port picked free can be taken by another process before the JobManager binds it (the
     * likeliest cause of a CI run's "The JobManager exited"); the harness then starts the
     * JobManager again on other ports rather than failing the test.
     */
    @Test
    void jobManagerStartsAgainWhenItsPortIsTakenBeforeItBinds() throws Exception {
        Path lib = Paths.get(System.getProperty("flink.cluster.lib", "target/flink-cluster-lib"));
        Path dir =
                Paths.get("target", "flink-cluster-it", KafkaTestClient.uniqueTopic("port-taken"))
                        .toAbsolutePath();
        try (StandaloneFlinkCluster cluster = new StandaloneFlinkCluster(dir, lib, 1);
                ServerSocket taken =
                        new ServerSocket(
                                URI.create(cluster.restUrl()).getPort(),
                                1,
                                InetAddress.getLoopbackAddress())) {
            String firstRestUrl = cluster.restUrl();
            cluster.start(1, Duration.ofSeconds(90));
            assertThat(cluster.restUrl()).isNotEqualTo(firstRestUrl);
            assertThat(cluster.get("/overview").path("taskmanagers").asInt()).isEqualTo(1);
            assertThat(dir.resolve("jobmanager.log")).content().contains("BindException");
        }
    }

    /** About 300 events/s in time order, so the kill lands in the middle of the input. */
    private static void produceSteadily(String input, List<Event> events)
            throws InterruptedException {
        List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
        for (Event event : events) {
            records.add(event.toRecord(input, PARTITIONS));
            if (records.size() >= 40) {
                kafka.send(records);
                records.clear();
                Thread.sleep(130);
            }
        }
        kafka.send(records);
    }

    /**
     * Every listening socket of the cluster's processes is on 127.0.0.1, as {@code ss -ltnp} shows;
     * skipped (with a note) where {@code ss} is not installed.
     */
    private static void assertOnlyLoopbackListeners(List<Long> pids)
            throws IOException, InterruptedException {
        Process ss;
        try {
            ss = new ProcessBuilder("ss", "-ltnpH").redirectErrorStream(true).start();
        } catch (IOException e) {
            System.out.println("ss is not installed; listening addresses not checked");
            return;
        }
        String text = new String(ss.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        ss.waitFor(10, TimeUnit.SECONDS);
        List<String> listeners =
                text.lines()
                        .filter(
                                line ->
                                        pids.stream()
                                                .anyMatch(pid -> line.contains("pid=" + pid + ",")))
                        .toList();
        Files.writeString(Paths.get("target", "flink-cluster-it", "listeners.txt"), text);
        System.out.printf("Cluster listeners:%n%s%n", String.join("\n", listeners));
        assertThat(listeners).as("listening sockets of the cluster processes").isNotEmpty();
        // Java's dual-stack sockets show an IPv4 bind address as IPv4-mapped IPv6.
        assertThat(listeners)
                .allSatisfy(
                        line ->
                                assertThat(line.split("\\s+")[3])
                                        .matches(
                                                "(127\\.0\\.0\\.1|\\[::ffff:127\\.0\\.0\\.1]):\\d+"));
    }

    private static long millisSince(long nanos) {
        return (System.nanoTime() - nanos) / 1_000_000;
    }
}
