package dev.telemetry.aggregator.demo;

import dev.telemetry.aggregator.service.config.ServiceOptions;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Exit;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.metadata.storage.Formatter;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * Dev-mode demo only: runs a real single-node Apache Kafka broker (KRaft, combined broker and
 * controller) inside the Quarkus JVM, so that {@code ./mvnw -Pdemo quarkus:dev} works without
 * Docker or a separately installed Kafka.
 *
 * <p>It starts only when the environment variable {@code KAFKA_BOOTSTRAP_SERVERS} is not set and
 * {@code demo.enabled} is true. The listener port is taken from {@code kafka.bootstrap-servers}
 * (default {@code 127.0.0.1:9092}) and always bound to 127.0.0.1. If a Kafka broker already answers
 * on that port (e.g. another dev instance), it is reused instead.
 */
@ApplicationScoped
public class DemoKafkaBroker {

    private static final Logger LOG = Logger.getLogger(DemoKafkaBroker.class);

    /**
     * Runs after the service's default-priority (2500) shutdown observer, so that the service can
     * still talk to the broker while it stops its job.
     */
    static final int SHUTDOWN_PRIORITY = 10_000;

    /** Broker-side loggers: at INFO they print hundreds of lines per start. Held strongly. */
    private static final List<java.util.logging.Logger> BROKER_LOGGERS =
            List.of(
                            "kafka",
                            "state.change.logger",
                            "org.apache.kafka.controller",
                            "org.apache.kafka.coordinator",
                            "org.apache.kafka.image",
                            "org.apache.kafka.metadata",
                            "org.apache.kafka.queue",
                            "org.apache.kafka.raft",
                            "org.apache.kafka.server",
                            "org.apache.kafka.storage")
                    .stream()
                    .map(java.util.logging.Logger::getLogger)
                    .toList();

    /** Also prints the clients' configs, so it is muted only while the broker starts. */
    private static final java.util.logging.Logger CONFIG_LOGGER =
            java.util.logging.Logger.getLogger("org.apache.kafka.common.config.AbstractConfig");

    @ConfigProperty(name = "demo.enabled", defaultValue = "true")
    boolean enabled;

    @Inject ServiceOptions options;

    /** Under target/ so that data survives dev-mode live reloads but goes away with mvn clean. */
    @ConfigProperty(name = "demo.kafka.log-dir", defaultValue = "target/demo-kafka")
    String logDir;

    private volatile KafkaRaftServer server;
    private volatile boolean active;

    /** True when a demo broker (ours or a reused one) is reachable at {@link #bootstrap()}. */
    public boolean isActive() {
        return active;
    }

    public String bootstrap() {
        return options.job().bootstrapServers();
    }

    // Priority 1: before the service's own StartupEvent observer (default priority 2500), which
    // connects to Kafka as soon as it runs.
    void onStart(@Observes @Priority(1) StartupEvent event) throws Exception {
        if (System.getenv("KAFKA_BOOTSTRAP_SERVERS") != null) {
            LOG.info("demo broker not started: KAFKA_BOOTSTRAP_SERVERS is set");
            return;
        }
        if (!enabled) {
            LOG.info("demo broker not started: demo.enabled=false");
            return;
        }
        String first = options.job().bootstrapServers().split(",")[0].trim();
        int colon = first.lastIndexOf(':');
        String host = first.substring(0, colon);
        int port = Integer.parseInt(first.substring(colon + 1));
        if (!host.equals("127.0.0.1") && !host.equals("localhost")) {
            LOG.warnf("demo broker not started: kafka.bootstrap-servers=%s is not local", first);
            return;
        }
        if (isListening(port)) {
            // Another dev instance (or a hand-started broker) owns the port: share it.
            if (!answersAsKafka()) {
                throw new IllegalStateException(
                        "demo broker: port " + port + " is taken by something that is not Kafka");
            }
            LOG.infof("demo broker: a Kafka broker already listens on %s, reusing it", first);
            active = true;
            return;
        }
        long t0 = System.nanoTime();
        try {
            server = startBroker(port);
        } catch (Exception e) {
            stopServer();
            // Fail the start: dev mode then shows the cause instead of a service that retries.
            throw new IllegalStateException("demo broker failed to start", e);
        }
        awaitPartitionLeaders();
        active = true;
        LOG.infof(
                "demo Kafka broker (KRaft, single node) listening on 127.0.0.1:%d, started in %d"
                        + " ms, data in %s",
                port,
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0),
                Path.of(logDir).toAbsolutePath());
    }

    void onStop(@Observes @Priority(SHUTDOWN_PRIORITY) ShutdownEvent event) {
        active = false;
        stopServer();
    }

    private KafkaRaftServer startBroker(int port) throws Exception {
        BROKER_LOGGERS.forEach(l -> l.setLevel(Level.WARNING));
        // A fatal broker error calls Exit.halt/exit; in-process that would kill the whole dev JVM.
        Exit.setHaltProcedure((code, msg) -> LOG.errorf("demo broker halt(%d): %s", code, msg));
        Exit.setExitProcedure((code, msg) -> LOG.errorf("demo broker exit(%d): %s", code, msg));

        Path dir = Path.of(logDir).toAbsolutePath();
        Files.createDirectories(dir);
        // Static quorum (controller.quorum.voters): the controller port is config, not stored in
        // the metadata log, so a fresh free port on every (re)start is fine.
        int controllerPort = freePort();
        Map<String, Object> props = new HashMap<>();
        props.put("process.roles", "broker,controller");
        props.put("node.id", "1");
        props.put("controller.quorum.voters", "1@127.0.0.1:" + controllerPort);
        props.put(
                "listeners",
                "PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controllerPort);
        props.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + port);
        props.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
        props.put("controller.listener.names", "CONTROLLER");
        props.put("inter.broker.listener.name", "PLAINTEXT");
        props.put("log.dirs", dir.toString());
        // One node: internal topics cannot have more than one replica.
        props.put("offsets.topic.replication.factor", "1");
        props.put("offsets.topic.min.isr", "1");
        props.put("transaction.state.log.replication.factor", "1");
        props.put("transaction.state.log.min.isr", "1");
        props.put("share.coordinator.state.topic.replication.factor", "1");
        props.put("share.coordinator.state.topic.min.isr", "1");
        // Consumers of the demo should not wait 3 s for the first rebalance.
        props.put("group.initial.rebalance.delay.ms", "0");
        // transaction.max.timeout.ms stays at the broker default (900000), as in production.
        KafkaConfig config = new KafkaConfig(props, false);

        // Format once; later starts (live reload, next dev run) keep topics, offsets and
        // transactions. Re-formatting would fail: the cluster id is already stored.
        if (!Files.exists(dir.resolve("meta.properties"))) {
            new Formatter()
                    .setPrintStream(new PrintStream(OutputStream.nullOutputStream()))
                    .setNodeId(1)
                    .setClusterId(Uuid.randomUuid().toString())
                    .setControllerListenerName("CONTROLLER")
                    .setMetadataLogDirectory(dir.toString())
                    .addDirectory(dir.toString())
                    .run();
        }

        // The broker dumps its ~300-line KafkaConfig three times while starting.
        Level previous = CONFIG_LOGGER.getLevel();
        CONFIG_LOGGER.setLevel(Level.WARNING);
        try {
            KafkaRaftServer raftServer = new KafkaRaftServer(config, Time.SYSTEM);
            raftServer.startup();
            return raftServer;
        } finally {
            CONFIG_LOGGER.setLevel(previous);
        }
    }

    private void stopServer() {
        KafkaRaftServer s = server;
        server = null;
        if (s != null) {
            long t0 = System.nanoTime();
            // Bounded: a stuck shutdown must not hang a dev-mode reload or Ctrl+C forever.
            CompletableFuture<Void> done =
                    CompletableFuture.runAsync(
                            () -> {
                                s.shutdown();
                                s.awaitShutdown();
                            });
            try {
                done.get(30, TimeUnit.SECONDS);
                LOG.infof(
                        "demo Kafka broker stopped in %d ms",
                        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
            } catch (Exception e) {
                LOG.warn("demo Kafka broker did not stop cleanly", e);
            }
        }
        Exit.resetHaltProcedure();
        Exit.resetExitProcedure();
    }

    /**
     * After a restart the broker accepts connections before it has taken over leadership of the
     * partitions it already has; clients would log NOT_LEADER_OR_FOLLOWER warnings for a second.
     * ListOffsets is answered by partition leaders only, and the admin client retries it quietly.
     */
    private void awaitPartitionLeaders() {
        try (Admin admin =
                Admin.create(
                        Map.of(
                                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                                options.job().bootstrapServers()))) {
            Set<String> topics = admin.listTopics().names().get(30, TimeUnit.SECONDS);
            Map<TopicPartition, OffsetSpec> partitions = new HashMap<>();
            admin.describeTopics(topics)
                    .allTopicNames()
                    .get(30, TimeUnit.SECONDS)
                    .values()
                    .forEach(
                            d ->
                                    d.partitions()
                                            .forEach(
                                                    p ->
                                                            partitions.put(
                                                                    new TopicPartition(
                                                                            d.name(),
                                                                            p.partition()),
                                                                    OffsetSpec.latest())));
            admin.listOffsets(partitions).all().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            LOG.warnf("demo broker: partitions not all ready yet (%s), continuing", e.toString());
        }
    }

    private static boolean isListening(int port) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 500);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private boolean answersAsKafka() {
        Map<String, Object> conf =
                Map.of(
                        AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                                options.job().bootstrapServers(),
                        AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 5000,
                        AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 5000);
        try (Admin admin = Admin.create(conf)) {
            admin.describeCluster().clusterId().get(5, TimeUnit.SECONDS);
            return true;
        } catch (Exception e) {
            return false;
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
