package dev.telemetry.aggregator.job.functions;

import dev.telemetry.aggregator.job.codec.DeadLetterSerializationSchema;
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
 * without a trace: metric {@code deadLetteredRecords} in a {@code reason} group; and those the
 * dead-letter sink will write truncated, as too large for the topic: {@code truncatedDeadLetters}.
 */
public class DeadLetterCounter extends RichMapFunction<DeadLetter, DeadLetter> {
    private static final long serialVersionUID = 1L;

    public static final String METRIC_NAME = "deadLetteredRecords";
    public static final String TRUNCATED_METRIC_NAME = "truncatedDeadLetters";

    private final int maxRecordBytes;
    private transient MetricGroup metricGroup;
    private transient Map<String, Counter> countersByReason;
    private transient Counter truncated;

    /**
     * @param maxRecordBytes the dead-letter sink's record limit
     */
    public DeadLetterCounter(int maxRecordBytes) {
        this.maxRecordBytes = maxRecordBytes;
    }

    @Override
    public void open(OpenContext openContext) {
        metricGroup = getRuntimeContext().getMetricGroup();
        truncated = metricGroup.counter(TRUNCATED_METRIC_NAME);
        countersByReason = new HashMap<>();
        // Register every known reason up front so dashboards see zeros, not missing series.
        for (RejectReason reason : RejectReason.values()) {
            counterFor(reason.code());
        }
    }

    @Override
    public DeadLetter map(DeadLetter deadLetter) {
        counterFor(deadLetter.reason).inc();
        if (DeadLetterSerializationSchema.needsTruncation(deadLetter, maxRecordBytes)) {
            truncated.inc();
        }
        return deadLetter;
    }

    private Counter counterFor(String reason) {
        return countersByReason.computeIfAbsent(
                reason, code -> metricGroup.addGroup("reason", code).counter(METRIC_NAME));
    }
}
