package dev.telemetry.aggregator.job.functions;

import dev.telemetry.aggregator.job.config.RollupLevel;
import dev.telemetry.aggregator.job.records.TelemetryAccumulator;
import dev.telemetry.aggregator.job.records.TelemetryAggregate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.metrics.Counter;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.InternalTimer;
import org.apache.flink.streaming.api.operators.InternalTimerService;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.api.operators.Triggerable;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;

/**
 * Passes the window aggregates on and computes the rollup levels from them: each level's windows
 * merged from the summaries (count, sum, min, max, sketch) of the level below, never from events.
 * Keyed by (device, metric) like the window operator it is chained to, so a level's windows are
 * state of the same key.
 *
 * <p>Each coarse window is emitted once, when event time passes its end plus the allowed lateness,
 * with the window's last millisecond as its timestamp, as the window operator does. By then every
 * window of the level below inside it is final: the last ends with it, and the window operator no
 * longer refires a window once event time has passed its end plus the allowed lateness. The
 * watermark that fires a coarse window arrives here after every aggregate the window operator made
 * before it.
 *
 * <p>With allowed lateness a window of the finest level can fire more than once, each time with its
 * whole contents so far; the first level must take its last firing, not add them up. Such a window
 * is kept apart ({@code pending}) and replaced by each firing until it is final, then merged into
 * its level-1 window. Without lateness every firing is final and merged at once. Coarser levels get
 * only final windows (each is emitted once), so they merge at once too.
 *
 * <p>In upsert mode a coarse window is also written before it is final, each time as it stands so
 * far (what its final finer windows merged, plus the latest firing of each finer window still
 * open): when event time reaches its end, for each late firing of a finer window inside it after
 * that (a correction), and, with early results, for each firing of a finer window before that. Each
 * write has the next {@code revision}, kept per level and window until the final one.
 *
 * <p>Always in the topology, with or without levels, so turning rollups on or off across a
 * savepoint needs no {@code allow-non-restored-state}. Each level's state is named after its size
 * and the size of the level below: after a change of levels, a level that is new or now made from
 * another level starts empty (its first window holds only what closed after the restore), and the
 * state of a level no longer configured is not read (it stays in snapshots, no larger than the
 * windows that were open at the change).
 */
public class RollupOperator extends AbstractStreamOperator<TelemetryAggregate>
        implements OneInputStreamOperator<TelemetryAggregate, TelemetryAggregate>,
                Triggerable<Tuple2<String, String>, VoidNamespace> {
    private static final long serialVersionUID = 1L;

    /** Records emitted per level, in a {@code level} group named by its size ({@code 1m}). */
    public static final String METRIC_NAME = "aggregatesOut";

    private final long windowSize;
    private final long allowedLateness;
    private final long[] sizes;
    private final String[] labels;
    private final double[] quantiles;
    private final boolean withSketch;
    private final boolean upsert;
    private final boolean earlyResults;

    /** Whether a finer window can fire before it is final, so {@code pending} can hold it. */
    private final boolean mayPend;

    /** Each level's open windows by start. */
    private transient List<MapState<Long, TelemetryAccumulator>> windows;

    /** Windows of the finest level that may still fire again, by start. */
    private transient MapState<Long, TelemetryAccumulator> pending;

    /** Upsert mode: each level's revisions written so far, by window start, until final. */
    private transient List<MapState<Long, Integer>> revisions;

    private transient InternalTimerService<VoidNamespace> timers;
    private transient Counter windowsOut;
    private transient Counter[] levelsOut;
    private transient StreamRecord<TelemetryAggregate> outRecord;

    /**
     * @param windowSize the size of the windows coming in
     * @param allowedLateness how long after its end a window coming in can fire again
     * @param levels the rollup levels, finest first (none: it only passes aggregates on)
     * @param quantiles the percentiles each level reports
     * @param withSketch whether each level's records carry their sketch
     */
    public RollupOperator(
            Duration windowSize,
            Duration allowedLateness,
            List<RollupLevel> levels,
            double[] quantiles,
            boolean withSketch) {
        this(windowSize, allowedLateness, levels, quantiles, withSketch, false, false);
    }

    /**
     * @param upsert whether coarse windows are written before they are final, with revisions
     * @param earlyResults whether the window operator fires windows early (upsert mode), which the
     *     coarse windows containing them follow
     */
    public RollupOperator(
            Duration windowSize,
            Duration allowedLateness,
            List<RollupLevel> levels,
            double[] quantiles,
            boolean withSketch,
            boolean upsert,
            boolean earlyResults) {
        this.upsert = upsert;
        this.earlyResults = earlyResults;
        this.mayPend = !allowedLateness.isZero() || earlyResults;
        this.windowSize = windowSize.toMillis();
        this.allowedLateness = allowedLateness.toMillis();
        this.sizes = levels.stream().mapToLong(level -> level.size().toMillis()).toArray();
        this.labels = new String[levels.size() + 1];
        labels[0] = RollupLevel.label(windowSize);
        for (int i = 0; i < levels.size(); i++) {
            labels[i + 1] = levels.get(i).label();
        }
        this.quantiles = quantiles.clone();
        this.withSketch = withSketch;
    }

    @Override
    public void open() throws Exception {
        super.open();
        windowsOut = getMetricGroup().addGroup("level", labels[0]).counter(METRIC_NAME);
        levelsOut = new Counter[sizes.length];
        windows = new ArrayList<>();
        TypeInformation<TelemetryAccumulator> accumulator =
                TypeInformation.of(TelemetryAccumulator.class);
        for (int i = 0; i < sizes.length; i++) {
            levelsOut[i] = getMetricGroup().addGroup("level", labels[i + 1]).counter(METRIC_NAME);
            windows.add(
                    getRuntimeContext()
                            .getMapState(
                                    new MapStateDescriptor<>(
                                            "rollup-"
                                                    + sizes[i]
                                                    + "ms-from-"
                                                    + (i == 0 ? windowSize : sizes[i - 1])
                                                    + "ms-windows",
                                            Types.LONG,
                                            accumulator)));
        }
        if (sizes.length > 0) {
            pending =
                    getRuntimeContext()
                            .getMapState(
                                    new MapStateDescriptor<>(
                                            "rollup-pending-" + windowSize + "ms-windows",
                                            Types.LONG,
                                            accumulator));
            timers =
                    getInternalTimerService(
                            "rollup-timers", VoidNamespaceSerializer.INSTANCE, this);
        }
        if (upsert) {
            revisions = new ArrayList<>();
            for (long size : sizes) {
                revisions.add(
                        getRuntimeContext()
                                .getMapState(
                                        new MapStateDescriptor<>(
                                                "rollup-" + size + "ms-revisions",
                                                Types.LONG,
                                                Types.INT)));
            }
        }
        outRecord = new StreamRecord<>(null);
    }

    @Override
    public void processElement(StreamRecord<TelemetryAggregate> element) throws Exception {
        TelemetryAggregate aggregate = element.getValue();
        // Without lateness or early results every firing is final.
        boolean isFinal = aggregate.isFinal || !mayPend;
        if (sizes.length > 0) {
            if (isFinal) {
                if (mayPend) {
                    pending.remove(aggregate.windowStart);
                }
                mergeInto(0, aggregate.windowStart, summaryOf(aggregate, false));
            } else {
                // Replaces an earlier firing of the same window: a firing has all its contents.
                pending.put(aggregate.windowStart, summaryOf(aggregate, true));
                timers.registerEventTimeTimer(
                        VoidNamespace.INSTANCE, finalAt(aggregate.windowStart, windowSize));
            }
        }
        long windowStart = aggregate.windowStart;
        windowsOut.inc();
        output.collect(element);
        if (upsert && sizes.length > 0) {
            // After the finer window, which a consumer then sees first.
            followFiner(windowStart, isFinal);
        }
    }

    @Override
    public void onEventTime(InternalTimer<Tuple2<String, String>, VoidNamespace> timer)
            throws Exception {
        long time = timer.getTimestamp();
        if (mayPend) {
            for (Map.Entry<Long, TelemetryAccumulator> window : due(pending, windowSize, time)) {
                mergeInto(0, window.getKey(), window.getValue());
                pending.remove(window.getKey());
            }
        }
        @SuppressWarnings("unchecked")
        Tuple2<String, String> key = (Tuple2<String, String>) getCurrentKey();
        for (int level = 0; level < sizes.length; level++) {
            for (Map.Entry<Long, TelemetryAccumulator> window :
                    due(windows.get(level), sizes[level], time)) {
                long start = window.getKey();
                TelemetryAccumulator summary = window.getValue();
                emit(key, level, start, summary, true);
                if (level + 1 < sizes.length) {
                    mergeInto(level + 1, start, summary);
                }
                windows.get(level).remove(start);
            }
        }
        if (upsert && allowedLateness > 0) {
            // Event time reached the end of these windows; they are final only later.
            for (int level = 0; level < sizes.length; level++) {
                if (Math.floorMod(time + 1, sizes[level]) == 0) {
                    long start = time + 1 - sizes[level];
                    if (timers.currentWatermark() < finalAt(start, sizes[level])) {
                        emitSoFar(key, level, start);
                    }
                }
            }
        }
    }

    /**
     * Upsert mode: the coarse windows that contain a firing of the finest level follow it. Before a
     * coarse window's end they are written with it if early results are on (and get a timer for
     * their end); after, a firing that is not final is a late event's correction, written at once.
     * A final firing changes nothing: it repeats the window's last firing (every late element fires
     * at once).
     */
    private void followFiner(long finerStart, boolean finerIsFinal) throws Exception {
        @SuppressWarnings("unchecked")
        Tuple2<String, String> key = (Tuple2<String, String>) getCurrentKey();
        long watermark = timers.currentWatermark();
        for (int level = 0; level < sizes.length; level++) {
            long start = finerStart - Math.floorMod(finerStart, sizes[level]);
            long lastMillisecond = start + sizes[level] - 1;
            if (watermark < lastMillisecond) {
                timers.registerEventTimeTimer(VoidNamespace.INSTANCE, lastMillisecond);
                if (earlyResults && (!finerIsFinal || allowedLateness == 0)) {
                    emitSoFar(key, level, start);
                }
            } else if (!finerIsFinal) {
                emitSoFar(key, level, start);
            }
        }
    }

    /**
     * Writes a coarse window before it is final, as it stands: its merged windows of the level
     * below and every window still open inside it on the levels below that, {@code pending}
     * included (each is held in exactly one of them).
     */
    private void emitSoFar(Tuple2<String, String> key, int level, long start) throws Exception {
        long end = start + sizes[level];
        TelemetryAccumulator soFar = new TelemetryAccumulator();
        for (int below = level; below >= 0; below--) {
            mergeWithin(windows.get(below), start, end, soFar);
        }
        mergeWithin(pending, start, end, soFar);
        if (soFar.count > 0) {
            emit(key, level, start, soFar, false);
        }
    }

    private static void mergeWithin(
            MapState<Long, TelemetryAccumulator> state,
            long start,
            long end,
            TelemetryAccumulator into)
            throws Exception {
        for (Map.Entry<Long, TelemetryAccumulator> window : state.entries()) {
            if (window.getKey() >= start && window.getKey() < end) {
                into.merge(window.getValue());
            }
        }
    }

    /** Writes a window of {@code level}: in upsert mode with its next revision. */
    private void emit(
            Tuple2<String, String> key,
            int level,
            long start,
            TelemetryAccumulator summary,
            boolean isFinal)
            throws Exception {
        long end = start + sizes[level];
        TelemetryAggregate aggregate =
                TelemetryAggregate.of(key.f0, key.f1, start, end, summary, quantiles, withSketch);
        aggregate.isFinal = isFinal;
        if (upsert) {
            MapState<Long, Integer> written = revisions.get(level);
            Integer previous = written.get(start);
            aggregate.revision = previous == null ? 1 : previous + 1;
            if (isFinal) {
                written.remove(start);
            } else {
                written.put(start, aggregate.revision);
            }
        }
        levelsOut[level].inc();
        output.collect(outRecord.replace(aggregate, end - 1));
    }

    /** Keys aggregates as the window operator keys its input, so the two share key groups. */
    public static class AggregateKey
            implements KeySelector<TelemetryAggregate, Tuple2<String, String>> {
        private static final long serialVersionUID = 1L;

        @Override
        public Tuple2<String, String> getKey(TelemetryAggregate aggregate) {
            return Tuple2.of(aggregate.deviceId, aggregate.metric);
        }
    }

    @Override
    public void onProcessingTime(InternalTimer<Tuple2<String, String>, VoidNamespace> timer) {}

    /**
     * Merges the summary of a window of the level below (starting at {@code start}) into its window
     * of {@code level}; the summary is not kept.
     */
    private void mergeInto(int level, long start, TelemetryAccumulator summary) throws Exception {
        long size = sizes[level];
        long windowStart = start - Math.floorMod(start, size);
        MapState<Long, TelemetryAccumulator> open = windows.get(level);
        TelemetryAccumulator window = open.get(windowStart);
        if (window == null) {
            window = new TelemetryAccumulator();
            timers.registerEventTimeTimer(VoidNamespace.INSTANCE, finalAt(windowStart, size));
        }
        window.merge(summary);
        open.put(windowStart, window);
    }

    /** The event time after which a window no longer changes: its end plus allowed lateness. */
    private long finalAt(long start, long size) {
        return start + size - 1 + allowedLateness;
    }

    /** The windows of {@code state} final at {@code time}, earliest first. */
    private List<Map.Entry<Long, TelemetryAccumulator>> due(
            MapState<Long, TelemetryAccumulator> state, long size, long time) throws Exception {
        List<Map.Entry<Long, TelemetryAccumulator>> due = new ArrayList<>();
        for (Map.Entry<Long, TelemetryAccumulator> window : state.entries()) {
            if (finalAt(window.getKey(), size) <= time) {
                due.add(Map.entry(window.getKey(), window.getValue()));
            }
        }
        due.sort(Comparator.comparingLong(Map.Entry::getKey));
        return due;
    }

    /**
     * The statistics of an aggregate of the level below. Its sketch may be the window operator's
     * state (heap backend), which a late event changes: a summary that is kept gets a copy ({@code
     * keep}); one merged at once needs none ({@link TelemetryAccumulator#merge} copies what it
     * keeps).
     */
    private static TelemetryAccumulator summaryOf(TelemetryAggregate aggregate, boolean keep) {
        TelemetryAccumulator summary = new TelemetryAccumulator();
        summary.count = aggregate.count;
        summary.sum = aggregate.sum;
        summary.min = aggregate.min;
        summary.max = aggregate.max;
        summary.sketch =
                aggregate.distribution == null || !keep
                        ? aggregate.distribution
                        : aggregate.distribution.copy();
        return summary;
    }
}
