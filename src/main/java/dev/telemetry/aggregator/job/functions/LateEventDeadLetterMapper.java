package dev.telemetry.aggregator.job.functions;

import dev.telemetry.aggregator.job.codec.JsonBytes;
import dev.telemetry.aggregator.job.records.DeadLetter;
import dev.telemetry.aggregator.job.records.RejectReason;
import dev.telemetry.aggregator.job.records.TelemetryEvent;
import java.nio.charset.StandardCharsets;
import org.apache.flink.api.common.functions.MapFunction;

/**
 * Turns an event that arrived after its window closed into a dead letter with reason {@code late}.
 *
 * <p>The parsed event travels through the shuffle without its original bytes (carrying them would
 * double the shuffle volume for a rare case), so the value is the event re-encoded as contract
 * JSON; the headers point at the original record in the input topic.
 */
public class LateEventDeadLetterMapper implements MapFunction<TelemetryEvent, DeadLetter> {
    private static final long serialVersionUID = 1L;

    @Override
    public DeadLetter map(TelemetryEvent event) {
        return new DeadLetter(
                event.deviceId.getBytes(StandardCharsets.UTF_8),
                toJson(event),
                RejectReason.LATE,
                "event time "
                        + event.timestamp
                        + " is behind the watermark; its window had already closed",
                event.sourceTopic,
                event.sourcePartition,
                event.sourceOffset,
                event.timestamp);
    }

    private static byte[] toJson(TelemetryEvent event) {
        return JsonBytes.write(
                json -> {
                    json.writeStartObject();
                    json.writeStringField("deviceId", event.deviceId);
                    json.writeStringField("metric", event.metric);
                    json.writeNumberField("value", event.value);
                    json.writeNumberField("timestamp", event.timestamp);
                    if (event.tags != null) {
                        json.writeObjectFieldStart("tags");
                        for (int i = 0; i < event.tags.length; i += 2) {
                            json.writeStringField(event.tags[i], event.tags[i + 1]);
                        }
                        json.writeEndObject();
                    }
                    json.writeEndObject();
                });
    }
}
