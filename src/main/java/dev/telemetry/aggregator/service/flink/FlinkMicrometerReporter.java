package dev.telemetry.aggregator.service.flink;

import dev.telemetry.aggregator.job.TelemetryAggregationJob;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.LogicalScopeProvider;
import org.apache.flink.metrics.Metric;
import org.apache.flink.metrics.MetricConfig;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.reporter.MetricReporter;
import org.jboss.logging.Logger;

/**
 * Bridges Flink's metrics (job, operators, Kafka source reader and clients, sinks) to Micrometer,
 * so they appear on {@code /q/metrics}. Flink's own Kafka clients are not CDI beans, so Quarkus's
 * Kafka binder never sees them; this is their only way out.
 *
 * <p>Names follow Flink's Prometheus reporter: {@code flink_<logical scope>_<metric>}, e.g. {@code
 * flink_jobmanager_job_lastCheckpointDuration}. Scope variables become tags ({@code flink_job},
 * {@code task}, {@code operator}, {@code subtask}, {@code topic}, {@code partition}, {@code
 * reason}, ...); per-run identifiers (host, task manager, attempt and vertex ids) are left out so
 * series survive restarts. Gauges whose value is not a number are not exported. Meters are removed
 * when Flink removes the metric (e.g. on job restart) and registered again with the new instance.
 */
final class FlinkMicrometerReporter implements MetricReporter {
    private static final Logger LOG = Logger.getLogger(FlinkMicrometerReporter.class);

    /** Variables that change on every run or attempt: as tags they would leak series. */
    private static final Set<String> EXCLUDED_VARIABLES =
            Set.of(
                    "host",
                    "tm_id",
                    "job_id",
                    "task_id",
                    "task_attempt_id",
                    "task_attempt_num",
                    "operator_id",
                    "tm_host");

    /**
     * Compiled once: names are sanitised several times per metric (each scope component and the
     * name), and a task registers hundreds of metrics while it starts.
     */
    private static final Pattern NOT_IN_A_METER_NAME = Pattern.compile("[^A-Za-z0-9_.]");

    /** The meter this reporter makes of an operator's {@code numRecordsOut} counter. */
    private static final String SOURCE_RECORDS_OUT =
            "flink.taskmanager.job.task.operator.numRecordsOut";

    /** The source operator's name as Flink gives it to the source's metrics. */
    private static final String SOURCE_OPERATOR = "Source: " + TelemetryAggregationJob.SOURCE_NAME;

    private final MeterRegistry registry;
    private final Map<Metric, Meter> meters = new IdentityHashMap<>();

    FlinkMicrometerReporter(MeterRegistry registry) {
        this.registry = registry;
    }

    @Override
    public void open(MetricConfig config) {}

    @Override
    public synchronized void close() {
        meters.values().forEach(registry::remove);
        meters.clear();
    }

    @Override
    public synchronized void notifyOfAddedMetric(Metric metric, String name, MetricGroup group) {
        String meterName = meterName(name, group);
        List<Tag> tags = tags(group);
        try {
            Meter meter = register(metric, meterName, tags);
            if (meter != null) {
                meters.put(metric, meter);
            }
        } catch (IllegalArgumentException e) {
            // Micrometer's Prometheus registry refuses a name that already exists with other tag
            // keys or another type; skipping one series beats failing the task that owns it.
            LOG.debugf("Not exporting Flink metric %s %s: %s", meterName, tags, e.getMessage());
        }
    }

    @Override
    public synchronized void notifyOfRemovedMetric(Metric metric, String name, MetricGroup group) {
        Meter meter = meters.remove(metric);
        if (meter != null) {
            registry.remove(meter);
        }
    }

    private Meter register(Metric metric, String name, List<Tag> tags) {
        if (metric instanceof Counter counter) {
            return FunctionCounter.builder(name, counter, Counter::getCount)
                    .tags(tags)
                    .register(registry);
        }
        if (metric instanceof org.apache.flink.metrics.Meter) {
            // Flink's meters (numRecordsInPerSecond, ...) are views over counters it also
            // registers; Prometheus derives the rate from the counter, so exporting both would
            // only double the series.
            return null;
        }
        if (metric instanceof org.apache.flink.metrics.Gauge<?> gauge) {
            Object value = safeValue(gauge);
            if (!(value instanceof Number) && !(value instanceof Boolean)) {
                return null;
            }
            return Gauge.builder(name, gauge, FlinkMicrometerReporter::numericValue)
                    .tags(tags)
                    .register(registry);
        }
        if (metric instanceof Histogram histogram) {
            return Gauge.builder(name + ".p99", histogram, h -> h.getStatistics().getQuantile(0.99))
                    .tags(tags)
                    .register(registry);
        }
        return null;
    }

    private static Object safeValue(org.apache.flink.metrics.Gauge<?> gauge) {
        try {
            return gauge.getValue();
        } catch (RuntimeException e) {
            // Some gauges fail until their operator is running; treat them as numeric later.
            return 0;
        }
    }

    private static double numericValue(org.apache.flink.metrics.Gauge<?> gauge) {
        Object value;
        try {
            value = gauge.getValue();
        } catch (RuntimeException e) {
            return Double.NaN;
        }
        if (value instanceof Number number) {
            return number.doubleValue();
        }
        if (value instanceof Boolean bool) {
            return bool ? 1 : 0;
        }
        return Double.NaN;
    }

    /**
     * Records the job's Kafka source has read since its tasks last started, over all its subtasks:
     * Flink's {@code numRecordsOut} of the source operator, as this reporter exports it (the source
     * turns every Kafka record into one record, an event or a dead letter). Zero before the source
     * runs.
     */
    static long sourceRecordsRead(MeterRegistry registry) {
        return (long)
                registry
                        .find(SOURCE_RECORDS_OUT)
                        .tag("operator", SOURCE_OPERATOR)
                        .functionCounters()
                        .stream()
                        .mapToDouble(FunctionCounter::count)
                        .sum();
    }

    static String meterName(String name, MetricGroup group) {
        String scope =
                LogicalScopeProvider.castFrom(group)
                        .getLogicalScope(FlinkMicrometerReporter::sanitize, '.');
        return "flink." + scope + "." + sanitize(name);
    }

    static List<Tag> tags(MetricGroup group) {
        List<Tag> tags = new ArrayList<>();
        group.getAllVariables()
                .forEach(
                        (variable, value) -> {
                            String key = variable.replace("<", "").replace(">", "");
                            if (!EXCLUDED_VARIABLES.contains(key)) {
                                tags.add(Tag.of(tagName(key), value == null ? "" : value));
                            }
                        });
        return tags;
    }

    private static String tagName(String variable) {
        return switch (variable) {
            // Not "job": Prometheus owns that label (the scrape job) and would rename ours.
            case "job_name" -> "flink_job";
            case "task_name" -> "task";
            case "operator_name" -> "operator";
            case "subtask_index" -> "subtask";
            default -> variable.toLowerCase(Locale.ROOT);
        };
    }

    private static String sanitize(String text) {
        return NOT_IN_A_METER_NAME.matcher(text).replaceAll("_");
    }
}
