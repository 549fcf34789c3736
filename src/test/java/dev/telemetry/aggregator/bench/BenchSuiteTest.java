package dev.telemetry.aggregator.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class BenchSuiteTest {
    @Test
    void capacityIsFromReadyWhenTheRunIsLongEnoughToTime() {
        BenchSuite.Run run = new BenchSuite.Run("service EOS", 4, 14, 300, 1000, true);

        assertThat(BenchSuite.capacityOf(run, 1_000_000)).isEqualTo(100_000);
    }

    /**
     * CI's smoke run once finished its 20 000 events by the time the service reported ready: the
     * rate from ready was infinite, and the latency scenario paced at it measured no event at all.
     */
    @Test
    void capacityOfARunDoneAboutWhenReadyIsFromLaunch() {
        BenchSuite.Run run = new BenchSuite.Run("service EOS", 4, 4, 300, 1000, true);

        assertThat(BenchSuite.capacityOf(run, 20_000)).isEqualTo(5_000);
    }
}
