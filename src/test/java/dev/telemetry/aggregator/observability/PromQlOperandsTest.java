package dev.telemetry.aggregator.observability;

import static org.assertj.core.api.Assertions.assertThat;

import dev.telemetry.aggregator.testing.PromQlOperands;
import org.junit.jupiter.api.Test;

/** How alert conditions are split into the measurements the Prometheus test evaluates. */
class PromQlOperandsTest {
    @Test
    void dropsANumberThreshold() {
        assertThat(PromQlOperands.measurements("telemetry_checkpoint_lag_seconds > 60"))
                .containsExactly("telemetry_checkpoint_lag_seconds");
    }

    @Test
    void keepsBothSidesWhenTheThresholdIsAnotherMetric() {
        assertThat(
                        PromQlOperands.measurements(
                                "headroom_seconds < on (job) group_left 0.25 * timeout_seconds"))
                .containsExactly("headroom_seconds", "0.25 * timeout_seconds");
    }

    @Test
    void splitsSetOperatorsAndLooksInsideAbsent() {
        assertThat(PromQlOperands.measurements("up{job=\"a\"} == 0 or absent(up{job=\"a\"})"))
                .containsExactly("up{job=\"a\"}", "up{job=\"a\"}");
        assertThat(PromQlOperands.measurements("deriv(lag[10m]) > 0\nand lag > 1e5"))
                .containsExactly("deriv(lag[10m])", "lag");
    }

    @Test
    void leavesWhatIsInsideLabelMatchersFunctionsAndStringsAlone() {
        String expr = "sum by (operator) (rate(x_total{operator=~\"a>b|c or d\"}[5m])) >= bool 1";
        assertThat(PromQlOperands.measurements(expr))
                .containsExactly("sum by (operator) (rate(x_total{operator=~\"a>b|c or d\"}[5m]))");
        assertThat(PromQlOperands.measurements("(increase(failed[5m]) > 0)"))
                .containsExactly("increase(failed[5m])");
        assertThat(PromQlOperands.measurements("telemetry_job_running"))
                .containsExactly("telemetry_job_running");
    }
}
