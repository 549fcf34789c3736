package dev.telemetry.aggregator.job.codec;

import dev.telemetry.aggregator.job.records.DeadLetter;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.apache.flink.connector.kafka.lineage.DefaultKafkaDatasetFacet;
import org.apache.flink.connector.kafka.lineage.DefaultKafkaDatasetIdentifier;
import org.apache.flink.connector.kafka.lineage.KafkaDatasetFacet;
import org.apache.flink.connector.kafka.lineage.KafkaDatasetFacetProvider;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * Writes a dead letter with its original key and value bytes and headers naming the reason and the
 * source record's coordinates.
 *
 * <p>A dead letter larger than the dead-letter topic accepts would fail the sink, and a failing
 * sink restarts the job, which reads the same record again: a restart loop. So a dead letter that
 * does not fit in {@code maxRecordBytes} is truncated to fit (value first, then the key), with the
 * headers {@code dlq.truncated=true} and the original sizes. Truncations are counted by {@code
 * DeadLetterCounter}, which asks {@link #needsTruncation}.
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
    public static final String TRUNCATED_HEADER = "dlq.truncated";
    public static final String ORIGINAL_SIZE_HEADER = "dlq.original.size";
    public static final String ORIGINAL_KEY_SIZE_HEADER = "dlq.original.key.size";

    /**
     * Kafka's framing around one record's key, value and headers: the record batch header (61
     * bytes) plus the record's own varints and attributes (under 40), with margin.
     */
    static final int RECORD_OVERHEAD_BYTES = 256;

    /** Longest {@code dlq.detail}, so the headers stay small whatever the parser says. */
    static final int MAX_DETAIL_CHARS = 512;

    private final String topic;
    private final int maxRecordBytes;

    /**
     * @param maxRecordBytes the largest record the topic (its {@code max.message.bytes}) and the
     *     producer (its {@code max.request.size}) accept
     */
    public DeadLetterSerializationSchema(String topic, int maxRecordBytes) {
        this.topic = topic;
        this.maxRecordBytes = maxRecordBytes;
    }

    /** Whether the dead letter, as this schema writes it, exceeds {@code maxRecordBytes}. */
    public static boolean needsTruncation(DeadLetter deadLetter, int maxRecordBytes) {
        return RECORD_OVERHEAD_BYTES
                        + size(headers(deadLetter))
                        + length(deadLetter.key)
                        + length(deadLetter.value)
                > maxRecordBytes;
    }

    @Override
    public ProducerRecord<byte[], byte[]> serialize(
            DeadLetter deadLetter, KafkaSinkContext context, Long timestamp) {
        RecordHeaders headers = headers(deadLetter);
        byte[] key = deadLetter.key;
        byte[] value = deadLetter.value;
        int keySize = length(key);
        int valueSize = length(value);
        if (needsTruncation(deadLetter, maxRecordBytes)) {
            headers.add(TRUNCATED_HEADER, utf8("true"));
            headers.add(ORIGINAL_SIZE_HEADER, utf8(Integer.toString(valueSize)));
            headers.add(ORIGINAL_KEY_SIZE_HEADER, utf8(Integer.toString(keySize)));
            int room = Math.max(0, maxRecordBytes - RECORD_OVERHEAD_BYTES - size(headers));
            // The value first: the key is usually small and keeps the record's identity. A huge
            // key (hostile as well) gets what the value leaves, but at least half the room.
            int keyRoom = Math.min(keySize, Math.max(room / 2, room - valueSize));
            int valueRoom = Math.min(valueSize, room - keyRoom);
            key = cut(key, keyRoom);
            value = cut(value, valueRoom);
        }
        // Keep the source record's timestamp so the dead letter sorts where the original did.
        Long recordTimestamp = deadLetter.sourceTimestamp >= 0 ? deadLetter.sourceTimestamp : null;
        return new ProducerRecord<>(topic, null, recordTimestamp, key, value, headers);
    }

    private static RecordHeaders headers(DeadLetter deadLetter) {
        RecordHeaders headers = new RecordHeaders();
        headers.add(REASON_HEADER, utf8(deadLetter.reason));
        headers.add(DETAIL_HEADER, utf8(abbreviate(deadLetter.detail)));
        headers.add(SOURCE_TOPIC_HEADER, utf8(deadLetter.sourceTopic));
        headers.add(SOURCE_PARTITION_HEADER, utf8(Integer.toString(deadLetter.sourcePartition)));
        headers.add(SOURCE_OFFSET_HEADER, utf8(Long.toString(deadLetter.sourceOffset)));
        headers.add(SOURCE_TIMESTAMP_HEADER, utf8(Long.toString(deadLetter.sourceTimestamp)));
        return headers;
    }

    private static int size(RecordHeaders headers) {
        int size = 0;
        for (Header header : headers) {
            // Each header: a key and a value, each with a length varint (at most 5 bytes).
            size += 10 + utf8(header.key()).length + length(header.value());
        }
        return size;
    }

    private static byte[] cut(byte[] bytes, int length) {
        return bytes == null || bytes.length <= length ? bytes : Arrays.copyOf(bytes, length);
    }

    private static int length(byte[] bytes) {
        return bytes == null ? 0 : bytes.length;
    }

    private static String abbreviate(String text) {
        return text == null || text.length() <= MAX_DETAIL_CHARS
                ? text
                : text.substring(0, MAX_DETAIL_CHARS) + "...";
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
