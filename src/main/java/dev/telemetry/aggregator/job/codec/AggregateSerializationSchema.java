package dev.telemetry.aggregator.job.codec;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.telemetry.aggregator.job.config.Grouping;
import dev.telemetry.aggregator.job.config.RollupLevel;
import dev.telemetry.aggregator.job.records.TelemetryAggregate;
import java.io.IOException;
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
 * Writes an aggregate as the output record of the data contract, to its grouping's and level's
 * topic. Per device and metric (the default): key = deviceId (UTF-8), value = JSON with the fields
 * in contract order. Any other grouping: key = its dimensions as a JSON object ({@code
 * {"metric":"latency","tags":{"region":"eu-1"}}}, {@code deviceId} first when grouped by it), and
 * the value names those dimensions in place of {@code deviceId}.
 *
 * <p>Upsert mode: the key identifies the window, its dimensions (always named, {@code deviceId} and
 * {@code metric} included) and bounds as a JSON object ({@code
 * {"deviceId":"d","metric":"m","windowStart":0,"windowEnd":60000}}, whose bounds also tell the
 * level), and the value adds {@code "revision"} and {@code "final"} after the bounds.
 */
public class AggregateSerializationSchema
        implements KafkaRecordSerializationSchema<TelemetryAggregate>, KafkaDatasetFacetProvider {
    private static final long serialVersionUID = 1L;

    private final Grouping[] groupings;

    /** Each grouping's {@link Grouping#seriesPrefix}, made once. */
    private final String[] prefixes;

    /** The JSON names of the percentiles, in the order of the aggregates' values. */
    private final String[] percentileNames;

    private final boolean upsert;

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
        this(List.of(new Grouping(true, List.of(), topic, rollups)), quantiles);
    }

    /**
     * @param groupings every grouping, with its topic and levels
     * @param quantiles the quantiles of the aggregates' percentiles, in their order
     */
    public AggregateSerializationSchema(List<Grouping> groupings, double[] quantiles) {
        this(groupings, quantiles, false);
    }

    /**
     * @param upsert whether records are revisions of windows, keyed by the window
     */
    public AggregateSerializationSchema(
            List<Grouping> groupings, double[] quantiles, boolean upsert) {
        this.upsert = upsert;
        this.groupings = groupings.toArray(Grouping[]::new);
        this.prefixes = groupings.stream().map(Grouping::seriesPrefix).toArray(String[]::new);
        this.percentileNames = percentileNames(quantiles);
    }

    /** A quantile's name in the output: its shortest decimal ({@code 0.5}, {@code 0.99}). */
    private static String[] percentileNames(double[] quantiles) {
        String[] names = new String[quantiles.length];
        for (int i = 0; i < quantiles.length; i++) {
            names[i] = Double.toString(quantiles[i]);
        }
        return names;
    }

    /**
     * The record, or null (which the Kafka sink skips) for an aggregate of a grouping no longer
     * configured: windows restored from before the grouping was removed or changed.
     */
    @Override
    public ProducerRecord<byte[], byte[]> serialize(
            TelemetryAggregate aggregate, KafkaSinkContext context, Long timestamp) {
        for (int g = 0; g < groupings.length; g++) {
            Grouping grouping = groupings[g];
            if (!grouping.owns(aggregate.deviceId, prefixes[g])) {
                continue;
            }
            String topic = topicOf(grouping, aggregate);
            if (grouping.isDeviceMetric() && !upsert) {
                return new ProducerRecord<>(
                        topic,
                        null,
                        timestamp,
                        aggregate.deviceId.getBytes(StandardCharsets.UTF_8),
                        toJson(aggregate, percentileNames));
            }
            Grouping named = grouping.isDeviceMetric() ? null : grouping;
            String[] values =
                    named == null ? null : grouping.valuesOf(aggregate.deviceId, prefixes[g]);
            return new ProducerRecord<>(
                    topic,
                    null,
                    timestamp,
                    JsonBytes.write(
                            json -> {
                                json.writeStartObject();
                                writeDimensions(json, named, values, aggregate);
                                if (upsert) {
                                    json.writeNumberField("windowStart", aggregate.windowStart);
                                    json.writeNumberField("windowEnd", aggregate.windowEnd);
                                }
                                json.writeEndObject();
                            }),
                    toJson(aggregate, named, values, percentileNames, upsert));
        }
        return null;
    }

    /** Per record, so a scan of the few levels rather than a map lookup that boxes the size. */
    private static String topicOf(Grouping grouping, TelemetryAggregate aggregate) {
        long size = aggregate.windowEnd - aggregate.windowStart;
        for (RollupLevel level : grouping.levels()) {
            if (level.size().toMillis() == size) {
                return level.topic();
            }
        }
        return grouping.topic();
    }

    static byte[] toJson(TelemetryAggregate aggregate) {
        return toJson(aggregate, new String[0]);
    }

    static byte[] toJson(TelemetryAggregate aggregate, String[] percentileNames) {
        return toJson(aggregate, null, null, percentileNames, false);
    }

    /**
     * @param grouping the aggregate's grouping, or null for per device and metric
     * @param values the grouping's dimension values ({@link Grouping#valuesOf})
     * @param upsert whether to write the revision and whether it is final
     */
    private static byte[] toJson(
            TelemetryAggregate aggregate,
            Grouping grouping,
            String[] values,
            String[] percentileNames,
            boolean upsert) {
        return JsonBytes.write(
                json -> {
                    json.writeStartObject();
                    writeDimensions(json, grouping, values, aggregate);
                    json.writeNumberField("windowStart", aggregate.windowStart);
                    json.writeNumberField("windowEnd", aggregate.windowEnd);
                    if (upsert) {
                        json.writeNumberField("revision", aggregate.revision);
                        json.writeBooleanField("final", aggregate.isFinal);
                    }
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
     * {@code "deviceId"} when grouped by it, {@code "metric"}, {@code "tags":{...}} if any; per
     * device and metric if {@code grouping} is null.
     */
    private static void writeDimensions(
            JsonGenerator json, Grouping grouping, String[] values, TelemetryAggregate aggregate)
            throws IOException {
        if (grouping == null) {
            json.writeStringField("deviceId", aggregate.deviceId);
            json.writeStringField("metric", aggregate.metric);
            return;
        }
        if (grouping.byDevice()) {
            json.writeStringField("deviceId", values[0]);
        }
        json.writeStringField("metric", aggregate.metric);
        if (!grouping.tagNames().isEmpty()) {
            json.writeObjectFieldStart("tags");
            for (int i = 0; i < grouping.tagNames().size(); i++) {
                json.writeStringField(grouping.tagNames().get(i), values[i + 1]);
            }
            json.writeEndObject();
        }
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
        for (Grouping grouping : groupings) {
            topics.addAll(grouping.topics());
        }
        return Optional.of(
                new DefaultKafkaDatasetFacet(DefaultKafkaDatasetIdentifier.ofTopics(topics)));
    }
}
