package dev.telemetry.aggregator.job.config;

import java.io.Serializable;

/**
 * How many tags an event may carry and how long their names and values may be. An event beyond them
 * is a dead letter ({@code tags-limit-exceeded}): tags become series keys, so they are bounded at
 * the door like every other read limit.
 */
public record TagLimits(int maxCount, int maxNameLength, int maxValueLength)
        implements Serializable {

    /** The defaults in {@code application.yaml}. */
    public static final TagLimits DEFAULT = new TagLimits(16, 64, 256);
}
