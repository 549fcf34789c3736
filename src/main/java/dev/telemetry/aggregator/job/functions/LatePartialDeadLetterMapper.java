package dev.telemetry.aggregator.job.functions;

import dev.telemetry.aggregator.job.codec.JsonBytes;
import dev.telemetry.aggregator.job.records.DeadLetter;
import dev.telemetry.aggregator.job.records.PartialAggregate;
import dev.telemetry.aggregator.job.records.RejectReason;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.apache.flink.api.common.functions.MapFunction;

/**
 * Turns a partial aggregate that reached its window after the window closed into a dead letter with
 * reason {@code late}, so its events are not dropped without a trace.
 *
 * <p>This should not happen: {@link WindowPartialCombiner} emits a window's partials before the
 * watermark that closes it, and late events leave through its own side output. It is here so that a
 * broken assumption shows up as dead letters instead of silently missing counts. A partial has no
 * single source record, so the value describes the partial and the source headers are empty.
 */
public class LatePartialDeadLetterMapper implements MapFunction<PartialAggregate, DeadLetter> {
    private static final long serialVersionUID = 1L;

    private final long windowSize;

    public LatePartialDeadLetterMapper(Duration windowSize) {
        this.windowSize = windowSize.toMillis();
    }

    @Override
    public DeadLetter map(PartialAggregate partial) {
        return new DeadLetter(
                partial.deviceId.getBytes(StandardCharsets.UTF_8),
                toJson(partial),
                RejectReason.LATE,
                "a partial aggregate of "
                        + partial.count
                        + " events reached window "
                        + partial.windowStart
                        + " after the watermark had closed it",
                null,
                -1,
                -1,
                partial.windowStart);
    }

    private byte[] toJson(PartialAggregate partial) {
        return JsonBytes.write(
                json -> {
                    json.writeStartObject();
                    json.writeStringField("deviceId", partial.deviceId);
                    json.writeStringField("metric", partial.metric);
                    json.writeNumberField("windowStart", partial.windowStart);
                    json.writeNumberField("windowEnd", partial.windowStart + windowSize);
                    json.writeNumberField("count", partial.count);
                    json.writeNumberField("sum", partial.sum);
                    json.writeNumberField("min", partial.min);
                    json.writeNumberField("max", partial.max);
                    json.writeEndObject();
                });
    }
}
