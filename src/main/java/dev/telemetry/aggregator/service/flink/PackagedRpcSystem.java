package dev.telemetry.aggregator.service.flink;

import java.util.Optional;
import java.util.ServiceLoader;
import java.util.function.Supplier;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.rpc.RpcSystem;
import org.apache.flink.util.Reference;
import org.jboss.logging.Logger;

/**
 * Flink's Pekko RPC system from the JVM's own class path, where the package puts it: the build
 * takes {@code flink-rpc-akka.jar} out of {@code flink-rpc-akka-loader} into {@code lib/flink-rpc/}
 * and adds it to {@code quarkus-run.jar}'s class path (see the pom). Flink's own loader would
 * instead inflate those 21 MB into its temp directory at every start and read them through a class
 * loader of its own, whose classes the AOT cache cannot hold linked: defining Pekko's classes and
 * spinning their lambdas was about a third of the embedded cluster's start. Pekko brings Scala
 * 2.12; nothing else on the class path uses Scala, and the job's user-code class loader keeps the
 * job's own classes apart as before.
 *
 * <p>Without that jar on the class path (tests on {@code target/classes}, dev mode) it is Flink's
 * loader, as before.
 */
final class PackagedRpcSystem {
    private static final Logger LOG = Logger.getLogger(PackagedRpcSystem.class);

    /** The class Flink's Pekko jar registers as its {@link RpcSystem}. */
    static final String PEKKO_RPC_SYSTEM = "org.apache.flink.runtime.rpc.pekko.PekkoRpcSystem";

    private PackagedRpcSystem() {}

    /** What {@link org.apache.flink.runtime.minicluster.MiniCluster} takes to get its system. */
    static Supplier<Reference<RpcSystem>> supplier(Configuration configuration) {
        return () -> Reference.owned(load(configuration, RpcSystem.class.getClassLoader()));
    }

    /** From {@code loader} when Pekko's jar is on it, else through Flink's loader. */
    static RpcSystem load(Configuration configuration, ClassLoader loader) {
        Optional<RpcSystem> onClassPath = onClassPath(loader);
        if (onClassPath.isPresent()) {
            LOG.debug("Flink's RPC system: Pekko, from the class path");
            return onClassPath.get();
        }
        LOG.debug("Flink's RPC system: through Flink's loader (Pekko is not on the class path)");
        return RpcSystem.load(configuration);
    }

    /** Pekko's RPC system if {@code loader} sees its jar. */
    static Optional<RpcSystem> onClassPath(ClassLoader loader) {
        if (loader == null
                || loader.getResource(PEKKO_RPC_SYSTEM.replace('.', '/') + ".class") == null) {
            return Optional.empty();
        }
        return ServiceLoader.load(RpcSystem.class, loader).stream()
                .filter(provider -> provider.type().getName().equals(PEKKO_RPC_SYSTEM))
                .map(ServiceLoader.Provider::get)
                .findFirst();
    }
}
