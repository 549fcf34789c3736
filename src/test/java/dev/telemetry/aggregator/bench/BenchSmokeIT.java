package dev.telemetry.aggregator.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import org.junit.jupiter.api.Test;

/**
 * Proves the benchmark suite still runs end to end, on tiny input: throughput (one round: perf
 * tools, the service in both modes, the Kafka Streams twin), latency, recovery and footprint (one
 * kill -9 cycle and one fresh launch per contestant), then the report. Results go to {@code
 * target/bench-smoke}, never to the committed {@code bench/results}. The figures of so small a run
 * mean nothing; what it checks is that every contestant produced exactly the expected aggregates,
 * that the start-up figures were measured and that the result files are written.
 */
class BenchSmokeIT {
    @Test
    void theSuiteRunsEndToEndOnTinyInput() throws Exception {
        Path results = Paths.get("target", "bench-smoke");
        BenchSuite.run(
                BenchSuite.Options.parse(
                        "--scenario", "throughput",
                        "--scenario", "latency",
                        "--scenario", "recovery",
                        "--scenario", "footprint",
                        "--shape", "high-cardinality",
                        "--events", "20000",
                        "--rounds", "1",
                        "--latency-seconds", "3",
                        "--recovery-seconds", "3",
                        "--footprint-load-seconds", "3",
                        "--starts", "1",
                        "--parallelism", "1",
                        "--results", results.toString()));

        JsonNode throughput = firstRow(results, "throughput.json");
        JsonNode absolute = throughput.path("absolute");
        long expected = absolute.path("aggregates").asLong();
        assertThat(expected).isPositive();
        for (String contestant :
                new String[] {"service EOS", "Kafka Streams EOS v2", "service at-least-once"}) {
            assertThat(absolute.path(contestant + " aggregates seen").asLong())
                    .as("aggregates %s committed", contestant)
                    .isEqualTo(expected);
        }
        assertThat(throughput.path("targets")).hasSize(4);
        assertThat(throughput.path("ratios").path(BenchSuite.FROM_LAUNCH_RATIO).asDouble())
                .isPositive();

        JsonNode latency = firstRow(results, "latency.json");
        assertThat(latency.path("absolute").path("service EOS p99 ms").asLong()).isPositive();
        assertThat(results.resolve("latency-high-cardinality.png")).isNotEmptyFile();

        JsonNode recovery = firstRow(results, "recovery.json");
        assertThat(
                        recovery.path("absolute")
                                .path(
                                        "service EOS s from relaunch to processing again (first"
                                                + " offset commit)")
                                .path("median")
                                .isNumber())
                .as("the relaunched service processed again: %s", recovery)
                .isTrue();
        assertThat(recovery.path("targets")).hasSize(1);
        JsonNode footprint = firstRow(results, "footprint.json");
        assertThat(
                        footprint
                                .path("absolute")
                                .path("service EOS s from launch to ready")
                                .path("median")
                                .isNumber())
                .as("the service was ready: %s", footprint)
                .isTrue();
        assertThat(Files.readString(results.resolve("README.md")))
                .contains("## Targets", "## Ratios", "machine-dependent");
    }

    /** A scenario's result file's first (here: only) row. */
    private static JsonNode firstRow(Path results, String file) throws IOException {
        return new ObjectMapper().readTree(results.resolve(file).toFile()).path("rows").get(0);
    }
}
