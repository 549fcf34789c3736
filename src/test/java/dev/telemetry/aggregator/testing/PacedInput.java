package dev.telemetry.aggregator.testing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.telemetry.aggregator.testing.TelemetryFixtures.Event;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.awaitility.Awaitility;

/**
 * Test input for process-level tests: events plus numbered corrupt records, cut into chunks that
 * are sent at a steady pace (input flowing, not one burst) while the test stops or kills the
 * service.
 */
public final class PacedInput {
    private final List<List<ProducerRecord<byte[], byte[]>>> chunks;

    /**
     * @param corrupt how many corrupt records ({@code corrupt record #n}) to spread over the input
     */
    public PacedInput(String topic, int partitions, List<Event> events, int corrupt, int chunks) {
        List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
        int corruptEvery = Math.max(1, events.size() / Math.max(1, corrupt));
        int corruptSent = 0;
        for (int i = 0; i < events.size(); i++) {
            records.add(events.get(i).toRecord(topic, partitions));
            if (i % corruptEvery == corruptEvery - 1 && corruptSent < corrupt) {
                records.add(
                        new ProducerRecord<>(
                                topic,
                                corruptSent % partitions,
                                null,
                                ("corrupt record #" + corruptSent++)
                                        .getBytes(StandardCharsets.UTF_8)));
            }
        }
        this.chunks = new ArrayList<>();
        int size = (records.size() + chunks - 1) / chunks;
        for (int from = 0; from < records.size(); from += size) {
            this.chunks.add(records.subList(from, Math.min(records.size(), from + size)));
        }
    }

    public int chunkCount() {
        return chunks.size();
    }

    public List<ProducerRecord<byte[], byte[]>> chunk(int index) {
        return chunks.get(index);
    }

    /** Sends a chunk at about 300 records/s on a background thread; join it to wait. */
    public Thread sendInBackground(KafkaTestClient kafka, int index) {
        List<ProducerRecord<byte[], byte[]>> chunk = chunks.get(index);
        Thread producer =
                new Thread(
                        () -> {
                            try {
                                for (int from = 0; from < chunk.size(); from += 40) {
                                    kafka.send(
                                            chunk.subList(from, Math.min(chunk.size(), from + 40)));
                                    Thread.sleep(130);
                                }
                            } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                            }
                        },
                        "paced-input-" + index);
        producer.start();
        return producer;
    }

    /**
     * Sends the first {@code kills} chunks, one per run of the service: while each flows, kills the
     * service with {@code kill -9} once this run has completed a checkpoint of its own (so every
     * run makes progress), after a random pause, then starts it again and waits until it is ready.
     */
    public void sendKillingEachRun(
            KafkaTestClient kafka, ServiceProcess service, Path checkpoints, int kills, long seed)
            throws Exception {
        Random random = new Random(seed);
        for (int kill = 1; kill <= kills; kill++) {
            Thread producer = sendInBackground(kafka, kill - 1);
            killOnceCheckpointed(service, checkpoints, random);
            producer.join(Duration.ofMinutes(1).toMillis());
            assertThat(producer.isAlive()).as("producer of chunk %d finished", kill).isFalse();
            service.start();
            service.awaitReady(Duration.ofMinutes(2));
        }
    }

    /**
     * Kills the service with {@code kill -9} once it has completed a checkpoint of its own (so the
     * run made progress), after a random pause of 0.2 to 1 s.
     */
    public static void killOnceCheckpointed(ServiceProcess service, Path checkpoints, Random random)
            throws Exception {
        long newestBefore = ServiceProcess.newestCheckpointId(checkpoints);
        Awaitility.await()
                .atMost(Duration.ofMinutes(1))
                .until(() -> ServiceProcess.newestCheckpointId(checkpoints) > newestBefore);
        Thread.sleep(200 + random.nextInt(800));
        service.kill();
    }

    /**
     * The service's environment for a test that stops or kills it under paced input: its own
     * topics, group, prefix and volume, with small windows and frequent checkpoints.
     */
    public static Map<String, String> serviceEnvironment(
            KafkaTestClient kafka,
            String input,
            String output,
            String deadLetters,
            Path checkpoints) {
        Map<String, String> environment =
                ServiceProcess.environment(
                        kafka.bootstrapServers(), input, output, deadLetters, checkpoints);
        environment.put("TELEMETRY_SOURCE_START", "earliest");
        environment.put("TELEMETRY_WINDOW_SIZE", "2s");
        environment.put("TELEMETRY_WATERMARK_MAX_OUT_OF_ORDERNESS", "1s");
        environment.put("TELEMETRY_WATERMARK_IDLENESS", "3s");
        environment.put("TELEMETRY_CHECKPOINT_INTERVAL", "1s");
        environment.put("TELEMETRY_PARALLELISM", "2");
        return environment;
    }
}
