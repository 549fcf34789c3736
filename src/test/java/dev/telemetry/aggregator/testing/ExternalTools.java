package dev.telemetry.aggregator.testing;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.List;
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

    /** The outcome of one command: its exit code and its standard output and error, merged. */
    public record Result(int exitCode, String output) {}

    /** The executable {@code name} from the {@code PATH}, or a failure naming what to install. */
    public static Path require(String name) {
        return find(name)
                .orElseThrow(
                        () ->
                                new IllegalStateException(
                                        "'" + name + "' is not installed: " + INSTALL_HINT));
    }

    public static Optional<Path> find(String name) {
        String path = Optional.ofNullable(System.getenv("PATH")).orElse("/usr/bin:/bin");
        for (String dir : path.split(File.pathSeparator)) {
            Path candidate = Paths.get(dir, name);
            if (Files.isExecutable(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    /**
     * Runs {@code command} in {@code workDir}, feeding it {@code stdin} (a file, or null for none),
     * and kills it if it has not finished within {@code timeout}.
     */
    public static Result run(Duration timeout, Path workDir, Path stdin, List<String> command) {
        try {
            Path output = Files.createTempFile("tool-", ".out");
            try {
                ProcessBuilder builder =
                        new ProcessBuilder(command)
                                .directory(workDir.toFile())
                                .redirectErrorStream(true)
                                .redirectOutput(output.toFile());
                if (stdin != null) {
                    builder.redirectInput(stdin.toFile());
                }
                Process process = builder.start();
                if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                    process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                    throw new IllegalStateException(
                            command
                                    + " did not finish within "
                                    + timeout
                                    + ":\n"
                                    + Files.readString(output));
                }
                return new Result(process.exitValue(), Files.readString(output));
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
