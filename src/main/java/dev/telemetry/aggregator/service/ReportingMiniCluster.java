package dev.telemetry.aggregator.service;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.metrics.MetricConfig;
import org.apache.flink.metrics.reporter.MetricReporter;
import org.apache.flink.runtime.dispatcher.DispatcherGateway;
import org.apache.flink.runtime.dispatcher.SessionDispatcherFactory;
import org.apache.flink.runtime.dispatcher.runner.DefaultDispatcherRunnerFactory;
import org.apache.flink.runtime.entrypoint.component.DefaultDispatcherResourceManagerComponentFactory;
import org.apache.flink.runtime.entrypoint.component.DispatcherResourceManagerComponentFactory;
import org.apache.flink.runtime.metrics.MetricRegistryConfiguration;
import org.apache.flink.runtime.metrics.MetricRegistryImpl;
import org.apache.flink.runtime.metrics.ReporterSetup;
import org.apache.flink.runtime.metrics.filter.ReporterFilter;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;
import org.apache.flink.runtime.resourcemanager.StandaloneResourceManagerFactory;
import org.apache.flink.runtime.rest.RestEndpointFactory;
import org.apache.flink.runtime.rest.handler.RestHandlerConfiguration;
import org.apache.flink.runtime.rest.handler.RestHandlerSpecification;
import org.apache.flink.runtime.webmonitor.WebMonitorEndpoint;
import org.apache.flink.shaded.netty4.io.netty.channel.ChannelInboundHandler;

/**
 * A MiniCluster that reports its metrics to a reporter instance we hand it, instead of one Flink
 * instantiates by class name: the reporter needs the service's Micrometer registry, and
 * instantiating by name would also depend on which class loader Flink searches.
 *
 * <p>Its REST endpoint serves nothing: the service talks to the cluster through the MiniCluster's
 * Java API only, and building Flink's ~100 REST handlers (and loading their classes) is a
 * noticeable part of a start on a small machine, which after a crash is time without processing.
 * Flink offers no public way to leave the endpoint out (its component factory always starts one),
 * so the endpoint still binds an ephemeral port on 127.0.0.1 and takes part in leader election, but
 * answers every request with 404. No web UI, no REST API, no history-server archive.
 */
final class ReportingMiniCluster extends MiniCluster {
    private final MetricReporter reporter;

    ReportingMiniCluster(MiniClusterConfiguration configuration, MetricReporter reporter) {
        super(configuration);
        this.reporter = reporter;
    }

    @Override
    protected MetricRegistryImpl createMetricRegistry(
            Configuration config, long maximumMessageSizeInBytes) {
        return new MetricRegistryImpl(
                MetricRegistryConfiguration.fromConfiguration(config, maximumMessageSizeInBytes),
                List.of(
                        new ReporterSetup(
                                "micrometer",
                                new MetricConfig(),
                                reporter,
                                ReporterFilter.getNoOpFilter(),
                                Map.of())));
    }

    /** What {@link MiniCluster} uses, with a REST endpoint that has no handlers. */
    @Override
    protected DispatcherResourceManagerComponentFactory
            createDispatcherResourceManagerComponentFactory() {
        return new DefaultDispatcherResourceManagerComponentFactory(
                DefaultDispatcherRunnerFactory.createSessionRunner(
                        SessionDispatcherFactory.INSTANCE),
                StandaloneResourceManagerFactory.getInstance(),
                EMPTY_REST_ENDPOINT);
    }

    private static final RestEndpointFactory<DispatcherGateway> EMPTY_REST_ENDPOINT =
            (configuration,
                    dispatcherGatewayRetriever,
                    resourceManagerGatewayRetriever,
                    blobService,
                    executor,
                    metricFetcher,
                    leaderElection,
                    fatalErrorHandler) -> {
                RestHandlerConfiguration handlerConfiguration =
                        RestHandlerConfiguration.fromConfiguration(configuration);
                return new WebMonitorEndpoint<>(
                        dispatcherGatewayRetriever,
                        configuration,
                        handlerConfiguration,
                        resourceManagerGatewayRetriever,
                        blobService,
                        executor,
                        metricFetcher,
                        leaderElection,
                        RestEndpointFactory.createExecutionGraphCache(handlerConfiguration),
                        fatalErrorHandler) {
                    @Override
                    protected List<Tuple2<RestHandlerSpecification, ChannelInboundHandler>>
                            initializeHandlers(CompletableFuture<String> localAddressFuture) {
                        // Mutable: the endpoint sorts the list it gets.
                        return new ArrayList<>();
                    }
                };
            };
}
