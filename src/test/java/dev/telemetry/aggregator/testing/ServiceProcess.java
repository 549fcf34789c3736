package dev.telemetry.aggregator.testing;

import dev.telemetry.aggregator.service.checkpoint.CheckpointLocator;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The packaged service ({@code java -jar target/quarkus-app/quarkus-run.jar}) as a child process,
 * configured only by environment variables, the way users run it, with the image's JVM options and
 * AOT cache ({@link ImageJvm#serviceOptions()}). Each start logs to its own file.
 */
public final class ServiceProcess implements AutoCloseable {
    public static final Path JAR = Paths.get("target", "quarkus-app", "quarkus-run.jar");

    private final Map<String, String> environment;
    private final Path logDir;
    private final String maxHeap;
    private final int httpPort;
    private static final HttpClient HEALTH_CLIENT =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final List<Path> logs = new ArrayList<>();
    private Process process;

    public ServiceProcess(Map<String, String> environment, Path logDir) {
        this(environment, logDir, ImageJvm.CONTAINER_HEAP);
    }

    /** With {@code -Xmx<maxHeap>} (the others get the container's). */
    public ServiceProcess(Map<String, String> environment, Path logDir, String maxHeap) {
        this.environment = new HashMap<>(environment);
        this.logDir = logDir;
        this.maxHeap = maxHeap;
        this.httpPort = freePort();
        this.environment.put("QUARKUS_HTTP_PORT", Integer.toString(httpPort));
        this.environment.put("QUARKUS_HTTP_HOST", "127.0.0.1");
    }

    /**
     * The settings that make a service process a test's own: the shared broker, its topics, a
     * consumer group and transactional-id prefix named after the input topic, and its checkpoint
     * volume. Tests add their own timing settings to the (mutable) result.
     */
    public static Map<String, String> environment(
            String bootstrapServers,
            String input,
            String output,
            String deadLetters,
            Path checkpoints) {
        Map<String, String> environment = new HashMap<>();
        String group = "it-" + input;
        environment.put("KAFKA_BOOTSTRAP_SERVERS", bootstrapServers);
        environment.put("TELEMETRY_INPUT_TOPICS", input);
        environment.put("TELEMETRY_OUTPUT_TOPIC", output);
        environment.put("TELEMETRY_DEAD_LETTER_TOPIC", deadLetters);
        environment.put("TELEMETRY_SOURCE_GROUP_ID", group);
        environment.put("TELEMETRY_TRANSACTIONAL_ID_PREFIX", group);
        environment.put("TELEMETRY_CHECKPOINT_DIR", checkpoints.toAbsolutePath().toString());
        return environment;
    }

    /** The newest completed checkpoint's id on a checkpoint volume, 0 if there is none. */
    public static long newestCheckpointId(Path checkpoints) throws IOException {
        return new CheckpointLocator(checkpoints)
                .completedNewestFirst().stream()
                        .filter(snapshot -> !snapshot.isSavepoint())
                        .mapToLong(CheckpointLocator.Snapshot::checkpointId)
                        .max()
                        .orElse(0L);
    }

    public void start() {
        if (!Files.isRegularFile(JAR)) {
            throw new IllegalStateException(JAR + " is missing: run the tests with 'verify'");
        }
        try {
            Files.createDirectories(logDir);
            Path log = logDir.resolve("service-" + (logs.size() + 1) + ".log");
            logs.add(log);
            ProcessBuilder builder =
                    new ProcessBuilder(
                                    Paths.get(System.getProperty("java.home"), "bin", "java")
                                            .toString(),
                                    "-Xmx" + maxHeap,
                                    "-jar",
                                    JAR.toString())
                            .redirectErrorStream(true)
                            .redirectOutput(log.toFile());
            // As the image: its JVM options, unless the test sets its own, which replace them.
            builder.environment()
                    .put("JDK_JAVA_OPTIONS", String.join(" ", ImageJvm.serviceOptions()));
            builder.environment().putAll(environment);
            process = builder.start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Waits until {@code /q/health/ready} answers 200; fails if the process exits first. */
    public void awaitReady(Duration timeout) throws InterruptedException {
        awaitReady(timeout, Duration.ofMillis(200));
    }

    /** {@link #awaitReady(Duration)}, asking every {@code poll}. */
    public void awaitReady(Duration timeout, Duration poll) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException(
                        "The service exited with "
                                + process.exitValue()
                                + " before it was ready:\n"
                                + lastLog());
            }
            if (health("ready") == 200) {
                return;
            }
            Thread.sleep(poll.toMillis());
        }
        throw new IllegalStateException(
                "The service was not ready within " + timeout + ":\n" + lastLog());
    }

    /** HTTP status of {@code /q/health/<kind>}, or -1 if nothing answers. */
    public int health(String kind) {
        return healthStatus(httpPort, kind);
    }

    /** HTTP status of {@code /q/health/<kind>} on 127.0.0.1:{@code port}, or -1 if none. */
    public static int healthStatus(int port, String kind) {
        try {
            HttpRequest request =
                    HttpRequest.newBuilder(
                                    URI.create("http://127.0.0.1:" + port + "/q/health/" + kind))
                            .timeout(Duration.ofSeconds(3))
                            .build();
            return HEALTH_CLIENT.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    /** The port of its HTTP server, on 127.0.0.1. */
    public int httpPort() {
        return httpPort;
    }

    /** The body of {@code GET <path>} (e.g. {@code /q/metrics}) with the given Accept header. */
    public String get(String path, String accept) {
        try {
            HttpRequest request =
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + path))
                            .header("Accept", accept)
                            .timeout(Duration.ofSeconds(10))
                            .build();
            return http.send(request, HttpResponse.BodyHandlers.ofString()).body();
        } catch (IOException e) {
            throw new UncheckedIOException("GET " + path + " failed", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** An HTTP response: status and body. */
    public record HttpResult(int status, String body) {}

    /**
     * {@code method path} with an empty body and, if {@code bearerToken} is not null, an {@code
     * Authorization: Bearer} header.
     */
    public HttpResult request(String method, String path, String bearerToken) {
        try {
            HttpRequest.Builder request =
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + path))
                            .header("Accept", "application/json")
                            .timeout(Duration.ofSeconds(60))
                            .method(method, HttpRequest.BodyPublishers.noBody());
            if (bearerToken != null) {
                request.header("Authorization", "Bearer " + bearerToken);
            }
            HttpResponse<String> response =
                    http.send(request.build(), HttpResponse.BodyHandlers.ofString());
            return new HttpResult(response.statusCode(), response.body());
        } catch (IOException e) {
            throw new UncheckedIOException(method + " " + path + " failed", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** SIGKILL, as {@code kill -9} or the OOM killer would: no shutdown hook runs. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    /** SIGTERM, then waits; returns the exit code, or -1 if it did not exit in time. */
    public int stop(Duration timeout) throws InterruptedException {
        process.destroy();
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly();
            return -1;
        }
        return process.exitValue();
    }

    /** Waits for the process to end by itself; returns its exit code, or -1 if it did not. */
    public int awaitExit(Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            return -1;
        }
        return process.exitValue();
    }

    public boolean isAlive() {
        return process != null && process.isAlive();
    }

    /** The exit code of a process that has ended. */
    public int exitCode() {
        return process.exitValue();
    }

    public long pid() {
        return process.pid();
    }

    public List<String> logsOfEachStart() {
        List<String> texts = new ArrayList<>();
        for (Path log : logs) {
            texts.add(read(log));
        }
        return texts;
    }

    public String lastLog() {
        return logs.isEmpty() ? "" : read(logs.get(logs.size() - 1));
    }

    private static String read(Path log) {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "(cannot read " + log + ": " + e + ")";
        }
    }

    private static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() throws InterruptedException {
        if (isAlive()) {
            kill();
        }
    }
}
