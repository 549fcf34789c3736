package dev.telemetry.aggregator.service.flink.rpc;

import java.io.Serializable;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.apache.flink.runtime.rpc.FencedRpcEndpoint;
import org.apache.flink.runtime.rpc.FencedRpcGateway;
import org.apache.flink.runtime.rpc.MainThreadExecutable;
import org.apache.flink.runtime.rpc.RpcGateway;
import org.apache.flink.runtime.rpc.RpcGatewayUtils;
import org.apache.flink.runtime.rpc.RpcServer;
import org.apache.flink.runtime.rpc.StartStoppable;
import org.apache.flink.runtime.rpc.exceptions.FencingTokenException;
import org.apache.flink.runtime.rpc.exceptions.RpcConnectionException;
import org.apache.flink.runtime.rpc.exceptions.RpcException;
import org.apache.flink.util.ExceptionUtils;
import org.apache.flink.util.concurrent.FutureUtils;

/**
 * What a gateway proxy (or an endpoint's own {@link RpcServer}) does with a call: the methods of
 * {@link RpcGateway}, {@link MainThreadExecutable}, {@link StartStoppable}, {@link RpcServer} and
 * {@link FencedRpcGateway} it answers itself; any other method is a remote procedure call, run on
 * the endpoint's thread. One returning {@code void} is sent without an answer; one returning a
 * {@link CompletableFuture} returns the answer, failed with a {@link TimeoutException} if it does
 * not come in time; one returning anything else waits for the answer.
 */
final class EndpointInvocationHandler implements InvocationHandler {
    /** Beyond this an ask has no timeout: Flink's "infinite" timeouts overflow a scheduler. */
    private static final Duration NO_TIMEOUT = Duration.ofDays(365);

    private final EndpointThread target;
    private final Duration timeout;
    private final Supplier<? extends Serializable> fencingToken;
    private final ScheduledExecutorService pool;

    /** The endpoint's own thread when this is its {@link RpcServer}, else null. */
    private final EndpointThread server;

    /** Gateway method to the endpoint's implementation of it. */
    private final Map<Method, Method> implementations = new ConcurrentHashMap<>();

    EndpointInvocationHandler(
            EndpointThread target,
            Duration timeout,
            Supplier<? extends Serializable> fencingToken,
            ScheduledExecutorService pool,
            EndpointThread server) {
        this.target = target;
        this.timeout = timeout;
        this.fencingToken = fencingToken;
        this.pool = pool;
        this.server = server;
    }

    @Override
    public Object invoke(Object proxy, Method method, Object[] args) throws Throwable {
        Class<?> declaring = method.getDeclaringClass();
        if (declaring == Object.class) {
            return switch (method.getName()) {
                case "equals" -> proxy == args[0];
                case "hashCode" -> System.identityHashCode(proxy);
                default -> "Gateway to " + target.address();
            };
        }
        if (declaring == RpcGateway.class) {
            return method.getName().equals("getAddress") ? target.address() : "localhost";
        }
        if (declaring == FencedRpcGateway.class) {
            if (fencingToken == null) {
                throw new UnsupportedOperationException(
                        "A FencedRpcGateway without a fencing token; connect with"
                                + " RpcService#connect(address, token, class)");
            }
            return fencingToken.get();
        }
        if (declaring == MainThreadExecutable.class) {
            return switch (method.getName()) {
                case "runAsync" -> {
                    scheduleRunAsync((Runnable) args[0], 0);
                    yield null;
                }
                case "scheduleRunAsync" -> {
                    scheduleRunAsync((Runnable) args[0], (Long) args[1]);
                    yield null;
                }
                default -> callAsync((Callable<?>) args[0], (Duration) args[1]);
            };
        }
        if (declaring == StartStoppable.class || declaring == RpcServer.class) {
            if (server == null) {
                throw new UnsupportedOperationException(
                        method.getName() + " on a gateway; only an endpoint's own server has it");
            }
            switch (method.getName()) {
                case "start" -> server.start();
                case "stop" -> server.stop();
                default -> {
                    return server.getTerminationFuture();
                }
            }
            return null;
        }
        return invokeRpc(method, args);
    }

    private void scheduleRunAsync(Runnable runnable, long delayMillis) {
        Objects.requireNonNull(runnable, "runnable");
        if (delayMillis < 0) {
            throw new IllegalArgumentException("delay must be zero or greater");
        }
        Serializable token = token();
        if (delayMillis == 0) {
            target.tell(fenced(token, runnable::run), "a runnable");
        } else {
            try {
                pool.schedule(
                        () -> target.tell(fenced(token, runnable::run), "a scheduled runnable"),
                        delayMillis,
                        TimeUnit.MILLISECONDS);
            } catch (RejectedExecutionException e) {
                // The service has closed, and with it every endpoint: nothing would run it.
            }
        }
    }

    private CompletableFuture<Object> callAsync(Callable<?> callable, Duration callTimeout) {
        Serializable token = token();
        return ask(
                answer -> {
                    checkToken(token);
                    answer.complete(callable.call());
                },
                callTimeout,
                "a callable");
    }

    private Object invokeRpc(Method method, Object[] args) throws Exception {
        Duration callTimeout =
                RpcGatewayUtils.extractRpcTimeout(method.getParameterAnnotations(), args, timeout);
        Serializable token = token();
        Class<?> returnType = method.getReturnType();
        if (returnType == void.class) {
            target.tell(
                    () -> {
                        checkToken(token);
                        invokeOnEndpoint(method, args);
                    },
                    method);
            return null;
        }
        CompletableFuture<Object> answer =
                ask(
                        reply -> {
                            checkToken(token);
                            Object result;
                            try {
                                result = invokeOnEndpoint(method, args);
                            } catch (InvocationTargetException e) {
                                reply.completeExceptionally(e.getTargetException());
                                return;
                            }
                            if (result instanceof CompletableFuture<?> future) {
                                @SuppressWarnings("unchecked")
                                CompletableFuture<Object> pending =
                                        (CompletableFuture<Object>) future;
                                FutureUtils.forward(pending, reply);
                            } else {
                                reply.complete(result);
                            }
                        },
                        callTimeout,
                        // The method names the call in logs and errors, as text only there.
                        method);
        if (returnType == CompletableFuture.class) {
            return answer;
        }
        try {
            return answer.get(callTimeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw new RpcException(
                    "Failure while obtaining synchronous RPC result.",
                    ExceptionUtils.stripExecutionException(e));
        }
    }

    private Object invokeOnEndpoint(Method method, Object[] args) throws Exception {
        Method implementation = implementations.get(method);
        if (implementation == null) {
            try {
                implementation =
                        target.endpoint()
                                .getClass()
                                .getMethod(method.getName(), method.getParameterTypes());
            } catch (NoSuchMethodException e) {
                throw new RpcConnectionException(
                        "Could not find rpc method for rpc invocation.", e);
            }
            // The endpoint's class may be an anonymous or non-public one.
            implementation.setAccessible(true);
            implementations.put(method, implementation);
        }
        return implementation.invoke(target.endpoint(), args);
    }

    /**
     * Sends a message expecting an answer; the answer fails with a {@link TimeoutException} when it
     * has not come in {@code callTimeout}.
     */
    private CompletableFuture<Object> ask(
            EndpointThread.AnswerMessage message, Duration callTimeout, Object description) {
        CompletableFuture<Object> answer = new CompletableFuture<>();
        if (callTimeout.compareTo(NO_TIMEOUT) < 0) {
            try {
                ScheduledFuture<?> timer =
                        pool.schedule(
                                () ->
                                        answer.completeExceptionally(
                                                new TimeoutException(
                                                        "Invocation of "
                                                                + description
                                                                + " at recipient "
                                                                + target.address()
                                                                + " timed out after "
                                                                + callTimeout)),
                                callTimeout.toMillis(),
                                TimeUnit.MILLISECONDS);
                answer.whenComplete((value, failure) -> timer.cancel(false));
            } catch (RejectedExecutionException e) {
                // The service has closed: the endpoint answers at once that it is gone.
            }
        }
        target.ask(message, answer, description);
        return answer;
    }

    /** The token this call is sent with: a fenced gateway's, or none. */
    private Serializable token() {
        return fencingToken == null ? null : fencingToken.get();
    }

    /**
     * A fenced endpoint handles only calls that carry its token, as Flink's fenced Pekko actor
     * does; an unfenced endpoint handles any.
     */
    private void checkToken(Serializable token) throws FencingTokenException {
        if (!(target.endpoint() instanceof FencedRpcEndpoint<?> fenced)) {
            return;
        }
        Serializable expected = fenced.getFencingToken();
        if (expected == null) {
            throw new FencingTokenException(
                    "Fencing token not set: ignoring a message sent to "
                            + target.address()
                            + " because the fencing token is null.");
        }
        if (token == null) {
            throw new FencingTokenException(
                    "A message without a fencing token sent to fenced endpoint "
                            + target.address());
        }
        if (!expected.equals(token)) {
            throw new FencingTokenException(
                    "Fencing token mismatch: ignoring a message because the fencing token "
                            + token
                            + " did not match the expected fencing token "
                            + expected
                            + '.');
        }
    }

    private EndpointThread.Message fenced(Serializable token, EndpointThread.Message message) {
        return () -> {
            checkToken(token);
            message.handle();
        };
    }
}
