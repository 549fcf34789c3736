package dev.telemetry.aggregator.job.functions;

import static org.assertj.core.api.Assertions.assertThat;

import dev.telemetry.aggregator.job.TelemetryAggregationJob;
import dev.telemetry.aggregator.job.records.PartialAggregate;
import dev.telemetry.aggregator.job.records.TelemetryAggregate;
import dev.telemetry.aggregator.job.records.TelemetryEvent;
import java.time.Duration;
import java.util.stream.Stream;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.runtime.state.StateBackend;
import org.apache.flink.runtime.state.hashmap.HashMapStateBackend;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The job's only keyed state is the window operator's: one accumulator and one timer per (device,
 * metric, window). Tumbling windows purge both when they fire (or, with allowed lateness, when the
 * lateness has passed), so state does not grow over days even as devices come and go. Checked on
 * the real window operator with both state backends the service offers, fed one partial per event
 * (the combiner in front only sends fewer).
 */
class WindowStateCleanupTest {
    private static final long T0 = 1763683200000L;
    private static final long MINUTE = 60_000;
    private static final int WINDOWS = 10;
    private static final int KEYS_PER_WINDOW = 2_000;

    static Stream<Arguments> backendsAndLateness() {
        return Stream.of(
                Arguments.of("hashmap", Duration.ZERO),
                Arguments.of("hashmap", Duration.ofSeconds(30)),
                Arguments.of("rocksdb", Duration.ZERO),
                Arguments.of("rocksdb", Duration.ofSeconds(30)));
    }

    @ParameterizedTest(name = "{0}, allowed lateness {1}")
    @MethodSource("backendsAndLateness")
    void keyedStateAndTimersReturnToZeroOnceTheWatermarkPassesEveryWindow(
            String backend, Duration allowedLateness) throws Exception {
        try (KeyedOneInputStreamOperatorTestHarness<
                        Tuple2<String, String>, PartialAggregate, TelemetryAggregate>
                harness =
                        CombinedWindowHarness.windowOnly(Duration.ofMinutes(1), allowedLateness)) {
            harness.setStateBackend(stateBackend(backend));
            harness.open();
            long lateness = allowedLateness.toMillis();

            for (int window = 0; window < WINDOWS; window++) {
                long start = T0 + window * MINUTE;
                // Devices come and go: every window has its own set of devices.
                for (int key = 0; key < KEYS_PER_WINDOW; key++) {
                    String device = "device-" + window + "-" + key;
                    process(harness, new TelemetryEvent(device, "temperature", key, start + key));
                    process(harness, new TelemetryEvent(device, "humidity", key, start + 2 * key));
                }
                // Per (device, metric): the window's end, and its cleanup after the lateness.
                assertThat(harness.numEventTimeTimers())
                        .isEqualTo((lateness == 0 ? 1 : 2) * 2 * KEYS_PER_WINDOW);

                harness.processWatermark(start + MINUTE - 1);
                if (lateness > 0) {
                    assertThat(keyedStateEntries(harness))
                            .as("kept for late events within the allowed lateness")
                            .isEqualTo(2L * KEYS_PER_WINDOW);
                    harness.processWatermark(start + MINUTE - 1 + lateness);
                }
                assertThat(keyedStateEntries(harness))
                        .as("state after window %d closed", window)
                        .isZero();
                assertThat(harness.numEventTimeTimers()).isZero();
            }
            assertThat(harness.extractOutputValues()).hasSize(WINDOWS * 2 * KEYS_PER_WINDOW);

            // Late input goes to the side output and leaves no state behind.
            process(harness, new TelemetryEvent("device-0-0", "temperature", 1.0, T0));
            assertThat(harness.getSideOutput(TelemetryAggregationJob.LATE_PARTIALS)).hasSize(1);
            assertThat(keyedStateEntries(harness)).isZero();
            assertThat(harness.numEventTimeTimers()).isZero();
        }
    }

    /**
     * (key, window) entries of the window operator's state, its only keyed state. Counted through
     * the backend, the same way for both (the harness's own count knows only heap state, and
     * RocksDB's total also counts timers whose deletion is still in a write batch).
     */
    private static long keyedStateEntries(
            KeyedOneInputStreamOperatorTestHarness<
                            Tuple2<String, String>, PartialAggregate, TelemetryAggregate>
                    harness) {
        try (Stream<?> entries =
                harness.getOperator()
                        .getKeyedStateBackend()
                        .getKeysAndNamespaces("window-contents")) {
            return entries.count();
        }
    }

    private static StateBackend stateBackend(String name) {
        return name.equals("rocksdb")
                ? new EmbeddedRocksDBStateBackend()
                : new HashMapStateBackend();
    }

    private static void process(
            KeyedOneInputStreamOperatorTestHarness<
                            Tuple2<String, String>, PartialAggregate, TelemetryAggregate>
                    harness,
            TelemetryEvent event)
            throws Exception {
        // Each event as a partial of its own: the most the window operator can be sent.
        PartialAggregate partial =
                new PartialAggregate(
                        event.deviceId,
                        event.metric,
                        TimeWindow.getWindowStartWithOffset(event.timestamp, 0, MINUTE));
        partial.add(event.value);
        harness.processElement(partial, event.timestamp);
    }
}
