package dev.telemetry.aggregator.job.functions;

import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.state.AppendingState;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.StateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.api.java.tuple.Tuple3;
import org.apache.flink.runtime.state.StateInitializationContext;
import org.apache.flink.runtime.state.StateSnapshotContext;
import org.apache.flink.streaming.api.operators.InternalTimer;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.api.windowing.assigners.WindowAssigner;
import org.apache.flink.streaming.api.windowing.triggers.Trigger;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.streaming.runtime.operators.windowing.WindowOperator;
import org.apache.flink.streaming.runtime.operators.windowing.functions.InternalWindowFunction;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.runtime.watermarkstatus.WatermarkStatus;
import org.apache.flink.util.OutputTag;

/**
 * Flink's {@link WindowOperator}, unchanged, except that the event-time progress it had reached is
 * part of its checkpoints and is back in place after a restore, before the first record.
 *
 * <p>Why: Flink does not checkpoint watermarks. A restored window operator starts at {@code
 * Long.MIN_VALUE}, so an event that was late before a crash (its window fired and was purged) would
 * open a fresh window after it and come out as a second aggregate of that window, instead of a
 * {@code late} dead letter. Events replayed from Kafka after a restore, and the records an
 * unaligned checkpoint stored in flight, are exactly such events. With the watermark restored,
 * lateness is decided as in a run without the failure.
 *
 * <p>Each subtask stores its watermark in union list state, with its index and the parallelism.
 * Restored at the same parallelism, a subtask takes back its own; rescaled, every subtask takes the
 * minimum over the old ones, which is never ahead of what any of them had seen, so no event that
 * still counted becomes late (and with aligned checkpoints all subtasks hold the same watermark
 * anyway: each has the same inputs). Watermarks that arrive after the restore and are not ahead of
 * the restored one are dropped here: the sources start their watermarks afresh, and Flink's timer
 * service would otherwise step back with them. A savepoint of a build without this state restores
 * with the old behaviour (no stored watermark).
 *
 * <p>The state descriptor, window function, trigger and serializers are those Flink's window
 * builder makes, passed in unchanged, so window contents and timers keep their state layout.
 */
public class WatermarkKeepingWindowOperator<K, IN, ACC, OUT>
        extends WindowOperator<K, IN, ACC, OUT, TimeWindow> {
    private static final long serialVersionUID = 1L;

    /** (subtask index, parallelism, watermark) of each subtask at the checkpoint. */
    private static final ListStateDescriptor<Tuple3<Integer, Integer, Long>> WATERMARKS =
            new ListStateDescriptor<>(
                    "window-watermarks", Types.TUPLE(Types.INT, Types.INT, Types.LONG));

    private transient ListState<Tuple3<Integer, Integer, Long>> watermarks;

    /** The watermark restored from the checkpoint; {@code Long.MIN_VALUE} if none. */
    private transient long restoredWatermark;

    /** Whether the restored watermark has been handed to the window operator yet. */
    private transient boolean restoredWatermarkApplied;

    public WatermarkKeepingWindowOperator(
            WindowAssigner<? super IN, TimeWindow> windowAssigner,
            TypeSerializer<TimeWindow> windowSerializer,
            KeySelector<IN, K> keySelector,
            TypeSerializer<K> keySerializer,
            StateDescriptor<? extends AppendingState<IN, ACC>, ?> windowStateDescriptor,
            InternalWindowFunction<ACC, OUT, K, TimeWindow> windowFunction,
            Trigger<? super IN, ? super TimeWindow> trigger,
            long allowedLateness,
            OutputTag<IN> lateDataOutputTag) {
        super(
                windowAssigner,
                windowSerializer,
                keySelector,
                keySerializer,
                windowStateDescriptor,
                windowFunction,
                trigger,
                allowedLateness,
                lateDataOutputTag);
    }

    @Override
    public void initializeState(StateInitializationContext context) throws Exception {
        super.initializeState(context);
        watermarks = context.getOperatorStateStore().getUnionListState(WATERMARKS);
        List<Tuple3<Integer, Integer, Long>> stored = new ArrayList<>();
        if (context.isRestored()) {
            watermarks.get().forEach(stored::add);
        }
        restoredWatermark =
                restoredWatermark(
                        stored,
                        getRuntimeContext().getTaskInfo().getIndexOfThisSubtask(),
                        getRuntimeContext().getTaskInfo().getNumberOfParallelSubtasks());
        restoredWatermarkApplied = restoredWatermark == Long.MIN_VALUE;
    }

    /**
     * The watermark a subtask resumes from: its own if the parallelism is unchanged, else the
     * minimum over all old subtasks; {@code Long.MIN_VALUE} when nothing was stored.
     */
    static long restoredWatermark(
            List<Tuple3<Integer, Integer, Long>> stored, int subtask, int parallelism) {
        long minimum = Long.MAX_VALUE;
        boolean sameParallelism = !stored.isEmpty();
        Long own = null;
        for (Tuple3<Integer, Integer, Long> entry : stored) {
            minimum = Math.min(minimum, entry.f2);
            sameParallelism &= entry.f1 == parallelism;
            if (entry.f0 == subtask) {
                own = entry.f2;
            }
        }
        if (stored.isEmpty()) {
            return Long.MIN_VALUE;
        }
        return sameParallelism && own != null ? own : minimum;
    }

    @Override
    public void processElement(StreamRecord<IN> element) throws Exception {
        applyRestoredWatermark();
        super.processElement(element);
    }

    @Override
    public void processWatermark(Watermark mark) throws Exception {
        applyRestoredWatermark();
        if (mark.getTimestamp() > currentWatermark()) {
            super.processWatermark(mark);
        }
    }

    /**
     * A processing-time timer (an early result, upsert mode) restored with the state can be due at
     * once, before any record: it must see the restored event time, or a window that had closed
     * would look open.
     */
    @Override
    public void onProcessingTime(InternalTimer<K, TimeWindow> timer) throws Exception {
        applyRestoredWatermark();
        super.onProcessingTime(timer);
    }

    @Override
    public void processWatermarkStatus(WatermarkStatus watermarkStatus) throws Exception {
        applyRestoredWatermark();
        super.processWatermarkStatus(watermarkStatus);
    }

    @Override
    public void snapshotState(StateSnapshotContext context) throws Exception {
        super.snapshotState(context);
        watermarks.update(
                List.of(
                        Tuple3.of(
                                getRuntimeContext().getTaskInfo().getIndexOfThisSubtask(),
                                getRuntimeContext().getTaskInfo().getNumberOfParallelSubtasks(),
                                currentWatermark())));
    }

    /** The event time this operator has reached, the restored watermark included. */
    long currentWatermark() {
        long timers = internalTimerService.currentWatermark();
        return restoredWatermarkApplied ? timers : Math.max(timers, restoredWatermark);
    }

    /**
     * Advances the window operator to the restored watermark before it sees anything else. No
     * restored timer fires: a subtask's timers at or before its watermark had fired before the
     * checkpoint, and the restored watermark is never ahead of the watermark of the subtask whose
     * keys (and timers) a subtask takes over.
     */
    private void applyRestoredWatermark() throws Exception {
        if (!restoredWatermarkApplied) {
            restoredWatermarkApplied = true;
            if (restoredWatermark > internalTimerService.currentWatermark()) {
                super.processWatermark(new Watermark(restoredWatermark));
            }
        }
    }
}
