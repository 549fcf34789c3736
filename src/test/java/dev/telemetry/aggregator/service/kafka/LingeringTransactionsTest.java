package dev.telemetry.aggregator.service.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Which deployment prefixes can name each other's transactional ids. */
class LingeringTransactionsTest {

    @ParameterizedTest(name = "{0} / {1}: {2}")
    @CsvSource({
        "x, x, true",
        // x-aggregates-<subtask>-<n> (x's aggregates sink) starts x-aggregates-aggregates-...
        "x, x-aggregates, true",
        "x-aggregates, x, true",
        "x, x-dead-letters, true",
        "x-dead-letters, x, true",
        "x, x-aggregates-aggregates, true",
        "eu1, eu10, false",
        "eu10, eu1, false",
        "x, x-eu, false",
        "x-eu, x, false",
        "telemetry-aggregator, telemetry, false",
    })
    void overlappingPrefixesAreRecognisedInBothDirections(
            String one, String other, boolean overlap) {
        assertThat(LingeringTransactions.overlap(one, other)).isEqualTo(overlap);
    }
}
