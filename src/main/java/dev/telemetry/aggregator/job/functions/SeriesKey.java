package dev.telemetry.aggregator.job.functions;

/**
 * What a grouping's aggregates are per, but the window: the series (see {@code Grouping}) and the
 * metric.
 */
record SeriesKey(String series, String metric) {}
