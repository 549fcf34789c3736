package dev.telemetry.aggregator.job.codec;

import static org.assertj.core.api.Assertions.assertThat;

import dev.telemetry.aggregator.job.records.DeadLetter;
import dev.telemetry.aggregator.job.records.RejectReason;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.junit.jupiter.api.Test;

/** Covers the dead-letter record: original bytes unchanged, reason and source in headers. */
class DeadLetterSerializationSchemaTest {
    private final DeadLetterSerializationSchema schema =
            new DeadLetterSerializationSchema("telemetry-dlq", 1_048_576);

    @Test
    void keepsTheOriginalKeyAndValueBytesUnchanged() {
        // Deliberately not valid UTF-8: the dead-letter topic must not re-encode anything.
        byte[] key = {(byte) 0xFF, 0, 'k'};
        byte[] value = {'{', (byte) 0xC3, (byte) 0x28, 0};

        ProducerRecord<byte[], byte[]> record =
                schema.serialize(deadLetter(key, value, 1763683200000L), null, null);

        assertThat(record.topic()).isEqualTo("telemetry-dlq");
        assertThat(record.key()).containsExactly(key);
        assertThat(record.value()).containsExactly(value);
    }

    @Test
    void headersNameTheReasonAndTheSourceRecord() {
        ProducerRecord<byte[], byte[]> record =
                schema.serialize(
                        deadLetter(new byte[] {1}, new byte[] {2}, 1763683200000L), null, null);

        Map<String, String> headers = new LinkedHashMap<>();
        for (Header header : record.headers()) {
            headers.put(
                    header.key(),
                    header.value() == null
                            ? null
                            : new String(header.value(), StandardCharsets.UTF_8));
        }
        assertThat(headers)
                .containsExactly(
                        Map.entry("dlq.reason", "invalid-json"),
                        Map.entry("dlq.detail", "unexpected content after the JSON object"),
                        Map.entry("dlq.source.topic", "telemetry"),
                        Map.entry("dlq.source.partition", "2"),
                        Map.entry("dlq.source.offset", "12345"),
                        Map.entry("dlq.source.timestamp", "1763683200000"));
    }

    @Test
    void keepsTheSourceRecordTimestamp() {
        ProducerRecord<byte[], byte[]> record =
                schema.serialize(deadLetter(null, null, 1763683200000L), null, 99L);

        assertThat(record.timestamp()).isEqualTo(1763683200000L);
    }

    @Test
    void leavesTheTimestampToKafkaWhenTheSourceHadNone() {
        // Kafka rejects a negative record timestamp; null lets the producer assign one.
        ProducerRecord<byte[], byte[]> record =
                schema.serialize(deadLetter(null, null, -1L), null, 99L);

        assertThat(record.timestamp()).isNull();
    }

    @Test
    void tombstoneDeadLetterKeepsANullValueAndItsKey() {
        ProducerRecord<byte[], byte[]> record =
                schema.serialize(deadLetter(new byte[] {'k'}, null, 1L), null, null);

        assertThat(record.key()).containsExactly('k');
        assertThat(record.value()).isNull();
    }

    @Test
    void aDeadLetterLargerThanTheLimitIsTruncatedToFitWithItsOriginalSizes() {
        int limit = 16 * 1024;
        DeadLetterSerializationSchema small = new DeadLetterSerializationSchema("dlq", limit);
        byte[] value = new byte[900_000];
        java.util.Arrays.fill(value, (byte) 'v');

        ProducerRecord<byte[], byte[]> record =
                small.serialize(deadLetter(utf8("sensor-1"), value, 1L), null, null);

        assertThat(headers(record))
                .containsEntry("dlq.truncated", "true")
                .containsEntry("dlq.original.size", "900000")
                .containsEntry("dlq.original.key.size", "8")
                .containsEntry("dlq.reason", "invalid-json");
        assertThat(record.key()).containsExactly(utf8("sensor-1"));
        assertThat(record.value()).hasSizeGreaterThan(limit / 2);
        assertThat(
                        java.util.Arrays.equals(
                                record.value(),
                                0,
                                record.value().length,
                                value,
                                0,
                                record.value().length))
                .as("the value is a prefix of the original")
                .isTrue();
        assertThat(upperBoundOnTheWire(record)).isLessThanOrEqualTo(limit);
    }

    @Test
    void aHugeKeyIsTruncatedToo() {
        int limit = 16 * 1024;
        DeadLetterSerializationSchema small = new DeadLetterSerializationSchema("dlq", limit);

        ProducerRecord<byte[], byte[]> record =
                small.serialize(deadLetter(new byte[500_000], new byte[10], 1L), null, null);

        assertThat(headers(record)).containsEntry("dlq.original.key.size", "500000");
        assertThat(record.value()).hasSize(10);
        assertThat(upperBoundOnTheWire(record)).isLessThanOrEqualTo(limit);
    }

    @Test
    void aDeadLetterThatFitsIsNotMarked() {
        ProducerRecord<byte[], byte[]> record =
                new DeadLetterSerializationSchema("dlq", 16 * 1024)
                        .serialize(deadLetter(null, new byte[10_000], 1L), null, null);

        assertThat(headers(record)).doesNotContainKey("dlq.truncated");
        assertThat(record.value()).hasSize(10_000);
    }

    /** Kafka's own upper bound for one record in its own batch, as the producer checks it. */
    private static int upperBoundOnTheWire(ProducerRecord<byte[], byte[]> record) {
        return org.apache.kafka.common.record.AbstractRecords.estimateSizeInBytesUpperBound(
                org.apache.kafka.common.record.RecordBatch.CURRENT_MAGIC_VALUE,
                org.apache.kafka.common.record.CompressionType.NONE,
                record.key(),
                record.value(),
                record.headers().toArray());
    }

    private static Map<String, String> headers(ProducerRecord<byte[], byte[]> record) {
        Map<String, String> headers = new LinkedHashMap<>();
        for (Header header : record.headers()) {
            headers.put(
                    header.key(),
                    header.value() == null
                            ? null
                            : new String(header.value(), StandardCharsets.UTF_8));
        }
        return headers;
    }

    private static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void declaresItsTargetTopicForTransactionCleanUp() {
        // The POOLING transaction naming strategy finds leftover transactions via this topic.
        assertThat(schema.getKafkaDatasetFacet())
                .hasValueSatisfying(
                        facet ->
                                assertThat(facet.getTopicIdentifier().getTopics())
                                        .containsExactly("telemetry-dlq"));
    }

    private static DeadLetter deadLetter(byte[] key, byte[] value, long sourceTimestamp) {
        return new DeadLetter(
                key,
                value,
                RejectReason.INVALID_JSON,
                "unexpected content after the JSON object",
                "telemetry",
                2,
                12345L,
                sourceTimestamp);
    }
}
