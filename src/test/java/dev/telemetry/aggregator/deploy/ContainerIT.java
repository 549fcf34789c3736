package dev.telemetry.aggregator.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;

import dev.telemetry.aggregator.testing.ExternalTools;
import dev.telemetry.aggregator.testing.KafkaTestClient;
import dev.telemetry.aggregator.testing.ServiceProcess;
import dev.telemetry.aggregator.testing.SharedKafkaBroker;
import dev.telemetry.aggregator.testing.TelemetryFixtures;
import dev.telemetry.aggregator.testing.TelemetryFixtures.Aggregate;
import dev.telemetry.aggregator.testing.TelemetryFixtures.AggregateKey;
import dev.telemetry.aggregator.testing.TelemetryFixtures.Event;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The image, built from the Dockerfile and run the way users run it (and the way {@code
 * k8s/deployment.yaml} runs it: read-only root file system, writable only on the checkpoint volume
 * and a tmpfs on {@code /tmp}, every capability dropped, no privilege escalation): {@code
 * deploy-check/build-image.sh} makes a JRE base image with debootstrap (no registry is reachable)
 * and builds the Dockerfile on it with buildah; podman runs it with the checkpoint directory on a
 * host volume, against the shared test broker on the host. It must report healthy, aggregate
 * exactly, and after {@code podman kill} + {@code podman start} restore from the checkpoint on the
 * volume, the output still exactly the expected set.
 *
 * <p>Network: the container has its own network namespace (slirp4netns) with {@code
 * allow_host_loopback=true}, which forwards 10.0.2.2 to the host's 127.0.0.1; the broker stays
 * bound to 127.0.0.1 only and advertises a second listener as 10.0.2.2 to containers. The HTTP port
 * is published on 127.0.0.1 only.
 */
class ContainerIT {
    private static final String BASE_IMAGE = "localhost/debian-jre25";
    private static final int PARTITIONS = 4;
    private static final long WINDOW_MILLIS = 2_000;
    private static final long START = 1_763_712_000_000L;
    private static final Duration COMMAND_TIMEOUT = Duration.ofMinutes(2);
    private static final Pattern STARTED_IN = Pattern.compile("started in (\\d+\\.\\d+)s");

    private static final String RUN_ID = UUID.randomUUID().toString().substring(0, 8);
    private static final String IMAGE = "localhost/telemetry-aggregator:it-" + RUN_ID;
    private static final String CONTAINER = "telemetry-aggregator-it-" + RUN_ID;
    private static final Map<String, String> ENGINE =
            Map.of(
                    "CONTAINERS_CONF",
                    ExternalTools.PROJECT_DIR.resolve("deploy-check/containers.conf").toString());
    private static final List<String> FIGURES = new ArrayList<>();

    private static KafkaTestClient kafka;
    private static boolean imageBuilt;
    private static boolean containerCreated;

    @BeforeAll
    static void buildImage() {
        List<String> missing = ExternalTools.missing("podman", "buildah", "debootstrap", "runc");
        if (!missing.isEmpty() || !"root".equals(System.getProperty("user.name"))) {
            String message =
                    "ContainerIT needs root and podman, buildah, debootstrap, runc (missing "
                            + missing
                            + "): run deploy-check/install-tools.sh as root";
            fail(message);
        }
        kafka = KafkaTestClient.forSharedBroker();
        boolean baseCached = podman("image", "exists", BASE_IMAGE).succeeded();
        ExternalTools.Result build =
                ExternalTools.run(
                        Duration.ofMinutes(10),
                        ENGINE,
                        ExternalTools.PROJECT_DIR,
                        null,
                        List.of("bash", "deploy-check/build-image.sh", IMAGE));
        imageBuilt = build.succeeded();
        assertThat(build.succeeded()).as("image build: %s", build).isTrue();
        FIGURES.add(
                String.format(
                        "image build %d s (base image %s)",
                        build.took().toSeconds(), baseCached ? "cached" : "made with debootstrap"));
        build.output()
                .lines()
                .filter(line -> line.startsWith("build-image: "))
                .forEach(FIGURES::add);
        ExternalTools.Result size = podman("image", "inspect", "--format", "{{.Size}}", IMAGE);
        FIGURES.add(
                String.format(
                        "image size %d MB", Long.parseLong(size.output().trim()) / 1_000_000));
    }

    @AfterAll
    static void cleanUp() {
        // Bounded: each command has its own time limit; the base image stays cached for the
        // next run (podman rmi localhost/debian-jre25 removes it).
        if (containerCreated) {
            podman("rm", "--force", "--time", "5", CONTAINER);
        }
        if (imageBuilt) {
            podman("rmi", "--force", IMAGE);
        }
        if (kafka != null) {
            kafka.close();
        }
        String figures = "ContainerIT figures: " + String.join("; ", FIGURES);
        System.out.println(figures);
        try {
            Files.createDirectories(Path.of("target", "container-it"));
            Files.writeString(Path.of("target", "container-it", "figures.txt"), figures + "\n");
        } catch (IOException e) {
            // The figures are also on standard output; the file is a convenience.
        }
    }

    @Test
    void runsHealthyAggregatesAndResumesFromTheCheckpointVolume() throws Exception {
        String input = KafkaTestClient.uniqueTopic("telemetry");
        String output = KafkaTestClient.uniqueTopic("aggregates");
        String deadLetters = KafkaTestClient.uniqueTopic("dlq");
        String group = "container-it-" + input;
        kafka.createTopic(input, PARTITIONS);
        kafka.createTopic(output, 2);
        kafka.createTopic(deadLetters, 1);

        // The image's user (10001) must own a bind-mounted checkpoint directory.
        Path checkpoints =
                Path.of("target", "container-it", RUN_ID, "checkpoints").toAbsolutePath();
        Files.createDirectories(checkpoints);
        Files.setAttribute(checkpoints, "unix:uid", 10001);

        // Phase 1: 10 s of event time; phase 2: 10 s more, after the first flush's timestamp.
        List<Event> first = TelemetryFixtures.events("sensor-", 10, 2, 40, START, 250, 0, 3);
        List<Event> second =
                TelemetryFixtures.events("sensor-", 10, 2, 40, START + 30_000, 250, 0, 4);
        Map<AggregateKey, Aggregate> expectedFirst =
                TelemetryFixtures.expectedAggregates(first, WINDOW_MILLIS);
        List<Event> all = new ArrayList<>(first);
        all.addAll(second);
        Map<AggregateKey, Aggregate> expectedAll =
                TelemetryFixtures.expectedAggregates(all, WINDOW_MILLIS);

        int port = freePort();
        List<String> run =
                new ArrayList<>(
                        List.of(
                                "run",
                                "--detach",
                                "--name",
                                CONTAINER,
                                "--network",
                                "slirp4netns:allow_host_loopback=true",
                                "--publish",
                                "127.0.0.1:" + port + ":8080",
                                "--volume",
                                checkpoints + ":/data/checkpoints",
                                // As in k8s/: the heap follows the limit (50%).
                                "--memory",
                                "768m",
                                // As in k8s/: a read-only root file system where only the
                                // checkpoint volume and /tmp (an emptyDir there; exec, as an
                                // emptyDir is, for native libraries such as RocksDB's) are
                                // writable; podman's own tmpfs on /run and /var/tmp is off, so a
                                // write anywhere else fails here as it would in the pod.
                                "--read-only",
                                "--read-only-tmpfs=false",
                                "--tmpfs",
                                "/tmp:rw,exec,nosuid,nodev,size=256m,mode=1777",
                                "--cap-drop=ALL",
                                "--security-opt=no-new-privileges"));
        Map<String, String> env = new HashMap<>();
        env.put("KAFKA_BOOTSTRAP_SERVERS", SharedKafkaBroker.containerBootstrapServers());
        env.put("TELEMETRY_INPUT_TOPICS", input);
        env.put("TELEMETRY_OUTPUT_TOPIC", output);
        env.put("TELEMETRY_DEAD_LETTER_TOPIC", deadLetters);
        env.put("TELEMETRY_SOURCE_GROUP_ID", group);
        env.put("TELEMETRY_TRANSACTIONAL_ID_PREFIX", group);
        env.put("TELEMETRY_SOURCE_START", "earliest");
        env.put("TELEMETRY_WINDOW_SIZE", WINDOW_MILLIS + "ms");
        env.put("TELEMETRY_WATERMARK_MAX_OUT_OF_ORDERNESS", "1s");
        // Every partition gets a flush record, so no partition needs to be declared idle; a short
        // idleness would let a partition whose records come in a later fetch fall behind the
        // watermark that the other partitions already advanced, and its events count as late.
        env.put("TELEMETRY_WATERMARK_IDLENESS", "10m");
        env.put("TELEMETRY_CHECKPOINT_INTERVAL", "1s");
        env.put("TELEMETRY_PARALLELISM", "2");
        env.forEach((name, value) -> run.addAll(List.of("--env", name + "=" + value)));
        run.add(IMAGE);

        long started = System.nanoTime();
        ExternalTools.Result created = podman(run.toArray(String[]::new));
        containerCreated = true;
        assertThat(created.succeeded()).as("podman run: %s", created).isTrue();
        awaitReady(port);
        double readyAfter = (System.nanoTime() - started) / 1e9;
        assertThat(
                        podman(
                                        "inspect",
                                        "--format",
                                        "{{.HostConfig.ReadonlyRootfs}} caps=[{{range"
                                                + " .EffectiveCaps}}{{.}} {{end}}]",
                                        CONTAINER)
                                .output()
                                .trim())
                .as("read-only root file system, no capabilities")
                .isEqualTo("true caps=[]");
        assertThat(ServiceProcess.healthStatus(port, "started"))
                .as("/q/health/started")
                .isEqualTo(200);
        assertThat(ServiceProcess.healthStatus(port, "live")).as("/q/health/live").isEqualTo(200);
        awaitHealthy();
        FIGURES.add(
                String.format(
                        "first start: ready after %.1f s (%s)", readyAfter, startedIn(logs())));

        // Phase 1: aggregates exactly as expected once a flush closes the windows.
        kafka.send(first.stream().map(e -> e.toRecord(input, PARTITIONS)).toList());
        kafka.send(TelemetryFixtures.watermarkFlush(input, PARTITIONS, START + 20_000));
        kafka.readCommitted(
                output,
                Duration.ofMinutes(2),
                read -> TelemetryFixtures.parseAggregates(read).size() >= expectedFirst.size());
        TelemetryFixtures.assertExactlyOnce(
                TelemetryFixtures.parseAggregates(
                        kafka.readCommittedToEnd(output, Duration.ofSeconds(30))),
                expectedFirst);
        FIGURES.add("RSS after phase 1 " + rssMegabytes() + " MB");

        // Half of phase 2, a checkpoint that covers some of it, then SIGKILL mid-stream.
        int half = second.size() / 2;
        long committedBefore = kafka.committedOffsetSum(group, input);
        kafka.send(
                second.subList(0, half).stream().map(e -> e.toRecord(input, PARTITIONS)).toList());
        Awaitility.await()
                .atMost(Duration.ofMinutes(1))
                .until(() -> kafka.committedOffsetSum(group, input) > committedBefore);
        ExternalTools.Result kill = podman("kill", "--signal", "KILL", CONTAINER);
        assertThat(kill.succeeded()).as("podman kill: %s", kill).isTrue();
        Awaitility.await()
                .atMost(Duration.ofSeconds(30))
                .until(
                        () ->
                                podman("inspect", "--format", "{{.State.Running}}", CONTAINER)
                                        .output()
                                        .trim()
                                        .equals("false"));
        try (Stream<Path> chk = Files.walk(checkpoints, 2)) {
            assertThat(chk.filter(p -> p.getFileName().toString().startsWith("chk-")))
                    .as("checkpoints on the host volume")
                    .isNotEmpty();
        }
        // The rest arrives while it is down.
        kafka.send(
                second.subList(half, second.size()).stream()
                        .map(e -> e.toRecord(input, PARTITIONS))
                        .toList());

        long restarted = System.nanoTime();
        ExternalTools.Result start = podman("start", CONTAINER);
        assertThat(start.succeeded()).as("podman start: %s", start).isTrue();
        awaitReady(port);
        String logs = logs();
        FIGURES.add(
                String.format(
                        "restart after kill: ready after %.1f s",
                        (System.nanoTime() - restarted) / 1e9));
        // podman logs holds both runs; the second submission must name the checkpoint.
        List<String> submissions =
                logs.lines()
                        .filter(
                                line ->
                                        line.contains("EmbeddedFlinkJob")
                                                && line.contains("submitted"))
                        .toList();
        assertThat(submissions).as("job submissions in\n%s", logs).hasSize(2);
        assertThat(submissions.get(0)).contains("no checkpoint to restore");
        assertThat(submissions.get(1))
                .containsPattern("restored from /data/checkpoints/\\w+/chk-\\d+");
        // Both starts mapped the image's AOT cache (a JVM that cannot use it says so).
        assertThat(logs)
                .contains("Picked up JDK_JAVA_OPTIONS")
                .doesNotContain("[cds")
                .doesNotContain("[aot");

        kafka.send(TelemetryFixtures.watermarkFlush(input, PARTITIONS, START + 3_600_000));
        kafka.readCommitted(
                output,
                Duration.ofMinutes(2),
                read -> TelemetryFixtures.parseAggregates(read).size() >= expectedAll.size());
        FIGURES.add("RSS after restore and phase 2 " + rssMegabytes() + " MB");
        TelemetryFixtures.assertExactlyOnce(
                TelemetryFixtures.parseAggregates(
                        kafka.readCommittedToEnd(output, Duration.ofSeconds(30))),
                expectedAll);
        assertThat(kafka.readCommittedToEnd(deadLetters, Duration.ofSeconds(10))).isEmpty();

        // SIGTERM reaches java (PID 1, exec-form entrypoint) and it stops within the grace time.
        long stopping = System.nanoTime();
        ExternalTools.Result stop = podman("stop", "--time", "45", CONTAINER);
        assertThat(stop.succeeded()).as("podman stop: %s", stop).isTrue();
        FIGURES.add(String.format("stop (SIGTERM) %.1f s", (System.nanoTime() - stopping) / 1e9));
        assertThat(podman("inspect", "--format", "{{.State.ExitCode}}", CONTAINER).output().trim())
                .as("exit code after SIGTERM (143 = 128 + SIGTERM after the shutdown hooks ran)")
                .isIn("0", "143");
        assertThat(logs()).contains("stopped in");
    }

    /**
     * Waits for {@code /q/health/ready} through the published port; fails if the container exits,
     * with the container's log (why it exited is there, not in the test's output).
     */
    private void awaitReady(int port) {
        try {
            Awaitility.await()
                    .atMost(Duration.ofMinutes(3))
                    .pollInterval(Duration.ofMillis(250))
                    .failFast(
                            "container exited",
                            () ->
                                    podman("inspect", "--format", "{{.State.Running}}", CONTAINER)
                                            .output()
                                            .trim()
                                            .equals("false"))
                    .until(() -> ServiceProcess.healthStatus(port, "ready") == 200);
        } catch (RuntimeException notReady) {
            throw new AssertionError(
                    "not ready: " + notReady.getMessage() + "\n--- container log ---\n" + logs(),
                    notReady);
        }
    }

    /** The image's HEALTHCHECK, run by podman (no systemd here to run it on a timer). */
    private static void awaitHealthy() {
        Awaitility.await()
                .atMost(Duration.ofMinutes(1))
                .pollInterval(Duration.ofSeconds(1))
                .until(() -> podman("healthcheck", "run", CONTAINER).succeeded());
        assertThat(
                        podman("inspect", "--format", "{{.State.Health.Status}}", CONTAINER)
                                .output()
                                .trim())
                .isEqualTo("healthy");
    }

    private static String logs() {
        return podman("logs", CONTAINER).output();
    }

    private static String startedIn(String logs) {
        Matcher matcher = STARTED_IN.matcher(logs);
        return matcher.find() ? "Quarkus started in " + matcher.group(1) + " s" : "no start line";
    }

    /** RSS of the JVM (PID 1 in the container), from the host's view of its processes. */
    private static long rssMegabytes() {
        ExternalTools.Result top = podman("top", CONTAINER, "rss");
        long kilobytes =
                top.output()
                        .lines()
                        .map(String::trim)
                        .filter(line -> line.matches("\\d+"))
                        .mapToLong(Long::parseLong)
                        .max()
                        .orElse(-1_000);
        return kilobytes / 1_000;
    }

    private static ExternalTools.Result podman(String... arguments) {
        String[] command = new String[arguments.length + 1];
        command[0] = "podman";
        System.arraycopy(arguments, 0, command, 1, arguments.length);
        return ExternalTools.run(
                COMMAND_TIMEOUT, ENGINE, ExternalTools.PROJECT_DIR, null, List.of(command));
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }
}
