package dev.telemetry.aggregator.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The job's packages form layers without cycles: {@code records} and {@code config} depend on no
 * other package of the project, {@code codec} on those two, {@code functions} and {@code kafka} on
 * the layers below, and only the topology ({@code job} itself) puts them together. A class that
 * needs something from a higher layer belongs in that layer.
 */
class JobPackageLayersTest {
    private static final Path JOB = Path.of("src/main/java/dev/telemetry/aggregator/job");
    private static final String ROOT = "dev.telemetry.aggregator.";
    private static final Pattern IMPORT =
            Pattern.compile(
                    "^import\\s+(?:static\\s+)?" + Pattern.quote(ROOT) + "([\\w.]+?)\\.[A-Z]");

    /** Which of the project's packages each job package may import. */
    private static final Map<String, Set<String>> ALLOWED =
            Map.of(
                    "job.records",
                    Set.of(),
                    "job.config",
                    Set.of(),
                    "job.codec",
                    Set.of("job.records", "job.config"),
                    "job.functions",
                    Set.of("job.records", "job.config", "job.codec"),
                    "job.kafka",
                    Set.of("job.records", "job.config", "job.codec"),
                    "job",
                    Set.of("job.records", "job.config", "job.codec", "job.functions", "job.kafka"));

    @Test
    void eachPackageImportsOnlyTheLayersBelowIt() throws IOException {
        List<String> violations = new ArrayList<>();
        try (Stream<Path> walk = Files.walk(JOB)) {
            for (Path source : walk.filter(p -> p.toString().endsWith(".java")).toList()) {
                String pkg = "job" + packageSuffix(source);
                assertThat(ALLOWED).as("layer of package %s", pkg).containsKey(pkg);
                for (String line : Files.readAllLines(source)) {
                    Matcher matcher = IMPORT.matcher(line.trim());
                    if (matcher.find()) {
                        String imported = matcher.group(1);
                        if (!imported.equals(pkg) && !ALLOWED.get(pkg).contains(imported)) {
                            violations.add(source + ": " + line.trim());
                        }
                    }
                }
            }
        }

        assertThat(violations).as("imports against the layering").isEmpty();
    }

    private static String packageSuffix(Path source) {
        Path relative = JOB.relativize(source.getParent());
        return relative.toString().isEmpty() ? "" : "." + relative.toString().replace('/', '.');
    }
}
