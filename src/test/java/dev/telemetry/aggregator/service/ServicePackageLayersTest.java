package dev.telemetry.aggregator.service;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The service's packages form layers without cycles, each above the ones it uses:
 *
 * <ol>
 *   <li>{@code config}: the setting declarations of the service, reading and validating them into
 *       the {@code ServiceOptions} bean, which every other package may use;
 *   <li>{@code checkpoint}: the volume, choosing and retaining snapshots, the restore plan and its
 *       records (no Kafka, no cluster);
 *   <li>{@code kafka}: start-up checks against the broker, transactions, access errors, the fork
 *       guard (which reads the volume's records);
 *   <li>{@code flink.rpc}: the embedded cluster's in-process RPC system (Flink's interfaces only);
 *   <li>{@code flink}: the embedded cluster and the job's lifecycle, which puts the layers below
 *       together;
 *   <li>{@code observability}: health and metrics of the running job;
 *   <li>{@code admin}: the REST API, on top of everything.
 * </ol>
 *
 * A class that needs something from a higher layer belongs in that layer. The {@code service}
 * package itself holds no classes.
 */
class ServicePackageLayersTest {
    private static final Path SERVICE = Path.of("src/main/java/dev/telemetry/aggregator/service");
    private static final String BASE = "dev.telemetry.aggregator.service";

    /** A reference to a class of the service, in an import or written out in full. */
    private static final Pattern REFERENCE =
            Pattern.compile(Pattern.quote(BASE) + "((?:\\.[a-z]\\w*)*)\\.([A-Z]\\w*)");

    /** Which of the service's packages each may use. */
    private static final Map<String, Set<String>> ALLOWED =
            Map.of(
                    "config",
                    Set.of(),
                    "flink.rpc",
                    Set.of(),
                    "checkpoint",
                    Set.of("config"),
                    "kafka",
                    Set.of("config", "checkpoint"),
                    "flink",
                    Set.of("config", "checkpoint", "kafka", "flink.rpc"),
                    "observability",
                    Set.of("config", "checkpoint", "kafka", "flink"),
                    "admin",
                    Set.of("config", "checkpoint", "kafka", "flink", "observability"));

    @Test
    void eachPackageUsesOnlyTheLayersBelowIt() throws IOException {
        List<String> violations = new ArrayList<>();
        try (Stream<Path> walk = Files.walk(SERVICE)) {
            for (Path source : walk.filter(p -> p.toString().endsWith(".java")).toList()) {
                String pkg = packageOf(source);
                assertThat(ALLOWED).as("layer of package service.%s", pkg).containsKey(pkg);
                for (String line : Files.readAllLines(source)) {
                    if (line.startsWith("package ")) {
                        continue;
                    }
                    Matcher matcher = REFERENCE.matcher(line);
                    while (matcher.find()) {
                        String used =
                                matcher.group(1).isEmpty() ? "" : matcher.group(1).substring(1);
                        if (!used.equals(pkg) && !ALLOWED.get(pkg).contains(used)) {
                            violations.add(source + ": " + line.trim());
                        }
                    }
                }
            }
        }

        assertThat(violations).as("references against the layering").isEmpty();
    }

    @Test
    void theLayersHaveNoCycle() {
        for (String pkg : ALLOWED.keySet()) {
            assertThat(reachable(pkg))
                    .as("packages service.%s uses, directly or not", pkg)
                    .doesNotContain(pkg);
        }
    }

    @Test
    void everyPackageHasALayer() throws IOException {
        try (Stream<Path> walk = Files.walk(SERVICE)) {
            assertThat(
                            walk.filter(Files::isDirectory)
                                    .filter(dir -> !dir.equals(SERVICE))
                                    .map(ServicePackageLayersTest::packageOf))
                    .allSatisfy(pkg -> assertThat(ALLOWED).containsKey(pkg));
        }
    }

    private static Set<String> reachable(String from) {
        Set<String> seen = new HashSet<>();
        List<String> todo = new ArrayList<>(ALLOWED.get(from));
        while (!todo.isEmpty()) {
            String next = todo.remove(todo.size() - 1);
            if (seen.add(next)) {
                todo.addAll(ALLOWED.get(next));
            }
        }
        return seen;
    }

    private static String packageOf(Path path) {
        Path dir = Files.isDirectory(path) ? path : path.getParent();
        return SERVICE.relativize(dir).toString().replace('/', '.');
    }
}
