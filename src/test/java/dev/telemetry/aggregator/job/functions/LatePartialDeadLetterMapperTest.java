package dev.telemetry.aggregator.job.functions;

import static org.assertj.core.api.Assertions.assertThat;

import dev.telemetry.aggregator.job.records.DeadLetter;
import dev.telemetry.aggregator.job.records.PartialAggregate;
import dev.telemetry.aggregator.job.records.TelemetryEvent;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** What reached a closed window becomes a dead letter with reason {@code late}. */
class LatePartialDeadLetterMapperTest {

    @Test
    void lateCombinedPartialBecomesADeadLetterNamingTheDeviceMetricWindowAndStatistics() {
        PartialAggregate partial = new PartialAggregate("sensor-17", "temperature", 60_000);
        partial.add(21.5);
        partial.add(-0.25);

        DeadLetter deadLetter = new LatePartialDeadLetterMapper(Duration.ofMinutes(1)).map(partial);

        assertThat(deadLetter.reason).isEqualTo("late");
        assertThat(new String(deadLetter.key, StandardCharsets.UTF_8)).isEqualTo("sensor-17");
        assertThat(new String(deadLetter.value, StandardCharsets.UTF_8))
                .isEqualTo(
                        "{\"deviceId\":\"sensor-17\",\"metric\":\"temperature\","
                                + "\"windowStart\":60000,\"windowEnd\":120000,"
                                + "\"count\":2,\"sum\":21.25,\"min\":-0.25,\"max\":21.5}");
        assertThat(deadLetter.detail).contains("2 events");
    }

    @Test
    void lateEventCarriedByAPartialBecomesTheEventsOwnDeadLetter() {
        TelemetryEvent event =
                new TelemetryEvent("sensor-17", "temperature", 21.5, 1_000)
                        .withSource("telemetry", 3, 42);
        PartialAggregate carrier = new PartialAggregate("sensor-17", "temperature", 0);
        carrier.add(21.5);
        carrier.event = event;

        DeadLetter deadLetter = new LatePartialDeadLetterMapper(Duration.ofMinutes(1)).map(carrier);
        DeadLetter withoutCombining = new LateEventDeadLetterMapper().map(event);

        assertThat(deadLetter).usingRecursiveComparison().isEqualTo(withoutCombining);
        assertThat(deadLetter.reason).isEqualTo("late");
        assertThat(deadLetter.sourceTopic).isEqualTo("telemetry");
        assertThat(deadLetter.sourcePartition).isEqualTo(3);
        assertThat(deadLetter.sourceOffset).isEqualTo(42);
    }

    @Test
    void aLateEventsDeadLetterKeepsItsTags() {
        TelemetryEvent event = new TelemetryEvent("sensor-17", "latency", 12.5, 1_000);
        event.tags = new String[] {"region", "eu-1", "service", "checkout"};

        DeadLetter deadLetter = new LateEventDeadLetterMapper().map(event);

        assertThat(new String(deadLetter.value, StandardCharsets.UTF_8))
                .isEqualTo(
                        "{\"deviceId\":\"sensor-17\",\"metric\":\"latency\",\"value\":12.5,"
                                + "\"timestamp\":1000,"
                                + "\"tags\":{\"region\":\"eu-1\",\"service\":\"checkout\"}}");
    }
}
