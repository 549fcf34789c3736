package dev.telemetry.aggregator.service.flink;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.MalformedURLException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.function.Supplier;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.classloading.SubmoduleClassLoader;
import org.apache.flink.runtime.rpc.CleanupOnCloseRpcSystem;
import org.apache.flink.runtime.rpc.RpcSystem;
import org.apache.flink.runtime.rpc.pekko.PekkoRpcSystemLoader;
import org.apache.flink.util.Reference;

/**
 * Flink's Pekko RPC system, read from the jar the build took out of {@code flink-rpc-akka-loader}
 * ({@code lib/flink-rpc/flink-rpc-akka.jar} beside {@code lib/main}, see the pom) rather than from
 * the copy Flink's own loader inflates into its temp directory at every start: 21 MB, about 0.15 s
 * of the cluster's start, on its critical path. Loaded the way Flink's loader does (its own {@link
 * SubmoduleClassLoader}, so Pekko's Scala stays out of the application's class path), and closed
 * with the cluster; the jar itself stays.
 *
 * <p>Without that jar (tests on {@code target/classes}, the Flink cluster's job jar never gets
 * here) it is Flink's loader, as before.
 */
final class PackagedRpcSystem {
    /** The name Flink's loader looks for inside its own jar, and the one the build gives it. */
    static final String JAR = "flink-rpc-akka.jar";

    private PackagedRpcSystem() {}

    /** What {@link org.apache.flink.runtime.minicluster.MiniCluster} takes to get its system. */
    static Supplier<Reference<RpcSystem>> supplier(Configuration configuration) {
        return () -> Reference.owned(load(configuration, extractedJar()));
    }

    /** From {@code jar} when there is one, else through Flink's loader. */
    static RpcSystem load(Configuration configuration, Optional<Path> jar) {
        if (jar.isEmpty()) {
            return RpcSystem.load(configuration);
        }
        URL url;
        try {
            url = jar.get().toUri().toURL();
        } catch (MalformedURLException e) {
            throw new IllegalStateException("Cannot read Flink's RPC system from " + jar.get(), e);
        }
        SubmoduleClassLoader loader =
                new SubmoduleClassLoader(new URL[] {url}, RpcSystem.class.getClassLoader());
        try {
            return new CleanupOnCloseRpcSystem(
                    ServiceLoader.load(RpcSystem.class, loader).iterator().next(), loader, null);
        } catch (RuntimeException | Error e) {
            try {
                loader.close();
            } catch (IOException closing) {
                e.addSuppressed(closing);
            }
            throw e;
        }
    }

    /** {@code lib/flink-rpc/flink-rpc-akka.jar} if the loader's jar is in a {@code lib/main}. */
    static Optional<Path> extractedJar() {
        return extractedJar(EmbeddedFlinkConfiguration.codeLocation(PekkoRpcSystemLoader.class));
    }

    static Optional<Path> extractedJar(URL loaderLocation) {
        Path loaderJar;
        try {
            loaderJar = Paths.get(loaderLocation.toURI());
        } catch (URISyntaxException | IllegalArgumentException e) {
            return Optional.empty();
        }
        Path libraries = loaderJar.getParent();
        if (libraries == null || !libraries.endsWith(Paths.get("lib", "main"))) {
            return Optional.empty();
        }
        Path jar = libraries.resolveSibling("flink-rpc").resolve(JAR);
        try {
            return Files.isRegularFile(jar) && Files.size(jar) > 0
                    ? Optional.of(jar)
                    : Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read " + jar, e);
        }
    }
}
