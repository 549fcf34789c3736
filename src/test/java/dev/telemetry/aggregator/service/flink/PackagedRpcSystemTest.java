package dev.telemetry.aggregator.service.flink;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.classloading.SubmoduleClassLoader;
import org.apache.flink.runtime.rpc.RpcService;
import org.apache.flink.runtime.rpc.RpcSystem;
import org.apache.flink.runtime.rpc.pekko.PekkoRpcSystemLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PackagedRpcSystemTest {
    @TempDir Path app;

    /** The layout of {@code target/quarkus-app}: the loader's jar in lib/main. */
    private Path loaderJarIn(Path app) throws Exception {
        Path loaderJar = app.resolve("lib/main/org.apache.flink.flink-rpc-akka-loader.jar");
        Files.createDirectories(loaderJar.getParent());
        Files.createFile(loaderJar);
        return loaderJar;
    }

    @Test
    void theExtractedJarIsTheOneBesideTheLibraries() throws Exception {
        Path loaderJar = loaderJarIn(app);
        assertThat(PackagedRpcSystem.extractedJar(loaderJar.toUri().toURL())).isEmpty();

        Path extracted = app.resolve("lib/flink-rpc").resolve(PackagedRpcSystem.JAR);
        Files.createDirectories(extracted.getParent());
        Files.writeString(extracted, "a jar");
        assertThat(PackagedRpcSystem.extractedJar(loaderJar.toUri().toURL())).contains(extracted);
    }

    @Test
    void aLoaderJarOutsideAnApplicationsLibrariesHasNone() throws Exception {
        // As in tests and dev mode: the loader from the local Maven repository.
        Path elsewhere = app.resolve("repository/flink-rpc-akka-loader.jar");
        Files.createDirectories(elsewhere.getParent());
        Files.createFile(elsewhere);
        Files.createDirectories(app.resolve("repository/flink-rpc"));
        Files.writeString(app.resolve("repository/flink-rpc").resolve(PackagedRpcSystem.JAR), "x");

        assertThat(PackagedRpcSystem.extractedJar(elsewhere.toUri().toURL())).isEmpty();
    }

    /** The real Pekko jar, taken out of the loader as the build does, starts an RPC service. */
    @Test
    void theExtractedJarStartsAnRpcService() throws Exception {
        Path extracted = app.resolve("lib/flink-rpc").resolve(PackagedRpcSystem.JAR);
        Files.createDirectories(extracted.getParent());
        try (InputStream packaged =
                PekkoRpcSystemLoader.class
                        .getClassLoader()
                        .getResourceAsStream(PackagedRpcSystem.JAR)) {
            assertThat(packaged).as("flink-rpc-akka.jar inside the loader's jar").isNotNull();
            Files.copy(packaged, extracted);
        }
        Configuration configuration = new Configuration();
        URL extractedUrl = extracted.toUri().toURL();

        try (RpcSystem system = PackagedRpcSystem.load(configuration, Optional.of(extracted))) {
            RpcService service = system.localServiceBuilder(configuration).createAndStart();
            try {
                // Pekko's, from the extracted jar, in a class loader of its own.
                assertThat(service.getClass().getClassLoader())
                        .isInstanceOfSatisfying(
                                SubmoduleClassLoader.class,
                                loader ->
                                        assertThat(loader.getURLs()).containsExactly(extractedUrl));
                // And it runs work.
                assertThat(
                                service.getScheduledExecutor()
                                        .schedule(() -> 42, 0, TimeUnit.MILLISECONDS)
                                        .get(10, TimeUnit.SECONDS))
                        .isEqualTo(42);
            } finally {
                service.closeAsync().get();
            }
        }
        assertThat(extracted).as("the jar stays for the next start").exists();
    }
}
