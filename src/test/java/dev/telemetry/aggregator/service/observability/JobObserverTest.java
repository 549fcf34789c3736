package dev.telemetry.aggregator.service.observability;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.apache.flink.api.common.JobStatus;
import org.junit.jupiter.api.Test;

/**
 * How long one reading of the job answers the probes and metrics: a second once every task runs, a
 * tenth of one before, so readiness follows a start (or a restart) as soon as its last task runs.
 */
class JobObserverTest {
    private static final Instant TAKEN = Instant.parse("2026-12-07T09:00:00Z");

    @Test
    void aReadingOfAStartingJobIsReadAgainWithinATenthOfASecond() {
        JobObserver.Observation starting = reading(4, 6);

        assertThat(JobObserver.stillCurrent(starting, TAKEN.plusMillis(50))).isTrue();
        assertThat(JobObserver.stillCurrent(starting, TAKEN.plusMillis(150))).isFalse();
    }

    @Test
    void aReadingOfARunningJobAnswersForASecond() {
        JobObserver.Observation running = reading(6, 6);

        assertThat(JobObserver.stillCurrent(running, TAKEN.plusMillis(900))).isTrue();
        assertThat(JobObserver.stillCurrent(running, TAKEN.plus(Duration.ofSeconds(1)))).isFalse();
    }

    @Test
    void aReadingOfAJobWithoutTasksYetIsReadAgainSoon() {
        assertThat(JobObserver.stillCurrent(reading(0, 0), TAKEN.plusMillis(150))).isFalse();
    }

    private static JobObserver.Observation reading(int tasksRunning, int tasks) {
        return new JobObserver.Observation(
                TAKEN,
                JobStatus.RUNNING,
                Optional.empty(),
                Optional.empty(),
                Optional.empty(),
                TAKEN.minusSeconds(2),
                Optional.empty(),
                tasksRunning,
                tasks);
    }
}
