package dev.telemetry.aggregator.job.functions;

import dev.telemetry.aggregator.job.codec.JsonBytes;
import dev.telemetry.aggregator.job.records.DeadLetter;
import dev.telemetry.aggregator.job.records.PartialAggregate;
import dev.telemetry.aggregator.job.records.RejectReason;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.apache.flink.api.common.functions.MapFunction;

/**
 * Turns what reached its window after the window closed (plus allowed lateness) into a dead letter
 * with reason {@code late}.
 *
 * <p>Late events reach the window as one-event partials that carry the event ({@link
 * PartialAggregate#event}); their dead letter is the event's, exactly as {@link
 * LateEventDeadLetterMapper} makes it. A combined partial is never late ({@link
 * WindowPartialCombiner} emits it before the watermark that closes its window); should one be, the
 * dead letter describes the partial, so a broken assumption shows up instead of silently missing
 * counts. A partial has no single source record, so its source headers are empty.
 */
public class LatePartialDeadLetterMapper implements MapFunction<PartialAggregate, DeadLetter> {
    private static final long serialVersionUID = 1L;

    private final LateEventDeadLetterMapper lateEvents = new LateEventDeadLetterMapper();
    private final long windowSize;

    public LatePartialDeadLetterMapper(Duration windowSize) {
        this.windowSize = windowSize.toMillis();
    }

    @Override
    public DeadLetter map(PartialAggregate partial) {
        if (partial.event != null) {
            return lateEvents.map(partial.event);
        }
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
