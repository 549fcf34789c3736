package dev.telemetry.aggregator.service.flink.rpc;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.apache.flink.runtime.rpc.MainThreadValidatorUtil;
import org.apache.flink.runtime.rpc.RpcEndpoint;
import org.apache.flink.runtime.rpc.exceptions.EndpointNotStartedException;
import org.apache.flink.runtime.rpc.exceptions.FencingTokenException;
import org.apache.flink.runtime.rpc.exceptions.RecipientUnreachableException;
import org.apache.flink.runtime.rpc.exceptions.RpcException;
import org.apache.flink.util.ExceptionUtils;
import org.apache.flink.util.MdcUtils;
import org.apache.flink.util.concurrent.FutureUtils;
import org.jboss.logging.Logger;

/**
 * One RPC endpoint's main thread: the messages sent to it, handled one at a time in the order they
 * came, in the states Flink's Pekko actor has (not running until started; running; terminating
 * while the endpoint's {@code onStop} completes, still handling messages; terminated).
 */
final class EndpointThread {
    private static final Logger LOG = Logger.getLogger(EndpointThread.class);

    private enum State {
        NOT_RUNNING,
        RUNNING,
        TERMINATING,
        TERMINATED
    }

    /** A message that expects no answer. */
    interface Message {
        void handle() throws Throwable;
    }

    private final RpcEndpoint endpoint;
    private final String address;
    private final Map<String, String> loggingContext;
    private final Executor answers;
    private final ThreadPoolExecutor thread;
    private final MainThreadValidatorUtil mainThread;
    private final CompletableFuture<Void> terminationFuture = new CompletableFuture<>();

    /** Changed on the endpoint's thread only, except to TERMINATED; read by any. */
    private volatile State state = State.NOT_RUNNING;

    EndpointThread(
            RpcEndpoint endpoint,
            String address,
            Map<String, String> loggingContext,
            Executor answers) {
        this.endpoint = endpoint;
        this.address = address;
        this.loggingContext = Map.copyOf(loggingContext);
        this.answers = answers;
        this.thread =
                new ThreadPoolExecutor(
                        1,
                        1,
                        0,
                        TimeUnit.MILLISECONDS,
                        new LinkedBlockingQueue<>(),
                        InProcessRpcService.threads("flink-rpc-" + endpoint.getEndpointId()));
        this.mainThread = new MainThreadValidatorUtil(endpoint);
    }

    RpcEndpoint endpoint() {
        return endpoint;
    }

    String address() {
        return address;
    }

    CompletableFuture<Void> getTerminationFuture() {
        return terminationFuture;
    }

    /** Runs {@code onStart}; messages sent before are refused, as Pekko's actor refuses them. */
    void start() {
        post(
                () -> {
                    if (state != State.NOT_RUNNING) {
                        return;
                    }
                    try {
                        runAsMainThread(endpoint::internalCallOnStart);
                        state = State.RUNNING;
                    } catch (Throwable t) {
                        finish(
                                new RpcException(
                                        "Could not start RpcEndpoint "
                                                + endpoint.getEndpointId()
                                                + ".",
                                        t));
                    }
                });
    }

    /** Stops handling messages (they are refused) without ending the endpoint. */
    void stop() {
        post(
                () -> {
                    if (state == State.RUNNING) {
                        state = State.NOT_RUNNING;
                    }
                });
    }

    /**
     * Runs {@code onStop} after the messages already sent, then ends the endpoint when the future
     * it returns completes; the returned future completes then.
     */
    CompletableFuture<Void> terminate() {
        post(
                () -> {
                    if (state == State.NOT_RUNNING) {
                        finish(null);
                    } else if (state == State.RUNNING) {
                        state = State.TERMINATING;
                        CompletableFuture<Void> stopped;
                        try {
                            stopped = asMainThread(endpoint::internalCallOnStop);
                        } catch (Throwable t) {
                            stopped =
                                    CompletableFuture.failedFuture(
                                            new RpcException(
                                                    "Failure while stopping RpcEndpoint "
                                                            + endpoint.getEndpointId()
                                                            + ".",
                                                    t));
                        }
                        stopped.whenComplete((ok, failure) -> finish(failure));
                    }
                });
        return terminationFuture;
    }

    private void finish(Throwable failure) {
        if (state == State.TERMINATED) {
            return;
        }
        state = State.TERMINATED;
        // Messages already queued still run, and are answered as to an endpoint that is gone.
        thread.shutdown();
        if (failure == null) {
            terminationFuture.complete(null);
        } else {
            LOG.infof(failure, "The RpcEndpoint %s failed.", endpoint.getEndpointId());
            terminationFuture.completeExceptionally(failure);
        }
    }

    /**
     * Sends a message that expects no answer: dropped (and logged) if the endpoint is not running.
     */
    void tell(Message message, Object description) {
        post(
                () -> {
                    if (handlesMessages()) {
                        try {
                            runAsMainThread(message::handle);
                        } catch (FencingTokenException e) {
                            LOG.debugf("Discarding %s: %s", description, e.getMessage());
                        } catch (Throwable t) {
                            LOG.errorf(
                                    t,
                                    "Error in %s on the main thread of %s",
                                    description,
                                    endpoint.getEndpointId());
                            ExceptionUtils.rethrowIfFatalErrorOrOOM(t);
                        }
                    } else {
                        LOG.debugf("Discarding %s: %s is %s", description, address, state);
                    }
                });
    }

    /**
     * Sends a message whose handling completes {@code answer}, or completes it with why the
     * endpoint could not handle it. {@code answer} is completed on the service's pool, never on
     * this thread.
     */
    void ask(AnswerMessage message, CompletableFuture<Object> answer, Object description) {
        CompletableFuture<Object> onPool = new CompletableFuture<>();
        FutureUtils.forwardAsync(onPool, answer, answers);
        boolean posted =
                post(
                        () -> {
                            if (handlesMessages()) {
                                try {
                                    runAsMainThread(() -> message.handle(onPool));
                                } catch (Throwable t) {
                                    onPool.completeExceptionally(t);
                                    ExceptionUtils.rethrowIfFatalErrorOrOOM(t);
                                }
                            } else if (state == State.NOT_RUNNING) {
                                onPool.completeExceptionally(
                                        new EndpointNotStartedException(
                                                "Discard message "
                                                        + description
                                                        + ", because the rpc endpoint "
                                                        + address
                                                        + " has not been started yet."));
                            } else {
                                onPool.completeExceptionally(unreachable(description));
                            }
                        });
        if (!posted) {
            onPool.completeExceptionally(unreachable(description));
        }
    }

    /** A message that answers through the future it is given. */
    interface AnswerMessage {
        void handle(CompletableFuture<Object> answer) throws Throwable;
    }

    private RecipientUnreachableException unreachable(Object description) {
        return new RecipientUnreachableException("unknown", address, String.valueOf(description));
    }

    /** Running, or ending: Pekko's actor handles messages until {@code onStop} has completed. */
    private boolean handlesMessages() {
        return state == State.RUNNING || state == State.TERMINATING;
    }

    private void runAsMainThread(Message work) throws Throwable {
        asMainThread(
                () -> {
                    work.handle();
                    return null;
                });
    }

    private interface MainThreadWork<T> {
        T run() throws Throwable;
    }

    /**
     * Runs {@code work} marked as the endpoint's main thread, with its logging context and Flink's
     * class loader as the context class loader (whatever an earlier message left there).
     */
    private <T> T asMainThread(MainThreadWork<T> work) throws Throwable {
        Thread.currentThread().setContextClassLoader(InProcessRpcService.FLINK_CLASS_LOADER);
        mainThread.enterMainThread();
        try (MdcUtils.MdcCloseable ignored = MdcUtils.withContext(loggingContext)) {
            return work.run();
        } finally {
            mainThread.exitMainThread();
        }
    }

    /** False if the endpoint has ended and takes no more messages. */
    private boolean post(Runnable message) {
        try {
            thread.execute(message);
            return true;
        } catch (RejectedExecutionException e) {
            return false;
        }
    }
}
