package dev.telemetry.aggregator.service.flink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.telemetry.aggregator.job.TelemetryAggregationJob;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.junit.jupiter.api.Test;

/**
 * Guards {@link ReportingMiniCluster} and {@link EmptyRestEndpoint}, which override Flink
 * internals, against a Flink upgrade: the embedded cluster's REST endpoint serves nothing (whatever
 * else runs on the host or in the pod, which shares the service's loopback, cannot list, cancel or
 * savepoint the job through it), and its metrics reach the reporter the service hands it.
 */
class ReportingMiniClusterTest {

    @Test
    void flinksRestApiAnswersNothing() throws Exception {
        try (ReportingMiniCluster cluster = startedCluster()) {
            URI rest = cluster.getRestAddress().get(30, TimeUnit.SECONDS);
            assertThat(rest.getHost()).isEqualTo("127.0.0.1");
            HttpClient client = HttpClient.newHttpClient();
            for (String path : List.of("/", "/overview", "/config", "/jobs", "/jobs/overview")) {
                HttpResponse<String> response =
                        client.send(
                                HttpRequest.newBuilder(rest.resolve(path))
                                        .timeout(Duration.ofSeconds(10))
                                        .build(),
                                HttpResponse.BodyHandlers.ofString());
                assertThat(response.statusCode()).as("GET %s", path).isEqualTo(404);
            }
        }
    }

    @Test
    void flinksMetricsReachTheMeterRegistry() throws Exception {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (ReportingMiniCluster cluster = startedCluster(registry)) {
            await().atMost(Duration.ofSeconds(30))
                    .untilAsserted(
                            () ->
                                    assertThat(registry.getMeters())
                                            .extracting(meter -> meter.getId().getName())
                                            .contains(
                                                    "flink.jobmanager.numRegisteredTaskManagers"));
        }
    }

    /**
     * The records the job's source has read, as the first checkpoint after a start looks for them:
     * none before the job runs, then the count of what the source operator emits.
     */
    @Test
    void theSourcesRecordsReadAreCountedFromItsOperatorsMetric() throws Exception {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (ReportingMiniCluster cluster = startedCluster(registry)) {
            assertThat(FlinkMicrometerReporter.sourceRecordsRead(registry)).isZero();
            StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
            env.setParallelism(1);
            env.fromSource(
                            new DataGeneratorSource<>(
                                    index -> index,
                                    Long.MAX_VALUE,
                                    RateLimiterStrategy.perSecond(200),
                                    Types.LONG),
                            WatermarkStrategy.noWatermarks(),
                            TelemetryAggregationJob.SOURCE_NAME)
                    .sinkTo(new DiscardingSink<>());
            JobID job =
                    cluster.submitJob(env.getStreamGraph()).get(30, TimeUnit.SECONDS).getJobID();
            await().atMost(Duration.ofSeconds(30))
                    .until(() -> FlinkMicrometerReporter.sourceRecordsRead(registry) >= 100);
            cluster.cancelJob(job).get(30, TimeUnit.SECONDS);
        }
    }

    /**
     * The task manager gets Flink's default number of network buffers, at 8 KB each: the pool is
     * allocated whole at every start.
     */
    @Test
    void theNetworkBufferPoolKeepsItsCountAtAQuarterOfTheSize() throws Exception {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (ReportingMiniCluster cluster = startedCluster(registry)) {
            await().atMost(Duration.ofSeconds(30))
                    .untilAsserted(
                            () -> {
                                assertThat(gauge(registry, "Shuffle.Netty.TotalMemorySegments"))
                                        .isEqualTo(EmbeddedFlinkConfiguration.NETWORK_BUFFERS);
                                assertThat(gauge(registry, "Shuffle.Netty.TotalMemory"))
                                        .isEqualTo(16 * 1024 * 1024);
                            });
        }
    }

    private static double gauge(SimpleMeterRegistry registry, String suffix) {
        return registry.getMeters().stream()
                .filter(meter -> meter.getId().getName().endsWith(suffix))
                .findFirst()
                .map(meter -> meter.measure().iterator().next().getValue())
                .orElseThrow(() -> new AssertionError("no meter named *" + suffix));
    }

    private static ReportingMiniCluster startedCluster() throws Exception {
        return startedCluster(new SimpleMeterRegistry());
    }

    private static ReportingMiniCluster startedCluster(SimpleMeterRegistry registry)
            throws Exception {
        Configuration configuration = new Configuration();
        EmbeddedFlinkConfiguration.bindToLoopback(configuration);
        EmbeddedFlinkConfiguration.smallNetworkBuffers(configuration);
        EmbeddedFlinkConfiguration.slotsAtOnce(configuration);
        ReportingMiniCluster cluster =
                new ReportingMiniCluster(
                        new MiniClusterConfiguration.Builder()
                                .setConfiguration(configuration)
                                .setNumTaskManagers(1)
                                .setNumSlotsPerTaskManager(1)
                                .build(),
                        new FlinkMicrometerReporter(registry));
        cluster.start();
        return cluster;
    }
}
