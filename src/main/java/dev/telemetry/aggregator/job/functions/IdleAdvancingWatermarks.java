package dev.telemetry.aggregator.job.functions;

import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.common.eventtime.WatermarkGenerator;
import org.apache.flink.api.common.eventtime.WatermarkOutput;
import org.apache.flink.util.clock.Clock;

/**
 * Bounded out-of-orderness watermarks of one Kafka partition, with idleness, that also advance with
 * the wall clock once the partition has been quiet for {@code idleAdvanceMillis}: the watermark
 * then follows the wall clock minus the out-of-orderness, so the last windows close when input
 * stops instead of waiting for the next event.
 *
 * <p>The job's watermark is the minimum over the partitions: a quiet partition that advances does
 * not overtake a busy one, and once every partition is quiet the job's event time follows the wall
 * clock. The watermark never goes back: an event older than it, arriving after a quiet spell, is
 * late (within the allowed lateness it still counts). That is the price of closing windows without
 * new data, and why it is off by default: a backfill of old data that pauses longer than {@code
 * idleAdvanceMillis} makes the rest of it late.
 *
 * <p>Without {@code idleAdvanceMillis} (0) it is Flink's {@code
 * forBoundedOutOfOrderness(..).withIdleness(..)}; idleness 0 means none.
 */
public final class IdleAdvancingWatermarks<T> implements WatermarkGenerator<T> {
    private final long outOfOrdernessMillis;
    private final long idlenessMillis;
    private final long idleAdvanceMillis;
    private final Clock clock;

    private long maxTimestamp;
    private long lastEmitted = Long.MIN_VALUE;
    private long lastEventAt;
    private boolean idle;

    /**
     * @param outOfOrdernessMillis how far behind the newest event time an event may arrive
     * @param idlenessMillis quiet time after which the partition stops holding the watermark back
     *     (0: never)
     * @param idleAdvanceMillis quiet time after which the watermark follows the wall clock (0:
     *     never)
     * @param clock wall clock ({@link Clock#absoluteTimeMillis}) and quiet time ({@link
     *     Clock#relativeTimeMillis})
     */
    public IdleAdvancingWatermarks(
            long outOfOrdernessMillis, long idlenessMillis, long idleAdvanceMillis, Clock clock) {
        this.outOfOrdernessMillis = outOfOrdernessMillis;
        this.idlenessMillis = idlenessMillis;
        this.idleAdvanceMillis = idleAdvanceMillis;
        this.clock = clock;
        // As BoundedOutOfOrdernessWatermarks: no watermark before the first event.
        this.maxTimestamp = Long.MIN_VALUE + outOfOrdernessMillis + 1;
        this.lastEventAt = clock.relativeTimeMillis();
    }

    @Override
    public void onEvent(T event, long eventTimestamp, WatermarkOutput output) {
        maxTimestamp = Math.max(maxTimestamp, eventTimestamp);
        lastEventAt = clock.relativeTimeMillis();
        idle = false;
    }

    @Override
    public void onPeriodicEmit(WatermarkOutput output) {
        long quiet = clock.relativeTimeMillis() - lastEventAt;
        long watermark = maxTimestamp - outOfOrdernessMillis - 1;
        if (idleAdvanceMillis > 0 && quiet >= idleAdvanceMillis) {
            watermark = Math.max(watermark, clock.absoluteTimeMillis() - outOfOrdernessMillis - 1);
        } else if (idlenessMillis > 0 && quiet >= idlenessMillis) {
            if (!idle) {
                output.markIdle();
                idle = true;
            }
            return;
        }
        lastEmitted = Math.max(lastEmitted, watermark);
        idle = false;
        output.emitWatermark(new Watermark(lastEmitted));
    }
}
