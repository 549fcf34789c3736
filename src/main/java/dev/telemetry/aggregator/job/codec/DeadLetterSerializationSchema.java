package dev.telemetry.aggregator.job.codec;

import dev.telemetry.aggregator.job.records.DeadLetter;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import org.apache.flink.connector.kafka.lineage.DefaultKafkaDatasetFacet;
import org.apache.flink.connector.kafka.lineage.DefaultKafkaDatasetIdentifier;
import org.apache.flink.connector.kafka.lineage.KafkaDatasetFacet;
import org.apache.flink.connector.kafka.lineage.KafkaDatasetFacetProvider;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * Writes a dead letter with its original key and value bytes unchanged and headers naming the
 * reason and the source record's coordinates.
 */
public class DeadLetterSerializationSchema
        implements KafkaRecordSerializationSchema<DeadLetter>, KafkaDatasetFacetProvider {
    private static final long serialVersionUID = 1L;

    public static final String REASON_HEADER = "dlq.reason";
    public static final String DETAIL_HEADER = "dlq.detail";
    public static final String SOURCE_TOPIC_HEADER = "dlq.source.topic";
    public static final String SOURCE_PARTITION_HEADER = "dlq.source.partition";
    public static final String SOURCE_OFFSET_HEADER = "dlq.source.offset";
    public static final String SOURCE_TIMESTAMP_HEADER = "dlq.source.timestamp";

    private final String topic;

    public DeadLetterSerializationSchema(String topic) {
        this.topic = topic;
    }

    @Override
    public ProducerRecord<byte[], byte[]> serialize(
            DeadLetter deadLetter, KafkaSinkContext context, Long timestamp) {
        RecordHeaders headers = new RecordHeaders();
        headers.add(REASON_HEADER, utf8(deadLetter.reason));
        headers.add(DETAIL_HEADER, utf8(deadLetter.detail));
        headers.add(SOURCE_TOPIC_HEADER, utf8(deadLetter.sourceTopic));
        headers.add(SOURCE_PARTITION_HEADER, utf8(Integer.toString(deadLetter.sourcePartition)));
        headers.add(SOURCE_OFFSET_HEADER, utf8(Long.toString(deadLetter.sourceOffset)));
        headers.add(SOURCE_TIMESTAMP_HEADER, utf8(Long.toString(deadLetter.sourceTimestamp)));
        // Keep the source record's timestamp so the dead letter sorts where the original did.
        Long recordTimestamp = deadLetter.sourceTimestamp >= 0 ? deadLetter.sourceTimestamp : null;
        return new ProducerRecord<>(
                topic, null, recordTimestamp, deadLetter.key, deadLetter.value, headers);
    }

    private static byte[] utf8(String text) {
        return text == null ? null : text.getBytes(StandardCharsets.UTF_8);
    }

    /** The target topic, which the POOLING transaction naming strategy needs to abort leftovers. */
    @Override
    public Optional<KafkaDatasetFacet> getKafkaDatasetFacet() {
        return Optional.of(
                new DefaultKafkaDatasetFacet(
                        DefaultKafkaDatasetIdentifier.ofTopics(List.of(topic))));
    }
}
