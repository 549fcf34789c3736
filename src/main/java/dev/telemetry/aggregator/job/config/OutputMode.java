package dev.telemetry.aggregator.job.config;

/**
 * What an output record stands for ({@code telemetry.output-mode}).
 *
 * <ul>
 *   <li>{@link #FINAL}: one record per window when it closes (again for each late event within the
 *       allowed lateness), keyed by device (or by the grouping's dimensions), for consumers that
 *       append.
 *   <li>{@link #UPSERT}: records keyed by the window's identity, each a whole-window value with a
 *       {@code revision} and whether it is {@code final}: early results while the window is open,
 *       the result when it closes, a corrected one for each late event within the allowed lateness
 *       (on every rollup level that contains it), and the final one when the lateness has passed.
 *       The topics are compacted: the latest record per key is the answer.
 * </ul>
 */
public enum OutputMode {
    FINAL,
    UPSERT
}
