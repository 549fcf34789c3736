package dev.telemetry.aggregator.job.functions;

import dev.telemetry.aggregator.job.config.Grouping;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.flink.api.java.tuple.Tuple3;
import org.apache.flink.metrics.Counter;

/**
 * The series cap of one combiner subtask: per grouping and window, the first {@code maxSeries}
 * (series, metric) keys it meets are admitted, and every later key's events count under the
 * grouping's overflow series for their metric ({@link Grouping#overflowSeries}), so the window
 * state behind it holds a bounded number of keys whatever the input. Beyond {@link
 * #MAX_OVERFLOW_METRICS} overflow keys in a window, the metric is folded too, into {@link
 * Grouping#OVERFLOW}: a flood of unique metric names is bounded as well.
 *
 * <p>A window's admitted keys are kept until event time passes its end plus the allowed lateness
 * (after that its events are late and make no state), and they are checkpointed, so after a restore
 * the same keys stay admitted: a series admitted (or folded) before a crash stays so after it, as
 * in a run without failures.
 */
final class SeriesCap {
    /** Overflow keys with a metric of their own per grouping and window; beyond, one more. */
    static final int MAX_OVERFLOW_METRICS = 100;

    private final int maxSeries;
    private final long windowSize;
    private final long allowedLateness;
    private final Grouping[] groupings;
    private final String[] prefixes;
    private final String[] overflowSeries;
    private final Counter[] overflowed;

    /** Per grouping: the admitted keys of each window by its start. */
    private final List<TreeMap<Long, Window>> windows = new ArrayList<>();

    /** Per grouping, the window of the previous call: consecutive events mostly share it. */
    private final long[] lastStart;

    private final Window[] lastWindow;

    private static final class Window {
        final Set<SeriesKey> admitted = new HashSet<>();
        int overflowMetrics;
    }

    /**
     * @param maxSeries the keys admitted per grouping and window in this subtask
     * @param overflowed per grouping, the counter of events counted under its overflow series
     */
    SeriesCap(
            int maxSeries,
            long windowSize,
            long allowedLateness,
            Grouping[] groupings,
            String[] prefixes,
            Counter[] overflowed) {
        this.maxSeries = maxSeries;
        this.windowSize = windowSize;
        this.allowedLateness = allowedLateness;
        this.groupings = groupings;
        this.prefixes = prefixes;
        this.overflowed = overflowed;
        this.overflowSeries = new String[groupings.length];
        this.lastStart = new long[groupings.length];
        this.lastWindow = new Window[groupings.length];
        for (int g = 0; g < groupings.length; g++) {
            overflowSeries[g] = groupings[g].overflowSeries(prefixes[g]);
            windows.add(new TreeMap<>());
        }
    }

    /** The key an event of {@code key} counts under in grouping {@code g}: it, or an overflow. */
    SeriesKey admit(int g, long windowStart, SeriesKey key) {
        Window window = lastWindow[g];
        if (window == null || lastStart[g] != windowStart) {
            window = windows.get(g).computeIfAbsent(windowStart, start -> new Window());
            lastWindow[g] = window;
            lastStart[g] = windowStart;
        }
        if (window.admitted.contains(key)) {
            return key;
        }
        if (window.admitted.size() < maxSeries) {
            window.admitted.add(key);
            return key;
        }
        overflowed[g].inc();
        SeriesKey overflow = new SeriesKey(overflowSeries[g], key.metric());
        if (window.admitted.contains(overflow)) {
            return overflow;
        }
        if (window.overflowMetrics < MAX_OVERFLOW_METRICS) {
            window.overflowMetrics++;
            window.admitted.add(overflow);
            return overflow;
        }
        return new SeriesKey(overflowSeries[g], Grouping.OVERFLOW);
    }

    /** Forgets the windows whose events are late at {@code watermark}: they make no state. */
    void expire(long watermark) {
        Arrays.fill(lastWindow, null);
        for (TreeMap<Long, Window> byStart : windows) {
            while (!byStart.isEmpty()
                    && byStart.firstKey() + windowSize - 1 + allowedLateness <= watermark) {
                byStart.pollFirstEntry();
            }
        }
    }

    /** Every admitted key as (window start, series, metric); the series names its grouping. */
    List<Tuple3<Long, String, String>> snapshot() {
        List<Tuple3<Long, String, String>> entries = new ArrayList<>();
        for (TreeMap<Long, Window> byStart : windows) {
            for (Map.Entry<Long, Window> window : byStart.entrySet()) {
                for (SeriesKey key : window.getValue().admitted) {
                    entries.add(Tuple3.of(window.getKey(), key.series(), key.metric()));
                }
            }
        }
        return entries;
    }

    /**
     * Admits again what a snapshot held, each key in the grouping its series belongs to; keys of
     * groupings no longer configured are dropped.
     */
    void restore(Iterable<Tuple3<Long, String, String>> entries) {
        for (Tuple3<Long, String, String> entry : entries) {
            for (int g = 0; g < groupings.length; g++) {
                if (groupings[g].owns(entry.f1, prefixes[g])) {
                    Window window = windows.get(g).computeIfAbsent(entry.f0, start -> new Window());
                    if (window.admitted.add(new SeriesKey(entry.f1, entry.f2))
                            && entry.f1.equals(overflowSeries[g])) {
                        window.overflowMetrics++;
                    }
                    break;
                }
            }
        }
    }
}
