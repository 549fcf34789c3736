package dev.telemetry.aggregator.job.functions;

import dev.telemetry.aggregator.job.records.PartialAggregate;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.api.java.tuple.Tuple2;

/**
 * Keys partial aggregates by (deviceId, metric): the unit every window aggregates. The key type is
 * part of the window state's format in checkpoints and savepoints.
 */
public class DeviceMetricKey implements KeySelector<PartialAggregate, Tuple2<String, String>> {
    private static final long serialVersionUID = 1L;

    @Override
    public Tuple2<String, String> getKey(PartialAggregate partial) {
        return Tuple2.of(partial.deviceId, partial.metric);
    }
}
