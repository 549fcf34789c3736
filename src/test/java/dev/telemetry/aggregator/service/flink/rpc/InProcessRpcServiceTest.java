package dev.telemetry.aggregator.service.flink.rpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RpcOptions;
import org.apache.flink.runtime.rpc.FencedRpcEndpoint;
import org.apache.flink.runtime.rpc.FencedRpcGateway;
import org.apache.flink.runtime.rpc.RpcEndpoint;
import org.apache.flink.runtime.rpc.RpcGateway;
import org.apache.flink.runtime.rpc.RpcService;
import org.apache.flink.runtime.rpc.RpcTimeout;
import org.apache.flink.runtime.rpc.exceptions.EndpointNotStartedException;
import org.apache.flink.runtime.rpc.exceptions.FencingTokenException;
import org.apache.flink.runtime.rpc.exceptions.HandshakeException;
import org.apache.flink.runtime.rpc.exceptions.RecipientUnreachableException;
import org.apache.flink.runtime.rpc.exceptions.RpcConnectionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The in-process RPC service keeps what Flink's runtime relies on from Pekko's: one message at a
 * time on the endpoint's main thread, in order; refusals before the start and after the end;
 * timeouts; fencing; {@code onStop} on the main thread before the end. The embedded cluster running
 * on it is {@code ReportingMiniClusterTest} and every integration test.
 */
class InProcessRpcServiceTest {
    private RpcService service;

    @BeforeEach
    void startService() throws Exception {
        Configuration configuration = new Configuration();
        configuration.set(RpcOptions.ASK_TIMEOUT_DURATION, Duration.ofSeconds(10));
        service = new InProcessRpcSystem().localServiceBuilder(configuration).createAndStart();
    }

    @AfterEach
    void stopService() throws Exception {
        service.closeAsync().get(10, TimeUnit.SECONDS);
    }

    interface CounterGateway extends RpcGateway {
        CompletableFuture<Integer> increment();

        CompletableFuture<String> neverAnswers(@RpcTimeout Duration timeout);

        CompletableFuture<Integer> fails();

        int count();

        void add(int delta);
    }

    interface OtherGateway extends RpcGateway {
        CompletableFuture<Void> other();
    }

    /** Counts without synchronisation: correct only if calls run one at a time on one thread. */
    static class Counter extends RpcEndpoint implements CounterGateway {
        private int count;
        private int inside;
        private int mostInside;
        final CompletableFuture<Thread> startedOn = new CompletableFuture<>();
        final CompletableFuture<Thread> stoppedOn = new CompletableFuture<>();
        final CompletableFuture<Void> stopDone = new CompletableFuture<>();

        /** When set, the end waits for {@link #stopDone}. */
        volatile boolean holdStop;

        Counter(RpcService service) {
            super(service, "counter-" + UUID.randomUUID());
        }

        @Override
        protected void onStart() {
            validateRunsInMainThread();
            startedOn.complete(Thread.currentThread());
        }

        @Override
        protected CompletableFuture<Void> onStop() {
            validateRunsInMainThread();
            stoppedOn.complete(Thread.currentThread());
            if (!holdStop) {
                stopDone.complete(null);
            }
            return stopDone;
        }

        @Override
        public CompletableFuture<Integer> increment() {
            validateRunsInMainThread();
            inside++;
            mostInside = Math.max(mostInside, inside);
            Thread.onSpinWait();
            count++;
            inside--;
            return CompletableFuture.completedFuture(count);
        }

        @Override
        public CompletableFuture<String> neverAnswers(Duration timeout) {
            return new CompletableFuture<>();
        }

        @Override
        public CompletableFuture<Integer> fails() {
            throw new IllegalStateException("refused");
        }

        @Override
        public int count() {
            return count;
        }

        @Override
        public void add(int delta) {
            validateRunsInMainThread();
            count += delta;
        }

        void later(Runnable runnable, long millis) {
            scheduleRunAsync(runnable, millis, TimeUnit.MILLISECONDS);
        }

        int mostInside() throws Exception {
            return callAsync(() -> mostInside, Duration.ofSeconds(10)).get();
        }
    }

    interface FencedGreeterGateway extends FencedRpcGateway<UUID> {
        CompletableFuture<String> greet(String name);
    }

    static class FencedGreeter extends FencedRpcEndpoint<UUID> implements FencedGreeterGateway {
        FencedGreeter(RpcService service, UUID token) {
            super(service, "greeter-" + UUID.randomUUID(), token);
        }

        @Override
        public CompletableFuture<String> greet(String name) {
            validateRunsInMainThread();
            return CompletableFuture.completedFuture("hello " + name);
        }
    }

    @Test
    void callsFromManyThreadsRunOneAtATimeOnTheEndpointsThread() throws Exception {
        Counter counter = new Counter(service);
        counter.start();
        CounterGateway gateway = service.connect(counter.getAddress(), CounterGateway.class).get();
        List<Thread> callers = new ArrayList<>();
        List<CompletableFuture<Integer>> answers = new ArrayList<>();
        CountDownLatch go = new CountDownLatch(1);
        for (int i = 0; i < 8; i++) {
            Thread caller =
                    new Thread(
                            () -> {
                                try {
                                    go.await();
                                } catch (InterruptedException e) {
                                    return;
                                }
                                for (int n = 0; n < 500; n++) {
                                    CompletableFuture<Integer> answer = gateway.increment();
                                    synchronized (answers) {
                                        answers.add(answer);
                                    }
                                    gateway.add(1);
                                }
                            });
            caller.start();
            callers.add(caller);
        }
        go.countDown();
        for (Thread caller : callers) {
            caller.join(30_000);
        }
        CompletableFuture.allOf(answers.toArray(CompletableFuture[]::new))
                .get(30, TimeUnit.SECONDS);
        assertThat(gateway.count()).as("a synchronous call answers too").isEqualTo(8_000);
        assertThat(counter.mostInside()).isEqualTo(1);
        assertThat(counter.startedOn.get().getName()).startsWith("flink-rpc-counter-");
        counter.closeAsync().get(10, TimeUnit.SECONDS);
    }

    @Test
    void answersArePassedOnAndFailuresToo() throws Exception {
        Counter counter = new Counter(service);
        counter.start();
        CounterGateway gateway = service.connect(counter.getAddress(), CounterGateway.class).get();
        assertThat(gateway.increment().get()).isEqualTo(1);
        assertThatThrownBy(() -> gateway.fails().get())
                .isInstanceOf(ExecutionException.class)
                .hasRootCauseInstanceOf(IllegalStateException.class)
                .hasRootCauseMessage("refused");
        assertThatThrownBy(() -> gateway.neverAnswers(Duration.ofMillis(200)).get())
                .isInstanceOf(ExecutionException.class)
                .hasCauseInstanceOf(TimeoutException.class);
    }

    @Test
    void callsBeforeTheStartAreRefused() throws Exception {
        Counter counter = new Counter(service);
        CounterGateway gateway = service.connect(counter.getAddress(), CounterGateway.class).get();
        assertThatThrownBy(() -> gateway.increment().get())
                .hasCauseInstanceOf(EndpointNotStartedException.class);
        counter.start();
        assertThat(gateway.increment().get()).isEqualTo(1);
    }

    @Test
    void theEndRunsOnStopOnTheMainThreadAndLaterCallsLearnTheEndpointIsGone() throws Exception {
        Counter counter = new Counter(service);
        counter.start();
        CounterGateway gateway = service.connect(counter.getAddress(), CounterGateway.class).get();
        counter.holdStop = true;
        CompletableFuture<Void> terminated = counter.closeAsync();
        assertThat(counter.stoppedOn.get(10, TimeUnit.SECONDS)).isSameAs(counter.startedOn.get());
        // While onStop's future is pending, the endpoint still handles messages.
        assertThat(gateway.increment().get(10, TimeUnit.SECONDS)).isEqualTo(1);
        assertThat(terminated).isNotDone();
        counter.stopDone.complete(null);
        terminated.get(10, TimeUnit.SECONDS);
        assertThatThrownBy(() -> gateway.increment().get(10, TimeUnit.SECONDS))
                .hasCauseInstanceOf(RecipientUnreachableException.class);
        assertThatThrownBy(() -> service.connect(counter.getAddress(), CounterGateway.class).get())
                .hasCauseInstanceOf(RpcConnectionException.class);
    }

    @Test
    void scheduledRunnablesRunOnTheMainThreadAfterTheirDelay() throws Exception {
        Counter counter = new Counter(service);
        counter.start();
        Thread mainThread = counter.startedOn.get();
        CompletableFuture<Long> ranAfter = new CompletableFuture<>();
        long scheduled = System.nanoTime();
        counter.later(
                () ->
                        ranAfter.complete(
                                Thread.currentThread() == mainThread
                                        ? TimeUnit.NANOSECONDS.toMillis(
                                                System.nanoTime() - scheduled)
                                        : -1),
                150);
        assertThat(ranAfter.get(10, TimeUnit.SECONDS)).isGreaterThanOrEqualTo(150);
    }

    @Test
    void connectingNeedsAnEndpointThereThatImplementsTheGateway() throws Exception {
        Counter counter = new Counter(service);
        counter.start();
        assertThatThrownBy(
                        () ->
                                service.connect("inprocess://nowhere/none", CounterGateway.class)
                                        .get())
                .hasCauseInstanceOf(RpcConnectionException.class);
        assertThatThrownBy(() -> service.connect(counter.getAddress(), OtherGateway.class).get())
                .hasCauseInstanceOf(HandshakeException.class);
    }

    @Test
    void aFencedEndpointAnswersOnlyCallsWithItsToken() throws Exception {
        UUID token = UUID.randomUUID();
        FencedGreeter greeter = new FencedGreeter(service, token);
        greeter.start();
        FencedGreeterGateway right =
                service.connect(greeter.getAddress(), token, FencedGreeterGateway.class).get();
        FencedGreeterGateway wrong =
                service.connect(greeter.getAddress(), UUID.randomUUID(), FencedGreeterGateway.class)
                        .get();
        assertThat(right.getFencingToken()).isEqualTo(token);
        assertThat(right.greet("you").get()).isEqualTo("hello you");
        assertThatThrownBy(() -> wrong.greet("you").get())
                .hasCauseInstanceOf(FencingTokenException.class);
    }

    @Test
    void closingTheServiceEndsEveryEndpoint() throws Exception {
        Counter first = new Counter(service);
        Counter second = new Counter(service);
        first.start();
        second.start();
        service.closeAsync().get(10, TimeUnit.SECONDS);
        assertThat(first.getTerminationFuture()).isCompleted();
        assertThat(second.getTerminationFuture()).isCompleted();
        assertThatThrownBy(() -> new Counter(service)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void aGatewayTellsAndAsksInTheOrderItWasCalled() throws Exception {
        Counter counter = new Counter(service);
        counter.start();
        CounterGateway gateway = service.connect(counter.getAddress(), CounterGateway.class).get();
        AtomicInteger expected = new AtomicInteger();
        for (int i = 0; i < 100; i++) {
            gateway.add(1);
            expected.incrementAndGet();
            assertThat(gateway.count()).isEqualTo(expected.get());
        }
    }
}
