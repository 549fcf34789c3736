package dev.telemetry.aggregator.job.functions;

import dev.telemetry.aggregator.job.config.Grouping;
import dev.telemetry.aggregator.job.records.PartialAggregate;
import dev.telemetry.aggregator.job.records.TelemetryEvent;
import java.time.Duration;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple3;
import org.apache.flink.metrics.Counter;
import org.apache.flink.runtime.state.StateInitializationContext;
import org.apache.flink.runtime.state.StateSnapshotContext;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.runtime.watermarkstatus.WatermarkStatus;

/**
 * Combines the events of each (series, metric, tumbling window) into one {@link PartialAggregate}
 * before the shuffle, for each grouping (the series is the device for today's grouping; see {@link
 * Grouping}), so the keyed window operator behind it merges a few partials per window instead of
 * adding every event (local/global aggregation). Runs chained to its input.
 *
 * <p>The output is the same as without it, because of how the partials leave:
 *
 * <ul>
 *   <li>A window's partials are emitted when this input's watermark passes the window's end, just
 *       before that watermark is forwarded. The window operator's watermark is the minimum over its
 *       inputs, so these partials arrive before their window fires (but see idleness below).
 *   <li>An event whose window has already closed here is passed on at once as a one-event partial
 *       that carries the event. The window operator then decides, as it did per event, whether it
 *       is within the allowed lateness (the window fires again) or late (a dead letter made from
 *       the event). Deciding lateness here would use this input's watermark, which can be ahead of
 *       the window operator's (the minimum over all inputs), and would make events late that the
 *       window still counts.
 *   <li>Everything held is emitted before each checkpoint barrier (so this operator keeps no
 *       partials in state and exactly-once and rescaling stay the window operator's business; its
 *       only state is its watermark, so that after a restore an event of a window that had closed
 *       here is passed on alone again), before an idle status (the window operator would otherwise
 *       advance past partials still held here), at the end of input; beyond {@code maxPartials}
 *       held, the oldest leaves for each new one (to bound memory).
 *   <li>From an idle status until this input's watermark, once active again, has moved {@link
 *       #CATCH_UP_WINDOWS} windows on, nothing is held: each event is passed on at once, carrying
 *       the event. While this input was idle the window operator advanced by the other inputs'
 *       watermarks, and Flink does not let an input that returns behind them hold the minimum back;
 *       partials held until their window's end would then arrive late, where the events themselves,
 *       sent at once, would still have counted.
 * </ul>
 *
 * <p>Partials are emitted with the window's last millisecond as their timestamp, so the window
 * operator's assigner puts them into the same window. An emitted partial is never changed again
 * (object reuse), and no input event is kept: only its strings, which are immutable (a partial that
 * carries an event is emitted at once).
 */
public class WindowPartialCombiner extends AbstractStreamOperator<PartialAggregate>
        implements OneInputStreamOperator<TelemetryEvent, PartialAggregate> {
    private static final long serialVersionUID = 1L;

    /**
     * Held partials beyond which the longest-held leaves for each new one: roughly 20 MB of heap (a
     * partial, its key, the map entry and the key's strings). The usual shapes stay well below it
     * (10k devices x 3 metrics per window), so it only bounds exotic cardinalities.
     */
    public static final int DEFAULT_MAX_PARTIALS = 100_000;

    /** Events counted under their grouping's overflow series, per grouping. */
    public static final String OVERFLOWED_METRIC = "seriesOverflowedEvents";

    /**
     * How far, in windows, this input's watermark must move after an idle spell before events are
     * held again: by then an input that came back behind the others has normally caught up.
     */
    static final int CATCH_UP_WINDOWS = 2;

    private final long windowSize;
    private final int maxPartials;

    /** The relative accuracy of the partials' sketches; 0: no sketches. */
    private final double sketchAccuracy;

    private final Grouping[] groupings;

    /** Each grouping's {@link Grouping#seriesPrefix}, made once. */
    private final String[] seriesPrefixes;

    /** The (series, metric) keys per grouping and window over all subtasks; 0: no cap. */
    private final int maxSeries;

    private final long allowedLateness;

    /** Each window's admitted keys, per grouping (see {@link SeriesCap}); none without a cap. */
    private static final ListStateDescriptor<Tuple3<Long, String, String>> ADMITTED =
            new ListStateDescriptor<>(
                    "admitted-series", Types.TUPLE(Types.LONG, Types.STRING, Types.STRING));

    private transient ListState<Tuple3<Long, String, String>> admittedState;
    private transient SeriesCap cap;

    /** Open windows by start, so a watermark finds the windows it closes without a full scan. */
    private transient TreeMap<Long, Map<SeriesKey, PartialAggregate>> partialsByWindow;

    private transient int heldPartials;
    private transient long currentWatermark;

    /**
     * Each subtask's watermark at the checkpoint. Restored as the maximum over the old subtasks: an
     * event of a window that closed before the checkpoint must not be combined with others, since
     * it may be late at the window operator and its dead letter needs the event itself (see {@link
     * WatermarkKeepingWindowOperator}). Passing an event on alone is always safe.
     */
    private static final ListStateDescriptor<Long> WATERMARKS =
            new ListStateDescriptor<>("combiner-watermarks", Types.LONG);

    private transient ListState<Long> watermarks;
    private transient long restoredWatermark;

    /** Whether events pass on one by one, because this input is or was recently idle. */
    private transient boolean passingThrough;

    /** The watermark from which events are held again; unknown (MAX) while still idle. */
    private transient long holdAgainAt;

    /** The window of the previous event: consecutive events mostly share it. */
    private transient long lastWindowStart;

    private transient Map<SeriesKey, PartialAggregate> lastWindow;
    private transient StreamRecord<PartialAggregate> outRecord;

    public WindowPartialCombiner(Duration windowSize, int maxPartials) {
        this(windowSize, maxPartials, 0);
    }

    /** Partials that also sketch their values with this relative accuracy (none for 0). */
    public WindowPartialCombiner(Duration windowSize, int maxPartials, double sketchAccuracy) {
        this(
                windowSize,
                maxPartials,
                sketchAccuracy,
                List.of(Grouping.PER_DEVICE),
                0,
                Duration.ZERO);
    }

    /**
     * Partials of every grouping: each event is added to one partial per grouping, keyed by its
     * series in that grouping ({@link Grouping#seriesOf}); at most {@code maxSeries} (series,
     * metric) keys per grouping and window, the excess folded into the grouping's overflow series
     * ({@link SeriesCap}); 0: no cap. Each of the operator's subtasks admits its share, {@code
     * maxSeries} divided by the parallelism (rounded up). A window's admitted keys are kept until
     * {@code allowedLateness} after its end.
     */
    public WindowPartialCombiner(
            Duration windowSize,
            int maxPartials,
            double sketchAccuracy,
            List<Grouping> groupings,
            int maxSeries,
            Duration allowedLateness) {
        this.windowSize = windowSize.toMillis();
        this.maxPartials = maxPartials;
        this.sketchAccuracy = sketchAccuracy;
        this.groupings = groupings.toArray(Grouping[]::new);
        this.seriesPrefixes = groupings.stream().map(Grouping::seriesPrefix).toArray(String[]::new);
        this.maxSeries = maxSeries;
        this.allowedLateness = allowedLateness.toMillis();
    }

    @Override
    public void initializeState(StateInitializationContext context) throws Exception {
        super.initializeState(context);
        watermarks = context.getOperatorStateStore().getUnionListState(WATERMARKS);
        restoredWatermark = Long.MIN_VALUE;
        if (context.isRestored()) {
            for (Long watermark : watermarks.get()) {
                restoredWatermark = Math.max(restoredWatermark, watermark);
            }
        }
        if (maxSeries > 0) {
            int parallelism = getRuntimeContext().getTaskInfo().getNumberOfParallelSubtasks();
            Counter[] overflowed = new Counter[groupings.length];
            for (int g = 0; g < groupings.length; g++) {
                overflowed[g] =
                        getMetricGroup()
                                .addGroup("grouping", groupings[g].id())
                                .counter(OVERFLOWED_METRIC);
            }
            cap =
                    new SeriesCap(
                            (maxSeries + parallelism - 1) / parallelism,
                            windowSize,
                            allowedLateness,
                            groupings,
                            seriesPrefixes,
                            overflowed);
            // Split (not union) list state: at the same parallelism each subtask gets its own
            // entries back, the keys of the partitions it reads.
            admittedState = context.getOperatorStateStore().getListState(ADMITTED);
            if (context.isRestored()) {
                cap.restore(admittedState.get());
            }
        }
    }

    @Override
    public void snapshotState(StateSnapshotContext context) throws Exception {
        super.snapshotState(context);
        watermarks.update(List.of(currentWatermark));
        if (cap != null) {
            admittedState.update(cap.snapshot());
        }
    }

    @Override
    public void open() throws Exception {
        super.open();
        partialsByWindow = new TreeMap<>();
        heldPartials = 0;
        currentWatermark = restoredWatermark;
        passingThrough = false;
        lastWindow = null;
        outRecord = new StreamRecord<>(null);
    }

    @Override
    public void processElement(StreamRecord<TelemetryEvent> element) throws Exception {
        if (!element.hasTimestamp()) {
            // What TumblingEventTimeWindows does with such a record.
            throw new IllegalStateException(
                    "Record has no timestamp. Is the time characteristic set to 'ProcessingTime',"
                            + " or did you forget to call 'assignTimestampsAndWatermarks(...)'?");
        }
        TelemetryEvent event = element.getValue();
        long windowStart =
                TimeWindow.getWindowStartWithOffset(element.getTimestamp(), 0, windowSize);
        boolean alone = windowStart + windowSize - 1 <= currentWatermark || passingThrough;
        for (int g = 0; g < groupings.length; g++) {
            SeriesKey key =
                    new SeriesKey(
                            groupings[g].seriesOf(event.deviceId, event.tags, seriesPrefixes[g]),
                            event.metric);
            if (alone) {
                if (cap != null) {
                    key = cap.admit(g, windowStart, key);
                }
                PartialAggregate single =
                        new PartialAggregate(
                                key.series(), key.metric(), windowStart, sketchAccuracy);
                single.add(event.value);
                // Handed on before this method returns and not kept, so object reuse is safe.
                single.event = event;
                emit(single);
            } else {
                add(g, key, event.value, windowStart);
            }
        }
    }

    private void add(int grouping, SeriesKey key, double value, long windowStart) {
        Map<SeriesKey, PartialAggregate> window = windowStarting(windowStart);
        PartialAggregate partial = window.get(key);
        if (partial == null && cap != null) {
            // Only a key without a held partial needs the cap: one with a partial was admitted.
            SeriesKey admitted = cap.admit(grouping, windowStart, key);
            if (admitted != key) {
                key = admitted;
                partial = window.get(key);
            }
        }
        if (partial == null) {
            partial = new PartialAggregate(key.series(), key.metric(), windowStart, sketchAccuracy);
            window.put(key, partial);
            heldPartials++;
        }
        partial.add(value);
        if (heldPartials > maxPartials) {
            emitOldest();
        }
    }

    @Override
    public void processWatermark(Watermark mark) throws Exception {
        currentWatermark = Math.max(currentWatermark, mark.getTimestamp());
        if (cap != null) {
            cap.expire(currentWatermark);
        }
        if (passingThrough) {
            if (holdAgainAt == Long.MAX_VALUE) {
                // The first watermark since this input was idle.
                long catchUp = CATCH_UP_WINDOWS * windowSize;
                holdAgainAt =
                        currentWatermark > Long.MAX_VALUE - catchUp
                                ? Long.MAX_VALUE - 1
                                : currentWatermark + catchUp;
            } else if (currentWatermark >= holdAgainAt) {
                passingThrough = false;
            }
        }
        while (!partialsByWindow.isEmpty()
                && partialsByWindow.firstKey() + windowSize - 1 <= currentWatermark) {
            emitWindow(partialsByWindow.pollFirstEntry().getValue());
        }
        super.processWatermark(mark);
    }

    @Override
    public void processWatermarkStatus(WatermarkStatus status) throws Exception {
        if (status.isIdle()) {
            // While this input is idle the window operator advances by the others' watermarks,
            // which would make the partials held here late.
            emitAll();
            passingThrough = true;
            holdAgainAt = Long.MAX_VALUE;
        }
        super.processWatermarkStatus(status);
    }

    @Override
    public void prepareSnapshotPreBarrier(long checkpointId) throws Exception {
        emitAll();
        super.prepareSnapshotPreBarrier(checkpointId);
    }

    @Override
    public void finish() throws Exception {
        emitAll();
        super.finish();
    }

    /** Partials held now, for tests. */
    int heldPartials() {
        return heldPartials;
    }

    private Map<SeriesKey, PartialAggregate> windowStarting(long windowStart) {
        if (lastWindow == null || lastWindowStart != windowStart) {
            lastWindow =
                    partialsByWindow.computeIfAbsent(windowStart, start -> new LinkedHashMap<>());
            lastWindowStart = windowStart;
        }
        return lastWindow;
    }

    /**
     * At the cap, one partial leaves per new one (the oldest window's longest-held), rather than
     * all at once: a burst of {@code maxPartials} records blocks this task under backpressure, and
     * with it the checkpoint barrier (seen with a million keys on RocksDB).
     */
    private void emitOldest() {
        Map.Entry<Long, Map<SeriesKey, PartialAggregate>> oldest = partialsByWindow.firstEntry();
        Iterator<PartialAggregate> partials = oldest.getValue().values().iterator();
        emit(partials.next());
        partials.remove();
        heldPartials--;
        if (oldest.getValue().isEmpty()) {
            partialsByWindow.remove(oldest.getKey());
            if (oldest.getValue() == lastWindow) {
                lastWindow = null;
            }
        }
    }

    private void emitAll() {
        for (Map<SeriesKey, PartialAggregate> window : partialsByWindow.values()) {
            emitWindow(window);
        }
        partialsByWindow.clear();
    }

    private void emitWindow(Map<SeriesKey, PartialAggregate> window) {
        for (PartialAggregate partial : window.values()) {
            emit(partial);
        }
        heldPartials -= window.size();
        if (window == lastWindow) {
            lastWindow = null;
        }
    }

    private void emit(PartialAggregate partial) {
        output.collect(outRecord.replace(partial, partial.windowStart + windowSize - 1));
    }
}
