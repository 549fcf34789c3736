package dev.telemetry.aggregator.job.functions;

import dev.telemetry.aggregator.job.records.DeadLetter;
import dev.telemetry.aggregator.job.records.IngestedRecord;
import dev.telemetry.aggregator.job.records.TelemetryEvent;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/** Sends parsed events down the main stream and rejected records to the dead-letter side output. */
public class RejectedRecordSplitter extends ProcessFunction<IngestedRecord, TelemetryEvent> {
    private static final long serialVersionUID = 1L;

    public static final OutputTag<DeadLetter> REJECTED = new OutputTag<>("rejected-records") {};

    @Override
    public void processElement(
            IngestedRecord record, Context context, Collector<TelemetryEvent> out) {
        if (record.event != null) {
            out.collect(record.event);
        } else {
            context.output(REJECTED, record.deadLetter);
        }
    }
}
