package dev.telemetry.aggregator.bench;

import dev.telemetry.aggregator.testing.KafkaTestClient;
import dev.telemetry.aggregator.testing.ServiceProcess;
import dev.telemetry.aggregator.testing.SharedKafkaBroker;
import dev.telemetry.aggregator.testing.TelemetryFixtures;
import dev.telemetry.aggregator.testing.TelemetryFixtures.Event;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Measures, in one run on one broker: exactly-once throughput of the packaged service over a
 * backlog, beside a plain Kafka consumer reading the same backlog (the ratio is the figure that
 * means something on a noisy machine); start-up time; restart-with-restore time after {@code kill
 * -9}; and resident memory. Absolute figures depend on the machine.
 *
 * <p>Run with {@code bench/service-figures.sh [events]}.
 */
public final class ServiceFiguresBenchmark {
    private static final int PARTITIONS = 4;

    private ServiceFiguresBenchmark() {}

    public static void main(String[] args) throws Exception {
        int eventCount = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
        try (KafkaTestClient kafka = new KafkaTestClient(SharedKafkaBroker.bootstrapServers())) {
            String input = KafkaTestClient.uniqueTopic("bench-telemetry");
            kafka.createTopic(input, PARTITIONS);
            int devices = 1_000;
            int metrics = 5;
            int perKey = Math.max(1, eventCount / (devices * metrics));
            long start = 1_763_683_200_000L;
            List<Event> events =
                    TelemetryFixtures.events("sensor-", devices, metrics, perKey, start, 200, 0, 3);
            long produceStart = System.nanoTime();
            List<ProducerRecord<byte[], byte[]>> batch = new ArrayList<>();
            for (Event event : events) {
                batch.add(event.toRecord(input, PARTITIONS));
                if (batch.size() == 20_000) {
                    kafka.send(batch);
                    batch.clear();
                }
            }
            kafka.send(batch);
            kafka.send(TelemetryFixtures.watermarkFlush(input, PARTITIONS, start + 86_400_000));
            long total = kafka.endOffsetSum(input);
            System.out.printf(
                    Locale.ROOT,
                    "backlog: %,d records in %d partitions (produced in %.1f s)%n",
                    total,
                    PARTITIONS,
                    seconds(System.nanoTime() - produceStart));

            double consumerSeconds = rawConsumerSeconds(kafka.bootstrapServers(), input, total);
            double consumerRate = total / consumerSeconds;

            Path dir = Files.createTempDirectory(Paths.get("target").toAbsolutePath(), "bench-");
            Map<String, String> environment =
                    ServiceProcess.environment(
                            kafka.bootstrapServers(),
                            input,
                            input + "-aggregates",
                            input + "-dlq",
                            dir.resolve("checkpoints"));
            String group = environment.get("TELEMETRY_SOURCE_GROUP_ID");
            environment.put("TELEMETRY_SOURCE_START", "earliest");
            environment.put("TELEMETRY_WINDOW_SIZE", "1s");
            environment.put("TELEMETRY_CHECKPOINT_INTERVAL", "1s");
            environment.put("TELEMETRY_TOPICS_REPLICATION_FACTOR", "1");
            try (ServiceProcess service = new ServiceProcess(environment, dir)) {
                long launched = System.nanoTime();
                service.start();
                service.awaitReady(Duration.ofMinutes(2));
                double readySeconds = seconds(System.nanoTime() - launched);
                // Done = a completed checkpoint covers every input record: all aggregates of
                // those records are committed in the same checkpoint's transactions.
                while (kafka.committedOffsetSum(group, input) < total) {
                    Thread.sleep(100);
                }
                double pipelineSeconds = seconds(System.nanoTime() - launched);
                double afterReadySeconds = pipelineSeconds - readySeconds;
                long rssUnderLoad = rssKb(service.pid());

                service.kill();
                long restarted = System.nanoTime();
                service.start();
                service.awaitReady(Duration.ofMinutes(2));
                double restartSeconds = seconds(System.nanoTime() - restarted);
                Thread.sleep(5_000);
                long rssIdle = rssKb(service.pid());
                List<String> logs = service.logsOfEachStart();

                System.out.printf(
                        Locale.ROOT,
                        "raw KafkaConsumer read of the backlog: %.1f s, %,.0f records/s%n",
                        consumerSeconds,
                        consumerRate);
                System.out.printf(
                        Locale.ROOT,
                        "service, exactly-once, parallelism 1, from launch to last checkpoint: %.1f"
                                + " s, %,.0f records/s%n",
                        pipelineSeconds,
                        total / pipelineSeconds);
                System.out.printf(
                        Locale.ROOT,
                        "  of which after ready: %.1f s, %,.0f records/s%n",
                        afterReadySeconds,
                        total / afterReadySeconds);
                System.out.printf(
                        Locale.ROOT,
                        "ratio service (after ready) / raw consumer: %.3f%n",
                        (total / afterReadySeconds) / consumerRate);
                System.out.printf(
                        Locale.ROOT,
                        "first start: ready after %.1f s (Quarkus 'started in' %s s)%n",
                        readySeconds,
                        startedIn(logs.get(0)));
                System.out.printf(
                        Locale.ROOT,
                        "restart after kill -9, with restore: ready after %.1f s (Quarkus 'started"
                                + " in' %s s), restored: %b%n",
                        restartSeconds,
                        startedIn(logs.get(1)),
                        logs.get(1).contains("restored from"));
                System.out.printf(
                        Locale.ROOT,
                        "RSS (-Xmx384m): %,d MB at the end of the backlog, %,d MB idle after"
                                + " restart%n",
                        rssUnderLoad / 1024,
                        rssIdle / 1024);
            }
        }
        System.exit(0);
    }

    private static double rawConsumerSeconds(String bootstrap, String topic, long total) {
        Properties properties = new Properties();
        properties.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        properties.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        try (KafkaConsumer<byte[], byte[]> consumer =
                new KafkaConsumer<>(
                        properties, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = new ArrayList<>();
            for (int p = 0; p < PARTITIONS; p++) {
                partitions.add(new TopicPartition(topic, p));
            }
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            long read = 0;
            long begin = System.nanoTime();
            while (read < total) {
                read += consumer.poll(Duration.ofMillis(500)).count();
            }
            return seconds(System.nanoTime() - begin);
        }
    }

    private static String startedIn(String log) {
        Matcher matcher = Pattern.compile("started in ([0-9.]+)s").matcher(log);
        return matcher.find() ? matcher.group(1) : "?";
    }

    private static long rssKb(long pid) throws java.io.IOException {
        for (String line : Files.readAllLines(Paths.get("/proc", Long.toString(pid), "status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return -1;
    }

    private static double seconds(long nanos) {
        return nanos / 1e9;
    }
}
