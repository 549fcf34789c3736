package dev.telemetry.aggregator.bench;

import dev.telemetry.aggregator.testing.ImageJvm;
import dev.telemetry.aggregator.testing.ServiceProcess;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One contestant of a benchmark run as a child process with the container's JVM settings: the
 * packaged service (exactly-once or at-least-once) or the Kafka Streams twin. Each reads {@code
 * input} from the earliest offset, writes {@code output}, and commits its input offsets under
 * {@link #group()} (the service on checkpoints, Streams on commits).
 */
abstract class Engine implements AutoCloseable {
    /** What every contestant runs with: a shape's settings and its own topics. */
    record Setup(
            String bootstrap,
            String input,
            String output,
            long windowMillis,
            long outOfOrdernessMillis,
            long checkpointMillis,
            int parallelism,
            Path workDir,
            String maxHeap) {
        /** The same with {@code -Xmx<maxHeap>} instead. */
        Setup withMaxHeap(String heap) {
            return new Setup(
                    bootstrap,
                    input,
                    output,
                    windowMillis,
                    outOfOrdernessMillis,
                    checkpointMillis,
                    parallelism,
                    workDir,
                    heap);
        }
    }

    final Setup setup;
    final String name;

    /** Engines still running; killed if the benchmark's JVM exits early (Ctrl-C, failure). */
    private static final Set<Engine> LIVE = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime()
                .addShutdownHook(
                        new Thread(
                                () -> {
                                    for (Engine engine : LIVE) {
                                        try {
                                            engine.kill();
                                        } catch (InterruptedException e) {
                                            return;
                                        }
                                    }
                                }));
    }

    Engine(String name, Setup setup) {
        this.name = name;
        this.setup = setup;
        LIVE.add(this);
    }

    /**
     * How often every contestant's readiness is polled: the same for all, so neither is credited
     * with a coarser (later) or finer (earlier) reading of the same moment.
     */
    static final Duration READY_POLL = Duration.ofMillis(100);

    abstract void start();

    /**
     * Waits until the engine says it is processing (service: ready; Streams: RUNNING), polling
     * every {@link #READY_POLL}; throws {@link IllegalStateException} if it exits first or is not
     * ready within {@code timeout}.
     */
    abstract void awaitReady(Duration timeout) throws InterruptedException;

    /** SIGKILL; no shutdown hook runs. */
    abstract void kill() throws InterruptedException;

    abstract long pid();

    abstract String group();

    /** Resident memory of the process in MB, or -1 if it is gone. */
    long rssMegabytes() {
        try {
            for (String line :
                    Files.readAllLines(Paths.get("/proc", Long.toString(pid()), "status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024;
                }
            }
        } catch (IOException e) {
            // The process has exited between two samples.
        }
        return -1;
    }

    /** CPU time the process has used so far (all its threads), in seconds; NaN if it is gone. */
    double cpuSeconds() {
        return ProcessHandle.of(pid())
                .flatMap(process -> process.info().totalCpuDuration())
                .map(cpu -> cpu.toNanos() / 1e9)
                .orElse(Double.NaN);
    }

    @Override
    public void close() throws InterruptedException {
        kill();
        LIVE.remove(this);
    }

    /**
     * Profiling aid, {@code BENCH_JFR=true bash bench/run.sh ...}: every service run records a
     * flight recording, dumped into its work directory before the run is killed.
     */
    static final boolean PROFILE = Boolean.parseBoolean(System.getenv("BENCH_JFR"));

    /** The packaged service, {@code java -jar target/quarkus-app/quarkus-run.jar}. */
    static final class Service extends Engine {
        private final ServiceProcess process;
        private final String group;

        Service(Setup setup, boolean exactlyOnce) {
            this(setup, exactlyOnce, Map.of());
        }

        /** With {@code overrides} on top of the benchmark's environment. */
        Service(Setup setup, boolean exactlyOnce, Map<String, String> overrides) {
            this(
                    exactlyOnce ? "service EOS" : "service at-least-once",
                    setup,
                    exactlyOnce,
                    overrides);
        }

        /** Named: a variant of the service (e.g. with percentiles) among the contestants. */
        Service(String name, Setup setup, boolean exactlyOnce, Map<String, String> overrides) {
            super(name, setup);
            Map<String, String> environment =
                    ServiceProcess.environment(
                            setup.bootstrap(),
                            setup.input(),
                            setup.output(),
                            setup.output() + "-dlq",
                            setup.workDir().resolve("checkpoints"));
            environment.put("TELEMETRY_SOURCE_START", "earliest");
            environment.put("TELEMETRY_WINDOW_SIZE", setup.windowMillis() + "ms");
            environment.put(
                    "TELEMETRY_WATERMARK_MAX_OUT_OF_ORDERNESS",
                    setup.outOfOrdernessMillis() + "ms");
            environment.put("TELEMETRY_CHECKPOINT_INTERVAL", setup.checkpointMillis() + "ms");
            environment.put("TELEMETRY_PARALLELISM", Integer.toString(setup.parallelism()));
            environment.put("TELEMETRY_TOPICS_REPLICATION_FACTOR", "1");
            environment.put(
                    "TELEMETRY_DELIVERY_GUARANTEE", exactlyOnce ? "exactly-once" : "at-least-once");
            if (PROFILE) {
                // The image's options (which ServiceProcess gives otherwise), and the recording.
                List<String> jvmOptions = new ArrayList<>(ImageJvm.serviceOptions());
                jvmOptions.add("-XX:StartFlightRecording=name=bench,settings=profile");
                environment.put("JDK_JAVA_OPTIONS", String.join(" ", jvmOptions));
            }
            environment.putAll(overrides);
            group = environment.get("TELEMETRY_SOURCE_GROUP_ID");
            process = new ServiceProcess(environment, setup.workDir(), setup.maxHeap());
        }

        @Override
        void start() {
            process.start();
        }

        /**
         * {@code /q/health/ready} answers 200 (the job and all its tasks are running), polled at
         * {@link #READY_POLL} like the twin's, rather than the coarser default other tests use.
         */
        @Override
        void awaitReady(Duration timeout) throws InterruptedException {
            process.awaitReady(timeout, READY_POLL);
        }

        @Override
        void kill() throws InterruptedException {
            if (PROFILE && process.isAlive()) {
                dumpFlightRecording();
            }
            process.close();
        }

        /** Before the SIGKILL, which would lose the recording. */
        private void dumpFlightRecording() throws InterruptedException {
            Path jfr =
                    setup.workDir()
                            .toAbsolutePath()
                            .resolve(name.replace(' ', '-') + "-" + System.nanoTime() + ".jfr");
            try {
                Process dump =
                        new ProcessBuilder(
                                        Paths.get(System.getProperty("java.home"), "bin", "jcmd")
                                                .toString(),
                                        Long.toString(pid()),
                                        "JFR.dump",
                                        "name=bench",
                                        "filename=" + jfr)
                                .redirectErrorStream(true)
                                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                                .start();
                dump.waitFor(60, TimeUnit.SECONDS);
            } catch (IOException e) {
                throw new UncheckedIOException("jcmd JFR.dump failed", e);
            }
        }

        @Override
        long pid() {
            return process.pid();
        }

        @Override
        String group() {
            return group;
        }

        ServiceProcess process() {
            return process;
        }

        /** Quarkus' own "started in" figure of the latest start, in seconds, or NaN. */
        double startedInSeconds() {
            Matcher matcher = Pattern.compile("started in ([0-9.]+)s").matcher(process.lastLog());
            return matcher.find() ? Double.parseDouble(matcher.group(1)) : Double.NaN;
        }
    }

    /** {@link StreamsTwin} with {@code processing.guarantee=exactly_once_v2}. */
    static final class Twin extends Engine {
        private final String applicationId;
        private final List<Path> logs = new ArrayList<>();
        private Process process;

        Twin(Setup setup) {
            this("Kafka Streams EOS v2", setup);
        }

        /** Named: e.g. by its heap among several. */
        Twin(String name, Setup setup) {
            super(name, setup);
            this.applicationId = "streams-" + setup.input() + "-" + setup.output();
        }

        @Override
        void start() {
            try {
                Files.createDirectories(setup.workDir());
                Path log = setup.workDir().resolve("streams-" + (logs.size() + 1) + ".log");
                logs.add(log);
                List<String> command = new ArrayList<>();
                command.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
                command.addAll(ImageJvm.options(setup.maxHeap()));
                command.addAll(
                        List.of(
                                "-cp",
                                System.getProperty("java.class.path"),
                                StreamsTwin.class.getName(),
                                setup.bootstrap(),
                                setup.input(),
                                setup.output(),
                                applicationId,
                                Long.toString(setup.windowMillis()),
                                Long.toString(setup.outOfOrdernessMillis()),
                                Long.toString(setup.checkpointMillis()),
                                "exactly_once_v2",
                                setup.workDir().resolve("streams-state").toString(),
                                Integer.toString(setup.parallelism())));
                process =
                        new ProcessBuilder(command)
                                .redirectErrorStream(true)
                                .redirectOutput(log.toFile())
                                .start();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @Override
        void awaitReady(Duration timeout) throws InterruptedException {
            long deadline = System.nanoTime() + timeout.toNanos();
            Path log = logs.get(logs.size() - 1);
            while (System.nanoTime() < deadline) {
                if (!process.isAlive()) {
                    throw new IllegalStateException(
                            "the Kafka Streams twin exited; see " + log.toAbsolutePath());
                }
                try {
                    if (Files.readAllLines(log).contains("RUNNING")) {
                        return;
                    }
                } catch (IOException e) {
                    // Not written yet.
                }
                Thread.sleep(READY_POLL.toMillis());
            }
            throw new IllegalStateException("the Kafka Streams twin was not RUNNING in " + timeout);
        }

        @Override
        void kill() throws InterruptedException {
            if (process != null && process.isAlive()) {
                process.destroyForcibly();
                process.waitFor(30, TimeUnit.SECONDS);
            }
        }

        @Override
        long pid() {
            return process.pid();
        }

        @Override
        String group() {
            return applicationId;
        }
    }
}
