package dev.telemetry.aggregator.testing;

/**
 * One real Apache Kafka broker ({@link KafkaBrokerProcess}) shared by every integration test in the
 * JVM: started on first use, stopped when the JVM exits. A test that kills or restarts a broker
 * starts its own {@link KafkaBrokerProcess} instead.
 *
 * <p>The address is also published as a system property, so code loaded by another class loader
 * (Quarkus tests) finds the same broker instead of starting a second one.
 */
public final class SharedKafkaBroker {
    /**
     * Deliberately outside the service's {@code telemetry.} and {@code kafka.} settings: the
     * service refuses an undeclared property there (a typo), so a system property named {@code
     * telemetry.*} would fail every {@code @QuarkusTest} started after it.
     */
    public static final String BOOTSTRAP_PROPERTY = "shared-test-broker.bootstrap-servers";

    public static final String CONTAINER_BOOTSTRAP_PROPERTY =
            "shared-test-broker.container-bootstrap-servers";

    /** See {@link KafkaBrokerProcess#SLIRP4NETNS_HOST_LOOPBACK}. */
    public static final String SLIRP4NETNS_HOST_LOOPBACK =
            KafkaBrokerProcess.SLIRP4NETNS_HOST_LOOPBACK;

    private SharedKafkaBroker() {}

    /** The broker's bootstrap servers, starting it if this JVM has none yet. */
    public static String bootstrapServers() {
        synchronized (System.class) {
            String running = System.getProperty(BOOTSTRAP_PROPERTY);
            if (running != null) {
                return running;
            }
            KafkaBrokerProcess broker = KafkaBrokerProcess.start();
            Runtime.getRuntime()
                    .addShutdownHook(new Thread(broker::close, "kafka-test-broker-stop"));
            System.setProperty(CONTAINER_BOOTSTRAP_PROPERTY, broker.containerBootstrapServers());
            System.setProperty(BOOTSTRAP_PROPERTY, broker.bootstrapServers());
            return broker.bootstrapServers();
        }
    }

    /** See {@link KafkaBrokerProcess#containerBootstrapServers()}. */
    public static String containerBootstrapServers() {
        bootstrapServers();
        return System.getProperty(CONTAINER_BOOTSTRAP_PROPERTY);
    }
}
