package dev.telemetry.aggregator.service.flink;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.core.classloading.SubmoduleClassLoader;
import org.apache.flink.runtime.rpc.RpcService;
import org.apache.flink.runtime.rpc.RpcSystem;
import org.apache.flink.runtime.rpc.pekko.PekkoRpcSystemLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PackagedRpcSystemTest {
    @TempDir Path app;

    /** The tests' class path has only Flink's loader jar: its own loader does the work. */
    @Test
    void withoutPekkoOnTheClassPathItIsFlinksLoader() throws Exception {
        assertThat(PackagedRpcSystem.onClassPath(RpcSystem.class.getClassLoader())).isEmpty();

        Configuration configuration = new Configuration();
        configuration.set(CoreOptions.TMP_DIRS, app.toString());
        try (RpcSystem system =
                PackagedRpcSystem.load(configuration, RpcSystem.class.getClassLoader())) {
            assertThat(startsAndRuns(system, configuration)).isEqualTo(42);
        }
    }

    /**
     * With the Pekko jar the build takes out of the loader on the class path, the system comes from
     * that class path and starts an RPC service. (A loader that reads Pekko's own Scala first: the
     * tests' class path has Kafka's Scala 2.13 for the in-JVM broker, which Pekko's 2.12 code
     * cannot use; the service's class path has no other Scala.)
     */
    @Test
    void withPekkoOnTheClassPathItIsThatOne() throws Exception {
        Path extracted = app.resolve("lib/flink-rpc/flink-rpc-akka.jar");
        Files.createDirectories(extracted.getParent());
        try (InputStream packaged =
                PekkoRpcSystemLoader.class
                        .getClassLoader()
                        .getResourceAsStream("flink-rpc-akka.jar")) {
            assertThat(packaged).as("flink-rpc-akka.jar inside the loader's jar").isNotNull();
            Files.copy(packaged, extracted);
        }
        try (SubmoduleClassLoader classPath =
                new SubmoduleClassLoader(
                        new URL[] {extracted.toUri().toURL()}, RpcSystem.class.getClassLoader())) {
            Configuration configuration = new Configuration();
            try (RpcSystem system = PackagedRpcSystem.load(configuration, classPath)) {
                assertThat(system.getClass().getName())
                        .isEqualTo(PackagedRpcSystem.PEKKO_RPC_SYSTEM);
                assertThat(system.getClass().getClassLoader()).isSameAs(classPath);
                assertThat(startsAndRuns(system, configuration)).isEqualTo(42);
            }
        }
    }

    private static int startsAndRuns(RpcSystem system, Configuration configuration)
            throws Exception {
        RpcService service = system.localServiceBuilder(configuration).createAndStart();
        try {
            return service.getScheduledExecutor()
                    .schedule(() -> 42, 0, TimeUnit.MILLISECONDS)
                    .get(10, TimeUnit.SECONDS);
        } finally {
            service.closeAsync().get(10, TimeUnit.SECONDS);
        }
    }
}
