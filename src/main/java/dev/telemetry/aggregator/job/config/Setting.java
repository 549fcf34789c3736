package dev.telemetry.aggregator.job.config;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One setting, declared once: its property name (and so its environment variable), its type, its
 * default and what it means, in the style of Flink's {@code ConfigOption}. The job's {@code main}
 * on a Flink cluster and the service read the same declarations; {@code docs/configuration.md} and
 * the settings part of {@code application.yaml} are generated from them.
 *
 * <p>Values are parsed here and not by Flink's or SmallRye's converters, so a bad value fails with
 * a message that names the setting, its environment variable, the value and what would do.
 *
 * <p>Long because it holds each value type's parser with its error message.
 *
 * @param <T> the parsed value's type
 */
public final class Setting<T> {
    private static final Pattern DURATION =
            Pattern.compile("(\\d+)\\s*(ms|s|m|h|d)", Pattern.CASE_INSENSITIVE);

    /** Parses a setting's text (never blank) into its value. */
    @FunctionalInterface
    public interface Parser<T> {
        T parse(Setting<T> setting, String text);
    }

    private final String key;
    private final String type;
    private final String defaultValue;
    private final String description;
    private final boolean secret;
    private final Parser<T> parser;

    private Setting(
            String key,
            String type,
            String defaultValue,
            String description,
            boolean secret,
            Parser<T> parser) {
        if (!key.matches("[a-z0-9.-]+")) {
            throw new IllegalArgumentException("Not a property name: " + key);
        }
        this.key = key;
        this.type = type;
        this.defaultValue = defaultValue;
        this.description = description;
        this.secret = secret;
        this.parser = parser;
    }

    /** Free text, e.g. a topic name. */
    public static Setting<String> text(String key, String defaultValue, String description) {
        return new Setting<>(key, "text", defaultValue, description, false, (s, text) -> text);
    }

    /** A secret: never logged, never given a default, documented as such. */
    public static Setting<String> secret(String key, String description) {
        return new Setting<>(key, "secret", null, description, true, (s, text) -> text);
    }

    /** A comma-separated list; blanks between commas are ignored. */
    public static Setting<List<String>> list(String key, String defaultValue, String description) {
        return new Setting<>(
                key,
                "comma-separated list",
                defaultValue,
                description,
                false,
                (s, text) ->
                        Arrays.stream(text.split(","))
                                .map(String::trim)
                                .filter(item -> !item.isEmpty())
                                .toList());
    }

    /**
     * A duration: {@code 500ms}, {@code 10s}, {@code 1m}, {@code 2h}, {@code 1d} or ISO-8601
     * ({@code PT1M}). A bare number is rejected: its unit would be a guess.
     */
    public static Setting<Duration> duration(String key, String defaultValue, String description) {
        return new Setting<>(
                key,
                "duration",
                defaultValue,
                description,
                false,
                (s, text) -> parseDuration(s.key, text));
    }

    /** A duration, or {@code off} (empty). */
    public static Setting<Optional<Duration>> durationOrOff(
            String key, String defaultValue, String description) {
        return new Setting<>(
                key,
                "duration or off",
                defaultValue,
                description,
                false,
                (s, text) -> {
                    if (text.equalsIgnoreCase("off")) {
                        return Optional.empty();
                    }
                    try {
                        return Optional.of(parseDuration(s.key, text));
                    } catch (InvalidSettingException e) {
                        throw new InvalidSettingException(
                                s,
                                "'"
                                        + text
                                        + "' is neither off nor a duration (0s, 500ms, 10s, 1m)");
                    }
                });
    }

    /** A whole number above zero, or {@code off} (empty). */
    public static Setting<Optional<Integer>> positiveIntOrOff(
            String key, String defaultValue, String description) {
        return new Setting<>(
                key,
                "integer > 0 or off",
                defaultValue,
                description,
                false,
                (s, text) ->
                        text.equalsIgnoreCase("off")
                                ? Optional.empty()
                                : Optional.of(
                                        wholeNumber(
                                                s,
                                                text,
                                                1,
                                                "is neither off nor a positive integer")));
    }

    /** A whole number above zero. */
    public static Setting<Integer> positiveInt(
            String key, String defaultValue, String description) {
        return new Setting<>(
                key,
                "integer > 0",
                defaultValue,
                description,
                false,
                (s, text) -> wholeNumber(s, text, 1, "is not a positive integer"));
    }

    /** A whole number, zero or above. */
    public static Setting<Integer> nonNegativeInt(
            String key, String defaultValue, String description) {
        return new Setting<>(
                key,
                "integer >= 0",
                defaultValue,
                description,
                false,
                (s, text) -> wholeNumber(s, text, 0, "is not a whole number >= 0"));
    }

    /** {@code true} or {@code false}. */
    public static Setting<Boolean> bool(String key, String defaultValue, String description) {
        Map<String, Boolean> choices = new LinkedHashMap<>();
        choices.put("false", Boolean.FALSE);
        choices.put("true", Boolean.TRUE);
        return choice(key, defaultValue, choices, description);
    }

    /** An ISO-8601 instant, e.g. {@code 2000-01-01T00:00:00Z}. */
    public static Setting<Instant> instant(String key, String defaultValue, String description) {
        return new Setting<>(
                key,
                "ISO-8601 instant",
                defaultValue,
                description,
                false,
                (s, text) -> {
                    try {
                        return Instant.parse(text);
                    } catch (DateTimeParseException e) {
                        throw new InvalidSettingException(
                                s,
                                "'"
                                        + text
                                        + "' is not an ISO-8601 instant, e.g."
                                        + " 2000-01-01T00:00:00Z");
                    }
                });
    }

    /**
     * One of a fixed set of choices (the map's keys, lower case), matched case-insensitively; the
     * error lists the choices.
     */
    public static <E> Setting<E> choice(
            String key, String defaultValue, Map<String, E> choices, String description) {
        Map<String, E> copy = Map.copyOf(choices);
        List<String> names = copy.keySet().stream().sorted().toList();
        return new Setting<>(
                key,
                String.join(" | ", names),
                defaultValue,
                description,
                false,
                (s, text) -> {
                    E value = copy.get(text.toLowerCase(Locale.ROOT));
                    if (value == null) {
                        throw new InvalidSettingException(
                                s, "'" + text + "' is not one of " + String.join(", ", names));
                    }
                    return value;
                });
    }

    /** A setting of another type, e.g. one parsed by its own class ({@link StartPosition}). */
    public static <V> Setting<V> of(
            String key, String type, String defaultValue, String description, Parser<V> parser) {
        return new Setting<>(key, type, defaultValue, description, false, parser);
    }

    /**
     * The settings a class declares (its public static final {@code Setting} fields), by property
     * name: a declaration is all it takes for a setting to be read, checked and documented.
     */
    public static List<Setting<?>> declaredIn(Class<?> declaring) {
        List<Setting<?>> declared = new ArrayList<>();
        for (Field field : declaring.getFields()) {
            int modifiers = field.getModifiers();
            if (field.getType() == Setting.class
                    && Modifier.isStatic(modifiers)
                    && Modifier.isFinal(modifiers)) {
                try {
                    declared.add((Setting<?>) field.get(null));
                } catch (IllegalAccessException e) {
                    throw new IllegalStateException(e);
                }
            }
        }
        declared.sort(Comparator.comparing(Setting::key));
        return List.copyOf(declared);
    }

    public String key() {
        return key;
    }

    /** The environment variable that overrides it, by MicroProfile Config's rule. */
    public String environmentVariable() {
        return Settings.environmentVariable(key);
    }

    /** What values it takes, for the documentation. */
    public String type() {
        return type;
    }

    /** The default as text; empty when the setting has none (it is then optional or required). */
    public Optional<String> defaultValue() {
        return Optional.ofNullable(defaultValue);
    }

    public String description() {
        return description;
    }

    public boolean isSecret() {
        return secret;
    }

    /**
     * Parses a value.
     *
     * @throws InvalidSettingException naming this setting and its environment variable
     */
    public T parse(String text) {
        return parser.parse(this, text.trim());
    }

    /** The property name, so a setting reads naturally in messages. */
    @Override
    public String toString() {
        return key;
    }

    private static int wholeNumber(Setting<?> setting, String text, int min, String problem) {
        try {
            int value = Integer.parseInt(text);
            if (value >= min) {
                return value;
            }
        } catch (NumberFormatException e) {
            // Reported below with the same message as a number out of range.
        }
        throw new InvalidSettingException(setting, "'" + text + "' " + problem);
    }

    /**
     * Parses {@code 500ms}, {@code 10s}, {@code 1m}, {@code 2h}, {@code 1d} or ISO-8601 ({@code
     * PT1M}).
     *
     * @param name the setting, for the message
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
