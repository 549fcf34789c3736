package dev.telemetry.aggregator.testing;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * A steady stream of telemetry into one topic from a background thread, as a live deployment sees
 * it: valid events stamped "now", and every second an invalid record and a late one, so every
 * dead-letter and lateness metric has something to count. Stops on {@link #close()} or after {@code
 * maxRunTime}, whichever comes first.
 */
public final class TelemetryFeed implements AutoCloseable {
    private static final Duration TICK = Duration.ofMillis(100);

    private final KafkaTestClient kafka;
    private final String topic;
    private final Thread thread;
    private final AtomicLong sent = new AtomicLong();
    private volatile boolean running = true;
    private volatile RuntimeException failure;

    public TelemetryFeed(String bootstrapServers, String topic, Duration maxRunTime) {
        this.kafka = new KafkaTestClient(bootstrapServers);
        this.topic = topic;
        long deadline = System.nanoTime() + maxRunTime.toNanos();
        this.thread = new Thread(() -> run(deadline), "telemetry-feed");
        this.thread.setDaemon(true);
        this.thread.start();
    }

    private void run(long deadline) {
        long tick = 0;
        try {
            while (running && System.nanoTime() < deadline) {
                long now = System.currentTimeMillis();
                List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
                for (int device = 0; device < 5; device++) {
                    records.add(record("sensor-" + device, event("sensor-" + device, tick, now)));
                }
                if (tick % 10 == 0) {
                    records.add(record("broken", "{not json"));
                    // An hour behind the watermark: counted and dead-lettered as late.
                    records.add(record("sensor-0", event("sensor-0", tick, now - 3_600_000)));
                }
                kafka.send(records);
                sent.addAndGet(records.size());
                tick++;
                Thread.sleep(TICK.toMillis());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            failure = e;
        }
    }

    private static String event(String device, long tick, long timestamp) {
        return "{\"deviceId\":\""
                + device
                + "\",\"metric\":\"temperature\",\"value\":"
                + (20 + tick % 7)
                + ",\"timestamp\":"
                + timestamp
                + "}";
    }

    private ProducerRecord<byte[], byte[]> record(String key, String value) {
        return new ProducerRecord<>(
                topic,
                key.getBytes(StandardCharsets.UTF_8),
                value.getBytes(StandardCharsets.UTF_8));
    }

    public long sent() {
        if (failure != null) {
            throw new IllegalStateException("The telemetry feed failed", failure);
        }
        return sent.get();
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        thread.join(Duration.ofSeconds(10).toMillis());
        kafka.close();
    }
}
