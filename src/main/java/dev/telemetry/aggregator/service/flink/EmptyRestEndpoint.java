package dev.telemetry.aggregator.service.flink;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.blob.TransientBlobService;
import org.apache.flink.runtime.dispatcher.DispatcherGateway;
import org.apache.flink.runtime.leaderelection.LeaderElection;
import org.apache.flink.runtime.resourcemanager.ResourceManagerGateway;
import org.apache.flink.runtime.rest.RestEndpointFactory;
import org.apache.flink.runtime.rest.handler.RestHandlerConfiguration;
import org.apache.flink.runtime.rest.handler.RestHandlerSpecification;
import org.apache.flink.runtime.rest.handler.legacy.ExecutionGraphCache;
import org.apache.flink.runtime.rest.handler.legacy.metrics.MetricFetcher;
import org.apache.flink.runtime.rpc.FatalErrorHandler;
import org.apache.flink.runtime.webmonitor.WebMonitorEndpoint;
import org.apache.flink.runtime.webmonitor.retriever.GatewayRetriever;
import org.apache.flink.shaded.netty4.io.netty.channel.ChannelInboundHandler;
import org.apache.flink.util.ConfigurationException;

/**
 * A REST endpoint for the embedded cluster that serves nothing (every request gets 404).
 *
 * <p>The service talks to its MiniCluster through the Java API only (submit, status, savepoints,
 * metrics through the reporter). Building Flink's ~100 REST handlers and loading their classes is a
 * measurable part of a MiniCluster start (bench/results/NOTES.md), time without processing after a
 * crash. Flink offers no public way to leave the endpoint out: its component factory always starts
 * one and uses its address. So this endpoint still binds an ephemeral port on 127.0.0.1 and takes
 * part in leader election (so {@code MiniCluster#getRestAddress} completes), but has no handlers:
 * no web UI, no REST API or client, no history-server archive.
 *
 * <p>Flink internals: it extends {@code WebMonitorEndpoint} and implements {@code
 * RestEndpointFactory} ({@code org.apache.flink.runtime}), whose constructors and signatures may
 * change in any Flink release. {@code ReportingMiniClusterTest} guards it against a Flink upgrade.
 */
final class EmptyRestEndpoint extends WebMonitorEndpoint<DispatcherGateway> {
    static final RestEndpointFactory<DispatcherGateway> FACTORY =
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
                return new EmptyRestEndpoint(
                        dispatcherGatewayRetriever,
                        configuration,
                        handlerConfiguration,
                        resourceManagerGatewayRetriever,
                        blobService,
                        executor,
                        metricFetcher,
                        leaderElection,
                        RestEndpointFactory.createExecutionGraphCache(handlerConfiguration),
                        fatalErrorHandler);
            };

    EmptyRestEndpoint(
            GatewayRetriever<DispatcherGateway> dispatcherGatewayRetriever,
            Configuration configuration,
            RestHandlerConfiguration handlerConfiguration,
            GatewayRetriever<ResourceManagerGateway> resourceManagerGatewayRetriever,
            TransientBlobService blobService,
            ScheduledExecutorService executor,
            MetricFetcher metricFetcher,
            LeaderElection leaderElection,
            ExecutionGraphCache executionGraphCache,
            FatalErrorHandler fatalErrorHandler)
            throws IOException, ConfigurationException {
        super(
                dispatcherGatewayRetriever,
                configuration,
                handlerConfiguration,
                resourceManagerGatewayRetriever,
                blobService,
                executor,
                metricFetcher,
                leaderElection,
                executionGraphCache,
                fatalErrorHandler);
    }

    @Override
    protected List<Tuple2<RestHandlerSpecification, ChannelInboundHandler>> initializeHandlers(
            CompletableFuture<String> localAddressFuture) {
        // Mutable: the endpoint sorts the list it gets.
        return new ArrayList<>();
    }
}
