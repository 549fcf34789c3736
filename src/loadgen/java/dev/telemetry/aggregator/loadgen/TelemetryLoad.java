package dev.telemetry.aggregator.loadgen;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Locale;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Deterministic telemetry: the one load generator of the benchmark suite, the tests' paced feeds
 * and the dev-mode demo feed.
 *
 * <p>Event {@code i} is a pure function of the shape and {@code i}: key {@code i % keys} (device
 * {@code key / metricsPerDevice}, metric {@code key % metricsPerDevice}), round {@code i / keys}.
 * In a backlog its event time is {@code start + round * stepMillis} plus a jitter of up to {@code
 * maxDisorderMillis} (the out-of-orderness; never before {@code start}, so a later batch starting
 * where an earlier one ended does not reach back into its windows); paced, it is the wall clock
 * minus the jitter (never in the future). Values are multiples of 0.25, so sums are exact in any
 * order of addition. Records are keyed by deviceId and carry the event time as their Kafka
 * timestamp too; the partition is a function of the deviceId, so each device's events stay in order
 * on one partition.
 *
 * @param devices number of devices ({@code sensor-0 ...})
 * @param metrics metric names; each device reports each of them
 * @param stepMillis event time between two consecutive events of one (device, metric)
 * @param maxDisorderMillis how far an event may be out of its position in event time
 * @param recordBytes pad each JSON value with an ignored field to at least this size (0: none)
 * @param startMillis event time of round 0 in a backlog
 * @param seed the values and jitters
 * @param tagged whether each event carries tags: {@code region} (one of {@link #REGIONS}, by
 *     device) and {@code service} (one of {@link #SERVICES}, by device)
 */
public record TelemetryLoad(
        int devices,
        List<String> metrics,
        long stepMillis,
        long maxDisorderMillis,
        int recordBytes,
        long startMillis,
        long seed,
        boolean tagged) {

    /** How many distinct {@code region} tags tagged events carry ({@code region-0 ...}). */
    public static final int REGIONS = 4;

    /** How many distinct {@code service} tags tagged events carry ({@code service-0 ...}). */
    public static final int SERVICES = 25;

    /** Untagged events. */
    public TelemetryLoad(
            int devices,
            List<String> metrics,
            long stepMillis,
            long maxDisorderMillis,
            int recordBytes,
            long startMillis,
            long seed) {
        this(
                devices,
                metrics,
                stepMillis,
                maxDisorderMillis,
                recordBytes,
                startMillis,
                seed,
                false);
    }

    public TelemetryLoad {
        if (devices < 1 || metrics.isEmpty() || stepMillis < 1 || maxDisorderMillis < 0) {
            throw new IllegalArgumentException("bad telemetry shape: " + this);
        }
        metrics = List.copyOf(metrics);
    }

    /** {@code count} metrics named {@code metric-0 ...}. */
    public static List<String> metricNames(int count) {
        List<String> names = new ArrayList<>();
        for (int m = 0; m < count; m++) {
            names.add("metric-" + m);
        }
        return names;
    }

    /** Distinct (device, metric) keys. */
    public long keys() {
        return (long) devices * metrics.size();
    }

    public String deviceId(long i) {
        return "sensor-" + (i % keys()) / metrics.size();
    }

    public String metric(long i) {
        return metrics.get((int) (i % keys() % metrics.size()));
    }

    /** The device number of event {@code i}. */
    private long device(long i) {
        return (i % keys()) / metrics.size();
    }

    /** Event {@code i}'s {@code region} tag (tagged loads only). */
    public String region(long i) {
        return "region-" + device(i) % REGIONS;
    }

    /** Event {@code i}'s {@code service} tag (tagged loads only). */
    public String service(long i) {
        return "service-" + device(i) % SERVICES;
    }

    public double value(long i) {
        return (Math.floorMod(mix(seed, 2 * i), 400) - 100) / 4.0;
    }

    /** How far event {@code i} is out of its position in event time. */
    public long jitter(long i) {
        return maxDisorderMillis == 0
                ? 0
                : Math.floorMod(mix(seed, 2 * i + 1), maxDisorderMillis + 1);
    }

    /** Event time of event {@code i} in a backlog. */
    public long backlogTimestamp(long i) {
        return startMillis + (i / keys()) * stepMillis + jitter(i);
    }

    /** The JSON value of event {@code i} with the given event time. */
    public byte[] json(long i, long timestamp) {
        String json =
                String.format(
                        Locale.ROOT,
                        "{\"deviceId\":\"%s\",\"metric\":\"%s\",\"value\":%s,\"timestamp\":%d",
                        deviceId(i),
                        metric(i),
                        value(i),
                        timestamp);
        if (tagged) {
            json +=
                    ",\"tags\":{\"region\":\""
                            + region(i)
                            + "\",\"service\":\""
                            + service(i)
                            + "\"}";
        }
        int padding = recordBytes - json.length() - 11;
        if (padding > 0) {
            json += ",\"pad\":\"" + "x".repeat(padding) + "\"";
        }
        return (json + "}").getBytes(StandardCharsets.UTF_8);
    }

    /** Event {@code i} as a record of {@code topic}, stamped {@code timestamp}. */
    public ProducerRecord<byte[], byte[]> record(
            String topic, int partitions, long i, long timestamp) {
        String device = deviceId(i);
        return new ProducerRecord<>(
                topic,
                Math.floorMod(device.hashCode(), partitions),
                timestamp,
                device.getBytes(StandardCharsets.UTF_8),
                json(i, timestamp));
    }

    /**
     * Sends events {@code from .. from+count-1} of the backlog as fast as the producer takes them.
     */
    public void sendBacklog(
            Producer<byte[], byte[]> producer,
            String topic,
            int partitions,
            long from,
            long count) {
        for (long i = from; i < from + count; i++) {
            producer.send(record(topic, partitions, i, backlogTimestamp(i)));
        }
        producer.flush();
    }

    /** Told of each paced event right after it is handed to the producer. */
    public interface AppendListener {
        void appended(long i, long timestamp, long appendMillis);
    }

    /**
     * Sends events from {@code from} on at {@code eventsPerSecond}, stamped with the wall clock
     * minus their jitter, until {@code maxEvents} are sent, {@code durationMillis} has passed or
     * {@code keepGoing} says stop. Returns the number sent.
     */
    public long sendPaced(
            Producer<byte[], byte[]> producer,
            String topic,
            int partitions,
            long from,
            double eventsPerSecond,
            long maxEvents,
            long durationMillis,
            BooleanSupplier keepGoing,
            AppendListener listener)
            throws InterruptedException {
        long begin = System.currentTimeMillis();
        long sent = 0;
        while (sent < maxEvents && keepGoing.getAsBoolean()) {
            long elapsed = System.currentTimeMillis() - begin;
            if (elapsed >= durationMillis) {
                break;
            }
            long due = Math.min(maxEvents, (long) (eventsPerSecond * elapsed / 1000.0) + 1);
            for (; sent < due; sent++) {
                // A feeder that fell behind sends a long catch-up burst; stop means stop now.
                if (sent % 1024 == 0 && !keepGoing.getAsBoolean()) {
                    break;
                }
                long i = from + sent;
                long now = System.currentTimeMillis();
                long timestamp = now - jitter(i);
                producer.send(record(topic, partitions, i, timestamp));
                if (listener != null) {
                    listener.appended(i, timestamp, now);
                }
            }
            Thread.sleep(5);
        }
        producer.flush();
        return sent;
    }

    /**
     * How many aggregates (one per device, metric and tumbling window) a backlog of the first
     * {@code events} events makes.
     */
    public long backlogAggregates(long events, long windowMillis) {
        long keys = keys();
        long rounds = (events + keys - 1) / keys;
        long span = rounds * stepMillis + maxDisorderMillis + windowMillis;
        long origin = Math.floorDiv(startMillis, windowMillis);
        long total = 0;
        BitSet windows = new BitSet((int) Math.min(Integer.MAX_VALUE, span / windowMillis + 2));
        for (long key = 0; key < keys; key++) {
            windows.clear();
            for (long i = key; i < events; i += keys) {
                long window = Math.floorDiv(backlogTimestamp(i), windowMillis) - origin;
                windows.set((int) window);
            }
            total += windows.cardinality();
        }
        return total;
    }

    /** SplitMix64: a well-mixed pure function of (seed, n). */
    private static long mix(long seed, long n) {
        long z = seed + n * 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
