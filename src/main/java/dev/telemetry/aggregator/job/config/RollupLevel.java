package dev.telemetry.aggregator.job.config;

import java.io.Serializable;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * One rollup level: windows of {@code size}, each merged from the summaries of the level below (the
 * first level's from the windows of {@code telemetry.window-size}), written to {@code topic}.
 *
 * @param size the level's window size, a whole multiple of the level below's
 * @param topic the topic its aggregates are written to
 */
public record RollupLevel(Duration size, String topic) implements Serializable {
    /** The characters and length Kafka allows in a topic name. */
    private static final Pattern TOPIC_NAME = Pattern.compile("[a-zA-Z0-9._-]{1,249}");

    /**
     * Parses {@code size=topic,size=topic}, e.g. {@code 1m=telemetry-aggregates-1m}; blanks between
     * commas are ignored. Only the syntax is checked here; how levels relate to the window size and
     * the other topics is {@link JobOptions}' business.
     */
    static List<RollupLevel> parseAll(Setting<?> setting, String text) {
        List<RollupLevel> levels = new ArrayList<>();
        for (String item : text.split(",")) {
            if (item.isBlank()) {
                continue;
            }
            int equals = item.indexOf('=');
            if (equals < 0) {
                throw new InvalidSettingException(
                        setting,
                        "'" + item.trim() + "' is not size=topic, e.g. 1m=telemetry-aggregates-1m");
            }
            String size = item.substring(0, equals).trim();
            String topic = item.substring(equals + 1).trim();
            Duration duration;
            try {
                duration = Setting.parseDuration(setting.key(), size);
            } catch (InvalidSettingException e) {
                throw new InvalidSettingException(
                        setting,
                        "'"
                                + size
                                + "' in '"
                                + item.trim()
                                + "' is not a window size; use a number with a unit (10s, 1m, 1h,"
                                + " 1d)");
            }
            requireTopicName(setting, topic, item);
            levels.add(new RollupLevel(duration, topic));
        }
        return List.copyOf(levels);
    }

    /** Refuses what Kafka would refuse as a topic name, quoting the setting's {@code item}. */
    static void requireTopicName(Setting<?> setting, String topic, String item) {
        if (!TOPIC_NAME.matcher(topic).matches() || topic.equals(".") || topic.equals("..")) {
            throw new InvalidSettingException(
                    setting,
                    "'"
                            + topic
                            + "' in '"
                            + item.trim()
                            + "' is not a Kafka topic name (letters, digits, '.', '_', '-', at"
                            + " most 249)");
        }
    }

    /** The size as written in settings, in its largest whole unit: {@code 1m}, {@code 90s}. */
    public String label() {
        return label(size);
    }

    /** A duration in its largest whole unit: {@code 1d}, {@code 1h}, {@code 90s}, {@code 500ms}. */
    public static String label(Duration size) {
        long millis = size.toMillis();
        long[] units = {86_400_000, 3_600_000, 60_000, 1000};
        String[] names = {"d", "h", "m", "s"};
        for (int i = 0; i < units.length; i++) {
            if (millis % units[i] == 0 && millis > 0) {
                return millis / units[i] + names[i];
            }
        }
        return millis + "ms";
    }
}
