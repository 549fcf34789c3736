package dev.telemetry.aggregator.job.codec;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.StreamWriteFeature;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;

/** Writes one small JSON document to a byte array with Jackson's streaming generator. */
public final class JsonBytes {
    /**
     * Thread-safe once configured, so one instance serves every operator in the JVM. The fast
     * double writer (Schubfach, shortest round-trip form): {@code Double.toString} was the largest
     * single cost of writing an aggregate in a profile.
     */
    private static final JsonFactory FACTORY =
            JsonFactory.builder().enable(StreamWriteFeature.USE_FAST_DOUBLE_WRITER).build();

    /** What a caller writes between the generator's creation and its flush. */
    @FunctionalInterface
    public interface Body {
        void write(JsonGenerator json) throws IOException;
    }

    private JsonBytes() {}

    public static byte[] write(Body body) {
        try (ByteArrayBuilder buffer = new ByteArrayBuilder(256);
                JsonGenerator json = FACTORY.createGenerator(buffer)) {
            body.write(json);
            json.flush();
            return buffer.toByteArray();
        } catch (IOException e) {
            // Writing to an in-memory buffer cannot fail on I/O; this would be a programming error.
            throw new UncheckedIOException(e);
        }
    }
}
