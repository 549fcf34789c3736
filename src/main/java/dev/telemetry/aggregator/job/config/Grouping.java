package dev.telemetry.aggregator.job.config;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

/**
 * A grouping set: the dimensions one output's aggregates are per (always {@code metric}, optionally
 * {@code deviceId} and tags), its topic, and the topics of its rollup levels.
 *
 * <p>Every grouping runs through the same combiner, window and rollup operators, keyed by (series,
 * metric), where the series is a string made of the grouping's other dimensions ({@link
 * #seriesOf}). For the per-device grouping it is the device id itself, so the state of that
 * grouping is, key for key, the state of releases before groupings existed. Any other grouping's
 * series starts with NUL, its {@link #id} and NUL, then holds the device id (if grouped by it) and
 * each grouped tag's value, each after a NUL: the parser refuses NUL in device ids, metrics and
 * tags, so no two groupings' series can meet, and the output writer tells them apart by prefix.
 *
 * @param byDevice whether {@code deviceId} is a dimension
 * @param tagNames the grouped tags' names, sorted (each {@code tags.<name>} in settings)
 * @param topic the topic of the grouping's windows of {@code telemetry.window-size}
 * @param levels the grouping's rollup levels, finest first
 */
public record Grouping(
        boolean byDevice, List<String> tagNames, String topic, List<RollupLevel> levels)
        implements Serializable {
    public static final String DEVICE_ID = "deviceId";
    public static final String METRIC = "metric";
    public static final String TAG_PREFIX = "tags.";

    /** Today's output dimensions, the default of {@code telemetry.group-by}. */
    public static final String DEVICE_AND_METRIC = DEVICE_ID + "," + METRIC;

    /** The dimension value of the series that a grouping's excess series are folded into. */
    public static final String OVERFLOW = "__overflow__";

    private static final char SEPARATOR = '\0';

    /** Today's grouping, per device and metric, without a topic: for operators and tests. */
    public static final Grouping PER_DEVICE = new Grouping(true, List.of(), null, List.of());

    public Grouping {
        tagNames = List.copyOf(tagNames);
        levels = List.copyOf(levels);
    }

    /**
     * Parses a comma-separated dimension list, e.g. {@code metric,tags.region}: {@code deviceId},
     * {@code metric} and {@code tags.<name>}, in any order, {@code metric} required.
     */
    static Grouping parse(
            Setting<?> setting, String dimensions, String topic, List<RollupLevel> levels) {
        boolean byDevice = false;
        boolean byMetric = false;
        TreeSet<String> tags = new TreeSet<>();
        for (String item : dimensions.split(",")) {
            String dimension = item.trim();
            if (dimension.isEmpty()) {
                continue;
            }
            boolean fresh;
            if (dimension.equals(DEVICE_ID)) {
                fresh = !byDevice;
                byDevice = true;
            } else if (dimension.equals(METRIC)) {
                fresh = !byMetric;
                byMetric = true;
            } else if (dimension.startsWith(TAG_PREFIX)
                    && dimension.length() > TAG_PREFIX.length()) {
                fresh = tags.add(dimension.substring(TAG_PREFIX.length()));
            } else {
                throw new InvalidSettingException(
                        setting,
                        "'"
                                + dimension
                                + "' in '"
                                + dimensions.trim()
                                + "' is not a dimension; use deviceId, metric or tags.<name>");
            }
            if (!fresh) {
                throw new InvalidSettingException(
                        setting, "'" + dimensions.trim() + "' names '" + dimension + "' twice");
            }
        }
        if (!byMetric) {
            throw new InvalidSettingException(
                    setting,
                    "'"
                            + dimensions.trim()
                            + "' does not contain metric; every grouping must, since aggregating"
                            + " different metrics together (a temperature with a latency) means"
                            + " nothing");
        }
        return new Grouping(byDevice, new ArrayList<>(tags), topic, levels);
    }

    /**
     * Parses {@code dimensions=topic;dimensions=topic}, e.g. {@code
     * metric,tags.region=telemetry-by-region;metric=telemetry-by-metric}; blanks between semicolons
     * are ignored. Levels are {@link JobOptions}' to add ({@link #withLevels}).
     */
    static List<Grouping> parseAll(Setting<?> setting, String text) {
        List<Grouping> groupings = new ArrayList<>();
        for (String item : text.split(";")) {
            if (item.isBlank()) {
                continue;
            }
            int equals = item.lastIndexOf('=');
            if (equals < 0) {
                throw new InvalidSettingException(
                        setting,
                        "'"
                                + item.trim()
                                + "' is not dimensions=topic, e.g."
                                + " metric,tags.region=telemetry-by-region");
            }
            String topic = item.substring(equals + 1).trim();
            RollupLevel.requireTopicName(setting, topic, item);
            groupings.add(parse(setting, item.substring(0, equals), topic, List.of()));
        }
        return List.copyOf(groupings);
    }

    /** This grouping writing to {@code topic}, with these levels. */
    Grouping withOutput(String topic, List<RollupLevel> levels) {
        return new Grouping(byDevice, tagNames, topic, levels);
    }

    /**
     * This grouping with a level of each size of {@code rollups}, each written to this grouping's
     * topic with {@code -<size>} appended.
     */
    Grouping withLevels(List<RollupLevel> rollups) {
        List<RollupLevel> own = new ArrayList<>();
        for (RollupLevel level : rollups) {
            own.add(new RollupLevel(level.size(), topic + "-" + level.label()));
        }
        return withOutput(topic, own);
    }

    /** Every topic this grouping writes to: its own, then each level's. */
    public List<String> topics() {
        List<String> topics = new ArrayList<>();
        topics.add(topic);
        levels.forEach(level -> topics.add(level.topic()));
        return topics;
    }

    /** Whether this is today's grouping, per device and metric, whose series is the device id. */
    public boolean isDeviceMetric() {
        return byDevice && tagNames.isEmpty();
    }

    /** The dimensions in canonical order: {@code deviceId,metric,tags.a,tags.b}. */
    public String id() {
        StringBuilder id = new StringBuilder();
        if (byDevice) {
            id.append(DEVICE_ID).append(',');
        }
        id.append(METRIC);
        for (String tag : tagNames) {
            id.append(',').append(TAG_PREFIX).append(tag);
        }
        return id.toString();
    }

    /** What every series of this grouping starts with: empty for the per-device grouping. */
    public String seriesPrefix() {
        return isDeviceMetric() ? "" : SEPARATOR + id() + SEPARATOR;
    }

    /**
     * An event's series in this grouping (its dimensions but the metric). A tag the event does not
     * carry counts as the empty value, as a missing label does in Prometheus.
     *
     * @param tags the event's tags, names and values alternating, sorted by name; null for none
     * @param prefix {@link #seriesPrefix()}, which the caller keeps rather than builds per event
     */
    public String seriesOf(String deviceId, String[] tags, String prefix) {
        if (isDeviceMetric()) {
            return deviceId;
        }
        StringBuilder series = new StringBuilder(prefix);
        if (byDevice) {
            series.append(deviceId);
        }
        for (String tag : tagNames) {
            series.append(SEPARATOR).append(valueOf(tags, tag));
        }
        return series.toString();
    }

    private static String valueOf(String[] tags, String name) {
        if (tags != null) {
            for (int i = 0; i < tags.length; i += 2) {
                if (tags[i].equals(name)) {
                    return tags[i + 1];
                }
            }
        }
        return "";
    }

    /**
     * The series a grouping's excess series are folded into (see {@code telemetry.max-series}):
     * every dimension but the metric is {@link #OVERFLOW}.
     */
    public String overflowSeries(String prefix) {
        if (isDeviceMetric()) {
            return OVERFLOW;
        }
        StringBuilder series = new StringBuilder(prefix);
        if (byDevice) {
            series.append(OVERFLOW);
        }
        for (int i = 0; i < tagNames.size(); i++) {
            series.append(SEPARATOR).append(OVERFLOW);
        }
        return series.toString();
    }

    /** Whether {@code series} is one of this grouping's ({@code prefix}: {@link #seriesPrefix}). */
    public boolean owns(String series, String prefix) {
        return isDeviceMetric()
                ? series.isEmpty() || series.charAt(0) != SEPARATOR
                : series.startsWith(prefix);
    }

    /**
     * The dimension values a series of this grouping holds: the device id (null when not grouped by
     * it), then each grouped tag's value, in {@link #tagNames} order.
     */
    public String[] valuesOf(String series, String prefix) {
        if (isDeviceMetric()) {
            return new String[] {series};
        }
        String[] parts = series.substring(prefix.length()).split(String.valueOf(SEPARATOR), -1);
        if (!byDevice) {
            parts[0] = null;
        }
        return parts;
    }
}
