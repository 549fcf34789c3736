package dev.telemetry.aggregator.testing;

import java.util.ArrayList;
import java.util.List;
import org.apache.flink.util.Collector;

/**
 * A {@link Collector} that keeps what it receives in a list, for asserting what a function emits.
 */
public final class ListCollector<T> implements Collector<T> {
    private final List<T> collected = new ArrayList<>();
    private boolean closed;

    @Override
    public void collect(T record) {
        collected.add(record);
    }

    @Override
    public void close() {
        closed = true;
    }

    public List<T> collected() {
        return collected;
    }

    public boolean isClosed() {
        return closed;
    }
}
