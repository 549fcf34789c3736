package dev.telemetry.aggregator.job.functions;

import static org.assertj.core.api.Assertions.assertThat;

import dev.telemetry.aggregator.job.records.DeadLetter;
import dev.telemetry.aggregator.job.records.PartialAggregate;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** A partial that reached a closed window becomes a dead letter describing it. */
class LatePartialDeadLetterMapperTest {

    @Test
    void deadLetterIsLateAndNamesTheDeviceMetricWindowAndStatistics() {
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
}
