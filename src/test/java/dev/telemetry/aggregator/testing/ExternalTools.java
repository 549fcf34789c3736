package dev.telemetry.aggregator.testing;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Finds and runs the command-line tools the observability tests use (prometheus, promtool, node,
 * npm), with a bounded wait, and fails with what to install when one is missing.
 */
public final class ExternalTools {
    /** How to get the Debian packages the observability tests need; {@code .ci/run} calls it. */
    public static final String INSTALL_HINT =
            "run 'bash prometheus/install-tools.sh' (apt-get install prometheus nodejs npm)";

    private ExternalTools() {}

    /** Where the build runs: the project's base directory. */
    public static final Path PROJECT_DIR = Path.of("").toAbsolutePath();

    /**
     * The outcome of one command: its exit code (-1 if killed at the time limit), its merged
     * output.
     */
    public record Result(int exitCode, String output, Duration took) {
        public boolean succeeded() {
            return exitCode == 0;
        }

        @Override
        public String toString() {
            return "exit " + exitCode + " after " + took.toMillis() + " ms:\n" + output;
        }
    }

    /** The executable {@code name} from the {@code PATH}, or a failure naming what to install. */
    public static Path require(String name) {
        return find(name)
                .orElseThrow(
                        () ->
                                new IllegalStateException(
                                        "'" + name + "' is not installed: " + INSTALL_HINT));
    }

    /** The executables of {@code names} that are not on the {@code PATH}. */
    public static List<String> missing(String... names) {
        List<String> missing = new ArrayList<>();
        for (String name : names) {
            if (find(name).isEmpty()) {
                missing.add(name);
            }
        }
        return missing;
    }

    public static Optional<Path> find(String name) {
        String path = Optional.ofNullable(System.getenv("PATH")).orElse("/usr/bin:/bin");
        for (String dir : path.split(File.pathSeparator)) {
            if (dir.isEmpty()) {
                continue;
            }
            Path candidate = Paths.get(dir, name);
            if (Files.isExecutable(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    public static Result run(Duration timeout, Path workDir, Path stdin, List<String> command) {
        return run(timeout, Map.of(), workDir, stdin, command);
    }

    /**
     * Runs {@code command} in {@code workDir} with {@code environment} added, feeding it {@code
     * stdin} (a file, or null for none). Output goes to a file, so a long build never fills a pipe.
     * A command still running after {@code timeout} is killed with its children (exit -1).
     */
    public static Result run(
            Duration timeout,
            Map<String, String> environment,
            Path workDir,
            Path stdin,
            List<String> command) {
        long started = System.nanoTime();
        try {
            Path output = Files.createTempFile("tool-", ".out");
            try {
                ProcessBuilder builder =
                        new ProcessBuilder(command)
                                .directory(workDir.toFile())
                                .redirectErrorStream(true)
                                .redirectOutput(output.toFile());
                builder.environment().putAll(environment);
                if (stdin != null) {
                    builder.redirectInput(stdin.toFile());
                }
                Process process = builder.start();
                int exit;
                String killed = "";
                if (process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                    exit = process.exitValue();
                } else {
                    process.descendants().forEach(ProcessHandle::destroyForcibly);
                    process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                    exit = -1;
                    killed = "\n(killed: still running after " + timeout + ")";
                }
                return new Result(
                        exit,
                        Files.readString(output) + killed,
                        Duration.ofNanos(System.nanoTime() - started));
            } finally {
                Files.deleteIfExists(output);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot run " + command, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while running " + command, e);
        }
    }
}
