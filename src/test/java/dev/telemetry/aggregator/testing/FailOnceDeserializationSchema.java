package dev.telemetry.aggregator.testing;

import dev.telemetry.aggregator.job.codec.TelemetryDeserializationSchema;
import dev.telemetry.aggregator.job.config.EventTimeBounds;
import dev.telemetry.aggregator.job.config.EventTimeSource;
import dev.telemetry.aggregator.job.records.IngestedRecord;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * The production deserializer, except that the first time it meets a record whose value contains
 * {@code trigger} it throws, failing the task as a crash would. After the restart the same record
 * passes. (KafkaSinkITCase's fail-once mapper, moved to where our job lets a test plug in.)
 */
public class FailOnceDeserializationSchema
        implements KafkaRecordDeserializationSchema<IngestedRecord> {
    private static final long serialVersionUID = 1L;

    /** Failures injected so far; static because the MiniCluster runs in the test's JVM. */
    public static final AtomicInteger FAILURES = new AtomicInteger();

    private final TelemetryDeserializationSchema delegate;
    private final String trigger;

    public FailOnceDeserializationSchema(
            EventTimeSource eventTimeSource, EventTimeBounds eventTimeBounds, String trigger) {
        this.delegate = new TelemetryDeserializationSchema(eventTimeSource, eventTimeBounds);
        this.trigger = trigger;
    }

    @Override
    public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<IngestedRecord> out)
            throws IOException {
        if (record.value() != null
                && new String(record.value(), StandardCharsets.UTF_8).contains(trigger)
                && FAILURES.compareAndSet(0, 1)) {
            throw new IOException(
                    "Injected failure at "
                            + record.topic()
                            + "-"
                            + record.partition()
                            + "@"
                            + record.offset());
        }
        delegate.deserialize(record, out);
    }

    @Override
    public TypeInformation<IngestedRecord> getProducedType() {
        return delegate.getProducedType();
    }
}
