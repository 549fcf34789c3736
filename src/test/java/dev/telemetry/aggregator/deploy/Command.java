package dev.telemetry.aggregator.deploy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs an external command (podman, buildah, the deploy-check scripts) with a time limit, its
 * output (stdout and stderr together) in a file, so a long build never fills a pipe.
 */
record Command(int exitCode, String output, Duration took) {

    static final Path ROOT = Path.of("").toAbsolutePath();

    /** Runs {@code command}; a command still running after {@code timeout} is killed (exit -1). */
    static Command run(Duration timeout, Map<String, String> environment, String... command) {
        long started = System.nanoTime();
        try {
            Path log = Files.createTempFile(ROOT.resolve("target"), "command-", ".log");
            try {
                ProcessBuilder builder =
                        new ProcessBuilder(command)
                                .directory(ROOT.toFile())
                                .redirectErrorStream(true)
                                .redirectOutput(log.toFile());
                builder.environment().putAll(environment);
                Process process = builder.start();
                int exit;
                if (process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                    exit = process.exitValue();
                } else {
                    process.descendants().forEach(ProcessHandle::destroyForcibly);
                    process.destroyForcibly();
                    process.waitFor(10, TimeUnit.SECONDS);
                    exit = -1;
                }
                return new Command(
                        exit, Files.readString(log), Duration.ofNanos(System.nanoTime() - started));
            } finally {
                Files.deleteIfExists(log);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot run " + String.join(" ", command), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted running " + String.join(" ", command), e);
        }
    }

    static Command run(Duration timeout, String... command) {
        return run(timeout, Map.of(), command);
    }

    /** Whether {@code name} is an executable on the PATH. */
    static boolean onPath(String name) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, name))) {
                return true;
            }
        }
        return false;
    }

    /**
     * The executables of {@code names} that are not on the PATH; a deployment check fails naming
     * them ({@code deploy-check/install-tools.sh}, run by {@code .ci/run}, installs them).
     */
    static List<String> missing(String... names) {
        List<String> missing = new ArrayList<>();
        for (String name : names) {
            if (!onPath(name)) {
                missing.add(name);
            }
        }
        return missing;
    }

    boolean succeeded() {
        return exitCode == 0;
    }

    @Override
    public String toString() {
        return "exit " + exitCode + " after " + took.toMillis() + " ms:\n" + output;
    }
}
