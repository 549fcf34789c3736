package dev.telemetry.aggregator.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Keeps the {@code job} package plain Flink, free of Quarkus, CDI, MicroProfile and Micrometer
 * imports, so the same classes run on a Flink cluster without the service around them.
 */
class JobPackageIsPlainFlinkTest {
    /** Surefire runs in the project's base directory. */
    private static final Path JOB_SOURCES = Paths.get("src/main/java/dev/telemetry/aggregator/job");

    private static final Pattern FORBIDDEN_IMPORT =
            Pattern.compile(
                    "^\\s*import\\s+(static\\s+)?"
                            + "(jakarta\\.|javax\\.enterprise|io\\.quarkus\\.|io\\.micrometer\\.|"
                            + "io\\.smallrye\\.|org\\.eclipse\\.microprofile\\.|org\\.jboss\\.)");

    @Test
    void jobPackageImportsNoServiceFramework() throws IOException {
        List<Path> sources = javaSources();
        List<String> violations = new ArrayList<>();
        for (Path source : sources) {
            List<String> lines = Files.readAllLines(source);
            for (int i = 0; i < lines.size(); i++) {
                if (FORBIDDEN_IMPORT.matcher(lines.get(i)).find()) {
                    violations.add(source + ":" + (i + 1) + ": " + lines.get(i).trim());
                }
            }
        }

        assertThat(violations)
                .as("imports in %s that tie it to the service", JOB_SOURCES)
                .isEmpty();
    }

    @Test
    void scanCoversTheJobSources() throws IOException {
        // Without this, a moved directory would make the scan above pass vacuously.
        assertThat(JOB_SOURCES).isDirectory();
        assertThat(javaSources())
                .extracting(path -> path.getFileName().toString())
                .contains("TelemetryAggregationJob.java", "JobOptions.java");
    }

    private static List<Path> javaSources() throws IOException {
        try (Stream<Path> walk = Files.walk(JOB_SOURCES)) {
            return walk.filter(path -> path.toString().endsWith(".java")).sorted().toList();
        }
    }
}
