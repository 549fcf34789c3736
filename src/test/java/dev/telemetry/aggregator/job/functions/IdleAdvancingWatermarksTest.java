package dev.telemetry.aggregator.job.functions;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.common.eventtime.WatermarkOutput;
import org.apache.flink.util.clock.ManualClock;
import org.junit.jupiter.api.Test;

/**
 * A partition's watermark follows its events while they come, and the wall clock (minus the
 * out-of-orderness) once it has been quiet for the idle advance; it never goes back.
 */
class IdleAdvancingWatermarksTest {
    private static final long WALL = 1_763_683_200_000L;
    private static final long OUT_OF_ORDERNESS = 1_000;

    /** What the generator emitted: watermarks, and "idle". */
    private static final class Recorded implements WatermarkOutput {
        final List<Object> emitted = new ArrayList<>();

        @Override
        public void emitWatermark(Watermark watermark) {
            emitted.add(watermark.getTimestamp());
        }

        @Override
        public void markIdle() {
            emitted.add("idle");
        }

        @Override
        public void markActive() {
            emitted.add("active");
        }

        Object last() {
            return emitted.get(emitted.size() - 1);
        }
    }

    @Test
    void followsEventsThenTheWallClockAfterAQuietSpell() {
        ManualClock clock = new ManualClock(Duration.ofMillis(WALL).toNanos());
        IdleAdvancingWatermarks<String> watermarks =
                new IdleAdvancingWatermarks<>(OUT_OF_ORDERNESS, 0, 5_000, clock);
        Recorded output = new Recorded();

        // Events of ten minutes ago: the watermark follows them, not the clock.
        long old = WALL - 600_000;
        watermarks.onEvent("a", old, output);
        watermarks.onPeriodicEmit(output);
        assertThat(output.last()).isEqualTo(old - OUT_OF_ORDERNESS - 1);
        clock.advanceTime(Duration.ofMillis(4_999));
        watermarks.onPeriodicEmit(output);
        assertThat(output.last()).isEqualTo(old - OUT_OF_ORDERNESS - 1);

        // Quiet for the idle advance: the wall clock, minus the out-of-orderness.
        clock.advanceTime(Duration.ofMillis(1));
        watermarks.onPeriodicEmit(output);
        assertThat(output.last()).isEqualTo(WALL + 5_000 - OUT_OF_ORDERNESS - 1);
        clock.advanceTime(Duration.ofSeconds(10));
        watermarks.onPeriodicEmit(output);
        assertThat(output.last()).isEqualTo(WALL + 15_000 - OUT_OF_ORDERNESS - 1);

        // An old event after that does not take the watermark back (it is late downstream).
        watermarks.onEvent("b", old + 1, output);
        watermarks.onPeriodicEmit(output);
        assertThat(output.last()).isEqualTo(WALL + 15_000 - OUT_OF_ORDERNESS - 1);
        assertThat(output.emitted).doesNotContain("idle");
    }

    @Test
    void aPartitionWithoutEventsAdvancesToo() {
        ManualClock clock = new ManualClock(Duration.ofMillis(WALL).toNanos());
        IdleAdvancingWatermarks<String> watermarks =
                new IdleAdvancingWatermarks<>(OUT_OF_ORDERNESS, 0, 2_000, clock);
        Recorded output = new Recorded();
        watermarks.onPeriodicEmit(output);
        assertThat((long) output.last()).isLessThan(Long.MIN_VALUE + 10);
        clock.advanceTime(Duration.ofSeconds(2));
        watermarks.onPeriodicEmit(output);
        assertThat(output.last()).isEqualTo(WALL + 2_000 - OUT_OF_ORDERNESS - 1);
    }

    @Test
    void idleFirstWhenIdlenessIsShorterThenAdvancing() {
        ManualClock clock = new ManualClock(Duration.ofMillis(WALL).toNanos());
        IdleAdvancingWatermarks<String> watermarks =
                new IdleAdvancingWatermarks<>(OUT_OF_ORDERNESS, 3_000, 10_000, clock);
        Recorded output = new Recorded();
        long old = WALL - 600_000;
        watermarks.onEvent("a", old, output);
        clock.advanceTime(Duration.ofSeconds(3));
        watermarks.onPeriodicEmit(output);
        assertThat(output.last()).isEqualTo("idle");
        clock.advanceTime(Duration.ofSeconds(7));
        watermarks.onPeriodicEmit(output);
        assertThat(output.last()).isEqualTo(WALL + 10_000 - OUT_OF_ORDERNESS - 1);
        // An event makes it follow events again, from where it is.
        clock.advanceTime(Duration.ofSeconds(1));
        watermarks.onEvent("b", WALL + 60_000, output);
        watermarks.onPeriodicEmit(output);
        assertThat(output.last()).isEqualTo(WALL + 60_000 - OUT_OF_ORDERNESS - 1);
    }
}
