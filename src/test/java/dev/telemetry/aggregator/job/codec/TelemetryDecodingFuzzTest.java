package dev.telemetry.aggregator.job.codec;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.telemetry.aggregator.job.config.EventTimeBounds;
import dev.telemetry.aggregator.job.config.EventTimeSource;
import dev.telemetry.aggregator.job.config.TagLimits;
import dev.telemetry.aggregator.job.records.DeadLetter;
import dev.telemetry.aggregator.job.records.IngestedRecord;
import dev.telemetry.aggregator.job.records.RejectReason;
import dev.telemetry.aggregator.job.records.TelemetryEvent;
import dev.telemetry.aggregator.testing.ListCollector;
import java.util.Arrays;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;

/**
 * Coverage-guided fuzzing of the record decoding path (Jazzer): whatever bytes arrive, the Kafka
 * deserializer emits exactly one result and throws nothing; the result is either a valid event
 * (non-empty device and metric, value within +/-1e292, plausible event time) or a dead letter with
 * a parser reason code and the original bytes. And the parser's fast path changes nothing: with it,
 * the parser gives the same event or the same rejection as Jackson's path alone.
 *
 * <p>Without {@code JAZZER_FUZZ} it replays the committed seed corpus ({@code
 * TelemetryDecodingFuzzTestInputs/decode/} under {@code src/test/resources}) as a regression test.
 * The build's {@code fuzz} surefire execution sets {@code JAZZER_FUZZ=1} and fuzzes for a bounded
 * time ({@code maxDuration}), keeping the generated corpus under {@code target/jazzer}.
 */
class TelemetryDecodingFuzzTest {
    /** 2025-11-21T00:00:05Z: inside the plausible range. */
    private static final long RECORD_TIMESTAMP = 1_763_683_205_000L;

    /** What the parser may reject with; {@code late} is decided later, by the window operator. */
    private static final Set<String> PARSER_REASONS =
            Arrays.stream(RejectReason.values())
                    .filter(reason -> reason != RejectReason.LATE)
                    .map(RejectReason::code)
                    .collect(Collectors.toUnmodifiableSet());

    private static final TelemetryDeserializationSchema PAYLOAD_TIME =
            new TelemetryDeserializationSchema(EventTimeSource.PAYLOAD, EventTimeBounds.DEFAULT);
    private static final TelemetryDeserializationSchema KAFKA_TIME =
            new TelemetryDeserializationSchema(EventTimeSource.KAFKA, EventTimeBounds.DEFAULT);

    @FuzzTest(maxDuration = "30s")
    void decode(byte[] value) {
        for (TelemetryDeserializationSchema schema :
                new TelemetryDeserializationSchema[] {PAYLOAD_TIME, KAFKA_TIME}) {
            ListCollector<IngestedRecord> out = new ListCollector<>();
            schema.deserialize(record(value), out);

            assertThat(out.collected()).hasSize(1);
            IngestedRecord result = out.collected().get(0);
            assertThat(result.event == null).isNotEqualTo(result.deadLetter == null);
            if (result.event != null) {
                assertValid(result.event);
            } else {
                assertRejected(result.deadLetter, value);
            }
        }
        for (EventTimeSource source : EventTimeSource.values()) {
            FlatEventScannerTest.assertSameOutcome(value, source, RECORD_TIMESTAMP);
        }
    }

    private static void assertValid(TelemetryEvent event) {
        assertThat(event.deviceId).isNotEmpty();
        assertThat(event.metric).isNotEmpty();
        assertThat(Math.abs(event.value) <= TelemetryEventParser.MAX_ABS_VALUE)
                .as("value %s within +/-%s", event.value, TelemetryEventParser.MAX_ABS_VALUE)
                .isTrue();
        assertThat(event.deviceId).doesNotContain("\0");
        assertThat(event.metric).doesNotContain("\0");
        if (event.tags != null) {
            TagLimits limits = TagLimits.DEFAULT;
            assertThat(event.tags.length).isEven().isBetween(2, 2 * limits.maxCount());
            for (int i = 0; i < event.tags.length; i += 2) {
                assertThat(event.tags[i]).isNotEmpty().doesNotContain("\0");
                assertThat(event.tags[i].length()).isLessThanOrEqualTo(limits.maxNameLength());
                assertThat(event.tags[i + 1]).doesNotContain("\0");
                assertThat(event.tags[i + 1].length()).isLessThanOrEqualTo(limits.maxValueLength());
                if (i > 0) {
                    assertThat(event.tags[i]).as("sorted by name").isGreaterThan(event.tags[i - 2]);
                }
            }
        }
        assertThat(EventTimeBounds.DEFAULT.contains(event.timestamp, System.currentTimeMillis()))
                .as("plausible event time %s", event.timestamp)
                .isTrue();
    }

    private static void assertRejected(DeadLetter deadLetter, byte[] value) {
        assertThat(deadLetter.reason).isIn(PARSER_REASONS);
        assertThat(deadLetter.detail).isNotBlank();
        assertThat(deadLetter.value).isSameAs(value);
    }

    private static ConsumerRecord<byte[], byte[]> record(byte[] value) {
        return new ConsumerRecord<>(
                "telemetry",
                0,
                42L,
                RECORD_TIMESTAMP,
                TimestampType.CREATE_TIME,
                -1,
                value.length,
                null,
                value,
                new RecordHeaders(),
                Optional.empty());
    }
}
