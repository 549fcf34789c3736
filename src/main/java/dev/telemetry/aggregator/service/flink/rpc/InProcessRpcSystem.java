package dev.telemetry.aggregator.service.flink.rpc;

import java.net.InetSocketAddress;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.configuration.RpcOptions;
import org.apache.flink.runtime.rpc.AddressResolution;
import org.apache.flink.runtime.rpc.RpcService;
import org.apache.flink.runtime.rpc.RpcSystem;

/**
 * Flink's {@link RpcSystem} for a cluster whose components all run in this JVM: the embedded
 * MiniCluster's dispatcher, resource manager, job masters, task executor and metric query services
 * call each other through {@link InProcessRpcService}, which runs each endpoint's messages one at a
 * time on a thread of its own, as Flink's Pekko actors do, without Pekko's actor system.
 *
 * <p>Why: starting Pekko's actor system (its configuration, extensions, dispatchers, and the Scala
 * lambdas it spins at run time) was the largest single step of the embedded cluster's start, about
 * 0.8 s of a relaunch under input, for an RPC system that only ever talks within one process.
 *
 * <p>Remote services are refused: a JobManager or TaskManager in another process (the Flink cluster
 * the job jar runs on) uses Flink's own Pekko system, which this does not replace.
 */
public final class InProcessRpcSystem implements RpcSystem {

    @Override
    public RpcServiceBuilder localServiceBuilder(Configuration configuration) {
        return new Builder(configuration);
    }

    @Override
    public RpcServiceBuilder remoteServiceBuilder(
            Configuration configuration, String externalAddress, String externalPortRange) {
        throw new UnsupportedOperationException(
                "The in-process RPC system serves components in this JVM only; Flink asked for a"
                        + " remote RPC service (bind address "
                        + externalAddress
                        + ", ports "
                        + externalPortRange
                        + ")");
    }

    @Override
    public String getRpcUrl(
            String hostname,
            int port,
            String endpointName,
            AddressResolution addressResolution,
            Configuration config) {
        throw new UnsupportedOperationException(
                "The in-process RPC system has no URLs for remote endpoints (asked for "
                        + endpointName
                        + " at "
                        + hostname
                        + ":"
                        + port
                        + ")");
    }

    @Override
    public InetSocketAddress getInetSocketAddressFromRpcUrl(String url) {
        throw new UnsupportedOperationException(
                "The in-process RPC system has no socket addresses (asked for " + url + ")");
    }

    /**
     * Flink sizes the metric query service's answers by this; nothing is serialised in process, so
     * it is only that limit, as {@code pekko.framesize} sets it.
     */
    @Override
    public long getMaximumMessageSizeInBytes(Configuration config) {
        return MemorySize.parse(config.get(RpcOptions.FRAMESIZE)).getBytes();
    }

    private static final class Builder implements RpcServiceBuilder {
        private final Configuration configuration;
        private String componentName = "flink";

        Builder(Configuration configuration) {
            this.configuration = configuration;
        }

        @Override
        public RpcServiceBuilder withComponentName(String name) {
            this.componentName = name;
            return this;
        }

        /** Nothing binds: there is no socket. */
        @Override
        public RpcServiceBuilder withBindAddress(String bindAddress) {
            return this;
        }

        @Override
        public RpcServiceBuilder withBindPort(int bindPort) {
            return this;
        }

        /** Each endpoint has a thread of its own; a pool's size does not apply. */
        @Override
        public RpcServiceBuilder withExecutorConfiguration(
                FixedThreadPoolExecutorConfiguration executorConfiguration) {
            return this;
        }

        @Override
        public RpcServiceBuilder withExecutorConfiguration(
                ForkJoinExecutorConfiguration executorConfiguration) {
            return this;
        }

        @Override
        public RpcService createAndStart() {
            return new InProcessRpcService(
                    componentName, configuration.get(RpcOptions.ASK_TIMEOUT_DURATION));
        }
    }
}
