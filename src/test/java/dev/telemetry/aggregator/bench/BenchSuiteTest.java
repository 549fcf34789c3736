package dev.telemetry.aggregator.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BenchSuiteTest {
    @Test
    void capacityIsFromReadyWhenTheRunIsLongEnoughToTime() {
        BenchSuite.Run run = new BenchSuite.Run("service EOS", 4, 14, 300, 1000, true);

        assertThat(BenchSuite.capacityOf(run, 1_000_000)).isEqualTo(100_000);
    }

    /**
     * CI's smoke run once finished its 20 000 events by the time the service reported ready: the
     * rate from ready was infinite, and the latency scenario paced at it measured no event at all.
     */
    @Test
    void capacityOfARunDoneAboutWhenReadyIsFromLaunch() {
        BenchSuite.Run run = new BenchSuite.Run("service EOS", 4, 4, 300, 1000, true);

        assertThat(BenchSuite.capacityOf(run, 20_000)).isEqualTo(5_000);
    }

    @Test
    void startsDefaultToFiveAndAreSetByTheirOption() {
        assertThat(BenchSuite.Options.parse().starts()).isEqualTo(5);
        assertThat(BenchSuite.Options.parse("--scenario", "recovery", "--starts", "2").starts())
                .isEqualTo(2);
        assertThatThrownBy(() -> BenchSuite.Options.parse("--starts", "0"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("--starts");
    }

    @Test
    void footprintSamplesRssUnderThirtySecondsOfLoadUnlessTold() {
        assertThat(BenchSuite.Options.parse().footprintLoadSeconds()).isEqualTo(30);
        assertThat(BenchSuite.Options.parse("--footprint-load-seconds", "3").footprintLoadSeconds())
                .isEqualTo(3);
    }

    @Test
    void heapsDefaultToTheContainersAndTakeXmxSizes() {
        assertThat(BenchSuite.Options.parse().heaps()).containsExactly("384m");
        assertThat(BenchSuite.Options.parse("--heaps", "256m,1g").heaps())
                .containsExactly("256m", "1g");
        assertThatThrownBy(() -> BenchSuite.Options.parse("--heaps", "256m,1.5g"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("--heaps");
    }

    @Test
    void startsAreMeasuredAtParallelismOneAndAtTheCoresUnlessTold() {
        int cores = Runtime.getRuntime().availableProcessors();
        assertThat(BenchSuite.Options.parse().parallelisms())
                .containsExactlyElementsOf(cores == 1 ? List.of(1) : List.of(1, cores));
        assertThat(BenchSuite.Options.parse("--parallelism", "2,1,2").parallelisms())
                .containsExactly(2, 1);
        assertThatThrownBy(() -> BenchSuite.Options.parse("--parallelism", "0"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("--parallelism");
    }

    /**
     * Against the twin, each is credited with its best heap: the fastest run among all heaps, and
     * the best of the heaps' medians; the service's other modes are compared at the container's.
     */
    @Test
    void eachContestantIsCreditedWithItsBestHeap() {
        Map<BenchSuite.Contestant, List<BenchSuite.Run>> runs = new LinkedHashMap<>();
        BenchSuite.Run small = new BenchSuite.Run("service EOS -Xmx256m", 2, 12, 300, 1000, true);
        BenchSuite.Run container =
                new BenchSuite.Run("service EOS -Xmx384m", 2, 10, 300, 1000, true);
        BenchSuite.Run large = new BenchSuite.Run("service EOS -Xmx1g", 2, 8, 300, 1000, true);
        runs.put(
                new BenchSuite.Contestant(BenchSuite.Kind.EOS, "256m", small.name()),
                List.of(small));
        runs.put(
                new BenchSuite.Contestant(BenchSuite.Kind.EOS, "384m", container.name()),
                List.of(container));
        runs.put(
                new BenchSuite.Contestant(BenchSuite.Kind.EOS, "1g", large.name()), List.of(large));

        List<BenchSuite.Run> all = BenchSuite.runsOf(runs, BenchSuite.Kind.EOS, null);
        assertThat(BenchSuite.fastestFromLaunch(all, 1_000_000)).isSameAs(large);
        assertThat(BenchSuite.bestMedian(runs, BenchSuite.Kind.EOS, run -> run.doneSeconds()))
                .isEqualTo(12);
        assertThat(BenchSuite.runsOf(runs, BenchSuite.Kind.EOS, "384m")).containsExactly(container);
        // No run at the asked heap: every heap's.
        assertThat(BenchSuite.runsOf(runs, BenchSuite.Kind.EOS, "512m")).hasSize(3);
    }

    /**
     * Each contestant is credited with its own fastest run by each clock: the run with the shorter
     * start-up can be the faster from launch while the other is the faster from ready.
     */
    @Test
    void theFastestRunFromLaunchNeedNotBeTheFastestFromReady() {
        BenchSuite.Run slowStart = new BenchSuite.Run("service EOS", 5, 10, 300, 1000, true);
        BenchSuite.Run quickStart = new BenchSuite.Run("service EOS", 2, 8, 300, 1000, true);
        List<BenchSuite.Run> runs = List.of(slowStart, quickStart);

        assertThat(BenchSuite.fastest(runs, 1_000_000)).isSameAs(slowStart);
        assertThat(BenchSuite.fastestFromLaunch(runs, 1_000_000)).isSameAs(quickStart);
        assertThat(quickStart.eventsPerSecondFromLaunch(1_000_000)).isEqualTo(125_000);
    }

    @Test
    void aFinishedRunBeatsAFasterLookingUnfinishedOneFromLaunchToo() {
        BenchSuite.Run unfinished = new BenchSuite.Run("service EOS", 1, 2, 300, 10, false);
        BenchSuite.Run finished = new BenchSuite.Run("service EOS", 2, 8, 300, 1000, true);

        assertThat(BenchSuite.fastestFromLaunch(List.of(unfinished, finished), 1_000))
                .isSameAs(finished);
    }

    @Test
    void aSpreadHasTheMedianMinimumAndMaximumOfTheRunsInOrder() {
        BenchSuite.Spread odd = BenchSuite.Spread.of(3.0, 1.0, 2.0, 5.0, 4.0);
        assertThat(odd.median()).isEqualTo(3.0);
        assertThat(odd.min()).isEqualTo(1.0);
        assertThat(odd.max()).isEqualTo(5.0);
        assertThat(odd.json()).containsEntry("each run", List.of(3.0, 1.0, 2.0, 5.0, 4.0));

        assertThat(BenchSuite.Spread.of(4.0, 1.0, 2.0, 3.0).median()).isEqualTo(2.5);
        assertThat(BenchSuite.Spread.of(2.0).median()).isEqualTo(2.0);
    }

    /** A run that never got there counts as slower than any that did, never as fast. */
    @Test
    void aRunThatDidNotReachAFigureCountsAsTheSlowest() {
        BenchSuite.Spread oneMissed = BenchSuite.Spread.of(Double.NaN, 1.0, 2.0);
        assertThat(oneMissed.median()).isEqualTo(2.0);
        assertThat(oneMissed.min()).isEqualTo(1.0);
        assertThat(oneMissed.max()).isNaN();
        assertThat(oneMissed.json())
                .containsEntry("max", BenchSuite.NOT_REACHED)
                .containsEntry("each run", List.of(BenchSuite.NOT_REACHED, 1.0, 2.0));

        BenchSuite.Spread mostMissed = BenchSuite.Spread.of(Double.NaN, 1.0, Double.NaN);
        assertThat(mostMissed.median()).isNaN();
        assertThat(mostMissed.json()).containsEntry("median", BenchSuite.NOT_REACHED);
        assertThat(BenchSuite.Spread.of(Double.NaN).min()).isNaN();
    }

    @Test
    void theReportShowsASpreadAsItsMedianThenItsRange() {
        var json =
                new ObjectMapper().valueToTree(BenchSuite.Spread.of(2.5, Double.NaN, 1.25).json());

        assertThat(BenchReport.format(json))
                .isEqualTo(
                        "median 2.50 (min 1.25, max not reached; each run: 2.50 / not reached /"
                                + " 1.25)");
    }

    @Test
    void theReportShowsFiguresBySettingAsSettingAndFigurePairs() {
        var json = new ObjectMapper().createObjectNode().put("1", 3.25).put("2", "not reached");

        assertThat(BenchReport.format(json)).isEqualTo("1: 3.25, 2: not reached");
    }
}
