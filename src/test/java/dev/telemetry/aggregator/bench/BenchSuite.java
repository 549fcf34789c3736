package dev.telemetry.aggregator.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.telemetry.aggregator.job.codec.AggregateSerializationSchema;
import dev.telemetry.aggregator.job.records.TelemetryAccumulator;
import dev.telemetry.aggregator.job.records.TelemetryAggregate;
import dev.telemetry.aggregator.loadgen.TelemetryLoad;
import dev.telemetry.aggregator.testing.ImageJvm;
import dev.telemetry.aggregator.testing.KafkaTestClient;
import dev.telemetry.aggregator.testing.SharedKafkaBroker;
import dev.telemetry.aggregator.testing.TelemetryFixtures;
import dev.telemetry.aggregator.testing.TelemetryFixtures.Aggregate;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;
import java.util.function.ToDoubleFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The benchmark suite ({@code bash bench/run.sh}): throughput, latency, recovery, footprint and key
 * scale of the packaged service, each beside its comparison in the same run on the same broker
 * (Kafka's perf tools, the {@link StreamsTwin}, our at-least-once mode), so ratios can be read on a
 * shared, noisy machine. Writes {@code <results>/<scenario>.json}; {@link BenchReport} then writes
 * the Markdown table and plots.
 *
 * <p>Arguments: {@code [--scenario throughput|latency|recovery|footprint|keyscale]... [--events N]
 * [--rounds N] [--shape high-cardinality|typical|rollups|groupings]... [--latency-seconds S]
 * [--keys K,K,...] [--keyscale-events N] [--keyscale-backends B,B] [--recovery-seconds S]
 * [--footprint-load-seconds S] [--starts N] [--heaps H,H,...] [--parallelism P,P,...] [--results
 * DIR]}. {@code --starts}: how many kill -9 and relaunch cycles (recovery) and fresh launches
 * (footprint) each contestant gets, default 5; those scenarios report the median and the spread
 * (min, max) of each figure. {@code --heaps}: the {@code -Xmx} sizes the throughput scenario runs
 * the service EOS and the twin at (default the container's 384m), each then credited with its best.
 * {@code --parallelism}: the service's parallelism and the twin's stream threads in the recovery
 * and footprint scenarios (default 1, both products' default, and the machine's cores, as the other
 * scenarios run them), each contestant then credited with its best.
 */
public final class BenchSuite {
    static final int PARTITIONS = 4;
    static final List<String> SCENARIOS =
            List.of("throughput", "latency", "recovery", "footprint", "keyscale");
    private static final long BACKLOG_START = 1_763_683_200_000L;
    private static final Duration READY_TIMEOUT = Duration.ofMinutes(3);

    /**
     * The longest a recovery cycle or a footprint launch waits for each of its phases (ready,
     * processing again, caught up); past it the phase is recorded as not reached and the run goes
     * on.
     */
    static final Duration PHASE_TIMEOUT = Duration.ofMinutes(2);

    /** How a figure that a run never reached within its phase timeout is written. */
    static final String NOT_REACHED = "not reached";

    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * A data shape: {@code stepMillis} of event time between two events of one (device, metric);
     * {@code tagged}: events carry a region and a service tag ({@link TelemetryLoad#tagged}).
     */
    record Shape(
            String name,
            int devices,
            int metrics,
            long stepMillis,
            long outOfOrdernessMillis,
            long windowMillis,
            long checkpointMillis,
            boolean tagged) {
        TelemetryLoad load() {
            return new TelemetryLoad(
                    devices,
                    TelemetryLoad.metricNames(metrics),
                    stepMillis,
                    outOfOrdernessMillis,
                    0,
                    BACKLOG_START,
                    7,
                    tagged);
        }

        long keys() {
            return (long) devices * metrics;
        }

        Map<String, Object> describe() {
            Map<String, Object> d = new LinkedHashMap<>();
            d.put("devices", devices);
            d.put("metricsPerDevice", metrics);
            d.put("keys", keys());
            d.put("eventTimeStepPerKeyMs", stepMillis);
            d.put("outOfOrdernessMs", outOfOrdernessMillis);
            d.put("windowMs", windowMillis);
            d.put("checkpointIntervalMs", checkpointMillis);
            d.put("tagged", tagged);
            return d;
        }
    }

    /** 1000 devices x 5 metrics, 1 s windows, 4 events per window and key. */
    static final Shape HIGH_CARDINALITY =
            new Shape("high-cardinality", 1000, 5, 250, 500, 1000, 1000, false);

    /** 10 k devices x 3 metrics, one event per second each, 1 min windows. */
    static final Shape TYPICAL = new Shape("typical", 10_000, 3, 1000, 5000, 60_000, 1000, false);

    /**
     * The high-cardinality shape, whose fourth throughput contestant adds percentiles (p50, p90,
     * p99) and two rollup levels (10 s and 1 min) to the service ({@link #withRollups}).
     */
    static final Shape ROLLUPS = new Shape("rollups", 1000, 5, 250, 500, 1000, 1000, false);

    /**
     * The high-cardinality shape with tagged events (4 regions, 25 services), whose fourth
     * throughput contestant adds three groupings to the service ({@link #withGroupings}).
     */
    static final Shape GROUPINGS = new Shape("groupings", 1000, 5, 250, 500, 1000, 1000, true);

    static final List<Shape> SHAPES = List.of(HIGH_CARDINALITY, TYPICAL, ROLLUPS, GROUPINGS);

    record Options(
            List<String> scenarios,
            long events,
            int rounds,
            List<Shape> shapes,
            int latencySeconds,
            List<Long> keyScales,
            long keyScaleEvents,
            List<String> keyScaleBackends,
            int recoverySeconds,
            int footprintLoadSeconds,
            int starts,
            List<String> heaps,
            List<Integer> parallelisms,
            Path results,
            Path workDir) {
        static Options parse(String... args) {
            List<String> scenarios = new ArrayList<>();
            List<Shape> shapes = new ArrayList<>();
            long events = 5_000_000;
            int rounds = 2;
            int latencySeconds = 60;
            List<Long> keys = List.of(10_000L, 100_000L, 1_000_000L);
            long keyEvents = 3_000_000;
            List<String> backends = List.of("hashmap", "rocksdb");
            int recoverySeconds = 20;
            int footprintLoadSeconds = 30;
            int starts = 5;
            List<String> heaps = List.of(ImageJvm.CONTAINER_HEAP);
            List<Integer> parallelisms =
                    List.of(1, Runtime.getRuntime().availableProcessors()).stream()
                            .distinct()
                            .toList();
            Path results = Paths.get("bench", "results");
            for (int a = 0; a < args.length; a++) {
                String value = a + 1 < args.length ? args[a + 1] : "";
                switch (args[a]) {
                    case "--scenario" -> scenarios.add(value);
                    case "--events" -> events = Long.parseLong(value);
                    case "--rounds" -> rounds = Integer.parseInt(value);
                    case "--shape" ->
                            shapes.add(
                                    SHAPES.stream()
                                            .filter(shape -> shape.name().equals(value))
                                            .findFirst()
                                            .orElseThrow(
                                                    () ->
                                                            new IllegalArgumentException(
                                                                    "unknown shape "
                                                                            + value
                                                                            + "; one of "
                                                                            + SHAPES.stream()
                                                                                    .map(
                                                                                            Shape
                                                                                                    ::name)
                                                                                    .toList())));
                    case "--latency-seconds" -> latencySeconds = Integer.parseInt(value);
                    case "--keys" ->
                            keys = Arrays.stream(value.split(",")).map(Long::parseLong).toList();
                    case "--keyscale-events" -> keyEvents = Long.parseLong(value);
                    case "--keyscale-backends" -> backends = List.of(value.split(","));
                    case "--recovery-seconds" -> recoverySeconds = Integer.parseInt(value);
                    case "--footprint-load-seconds" ->
                            footprintLoadSeconds = Integer.parseInt(value);
                    case "--starts" -> starts = Integer.parseInt(value);
                    case "--heaps" -> heaps = List.of(value.split(","));
                    case "--parallelism" ->
                            parallelisms =
                                    Arrays.stream(value.split(","))
                                            .map(Integer::parseInt)
                                            .distinct()
                                            .toList();
                    case "--results" -> results = Paths.get(value);
                    default ->
                            throw new IllegalArgumentException(
                                    "unknown argument " + args[a] + "; see BenchSuite's Javadoc");
                }
                a++;
            }
            if (starts < 1) {
                throw new IllegalArgumentException("--starts must be at least 1, not " + starts);
            }
            if (parallelisms.isEmpty() || parallelisms.stream().anyMatch(p -> p < 1)) {
                throw new IllegalArgumentException(
                        "--parallelism takes one or more counts of at least 1, not "
                                + parallelisms);
            }
            for (String heap : heaps) {
                if (!heap.matches("[1-9][0-9]*[mg]")) {
                    throw new IllegalArgumentException(
                            "--heaps takes -Xmx sizes such as 256m,1g, not " + heap);
                }
            }
            scenarios.removeIf(s -> s.equals("all"));
            for (String scenario : scenarios) {
                if (!SCENARIOS.contains(scenario)) {
                    throw new IllegalArgumentException(
                            "unknown scenario " + scenario + "; one of " + SCENARIOS);
                }
            }
            return new Options(
                    scenarios.isEmpty() ? SCENARIOS : scenarios,
                    events,
                    rounds,
                    shapes.isEmpty() ? SHAPES : shapes,
                    latencySeconds,
                    keys,
                    keyEvents,
                    backends,
                    recoverySeconds,
                    footprintLoadSeconds,
                    starts,
                    heaps,
                    parallelisms,
                    results,
                    Paths.get("target", "bench-work"));
        }
    }

    private final Options options;
    private final KafkaTestClient kafka;
    private final Map<String, Double> capacity = new LinkedHashMap<>();

    private BenchSuite(Options options, KafkaTestClient kafka) {
        this.options = options;
        this.kafka = kafka;
    }

    public static void main(String[] args) throws Exception {
        run(Options.parse(args));
        System.exit(0);
    }

    static void run(Options options) throws Exception {
        Files.createDirectories(options.results());
        Files.createDirectories(options.workDir());
        try (KafkaTestClient kafka = new KafkaTestClient(SharedKafkaBroker.bootstrapServers())) {
            BenchSuite suite = new BenchSuite(options, kafka);
            for (String scenario : options.scenarios()) {
                suite.runScenario(scenario);
            }
        }
        BenchReport.write(options.results());
    }

    private void runScenario(String scenario) throws Exception {
        log("=== " + scenario);
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("scenario", scenario);
        result.put("machine", machine());
        List<Map<String, Object>> rows = new ArrayList<>();
        switch (scenario) {
            case "throughput" -> {
                for (Shape shape : options.shapes()) {
                    rows.add(throughput(shape));
                }
            }
            case "latency" -> {
                // The rollups and groupings shapes differ from high-cardinality only in a
                // throughput contestant (and the tags).
                for (Shape shape : options.shapes()) {
                    if (shape != ROLLUPS && shape != GROUPINGS) {
                        rows.add(latency(shape));
                    }
                }
            }
            case "recovery" -> rows.add(recovery(HIGH_CARDINALITY));
            case "footprint" -> rows.add(footprint(HIGH_CARDINALITY));
            default -> rows.addAll(keyScale());
        }
        result.put("rows", rows);
        result.put("loadAverageAfter", loadAverage());
        JSON.writerWithDefaultPrettyPrinter()
                .writeValue(options.results().resolve(scenario + ".json").toFile(), result);
        log("wrote " + options.results().resolve(scenario + ".json"));
    }

    // ---------------------------------------------------------------- throughput

    private Map<String, Object> throughput(Shape shape) throws Exception {
        TelemetryLoad load = shape.load();
        String input = produceBacklog(load, options.events());
        long inputRecords = kafka.endOffsetSum(input);
        long aggregates = load.backlogAggregates(options.events(), shape.windowMillis());
        int aggregateBytes = sampleAggregateBytes();
        log(
                String.format(
                        "%s: %,d input records, %,d aggregates expected",
                        shape.name(), inputRecords, aggregates));

        // Contestants take turns, in reverse order every other round (EOS, Streams, ALO, EOS with
        // percentiles, then backwards; with --heaps, EOS and Streams at each heap first), and each
        // is credited with its fastest run: whoever goes first pays for a cold broker and page
        // cache, which cost the first run up to a quarter of its rate. The floor is measured every
        // round and credited with its fastest runs too: one short ConsumerPerformance run read the
        // same backlog at anything from 0.83 to 1.74 M records/s.
        List<Double> consumerRates = new ArrayList<>();
        List<Double> producerRates = new ArrayList<>();
        Map<Contestant, List<Run>> runs = new LinkedHashMap<>();
        for (Contestant contestant : contestants(shape)) {
            runs.put(contestant, new ArrayList<>());
        }
        List<Contestant> order = new ArrayList<>(runs.keySet());
        for (int round = 0; round < options.rounds(); round++) {
            consumerRates.add(consumerPerformance(input, inputRecords));
            String perfOutput = KafkaTestClient.uniqueTopic("bench-producer-perf");
            kafka.createTopic(perfOutput, PARTITIONS);
            producerRates.add(
                    producerPerformance(
                            perfOutput, aggregates, aggregateBytes, shape.checkpointMillis()));
            for (int turn = 0; turn < order.size(); turn++) {
                Contestant contestant = order.get(round % 2 == 0 ? turn : order.size() - 1 - turn);
                runs.get(contestant).add(timeToCommitted(shape, input, aggregates, contestant));
            }
        }
        double consumerRate = Collections.max(consumerRates);
        double producerRate = Collections.max(producerRates);
        double floorSeconds = inputRecords / consumerRate + aggregates / producerRate;
        // Against the twin, each at its best heap: every run of every heap counts.
        List<Run> eosRuns = runsOf(runs, Kind.EOS, null);
        List<Run> twinRuns = runsOf(runs, Kind.TWIN, null);
        Run eos = fastest(eosRuns, inputRecords);
        Run twin = fastest(twinRuns, inputRecords);
        // From launch, start-up included: each contestant's own fastest run by that clock, which
        // need not be the one fastest from ready.
        Run eosFromLaunch = fastestFromLaunch(eosRuns, inputRecords);
        Run twinFromLaunch = fastestFromLaunch(twinRuns, inputRecords);
        double fromLaunchRatio =
                eosFromLaunch.eventsPerSecondFromLaunch(inputRecords)
                        / twinFromLaunch.eventsPerSecondFromLaunch(inputRecords);
        double fromReadyRatio =
                eos.eventsPerSecond(inputRecords) / twin.eventsPerSecond(inputRecords);
        // The service's other modes against its EOS at the same (the container's) heap.
        Run eosAtContainerHeap =
                fastest(runsOf(runs, Kind.EOS, ImageJvm.CONTAINER_HEAP), inputRecords);
        Run alo = fastest(runsOf(runs, Kind.AT_LEAST_ONCE, null), inputRecords);
        Run percentiles = fastest(runsOf(runs, Kind.VARIANT, null), inputRecords);
        double percentilesRatio =
                percentiles.eventsPerSecond(inputRecords)
                        / eosAtContainerHeap.eventsPerSecond(inputRecords);
        ToDoubleFunction<Run> launchRate = run -> run.eventsPerSecondFromLaunch(inputRecords);
        ToDoubleFunction<Run> readyRate = run -> run.eventsPerSecond(inputRecords);
        capacity.put(shape.name(), capacityOf(eosAtContainerHeap, inputRecords));

        int cores = Runtime.getRuntime().availableProcessors();
        Map<String, Object> row = row(shape);
        row.put("capacityEventsPerSecond", capacityOf(eosAtContainerHeap, inputRecords));
        row.put("heaps (service EOS and Kafka Streams EOS v2 at each)", options.heaps());
        Map<String, Object> ratios = ratios(row);
        ratios.put(FROM_LAUNCH_RATIO, fromLaunchRatio);
        ratios.put(FROM_READY_RATIO, fromReadyRatio);
        ratios.put(
                "service EOS / Kafka Streams EOS v2, from launch (start-up included), medians of"
                        + " the runs (each at the heap with the best median)",
                bestMedian(runs, Kind.EOS, launchRate) / bestMedian(runs, Kind.TWIN, launchRate));
        ratios.put(
                "service EOS / Kafka Streams EOS v2, from ready, medians of the runs (each at the"
                        + " heap with the best median)",
                bestMedian(runs, Kind.EOS, readyRate) / bestMedian(runs, Kind.TWIN, readyRate));
        log(
                String.format(
                        "%s: service EOS / Kafka Streams EOS v2 = %.2f from launch, %.2f from"
                                + " ready",
                        shape.name(), fromLaunchRatio, fromReadyRatio));
        ratios.put(
                "service EOS / I/O floor",
                eos.eventsPerSecond(inputRecords) * floorSeconds / inputRecords);
        ratios.put(
                "service EOS / service at-least-once",
                eosAtContainerHeap.eventsPerSecond(inputRecords)
                        / alo.eventsPerSecond(inputRecords));
        ratios.put(percentiles.name() + " / service EOS", percentilesRatio);
        log(
                String.format(
                        "%s: %s / service EOS = %.2f",
                        shape.name(), percentiles.name(), percentilesRatio));
        ratios.put(
                "service EOS / ConsumerPerformance",
                eos.eventsPerSecond(inputRecords) / consumerRate);
        ratios.put(
                "Kafka Streams EOS v2 / ConsumerPerformance",
                twin.eventsPerSecond(inputRecords) / consumerRate);
        List<Map<String, Object>> targets = targets(row);
        targets.add(
                target(
                        "EOS launch to last committed aggregate >= 2x Kafka Streams EOS v2"
                                + " (start-up included)",
                        fromLaunchRatio,
                        ">= 2",
                        fromLaunchRatio >= 2));
        targets.add(
                target(
                        "EOS throughput from ready >= 2x Kafka Streams EOS v2",
                        fromReadyRatio,
                        ">= 2",
                        fromReadyRatio >= 2));
        targets.add(
                target(
                        "EOS throughput >= 0.5 of the I/O floor",
                        ratios.get("service EOS / I/O floor"),
                        ">= 0.5",
                        (double) ratios.get("service EOS / I/O floor") >= 0.5));
        if (shape == ROLLUPS) {
            targets.add(
                    target(
                            "percentiles and two rollup levels >= 0.7x service EOS",
                            percentilesRatio,
                            ">= 0.7",
                            percentilesRatio >= 0.7));
        }
        targets.add(
                target(
                        "EOS >= 0.9x at-least-once",
                        ratios.get("service EOS / service at-least-once"),
                        ">= 0.9",
                        (double) ratios.get("service EOS / service at-least-once") >= 0.9));
        Map<String, Object> absolute = absolute(row);
        absolute.put("input events", inputRecords);
        absolute.put("aggregates", aggregates);
        absolute.put("aggregate record bytes", aggregateBytes);
        absolute.put("ConsumerPerformance records/s (fastest run)", consumerRate);
        absolute.put(
                "ConsumerPerformance records/s of each run, in order",
                consumerRates.stream().map(Math::round).toList());
        absolute.put(
                "ProducerPerformance (transactional, aggregates) records/s (fastest run)",
                producerRate);
        absolute.put(
                "ProducerPerformance records/s of each run, in order",
                producerRates.stream().map(Math::round).toList());
        absolute.put(
                "I/O floor events/s (read input + write aggregates)", inputRecords / floorSeconds);
        absolute.put("service EOS: its fastest run from launch", eosFromLaunch.name());
        absolute.put("Kafka Streams EOS v2: its fastest run from launch", twinFromLaunch.name());
        for (List<Run> contestantRuns : runs.values()) {
            Run run = fastest(contestantRuns, inputRecords);
            Run fromLaunch = fastestFromLaunch(contestantRuns, inputRecords);
            absolute.put(
                    run.name() + " events/s (after ready, fastest run)",
                    run.eventsPerSecond(inputRecords));
            absolute.put(
                    run.name() + " events/s from launch, start-up included (fastest run)",
                    fromLaunch.eventsPerSecondFromLaunch(inputRecords));
            absolute.put(
                    run.name() + " events/s after ready, each run in order",
                    Spread.of(contestantRuns, each -> each.eventsPerSecond(inputRecords)).json());
            absolute.put(
                    run.name() + " events/s from launch, each run in order",
                    Spread.of(contestantRuns, each -> each.eventsPerSecondFromLaunch(inputRecords))
                            .json());
            absolute.put(
                    run.name() + " events/s per core", run.eventsPerSecond(inputRecords) / cores);
            absolute.put(
                    run.name() + " s from launch to ready",
                    Spread.of(contestantRuns, Run::readySeconds).json());
            absolute.put(
                    run.name() + " s from launch to last aggregate committed",
                    Spread.of(contestantRuns, Run::doneSeconds).json());
            absolute.put(run.name() + " max RSS MB", run.maxRssMegabytes());
            absolute.put(run.name() + " aggregates seen", run.outputRecords());
        }
        row.put("parallelism (service) = stream threads (Kafka Streams) = cores", cores);
        return row;
    }

    /** What a throughput contestant runs. */
    enum Kind {
        EOS,
        TWIN,
        AT_LEAST_ONCE,
        /** The service EOS with the shape's extra: percentiles, rollups or groupings. */
        VARIANT
    }

    /** A throughput contestant: which engine, with which heap, under which name. */
    record Contestant(Kind kind, String heap, String name) {}

    /**
     * The service EOS and the twin at each of {@code --heaps} (named by their heap when there are
     * several), then at-least-once and the shape's variant at the container's heap.
     */
    private List<Contestant> contestants(Shape shape) {
        List<Contestant> contestants = new ArrayList<>();
        boolean sweep = options.heaps().size() > 1;
        for (String heap : options.heaps()) {
            String suffix = sweep ? " -Xmx" + heap : "";
            contestants.add(new Contestant(Kind.EOS, heap, SERVICE + suffix));
            contestants.add(new Contestant(Kind.TWIN, heap, TWIN + suffix));
        }
        contestants.add(
                new Contestant(
                        Kind.AT_LEAST_ONCE, ImageJvm.CONTAINER_HEAP, "service at-least-once"));
        contestants.add(
                new Contestant(
                        Kind.VARIANT,
                        ImageJvm.CONTAINER_HEAP,
                        shape == GROUPINGS
                                ? "service EOS with three groupings"
                                : shape == ROLLUPS
                                        ? "service EOS with percentiles and rollups"
                                        : "service EOS with percentiles"));
        return contestants;
    }

    /** The runs of every contestant of {@code kind}, at {@code heap} only unless it is null. */
    static List<Run> runsOf(Map<Contestant, List<Run>> runs, Kind kind, String heap) {
        List<Run> of = new ArrayList<>();
        runs.forEach(
                (contestant, its) -> {
                    if (contestant.kind() == kind
                            && (heap == null || heap.equals(contestant.heap()))) {
                        of.addAll(its);
                    }
                });
        if (of.isEmpty()) {
            // No run at the container's heap (--heaps without it): every heap's.
            return heap == null ? of : runsOf(runs, kind, null);
        }
        return of;
    }

    /** The best median of {@code figure} among the heaps {@code kind} ran at. */
    static double bestMedian(
            Map<Contestant, List<Run>> runs, Kind kind, ToDoubleFunction<Run> figure) {
        return runs.entrySet().stream()
                .filter(entry -> entry.getKey().kind() == kind)
                .mapToDouble(entry -> median(entry.getValue(), figure))
                .max()
                .orElse(Double.NaN);
    }

    static final String FROM_LAUNCH_RATIO =
            "service EOS / Kafka Streams EOS v2, from launch (start-up included), fastest runs";
    static final String FROM_READY_RATIO =
            "service EOS / Kafka Streams EOS v2, from ready, fastest runs";

    /** The run with the highest rate from ready, preferring runs that committed every aggregate. */
    static Run fastest(List<Run> runs, long events) {
        return runs.stream()
                .max(
                        Comparator.comparing(Run::finished)
                                .thenComparingDouble(run -> run.eventsPerSecond(events)))
                .orElseThrow();
    }

    /**
     * The run with the highest rate from launch (start-up included), preferring runs that committed
     * every aggregate.
     */
    static Run fastestFromLaunch(List<Run> runs, long events) {
        return runs.stream()
                .max(
                        Comparator.comparing(Run::finished)
                                .thenComparingDouble(run -> run.eventsPerSecondFromLaunch(events)))
                .orElseThrow();
    }

    private static double median(List<Run> runs, ToDoubleFunction<Run> figure) {
        return Spread.of(runs, figure).median();
    }

    /**
     * A contestant's run over a backlog: seconds from launch to ready, and from launch to the last
     * aggregate committed (seen by a read_committed consumer).
     */
    record Run(
            String name,
            double readySeconds,
            double doneSeconds,
            long maxRssMegabytes,
            long outputRecords,
            boolean finished) {
        /** Events per second from ready to the last aggregate committed. */
        double eventsPerSecond(long events) {
            return events / (doneSeconds - readySeconds);
        }

        /** Events per second from launch to the last aggregate committed: start-up included. */
        double eventsPerSecondFromLaunch(long events) {
            return events / doneSeconds;
        }
    }

    /**
     * The median and spread of one figure over repeated runs. A run that never reached the figure
     * (NaN) counts as slower than any that did: it sorts last, so the median is "not reached" once
     * half the runs or more did not reach it, and so is the maximum once any did not.
     */
    record Spread(double median, double min, double max, double[] each) {
        static Spread of(double... values) {
            if (values.length == 0) {
                return new Spread(Double.NaN, Double.NaN, Double.NaN, values);
            }
            double[] sorted =
                    Arrays.stream(values)
                            .map(v -> Double.isNaN(v) ? Double.POSITIVE_INFINITY : v)
                            .sorted()
                            .toArray();
            int n = sorted.length;
            double median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
            return new Spread(
                    reached(median), reached(sorted[0]), reached(sorted[n - 1]), values.clone());
        }

        static <T> Spread of(List<T> runs, ToDoubleFunction<T> figure) {
            return of(runs.stream().mapToDouble(figure).toArray());
        }

        private static double reached(double value) {
            return Double.isInfinite(value) ? Double.NaN : value;
        }

        /** {@code median}, {@code min}, {@code max}, {@code each run} (in order), for the JSON. */
        Map<String, Object> json() {
            Map<String, Object> json = new LinkedHashMap<>();
            json.put("median", figure(median));
            json.put("min", figure(min));
            json.put("max", figure(max));
            json.put("each run", Arrays.stream(each).mapToObj(Spread::figure).toList());
            return json;
        }

        static Object figure(double value) {
            return Double.isNaN(value) ? NOT_REACHED : value;
        }
    }

    /**
     * Half of it is the load of the latency, recovery and footprint scenarios. From ready, unless
     * the run was too short to time that way: a tiny backlog can be done about when the service
     * reports ready, and then events over a near-zero (or negative) interval is no rate at all.
     * From launch is never faster than the engine really is.
     */
    static double capacityOf(Run run, long events) {
        double fromReady = run.doneSeconds() - run.readySeconds();
        return events / (fromReady >= 1 ? fromReady : run.doneSeconds());
    }

    /** What the percentiles contestant adds to the service's environment. */
    static final Map<String, String> PERCENTILES = Map.of("TELEMETRY_PERCENTILES", "0.5,0.9,0.99");

    /**
     * What the groupings shape's fourth contestant adds: three more outputs, by metric and region,
     * by metric and service, by metric.
     */
    static Map<String, String> withGroupings(String output) {
        return Map.of(
                "TELEMETRY_GROUPINGS",
                "metric,tags.region="
                        + output
                        + "-by-region;metric,tags.service="
                        + output
                        + "-by-service;metric="
                        + output
                        + "-by-metric");
    }

    /** What the rollups shape's fourth contestant adds: percentiles, 10 s and 1 min levels. */
    static Map<String, String> withRollups(String output) {
        Map<String, String> environment = new HashMap<>(PERCENTILES);
        environment.put("TELEMETRY_ROLLUPS", "10s=" + output + "-10s,1m=" + output + "-1m");
        return environment;
    }

    private Run timeToCommitted(Shape shape, String input, long aggregates, Contestant contestant)
            throws Exception {
        String output = KafkaTestClient.uniqueTopic("bench-out");
        kafka.createTopic(output, PARTITIONS);
        Engine.Setup setup = setup(shape, input, output).withMaxHeap(contestant.heap());
        AtomicLong seen = new AtomicLong();
        // When the reader saw the last expected aggregate: closer than the polling loop below.
        AtomicLong lastSeenAt = new AtomicLong();
        try (OutputReader reader =
                        new OutputReader(
                                output,
                                (record, millis) -> {
                                    if (seen.incrementAndGet() == aggregates) {
                                        lastSeenAt.set(System.nanoTime());
                                    }
                                });
                Engine engine =
                        switch (contestant.kind()) {
                            case TWIN -> new Engine.Twin(contestant.name(), setup);
                            case EOS ->
                                    new Engine.Service(contestant.name(), setup, true, Map.of());
                            case AT_LEAST_ONCE ->
                                    new Engine.Service(contestant.name(), setup, false, Map.of());
                            case VARIANT ->
                                    new Engine.Service(
                                            contestant.name(),
                                            setup,
                                            true,
                                            shape == GROUPINGS
                                                    ? withGroupings(output)
                                                    : shape == ROLLUPS
                                                            ? withRollups(output)
                                                            : PERCENTILES);
                        }) {
            log("running " + engine.name + " over the backlog");
            long launched = System.nanoTime();
            engine.start();
            engine.awaitReady(READY_TIMEOUT);
            double ready = seconds(System.nanoTime() - launched);
            long maxRss = 0;
            long deadline = System.nanoTime() + Duration.ofMinutes(20).toNanos();
            while (lastSeenAt.get() == 0 && System.nanoTime() < deadline) {
                maxRss = Math.max(maxRss, engine.rssMegabytes());
                Thread.sleep(200);
            }
            boolean finished = lastSeenAt.get() != 0;
            double done = seconds((finished ? lastSeenAt.get() : System.nanoTime()) - launched);
            Thread.sleep(Math.min(2_000, shape.checkpointMillis() * 2));
            log(
                    String.format(
                            "%s: ready %.1f s, all committed %.1f s (%s), %,d aggregates",
                            engine.name, ready, done, finished ? "done" : "TIMED OUT", seen.get()));
            return new Run(engine.name, ready, done, maxRss, seen.get(), finished);
        }
    }

    // ---------------------------------------------------------------- latency

    private Map<String, Object> latency(Shape shape) throws Exception {
        double rate = 0.5 * capacity(shape);
        Map<String, Object> row = row(shape);
        long floorMillis =
                shape.windowMillis() + shape.outOfOrdernessMillis() + shape.checkpointMillis();
        row.put("rateEventsPerSecond", rate);
        row.put("floorMs", floorMillis);
        Map<String, Object> cdfs = new LinkedHashMap<>();
        row.put("cdfMs", cdfs);
        Map<String, Object> ratios = ratios(row);
        Map<String, Object> absolute = absolute(row);
        Map<String, long[]> percentiles = new LinkedHashMap<>();
        for (boolean twin : List.of(false, true)) {
            long[] latencies = latencies(shape, rate, twin);
            String name = twin ? TWIN : SERVICE;
            long[] cdf = new long[101];
            for (int p = 0; p <= 100; p++) {
                cdf[p] =
                        latencies.length == 0
                                ? -1
                                : latencies[
                                        (int)
                                                Math.min(
                                                        latencies.length - 1,
                                                        (long) p * latencies.length / 100)];
            }
            percentiles.put(name, cdf);
            cdfs.put(name, cdf);
            absolute.put(name + " p50 ms", cdf[50]);
            absolute.put(
                    name + " p99 ms",
                    latencies.length == 0 ? -1 : latencies[(int) (latencies.length * 0.99)]);
            absolute.put(name + " max ms", cdf[100]);
            absolute.put(name + " events measured", latencies.length);
            absolute.put(
                    name
                            + " events not visible in time (counted at the deadline; then a lower"
                            + " bound)",
                    notVisible.get(twin));
        }
        absolute.put("floor ms (window + out-of-orderness + checkpoint interval)", floorMillis);
        long p99 = (long) absolute.get("service EOS p99 ms");
        ratios.put("service EOS p99 / floor", (double) p99 / floorMillis);
        ratios.put(
                "service EOS p99 / Kafka Streams EOS v2 p99",
                (double) p99 / (long) absolute.get("Kafka Streams EOS v2 p99 ms"));
        targets(row)
                .add(
                        target(
                                "p99 latency within 1 s of the floor",
                                p99 - floorMillis + " ms over the floor",
                                "<= 1000 ms",
                                p99 >= 0 && p99 <= floorMillis + 1000));
        return row;
    }

    private record WindowKey(int key, long windowStart) {}

    /** Per contestant (twin or not) of the latest latency run: events never seen visible. */
    private final Map<Boolean, Integer> notVisible = new LinkedHashMap<>();

    /**
     * Sorted latencies (ms) from each event's append to its window's aggregate being visible to a
     * read_committed consumer, for the events appended during the measured period; the feed goes on
     * afterwards until their windows close.
     */
    private long[] latencies(Shape shape, double rate, boolean twin) throws Exception {
        String input = KafkaTestClient.uniqueTopic("bench-latency");
        String output = KafkaTestClient.uniqueTopic("bench-latency-out");
        kafka.createTopic(input, PARTITIONS);
        kafka.createTopic(output, PARTITIONS);
        TelemetryLoad load = shape.load();
        long measureMillis = options.latencySeconds() * 1000L;
        // Not measured: the first events, while the engine warms up (JIT, first checkpoints).
        long warmUpMillis = Math.min(15_000, measureMillis / 2);
        long tailMillis =
                shape.windowMillis()
                        + shape.outOfOrdernessMillis()
                        + shape.checkpointMillis()
                        + 5_000;
        int maxEvents =
                (int)
                        Math.min(
                                50_000_000,
                                rate * (warmUpMillis + measureMillis + tailMillis) / 1000 + 10_000);
        long[] appended = new long[maxEvents];
        long[] windowStart = new long[maxEvents];
        Map<WindowKey, Long> visible = new ConcurrentHashMap<>();
        int metrics = shape.metrics();
        BiConsumer<ConsumerRecord<byte[], byte[]>, Long> onAggregate =
                (record, millis) -> {
                    Aggregate a = TelemetryFixtures.parseAggregate(record);
                    int key =
                            Integer.parseInt(a.deviceId().substring("sensor-".length())) * metrics
                                    + Integer.parseInt(a.metric().substring("metric-".length()));
                    visible.putIfAbsent(new WindowKey(key, a.windowStart()), millis);
                };
        Engine.Setup setup = setup(shape, input, output);
        try (OutputReader reader = new OutputReader(output, onAggregate);
                Engine engine = twin ? new Engine.Twin(setup) : new Engine.Service(setup, true);
                KafkaProducer<byte[], byte[]> producer = producer()) {
            engine.start();
            engine.awaitReady(READY_TIMEOUT);
            log(
                    String.format(
                            "latency: %s at %.0f events/s: %d s warm-up, %d s measured, %d s"
                                    + " more",
                            engine.name,
                            rate,
                            warmUpMillis / 1000,
                            options.latencySeconds(),
                            tailMillis / 1000));
            long window = shape.windowMillis();
            long sent =
                    load.sendPaced(
                            producer,
                            input,
                            PARTITIONS,
                            0,
                            rate,
                            maxEvents,
                            warmUpMillis + measureMillis + tailMillis,
                            () -> true,
                            (i, timestamp, now) -> {
                                appended[(int) i] = now;
                                windowStart[(int) i] = Math.floorDiv(timestamp, window) * window;
                            });
            int first = (int) Math.min(sent, (long) (rate * warmUpMillis / 1000));
            int measured =
                    (int) Math.min(sent, (long) (rate * (warmUpMillis + measureMillis) / 1000));
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(tailMillis + 30_000);
            long keys = shape.keys();
            int missing = measured - first;
            while (System.nanoTime() < deadline) {
                missing = 0;
                for (int i = first; i < measured; i++) {
                    if (!visible.containsKey(new WindowKey((int) (i % keys), windowStart[i]))) {
                        missing++;
                    }
                }
                if (missing == 0) {
                    break;
                }
                Thread.sleep(500);
            }
            // Not visible by the deadline: the engine fell behind the rate. Counted with the
            // latency they had at the deadline, so percentiles that include them are lower bounds.
            long now = System.currentTimeMillis();
            long[] latencies = new long[measured - first];
            int late = 0;
            for (int i = first; i < measured; i++) {
                Long at = visible.get(new WindowKey((int) (i % keys), windowStart[i]));
                if (at == null) {
                    late++;
                }
                latencies[i - first] = (at == null ? now : at) - appended[i];
            }
            if (late > 0) {
                log(late + " measured events' aggregates were not visible by the deadline");
            }
            notVisible.put(twin, late);
            Arrays.sort(latencies);
            return latencies;
        }
    }

    // ---------------------------------------------------------------- recovery

    private static final String SERVICE = "service EOS";
    private static final String TWIN = "Kafka Streams EOS v2";

    /**
     * What one kill -9 and relaunch cycle measured, in seconds from the relaunch unless named
     * otherwise; NaN where a phase was not reached within {@link #PHASE_TIMEOUT}.
     */
    record Recovery(
            double killToRelaunch,
            double ready,
            double processing,
            double caughtUp,
            double backlog,
            double processingCpu) {
        static final Recovery NOT_MEASURED =
                new Recovery(
                        Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN);

        /** The share of the machine's cores the relaunched process got until processing again. */
        double machineShare(int cores) {
            return processingCpu / (processing * cores);
        }
    }

    /**
     * {@code --starts} kill -9 and relaunch cycles per contestant at each {@code --parallelism},
     * the service and the twin taking turns (in reverse order every other cycle), each cycle on
     * fresh topics at the same rate; the median and spread of each figure at each contestant's best
     * parallelism (the fastest median to processing again), the medians at every parallelism, and
     * the target judged on the service's best median.
     */
    private Map<String, Object> recovery(Shape shape) throws Exception {
        double rate = 0.5 * capacity(shape);
        int starts = options.starts();
        Map<String, Object> row = row(shape);
        row.put("rateEventsPerSecond", rate);
        row.put("cyclesPerContestant", starts);
        row.put("parallelisms", options.parallelisms());
        Map<String, Map<Integer, List<Recovery>>> cycles = new LinkedHashMap<>();
        cycles.put(SERVICE, new LinkedHashMap<>());
        cycles.put(TWIN, new LinkedHashMap<>());
        for (int parallelism : options.parallelisms()) {
            for (int cycle = 0; cycle < starts; cycle++) {
                for (int turn = 0; turn < 2; turn++) {
                    boolean twin = (cycle % 2 == 0) == (turn == 1);
                    log(
                            String.format(
                                    "recovery: parallelism %d, cycle %d of %d, %s",
                                    parallelism, cycle + 1, starts, twin ? TWIN : SERVICE));
                    cycles.get(twin ? TWIN : SERVICE)
                            .computeIfAbsent(parallelism, p -> new ArrayList<>())
                            .add(killAndRestart(shape, rate, twin, parallelism));
                }
            }
        }
        int cores = Runtime.getRuntime().availableProcessors();
        Map<String, Object> absolute = absolute(row);
        absolute.put("kill -9 and relaunch cycles per contestant and parallelism", starts);
        Map<String, List<Recovery>> best = new LinkedHashMap<>();
        for (Map.Entry<String, Map<Integer, List<Recovery>>> contestant : cycles.entrySet()) {
            String name = contestant.getKey();
            int bestParallelism = atItsBest(contestant.getValue(), Recovery::processing);
            List<Recovery> runs = contestant.getValue().get(bestParallelism);
            best.put(name, runs);
            absolute.put(
                    name + " parallelism at its best (fastest median to processing again)",
                    bestParallelism);
            absolute.put(
                    name + " s from relaunch to processing again, median at each parallelism",
                    mediansByParallelism(contestant.getValue(), Recovery::processing));
            absolute.put(
                    name + " s from relaunch to ready, median at each parallelism",
                    mediansByParallelism(contestant.getValue(), Recovery::ready));
            absolute.put(
                    name + " s from relaunch to ready", Spread.of(runs, Recovery::ready).json());
            absolute.put(
                    name + " s from relaunch to processing again (first offset commit)",
                    Spread.of(runs, Recovery::processing).json());
            absolute.put(
                    name + " s from relaunch to caught up",
                    Spread.of(runs, Recovery::caughtUp).json());
            absolute.put(
                    name + " CPU s used from relaunch to processing again",
                    Spread.of(runs, Recovery::processingCpu).json());
            absolute.put(
                    name + " share of the machine's cores it got until processing again",
                    Spread.of(runs, run -> run.machineShare(cores)).json());
            absolute.put(
                    name + " backlog at relaunch (events)",
                    Spread.of(runs, Recovery::backlog).json());
            absolute.put(
                    name + " s from kill -9 to relaunch (process gone, offsets read)",
                    Spread.of(runs, Recovery::killToRelaunch).json());
        }
        List<Recovery> ours = best.get(SERVICE);
        List<Recovery> theirs = best.get(TWIN);
        Map<String, Object> ratios = ratios(row);
        ratios.put(
                "service / Kafka Streams: time to ready (medians, each at its best parallelism)",
                ratioOfMedians(ours, theirs, Recovery::ready));
        ratios.put(
                "service / Kafka Streams: time to processing again (medians, each at its best"
                        + " parallelism)",
                ratioOfMedians(ours, theirs, Recovery::processing));
        ratios.put(
                "service / Kafka Streams: time to caught up (medians, each at its best"
                        + " parallelism)",
                ratioOfMedians(ours, theirs, Recovery::caughtUp));
        ratios.put(
                "service / Kafka Streams: CPU s to processing again (medians, each at its best"
                        + " parallelism)",
                ratioOfMedians(ours, theirs, Recovery::processingCpu));
        putRatiosAtEachParallelism(
                ratios, "time to processing again", cycles, Recovery::processing);
        double processing = Spread.of(ours, Recovery::processing).median();
        targets(row)
                .add(
                        target(
                                "processing again within 3 s of a kill -9 restart under load"
                                        + " (median of "
                                        + starts
                                        + (starts == 1 ? " cycle" : " cycles")
                                        + " at its best parallelism)",
                                Spread.figure(processing),
                                "<= 3 s",
                                processing <= 3));
        return row;
    }

    /** The service's median {@code figure} over the twin's, with both at each parallelism. */
    private <T> void putRatiosAtEachParallelism(
            Map<String, Object> ratios,
            String figureName,
            Map<String, Map<Integer, List<T>>> runs,
            ToDoubleFunction<T> figure) {
        for (int parallelism : options.parallelisms()) {
            ratios.put(
                    "service / Kafka Streams: "
                            + figureName
                            + " (medians, both at parallelism "
                            + parallelism
                            + ")",
                    ratioOfMedians(
                            runs.get(SERVICE).get(parallelism),
                            runs.get(TWIN).get(parallelism),
                            figure));
        }
    }

    /** The parallelism whose runs have the lowest median {@code figure} (unreached: highest). */
    private static <T> int atItsBest(Map<Integer, List<T>> runs, ToDoubleFunction<T> figure) {
        return runs.entrySet().stream()
                .min(
                        Comparator.comparingDouble(
                                entry -> {
                                    double median = Spread.of(entry.getValue(), figure).median();
                                    return Double.isNaN(median) ? Double.POSITIVE_INFINITY : median;
                                }))
                .orElseThrow()
                .getKey();
    }

    private static <T> Map<String, Object> mediansByParallelism(
            Map<Integer, List<T>> runs, ToDoubleFunction<T> figure) {
        Map<String, Object> medians = new LinkedHashMap<>();
        runs.forEach(
                (parallelism, each) ->
                        medians.put(
                                Integer.toString(parallelism),
                                Spread.figure(Spread.of(each, figure).median())));
        return medians;
    }

    private static <T> Object ratioOfMedians(
            List<T> ours, List<T> theirs, ToDoubleFunction<T> figure) {
        return Spread.figure(Spread.of(ours, figure).median() / Spread.of(theirs, figure).median());
    }

    /**
     * One cycle on fresh topics: feeds the engine at {@code rate}, kills it with SIGKILL after a
     * warm-up and starts it again at once. From the relaunch on, readiness (on its own thread) and
     * the group's committed offsets (here) are polled side by side, every 100 ms each, so
     * processing again can be seen before ready if it comes first. Measures seconds from the
     * relaunch to ready, to its first offset commit (it processes and commits again), to caught up
     * (its commits cover every record written before the relaunch), the backlog at relaunch, and
     * the CPU seconds the relaunched process used until processing again: start-up is CPU-bound,
     * and the feeder and the broker share the machine with it. Each phase waits at most {@link
     * #PHASE_TIMEOUT} (caught up: that long after processing again); NaN where it was not reached.
     */
    private Recovery killAndRestart(Shape shape, double rate, boolean twin, int parallelism)
            throws Exception {
        String input = KafkaTestClient.uniqueTopic("bench-recovery");
        String output = KafkaTestClient.uniqueTopic("bench-recovery-out");
        kafka.createTopic(input, PARTITIONS);
        kafka.createTopic(output, PARTITIONS);
        TelemetryLoad load = shape.load();
        Engine.Setup setup = setup(shape, input, output, parallelism);
        AtomicBoolean feeding = new AtomicBoolean(true);
        try (Engine engine = twin ? new Engine.Twin(setup) : new Engine.Service(setup, true);
                KafkaProducer<byte[], byte[]> producer = producer()) {
            engine.start();
            try {
                engine.awaitReady(PHASE_TIMEOUT);
            } catch (IllegalStateException e) {
                log("recovery: " + e.getMessage() + "; this cycle is not measured");
                return Recovery.NOT_MEASURED;
            }
            Thread feeder =
                    new Thread(
                            () -> {
                                try {
                                    load.sendPaced(
                                            producer,
                                            input,
                                            PARTITIONS,
                                            0,
                                            rate,
                                            Long.MAX_VALUE,
                                            options.recoverySeconds() * 1000L
                                                    + 3 * PHASE_TIMEOUT.toMillis()
                                                    + 30_000,
                                            feeding::get,
                                            null);
                                } catch (InterruptedException e) {
                                    Thread.currentThread().interrupt();
                                }
                            },
                            "recovery-feed");
            feeder.start();
            try {
                Thread.sleep(options.recoverySeconds() * 1000L);
                log("recovery: kill -9 " + engine.name);
                long killed = System.nanoTime();
                engine.kill();
                // Read once the process is gone: a commit of the killed process that lands
                // between this read and the kill would otherwise pass for the relaunched one's.
                long committedAtKill = kafka.committedOffsetSum(engine.group(), input);
                long backlogEnd = kafka.endOffsetSum(input);
                long relaunched = System.nanoTime();
                engine.start();
                double processing = Double.NaN;
                double processingCpu = Double.NaN;
                double caughtUp = Double.NaN;
                double ready;
                try (ReadyWatch watch = new ReadyWatch(engine, relaunched, PHASE_TIMEOUT)) {
                    long deadline = relaunched + PHASE_TIMEOUT.toNanos();
                    while (true) {
                        long committed = kafka.committedOffsetSum(engine.group(), input);
                        long now = System.nanoTime();
                        if (Double.isNaN(processing) && committed > committedAtKill) {
                            processing = seconds(now - relaunched);
                            processingCpu = engine.cpuSeconds();
                            deadline = now + PHASE_TIMEOUT.toNanos();
                        }
                        if (!Double.isNaN(processing) && committed >= backlogEnd) {
                            caughtUp = seconds(now - relaunched);
                            break;
                        }
                        if (now > deadline || watch.failed()) {
                            break;
                        }
                        Thread.sleep(100);
                    }
                    ready = watch.await();
                }
                log(
                        String.format(
                                "recovery %s: ready %.1f s, processing %.1f s (%.1f CPU s),"
                                        + " caught up %.1f s",
                                engine.name, ready, processing, processingCpu, caughtUp));
                return new Recovery(
                        seconds(relaunched - killed),
                        ready,
                        processing,
                        caughtUp,
                        backlogEnd - committedAtKill,
                        processingCpu);
            } finally {
                feeding.set(false);
                feeder.join(10_000);
            }
        }
    }

    /**
     * Waits for an engine's readiness on its own thread, so that something else can be polled at
     * the same time: the seconds from {@code since} to ready, NaN if the engine exited first or was
     * not ready within {@code timeout}.
     */
    private static final class ReadyWatch implements AutoCloseable {
        private final Thread thread;
        private final Duration timeout;
        private volatile double seconds = Double.NaN;
        private volatile boolean failed;

        ReadyWatch(Engine engine, long since, Duration timeout) {
            this.timeout = timeout;
            thread =
                    new Thread(
                            () -> {
                                try {
                                    engine.awaitReady(timeout);
                                    seconds = seconds(System.nanoTime() - since);
                                } catch (InterruptedException e) {
                                    failed = true;
                                } catch (RuntimeException e) {
                                    log(e.getMessage());
                                    failed = true;
                                }
                            },
                            "bench-ready-watch");
            thread.setDaemon(true);
            thread.start();
        }

        /** The engine exited before it was ready, or was not ready in time. */
        boolean failed() {
            return failed;
        }

        /** Waits (bounded by the timeout) until ready or failed; the seconds to ready, or NaN. */
        double await() throws InterruptedException {
            thread.join(timeout.toMillis() + 10_000);
            return seconds;
        }

        @Override
        public void close() throws InterruptedException {
            thread.interrupt();
            thread.join(10_000);
        }
    }

    // ---------------------------------------------------------------- footprint

    /**
     * One fresh launch: seconds from launch to ready, the CPU seconds used until then, and Quarkus'
     * own "started in" (the service only; NaN for the twin); NaN where not reached.
     */
    record Launch(double ready, double readyCpu, double startedIn) {}

    /**
     * {@code --starts} fresh launches per contestant at each {@code --parallelism} (no checkpoint,
     * empty topics, the service and the twin taking turns, in reverse order every other launch):
     * the median and spread of launch to ready and of its CPU seconds at each contestant's best
     * parallelism (the fastest median to ready), the medians at every parallelism, the target
     * judged on the service's best median; RSS idle and under load on each contestant's first
     * launch (at the first parallelism).
     */
    private Map<String, Object> footprint(Shape shape) throws Exception {
        double rate = 0.5 * capacity(shape);
        int starts = options.starts();
        Map<String, Object> row = row(shape);
        row.put(
                "jvmOptions",
                "-Xmx"
                        + ImageJvm.CONTAINER_HEAP
                        + " "
                        + String.join(" ", ImageJvm.serviceOptions()));
        row.put("rateEventsPerSecond", rate);
        row.put("launchesPerContestant", starts);
        row.put("parallelisms", options.parallelisms());
        Map<String, Map<Integer, List<Launch>>> launches = new LinkedHashMap<>();
        launches.put(SERVICE, new LinkedHashMap<>());
        launches.put(TWIN, new LinkedHashMap<>());
        Map<String, long[]> rss = new LinkedHashMap<>();
        for (int parallelism : options.parallelisms()) {
            for (int launch = 0; launch < starts; launch++) {
                for (int turn = 0; turn < 2; turn++) {
                    boolean twin = (launch % 2 == 0) == (turn == 1);
                    launches.get(twin ? TWIN : SERVICE)
                            .computeIfAbsent(parallelism, p -> new ArrayList<>())
                            .add(
                                    freshLaunch(
                                            shape,
                                            rate,
                                            twin,
                                            parallelism,
                                            rss.containsKey(twin ? TWIN : SERVICE) ? null : rss));
                }
            }
        }
        Map<String, Object> absolute = absolute(row);
        absolute.put("fresh launches per contestant and parallelism", starts);
        Map<String, List<Launch>> best = new LinkedHashMap<>();
        for (Map.Entry<String, Map<Integer, List<Launch>>> contestant : launches.entrySet()) {
            String name = contestant.getKey();
            int bestParallelism = atItsBest(contestant.getValue(), Launch::ready);
            List<Launch> runs = contestant.getValue().get(bestParallelism);
            best.put(name, runs);
            absolute.put(
                    name + " parallelism at its best (fastest median to ready)", bestParallelism);
            absolute.put(
                    name + " s from launch to ready, median at each parallelism",
                    mediansByParallelism(contestant.getValue(), Launch::ready));
            absolute.put(name + " s from launch to ready", Spread.of(runs, Launch::ready).json());
            absolute.put(
                    name + " CPU s used from launch to ready",
                    Spread.of(runs, Launch::readyCpu).json());
            if (name.equals(SERVICE)) {
                absolute.put(
                        name + " Quarkus 'started in' s",
                        Spread.of(runs, Launch::startedIn).json());
            }
            long[] memory = rss.getOrDefault(name, new long[] {-1, -1});
            absolute.put(name + " RSS idle MB (10 s after ready, first launch)", memory[0]);
            absolute.put(
                    name
                            + " RSS under load MB (max, "
                            + options.footprintLoadSeconds()
                            + " s at half capacity, first launch)",
                    memory[1]);
        }
        List<Launch> ours = best.get(SERVICE);
        List<Launch> theirs = best.get(TWIN);
        Map<String, Object> ratios = ratios(row);
        ratios.put(
                "service / Kafka Streams: time from launch to ready (medians, each at its best"
                        + " parallelism)",
                ratioOfMedians(ours, theirs, Launch::ready));
        ratios.put(
                "service / Kafka Streams: CPU s to ready (medians, each at its best parallelism)",
                ratioOfMedians(ours, theirs, Launch::readyCpu));
        putRatiosAtEachParallelism(ratios, "time from launch to ready", launches, Launch::ready);
        long[] ourRss = rss.getOrDefault(SERVICE, new long[] {-1, -1});
        long[] theirRss = rss.getOrDefault(TWIN, new long[] {-1, -1});
        ratios.put(
                "service / Kafka Streams: RSS idle",
                Spread.figure(
                        ourRss[0] > 0 && theirRss[0] > 0
                                ? (double) ourRss[0] / theirRss[0]
                                : Double.NaN));
        ratios.put(
                "service / Kafka Streams: RSS under load",
                Spread.figure(
                        ourRss[1] > 0 && theirRss[1] > 0
                                ? (double) ourRss[1] / theirRss[1]
                                : Double.NaN));
        double ready = Spread.of(ours, Launch::ready).median();
        targets(row)
                .add(
                        target(
                                "fresh start to ready within 2.5 s (median of "
                                        + starts
                                        + (starts == 1 ? " launch" : " launches")
                                        + " at its best parallelism)",
                                Spread.figure(ready),
                                "<= 2.5 s",
                                ready <= 2.5));
        return row;
    }

    /**
     * Launches the engine on fresh, empty topics and times it to ready; with {@code rss}, then also
     * samples its RSS idle (10 s after ready) and under load ({@code --footprint-load-seconds} at
     * {@code rate}) into it.
     */
    private Launch freshLaunch(
            Shape shape, double rate, boolean twin, int parallelism, Map<String, long[]> rss)
            throws Exception {
        String input = KafkaTestClient.uniqueTopic("bench-footprint");
        String output = KafkaTestClient.uniqueTopic("bench-footprint-out");
        kafka.createTopic(input, PARTITIONS);
        kafka.createTopic(output, PARTITIONS);
        Engine.Setup setup = setup(shape, input, output, parallelism);
        try (Engine engine = twin ? new Engine.Twin(setup) : new Engine.Service(setup, true);
                KafkaProducer<byte[], byte[]> producer = producer()) {
            long launched = System.nanoTime();
            engine.start();
            try {
                engine.awaitReady(PHASE_TIMEOUT);
            } catch (IllegalStateException e) {
                log("footprint: " + e.getMessage() + "; this launch is not measured");
                return new Launch(Double.NaN, Double.NaN, Double.NaN);
            }
            double ready = seconds(System.nanoTime() - launched);
            double readyCpu = engine.cpuSeconds();
            double startedIn = Double.NaN;
            if (engine instanceof Engine.Service service) {
                // Quarkus logs it at the end of its start; wait a little if it is not there yet.
                long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
                startedIn = service.startedInSeconds();
                while (Double.isNaN(startedIn) && System.nanoTime() < deadline) {
                    Thread.sleep(100);
                    startedIn = service.startedInSeconds();
                }
            }
            log(
                    String.format(
                            "footprint %s: ready %.2f s (%.1f CPU s)",
                            engine.name, ready, readyCpu));
            if (rss == null) {
                return new Launch(ready, readyCpu, startedIn);
            }
            Thread.sleep(10_000);
            long idle = engine.rssMegabytes();
            AtomicLong maxRss = new AtomicLong();
            AtomicBoolean sampling = new AtomicBoolean(true);
            Thread sampler =
                    new Thread(
                            () -> {
                                while (sampling.get()) {
                                    maxRss.accumulateAndGet(engine.rssMegabytes(), Math::max);
                                    try {
                                        Thread.sleep(200);
                                    } catch (InterruptedException e) {
                                        return;
                                    }
                                }
                            });
            sampler.start();
            shape.load()
                    .sendPaced(
                            producer,
                            input,
                            PARTITIONS,
                            0,
                            rate,
                            Long.MAX_VALUE,
                            options.footprintLoadSeconds() * 1000L,
                            () -> true,
                            null);
            sampling.set(false);
            sampler.join(5_000);
            rss.put(engine.name, new long[] {idle, maxRss.get()});
            return new Launch(ready, readyCpu, startedIn);
        }
    }

    // ---------------------------------------------------------------- key scale

    /**
     * Each key count on each state backend ({@code hashmap}: the heap, full checkpoints; {@code
     * rocksdb}: local disk, incremental checkpoints), one backlog per key count. A run that stops
     * making progress for {@link #KEYSCALE_STALL} (a heap too small for its state) is recorded as
     * not finished instead of holding up the suite.
     */
    private List<Map<String, Object>> keyScale() throws Exception {
        List<Map<String, Object>> rows = new ArrayList<>();
        Map<String, Double> smallest = new LinkedHashMap<>();
        for (long keys : options.keyScales()) {
            Shape shape =
                    new Shape(
                            "keys-" + keys,
                            (int) Math.max(1, keys / 5),
                            5,
                            20_000,
                            1_000,
                            60_000,
                            1_000,
                            false);
            long events = Math.max(options.keyScaleEvents(), 2 * shape.keys());
            TelemetryLoad load = shape.load();
            String input = produceBacklog(load, events);
            long inputRecords = kafka.endOffsetSum(input);
            long aggregates = load.backlogAggregates(events, shape.windowMillis());
            for (String backend : options.keyScaleBackends()) {
                rows.add(keyScaleRun(shape, backend, input, inputRecords, aggregates, smallest));
            }
        }
        return rows;
    }

    private static final Duration KEYSCALE_STALL = Duration.ofSeconds(90);

    private Map<String, Object> keyScaleRun(
            Shape shape,
            String backend,
            String input,
            long inputRecords,
            long aggregates,
            Map<String, Double> smallest)
            throws Exception {
        String output = KafkaTestClient.uniqueTopic("bench-keys-out");
        kafka.createTopic(output, PARTITIONS);
        Map<String, String> environment = new LinkedHashMap<>();
        // Own group and transactional ids: each backend reads the same backlog from the start.
        environment.put("TELEMETRY_SOURCE_GROUP_ID", "bench-" + output);
        environment.put("TELEMETRY_TRANSACTIONAL_ID_PREFIX", "bench-" + output);
        environment.put("TELEMETRY_STATE_BACKEND", backend);
        environment.put(
                "TELEMETRY_CHECKPOINT_INCREMENTAL", Boolean.toString(backend.equals("rocksdb")));
        // What the state costs per key, at every scale: no series cap folds keys away.
        environment.put("TELEMETRY_MAX_SERIES", "off");
        AtomicLong seen = new AtomicLong();
        Map<String, Object> row = row(shape);
        row.put("stateBackend", backend);
        try (OutputReader reader =
                        new OutputReader(output, (record, millis) -> seen.incrementAndGet());
                Engine.Service engine =
                        new Engine.Service(setup(shape, input, output), true, environment)) {
            long launched = System.nanoTime();
            engine.start();
            engine.awaitReady(READY_TIMEOUT);
            double ready = seconds(System.nanoTime() - launched);
            double maxCheckpointBytes = 0;
            double maxFullCheckpointBytes = 0;
            double maxCheckpointMillis = 0;
            double maxHeapBytes = 0;
            long maxRss = 0;
            int unanswered = 0;
            long deadline = System.nanoTime() + Duration.ofMinutes(20).toNanos();
            // Progress is input committed or output seen: a backlog within one window has no
            // output until its end.
            long lastProgressMark = -1;
            long lastProgress = System.nanoTime();
            String outcome = "done";
            while (seen.get() < aggregates && System.nanoTime() < deadline) {
                long progressMark = seen.get() + kafka.committedOffsetSum(engine.group(), input);
                if (progressMark != lastProgressMark) {
                    lastProgressMark = progressMark;
                    lastProgress = System.nanoTime();
                } else if (System.nanoTime() - lastProgress > KEYSCALE_STALL.toNanos()) {
                    outcome = "no progress for " + KEYSCALE_STALL.toSeconds() + " s";
                    log(
                            String.format(
                                    "keys %,d on %s: no progress in %s, giving up",
                                    shape.keys(), backend, KEYSCALE_STALL));
                    break;
                }
                maxRss = Math.max(maxRss, engine.rssMegabytes());
                String metrics;
                try {
                    metrics = engine.process().get("/q/metrics", "text/plain");
                } catch (RuntimeException e) {
                    // A busy service (GC pressure) may not answer in time: a missed sample.
                    unanswered++;
                    if (!engine.process().isAlive()) {
                        outcome =
                                engine.process().lastLog().contains("OutOfMemoryError")
                                        ? "exited: heap exhausted (OutOfMemoryError)"
                                        : "exited; see its log";
                        break;
                    }
                    Thread.sleep(1_000);
                    continue;
                }
                maxCheckpointBytes =
                        Math.max(
                                maxCheckpointBytes,
                                metric(metrics, "flink_jobmanager_job_lastCheckpointSize", false));
                maxFullCheckpointBytes =
                        Math.max(
                                maxFullCheckpointBytes,
                                metric(
                                        metrics,
                                        "flink_jobmanager_job_lastCheckpointFullSize",
                                        false));
                maxCheckpointMillis =
                        Math.max(
                                maxCheckpointMillis,
                                metric(
                                        metrics,
                                        "flink_jobmanager_job_lastCheckpointDuration",
                                        false));
                maxHeapBytes =
                        Math.max(
                                maxHeapBytes,
                                metric(metrics, "jvm_memory_used_bytes{area=\"heap\"", true));
                Thread.sleep(1_000);
            }
            double done = seconds(System.nanoTime() - launched);
            boolean finished = seen.get() >= aggregates;
            if (!finished && outcome.equals("done")) {
                outcome = "not finished in 20 minutes";
            }
            double rate = finished ? inputRecords / (done - ready) : Double.NaN;
            smallest.putIfAbsent(backend, rate);
            row.put("keys", shape.keys());
            row.put("finished", finished);
            row.put("eventsPerSecond", rate);
            ratios(row)
                    .put(
                            "throughput / throughput at "
                                    + options.keyScales().get(0)
                                    + " keys (same backend)",
                            rate / smallest.get(backend));
            Map<String, Object> absolute = absolute(row);
            absolute.put("outcome", outcome);
            absolute.put("input events", inputRecords);
            absolute.put("aggregates", aggregates);
            absolute.put("aggregates seen", seen.get());
            absolute.put("service EOS events/s (after ready)", rate);
            absolute.put("max checkpoint size MB (uploaded)", maxCheckpointBytes / 1e6);
            absolute.put("max checkpoint full size MB", maxFullCheckpointBytes / 1e6);
            absolute.put("max checkpoint duration ms", maxCheckpointMillis);
            absolute.put("max heap used MB", maxHeapBytes / 1e6);
            absolute.put("max RSS MB (heap, RocksDB's native memory, the rest)", maxRss);
            absolute.put("metric scrapes not answered within 10 s", unanswered);
            absolute.put(
                    "state backend",
                    backend.equals("rocksdb")
                            ? "rocksdb, incremental checkpoints"
                            : "hashmap (heap), full checkpoints");
            log(
                    String.format(
                            "keys %,d on %s: %s, %.0f events/s, checkpoint <= %.1f MB (full %.1f"
                                    + " MB) in <= %.0f ms, heap <= %.0f MB, RSS <= %d MB",
                            shape.keys(),
                            backend,
                            outcome,
                            rate,
                            maxCheckpointBytes / 1e6,
                            maxFullCheckpointBytes / 1e6,
                            maxCheckpointMillis,
                            maxHeapBytes / 1e6,
                            maxRss));
        }
        return row;
    }

    /** The largest (or, with {@code sum}, the summed) value of a Prometheus series; 0 if absent. */
    private static double metric(String exposition, String prefix, boolean sum) {
        double result = 0;
        for (String line : exposition.split("\n")) {
            if (line.startsWith(prefix)) {
                double value = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                result = sum ? result + value : Math.max(result, value);
            }
        }
        return result;
    }

    // ---------------------------------------------------------------- helpers

    private Engine.Setup setup(Shape shape, String input, String output) throws IOException {
        return setup(shape, input, output, Runtime.getRuntime().availableProcessors());
    }

    /** With the service's parallelism and the twin's stream threads at {@code parallelism}. */
    private Engine.Setup setup(Shape shape, String input, String output, int parallelism)
            throws IOException {
        Path dir = Files.createTempDirectory(options.workDir().toAbsolutePath(), output + "-");
        return new Engine.Setup(
                kafka.bootstrapServers(),
                input,
                output,
                shape.windowMillis(),
                shape.outOfOrdernessMillis(),
                shape.checkpointMillis(),
                parallelism,
                dir,
                ImageJvm.CONTAINER_HEAP);
    }

    /**
     * Half of it is the latency and recovery load: measured EOS throughput of this run, else of the
     * committed results, else 10 k/s.
     */
    private double capacity(Shape shape) throws IOException {
        Double measured = capacity.get(shape.name());
        if (measured != null) {
            return measured;
        }
        Path earlier = options.results().resolve("throughput.json");
        if (Files.isRegularFile(earlier)) {
            for (JsonNode row : JSON.readTree(earlier.toFile()).path("rows")) {
                if (row.path("shape").asText().equals(shape.name())) {
                    return row.path("capacityEventsPerSecond").asDouble();
                }
            }
        }
        return 10_000;
    }

    /**
     * Creates a 4-partition topic holding the first {@code events} events plus a watermark flush.
     */
    private String produceBacklog(TelemetryLoad load, long events) {
        String input = KafkaTestClient.uniqueTopic("bench-in");
        kafka.createTopic(input, PARTITIONS);
        long begin = System.nanoTime();
        try (KafkaProducer<byte[], byte[]> producer = producer()) {
            load.sendBacklog(producer, input, PARTITIONS, 0, events);
            // Far ahead in event time on every partition: every window closes.
            long flushTime = load.backlogTimestamp(events) + 86_400_000L;
            for (ProducerRecord<byte[], byte[]> flush :
                    TelemetryFixtures.watermarkFlush(input, PARTITIONS, flushTime)) {
                producer.send(
                        new ProducerRecord<>(
                                input, flush.partition(), flushTime, flush.key(), flush.value()));
            }
            producer.flush();
        }
        log(
                String.format(
                        "produced %,d events to %s in %.1f s",
                        events, input, seconds(System.nanoTime() - begin)));
        return input;
    }

    private KafkaProducer<byte[], byte[]> producer() {
        Properties properties = new Properties();
        properties.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        properties.put(ProducerConfig.LINGER_MS_CONFIG, 10);
        properties.put(ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024);
        properties.put(ProducerConfig.BUFFER_MEMORY_CONFIG, 128L * 1024 * 1024);
        return new KafkaProducer<>(
                properties, new ByteArraySerializer(), new ByteArraySerializer());
    }

    /** Size of a typical aggregate record value, as the job writes it. */
    private static int sampleAggregateBytes() {
        TelemetryAccumulator accumulator = new TelemetryAccumulator();
        accumulator.add(21.25);
        accumulator.add(-3.5);
        accumulator.add(48.75);
        TelemetryAggregate aggregate =
                TelemetryAggregate.of(
                        "sensor-123", "metric-2", BACKLOG_START, BACKLOG_START + 1000, accumulator);
        return new AggregateSerializationSchema("x")
                .serialize(aggregate, null, null)
                .value()
                .length;
    }

    /** {@code ConsumerPerformance} reading the whole topic; its fetch rate in records/s. */
    private double consumerPerformance(String topic, long records) throws Exception {
        String out =
                runTool(
                        "ConsumerPerformance",
                        "org.apache.kafka.tools.ConsumerPerformance",
                        "--bootstrap-server",
                        kafka.bootstrapServers(),
                        "--topic",
                        topic,
                        "--num-records",
                        Long.toString(records),
                        "--timeout",
                        "60000");
        double rate = column(out, "fetch.nMsg.sec");
        log(String.format("ConsumerPerformance: %,.0f records/s", rate));
        return rate;
    }

    /** Transactional {@code ProducerPerformance}: the aggregates' count and size; records/s. */
    private double producerPerformance(
            String topic, long records, int bytes, long transactionMillis) throws Exception {
        String out =
                runTool(
                        "ProducerPerformance",
                        "org.apache.kafka.tools.ProducerPerformance",
                        "--topic",
                        topic,
                        "--num-records",
                        Long.toString(records),
                        "--record-size",
                        Integer.toString(bytes),
                        "--throughput",
                        "-1",
                        "--transactional-id",
                        "bench-" + topic,
                        "--transaction-duration-ms",
                        Long.toString(transactionMillis),
                        "--producer-props",
                        "bootstrap.servers=" + kafka.bootstrapServers());
        Matcher matcher = Pattern.compile("([0-9.]+) records/sec").matcher(out);
        double rate = Double.NaN;
        while (matcher.find()) {
            rate = Double.parseDouble(matcher.group(1));
        }
        log(String.format("ProducerPerformance (transactional): %,.0f records/s", rate));
        return rate;
    }

    private String runTool(String name, String mainClass, String... args) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(ImageJvm.options(ImageJvm.CONTAINER_HEAP));
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(mainClass);
        command.addAll(List.of(args));
        Path log = Files.createTempFile(options.workDir().toAbsolutePath(), name, ".log");
        Process process =
                new ProcessBuilder(command)
                        .redirectErrorStream(true)
                        .redirectOutput(log.toFile())
                        .start();
        if (!process.waitFor(10, TimeUnit.MINUTES)) {
            process.destroyForcibly();
            throw new IllegalStateException(name + " did not finish in 10 minutes; see " + log);
        }
        String out = Files.readString(log);
        if (process.exitValue() != 0) {
            throw new IllegalStateException(name + " failed:\n" + out);
        }
        return out;
    }

    /** A column of the CSV-like line ConsumerPerformance prints under its header. */
    private static double column(String out, String name) {
        List<String> header = null;
        for (String line : out.split("\n")) {
            List<String> cells = Arrays.stream(line.split(",")).map(String::trim).toList();
            if (cells.contains(name)) {
                header = cells;
            } else if (header != null && cells.size() == header.size()) {
                return Double.parseDouble(cells.get(header.indexOf(name)));
            }
        }
        throw new IllegalStateException("no " + name + " in:\n" + out);
    }

    /** Reads a topic read_committed on its own thread, telling {@code onRecord} the wall time. */
    private final class OutputReader implements AutoCloseable {
        private final AtomicBoolean running = new AtomicBoolean(true);
        private final Thread thread;

        OutputReader(String topic, BiConsumer<ConsumerRecord<byte[], byte[]>, Long> onRecord) {
            Properties properties = new Properties();
            properties.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
            properties.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
            properties.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
            KafkaConsumer<byte[], byte[]> consumer =
                    new KafkaConsumer<>(
                            properties, new ByteArrayDeserializer(), new ByteArrayDeserializer());
            List<TopicPartition> partitions = new ArrayList<>();
            for (int p = 0; p < PARTITIONS; p++) {
                partitions.add(new TopicPartition(topic, p));
            }
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            thread =
                    new Thread(
                            () -> {
                                try (consumer) {
                                    while (running.get()) {
                                        var records = consumer.poll(Duration.ofMillis(100));
                                        long now = System.currentTimeMillis();
                                        records.forEach(record -> onRecord.accept(record, now));
                                    }
                                }
                            },
                            "bench-output-reader");
            thread.start();
        }

        @Override
        public void close() throws InterruptedException {
            running.set(false);
            thread.join(10_000);
        }
    }

    private static Map<String, Object> row(Shape shape) {
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("shape", shape.name());
        row.put("shapeSettings", shape.describe());
        row.put("ratios", new LinkedHashMap<String, Object>());
        row.put("targets", new ArrayList<Map<String, Object>>());
        row.put("absolute", new LinkedHashMap<String, Object>());
        return row;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> ratios(Map<String, Object> row) {
        return (Map<String, Object>) row.get("ratios");
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> targets(Map<String, Object> row) {
        return (List<Map<String, Object>>) row.get("targets");
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> absolute(Map<String, Object> row) {
        return (Map<String, Object>) row.get("absolute");
    }

    private static Map<String, Object> target(String name, Object value, String goal, boolean met) {
        Map<String, Object> target = new LinkedHashMap<>();
        target.put("target", name);
        target.put("value", value);
        target.put("goal", goal);
        target.put("met", met);
        return target;
    }

    private static Map<String, Object> machine() throws IOException {
        Map<String, Object> machine = new LinkedHashMap<>();
        machine.put("date", Instant.now().toString());
        machine.put("cores", Runtime.getRuntime().availableProcessors());
        machine.put("loadAverageBefore", loadAverage());
        machine.put(
                "java",
                System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
        machine.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version"));
        machine.put(
                "note",
                "shared machine: absolute figures are machine-dependent and noisy; compare ratios");
        return machine;
    }

    private static String loadAverage() throws IOException {
        Path loadavg = Paths.get("/proc/loadavg");
        return Files.isReadable(loadavg)
                ? String.join(
                        " ",
                        Arrays.asList(
                                        Files.readString(loadavg, StandardCharsets.UTF_8)
                                                .trim()
                                                .split(" "))
                                .subList(0, 3))
                : "unknown";
    }

    private static double seconds(long nanos) {
        return nanos / 1e9;
    }

    private static void log(String message) {
        System.out.println("[bench " + Instant.now().toString().substring(11, 19) + "] " + message);
    }
}
