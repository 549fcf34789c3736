package dev.telemetry.aggregator.service.flink.rpc;

import java.io.Serializable;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.apache.flink.runtime.rpc.FencedRpcEndpoint;
import org.apache.flink.runtime.rpc.FencedRpcGateway;
import org.apache.flink.runtime.rpc.RpcEndpoint;
import org.apache.flink.runtime.rpc.RpcGateway;
import org.apache.flink.runtime.rpc.RpcServer;
import org.apache.flink.runtime.rpc.RpcService;
import org.apache.flink.runtime.rpc.RpcSystem;
import org.apache.flink.runtime.rpc.RpcUtils;
import org.apache.flink.runtime.rpc.exceptions.HandshakeException;
import org.apache.flink.runtime.rpc.exceptions.RpcConnectionException;
import org.apache.flink.runtime.rpc.exceptions.RpcRuntimeException;
import org.apache.flink.util.concurrent.ExecutorThreadFactory;
import org.apache.flink.util.concurrent.FutureUtils;
import org.apache.flink.util.concurrent.ScheduledExecutor;
import org.apache.flink.util.concurrent.ScheduledExecutorServiceAdapter;
import org.jboss.logging.Logger;

/**
 * An {@link RpcService} whose endpoints are reached by reference: a gateway is a proxy whose calls
 * become messages on the target endpoint's {@link EndpointThread}, as Flink's Pekko service sends
 * them to the endpoint's actor. Addresses ({@code inprocess://<service>/<endpoint id>}) are known
 * to every in-process service of the JVM, so the cluster's main service reaches the metric query
 * service's endpoints as Pekko's would.
 *
 * <p>What Flink's runtime relies on, kept as Pekko's service has it: an endpoint handles one
 * message at a time, marked as its main thread; messages before its start are refused ({@code
 * EndpointNotStartedException}), after its end the caller learns it is gone ({@code
 * RecipientUnreachableException}); asks time out after {@code pekko.ask.timeout} or the call's
 * {@code @RpcTimeout}; fenced gateways carry a token the endpoint checks; answers complete on the
 * service's pool, not on the endpoint's thread; connecting to an endpoint that is not there fails
 * with {@code RpcConnectionException}, to one that does not implement the gateway with {@code
 * HandshakeException}.
 */
final class InProcessRpcService implements RpcService {
    private static final Logger LOG = Logger.getLogger(InProcessRpcService.class);

    /** Every running endpoint of every in-process service in this JVM, by address. */
    private static final ConcurrentMap<String, EndpointThread> ENDPOINTS =
            new ConcurrentHashMap<>();

    private static final AtomicLong SERVICES = new AtomicLong();

    /** Flink's classes: the context class loader of every thread that calls into Flink. */
    static final ClassLoader FLINK_CLASS_LOADER = RpcSystem.class.getClassLoader();

    /**
     * Threads for scheduled work, timeouts and answers; Pekko's service runs these on its actor
     * system's dispatcher. Flink's runtime does not block on them.
     */
    private static final int POOL_THREADS = 4;

    private final String name;
    private final Duration timeout;
    private final ScheduledThreadPoolExecutor pool;
    private final ScheduledExecutor scheduledExecutor;
    private final Executor answers = this::answer;
    private final Object lock = new Object();
    private final Map<String, EndpointThread> endpoints = new HashMap<>();
    private final CompletableFuture<Void> terminationFuture = new CompletableFuture<>();
    private boolean stopped;

    InProcessRpcService(String componentName, Duration timeout) {
        this.name = componentName + "-" + SERVICES.incrementAndGet();
        this.timeout = timeout;
        this.pool = new ScheduledThreadPoolExecutor(POOL_THREADS, threads(name + "-rpc-pool"));
        pool.setRemoveOnCancelPolicy(true);
        this.scheduledExecutor = new ScheduledExecutorServiceAdapter(pool);
    }

    /**
     * Runs an answer's completion on the pool; once the pool has shut down (the service closed), on
     * the caller's thread, so that no caller waits for an answer that cannot come.
     */
    private void answer(Runnable completion) {
        try {
            pool.execute(completion);
        } catch (RejectedExecutionException e) {
            completion.run();
        }
    }

    /** Flink's daemon threads (a fatal error in one ends the process), with Flink's loader. */
    static ThreadFactory threads(String poolName) {
        ThreadFactory flink = new ExecutorThreadFactory(poolName);
        return runnable -> {
            Thread thread = flink.newThread(runnable);
            thread.setContextClassLoader(FLINK_CLASS_LOADER);
            return thread;
        };
    }

    /** No socket: Pekko's local service reports no host and no port either. */
    @Override
    public String getAddress() {
        return "";
    }

    @Override
    public int getPort() {
        return -1;
    }

    @Override
    public <C extends RpcGateway> C getSelfGateway(Class<C> selfGatewayType, RpcServer rpcServer) {
        if (selfGatewayType.isInstance(rpcServer)) {
            return selfGatewayType.cast(rpcServer);
        }
        throw new ClassCastException(
                "RpcEndpoint does not implement the RpcGateway interface of type "
                        + selfGatewayType
                        + '.');
    }

    @Override
    public <C extends RpcGateway> CompletableFuture<C> connect(String address, Class<C> clazz) {
        return gateway(address, clazz, null);
    }

    @Override
    public <F extends Serializable, C extends FencedRpcGateway<F>> CompletableFuture<C> connect(
            String address, F fencingToken, Class<C> clazz) {
        return gateway(address, clazz, () -> fencingToken);
    }

    private <C extends RpcGateway> CompletableFuture<C> gateway(
            String address, Class<C> clazz, Supplier<? extends Serializable> fencingToken) {
        synchronized (lock) {
            if (stopped) {
                throw new IllegalStateException("RpcService is stopped");
            }
        }
        EndpointThread target = ENDPOINTS.get(address);
        if (target == null) {
            return CompletableFuture.failedFuture(
                    new RpcConnectionException(
                            "Could not connect to rpc endpoint under address " + address + "."));
        }
        if (!clazz.isInstance(target.endpoint())) {
            return CompletableFuture.failedFuture(
                    new HandshakeException(
                            "The rpc endpoint does not support the gateway "
                                    + clazz.getSimpleName()
                                    + "."));
        }
        C gateway =
                proxy(
                        Set.of(clazz),
                        new EndpointInvocationHandler(target, timeout, fencingToken, pool, null));
        // Completed on the pool, as Pekko's handshake completes on its dispatcher: callers chain
        // non-async stages on it.
        return CompletableFuture.supplyAsync(() -> gateway, answers);
    }

    @Override
    public <C extends RpcEndpoint & RpcGateway> RpcServer startServer(
            C rpcEndpoint, Map<String, String> loggingContext) {
        String address = "inprocess://" + name + "/" + rpcEndpoint.getEndpointId();
        EndpointThread thread = new EndpointThread(rpcEndpoint, address, loggingContext, answers);
        synchronized (lock) {
            if (stopped) {
                throw new IllegalStateException("RpcService is stopped");
            }
            if (ENDPOINTS.putIfAbsent(address, thread) != null) {
                throw new RpcRuntimeException("An RPC endpoint is already at " + address);
            }
            endpoints.put(address, thread);
        }
        thread.getTerminationFuture().whenComplete((ok, failure) -> forget(address, thread));
        LOG.debugf("Starting RPC endpoint for %s at %s", rpcEndpoint.getClass().getName(), address);

        Set<Class<?>> interfaces =
                new LinkedHashSet<>(RpcUtils.extractImplementedRpcGateways(rpcEndpoint.getClass()));
        interfaces.add(RpcServer.class);
        Supplier<? extends Serializable> fencingToken =
                rpcEndpoint instanceof FencedRpcEndpoint<?> fenced ? fenced::getFencingToken : null;
        return proxy(
                interfaces,
                new EndpointInvocationHandler(thread, timeout, fencingToken, pool, thread));
    }

    private void forget(String address, EndpointThread thread) {
        ENDPOINTS.remove(address, thread);
        synchronized (lock) {
            endpoints.remove(address, thread);
        }
    }

    @SuppressWarnings("unchecked")
    private static <C> C proxy(Set<Class<?>> interfaces, EndpointInvocationHandler handler) {
        return (C)
                Proxy.newProxyInstance(
                        InProcessRpcService.class.getClassLoader(),
                        interfaces.toArray(Class<?>[]::new),
                        handler);
    }

    @Override
    public void stopServer(RpcServer server) {
        EndpointThread thread;
        synchronized (lock) {
            if (stopped) {
                return;
            }
            thread = endpoints.get(server.getAddress());
        }
        if (thread != null) {
            thread.terminate();
        } else {
            LOG.debugf(
                    "RPC endpoint %s already stopped or from another RPC service",
                    server.getAddress());
        }
    }

    @Override
    public CompletableFuture<Void> closeAsync() {
        List<CompletableFuture<Void>> terminations = new ArrayList<>();
        synchronized (lock) {
            if (stopped) {
                return terminationFuture;
            }
            stopped = true;
            endpoints.values().forEach(thread -> terminations.add(thread.terminate()));
        }
        FutureUtils.waitForAll(terminations)
                .whenComplete(
                        (ok, failure) -> {
                            pool.shutdownNow();
                            if (failure != null) {
                                terminationFuture.completeExceptionally(failure);
                            } else {
                                terminationFuture.complete(null);
                            }
                        });
        return terminationFuture;
    }

    @Override
    public ScheduledExecutor getScheduledExecutor() {
        return scheduledExecutor;
    }

    @Override
    public String toString() {
        return "InProcessRpcService " + name;
    }
}
