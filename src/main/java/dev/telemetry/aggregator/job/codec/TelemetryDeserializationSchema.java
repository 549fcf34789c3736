package dev.telemetry.aggregator.job.codec;

import dev.telemetry.aggregator.job.config.EventTimeBounds;
import dev.telemetry.aggregator.job.config.EventTimeSource;
import dev.telemetry.aggregator.job.config.TagLimits;
import dev.telemetry.aggregator.job.records.DeadLetter;
import dev.telemetry.aggregator.job.records.IngestedRecord;
import dev.telemetry.aggregator.job.records.TelemetryEvent;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Turns every Kafka record into an {@link IngestedRecord}: a parsed event, or a dead letter with
 * the original bytes. It never throws for bad input, so a corrupt record cannot put the job into a
 * restart loop.
 */
public class TelemetryDeserializationSchema
        implements KafkaRecordDeserializationSchema<IngestedRecord> {
    private static final long serialVersionUID = 1L;

    private final TelemetryEventParser parser;

    public TelemetryDeserializationSchema(
            EventTimeSource eventTimeSource, EventTimeBounds eventTimeBounds) {
        this(eventTimeSource, eventTimeBounds, TagLimits.DEFAULT);
    }

    public TelemetryDeserializationSchema(
            EventTimeSource eventTimeSource, EventTimeBounds eventTimeBounds, TagLimits tagLimits) {
        this.parser = new TelemetryEventParser(eventTimeSource, eventTimeBounds, tagLimits);
    }

    @Override
    public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<IngestedRecord> out) {
        try {
            TelemetryEvent event = parser.parse(record.value(), record.timestamp());
            out.collect(
                    IngestedRecord.of(
                            event.withSource(record.topic(), record.partition(), record.offset())));
        } catch (InvalidEventException e) {
            out.collect(
                    IngestedRecord.rejected(
                            new DeadLetter(
                                    record.key(),
                                    record.value(),
                                    e.reason(),
                                    e.getMessage(),
                                    record.topic(),
                                    record.partition(),
                                    record.offset(),
                                    record.timestamp())));
        }
    }

    @Override
    public TypeInformation<IngestedRecord> getProducedType() {
        return TypeInformation.of(IngestedRecord.class);
    }
}
