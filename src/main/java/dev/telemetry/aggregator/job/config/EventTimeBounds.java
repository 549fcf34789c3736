package dev.telemetry.aggregator.job.config;

import java.io.Serializable;
import java.time.Duration;
import java.time.Instant;

/**
 * The plausible range of event times: not before {@code earliest} and not more than {@code
 * maxFuture} ahead of the processing clock. An event outside it would open a window that no
 * watermark closes for years (far future) or fall behind every watermark (far past), so it is
 * rejected at the door with a reason instead.
 *
 * <p>"Future" is measured against the clock when the record is parsed, so whether an event is
 * accepted depends on when it arrives: one a day ahead is rejected today and accepted tomorrow.
 */
public record EventTimeBounds(Instant earliest, Duration maxFuture) implements Serializable {

    /** 2000-01-01T00:00:00Z and one day ahead: the defaults in {@code application.yaml}. */
    public static final EventTimeBounds DEFAULT =
            new EventTimeBounds(Instant.parse("2000-01-01T00:00:00Z"), Duration.ofDays(1));

    /** Whether {@code eventTime} lies in the range, at processing time {@code nowMillis}. */
    public boolean contains(long eventTime, long nowMillis) {
        return eventTime >= earliest.toEpochMilli() && eventTime <= latest(nowMillis);
    }

    /** The latest plausible event time at processing time {@code nowMillis}. */
    public long latest(long nowMillis) {
        long ahead = maxFuture.toMillis();
        return nowMillis > Long.MAX_VALUE - ahead ? Long.MAX_VALUE : nowMillis + ahead;
    }
}
