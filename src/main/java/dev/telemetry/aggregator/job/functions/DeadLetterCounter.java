package dev.telemetry.aggregator.job.functions;

import dev.telemetry.aggregator.job.records.DeadLetter;
import dev.telemetry.aggregator.job.records.RejectReason;
import java.util.HashMap;
import java.util.Map;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;

/**
 * Counts every dead letter by reason on its way to the dead-letter topic, so nothing is dropped
 * without a trace: metric {@code deadLetteredRecords} in a {@code reason} group.
 */
public class DeadLetterCounter extends RichMapFunction<DeadLetter, DeadLetter> {
    private static final long serialVersionUID = 1L;

    public static final String METRIC_NAME = "deadLetteredRecords";

    private transient MetricGroup metricGroup;
    private transient Map<String, Counter> countersByReason;

    @Override
    public void open(OpenContext openContext) {
        metricGroup = getRuntimeContext().getMetricGroup();
        countersByReason = new HashMap<>();
        // Register every known reason up front so dashboards see zeros, not missing series.
        for (RejectReason reason : RejectReason.values()) {
            counterFor(reason.code());
        }
    }

    @Override
    public DeadLetter map(DeadLetter deadLetter) {
        counterFor(deadLetter.reason).inc();
        return deadLetter;
    }

    private Counter counterFor(String reason) {
        return countersByReason.computeIfAbsent(
                reason, code -> metricGroup.addGroup("reason", code).counter(METRIC_NAME));
    }
}
