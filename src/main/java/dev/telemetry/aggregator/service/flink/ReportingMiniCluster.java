package dev.telemetry.aggregator.service.flink;

import dev.telemetry.aggregator.service.flink.rpc.InProcessRpcSystem;
import java.util.List;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.metrics.MetricConfig;
import org.apache.flink.metrics.reporter.MetricReporter;
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
import org.apache.flink.util.Reference;

/**
 * A MiniCluster that reports its metrics to a reporter instance we hand it, instead of one Flink
 * instantiates by class name: the reporter needs the service's Micrometer registry, and
 * instantiating by name would also depend on which class loader Flink searches.
 *
 * <p>Its REST endpoint serves nothing ({@link EmptyRestEndpoint}); its components call each other
 * in process ({@link InProcessRpcSystem}), not through Pekko.
 *
 * <p>Flink internals: both overrides are protected methods of {@link MiniCluster} built from {@code
 * org.apache.flink.runtime} classes ({@code MetricRegistryImpl}, {@code ReporterSetup}, the
 * dispatcher and resource-manager factories), which Flink may change in any release. They are kept
 * in this class alone; {@code ReportingMiniClusterTest} guards them against a Flink upgrade (the
 * reporter receives the cluster's metrics, the REST endpoint answers 404).
 */
final class ReportingMiniCluster extends MiniCluster {
    private final MetricReporter reporter;

    ReportingMiniCluster(MiniClusterConfiguration configuration, MetricReporter reporter) {
        super(configuration, () -> Reference.owned(new InProcessRpcSystem()));
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

    /**
     * What {@link MiniCluster} uses (Flink 2.2), with a REST endpoint that has no handlers. Compare
     * with {@code MiniCluster#createDispatcherResourceManagerComponentFactory} on each Flink
     * upgrade: a change there would not break the compile.
     */
    @Override
    protected DispatcherResourceManagerComponentFactory
            createDispatcherResourceManagerComponentFactory() {
        return new DefaultDispatcherResourceManagerComponentFactory(
                DefaultDispatcherRunnerFactory.createSessionRunner(
                        SessionDispatcherFactory.INSTANCE),
                StandaloneResourceManagerFactory.getInstance(),
                EmptyRestEndpoint.FACTORY);
    }
}
