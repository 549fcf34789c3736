package dev.telemetry.aggregator.service.flink;

import static org.assertj.core.api.Assertions.assertThat;

import dev.telemetry.aggregator.testing.KafkaTestClient;
import dev.telemetry.aggregator.testing.PacedInput;
import dev.telemetry.aggregator.testing.ServiceProcess;
import dev.telemetry.aggregator.testing.SharedBrokerTest;
import dev.telemetry.aggregator.testing.TelemetryFixtures;
import dev.telemetry.aggregator.testing.TelemetryFixtures.Aggregate;
import dev.telemetry.aggregator.testing.TelemetryFixtures.AggregateKey;
import dev.telemetry.aggregator.testing.TelemetryFixtures.Event;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * The packaged service with the RocksDB state backend and incremental checkpoints: the native
 * library loads from the packaged jar into {@code java.io.tmpdir}, where the state's RocksDB
 * instance lives too, and after a {@code kill -9} while input flows the restart removes the killed
 * run's scratch (its RocksDB files) and restores from the newest (incremental) checkpoint with
 * exactly the expected output.
 */
class RocksDbServiceIT extends SharedBrokerTest {
    private static final int PARTITIONS = 4;
    private static final long WINDOW_MILLIS = 2_000;
    private static final long START = 1_763_712_000_000L;

    @Test
    void rocksDbWithIncrementalCheckpointsSurvivesAKillExactlyOnce() throws Exception {
        KafkaTestClient.TestTopics topics = kafka.createTestTopics(PARTITIONS);
        // 20 devices x 2 metrics, an event every 250 ms of event time each: 20 s of event time.
        List<Event> events = TelemetryFixtures.events("sensor-", 20, 2, 80, START, 250, 0, 9);
        Map<AggregateKey, Aggregate> expected =
                TelemetryFixtures.expectedAggregates(events, WINDOW_MILLIS);
        Path base = Paths.get("target", "rocksdb-it", topics.input()).toAbsolutePath();
        Path checkpoints = base.resolve("checkpoints");
        Path tmp = Files.createDirectories(base.resolve("tmp"));
        PacedInput paced = new PacedInput(topics.input(), PARTITIONS, events, 0, 2);

        Map<String, String> environment =
                PacedInput.serviceEnvironment(
                        kafka, topics.input(), topics.output(), topics.deadLetters(), checkpoints);
        // No partition goes idle during the test (every one gets input); a partition marked idle
        // in a quiet moment could resume behind the others and its first events be late.
        environment.put("TELEMETRY_WATERMARK_IDLENESS", "5m");
        environment.put("TELEMETRY_STATE_BACKEND", "rocksdb");
        environment.put("TELEMETRY_CHECKPOINT_INCREMENTAL", "true");
        // Where a read-only root file system leaves a writable volume (k8s: an emptyDir on /tmp).
        environment.put("JDK_JAVA_OPTIONS", "-Djava.io.tmpdir=" + tmp);
        String group = environment.get("TELEMETRY_SOURCE_GROUP_ID");
        try (ServiceProcess service = new ServiceProcess(environment, base)) {
            service.start();
            service.awaitReady(Duration.ofMinutes(2));
            TelemetryFixtures.awaitReadingEveryPartition(
                    kafka, topics.input(), PARTITIONS, START, group);

            Thread producer = paced.sendInBackground(kafka, 0);
            long newestBefore = ServiceProcess.newestCheckpointId(checkpoints);
            Awaitility.await()
                    .atMost(Duration.ofMinutes(1))
                    .until(() -> ServiceProcess.newestCheckpointId(checkpoints) > newestBefore);
            assertThat(filesNamed(tmp, "librocksdbjni"))
                    .as("the native library, extracted under java.io.tmpdir")
                    .isNotEmpty();
            assertThat(filesNamed(tmp, "MANIFEST-"))
                    .as("the window state lives in a RocksDB instance under java.io.tmpdir")
                    .isNotEmpty();
            List<Path> killedRun = runDirectories(tmp);
            assertThat(killedRun).as("one run's scratch directory").hasSize(1);
            service.kill();
            producer.join(Duration.ofMinutes(1).toMillis());

            service.start();
            service.awaitReady(Duration.ofMinutes(2));
            List<Path> restartedRun = runDirectories(tmp);
            assertThat(restartedRun)
                    .as("the killed run's scratch (its RocksDB files) removed at the restart")
                    .hasSize(1)
                    .doesNotContainAnyElementsOf(killedRun);
            assertThat(service.logsOfEachStart().get(1)).contains("Removed " + killedRun.get(0));
            kafka.send(paced.chunk(1));
            kafka.awaitCheckpointed(group, topics.input(), Duration.ofMinutes(2));
            kafka.send(
                    TelemetryFixtures.watermarkFlush(
                            topics.input(), PARTITIONS, START + 3_600_000));
            kafka.readCommitted(
                    topics.output(),
                    Duration.ofMinutes(2),
                    read -> TelemetryFixtures.parseAggregates(read).size() >= expected.size());
            assertThat(service.stop(Duration.ofSeconds(60))).as("exit code after SIGTERM").isZero();
            assertThat(service.logsOfEachStart().get(1)).contains("restored from");
            assertThat(scratchEntries(tmp))
                    .as("scratch directories and lock files left after SIGTERM")
                    .isEmpty();
        }
        TelemetryFixtures.assertExactlyOnce(
                TelemetryFixtures.parseAggregates(
                        kafka.readCommittedToEnd(topics.output(), Duration.ofSeconds(30))),
                expected);
    }

    /** The runs' scratch directories under the service's temp dir. */
    private static List<Path> runDirectories(Path tmp) throws IOException {
        return scratchEntries(tmp).stream().filter(Files::isDirectory).toList();
    }

    /** The runs' scratch directories and their lock files. */
    private static List<Path> scratchEntries(Path tmp) throws IOException {
        Path parent = tmp.resolve("telemetry-aggregator");
        if (!Files.isDirectory(parent)) {
            return List.of();
        }
        try (Stream<Path> entries = Files.list(parent)) {
            return entries.toList();
        }
    }

    private static List<Path> filesNamed(Path dir, String part) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(file -> file.getFileName().toString().contains(part)).toList();
        }
    }
}
