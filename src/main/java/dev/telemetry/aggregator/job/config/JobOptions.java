package dev.telemetry.aggregator.job.config;

import java.io.Serializable;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.kafka.clients.producer.ProducerConfig;

/**
 * Everything the job needs to know, validated. Immutable and serializable: this (or parts of it) is
 * what crosses into Flink closures, never a CDI bean.
 *
 * <p>Long because the checks across settings live with the options they constrain, among them the
 * derivation of the minimum transaction timeout.
 *
 * @param kafkaProperties extra Kafka client properties for every client (security included)
 * @param inputTopicPattern a regular expression; when set it replaces {@code inputTopics}
 * @param expectedRestartTime how long a crashed instance may take to come back; exactly-once
 *     transactions must outlive it
 * @param tolerableCheckpointFailures consecutive failed checkpoints the job rides out before it
 *     fails and restarts; each one keeps the open transactions open for another checkpoint
 * @param eventTimeBounds the plausible event-time range; events outside it are dead letters
 * @param tagLimits how many tags an event may carry, and how long; events beyond are dead letters
 * @param deadLetterMaxRecordBytes the largest record the dead-letter sink writes; larger dead
 *     letters are truncated to fit (the service lowers it to the topic's {@code max.message.bytes})
 * @param stateBackend {@code hashmap} (state on the heap) or {@code rocksdb} (state on local disk)
 * @param incrementalCheckpoints checkpoints upload only what changed since the last one (rocksdb
 *     only)
 * @param percentiles the quantiles reported per window, ascending; empty: none
 * @param percentileAccuracy the relative accuracy of the per-window sketches
 * @param outputSketch whether each output record carries its window's sketch
 * @param rollups the coarser levels, finest first; empty: none
 * @param groupBy the output topic's grouping, with {@code outputTopic} and {@code rollups}
 * @param extraGroupings the groupings with topics of their own, each with a level per rollup
 * @param maxSeries the most (series, metric) keys per grouping and window; 0: no cap
 * @param idleAdvance quiet time after which a partition's event time follows the wall clock; null:
 *     never
 * @param outputMode what an output record stands for: a closed window, or a revision of one
 * @param earlyResultsInterval in upsert mode, how often an open window with new events is written
 *     as it stands; null: never
 * @param alignedCheckpointTimeout how long checkpoint barriers may queue behind in-flight records
 *     before the checkpoint goes unaligned (stores those records); zero: unaligned from the start;
 *     null: always aligned
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
        int tolerableCheckpointFailures,
        EventTimeBounds eventTimeBounds,
        TagLimits tagLimits,
        int deadLetterMaxRecordBytes,
        String stateBackend,
        boolean incrementalCheckpoints,
        Duration alignedCheckpointTimeout,
        List<Double> percentiles,
        double percentileAccuracy,
        boolean outputSketch,
        List<RollupLevel> rollups,
        Grouping groupBy,
        List<Grouping> extraGroupings,
        int maxSeries,
        Duration idleAdvance,
        OutputMode outputMode,
        Duration earlyResultsInterval)
        implements Serializable {

    public static final String HASHMAP = "hashmap";
    public static final String ROCKSDB = "rocksdb";

    /**
     * Room for the dead-letter headers, the record and batch framing, and a little of the value:
     * below this a dead letter could not be written at all.
     */
    public static final int MIN_DEAD_LETTER_RECORD_BYTES = 4096;

    public JobOptions {
        kafkaProperties = Map.copyOf(kafkaProperties);
        inputTopics = List.copyOf(inputTopics);
        percentiles = List.copyOf(percentiles);
        rollups = List.copyOf(rollups);
        extraGroupings = List.copyOf(extraGroupings);
    }

    /** Every grouping: the output topic's first, then the others in their settings' order. */
    public List<Grouping> groupings() {
        List<Grouping> all = new ArrayList<>();
        all.add(groupBy);
        all.addAll(extraGroupings);
        return all;
    }

    /**
     * Every topic the job writes aggregates to: the output topic, each rollup level's, then each
     * further grouping's and its levels'.
     */
    public List<String> aggregateTopics() {
        List<String> topics = new ArrayList<>();
        groupings().forEach(grouping -> topics.addAll(grouping.topics()));
        return topics;
    }

    /** The quantiles of the percentiles, ascending; empty when percentiles are off. */
    public double[] quantiles() {
        return percentiles.stream().mapToDouble(Double::doubleValue).toArray();
    }

    /**
     * The relative accuracy of the sketch each window keeps; 0 when none is needed (neither
     * percentiles nor the sketch itself are output).
     */
    public double sketchAccuracy() {
        return percentiles.isEmpty() && !outputSketch ? 0 : percentileAccuracy;
    }

    /**
     * Parses and validates; the first invalid setting stops with an {@link
     * InvalidSettingException}.
     */
    public static JobOptions fromSettings(Settings settings) {
        List<String> topics = settings.get(Settings.INPUT_TOPICS);
        String pattern = settings.find(Settings.INPUT_TOPIC_PATTERN).orElse(null);
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
        String outputTopic = settings.get(Settings.OUTPUT_TOPIC);
        List<RollupLevel> rollups = settings.find(Settings.ROLLUPS).orElse(List.of());
        StartPosition start =
                StartPosition.parse(
                        Settings.START.key(),
                        settings.get(Settings.START),
                        settings.get(Settings.OFFSET_RESET));
        JobOptions options =
                new JobOptions(
                        settings.get(Settings.BOOTSTRAP_SERVERS),
                        kafkaProperties(settings),
                        topics,
                        pattern,
                        outputTopic,
                        settings.get(Settings.DEAD_LETTER_TOPIC),
                        settings.get(Settings.GROUP_ID),
                        start,
                        settings.get(Settings.PARTITION_DISCOVERY_INTERVAL),
                        settings.get(Settings.EVENT_TIME),
                        settings.get(Settings.WINDOW_SIZE),
                        settings.get(Settings.MAX_OUT_OF_ORDERNESS),
                        settings.get(Settings.IDLENESS),
                        settings.get(Settings.ALLOWED_LATENESS),
                        settings.get(Settings.DELIVERY_GUARANTEE),
                        settings.find(Settings.TRANSACTIONAL_ID_PREFIX).orElse(""),
                        settings.get(Settings.TRANSACTION_TIMEOUT),
                        settings.get(Settings.CHECKPOINT_INTERVAL),
                        settings.get(Settings.CHECKPOINT_TIMEOUT),
                        settings.get(Settings.EXPECTED_RESTART_TIME),
                        settings.get(Settings.PARALLELISM),
                        settings.get(Settings.CHECKPOINT_TOLERABLE_FAILURES),
                        new EventTimeBounds(
                                settings.get(Settings.EVENT_TIME_EARLIEST),
                                settings.get(Settings.EVENT_TIME_MAX_FUTURE)),
                        new TagLimits(
                                settings.get(Settings.TAGS_MAX_COUNT),
                                settings.get(Settings.TAGS_MAX_NAME_LENGTH),
                                settings.get(Settings.TAGS_MAX_VALUE_LENGTH)),
                        deadLetterMaxRecordBytes(settings),
                        settings.get(Settings.STATE_BACKEND),
                        settings.get(Settings.CHECKPOINT_INCREMENTAL),
                        settings.get(Settings.CHECKPOINT_ALIGNED_TIMEOUT).orElse(null),
                        settings.find(Settings.PERCENTILES).orElse(List.of()),
                        settings.get(Settings.PERCENTILE_ACCURACY),
                        settings.get(Settings.OUTPUT_SKETCH),
                        rollups,
                        settings.get(Settings.GROUP_BY).withOutput(outputTopic, rollups),
                        settings.find(Settings.GROUPINGS).orElse(List.of()).stream()
                                .map(grouping -> grouping.withLevels(rollups))
                                .toList(),
                        settings.get(Settings.MAX_SERIES).orElse(0),
                        settings.get(Settings.IDLE_ADVANCE).orElse(null),
                        settings.get(Settings.OUTPUT_MODE),
                        settings.get(Settings.EARLY_RESULTS_INTERVAL).orElse(null));
        options.validate();
        return options;
    }

    /**
     * The pass-through client properties plus those the first-class security settings stand for;
     * the latter win, so {@code KAFKA_SASL_PASSWORD_FILE} is not undone by a stale property.
     */
    private static Map<String, String> kafkaProperties(Settings settings) {
        Map<String, String> properties =
                new HashMap<>(settings.withPrefix(Settings.KAFKA_PROPERTIES_PREFIX));
        properties.putAll(KafkaSecurity.clientProperties(settings));
        return properties;
    }

    /** Secret client properties (passwords, the JAAS line) masked: records print everything. */
    @Override
    public String toString() {
        return "JobOptions[bootstrapServers="
                + bootstrapServers
                + ", kafkaProperties="
                + KafkaSecurity.masked(kafkaProperties)
                + ", inputTopics="
                + inputTopics
                + ", inputTopicPattern="
                + inputTopicPattern
                + ", outputTopic="
                + outputTopic
                + ", deadLetterTopic="
                + deadLetterTopic
                + ", groupId="
                + groupId
                + ", deliveryGuarantee="
                + deliveryGuarantee
                + ", transactionalIdPrefix="
                + transactionalIdPrefix
                + ", windowSize="
                + windowSize
                + ", rollups="
                + rollups
                + ", parallelism="
                + parallelism
                + "]";
    }

    private void validate() {
        requirePositive(Settings.WINDOW_SIZE, windowSize);
        if (idleAdvance != null) {
            requirePositive(Settings.IDLE_ADVANCE, idleAdvance);
        }
        validateEarlyResults();
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
            List<String> own = new ArrayList<>(aggregateTopics());
            own.add(deadLetterTopic);
            for (String topic : own) {
                if (subscribed.matcher(topic).matches()) {
                    throw new InvalidSettingException(
                            Settings.INPUT_TOPIC_PATTERN,
                            "'"
                                    + inputTopicPattern
                                    + "' matches '"
                                    + topic
                                    + "', one of the job's own output, rollup or dead-letter"
                                    + " topics; the job would read its own output");
                }
            }
        }
        if (inputTopics.contains(outputTopic) || inputTopics.contains(deadLetterTopic)) {
            throw new InvalidSettingException(
                    Settings.INPUT_TOPICS,
                    "an input topic is also the output or dead-letter topic; the job would read"
                            + " its own output");
        }
        validateRollups();
        validateGroupings();
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
                                + " is not above "
                                + MINIMUM_TRANSACTION_TIMEOUT_RULE
                                + " ("
                                + needed
                                + "): a transaction could expire before it is committed and its"
                                + " output would be lost. Raise "
                                + Settings.environmentVariable(Settings.TRANSACTION_TIMEOUT)
                                + ", or lower "
                                + Settings.environmentVariable(Settings.CHECKPOINT_INTERVAL)
                                + ", "
                                + Settings.environmentVariable(Settings.CHECKPOINT_TIMEOUT)
                                + ", "
                                + Settings.environmentVariable(
                                        Settings.CHECKPOINT_TOLERABLE_FAILURES)
                                + " or "
                                + Settings.environmentVariable(Settings.EXPECTED_RESTART_TIME)
                                + ".");
            }
        }
    }

    /**
     * Each level a whole multiple of the one below, larger than it (so its windows are unions of
     * whole windows of the level below: all windows are aligned to the epoch), each with a topic of
     * its own.
     */
    private void validateRollups() {
        Duration below = windowSize;
        String belowName = Settings.WINDOW_SIZE.key() + " " + RollupLevel.label(windowSize);
        for (RollupLevel level : rollups) {
            long size = level.size().toMillis();
            if (size <= below.toMillis() || size % below.toMillis() != 0) {
                throw new InvalidSettingException(
                        Settings.ROLLUPS,
                        "level "
                                + level.label()
                                + " is not a whole multiple (2 or more) of the level below it, "
                                + belowName
                                + "; each level's windows must be made of whole windows of the"
                                + " level below");
            }
            below = level.size();
            belowName = "rollup level " + level.label();
        }
    }

    /**
     * Each grouping's dimensions are its own, its tags can occur in events, and every topic the job
     * writes aggregates to is neither an input nor the dead-letter topic nor another's.
     */
    private void validateGroupings() {
        Set<String> topics = new HashSet<>(inputTopics);
        topics.add(deadLetterTopic);
        Set<String> ids = new HashSet<>();
        for (Grouping grouping : groupings()) {
            Setting<?> setting = grouping == groupBy ? Settings.GROUP_BY : Settings.GROUPINGS;
            if (!ids.add(grouping.id())) {
                throw new InvalidSettingException(
                        Settings.GROUPINGS,
                        "two outputs are grouped by "
                                + grouping.id()
                                + "; they would be the same aggregates twice");
            }
            for (String tag : grouping.tagNames()) {
                if (tag.length() > tagLimits.maxNameLength()) {
                    throw new InvalidSettingException(
                            setting,
                            "tag '"
                                    + tag
                                    + "' is longer than "
                                    + Settings.TAGS_MAX_NAME_LENGTH.key()
                                    + " ("
                                    + tagLimits.maxNameLength()
                                    + "), so no accepted event carries it");
                }
            }
            for (int i = 0; i < grouping.topics().size(); i++) {
                String topic = grouping.topics().get(i);
                if (!topics.add(topic)) {
                    throw new InvalidSettingException(
                            i == 0 ? setting : Settings.ROLLUPS,
                            "topic '"
                                    + topic
                                    + "' of "
                                    + (i == 0
                                            ? ""
                                            : "level "
                                                    + grouping.levels().get(i - 1).label()
                                                    + " of ")
                                    + "the output grouped by "
                                    + grouping.id()
                                    + " is already an input, the dead-letter or another output's"
                                    + " topic; each output needs a topic of its own");
                }
            }
        }
    }

    /**
     * The configured cap, lowered to the producer's {@code max.request.size} when that is set (the
     * producer refuses larger records before the broker sees them).
     */
    private static int deadLetterMaxRecordBytes(Settings settings) {
        int configured = settings.get(Settings.DEAD_LETTER_MAX_RECORD_BYTES);
        if (configured < MIN_DEAD_LETTER_RECORD_BYTES) {
            throw new InvalidSettingException(
                    Settings.DEAD_LETTER_MAX_RECORD_BYTES,
                    configured
                            + " is below "
                            + MIN_DEAD_LETTER_RECORD_BYTES
                            + ", too small for a dead letter's headers");
        }
        String requestSize =
                settings.withPrefix(Settings.KAFKA_PROPERTIES_PREFIX)
                        .get(ProducerConfig.MAX_REQUEST_SIZE_CONFIG);
        if (requestSize == null) {
            return configured;
        }
        try {
            return Math.min(configured, Integer.parseInt(requestSize.trim()));
        } catch (NumberFormatException e) {
            throw new InvalidSettingException(
                    Settings.KAFKA_PROPERTIES_PREFIX + ProducerConfig.MAX_REQUEST_SIZE_CONFIG,
                    "'" + requestSize + "' is not a number of bytes");
        }
    }

    /** The same options with a lower dead-letter record limit (the topic's, found at start-up). */
    public JobOptions withDeadLetterMaxRecordBytes(int maxRecordBytes) {
        return new JobOptions(
                bootstrapServers,
                kafkaProperties,
                inputTopics,
                inputTopicPattern,
                outputTopic,
                deadLetterTopic,
                groupId,
                startPosition,
                partitionDiscoveryInterval,
                eventTime,
                windowSize,
                maxOutOfOrderness,
                idleness,
                allowedLateness,
                deliveryGuarantee,
                transactionalIdPrefix,
                transactionTimeout,
                checkpointInterval,
                checkpointTimeout,
                expectedRestartTime,
                parallelism,
                tolerableCheckpointFailures,
                eventTimeBounds,
                tagLimits,
                maxRecordBytes,
                stateBackend,
                incrementalCheckpoints,
                alignedCheckpointTimeout,
                percentiles,
                percentileAccuracy,
                outputSketch,
                rollups,
                groupBy,
                extraGroupings,
                maxSeries,
                idleAdvance,
                outputMode,
                earlyResultsInterval);
    }

    /**
     * The longest a sink's Kafka transaction can stay open before it is committed, for a job that
     * is healthy or within its tolerances; {@code transaction.timeout.ms} must exceed it, or the
     * broker could abort a transaction whose checkpoint completed, and that output would be lost.
     *
     * <p>Derivation, with I the checkpoint interval, T the checkpoint timeout, f the tolerated
     * consecutive checkpoint failures, R the expected restart time. {@code
     * TelemetryAggregationJob.configure} fixes one checkpoint at a time and no minimum pause:
     *
     * <ol>
     *   <li>The sink begins transaction t<sub>N</sub> when it snapshots the barrier of checkpoint
     *       N-1, which is no earlier than N-1's trigger; the broker's clock for t<sub>N</sub>
     *       starts at its first record, later still. Measure from N-1's trigger.
     *   <li>Checkpoint N cannot be triggered while N-1 is pending: the periodic trigger fires I
     *       after N-1's trigger, or, if N-1 is still pending then, as soon as N-1 completes or
     *       expires, at most T after its trigger. So N is triggered at most max(I, T) after N-1.
     *   <li>t<sub>N</sub> is committed when N completes (notifyCheckpointComplete), at most T after
     *       N's trigger.
     *   <li>Each tolerated failure (N expires or is declined) keeps t<sub>N</sub> open until the
     *       next attempt completes: another max(I, T) between triggers, f times.
     *   <li>A crash right after N completed, before the commit went through, leaves t<sub>N</sub>
     *       pre-committed; the restarted job commits it when it restores N: another R.
     * </ol>
     *
     * Worst case: {@code (f + 1) x max(I, T) + T + R}. (The earlier rule, {@code (f + 1) x (I + T)
     * + R}, is smaller whenever T > I, e.g. I = 10s, T = 1m, f = 0, R = 2m: 190s against 240s.)
     * Beyond f failures the job fails and restarts from the last completed checkpoint, aborting
     * t<sub>N</sub>, which loses nothing: its input is read again.
     */
    public Duration minimumTransactionTimeout() {
        Duration betweenTriggers =
                checkpointTimeout.compareTo(checkpointInterval) > 0
                        ? checkpointTimeout
                        : checkpointInterval;
        return betweenTriggers
                .multipliedBy(tolerableCheckpointFailures + 1L)
                .plus(checkpointTimeout)
                .plus(expectedRestartTime);
    }

    /** The rule of {@link #minimumTransactionTimeout()} in words, for messages. */
    public static final String MINIMUM_TRANSACTION_TIMEOUT_RULE =
            "(tolerable checkpoint failures + 1) x max(checkpoint interval, checkpoint timeout) +"
                    + " checkpoint timeout + expected restart time";

    /** The shortest early-results interval: each early result is a record per open window. */
    public static final Duration MIN_EARLY_RESULTS_INTERVAL = Duration.ofMillis(100);

    private void validateEarlyResults() {
        if (earlyResultsInterval == null) {
            return;
        }
        if (outputMode != OutputMode.UPSERT) {
            throw new InvalidSettingException(
                    Settings.EARLY_RESULTS_INTERVAL,
                    "early results are revisions of a window, which only upsert mode writes; set "
                            + Settings.environmentVariable(Settings.OUTPUT_MODE)
                            + "=upsert, or "
                            + Settings.environmentVariable(Settings.EARLY_RESULTS_INTERVAL)
                            + "=off");
        }
        if (earlyResultsInterval.compareTo(MIN_EARLY_RESULTS_INTERVAL) < 0) {
            throw new InvalidSettingException(
                    Settings.EARLY_RESULTS_INTERVAL,
                    "must be at least "
                            + MIN_EARLY_RESULTS_INTERVAL.toMillis()
                            + "ms: every open window is written once per interval");
        }
    }

    /** Whether records are revisions of windows (keyed by window, compacted topics). */
    public boolean upsert() {
        return outputMode == OutputMode.UPSERT;
    }

    private static void requirePositive(Setting<?> setting, Duration duration) {
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
