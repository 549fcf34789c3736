package dev.telemetry.aggregator.job.functions;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.apache.flink.api.java.tuple.Tuple3;
import org.junit.jupiter.api.Test;

/** Which stored watermark a restored window subtask resumes from. */
class WatermarkKeepingWindowOperatorTest {

    @Test
    void sameParallelismTakesBackItsOwnWatermark() {
        List<Tuple3<Integer, Integer, Long>> stored =
                List.of(Tuple3.of(0, 2, 1_000L), Tuple3.of(1, 2, 900L));

        assertThat(WatermarkKeepingWindowOperator.restoredWatermark(stored, 0, 2))
                .isEqualTo(1_000L);
        assertThat(WatermarkKeepingWindowOperator.restoredWatermark(stored, 1, 2)).isEqualTo(900L);
    }

    @Test
    void rescaledSubtasksTakeTheMinimumOverTheOldOnes() {
        List<Tuple3<Integer, Integer, Long>> stored =
                List.of(Tuple3.of(0, 2, 1_000L), Tuple3.of(1, 2, 900L));

        assertThat(WatermarkKeepingWindowOperator.restoredWatermark(stored, 0, 1)).isEqualTo(900L);
        assertThat(WatermarkKeepingWindowOperator.restoredWatermark(stored, 2, 3)).isEqualTo(900L);
    }

    @Test
    void nothingStoredMeansNoWatermark() {
        assertThat(WatermarkKeepingWindowOperator.restoredWatermark(List.of(), 0, 1))
                .isEqualTo(Long.MIN_VALUE);
    }
}
