package dev.telemetry.aggregator.job;

import dev.telemetry.aggregator.job.codec.EventTimeSource;
import java.io.Serializable;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;

/**
 * Everything the job needs to know, validated. Immutable and serializable: this (or parts of it) is
 * what crosses into Flink closures, never a CDI bean.
 *
 * @param kafkaProperties extra Kafka client properties for every client (security included)
 * @param inputTopicPattern a regular expression; when set it replaces {@code inputTopics}
 * @param expectedRestartTime how long a crashed instance may take to come back; exactly-once
 *     transactions must outlive it
 * @param stateBackend {@code hashmap} (state on the heap) or {@code rocksdb} (state on local disk)
 * @param incrementalCheckpoints checkpoints upload only what changed since the last one (rocksdb
 *     only)
 */
public record JobOptions(
        String bootstrapServers,
        Map<String, String> kafkaProperties,
        List<String> inputTopics,
        String inputTopicPattern,
        String outputTopic,
        String deadLetterTopic,
        String groupId,
        StartPosition startPosition,
        Duration partitionDiscoveryInterval,
        EventTimeSource eventTime,
        Duration windowSize,
        Duration maxOutOfOrderness,
        Duration idleness,
        Duration allowedLateness,
        DeliveryGuarantee deliveryGuarantee,
        String transactionalIdPrefix,
        Duration transactionTimeout,
        Duration checkpointInterval,
        Duration checkpointTimeout,
        Duration expectedRestartTime,
        int parallelism,
        String stateBackend,
        boolean incrementalCheckpoints)
        implements Serializable {

    public static final String HASHMAP = "hashmap";
    public static final String ROCKSDB = "rocksdb";

    public JobOptions {
        kafkaProperties = Map.copyOf(kafkaProperties);
        inputTopics = List.copyOf(inputTopics);
    }

    /**
     * Parses and validates; the first invalid setting stops with an {@link
     * InvalidSettingException}.
     */
    public static JobOptions fromSettings(Settings settings) {
        List<String> topics = settings.list(Settings.INPUT_TOPICS);
        String pattern = settings.optional(Settings.INPUT_TOPIC_PATTERN).orElse(null);
        if (pattern != null) {
            try {
                Pattern.compile(pattern);
            } catch (PatternSyntaxException e) {
                throw new InvalidSettingException(
                        Settings.INPUT_TOPIC_PATTERN,
                        "'" + pattern + "' is not a regular expression: " + e.getDescription());
            }
            topics = List.of();
        } else if (topics.isEmpty()) {
            throw new InvalidSettingException(
                    Settings.INPUT_TOPICS,
                    "name at least one input topic, or set "
                            + Settings.INPUT_TOPIC_PATTERN
                            + " ("
                            + Settings.environmentVariable(Settings.INPUT_TOPIC_PATTERN)
                            + ")");
        }
        OffsetResetStrategy fallback =
                settings.choice(
                        Settings.OFFSET_RESET,
                        Map.of(
                                "earliest", OffsetResetStrategy.EARLIEST,
                                "latest", OffsetResetStrategy.LATEST,
                                "none", OffsetResetStrategy.NONE));
        StartPosition start =
                StartPosition.parse(Settings.START, settings.required(Settings.START), fallback);
        DeliveryGuarantee guarantee =
                settings.choice(
                        Settings.DELIVERY_GUARANTEE,
                        Map.of(
                                "exactly-once", DeliveryGuarantee.EXACTLY_ONCE,
                                "at-least-once", DeliveryGuarantee.AT_LEAST_ONCE,
                                "none", DeliveryGuarantee.NONE));
        JobOptions options =
                new JobOptions(
                        settings.required(Settings.BOOTSTRAP_SERVERS),
                        settings.withPrefix(Settings.KAFKA_PROPERTIES_PREFIX),
                        topics,
                        pattern,
                        settings.required(Settings.OUTPUT_TOPIC),
                        settings.required(Settings.DEAD_LETTER_TOPIC),
                        settings.required(Settings.GROUP_ID),
                        start,
                        settings.duration(Settings.PARTITION_DISCOVERY_INTERVAL),
                        settings.choice(
                                Settings.EVENT_TIME,
                                Map.of(
                                        "payload", EventTimeSource.PAYLOAD,
                                        "kafka", EventTimeSource.KAFKA)),
                        settings.duration(Settings.WINDOW_SIZE),
                        settings.duration(Settings.MAX_OUT_OF_ORDERNESS),
                        settings.duration(Settings.IDLENESS),
                        settings.duration(Settings.ALLOWED_LATENESS),
                        guarantee,
                        settings.optional(Settings.TRANSACTIONAL_ID_PREFIX).orElse(""),
                        settings.duration(Settings.TRANSACTION_TIMEOUT),
                        settings.duration(Settings.CHECKPOINT_INTERVAL),
                        settings.duration(Settings.CHECKPOINT_TIMEOUT),
                        settings.duration(Settings.EXPECTED_RESTART_TIME),
                        settings.positiveInt(Settings.PARALLELISM),
                        settings.choice(
                                Settings.STATE_BACKEND, Map.of(HASHMAP, HASHMAP, ROCKSDB, ROCKSDB)),
                        settings.bool(Settings.CHECKPOINT_INCREMENTAL));
        options.validate();
        return options;
    }

    private void validate() {
        requirePositive(Settings.WINDOW_SIZE, windowSize);
        requirePositive(Settings.CHECKPOINT_INTERVAL, checkpointInterval);
        requirePositive(Settings.CHECKPOINT_TIMEOUT, checkpointTimeout);
        if (incrementalCheckpoints && !stateBackend.equals(ROCKSDB)) {
            // Flink would silently write full checkpoints: refuse rather than let the operator
            // believe checkpoints are incremental.
            throw new InvalidSettingException(
                    Settings.CHECKPOINT_INCREMENTAL,
                    "incremental checkpoints need the rocksdb state backend; set "
                            + Settings.environmentVariable(Settings.STATE_BACKEND)
                            + "=rocksdb, or "
                            + Settings.environmentVariable(Settings.CHECKPOINT_INCREMENTAL)
                            + "=false (the hashmap backend always writes full checkpoints)");
        }
        if (outputTopic.equals(deadLetterTopic)) {
            throw new InvalidSettingException(
                    Settings.DEAD_LETTER_TOPIC,
                    "'" + deadLetterTopic + "' is also the output topic; use a separate topic");
        }
        if (inputTopicPattern != null) {
            // The source subscribes to every topic the pattern matches in full, now or later.
            Pattern subscribed = Pattern.compile(inputTopicPattern);
            for (String own : List.of(outputTopic, deadLetterTopic)) {
                if (subscribed.matcher(own).matches()) {
                    throw new InvalidSettingException(
                            Settings.INPUT_TOPIC_PATTERN,
                            "'"
                                    + inputTopicPattern
                                    + "' matches '"
                                    + own
                                    + "', the job's own output or dead-letter topic; the job"
                                    + " would read its own output");
                }
            }
        }
        if (inputTopics.contains(outputTopic) || inputTopics.contains(deadLetterTopic)) {
            throw new InvalidSettingException(
                    Settings.INPUT_TOPICS,
                    "an input topic is also the output or dead-letter topic; the job would read"
                            + " its own output");
        }
        if (deliveryGuarantee == DeliveryGuarantee.EXACTLY_ONCE) {
            if (transactionalIdPrefix.isEmpty()) {
                throw new InvalidSettingException(
                        Settings.TRANSACTIONAL_ID_PREFIX,
                        "exactly-once needs a transactional-id prefix that is unique per"
                                + " deployment");
            }
            Duration needed = minimumTransactionTimeout();
            if (transactionTimeout.compareTo(needed) <= 0) {
                throw new InvalidSettingException(
                        Settings.TRANSACTION_TIMEOUT,
                        transactionTimeout
                                + " is not above checkpoint interval + checkpoint timeout +"
                                + " expected restart time ("
                                + needed
                                + "): a transaction could expire before it is committed and its"
                                + " output would be lost. Raise "
                                + Settings.environmentVariable(Settings.TRANSACTION_TIMEOUT)
                                + ", or lower "
                                + Settings.environmentVariable(Settings.CHECKPOINT_INTERVAL)
                                + ", "
                                + Settings.environmentVariable(Settings.CHECKPOINT_TIMEOUT)
                                + " or "
                                + Settings.environmentVariable(Settings.EXPECTED_RESTART_TIME)
                                + ".");
            }
        }
    }

    /** A transaction lives from one checkpoint to the next, plus a restart if the process dies. */
    public Duration minimumTransactionTimeout() {
        return checkpointInterval.plus(checkpointTimeout).plus(expectedRestartTime);
    }

    private static void requirePositive(String setting, Duration duration) {
        if (duration.isZero() || duration.isNegative()) {
            throw new InvalidSettingException(setting, "must be greater than zero");
        }
    }

    /** The transactional-id prefix of one of the job's sinks; neither is a prefix of the other. */
    public String transactionalIdPrefixFor(String sinkName) {
        return transactionalIdPrefix(transactionalIdPrefix, sinkName);
    }

    /**
     * The rule by which a deployment's prefix names a sink's transactional ids: {@code
     * <prefix>-<sink>}, to which the connector appends {@code -<subtask>-<n>}.
     */
    public static String transactionalIdPrefix(String deploymentPrefix, String sinkName) {
        return deploymentPrefix + "-" + sinkName;
    }
}
