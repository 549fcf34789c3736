package dev.telemetry.aggregator.job.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import dev.telemetry.aggregator.job.config.EventTimeBounds;
import dev.telemetry.aggregator.job.config.EventTimeSource;
import dev.telemetry.aggregator.job.records.DeadLetter;
import dev.telemetry.aggregator.job.records.IngestedRecord;
import dev.telemetry.aggregator.job.records.RejectReason;
import dev.telemetry.aggregator.job.records.TelemetryEvent;
import dev.telemetry.aggregator.testing.ListCollector;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Covers how each consumed Kafka record becomes exactly one event or one dead letter that keeps the
 * original bytes and source coordinates.
 */
class TelemetryDeserializationSchemaTest {
    private static final String TOPIC = "telemetry";
    private static final int PARTITION = 3;
    private static final long OFFSET = 4711;
    private static final long RECORD_TIMESTAMP = 1_763_683_205_000L;

    private final TelemetryDeserializationSchema schema =
            new TelemetryDeserializationSchema(EventTimeSource.PAYLOAD, EventTimeBounds.DEFAULT);
    private final ListCollector<IngestedRecord> out = new ListCollector<>();

    @Test
    void goodRecordYieldsAnEventWithItsSourceCoordinates() {
        schema.deserialize(
                record(
                        utf8("sensor-17"),
                        utf8(
                                "{\"deviceId\":\"sensor-17\",\"metric\":\"temperature\","
                                        + "\"value\":21.5,\"timestamp\":1763683200000}")),
                out);

        assertThat(out.collected()).hasSize(1);
        IngestedRecord ingested = out.collected().get(0);
        assertThat(ingested.deadLetter).isNull();
        TelemetryEvent event = ingested.event;
        assertThat(event.deviceId).isEqualTo("sensor-17");
        assertThat(event.metric).isEqualTo("temperature");
        assertThat(event.value).isEqualTo(21.5);
        assertThat(event.timestamp).isEqualTo(1763683200000L);
        assertThat(event.sourceTopic).isEqualTo(TOPIC);
        assertThat(event.sourcePartition).isEqualTo(PARTITION);
        assertThat(event.sourceOffset).isEqualTo(OFFSET);
        // The watermark follows the payload's event time, not the Kafka record timestamp.
        assertThat(ingested.eventTimestamp()).isEqualTo(1763683200000L);
    }

    @Test
    void kafkaEventTimeTakesTheRecordTimestamp() {
        new TelemetryDeserializationSchema(EventTimeSource.KAFKA, EventTimeBounds.DEFAULT)
                .deserialize(
                        record(null, utf8("{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1}")),
                        out);

        assertThat(out.collected())
                .singleElement()
                .satisfies(
                        ingested ->
                                assertThat(ingested.event.timestamp).isEqualTo(RECORD_TIMESTAMP));
    }

    @Test
    void badRecordYieldsADeadLetterWithTheOriginalBytesAndCoordinates() {
        byte[] key = {0, 1, 2, (byte) 0xFE};
        byte[] value =
                utf8("{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":\"high\",\"timestamp\":1}");

        schema.deserialize(record(key, value), out);

        assertThat(out.collected()).hasSize(1);
        IngestedRecord ingested = out.collected().get(0);
        assertThat(ingested.event).isNull();
        DeadLetter deadLetter = ingested.deadLetter;
        assertThat(deadLetter.key).containsExactly(key);
        assertThat(deadLetter.value).containsExactly(value);
        assertThat(deadLetter.reason).isEqualTo(RejectReason.INVALID_FIELD.code());
        assertThat(deadLetter.detail).contains("value");
        assertThat(deadLetter.sourceTopic).isEqualTo(TOPIC);
        assertThat(deadLetter.sourcePartition).isEqualTo(PARTITION);
        assertThat(deadLetter.sourceOffset).isEqualTo(OFFSET);
        assertThat(deadLetter.sourceTimestamp).isEqualTo(RECORD_TIMESTAMP);
        // A rejected record must never move the watermark.
        assertThat(ingested.eventTimestamp()).isEqualTo(Long.MIN_VALUE);
    }

    @Test
    void tombstoneYieldsANullValueDeadLetterKeepingItsKey() {
        schema.deserialize(record(utf8("sensor-17"), null), out);

        DeadLetter deadLetter = out.collected().get(0).deadLetter;
        assertThat(deadLetter.reason).isEqualTo("null-value");
        assertThat(deadLetter.key).containsExactly(utf8("sensor-17"));
        assertThat(deadLetter.value).isNull();
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "",
                "not json",
                "{\"deviceId\":",
                "[1,2,3]",
                "{\"deviceId\":\"d\",\"metric\":\"m\",\"value\":1e400,\"timestamp\":1}",
                "{\"deviceId\":\"d\",\"deviceId\":\"e\"}",
                "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
            })
    void neverThrowsForBadInputAndEmitsExactlyOneDeadLetter(String value) {
        // A throwing deserializer would fail the source and put the job into a restart loop.
        assertThatCode(() -> schema.deserialize(record(null, utf8(value)), out))
                .doesNotThrowAnyException();

        assertThat(out.collected())
                .singleElement()
                .satisfies(
                        ingested -> {
                            assertThat(ingested.event).isNull();
                            assertThat(ingested.deadLetter.value).containsExactly(utf8(value));
                        });
    }

    @Test
    void producedTypeIsTheIngestedRecord() {
        assertThat(schema.getProducedType().getTypeClass()).isEqualTo(IngestedRecord.class);
    }

    private static ConsumerRecord<byte[], byte[]> record(byte[] key, byte[] value) {
        return new ConsumerRecord<>(
                TOPIC,
                PARTITION,
                OFFSET,
                RECORD_TIMESTAMP,
                TimestampType.CREATE_TIME,
                key == null ? -1 : key.length,
                value == null ? -1 : value.length,
                key,
                value,
                new RecordHeaders(),
                Optional.empty());
    }

    private static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
