package dev.telemetry.aggregator.service.flink;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;
import org.junit.jupiter.api.Test;

/**
 * The embedded cluster's REST endpoint serves nothing: whatever else runs on the host or in the pod
 * (which shares the service's loopback) cannot list, cancel or savepoint the job through it.
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

    private static ReportingMiniCluster startedCluster() throws Exception {
        Configuration configuration = new Configuration();
        EmbeddedFlinkConfiguration.bindToLoopback(configuration);
        ReportingMiniCluster cluster =
                new ReportingMiniCluster(
                        new MiniClusterConfiguration.Builder()
                                .setConfiguration(configuration)
                                .setNumTaskManagers(1)
                                .setNumSlotsPerTaskManager(1)
                                .build(),
                        new FlinkMicrometerReporter(new SimpleMeterRegistry()));
        cluster.start();
        return cluster;
    }
}
