package dev.telemetry.aggregator.job.kafka;

import dev.telemetry.aggregator.job.codec.AggregateSerializationSchema;
import dev.telemetry.aggregator.job.codec.DeadLetterSerializationSchema;
import dev.telemetry.aggregator.job.codec.TelemetryDeserializationSchema;
import dev.telemetry.aggregator.job.config.JobOptions;
import dev.telemetry.aggregator.job.records.DeadLetter;
import dev.telemetry.aggregator.job.records.IngestedRecord;
import dev.telemetry.aggregator.job.records.TelemetryAggregate;
import java.util.List;
import java.util.Properties;
import java.util.regex.Pattern;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.sink.KafkaSinkBuilder;
import org.apache.flink.connector.kafka.sink.TransactionNamingStrategy;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.KafkaSourceBuilder;
import org.apache.flink.connector.kafka.source.KafkaSourceOptions;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;

/** Builds the job's Kafka source and sinks from {@link JobOptions}. */
public final class TelemetryKafka {
    public static final String AGGREGATES_SINK = "aggregates";
    public static final String DEAD_LETTER_SINK = "dead-letters";

    /** Every sink that writes with its own transactional ids. */
    public static final List<String> SINKS = List.of(AGGREGATES_SINK, DEAD_LETTER_SINK);

    /**
     * The source's {@code max.poll.records} unless set: fewer, larger polls cost less CPU per
     * record than Kafka's 500 (figures in bench/results/NOTES.md). A batch is a few hundred kB, and
     * a poll returns what has arrived without waiting for a full one, so it adds no latency.
     */
    static final int SOURCE_MAX_POLL_RECORDS = 2000;

    /**
     * The sinks' producers' {@code retry.backoff.ms} unless set. Every start makes each producer
     * ask the transaction coordinator for its id ({@code InitProducerId}); after a crash the
     * coordinator first aborts the dead run's open transaction under that id and answers {@code
     * CONCURRENT_TRANSACTIONS} meanwhile, and the producer asks again only after this backoff
     * (Kafka's 100 ms), while the task waits. The backoff still doubles on each retry up to {@code
     * retry.backoff.max.ms} (1 s), so a broker in trouble is not hammered.
     */
    static final long SINK_RETRY_BACKOFF_MS = 20;

    private TelemetryKafka() {}

    /** Offsets live in checkpoints; committing them to the group is for monitoring only. */
    public static KafkaSource<IngestedRecord> source(JobOptions options) {
        return source(
                options,
                new TelemetryDeserializationSchema(
                        options.eventTime(), options.eventTimeBounds(), options.tagLimits()));
    }

    /** The source with another deserializer, e.g. one that injects a failure in a test. */
    public static KafkaSource<IngestedRecord> source(
            JobOptions options, KafkaRecordDeserializationSchema<IngestedRecord> deserializer) {
        KafkaSourceBuilder<IngestedRecord> builder =
                KafkaSource.<IngestedRecord>builder()
                        .setBootstrapServers(options.bootstrapServers())
                        .setProperties(sourceProperties(options))
                        .setGroupId(options.groupId())
                        .setClientIdPrefix(options.groupId())
                        .setStartingOffsets(options.startPosition().toOffsetsInitializer())
                        .setDeserializer(deserializer)
                        .setProperty(
                                KafkaSourceOptions.PARTITION_DISCOVERY_INTERVAL_MS.key(),
                                Long.toString(options.partitionDiscoveryInterval().toMillis()))
                        .setProperty(KafkaSourceOptions.COMMIT_OFFSETS_ON_CHECKPOINT.key(), "true");
        if (options.inputTopicPattern() != null) {
            builder.setTopicPattern(Pattern.compile(options.inputTopicPattern()));
        } else {
            builder.setTopics(options.inputTopics());
        }
        return builder.build();
    }

    /** The consumer's properties: the defaults below unless the user set them. */
    static Properties sourceProperties(JobOptions options) {
        Properties properties = clientProperties(options);
        // Input written by transactional producers must not be read before it commits.
        properties.putIfAbsent(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        // Records per poll, which the fetcher thread hands to the task as one batch: at Kafka's
        // 500 the consumer's per-poll bookkeeping (coordinator, positions, fetch requests) and the
        // hand-over ran every 500 records.
        properties.putIfAbsent(
                ConsumerConfig.MAX_POLL_RECORDS_CONFIG, Integer.toString(SOURCE_MAX_POLL_RECORDS));
        return properties;
    }

    /** The sinks' producers' properties: the defaults below unless the user set them. */
    static Properties sinkProperties(JobOptions options) {
        Properties properties = clientProperties(options);
        properties.setProperty(
                ProducerConfig.TRANSACTION_TIMEOUT_CONFIG,
                Long.toString(options.transactionTimeout().toMillis()));
        properties.putIfAbsent(
                CommonClientConfigs.RETRY_BACKOFF_MS_CONFIG, Long.toString(SINK_RETRY_BACKOFF_MS));
        return properties;
    }

    public static KafkaSink<TelemetryAggregate> aggregateSink(JobOptions options) {
        return sink(
                options,
                new AggregateSerializationSchema(
                        options.groupings(), options.quantiles(), options.upsert()),
                AGGREGATES_SINK);
    }

    public static KafkaSink<DeadLetter> deadLetterSink(JobOptions options) {
        return sink(
                options,
                new DeadLetterSerializationSchema(
                        options.deadLetterTopic(), options.deadLetterMaxRecordBytes()),
                DEAD_LETTER_SINK);
    }

    /**
     * Exactly-once: one Kafka transaction per checkpoint, committed when the checkpoint completes;
     * POOLING reuses a small set of transactional ids and aborts a dead run's leftovers on start.
     */
    private static <T> KafkaSink<T> sink(
            JobOptions options, KafkaRecordSerializationSchema<T> schema, String sinkName) {
        KafkaSinkBuilder<T> builder =
                KafkaSink.<T>builder()
                        .setBootstrapServers(options.bootstrapServers())
                        .setKafkaProducerConfig(sinkProperties(options))
                        .setRecordSerializer(schema)
                        .setDeliveryGuarantee(options.deliveryGuarantee());
        if (options.deliveryGuarantee() == DeliveryGuarantee.EXACTLY_ONCE) {
            builder.setTransactionalIdPrefix(options.transactionalIdPrefixFor(sinkName))
                    .setTransactionNamingStrategy(TransactionNamingStrategy.POOLING);
        }
        return builder.build();
    }

    /**
     * What every Kafka client of the job and the service starts from: the user's properties, and no
     * JMX reporter unless the user names one. Kafka's default registers each of a client's hundreds
     * of metrics as an MBean, which took a measurable part of the start-up's CPU; the clients'
     * metrics reach Prometheus through Flink's metric groups, not JMX.
     */
    public static Properties clientProperties(JobOptions options) {
        Properties properties = new Properties();
        properties.putAll(options.kafkaProperties());
        properties.putIfAbsent(CommonClientConfigs.METRIC_REPORTER_CLASSES_CONFIG, "");
        return properties;
    }
}
