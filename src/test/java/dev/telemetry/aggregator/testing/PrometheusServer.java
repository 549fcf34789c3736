package dev.telemetry.aggregator.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * A real Prometheus server (Debian's {@code prometheus} package) in a child process on 127.0.0.1,
 * scraping one target every second, queried through its HTTP API.
 */
public final class PrometheusServer implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(30);

    private final Process process;
    private final Path log;
    private final int port;
    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private PrometheusServer(Process process, Path log, int port) {
        this.process = process;
        this.log = log;
        this.port = port;
    }

    /**
     * Starts Prometheus in {@code dir} with a scrape job named {@code jobName} that scrapes {@code
     * target} ({@code host:port}) at {@code metricsPath} every second, and waits until it is ready.
     */
    public static PrometheusServer start(
            Path dir, String jobName, String target, String metricsPath)
            throws IOException, InterruptedException {
        Path binary = ExternalTools.require("prometheus");
        Files.createDirectories(dir);
        Path config = dir.resolve("prometheus.yml");
        Files.writeString(
                config,
                String.join(
                        "\n",
                        "global:",
                        "  scrape_interval: 1s",
                        "  evaluation_interval: 1s",
                        "scrape_configs:",
                        "  - job_name: " + jobName,
                        "    metrics_path: " + metricsPath,
                        "    static_configs:",
                        "      - targets: ['" + target + "']",
                        ""));
        int port = freePort();
        Path log = dir.resolve("prometheus.log");
        Process process =
                new ProcessBuilder(
                                binary.toString(),
                                "--config.file=" + config,
                                "--web.listen-address=127.0.0.1:" + port,
                                "--storage.tsdb.path=" + dir.resolve("data"),
                                // No console templates are needed and the Debian paths may be
                                // absent.
                                "--web.console.templates=" + dir,
                                "--web.console.libraries=" + dir)
                        .redirectErrorStream(true)
                        .redirectOutput(log.toFile())
                        .start();
        PrometheusServer server = new PrometheusServer(process, log, port);
        server.awaitReady();
        return server;
    }

    private void awaitReady() throws InterruptedException {
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException(
                        "Prometheus exited with " + process.exitValue() + ":\n" + log());
            }
            if (status("/-/ready") == 200) {
                return;
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException(
                "Prometheus was not ready within " + READY_TIMEOUT + ":\n" + log());
    }

    /**
     * Evaluates {@code expr} now ({@code /api/v1/query}) and returns its {@code data.result} array;
     * a PromQL error fails with Prometheus's message.
     */
    public JsonNode query(String expr) {
        String uri =
                "http://127.0.0.1:"
                        + port
                        + "/api/v1/query?query="
                        + URLEncoder.encode(expr, StandardCharsets.UTF_8);
        try {
            HttpResponse<String> response =
                    http.send(
                            HttpRequest.newBuilder(URI.create(uri))
                                    .timeout(Duration.ofSeconds(10))
                                    .build(),
                            HttpResponse.BodyHandlers.ofString());
            JsonNode body = JSON.readTree(response.body());
            if (!"success".equals(body.path("status").asText())) {
                throw new IllegalArgumentException(
                        "Prometheus rejected " + expr + ": " + body.path("error").asText());
            }
            return body.path("data").path("result");
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot query Prometheus: " + expr, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private int status(String path) {
        try {
            return http.send(
                            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                                    .timeout(Duration.ofSeconds(2))
                                    .build(),
                            HttpResponse.BodyHandlers.discarding())
                    .statusCode();
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    public String log() {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "(cannot read " + log + ": " + e + ")";
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }
}
