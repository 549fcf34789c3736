package dev.telemetry.aggregator.job.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Covers every text form of {@code telemetry.source.start} and the errors for bad ones. */
class StartPositionTest {
    private static final String SETTING = Settings.START.key();

    @ParameterizedTest
    @EnumSource(
            value = OffsetResetStrategy.class,
            names = {"EARLIEST", "LATEST"})
    void groupOffsetsKeepsItsFallback(OffsetResetStrategy fallback) {
        StartPosition start = StartPosition.parse(SETTING, "group-offsets", fallback);

        assertThat(start.kind()).isEqualTo(StartPosition.Kind.GROUP_OFFSETS);
        assertThat(start.fallback()).isEqualTo(fallback);
        assertThat(start.toOffsetsInitializer()).isNotNull();
    }

    @Test
    void earliest() {
        StartPosition start = StartPosition.parse(SETTING, "earliest", OffsetResetStrategy.LATEST);

        assertThat(start.kind()).isEqualTo(StartPosition.Kind.EARLIEST);
        assertThat(start.toOffsetsInitializer()).isNotNull();
    }

    @Test
    void latest() {
        StartPosition start = StartPosition.parse(SETTING, "latest", OffsetResetStrategy.EARLIEST);

        assertThat(start.kind()).isEqualTo(StartPosition.Kind.LATEST);
        assertThat(start.toOffsetsInitializer()).isNotNull();
    }

    @Test
    void formsAreCaseInsensitiveAndTrimmed() {
        assertThat(StartPosition.parse(SETTING, "  Earliest ", OffsetResetStrategy.LATEST).kind())
                .isEqualTo(StartPosition.Kind.EARLIEST);
        assertThat(StartPosition.parse(SETTING, "GROUP-OFFSETS", OffsetResetStrategy.LATEST).kind())
                .isEqualTo(StartPosition.Kind.GROUP_OFFSETS);
    }

    @Test
    void timestampInEpochMillis() {
        StartPosition start =
                StartPosition.parse(
                        SETTING, "timestamp:1763683200000", OffsetResetStrategy.EARLIEST);

        assertThat(start.kind()).isEqualTo(StartPosition.Kind.TIMESTAMP);
        assertThat(start.timestamp()).isEqualTo(1763683200000L);
        assertThat(start.toOffsetsInitializer()).isNotNull();
    }

    @Test
    void specificOffsetsPerPartitionInTheOrderGiven() {
        StartPosition start =
                StartPosition.parse(SETTING, "offsets:t:0:42,t:1:7", OffsetResetStrategy.EARLIEST);

        assertThat(start.kind()).isEqualTo(StartPosition.Kind.SPECIFIC_OFFSETS);
        assertThat(start.offsets())
                .containsExactly(
                        Map.entry(new TopicPartition("t", 0), 42L),
                        Map.entry(new TopicPartition("t", 1), 7L));
        assertThat(start.fallback()).isEqualTo(OffsetResetStrategy.EARLIEST);
        assertThat(start.toOffsetsInitializer()).isNotNull();
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "timestamp:abc",
                "timestamp:-1",
                "timestamp:",
                "offsets:t:x:1",
                "offsets:t:0",
                "offsets:t:0:-5",
                "offsets:",
                "offsets:,",
                "offsets: , ",
                "sometimes",
                ""
            })
    void badFormFailsNamingTheSettingAndItsEnvironmentVariable(String text) {
        assertThatThrownBy(() -> StartPosition.parse(SETTING, text, OffsetResetStrategy.EARLIEST))
                .isInstanceOf(InvalidSettingException.class)
                .hasMessageContaining("telemetry.source.start")
                .hasMessageContaining("TELEMETRY_SOURCE_START")
                .satisfies(
                        e ->
                                assertThat(((InvalidSettingException) e).setting())
                                        .isEqualTo("telemetry.source.start"));
    }

    @Test
    void unknownFormMessageListsTheAcceptedForms() {
        assertThatThrownBy(
                        () ->
                                StartPosition.parse(
                                        SETTING, "sometimes", OffsetResetStrategy.EARLIEST))
                .hasMessageContaining("'sometimes'")
                .hasMessageContaining("group-offsets")
                .hasMessageContaining("earliest")
                .hasMessageContaining("latest")
                .hasMessageContaining("timestamp:")
                .hasMessageContaining("offsets:");
    }

    @Test
    void badOffsetEntryIsQuotedInTheMessage() {
        assertThatThrownBy(
                        () ->
                                StartPosition.parse(
                                        SETTING,
                                        "offsets:t:0:42,t:x:1",
                                        OffsetResetStrategy.EARLIEST))
                .hasMessageContaining("'t:x:1'");
    }
}
