package dev.telemetry.aggregator.testing;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.nio.file.Paths;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;

/**
 * Points a {@code @QuarkusTest} at the shared test broker with topics, consumer group,
 * transactional ids and a checkpoint directory of its own, and test-sized windows and checkpoints.
 */
public class SharedBrokerTestResource implements QuarkusTestResourceLifecycleManager {
    /** Partitions of the topics the service creates; the watermark flush must cover each. */
    public static final int PARTITIONS = 2;

    /** Window size given to the service, in milliseconds (the oracle needs the same number). */
    public static final long WINDOW_MILLIS = 2_000;

    @Override
    public Map<String, String> start() {
        // The test JVM may already run the broker (another IT started it, maybe from another class
        // loader); SharedKafkaBroker finds it through its system property instead of starting a
        // second one.
        String bootstrap = SharedKafkaBroker.bootstrapServers();
        String run = UUID.randomUUID().toString().substring(0, 8);
        Map<String, String> config = new HashMap<>();
        config.put("kafka.bootstrap-servers", bootstrap);
        // Fail fast if the broker is gone rather than after the 60s production default.
        config.put("kafka.startup-timeout", "20s");
        config.put("telemetry.input-topics", "wiring-in-" + run);
        config.put("telemetry.output-topic", "wiring-out-" + run);
        config.put("telemetry.dead-letter-topic", "wiring-dlq-" + run);
        config.put("telemetry.source.group-id", "wiring-group-" + run);
        config.put("telemetry.transactional-id-prefix", "wiring-tx-" + run);
        config.put(
                "telemetry.checkpoint.dir",
                Paths.get("target", "service-wiring-it", run).toAbsolutePath().toString());
        config.put("telemetry.checkpoint.interval", "1s");
        config.put("telemetry.window-size", WINDOW_MILLIS + "ms");
        config.put("telemetry.watermark.max-out-of-orderness", "1s");
        config.put("telemetry.watermark.idleness", "1s");
        config.put("telemetry.topics.create", "true");
        config.put("telemetry.topics.partitions", Integer.toString(PARTITIONS));
        config.put("telemetry.topics.replication-factor", "1");
        config.put("telemetry.shutdown-timeout", "10s");
        config.put("quarkus.http.host", "127.0.0.1");
        // A random port: another engineer's service or test may hold 8081 on this machine.
        config.put("quarkus.http.test-port", "0");
        return config;
    }

    @Override
    public void stop() {
        // The broker belongs to the JVM and stops with it; the topics are unique and harmless.
    }
}
