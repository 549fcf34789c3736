package dev.telemetry.aggregator.job.functions;

import java.time.Duration;
import org.apache.flink.streaming.api.windowing.triggers.Trigger;
import org.apache.flink.streaming.api.windowing.triggers.TriggerResult;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;

/**
 * When a window fires in upsert mode: early, every {@code earlyResultsInterval} of processing time
 * while it is open and has received something since (if set); when event time reaches its end; at
 * once for each element that arrives after that, within the allowed lateness; and a last time when
 * event time passes its end plus the allowed lateness, when the window operator clears it: the
 * final firing. Never purges: each firing is the whole window so far.
 *
 * <p>The final firing's timer is the window operator's own clean-up timer (the same timestamp and
 * window, so the timer service keeps one): it calls the trigger before clearing the window. With no
 * lateness it is the firing at the end.
 *
 * <p>Early timers are aligned to multiples of the interval, so all the elements of one interval
 * register the same timer and the trigger needs no state. A timer left behind by a window that
 * closed finds no contents and fires nothing.
 */
public class UpsertTrigger extends Trigger<Object, TimeWindow> {
    private static final long serialVersionUID = 1L;

    private final long allowedLateness;

    /** 0: no early results. */
    private final long earlyResultsInterval;

    /**
     * @param allowedLateness the window operator's allowed lateness
     * @param earlyResultsInterval how often an open window with new elements fires; null: never
     */
    public UpsertTrigger(Duration allowedLateness, Duration earlyResultsInterval) {
        this.allowedLateness = allowedLateness.toMillis();
        this.earlyResultsInterval =
                earlyResultsInterval == null ? 0 : earlyResultsInterval.toMillis();
    }

    @Override
    public TriggerResult onElement(
            Object element, long timestamp, TimeWindow window, TriggerContext context) {
        if (window.maxTimestamp() <= context.getCurrentWatermark()) {
            // Late, within the allowed lateness (later ones never reach the trigger): a correction.
            return TriggerResult.FIRE;
        }
        context.registerEventTimeTimer(window.maxTimestamp());
        if (earlyResultsInterval > 0) {
            long now = context.getCurrentProcessingTime();
            context.registerProcessingTimeTimer(
                    now - Math.floorMod(now, earlyResultsInterval) + earlyResultsInterval);
        }
        return TriggerResult.CONTINUE;
    }

    @Override
    public TriggerResult onProcessingTime(long time, TimeWindow window, TriggerContext context) {
        // After the end, every element fires at once: an early timer has nothing left to show.
        return context.getCurrentWatermark() < window.maxTimestamp()
                ? TriggerResult.FIRE
                : TriggerResult.CONTINUE;
    }

    @Override
    public TriggerResult onEventTime(long time, TimeWindow window, TriggerContext context) {
        long finalAt = window.maxTimestamp() + allowedLateness;
        if (time == finalAt) {
            return TriggerResult.FIRE;
        }
        // When the watermark jumps past the end and the lateness at once, the final firing
        // follows in the same advance: one record, not an on-time and a final one.
        return time == window.maxTimestamp() && context.getCurrentWatermark() < finalAt
                ? TriggerResult.FIRE
                : TriggerResult.CONTINUE;
    }

    @Override
    public void clear(TimeWindow window, TriggerContext context) {
        context.deleteEventTimeTimer(window.maxTimestamp());
    }

    @Override
    public String toString() {
        return "UpsertTrigger(lateness="
                + allowedLateness
                + "ms, early="
                + earlyResultsInterval
                + "ms)";
    }
}
