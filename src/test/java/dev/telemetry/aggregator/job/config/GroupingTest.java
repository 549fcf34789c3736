package dev.telemetry.aggregator.job.config;

import static org.assertj.core.api.Assertions.assertThat;

import dev.telemetry.aggregator.job.records.TelemetryEvent;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class GroupingTest {
    private static final Grouping BY_REGION =
            Grouping.parse(Settings.GROUPINGS, "metric,tags.region", "by-region", List.of());
    private static final Grouping BY_DEVICE_AND_ZONE =
            Grouping.parse(
                    Settings.GROUPINGS, "tags.zone,deviceId,metric,tags.az", "by-zone", List.of());
    private static final Grouping BY_METRIC =
            Grouping.parse(Settings.GROUPINGS, "metric", "by-metric", List.of());

    @Test
    void theDefaultGroupingsSeriesIsTheDeviceIdItself() {
        Grouping perDevice =
                Grouping.parse(Settings.GROUP_BY, "metric, deviceId", "out", List.of());
        TelemetryEvent event = tagged("sensor-1", "region", "eu");

        assertThat(perDevice.isDeviceMetric()).isTrue();
        assertThat(perDevice.seriesPrefix()).isEmpty();
        assertThat(perDevice.seriesOf(event.deviceId, event.tags, "")).isSameAs(event.deviceId);
        assertThat(perDevice.valuesOf("sensor-1", "")).containsExactly("sensor-1");
    }

    @Test
    void aSeriesHoldsTheGroupedValuesInCanonicalOrder() {
        TelemetryEvent event = tagged("sensor-1", "az", "a", "region", "eu", "zone", "z1");

        String series =
                BY_DEVICE_AND_ZONE.seriesOf(
                        event.deviceId, event.tags, BY_DEVICE_AND_ZONE.seriesPrefix());

        assertThat(BY_DEVICE_AND_ZONE.id()).isEqualTo("deviceId,metric,tags.az,tags.zone");
        assertThat(BY_DEVICE_AND_ZONE.valuesOf(series, BY_DEVICE_AND_ZONE.seriesPrefix()))
                .containsExactly("sensor-1", "a", "z1");
        assertThat(
                        BY_REGION.valuesOf(
                                BY_REGION.seriesOf(
                                        event.deviceId, event.tags, BY_REGION.seriesPrefix()),
                                BY_REGION.seriesPrefix()))
                .containsExactly(null, "eu");
    }

    @Test
    void aMissingTagIsTheEmptyValue() {
        TelemetryEvent untagged = new TelemetryEvent("sensor-1", "m", 1, 0);

        String series =
                BY_REGION.seriesOf(untagged.deviceId, untagged.tags, BY_REGION.seriesPrefix());

        assertThat(BY_REGION.valuesOf(series, BY_REGION.seriesPrefix())).containsExactly(null, "");
    }

    @Test
    void eachSeriesBelongsToItsGroupingOnly() {
        Grouping perDevice = Grouping.PER_DEVICE;
        // A device named like a region, and a region named like a device.
        TelemetryEvent event = tagged("eu", "region", "sensor-1", "zone", "eu");
        List<Grouping> all = List.of(perDevice, BY_REGION, BY_DEVICE_AND_ZONE, BY_METRIC);

        for (Grouping grouping : all) {
            String series = grouping.seriesOf(event.deviceId, event.tags, grouping.seriesPrefix());
            for (Grouping other : all) {
                assertThat(other.owns(series, other.seriesPrefix()))
                        .as("%s's series %s owned by %s", grouping.id(), series, other.id())
                        .isEqualTo(other == grouping);
            }
        }
        assertThat(
                        Stream.of(perDevice, BY_REGION, BY_DEVICE_AND_ZONE, BY_METRIC)
                                .map(g -> g.seriesOf(event.deviceId, event.tags, g.seriesPrefix()))
                                .distinct())
                .hasSize(4);
    }

    @Test
    void groupingsNameTheirLevelTopicsAfterTheirOwn() {
        Grouping withLevels =
                BY_REGION.withLevels(
                        List.of(
                                new RollupLevel(java.time.Duration.ofMinutes(1), "x-1m"),
                                new RollupLevel(java.time.Duration.ofHours(1), "x-1h")));

        assertThat(withLevels.topics())
                .containsExactly("by-region", "by-region-1m", "by-region-1h");
    }

    private static TelemetryEvent tagged(String deviceId, String... tags) {
        TelemetryEvent event = new TelemetryEvent(deviceId, "latency", 1, 0);
        event.tags = tags;
        return event;
    }
}
