package dev.telemetry.aggregator.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The JVM options the container image runs with ({@code JDK_JAVA_OPTIONS} in the Dockerfile), read
 * from the Dockerfile, so that the tests' and the benchmark's JVMs follow the image.
 */
public final class ImageJvm {
    /**
     * The heap the container gives the JVM: half of the Kubernetes memory limit (768 MiB), which is
     * what {@code MaxRAMPercentage=50} gives in the pod.
     */
    public static final String CONTAINER_HEAP = "384m";

    private static final String IMAGE_AOT_CACHE = "-XX:AOTCache=/deployments/";

    /** The JDK the image ships, whose AOT cache it uses (deploy-check/image-jdk.sh). */
    private static final int IMAGE_JDK = 25;

    private ImageJvm() {}

    /** {@code JDK_JAVA_OPTIONS} as the Dockerfile sets it. */
    private static List<String> dockerfileOptions() {
        try {
            Matcher matcher =
                    Pattern.compile("ENV JDK_JAVA_OPTIONS=\"([^\"]*)\"")
                            .matcher(Files.readString(Paths.get("Dockerfile")));
            return matcher.find() ? List.of(matcher.group(1).trim().split("\\s+")) : List.of();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the Dockerfile's JVM options", e);
        }
    }

    /**
     * The packaged service's {@code JDK_JAVA_OPTIONS} as the image sets them, with the image's AOT
     * cache at its place for {@code target/quarkus-app} ({@code deploy-check/train-aot-cache.sh}
     * makes it before the integration tests and the benchmark); without the cache where there is
     * none or this JVM is older than the image's. A {@code -Xmx} on the command line takes the
     * place of {@code MaxRAMPercentage}, as in a pod whose user sets one.
     */
    public static List<String> serviceOptions() {
        List<String> options = new ArrayList<>();
        for (String option : dockerfileOptions()) {
            if (!option.startsWith(IMAGE_AOT_CACHE)) {
                options.add(option);
            } else if (Runtime.version().feature() >= IMAGE_JDK) {
                Path cache =
                        Paths.get("target/quarkus-app", option.substring(IMAGE_AOT_CACHE.length()))
                                .toAbsolutePath();
                if (Files.isRegularFile(cache)) {
                    options.add("-XX:AOTCache=" + cache);
                }
            }
        }
        return options;
    }

    /**
     * The image's JVM options for another JVM of the benchmark (the Kafka Streams twin, Kafka's
     * tools): {@code -Xmx<maxHeap>} first in place of {@code MaxRAMPercentage}, without the AOT
     * cache, which is the service's alone. Should the image name no collector, the one the JVM
     * picks in the pod (SerialGC, below about 1.8 GB of memory), not the G1 it would pick on this
     * bigger host.
     */
    public static List<String> options(String maxHeap) {
        List<String> imageOptions = dockerfileOptions();
        List<String> options = new ArrayList<>(List.of("-Xmx" + maxHeap));
        if (imageOptions.stream().noneMatch(option -> option.matches("-XX:\\+Use\\w+GC"))) {
            options.add("-XX:+UseSerialGC");
        }
        for (String option : imageOptions) {
            if (!option.startsWith("-XX:MaxRAMPercentage") && !option.startsWith(IMAGE_AOT_CACHE)) {
                options.add(option);
            }
        }
        return options;
    }
}
