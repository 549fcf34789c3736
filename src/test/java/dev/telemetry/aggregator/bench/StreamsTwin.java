package dev.telemetry.aggregator.bench;

import dev.telemetry.aggregator.job.codec.AggregateSerializationSchema;
import dev.telemetry.aggregator.job.codec.InvalidEventException;
import dev.telemetry.aggregator.job.codec.TelemetryEventParser;
import dev.telemetry.aggregator.job.config.EventTimeBounds;
import dev.telemetry.aggregator.job.config.EventTimeSource;
import dev.telemetry.aggregator.job.records.TelemetryAccumulator;
import dev.telemetry.aggregator.job.records.TelemetryAggregate;
import dev.telemetry.aggregator.job.records.TelemetryEvent;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Suppressed;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.state.Stores;

/**
 * The Kafka Streams twin of the job, for the benchmark's "why not Kafka Streams?": the same work
 * with the same contract, done the way a well-tuned Kafka Streams application would.
 *
 * <ul>
 *   <li>Parses with the job's {@link TelemetryEventParser} (event time from the payload; the load
 *       generator stamps records with the same time, which Streams' default extractor uses).
 *   <li>Tumbling windows of the job's size with grace = the job's max out-of-orderness: a window
 *       closes when the partition's stream time passes its end + grace, as the job's watermark
 *       does.
 *   <li>Input keyed by deviceId, grouped by that key: no repartition topic. The window state per
 *       (device, window) holds one accumulator per metric, so output is one record per (device,
 *       metric, window), as the job's.
 *   <li>State in memory (the job keeps it on the heap too), cached, with changelogs (Streams' fault
 *       tolerance); {@code suppress(untilWindowCloses)} so each window is emitted exactly once,
 *       when it closes.
 *   <li>Output written with the job's {@link AggregateSerializationSchema}: key deviceId, same
 *       JSON.
 *   <li>{@code processing.guarantee} and {@code commit.interval.ms} as given (the job's checkpoint
 *       interval); one stream thread per core.
 *   <li>Static membership ({@code group.instance.id}): a relaunch rejoins without a rebalance.
 * </ul>
 *
 * <p>Runs as its own process: {@code StreamsTwin bootstrap input output applicationId windowMs
 * graceMs commitMs guarantee stateDir threads}. Prints {@code RUNNING} when processing starts.
 */
public final class StreamsTwin {
    private StreamsTwin() {}

    public static void main(String[] args) throws InterruptedException {
        String bootstrap = args[0];
        String input = args[1];
        String output = args[2];
        Duration window = Duration.ofMillis(Long.parseLong(args[4]));
        Duration grace = Duration.ofMillis(Long.parseLong(args[5]));

        Properties config = new Properties();
        config.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        config.put(StreamsConfig.APPLICATION_ID_CONFIG, args[3]);
        config.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, args[6]);
        config.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, args[7]);
        config.put(StreamsConfig.STATE_DIR_CONFIG, args[8]);
        config.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, Integer.parseInt(args[9]));
        config.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 64L * 1024 * 1024);
        config.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, 1);
        config.put(StreamsConfig.consumerPrefix("auto.offset.reset"), "earliest");
        // Static membership, as a Kafka Streams sidecar that restarts in place is run: relaunched
        // after a kill -9, it takes its partitions back at once, instead of waiting out the dead
        // member's session (45 s by default) in a rebalance. Streams appends each thread's index.
        config.put(StreamsConfig.consumerPrefix(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG), args[3]);
        // Same producer batching as the job's Kafka sink (Kafka defaults + linger).
        config.put(StreamsConfig.producerPrefix("linger.ms"), 5);

        KafkaStreams streams = new KafkaStreams(topology(input, output, window, grace), config);
        CountDownLatch failed = new CountDownLatch(1);
        streams.setStateListener(
                (now, before) -> {
                    System.out.println(now);
                    if (now == KafkaStreams.State.ERROR) {
                        failed.countDown();
                    }
                });
        streams.start();
        // The benchmark ends this process with kill -9 (or it dies with it); ERROR ends it early.
        failed.await();
        System.exit(1);
    }

    static org.apache.kafka.streams.Topology topology(
            String input, String output, Duration window, Duration grace) {
        TelemetryEventParser parser =
                new TelemetryEventParser(EventTimeSource.PAYLOAD, EventTimeBounds.DEFAULT);
        AggregateSerializationSchema json = new AggregateSerializationSchema(output);
        StreamsBuilder builder = new StreamsBuilder();
        builder.stream(input, Consumed.with(Serdes.String(), Serdes.ByteArray()))
                .flatMapValues(
                        value -> {
                            try {
                                return List.of(parser.parse(value, 0));
                            } catch (InvalidEventException e) {
                                // The bench input is valid; the job would dead-letter these.
                                return List.<TelemetryEvent>of();
                            }
                        })
                .groupByKey()
                .windowedBy(TimeWindows.ofSizeAndGrace(window, grace))
                .aggregate(
                        LinkedHashMap<String, TelemetryAccumulator>::new,
                        (device, event, metrics) -> {
                            metrics.computeIfAbsent(event.metric, m -> new TelemetryAccumulator())
                                    .add(event.value);
                            return metrics;
                        },
                        Materialized.<String, Map<String, TelemetryAccumulator>>as(
                                        Stores.inMemoryWindowStore(
                                                "telemetry-windows",
                                                window.plus(grace),
                                                window,
                                                false))
                                .withKeySerde(Serdes.String())
                                .withValueSerde(new AccumulatorsSerde()))
                .suppress(Suppressed.untilWindowCloses(Suppressed.BufferConfig.unbounded()))
                .toStream()
                .flatMap(
                        (windowed, metrics) -> {
                            List<KeyValue<String, byte[]>> records = new ArrayList<>();
                            metrics.forEach(
                                    (metric, accumulator) ->
                                            records.add(
                                                    KeyValue.pair(
                                                            windowed.key(),
                                                            json.serialize(
                                                                            TelemetryAggregate.of(
                                                                                    windowed.key(),
                                                                                    metric,
                                                                                    windowed.window()
                                                                                            .start(),
                                                                                    windowed.window()
                                                                                            .end(),
                                                                                    accumulator),
                                                                            null,
                                                                            null)
                                                                    .value())));
                            return records;
                        })
                .to(output, Produced.with(Serdes.String(), Serdes.ByteArray()));
        return builder.build();
    }

    /** A device's accumulators in one window: metric, count, sum, min, max per entry. */
    static final class AccumulatorsSerde implements Serde<Map<String, TelemetryAccumulator>> {
        @Override
        public org.apache.kafka.common.serialization.Serializer<Map<String, TelemetryAccumulator>>
                serializer() {
            return (topic, metrics) -> {
                ByteArrayOutputStream bytes = new ByteArrayOutputStream(16 + 40 * metrics.size());
                try (DataOutputStream out = new DataOutputStream(bytes)) {
                    out.writeShort(metrics.size());
                    for (Map.Entry<String, TelemetryAccumulator> entry : metrics.entrySet()) {
                        TelemetryAccumulator a = entry.getValue();
                        out.writeUTF(entry.getKey());
                        out.writeLong(a.count);
                        out.writeDouble(a.sum);
                        out.writeDouble(a.min);
                        out.writeDouble(a.max);
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                return bytes.toByteArray();
            };
        }

        @Override
        public org.apache.kafka.common.serialization.Deserializer<Map<String, TelemetryAccumulator>>
                deserializer() {
            return (topic, data) -> {
                Map<String, TelemetryAccumulator> metrics = new LinkedHashMap<>();
                try (DataInputStream in =
                        new DataInputStream(new java.io.ByteArrayInputStream(data))) {
                    int size = in.readShort();
                    for (int n = 0; n < size; n++) {
                        String metric = in.readUTF();
                        TelemetryAccumulator a = new TelemetryAccumulator();
                        a.count = in.readLong();
                        a.sum = in.readDouble();
                        a.min = in.readDouble();
                        a.max = in.readDouble();
                        metrics.put(metric, a);
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                return metrics;
            };
        }
    }
}
