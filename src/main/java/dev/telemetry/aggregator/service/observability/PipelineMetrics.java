package dev.telemetry.aggregator.service.observability;

import dev.telemetry.aggregator.service.flink.EmbeddedFlinkJob;
import dev.telemetry.aggregator.service.kafka.OpenTransactionAge;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.StartupEvent;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import jakarta.interceptor.Interceptor;
import java.time.Duration;
import java.util.function.ToDoubleFunction;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.connector.base.DeliveryGuarantee;

/**
 * The service's own metrics, derived from the job where Flink has no metric for them: checkpoint
 * lag (the headline: how stale committed output is), and for exactly-once the age of the oldest
 * open (or pre-committed) Kafka transaction, by the broker's own start time, and the headroom left
 * before {@code transaction.timeout.ms} aborts it. An expired transaction is lost output, so the
 * headroom is what must page someone in time.
 *
 * <p>Gauges read NaN while the job has not started or does not answer: absent, not invented.
 */
@ApplicationScoped
public class PipelineMetrics {
    @Inject MeterRegistry registry;
    @Inject JobObserver observer;
    @Inject EmbeddedFlinkJob job;
    @Inject ServiceAdminClient adminClient;

    /** How often the transaction age gauges ask the broker (a scrape reads both gauges). */
    private static final Duration TRANSACTION_AGE_REFRESH = Duration.ofSeconds(5);

    void register(@Observes @Priority(Interceptor.Priority.LIBRARY_AFTER) StartupEvent event) {
        gauge(
                "telemetry.checkpoint.lag",
                "Seconds since the last completed checkpoint (or since the job started)",
                JobObserver.Observation::checkpointLagSeconds);
        Gauge.builder("telemetry.job.running", observer, o -> running(o) ? 1 : 0)
                .description("1 while the job is RUNNING")
                .register(registry);
        boolean exactlyOnce =
                job.options()
                        .map(o -> o.job().deliveryGuarantee() == DeliveryGuarantee.EXACTLY_ONCE)
                        .orElse(false);
        if (exactlyOnce) {
            double timeoutSeconds =
                    job.options().get().job().transactionTimeout().toMillis() / 1000.0;
            OpenTransactionAge ages =
                    new OpenTransactionAge(
                            adminClient::admin,
                            job.options().get().job().transactionalIdPrefix(),
                            TRANSACTION_AGE_REFRESH,
                            ServiceAdminClient.TIMEOUT);
            gauge(
                    "telemetry.transaction.oldest.open.age",
                    "Age of the oldest open or pre-committed Kafka transaction of the sinks, from"
                            + " the broker's start time (0 if none is open)",
                    o -> oldestOpenAgeSeconds(ages, o));
            gauge(
                    "telemetry.transaction.timeout.headroom",
                    "Seconds left before the oldest open transaction reaches"
                            + " transaction.timeout.ms",
                    o -> timeoutSeconds - oldestOpenAgeSeconds(ages, o));
            Gauge.builder("telemetry.transaction.timeout", () -> timeoutSeconds)
                    .description("The sinks' transaction.timeout.ms")
                    .baseUnit("seconds")
                    .register(registry);
        }
    }

    /**
     * The broker's answer, refreshed every few seconds; until the broker first answers, the upper
     * bound from this run's checkpoints (which cannot see a transaction carried over from the
     * previous run).
     */
    private static double oldestOpenAgeSeconds(
            OpenTransactionAge ages, JobObserver.Observation observation) {
        return ages.ageSeconds(observation.takenAt())
                .orElse(observation.oldestOpenTransactionAgeSeconds());
    }

    private void gauge(
            String name, String description, ToDoubleFunction<JobObserver.Observation> value) {
        Gauge.builder(name, observer, o -> o.observe().map(value::applyAsDouble).orElse(Double.NaN))
                .description(description)
                .baseUnit("seconds")
                .register(registry);
    }

    private static boolean running(JobObserver observer) {
        return observer.observe().map(o -> o.state() == JobStatus.RUNNING).orElse(false);
    }
}
