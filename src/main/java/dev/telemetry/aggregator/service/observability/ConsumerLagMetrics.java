package dev.telemetry.aggregator.service.observability;

import dev.telemetry.aggregator.service.flink.EmbeddedFlinkJob;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import jakarta.interceptor.Interceptor;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsResult.ListOffsetsResultInfo;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.jboss.logging.Logger;

/**
 * Consumer lag per input partition, as lag exporters measure it: the log-end offset minus the
 * offset the job last committed for its group. The job commits on checkpoint completion, so this is
 * how far the last checkpoint is behind the input. Flink's bridged Kafka consumer metrics give only
 * the maximum lag, because Kafka's per-partition metrics share one name.
 */
@ApplicationScoped
public class ConsumerLagMetrics {
    private static final Logger LOG = Logger.getLogger(ConsumerLagMetrics.class);
    private static final long REFRESH_SECONDS = 10;

    @Inject MeterRegistry registry;
    @Inject ServiceAdminClient adminClient;
    @Inject EmbeddedFlinkJob job;

    private ScheduledExecutorService refresher;
    private MultiGauge lag;

    void start(@Observes @Priority(Interceptor.Priority.LIBRARY_AFTER) StartupEvent event) {
        lag =
                MultiGauge.builder("telemetry.consumer.lag")
                        .description(
                                "Records between the input log end and the group's committed"
                                        + " offset")
                        .baseUnit("records")
                        .register(registry);
        refresher =
                Executors.newSingleThreadScheduledExecutor(
                        runnable -> {
                            Thread thread = new Thread(runnable, "consumer-lag-metrics");
                            thread.setDaemon(true);
                            return thread;
                        });
        refresher.scheduleWithFixedDelay(this::refresh, 0, REFRESH_SECONDS, TimeUnit.SECONDS);
    }

    void stop(@Observes ShutdownEvent event) {
        if (refresher != null) {
            refresher.shutdownNow();
        }
    }

    private void refresh() {
        try {
            Optional<Admin> admin = adminClient.admin();
            if (admin.isPresent()) {
                lag.register(rows(admin.get()), true);
            }
        } catch (Exception e) {
            // The broker may be away; keep the last values and try again next round.
            LOG.debugf("Consumer lag not refreshed: %s", e.toString());
        }
    }

    private List<MultiGauge.Row<?>> rows(Admin admin) throws Exception {
        String group = job.options().orElseThrow().job().groupId();
        Map<TopicPartition, OffsetAndMetadata> committed =
                admin.listConsumerGroupOffsets(group)
                        .partitionsToOffsetAndMetadata()
                        .get(ServiceAdminClient.TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        Map<TopicPartition, OffsetSpec> request = new HashMap<>();
        committed.keySet().forEach(partition -> request.put(partition, OffsetSpec.latest()));
        if (request.isEmpty()) {
            return List.of();
        }
        Map<TopicPartition, ListOffsetsResultInfo> ends =
                admin.listOffsets(request)
                        .all()
                        .get(ServiceAdminClient.TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        List<MultiGauge.Row<?>> rows = new ArrayList<>();
        committed.forEach(
                (partition, offset) -> {
                    ListOffsetsResultInfo end = ends.get(partition);
                    if (offset != null && end != null) {
                        long behind = Math.max(0, end.offset() - offset.offset());
                        rows.add(
                                MultiGauge.Row.of(
                                        Tags.of(
                                                "topic",
                                                partition.topic(),
                                                "partition",
                                                Integer.toString(partition.partition())),
                                        behind));
                    }
                });
        return rows;
    }
}
