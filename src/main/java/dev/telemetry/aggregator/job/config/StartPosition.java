package dev.telemetry.aggregator.job.config;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;
import org.apache.kafka.common.TopicPartition;

/**
 * Where the source starts when there is no checkpoint or savepoint to restore (a restore always
 * wins: the offsets in the snapshot are the truth).
 *
 * <p>Text forms: {@code group-offsets} (the group's committed offsets, else the offset-reset
 * fallback), {@code earliest}, {@code latest}, {@code timestamp:<epoch-millis>} and {@code
 * offsets:<topic>:<partition>:<offset>,...} (unlisted partitions use the fallback).
 */
public final class StartPosition implements Serializable {
    private static final long serialVersionUID = 1L;

    public enum Kind {
        GROUP_OFFSETS,
        EARLIEST,
        LATEST,
        TIMESTAMP,
        SPECIFIC_OFFSETS
    }

    private final Kind kind;
    private final long timestamp;
    private final LinkedHashMap<TopicPartition, Long> offsets;
    private final OffsetResetStrategy fallback;

    private StartPosition(
            Kind kind,
            long timestamp,
            Map<TopicPartition, Long> offsets,
            OffsetResetStrategy fallback) {
        this.kind = kind;
        this.timestamp = timestamp;
        this.offsets = new LinkedHashMap<>(offsets);
        this.fallback = fallback;
    }

    /**
     * @param setting the setting's name, for error messages
     * @param fallback where to start in partitions that have no committed (or listed) offset
     */
    public static StartPosition parse(String setting, String text, OffsetResetStrategy fallback) {
        String trimmed = text.trim();
        String lower = trimmed.toLowerCase(Locale.ROOT);
        switch (lower) {
            case "group-offsets":
                return new StartPosition(Kind.GROUP_OFFSETS, 0, Map.of(), fallback);
            case "earliest":
                return new StartPosition(Kind.EARLIEST, 0, Map.of(), fallback);
            case "latest":
                return new StartPosition(Kind.LATEST, 0, Map.of(), fallback);
            default:
                break;
        }
        if (lower.startsWith("timestamp:")) {
            String millis = trimmed.substring("timestamp:".length());
            try {
                long timestamp = Long.parseLong(millis);
                if (timestamp >= 0) {
                    return new StartPosition(Kind.TIMESTAMP, timestamp, Map.of(), fallback);
                }
            } catch (NumberFormatException e) {
                // Reported below.
            }
            throw new InvalidSettingException(
                    setting, "'" + millis + "' is not a timestamp in epoch milliseconds (>= 0)");
        }
        if (lower.startsWith("offsets:")) {
            return new StartPosition(
                    Kind.SPECIFIC_OFFSETS,
                    0,
                    parseOffsets(setting, trimmed.substring("offsets:".length())),
                    fallback);
        }
        throw new InvalidSettingException(
                setting,
                "'"
                        + text
                        + "' is not a start position; use group-offsets, earliest, latest,"
                        + " timestamp:<epoch-millis> or offsets:<topic>:<partition>:<offset>,...");
    }

    private static Map<TopicPartition, Long> parseOffsets(String setting, String list) {
        Map<TopicPartition, Long> offsets = new LinkedHashMap<>();
        for (String entry : list.split(",")) {
            String[] parts = entry.trim().split(":");
            try {
                if (parts.length == 3 && !parts[0].isEmpty()) {
                    int partition = Integer.parseInt(parts[1]);
                    long offset = Long.parseLong(parts[2]);
                    if (partition >= 0 && offset >= 0) {
                        offsets.put(new TopicPartition(parts[0], partition), offset);
                        continue;
                    }
                }
            } catch (NumberFormatException e) {
                // Reported below.
            }
            throw new InvalidSettingException(
                    setting,
                    "'"
                            + entry.trim()
                            + "' is not <topic>:<partition>:<offset> with a non-negative partition"
                            + " and offset");
        }
        if (offsets.isEmpty()) {
            // "offsets:," splits into no entries at all; starting from the fallback everywhere
            // would silently ignore what the user meant to pin.
            throw new InvalidSettingException(
                    setting, "list at least one <topic>:<partition>:<offset> after 'offsets:'");
        }
        return offsets;
    }

    public OffsetsInitializer toOffsetsInitializer() {
        return switch (kind) {
            case GROUP_OFFSETS -> OffsetsInitializer.committedOffsets(fallback);
            case EARLIEST -> OffsetsInitializer.earliest();
            case LATEST -> OffsetsInitializer.latest();
            case TIMESTAMP -> OffsetsInitializer.timestamp(timestamp);
            case SPECIFIC_OFFSETS -> OffsetsInitializer.offsets(offsets, fallback);
        };
    }

    public Kind kind() {
        return kind;
    }

    public long timestamp() {
        return timestamp;
    }

    public Map<TopicPartition, Long> offsets() {
        return offsets;
    }

    public OffsetResetStrategy fallback() {
        return fallback;
    }

    @Override
    public String toString() {
        return switch (kind) {
            case GROUP_OFFSETS ->
                    "group-offsets (fallback " + fallback.name().toLowerCase(Locale.ROOT) + ")";
            case EARLIEST -> "earliest";
            case LATEST -> "latest";
            case TIMESTAMP -> "timestamp:" + timestamp;
            case SPECIFIC_OFFSETS -> "offsets:" + offsets;
        };
    }
}
