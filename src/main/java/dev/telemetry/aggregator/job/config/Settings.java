package dev.telemetry.aggregator.job.config;

import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Raw settings (property name to text, as in {@code application.yaml} or {@code --name value}
 * program arguments) with typed accessors whose errors name the setting and its environment
 * variable. Missing values fall back to {@link #DEFAULTS}, so a job submitted to a Flink cluster
 * behaves like the service with the same settings.
 */
public final class Settings {
    public static final String BOOTSTRAP_SERVERS = "kafka.bootstrap-servers";
    public static final String KAFKA_PROPERTIES_PREFIX = "kafka.properties.";
    public static final String INPUT_TOPICS = "telemetry.input-topics";
    public static final String INPUT_TOPIC_PATTERN = "telemetry.input-topic-pattern";
    public static final String OUTPUT_TOPIC = "telemetry.output-topic";
    public static final String DEAD_LETTER_TOPIC = "telemetry.dead-letter-topic";
    public static final String GROUP_ID = "telemetry.source.group-id";
    public static final String START = "telemetry.source.start";
    public static final String OFFSET_RESET = "telemetry.source.offset-reset";
    public static final String PARTITION_DISCOVERY_INTERVAL =
            "telemetry.source.partition-discovery-interval";
    public static final String EVENT_TIME = "telemetry.event-time";
    public static final String WINDOW_SIZE = "telemetry.window-size";
    public static final String MAX_OUT_OF_ORDERNESS = "telemetry.watermark.max-out-of-orderness";
    public static final String IDLENESS = "telemetry.watermark.idleness";
    public static final String ALLOWED_LATENESS = "telemetry.allowed-lateness";
    public static final String DELIVERY_GUARANTEE = "telemetry.delivery-guarantee";
    public static final String TRANSACTIONAL_ID_PREFIX = "telemetry.transactional-id-prefix";
    public static final String TRANSACTION_TIMEOUT = "telemetry.transaction-timeout";
    public static final String CHECKPOINT_INTERVAL = "telemetry.checkpoint.interval";
    public static final String CHECKPOINT_TIMEOUT = "telemetry.checkpoint.timeout";
    public static final String CHECKPOINT_TOLERABLE_FAILURES =
            "telemetry.checkpoint.tolerable-failures";
    public static final String EXPECTED_RESTART_TIME = "telemetry.expected-restart-time";
    public static final String PARALLELISM = "telemetry.parallelism";
    public static final String EVENT_TIME_EARLIEST = "telemetry.event-time-bounds.earliest";
    public static final String EVENT_TIME_MAX_FUTURE = "telemetry.event-time-bounds.max-future";
    public static final String DEAD_LETTER_MAX_RECORD_BYTES =
            "telemetry.dead-letter-max-record-bytes";
    public static final String STATE_BACKEND = "telemetry.state.backend";
    public static final String CHECKPOINT_INCREMENTAL = "telemetry.checkpoint.incremental";
    public static final String CHECKPOINT_ALIGNED_TIMEOUT = "telemetry.checkpoint.aligned-timeout";

    /** Defaults for a job started without the service (e.g. on a Flink cluster). */
    public static final Map<String, String> DEFAULTS =
            Map.ofEntries(
                    Map.entry(INPUT_TOPICS, "telemetry"),
                    Map.entry(OUTPUT_TOPIC, "telemetry-aggregates"),
                    Map.entry(DEAD_LETTER_TOPIC, "telemetry-dlq"),
                    Map.entry(GROUP_ID, "telemetry-aggregator"),
                    Map.entry(START, "group-offsets"),
                    Map.entry(OFFSET_RESET, "earliest"),
                    Map.entry(PARTITION_DISCOVERY_INTERVAL, "30s"),
                    Map.entry(EVENT_TIME, "payload"),
                    Map.entry(WINDOW_SIZE, "1m"),
                    Map.entry(MAX_OUT_OF_ORDERNESS, "5s"),
                    Map.entry(IDLENESS, "30s"),
                    Map.entry(ALLOWED_LATENESS, "0s"),
                    Map.entry(DELIVERY_GUARANTEE, "exactly-once"),
                    Map.entry(TRANSACTIONAL_ID_PREFIX, "telemetry-aggregator"),
                    Map.entry(TRANSACTION_TIMEOUT, "10m"),
                    Map.entry(CHECKPOINT_INTERVAL, "10s"),
                    Map.entry(CHECKPOINT_TIMEOUT, "1m"),
                    Map.entry(CHECKPOINT_TOLERABLE_FAILURES, "3"),
                    Map.entry(EXPECTED_RESTART_TIME, "2m"),
                    Map.entry(PARALLELISM, "1"),
                    Map.entry(EVENT_TIME_EARLIEST, "2000-01-01T00:00:00Z"),
                    Map.entry(EVENT_TIME_MAX_FUTURE, "1d"),
                    Map.entry(DEAD_LETTER_MAX_RECORD_BYTES, "1048576"),
                    Map.entry(STATE_BACKEND, "hashmap"),
                    Map.entry(CHECKPOINT_INCREMENTAL, "false"),
                    Map.entry(CHECKPOINT_ALIGNED_TIMEOUT, "0s"));

    private static final Pattern DURATION =
            Pattern.compile("(\\d+)\\s*(ms|s|m|h|d)", Pattern.CASE_INSENSITIVE);

    private final Map<String, String> values;

    public Settings(Map<String, String> values) {
        this.values = new HashMap<>(values);
    }

    /** The environment variable that overrides a setting, by MicroProfile Config's rule. */
    public static String environmentVariable(String setting) {
        return setting.replaceAll("[^A-Za-z0-9]", "_").toUpperCase(Locale.ROOT);
    }

    public Optional<String> optional(String name) {
        String value = values.getOrDefault(name, DEFAULTS.get(name));
        if (value == null || value.isBlank()) {
            return Optional.empty();
        }
        return Optional.of(value.trim());
    }

    public String required(String name) {
        return optional(name)
                .orElseThrow(() -> new InvalidSettingException(name, "a value is required"));
    }

    public List<String> list(String name) {
        return optional(name)
                .map(
                        text ->
                                Arrays.stream(text.split(","))
                                        .map(String::trim)
                                        .filter(item -> !item.isEmpty())
                                        .toList())
                .orElse(List.of());
    }

    public Duration duration(String name) {
        return parseDuration(name, required(name));
    }

    /** A duration, or empty for {@code off}. */
    public Optional<Duration> durationOrOff(String name) {
        String text = required(name);
        if (text.trim().equalsIgnoreCase("off")) {
            return Optional.empty();
        }
        try {
            return Optional.of(parseDuration(name, text));
        } catch (InvalidSettingException e) {
            throw new InvalidSettingException(
                    name, "'" + text + "' is neither off nor a duration (0s, 500ms, 10s, 1m)");
        }
    }

    public int positiveInt(String name) {
        String text = required(name);
        try {
            int value = Integer.parseInt(text);
            if (value > 0) {
                return value;
            }
        } catch (NumberFormatException e) {
            // Reported below with the same message as a non-positive number.
        }
        throw new InvalidSettingException(name, "'" + text + "' is not a positive integer");
    }

    /** An ISO-8601 instant, e.g. {@code 2000-01-01T00:00:00Z}. */
    public Instant instant(String name) {
        String text = required(name);
        try {
            return Instant.parse(text);
        } catch (DateTimeParseException e) {
            throw new InvalidSettingException(
                    name, "'" + text + "' is not an ISO-8601 instant, e.g. 2000-01-01T00:00:00Z");
        }
    }

    public int nonNegativeInt(String name) {
        String text = required(name);
        try {
            int value = Integer.parseInt(text);
            if (value >= 0) {
                return value;
            }
        } catch (NumberFormatException e) {
            // Reported below with the same message as a negative number.
        }
        throw new InvalidSettingException(name, "'" + text + "' is not a whole number >= 0");
    }

    public boolean bool(String name) {
        return choice(name, Map.of("true", Boolean.TRUE, "false", Boolean.FALSE));
    }

    /** One of a fixed set of choices, matched case-insensitively; the error lists the choices. */
    public <T> T choice(String name, Map<String, T> choices) {
        String text = required(name);
        T value = choices.get(text.toLowerCase(Locale.ROOT));
        if (value == null) {
            throw new InvalidSettingException(
                    name,
                    "'"
                            + text
                            + "' is not one of "
                            + String.join(", ", choices.keySet().stream().sorted().toList()));
        }
        return value;
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

    /**
     * Parses {@code 500ms}, {@code 10s}, {@code 1m}, {@code 2h}, {@code 1d} or ISO-8601 ({@code
     * PT1M}). A bare number is rejected: its unit would be a guess.
     */
    public static Duration parseDuration(String name, String text) {
        Matcher matcher = DURATION.matcher(text.trim());
        try {
            if (matcher.matches()) {
                long amount = Long.parseLong(matcher.group(1));
                Duration duration =
                        switch (matcher.group(2).toLowerCase(Locale.ROOT)) {
                            case "ms" -> Duration.ofMillis(amount);
                            case "s" -> Duration.ofSeconds(amount);
                            case "m" -> Duration.ofMinutes(amount);
                            case "h" -> Duration.ofHours(amount);
                            default -> Duration.ofDays(amount);
                        };
                // Flink and Kafka take milliseconds as a long; fail here, not deep in start-up.
                duration.toMillis();
                return duration;
            }
            Duration duration = Duration.parse(text.trim());
            if (!duration.isNegative()) {
                duration.toMillis();
                return duration;
            }
        } catch (DateTimeParseException | NumberFormatException | ArithmeticException e) {
            // Not a duration, or too large for milliseconds in a long; reported below.
        }
        throw new InvalidSettingException(
                name,
                "'"
                        + text
                        + "' is not a duration; use a number with a unit (500ms, 10s, 1m, 2h, 1d)"
                        + " or ISO-8601 (PT1M)");
    }
}
