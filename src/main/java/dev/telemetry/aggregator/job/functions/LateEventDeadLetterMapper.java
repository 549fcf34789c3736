package dev.telemetry.aggregator.job.functions;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import dev.telemetry.aggregator.job.records.DeadLetter;
import dev.telemetry.aggregator.job.records.RejectReason;
import dev.telemetry.aggregator.job.records.TelemetryEvent;
import java.io.IOException;
import java.io.UncheckedIOException;
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

    private transient JsonFactory jsonFactory;

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

    private byte[] toJson(TelemetryEvent event) {
        if (jsonFactory == null) {
            jsonFactory = new JsonFactory();
        }
        try (ByteArrayBuilder buffer = new ByteArrayBuilder(128);
                JsonGenerator json = jsonFactory.createGenerator(buffer)) {
            json.writeStartObject();
            json.writeStringField("deviceId", event.deviceId);
            json.writeStringField("metric", event.metric);
            json.writeNumberField("value", event.value);
            json.writeNumberField("timestamp", event.timestamp);
            json.writeEndObject();
            json.flush();
            return buffer.toByteArray();
        } catch (IOException e) {
            // Writing to an in-memory buffer cannot fail on I/O; this would be a programming error.
            throw new UncheckedIOException(e);
        }
    }
}
