package dev.telemetry.aggregator.job.functions;

import dev.telemetry.aggregator.job.records.TelemetryEvent;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.api.java.tuple.Tuple2;

/** Keys events by (deviceId, metric): the unit every window aggregates. */
public class DeviceMetricKey implements KeySelector<TelemetryEvent, Tuple2<String, String>> {
    private static final long serialVersionUID = 1L;

    @Override
    public Tuple2<String, String> getKey(TelemetryEvent event) {
        return Tuple2.of(event.deviceId, event.metric);
    }
}
