package dev.telemetry.aggregator.job.config;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;

/**
 * The job's settings: each declared once below (name, type, default, meaning), and a set of values
 * for them (property name to text, as in {@code application.yaml} or {@code --name value} program
 * arguments) read through typed accessors whose errors name the setting and its environment
 * variable. A setting without a value takes its declared default, so a job submitted to a Flink
 * cluster behaves like the service with the same settings.
 */
public final class Settings {
    public static final Setting<String> BOOTSTRAP_SERVERS =
            Setting.text(
                    "kafka.bootstrap-servers",
                    "127.0.0.1:9092",
                    "The Kafka brokers, as a comma-separated host:port list.");

    /**
     * Any other Kafka client property, passed unchanged to every client: {@code
     * kafka.properties."max.poll.records"}.
     */
    public static final String KAFKA_PROPERTIES_PREFIX = "kafka.properties.";

    public static final Setting<List<String>> INPUT_TOPICS =
            Setting.list(
                    "telemetry.input-topics", "telemetry", "The topics telemetry is read from.");
    public static final Setting<String> INPUT_TOPIC_PATTERN =
            Setting.text(
                    "telemetry.input-topic-pattern",
                    null,
                    "A regular expression of input topics (matched in full, topics created later"
                            + " included); when set it replaces telemetry.input-topics.");
    public static final Setting<String> OUTPUT_TOPIC =
            Setting.text(
                    "telemetry.output-topic",
                    "telemetry-aggregates",
                    "The topic the aggregates are written to.");
    public static final Setting<String> DEAD_LETTER_TOPIC =
            Setting.text(
                    "telemetry.dead-letter-topic",
                    "telemetry-dlq",
                    "The topic every record that cannot be aggregated goes to, with its reason.");
    public static final Setting<String> GROUP_ID =
            Setting.text(
                    "telemetry.source.group-id",
                    "telemetry-aggregator",
                    "The consumer group the source commits its offsets to (at checkpoints).");
    public static final Setting<OffsetResetStrategy> OFFSET_RESET =
            Setting.choice(
                    "telemetry.source.offset-reset",
                    "earliest",
                    Map.of(
                            "earliest", OffsetResetStrategy.EARLIEST,
                            "latest", OffsetResetStrategy.LATEST,
                            "none", OffsetResetStrategy.NONE),
                    "Where group-offsets starts in partitions without a committed offset.");
    public static final Setting<String> START =
            Setting.of(
                    "telemetry.source.start",
                    "group-offsets | earliest | latest | timestamp:<epoch-millis>"
                            + " | offsets:<topic>:<partition>:<offset>,...",
                    "group-offsets",
                    "Where reading starts when there is no checkpoint to restore.",
                    (setting, text) -> text);
    public static final Setting<Duration> PARTITION_DISCOVERY_INTERVAL =
            Setting.duration(
                    "telemetry.source.partition-discovery-interval",
                    "30s",
                    "How often new partitions, and topics matching the pattern, are looked for.");
    public static final Setting<EventTimeSource> EVENT_TIME =
            Setting.choice(
                    "telemetry.event-time",
                    "payload",
                    Map.of("payload", EventTimeSource.PAYLOAD, "kafka", EventTimeSource.KAFKA),
                    "Where an event's time comes from: its \"timestamp\" field (payload) or the"
                            + " Kafka record's timestamp (kafka).");
    public static final Setting<Duration> WINDOW_SIZE =
            Setting.duration(
                    "telemetry.window-size", "1m", "The size of the tumbling event-time windows.");
    public static final Setting<Duration> MAX_OUT_OF_ORDERNESS =
            Setting.duration(
                    "telemetry.watermark.max-out-of-orderness",
                    "5s",
                    "How far behind the newest event time an event may arrive and still be in"
                            + " its window.");
    public static final Setting<Duration> IDLENESS =
            Setting.duration(
                    "telemetry.watermark.idleness",
                    "30s",
                    "A partition without events for this long stops holding back the watermark.");
    public static final Setting<Optional<Duration>> IDLE_ADVANCE =
            Setting.durationOrOff(
                    "telemetry.watermark.idle-advance",
                    "off",
                    "When a partition has had no events for this long, its event time advances"
                            + " with the wall clock minus max-out-of-orderness, so once all input"
                            + " stops the last windows are emitted without new data. Events older"
                            + " than that arriving later are late: keep it off for backfills that"
                            + " pause.");
    public static final Setting<Duration> ALLOWED_LATENESS =
            Setting.duration(
                    "telemetry.allowed-lateness",
                    "0s",
                    "How long after its window closed an event is still aggregated (the window"
                            + " is emitted again); later events are dead letters (late).");
    public static final Setting<OutputMode> OUTPUT_MODE =
            Setting.choice(
                    "telemetry.output-mode",
                    "final",
                    Map.of("final", OutputMode.FINAL, "upsert", OutputMode.UPSERT),
                    "final: a record per window when it closes, keyed by its series. upsert:"
                            + " keyed by the window, with \"revision\" and \"final\"; early"
                            + " results, corrections for late events on every level, compacted"
                            + " topics.");
    public static final Setting<Optional<Duration>> EARLY_RESULTS_INTERVAL =
            Setting.durationOrOff(
                    "telemetry.early-results-interval",
                    "off",
                    "In upsert mode, how often (processing time) an open window that received"
                            + " events is written as it stands so far (\"final\":false); at"
                            + " least 100ms.");
    public static final Setting<DeliveryGuarantee> DELIVERY_GUARANTEE =
            Setting.choice(
                    "telemetry.delivery-guarantee",
                    "exactly-once",
                    Map.of(
                            "exactly-once", DeliveryGuarantee.EXACTLY_ONCE,
                            "at-least-once", DeliveryGuarantee.AT_LEAST_ONCE,
                            "none", DeliveryGuarantee.NONE),
                    "exactly-once writes output in Kafka transactions committed at checkpoints.");
    public static final Setting<String> TRANSACTIONAL_ID_PREFIX =
            Setting.text(
                    "telemetry.transactional-id-prefix",
                    "telemetry-aggregator",
                    "Unique per deployment and stable across its restarts: the sinks' Kafka"
                            + " transactional ids start with it.");
    public static final Setting<Duration> TRANSACTION_TIMEOUT =
            Setting.duration(
                    "telemetry.transaction-timeout",
                    "10m",
                    "Kafka transaction.timeout.ms of the exactly-once sinks. Must exceed"
                            + " (tolerable-failures + 1) x max(checkpoint interval, checkpoint"
                            + " timeout) + checkpoint timeout + expected-restart-time and not"
                            + " exceed the broker's transaction.max.timeout.ms; both are checked"
                            + " at start-up.");
    public static final Setting<Duration> CHECKPOINT_INTERVAL =
            Setting.duration(
                    "telemetry.checkpoint.interval",
                    "10s",
                    "How often a checkpoint is taken; output is committed at each one.");
    public static final Setting<Duration> CHECKPOINT_TIMEOUT =
            Setting.duration(
                    "telemetry.checkpoint.timeout", "1m", "How long a checkpoint may take.");
    public static final Setting<Integer> CHECKPOINT_TOLERABLE_FAILURES =
            Setting.nonNegativeInt(
                    "telemetry.checkpoint.tolerable-failures",
                    "3",
                    "Consecutive failed checkpoints (broker away, volume full) the job rides out"
                            + " before it fails and restarts; each keeps the open transactions"
                            + " open longer.");
    public static final Setting<Boolean> CHECKPOINT_INCREMENTAL =
            Setting.bool(
                    "telemetry.checkpoint.incremental",
                    "false",
                    "Upload only the RocksDB files that changed since the last checkpoint (needs"
                            + " telemetry.state.backend=rocksdb).");
    public static final Setting<Optional<Duration>> CHECKPOINT_ALIGNED_TIMEOUT =
            Setting.durationOrOff(
                    "telemetry.checkpoint.aligned-timeout",
                    "0s",
                    "How long checkpoint barriers may queue behind in-flight records before the"
                            + " checkpoint stores those records instead (unaligned); 0s:"
                            + " unaligned from the start; off: always aligned.");
    public static final Setting<Duration> EXPECTED_RESTART_TIME =
            Setting.duration(
                    "telemetry.expected-restart-time",
                    "2m",
                    "How long a crashed instance may take to come back; open transactions must"
                            + " outlive it.");
    public static final Setting<Integer> PARALLELISM =
            Setting.positiveInt(
                    "telemetry.parallelism",
                    "1",
                    "Parallelism of every operator (and task slots of the embedded cluster).");
    public static final Setting<String> STATE_BACKEND =
            Setting.choice(
                    "telemetry.state.backend",
                    "hashmap",
                    Map.of(
                            JobOptions.HASHMAP,
                            JobOptions.HASHMAP,
                            JobOptions.ROCKSDB,
                            JobOptions.ROCKSDB),
                    "hashmap: window state on the heap, fastest, bounded by the heap. rocksdb:"
                            + " on local disk under java.io.tmpdir, bounded by the disk, slower"
                            + " per event.");
    public static final Setting<Instant> EVENT_TIME_EARLIEST =
            Setting.instant(
                    "telemetry.event-time-bounds.earliest",
                    "2000-01-01T00:00:00Z",
                    "Earlier event times are dead letters (timestamp-out-of-range): sensors that"
                            + " lost their clock report 1970.");
    public static final Setting<Duration> EVENT_TIME_MAX_FUTURE =
            Setting.duration(
                    "telemetry.event-time-bounds.max-future",
                    "1d",
                    "Event times further ahead of this process's clock (when the record is read)"
                            + " are dead letters (timestamp-out-of-range).");
    public static final Setting<Optional<Integer>> MAX_SERIES =
            Setting.positiveIntOrOff(
                    "telemetry.max-series",
                    "100000",
                    "The most (series, metric) keys per grouping and window: beyond it, an event"
                        + " counts under its grouping's overflow series (every dimension but the"
                        + " metric __overflow__), so a flood of unique device ids or tag values"
                        + " cannot exhaust memory. Counted in seriesOverflowedEvents. Each input"
                        + " subtask admits its share (this divided by the parallelism). off: no"
                        + " cap.");
    public static final Setting<Integer> TAGS_MAX_COUNT =
            Setting.positiveInt(
                    "telemetry.tags.max-count",
                    "16",
                    "The most tags an event may carry (\"tags\":{\"name\":\"value\",...});"
                            + " an event with more is a dead letter (tags-limit-exceeded).");
    public static final Setting<Integer> TAGS_MAX_NAME_LENGTH =
            Setting.positiveInt(
                    "telemetry.tags.max-name-length",
                    "64",
                    "The longest tag name, in characters; a longer one makes the event a dead"
                            + " letter (tags-limit-exceeded).");
    public static final Setting<Integer> TAGS_MAX_VALUE_LENGTH =
            Setting.positiveInt(
                    "telemetry.tags.max-value-length",
                    "256",
                    "The longest tag value, in characters; a longer one makes the event a dead"
                            + " letter (tags-limit-exceeded).");
    public static final Setting<Integer> DEAD_LETTER_MAX_RECORD_BYTES =
            Setting.positiveInt(
                    "telemetry.dead-letter-max-record-bytes",
                    "1048576",
                    "The largest dead-letter record; start-up lowers it to the topic's"
                            + " max.message.bytes and the producer's max.request.size. A larger"
                            + " dead letter is truncated to fit, with headers saying so.");

    public static final Setting<List<Double>> PERCENTILES =
            Setting.of(
                    "telemetry.percentiles",
                    "comma-separated quantiles in (0, 1)",
                    null,
                    "Percentiles every output record gains, e.g. 0.5,0.9,0.99: \"percentiles\":"
                            + " {\"0.5\": v, ...}, each within telemetry.percentile-accuracy of the"
                            + " exact value at rank floor(q x (count - 1)) of the window's sorted"
                            + " values. Unset: none, and the output is as without percentiles.",
                    Settings::quantiles);
    public static final Setting<Double> PERCENTILE_ACCURACY =
            Setting.of(
                    "telemetry.percentile-accuracy",
                    "number in [0.005, 1)",
                    "0.01",
                    "The relative accuracy of the percentiles: of the DDSketch kept per window.",
                    Settings::accuracy);
    public static final Setting<Boolean> OUTPUT_SKETCH =
            Setting.bool(
                    "telemetry.output-sketch",
                    "false",
                    "Add \"sketch\": the window's DDSketch in its standard protobuf encoding,"
                            + " base64, which a consumer merges across windows or devices and reads"
                            + " any quantile from.");

    public static final Setting<List<RollupLevel>> ROLLUPS =
            Setting.of(
                    "telemetry.rollups",
                    "comma-separated size=topic",
                    null,
                    "Coarser windows computed from the finer ones in the same job, e.g."
                            + " 1m=telemetry-aggregates-1m,1h=telemetry-aggregates-1h: each level's"
                            + " size a whole multiple of the level below (the first of"
                            + " telemetry.window-size), each level merged from the summaries of the"
                            + " level below (percentiles included) and written to its own topic, in"
                            + " the same transactions, once its window has closed (plus allowed"
                            + " lateness). Unset: none.",
                    RollupLevel::parseAll);
    public static final Setting<Grouping> GROUP_BY =
            Setting.of(
                    "telemetry.group-by",
                    "comma-separated dimensions",
                    Grouping.DEVICE_AND_METRIC,
                    "The dimensions of the output topic's aggregates: deviceId, metric (always)"
                            + " and tags.<name>, comma-separated. The default is one aggregate per"
                            + " device and metric.",
                    (setting, text) -> Grouping.parse(setting, text, null, List.of()));
    public static final Setting<List<Grouping>> GROUPINGS =
            Setting.of(
                    "telemetry.groupings",
                    "semicolon-separated dimensions=topic",
                    null,
                    "More outputs, each grouped by its own dimensions and written to its own"
                            + " topic in the same transactions, e.g."
                            + " metric,tags.region=telemetry-by-region;metric=telemetry-by-metric."
                            + " Each gets the percentiles and every rollup level, a level's topic"
                            + " being the grouping's topic with -<size> appended"
                            + " (telemetry-by-region-1h). Unset: none.",
                    Grouping::parseAll);

    /** Every job setting declared above. */
    public static final List<Setting<?>> ALL = Setting.declaredIn(Settings.class);

    private final Map<String, String> values;

    private static List<Double> quantiles(Setting<List<Double>> setting, String text) {
        List<Double> quantiles = new ArrayList<>();
        for (String item : text.split(",")) {
            if (!item.isBlank()) {
                quantiles.add(fraction(setting, item.trim()));
            }
        }
        return quantiles.stream().distinct().sorted().toList();
    }

    /**
     * The finest accuracy allowed. A window's sketch has at most 2048 bins per sign, each (1 + a) /
     * (1 - a) times the one before: at 0.005 they span magnitudes 10^8.9 apart (at the default
     * 0.01, 10^17.8), and a finer sketch would merge the smallest values of all but narrow
     * distributions, losing the accuracy it was asked for.
     */
    public static final double FINEST_ACCURACY = 0.005;

    private static double accuracy(Setting<Double> setting, String text) {
        double accuracy = fraction(setting, text);
        if (accuracy < FINEST_ACCURACY) {
            throw new InvalidSettingException(
                    setting,
                    "'"
                            + text
                            + "' is finer than "
                            + FINEST_ACCURACY
                            + ": a sketch's 2048 bins would span too narrow a range of values");
        }
        return accuracy;
    }

    /** A number strictly between 0 and 1. */
    private static double fraction(Setting<?> setting, String text) {
        try {
            double value = Double.parseDouble(text);
            if (value > 0 && value < 1) {
                return value;
            }
        } catch (NumberFormatException e) {
            // Reported below with the same message as a number out of range.
        }
        throw new InvalidSettingException(
                setting, "'" + text + "' is not a number between 0 and 1 (exclusive)");
    }

    public Settings(Map<String, String> values) {
        this.values = new HashMap<>(values);
    }

    /** The environment variable that overrides a setting, by MicroProfile Config's rule. */
    public static String environmentVariable(String setting) {
        return setting.replaceAll("[^A-Za-z0-9]", "_").toUpperCase(Locale.ROOT);
    }

    public static String environmentVariable(Setting<?> setting) {
        return environmentVariable(setting.key());
    }

    /** The setting's text, or its default; empty if neither is there (or it is blank). */
    public Optional<String> text(Setting<?> setting) {
        String value = values.getOrDefault(setting.key(), setting.defaultValue().orElse(null));
        if (value == null || value.isBlank()) {
            return Optional.empty();
        }
        return Optional.of(value.trim());
    }

    /**
     * The setting's value, or its default.
     *
     * @throws InvalidSettingException if it has neither, or its value is not valid
     */
    public <T> T get(Setting<T> setting) {
        return setting.parse(
                text(setting)
                        .orElseThrow(
                                () -> new InvalidSettingException(setting, "a value is required")));
    }

    /** The setting's value or default, parsed; empty if it has neither. */
    public <T> Optional<T> find(Setting<T> setting) {
        return text(setting).map(setting::parse);
    }

    /** Kafka client properties passed through unchanged ({@code kafka.properties.<name>}). */
    public Map<String, String> withPrefix(String prefix) {
        Map<String, String> result = new HashMap<>();
        values.forEach(
                (key, value) -> {
                    if (key.startsWith(prefix) && value != null) {
                        result.put(key.substring(prefix.length()), value);
                    }
                });
        return result;
    }
}
