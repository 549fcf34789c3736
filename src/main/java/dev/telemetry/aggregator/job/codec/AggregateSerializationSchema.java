package dev.telemetry.aggregator.job.codec;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import dev.telemetry.aggregator.job.records.TelemetryAggregate;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
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
    private transient JsonFactory jsonFactory;

    public AggregateSerializationSchema(String topic) {
        this.topic = topic;
    }

    @Override
    public ProducerRecord<byte[], byte[]> serialize(
            TelemetryAggregate aggregate, KafkaSinkContext context, Long timestamp) {
        return new ProducerRecord<>(
                topic,
                null,
                timestamp,
                aggregate.deviceId.getBytes(StandardCharsets.UTF_8),
                toJson(aggregate));
    }

    byte[] toJson(TelemetryAggregate aggregate) {
        if (jsonFactory == null) {
            jsonFactory = new JsonFactory();
        }
        try (ByteArrayBuilder buffer = new ByteArrayBuilder(256);
                JsonGenerator json = jsonFactory.createGenerator(buffer)) {
            json.writeStartObject();
            json.writeStringField("deviceId", aggregate.deviceId);
            json.writeStringField("metric", aggregate.metric);
            json.writeNumberField("windowStart", aggregate.windowStart);
            json.writeNumberField("windowEnd", aggregate.windowEnd);
            json.writeNumberField("count", aggregate.count);
            json.writeNumberField("sum", aggregate.sum);
            json.writeNumberField("min", aggregate.min);
            json.writeNumberField("max", aggregate.max);
            json.writeNumberField("avg", aggregate.avg);
            json.writeEndObject();
            json.flush();
            return buffer.toByteArray();
        } catch (IOException e) {
            // Writing to an in-memory buffer cannot fail on I/O; this would be a programming error.
            throw new UncheckedIOException(e);
        }
    }

    /** The target topic, which the POOLING transaction naming strategy needs to abort leftovers. */
    @Override
    public Optional<KafkaDatasetFacet> getKafkaDatasetFacet() {
        return Optional.of(
                new DefaultKafkaDatasetFacet(
                        DefaultKafkaDatasetIdentifier.ofTopics(List.of(topic))));
    }
}
