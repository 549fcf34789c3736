package dev.telemetry.aggregator.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Uuid;

/**
 * One real Apache Kafka broker (KRaft, single combined node, bound to 127.0.0.1 only) in its own
 * process, shared by every integration test in the JVM: started on first use, stopped when the JVM
 * exits. It runs from the test class path (the {@code kafka_2.13} jars from Maven Central).
 *
 * <p>The address is also published as a system property, so code loaded by another class loader
 * (Quarkus tests) finds the same broker instead of starting a second one.
 *
 * <p>A second listener, also bound to 127.0.0.1 only, serves containers (see {@link
 * #containerBootstrapServers()}).
 */
public final class SharedKafkaBroker {
    /**
     * Deliberately outside the {@code telemetry.} and {@code kafka.} roots of the service's
     * {@code @ConfigMapping}s: SmallRye Config rejects unknown properties under a mapped root, so a
     * system property named {@code telemetry.*} fails every {@code @QuarkusTest} started after it.
     */
    public static final String BOOTSTRAP_PROPERTY = "shared-test-broker.bootstrap-servers";

    public static final String CONTAINER_BOOTSTRAP_PROPERTY =
            "shared-test-broker.container-bootstrap-servers";

    /**
     * The host's loopback as a podman container on slirp4netns with {@code
     * allow_host_loopback=true} sees it: slirp4netns forwards this address to the host's 127.0.0.1.
     */
    public static final String SLIRP4NETNS_HOST_LOOPBACK = "10.0.2.2";

    private static final Duration STARTUP_TIMEOUT = Duration.ofSeconds(90);

    private SharedKafkaBroker() {}

    /** The broker's bootstrap servers, starting it if this JVM has none yet. */
    public static String bootstrapServers() {
        synchronized (System.class) {
            String running = System.getProperty(BOOTSTRAP_PROPERTY);
            if (running != null) {
                return running;
            }
            String bootstrap;
            try {
                bootstrap = start();
            } catch (IOException e) {
                throw new UncheckedIOException("Cannot start the test Kafka broker", e);
            }
            System.setProperty(BOOTSTRAP_PROPERTY, bootstrap);
            return bootstrap;
        }
    }

    /**
     * Bootstrap servers for a client in a container on slirp4netns with {@code
     * allow_host_loopback=true}: the broker's CONTAINER listener, bound to 127.0.0.1 like the other
     * and advertised as {@value #SLIRP4NETNS_HOST_LOOPBACK}, so the metadata the broker returns
     * sends the container's clients back through slirp4netns rather than to the container's own
     * loopback.
     */
    public static String containerBootstrapServers() {
        bootstrapServers();
        return System.getProperty(CONTAINER_BOOTSTRAP_PROPERTY);
    }

    private static String start() throws IOException {
        long started = System.nanoTime();
        Path dir = Files.createTempDirectory(Paths.get("target").toAbsolutePath(), "kafka-broker-");
        int brokerPort = freePort();
        int controllerPort = freePort();
        int containerPort = freePort();
        String bootstrap = "127.0.0.1:" + brokerPort;
        String containerBootstrap = SLIRP4NETNS_HOST_LOOPBACK + ":" + containerPort;
        Properties config = baseConfig(dir, controllerPort);
        config.put(
                "listeners",
                "PLAINTEXT://127.0.0.1:"
                        + brokerPort
                        + ",CONTROLLER://127.0.0.1:"
                        + controllerPort
                        + ",CONTAINER://127.0.0.1:"
                        + containerPort);
        config.put(
                "advertised.listeners",
                "PLAINTEXT://" + bootstrap + ",CONTAINER://" + containerBootstrap);
        config.put(
                "listener.security.protocol.map",
                "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,CONTAINER:PLAINTEXT");
        Process broker = launch(dir, config, List.of());
        awaitReady(broker, bootstrap, dir);
        System.out.printf(
                "Test Kafka broker ready at %s (containers: %s) in %d ms (log: %s)%n",
                bootstrap,
                containerBootstrap,
                (System.nanoTime() - started) / 1_000_000,
                dir.resolve("broker.log"));
        System.setProperty(CONTAINER_BOOTSTRAP_PROPERTY, containerBootstrap);
        return bootstrap;
    }

    /**
     * The configuration every test broker shares: one combined KRaft node on 127.0.0.1, a PLAINTEXT
     * inter-broker listener, replication factor 1, no retention. Callers add {@code listeners},
     * {@code advertised.listeners} and {@code listener.security.protocol.map}.
     */
    static Properties baseConfig(Path dir, int controllerPort) {
        Properties config = new Properties();
        config.put("process.roles", "broker,controller");
        config.put("node.id", "1");
        config.put("controller.quorum.voters", "1@127.0.0.1:" + controllerPort);
        config.put("controller.listener.names", "CONTROLLER");
        config.put("inter.broker.listener.name", "PLAINTEXT");
        config.put("log.dirs", dir.resolve("data").toString());
        config.put("num.partitions", "1");
        config.put("offsets.topic.replication.factor", "1");
        config.put("offsets.topic.num.partitions", "4");
        config.put("transaction.state.log.replication.factor", "1");
        config.put("transaction.state.log.min.isr", "1");
        config.put("transaction.state.log.num.partitions", "4");
        config.put("share.coordinator.state.topic.replication.factor", "1");
        config.put("share.coordinator.state.topic.min.isr", "1");
        config.put("group.initial.rebalance.delay.ms", "0");
        config.put("auto.create.topics.enable", "false");
        // Test events carry fixed timestamps (2025-11), and so do the aggregates the sinks write.
        // On a machine whose clock is more than 7 days past them, time-based retention (checked
        // 30 s after start, then every 5 min) rolls and deletes an output topic's log under a
        // running test: committed aggregates vanish. Tests never need retention.
        config.put("log.retention.ms", "-1");
        return config;
    }

    /**
     * Writes {@code config} to {@code <dir>/server.properties} and starts a broker process with it
     * ({@link KafkaBrokerMain}, log in {@code <dir>/broker.log}); {@code formatArguments} go to the
     * storage tool's {@code format} (e.g. {@code --add-scram}). Stopped when the JVM exits.
     */
    static Process launch(Path dir, Properties config, List<String> formatArguments)
            throws IOException {
        Path configFile = dir.resolve("server.properties");
        try (var out = Files.newBufferedWriter(configFile)) {
            config.store(out, "telemetry-aggregator test broker");
        }
        List<String> command = new ArrayList<>();
        command.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xmx512m");
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(KafkaBrokerMain.class.getName());
        command.add(configFile.toString());
        command.add(Uuid.randomUuid().toString());
        command.addAll(formatArguments);
        Process process =
                new ProcessBuilder(command)
                        .redirectErrorStream(true)
                        .redirectOutput(dir.resolve("broker.log").toFile())
                        .start();
        Runtime.getRuntime()
                .addShutdownHook(new Thread(() -> stop(process), "kafka-test-broker-stop"));
        return process;
    }

    /** Waits until the broker answers on {@code bootstrap} (a listener needing no credentials). */
    static void awaitReady(Process broker, String bootstrap, Path dir) {
        Properties properties = new Properties();
        properties.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        properties.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 2_000);
        properties.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 2_000);
        long deadline = System.nanoTime() + STARTUP_TIMEOUT.toNanos();
        try (Admin admin = Admin.create(properties)) {
            while (System.nanoTime() < deadline) {
                if (!broker.isAlive()) {
                    throw new IllegalStateException(
                            "The test broker exited with "
                                    + broker.exitValue()
                                    + "; see "
                                    + dir.resolve("broker.log"));
                }
                try {
                    if (!admin.describeCluster().nodes().get(2, TimeUnit.SECONDS).isEmpty()) {
                        return;
                    }
                } catch (Exception e) {
                    // Not up yet; poll again.
                }
                Thread.sleep(100);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        throw new IllegalStateException(
                "The test broker did not become ready within "
                        + STARTUP_TIMEOUT
                        + "; see "
                        + dir.resolve("broker.log"));
    }

    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    private static void stop(Process process) {
        if (process != null && process.isAlive()) {
            process.destroy();
            try {
                if (!process.waitFor(20, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
            }
        }
    }
}
