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
            new DeadLetterSerializationSchema("telemetry-dlq");

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
