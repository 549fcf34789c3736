package dev.telemetry.aggregator.service;

import dev.telemetry.aggregator.job.config.Settings;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithName;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Everything but the Kafka connection: the pipeline, checkpoints, topics and lifecycle. Defaults
 * are in {@code application.yaml}; each property is overridable by its environment variable ({@code
 * telemetry.window-size} by {@code TELEMETRY_WINDOW_SIZE}).
 *
 * <p>Values are kept as text and parsed by {@link Settings}, so a bad value fails start-up with a
 * message that names both the property and its environment variable.
 */
@ConfigMapping(prefix = "telemetry")
public interface TelemetryConfiguration {

    /** Comma-separated input topics. */
    String inputTopics();

    /** A topic regular expression; when set it replaces {@link #inputTopics()}. */
    Optional<String> inputTopicPattern();

    String outputTopic();

    String deadLetterTopic();

    /** Tumbling window size, e.g. {@code 1m}, {@code 10s}. */
    String windowSize();

    /** How far behind the watermark an event may arrive and still be aggregated. */
    String allowedLateness();

    /** {@code payload} or {@code kafka}. */
    String eventTime();

    /** {@code exactly-once}, {@code at-least-once} or {@code none}. */
    String deliveryGuarantee();

    /** Unique per deployment and stable across its restarts. */
    String transactionalIdPrefix();

    /** Kafka {@code transaction.timeout.ms} of the exactly-once sinks. */
    String transactionTimeout();

    /** How long a crashed instance may take to come back; transactions must outlive it. */
    String expectedRestartTime();

    /** Parallelism of every operator (and task slots of the embedded cluster). */
    String parallelism();

    Source source();

    Watermark watermark();

    Checkpoint checkpoint();

    State state();

    Topics topics();

    Restart restart();

    Health health();

    /** The admin HTTP API under {@code /admin}: off by default; when on, token required. */
    Admin admin();

    /**
     * A savepoint or checkpoint to start from instead of the newest snapshot on the volume; used
     * once (a marker on the volume records it), so a later crash still resumes from the newest.
     */
    Optional<String> restoreFrom();

    /** Allow restoring a snapshot that has state for operators this build no longer has. */
    String allowNonRestoredState();

    /** On shutdown, stop the job with a savepoint (falling back to cancel) rather than cancel. */
    String stopWithSavepoint();

    /** Bounded wait for the job and the embedded cluster to stop on shutdown. */
    String shutdownTimeout();

    /** Extra Flink configuration for the embedded cluster, e.g. {@code state.backend.type}. */
    Map<String, String> flink();

    /** The plausible event-time range; events outside it are dead letters. */
    EventTimeRange eventTimeBounds();

    /**
     * The largest dead-letter record in bytes; lowered at start-up to the dead-letter topic's
     * {@code max.message.bytes}. Larger dead letters are truncated to fit.
     */
    String deadLetterMaxRecordBytes();

    interface EventTimeRange {
        /** An ISO-8601 instant; earlier event times are rejected. */
        String earliest();

        /** How far ahead of the processing clock an event time may be. */
        String maxFuture();
    }

    interface Source {
        String groupId();

        /**
         * {@code group-offsets}, {@code earliest}, {@code latest}, {@code timestamp:<ms>}, {@code
         * offsets:...}.
         */
        String start();

        /** Where {@code group-offsets} starts in partitions without a committed offset. */
        String offsetReset();

        String partitionDiscoveryInterval();
    }

    interface Watermark {
        String maxOutOfOrderness();

        String idleness();
    }

    interface Checkpoint {
        /** The checkpoint volume; restarts resume from the newest completed checkpoint in it. */
        String dir();

        String interval();

        String timeout();

        /** How many completed checkpoints are kept. */
        String retained();

        /** Consecutive failed checkpoints the job rides out before it fails and restarts. */
        String tolerableFailures();

        /** Upload only what changed since the last checkpoint ({@code rocksdb} only). */
        String incremental();

        /**
         * How long checkpoint barriers may queue behind in-flight records before the checkpoint
         * stores those records instead (unaligned); {@code off} always aligns.
         */
        String alignedTimeout();
    }

    interface State {
        /** {@code hashmap} (on the heap) or {@code rocksdb} (on local disk). */
        String backend();
    }

    interface Topics {
        /** Create missing input, output and dead-letter topics at start-up. */
        String create();

        /** Partitions of created topics; empty = the broker's default. */
        Optional<String> partitions();

        /** Replication factor of created topics; empty = the broker's default. */
        @WithName("replication-factor")
        Optional<String> replicationFactor();
    }

    interface Health {
        /**
         * Readiness turns DOWN when no checkpoint completed for this many checkpoint intervals:
         * output is committed only at checkpoints.
         */
        String maxCheckpointLagIntervals();
    }

    interface Admin {
        /** Serve the admin API ({@code true}/{@code false}). */
        String enabled();

        /** The bearer token every admin request must carry; at least 16 characters. */
        Optional<String> token();
    }

    interface Restart {
        /** Failed restarts (exponential delay) before the process gives up and exits non-zero. */
        String maxAttempts();

        String initialBackoff();

        String maxBackoff();
    }

    /** The job's settings in the form the job reads them. */
    default Map<String, String> toSettings() {
        Map<String, String> settings = new HashMap<>();
        settings.put(Settings.INPUT_TOPICS, inputTopics());
        inputTopicPattern()
                .ifPresent(pattern -> settings.put(Settings.INPUT_TOPIC_PATTERN, pattern));
        settings.put(Settings.OUTPUT_TOPIC, outputTopic());
        settings.put(Settings.DEAD_LETTER_TOPIC, deadLetterTopic());
        settings.put(Settings.GROUP_ID, source().groupId());
        settings.put(Settings.START, source().start());
        settings.put(Settings.OFFSET_RESET, source().offsetReset());
        settings.put(Settings.PARTITION_DISCOVERY_INTERVAL, source().partitionDiscoveryInterval());
        settings.put(Settings.EVENT_TIME, eventTime());
        settings.put(Settings.WINDOW_SIZE, windowSize());
        settings.put(Settings.MAX_OUT_OF_ORDERNESS, watermark().maxOutOfOrderness());
        settings.put(Settings.IDLENESS, watermark().idleness());
        settings.put(Settings.ALLOWED_LATENESS, allowedLateness());
        settings.put(Settings.DELIVERY_GUARANTEE, deliveryGuarantee());
        settings.put(Settings.TRANSACTIONAL_ID_PREFIX, transactionalIdPrefix());
        settings.put(Settings.TRANSACTION_TIMEOUT, transactionTimeout());
        settings.put(Settings.CHECKPOINT_INTERVAL, checkpoint().interval());
        settings.put(Settings.CHECKPOINT_TIMEOUT, checkpoint().timeout());
        settings.put(Settings.CHECKPOINT_TOLERABLE_FAILURES, checkpoint().tolerableFailures());
        settings.put(Settings.EXPECTED_RESTART_TIME, expectedRestartTime());
        settings.put(Settings.PARALLELISM, parallelism());
        settings.put(Settings.EVENT_TIME_EARLIEST, eventTimeBounds().earliest());
        settings.put(Settings.EVENT_TIME_MAX_FUTURE, eventTimeBounds().maxFuture());
        settings.put(Settings.DEAD_LETTER_MAX_RECORD_BYTES, deadLetterMaxRecordBytes());

        settings.put(Settings.STATE_BACKEND, state().backend());
        settings.put(Settings.CHECKPOINT_INCREMENTAL, checkpoint().incremental());
        settings.put(Settings.CHECKPOINT_ALIGNED_TIMEOUT, checkpoint().alignedTimeout());
        return settings;
    }
}
