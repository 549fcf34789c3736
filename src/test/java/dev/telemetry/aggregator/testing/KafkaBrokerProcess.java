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
import java.util.Comparator;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Uuid;

/**
 * A real Apache Kafka broker (KRaft, single combined node, bound to 127.0.0.1 only) in its own
 * process, run from the test class path (the {@code kafka_2.13} jars from Maven Central). Its
 * ports, log directory and cluster id are fixed when it is created, so it can be killed with {@code
 * kill -9} and started again as the same broker: same address, same topics, same {@code
 * __transaction_state} and {@code __consumer_offsets}.
 *
 * <p>A second listener, also bound to 127.0.0.1 only, serves containers (see {@link
 * #containerBootstrapServers()}).
 */
public final class KafkaBrokerProcess implements AutoCloseable {
    /**
     * The host's loopback as a podman container on slirp4netns with {@code
     * allow_host_loopback=true} sees it: slirp4netns forwards this address to the host's 127.0.0.1.
     */
    public static final String SLIRP4NETNS_HOST_LOOPBACK = "10.0.2.2";

    /** Exit code of a process ended by SIGKILL, as {@link Process#exitValue()} reports it. */
    public static final int SIGKILL_EXIT_CODE = 128 + 9;

    private static final Duration STARTUP_TIMEOUT = Duration.ofSeconds(90);

    private final Path dir;
    private final Path configFile;
    private final String clusterId = Uuid.randomUuid().toString();
    private final String bootstrapServers;
    private final String containerBootstrapServers;
    private final List<String> formatArguments;
    private int starts;
    private Process process;

    private KafkaBrokerProcess(
            Path dir,
            Properties config,
            String bootstrapServers,
            String containerBootstrapServers,
            List<String> formatArguments)
            throws IOException {
        this.dir = dir;
        this.bootstrapServers = bootstrapServers;
        this.containerBootstrapServers = containerBootstrapServers;
        this.formatArguments = List.copyOf(formatArguments);
        this.configFile = dir.resolve("server.properties");
        try (var out = Files.newBufferedWriter(configFile)) {
            config.store(out, "telemetry-aggregator test broker");
        }
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
        config.put("log.dirs", logSegments(dir).toString());
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
     * Starts a broker with {@code config} (which must have a PLAINTEXT listener needing no
     * credentials at {@code bootstrapServers}, used to see that it is up) in {@code dir}; {@code
     * formatArguments} go to the storage tool's {@code format} (e.g. {@code --add-scram ...}).
     * Returns once it answers.
     */
    static KafkaBrokerProcess start(
            Path dir, Properties config, String bootstrapServers, List<String> formatArguments)
            throws IOException {
        KafkaBrokerProcess broker =
                new KafkaBrokerProcess(dir, config, bootstrapServers, null, formatArguments);
        broker.restart();
        return broker;
    }

    /**
     * Creates a broker with a new log directory under {@code target/} and starts it; returns once
     * it answers.
     */
    public static KafkaBrokerProcess start() {
        try {
            Path dir =
                    Files.createTempDirectory(
                            Paths.get("target").toAbsolutePath(), "kafka-broker-");
            int brokerPort = freePort();
            int controllerPort = freePort();
            int containerPort = freePort();
            String bootstrapServers = "127.0.0.1:" + brokerPort;
            String containerBootstrapServers = SLIRP4NETNS_HOST_LOOPBACK + ":" + containerPort;
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
                    "PLAINTEXT://"
                            + bootstrapServers
                            + ",CONTAINER://"
                            + containerBootstrapServers);
            config.put(
                    "listener.security.protocol.map",
                    "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,CONTAINER:PLAINTEXT");
            KafkaBrokerProcess broker =
                    new KafkaBrokerProcess(
                            dir, config, bootstrapServers, containerBootstrapServers, List.of());
            broker.restart();
            return broker;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot start a test Kafka broker", e);
        }
    }

    public String bootstrapServers() {
        return bootstrapServers;
    }

    /**
     * Bootstrap servers for a client in a container on slirp4netns with {@code
     * allow_host_loopback=true}: the broker's CONTAINER listener, bound to 127.0.0.1 like the other
     * and advertised as {@value #SLIRP4NETNS_HOST_LOOPBACK}, so the metadata the broker returns
     * sends the container's clients back through slirp4netns rather than to the container's own
     * loopback.
     */
    public String containerBootstrapServers() {
        return containerBootstrapServers;
    }

    /**
     * Starts the broker process (again, after {@link #kill()}) on the same ports, log directory and
     * cluster id; returns once it answers. Each start logs to its own {@code broker-<n>.log}.
     */
    public synchronized void restart() {
        if (isAlive()) {
            throw new IllegalStateException("The broker is still running");
        }
        long started = System.nanoTime();
        List<String> command = new ArrayList<>();
        command.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xmx512m");
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(KafkaBrokerMain.class.getName());
        command.add(configFile.toString());
        command.add(clusterId);
        command.addAll(formatArguments);
        Path log = dir.resolve("broker-" + ++starts + ".log");
        try {
            process =
                    new ProcessBuilder(command)
                            .redirectErrorStream(true)
                            .redirectOutput(log.toFile())
                            .start();
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot start the test Kafka broker", e);
        }
        awaitReady(log);
        System.out.printf(
                "Test Kafka broker ready at %s (containers: %s) in %d ms (log: %s)%n",
                bootstrapServers,
                containerBootstrapServers == null ? "none" : containerBootstrapServers,
                (System.nanoTime() - started) / 1_000_000,
                log);
    }

    /**
     * {@code kill -9}: {@link Process#destroyForcibly()} sends SIGKILL on Linux, so the broker gets
     * no chance to shut down cleanly. Returns the process's exit code ({@value #SIGKILL_EXIT_CODE}
     * for SIGKILL).
     */
    public synchronized int kill() throws InterruptedException {
        process.destroyForcibly();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            throw new IllegalStateException("The broker did not die within 30 s of SIGKILL");
        }
        return process.exitValue();
    }

    public synchronized boolean isAlive() {
        return process != null && process.isAlive();
    }

    /**
     * A clean stop (SIGTERM), forced after a bounded wait; then the log segments go (a full
     * benchmark run writes about 15 GB of them), the broker's own logs stay for a post-mortem.
     */
    @Override
    public synchronized void close() {
        Process running = process;
        if (running != null && running.isAlive()) {
            running.destroy();
            try {
                if (!running.waitFor(20, TimeUnit.SECONDS)) {
                    running.destroyForcibly();
                    running.waitFor(30, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                running.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
        if (running != null && !running.isAlive()) {
            deleteQuietly(logSegments(dir));
        }
    }

    /** The broker's {@code log.dirs}: its partitions' segments, beside its own logs. */
    private static Path logSegments(Path dir) {
        return dir.resolve("data");
    }

    private static void deleteQuietly(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path path : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        } catch (IOException | UncheckedIOException e) {
            System.err.println("Could not delete the test broker's data in " + root + ": " + e);
        }
    }

    private void awaitReady(Path log) {
        Properties properties = new Properties();
        properties.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        properties.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 2_000);
        properties.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 2_000);
        long deadline = System.nanoTime() + STARTUP_TIMEOUT.toNanos();
        try (Admin admin = Admin.create(properties)) {
            while (System.nanoTime() < deadline) {
                if (!process.isAlive()) {
                    throw new IllegalStateException(
                            "The test broker exited with " + process.exitValue() + "; see " + log);
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
                "The test broker did not become ready within " + STARTUP_TIMEOUT + "; see " + log);
    }

    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }
}
