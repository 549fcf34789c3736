package dev.telemetry.aggregator.testing;

import java.util.Map;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;

/**
 * One real Apache Kafka broker (KRaft, single combined node, 127.0.0.1, random port) shared by
 * every integration test in the JVM: started on first use, stopped when the JVM exits.
 *
 * <p>The address is also published as a system property, so code loaded by another class loader
 * (Quarkus tests) finds the same broker instead of starting a second one.
 */
public final class SharedKafkaBroker {
    public static final String BOOTSTRAP_PROPERTY = "telemetry.test.kafka.bootstrap-servers";

    private static KafkaClusterTestKit cluster;

    private SharedKafkaBroker() {}

    /** The broker's bootstrap servers, starting it if this JVM has none yet. */
    public static String bootstrapServers() {
        synchronized (System.class) {
            String running = System.getProperty(BOOTSTRAP_PROPERTY);
            if (running != null) {
                return running;
            }
            try {
                cluster = start();
            } catch (Exception e) {
                throw new IllegalStateException("Cannot start the test Kafka broker", e);
            }
            String bootstrap = cluster.bootstrapServers();
            System.setProperty(BOOTSTRAP_PROPERTY, bootstrap);
            Runtime.getRuntime().addShutdownHook(new Thread(SharedKafkaBroker::stop, "kafka-test-broker-stop"));
            return bootstrap;
        }
    }

    private static KafkaClusterTestKit start() throws Exception {
        long started = System.nanoTime();
        KafkaClusterTestKit.Builder builder =
                new KafkaClusterTestKit.Builder(
                        new TestKitNodes.Builder()
                                .setCombined(true)
                                .setNumBrokerNodes(1)
                                .setNumControllerNodes(1)
                                .build());
        Map.of(
                        "offsets.topic.replication.factor", "1",
                        "offsets.topic.num.partitions", "4",
                        "transaction.state.log.replication.factor", "1",
                        "transaction.state.log.min.isr", "1",
                        "transaction.state.log.num.partitions", "4",
                        "share.coordinator.state.topic.replication.factor", "1",
                        "share.coordinator.state.topic.min.isr", "1",
                        "group.initial.rebalance.delay.ms", "0",
                        "auto.create.topics.enable", "false")
                .forEach(builder::setConfigProp);
        KafkaClusterTestKit kit = builder.build();
        kit.format();
        kit.startup();
        kit.waitForReadyBrokers();
        System.out.printf(
                "Test Kafka broker ready at %s in %d ms%n",
                kit.bootstrapServers(), (System.nanoTime() - started) / 1_000_000);
        return kit;
    }

    private static void stop() {
        synchronized (System.class) {
            if (cluster != null) {
                try {
                    cluster.close();
                } catch (Exception e) {
                    // The JVM is exiting; a broker that fails to close leaves only temp files.
                    System.err.println("Test Kafka broker did not close cleanly: " + e);
                }
                cluster = null;
            }
        }
    }
}
