package dev.telemetry.aggregator.job.codec;

import dev.telemetry.aggregator.job.config.RollupLevel;
import dev.telemetry.aggregator.job.records.TelemetryAggregate;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import org.apache.flink.connector.kafka.lineage.DefaultKafkaDatasetFacet;
import org.apache.flink.connector.kafka.lineage.DefaultKafkaDatasetIdentifier;
import org.apache.flink.connector.kafka.lineage.KafkaDatasetFacet;
import org.apache.flink.connector.kafka.lineage.KafkaDatasetFacetProvider;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Writes an aggregate as the output record of the data contract: key = deviceId (UTF-8), value =
 * JSON with the fields in contract order.
 */
public class AggregateSerializationSchema
        implements KafkaRecordSerializationSchema<TelemetryAggregate>, KafkaDatasetFacetProvider {
    private static final long serialVersionUID = 1L;

    private final String topic;

    /** The JSON names of the percentiles, in the order of the aggregates' values. */
    private final String[] percentileNames;

    /** Each rollup level's window size in milliseconds, and its topic at the same index. */
    private final long[] rollupSizes;

    private final String[] rollupTopics;

    public AggregateSerializationSchema(String topic) {
        this(topic, new double[0], List.of());
    }

    /**
     * @param topic the topic of the aggregates of {@code telemetry.window-size}
     * @param quantiles the quantiles of the aggregates' percentiles, in their order
     * @param rollups the rollup levels, whose aggregates go to their own topics (told apart by
     *     their window size: each level's is larger than the one below)
     */
    public AggregateSerializationSchema(
            String topic, double[] quantiles, List<RollupLevel> rollups) {
        this.topic = topic;
        this.percentileNames = percentileNames(quantiles);
        this.rollupSizes = rollups.stream().mapToLong(level -> level.size().toMillis()).toArray();
        this.rollupTopics = rollups.stream().map(RollupLevel::topic).toArray(String[]::new);
    }

    /** A quantile's name in the output: its shortest decimal ({@code 0.5}, {@code 0.99}). */
    private static String[] percentileNames(double[] quantiles) {
        String[] names = new String[quantiles.length];
        for (int i = 0; i < quantiles.length; i++) {
            names[i] = Double.toString(quantiles[i]);
        }
        return names;
    }

    @Override
    public ProducerRecord<byte[], byte[]> serialize(
            TelemetryAggregate aggregate, KafkaSinkContext context, Long timestamp) {
        return new ProducerRecord<>(
                topicOf(aggregate),
                null,
                timestamp,
                aggregate.deviceId.getBytes(StandardCharsets.UTF_8),
                toJson(aggregate, percentileNames));
    }

    /** Per record, so a scan of the few levels rather than a map lookup that boxes the size. */
    private String topicOf(TelemetryAggregate aggregate) {
        long size = aggregate.windowEnd - aggregate.windowStart;
        for (int i = 0; i < rollupSizes.length; i++) {
            if (rollupSizes[i] == size) {
                return rollupTopics[i];
            }
        }
        return topic;
    }

    static byte[] toJson(TelemetryAggregate aggregate) {
        return toJson(aggregate, new String[0]);
    }

    static byte[] toJson(TelemetryAggregate aggregate, String[] percentileNames) {
        return JsonBytes.write(
                json -> {
                    json.writeStartObject();
                    json.writeStringField("deviceId", aggregate.deviceId);
                    json.writeStringField("metric", aggregate.metric);
                    json.writeNumberField("windowStart", aggregate.windowStart);
                    json.writeNumberField("windowEnd", aggregate.windowEnd);
                    json.writeNumberField("count", aggregate.count);
                    json.writeNumberField("sum", finite(aggregate.sum));
                    json.writeNumberField("min", finite(aggregate.min));
                    json.writeNumberField("max", finite(aggregate.max));
                    json.writeNumberField("avg", finite(aggregate.avg));
                    if (aggregate.percentiles != null) {
                        json.writeObjectFieldStart("percentiles");
                        for (int i = 0; i < percentileNames.length; i++) {
                            json.writeNumberField(
                                    percentileNames[i], finite(aggregate.percentiles[i]));
                        }
                        json.writeEndObject();
                    }
                    if (aggregate.sketch != null) {
                        json.writeStringField(
                                "sketch", Base64.getEncoder().encodeToString(aggregate.sketch));
                    }
                    json.writeEndObject();
                });
    }

    /**
     * A numeric field of the output is always a JSON number: Jackson would write an infinite double
     * as the string {@code "Infinity"}. The parser bounds every value ({@link
     * TelemetryEventParser#MAX_ABS_VALUE}) so no window's sum overflows; this guards windows
     * restored from state written before that bound. An overflowed sum saturates at the largest
     * double of its sign (the true sum is at least that large). NaN cannot come from finite values
     * without an infinite sum; written as 0 rather than a string, were it ever to occur.
     */
    static double finite(double value) {
        if (Double.isNaN(value)) {
            return 0;
        }
        if (value == Double.POSITIVE_INFINITY) {
            return Double.MAX_VALUE;
        }
        if (value == Double.NEGATIVE_INFINITY) {
            return -Double.MAX_VALUE;
        }
        return value;
    }

    /**
     * The target topics, which the POOLING transaction naming strategy needs to abort leftovers.
     */
    @Override
    public Optional<KafkaDatasetFacet> getKafkaDatasetFacet() {
        List<String> topics = new ArrayList<>();
        topics.add(topic);
        topics.addAll(List.of(rollupTopics));
        return Optional.of(
                new DefaultKafkaDatasetFacet(DefaultKafkaDatasetIdentifier.ofTopics(topics)));
    }
}
