package dev.telemetry.aggregator.job.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.util.InstantiationUtil;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Covers {@link JobOptions#fromSettings} and {@link Settings}: the defaults, and that every bad
 * setting stops start-up with a message naming the setting and its environment variable.
 */
class JobOptionsTest {
    private static final String BOOTSTRAP = "broker-1:9092";

    @Test
    void defaultsNeedOnlyTheBootstrapServers() {
        JobOptions options = JobOptions.fromSettings(settings());

        assertThat(options.bootstrapServers()).isEqualTo(BOOTSTRAP);
        assertThat(options.inputTopics()).containsExactly("telemetry");
        assertThat(options.inputTopicPattern()).isNull();
        assertThat(options.outputTopic()).isEqualTo("telemetry-aggregates");
        assertThat(options.deadLetterTopic()).isEqualTo("telemetry-dlq");
        assertThat(options.groupId()).isEqualTo("telemetry-aggregator");
        assertThat(options.startPosition().kind()).isEqualTo(StartPosition.Kind.GROUP_OFFSETS);
        assertThat(options.startPosition().fallback()).isEqualTo(OffsetResetStrategy.EARLIEST);
        assertThat(options.eventTime()).isEqualTo(EventTimeSource.PAYLOAD);
        assertThat(options.windowSize()).isEqualTo(Duration.ofMinutes(1));
        assertThat(options.allowedLateness()).isEqualTo(Duration.ZERO);
        assertThat(options.deliveryGuarantee()).isEqualTo(DeliveryGuarantee.EXACTLY_ONCE);
        assertThat(options.transactionTimeout()).isGreaterThan(options.minimumTransactionTimeout());
        assertThat(options.parallelism()).isEqualTo(1);
        assertThat(options.tolerableCheckpointFailures()).isEqualTo(3);
        assertThat(options.kafkaProperties()).isEmpty();
    }

    @Test
    void optionsSurviveJavaSerializationIntoFlinkClosures() throws Exception {
        JobOptions options =
                JobOptions.fromSettings(
                        settings(
                                "telemetry.source.start", "offsets:telemetry:0:42",
                                "kafka.properties.security.protocol", "SSL"));

        JobOptions copy = InstantiationUtil.clone(options);

        // StartPosition has no equals(), so compare field by field.
        assertThat(copy).usingRecursiveComparison().isEqualTo(options);
        assertThat(copy.startPosition().toOffsetsInitializer()).isNotNull();
    }

    static Stream<Arguments> badSettings() {
        return Stream.of(
                Arguments.of("telemetry.window-size", "abc", "TELEMETRY_WINDOW_SIZE"),
                Arguments.of("telemetry.window-size", "0s", "TELEMETRY_WINDOW_SIZE"),
                Arguments.of("telemetry.window-size", "10", "TELEMETRY_WINDOW_SIZE"),
                Arguments.of(
                        "telemetry.delivery-guarantee",
                        "sometimes",
                        "TELEMETRY_DELIVERY_GUARANTEE"),
                Arguments.of("telemetry.parallelism", "0", "TELEMETRY_PARALLELISM"),
                Arguments.of("telemetry.parallelism", "-2", "TELEMETRY_PARALLELISM"),
                Arguments.of("telemetry.parallelism", "abc", "TELEMETRY_PARALLELISM"),
                Arguments.of(
                        "telemetry.checkpoint.tolerable-failures",
                        "-1",
                        "TELEMETRY_CHECKPOINT_TOLERABLE_FAILURES"),
                Arguments.of(
                        "telemetry.checkpoint.tolerable-failures",
                        "many",
                        "TELEMETRY_CHECKPOINT_TOLERABLE_FAILURES"),
                Arguments.of("telemetry.input-topic-pattern", "[", "TELEMETRY_INPUT_TOPIC_PATTERN"),
                Arguments.of("telemetry.event-time", "wallclock", "TELEMETRY_EVENT_TIME"),
                Arguments.of(
                        "telemetry.source.offset-reset",
                        "sometimes",
                        "TELEMETRY_SOURCE_OFFSET_RESET"),
                Arguments.of("telemetry.source.start", "sometimes", "TELEMETRY_SOURCE_START"),
                Arguments.of(
                        "telemetry.checkpoint.interval", "0ms", "TELEMETRY_CHECKPOINT_INTERVAL"),
                Arguments.of(
                        "telemetry.checkpoint.timeout", "PT0S", "TELEMETRY_CHECKPOINT_TIMEOUT"),
                Arguments.of(
                        "telemetry.watermark.max-out-of-orderness",
                        "-5s",
                        "TELEMETRY_WATERMARK_MAX_OUT_OF_ORDERNESS"),
                Arguments.of("telemetry.allowed-lateness", "PT-1S", "TELEMETRY_ALLOWED_LATENESS"),
                Arguments.of(
                        "telemetry.dead-letter-topic",
                        "telemetry-aggregates",
                        "TELEMETRY_DEAD_LETTER_TOPIC"),
                Arguments.of(
                        "telemetry.input-topics", "telemetry-aggregates", "TELEMETRY_INPUT_TOPICS"),
                Arguments.of(
                        "telemetry.input-topics",
                        "telemetry,telemetry-dlq",
                        "TELEMETRY_INPUT_TOPICS"),
                Arguments.of("telemetry.input-topics", " , ", "TELEMETRY_INPUT_TOPICS"),
                Arguments.of("telemetry.output-topic", " ", "TELEMETRY_OUTPUT_TOPIC"),
                Arguments.of(
                        "telemetry.event-time-bounds.earliest",
                        "2000-01-01",
                        "TELEMETRY_EVENT_TIME_BOUNDS_EARLIEST"),
                Arguments.of(
                        "telemetry.event-time-bounds.max-future",
                        "tomorrow",
                        "TELEMETRY_EVENT_TIME_BOUNDS_MAX_FUTURE"),
                Arguments.of(
                        "telemetry.dead-letter-max-record-bytes",
                        "1000",
                        "TELEMETRY_DEAD_LETTER_MAX_RECORD_BYTES"),
                Arguments.of(
                        "telemetry.dead-letter-max-record-bytes",
                        "1MB",
                        "TELEMETRY_DEAD_LETTER_MAX_RECORD_BYTES"),
                Arguments.of("telemetry.percentiles", "0.5,1", "TELEMETRY_PERCENTILES"),
                Arguments.of("telemetry.percentiles", "p99", "TELEMETRY_PERCENTILES"),
                Arguments.of("telemetry.percentiles", "0", "TELEMETRY_PERCENTILES"),
                Arguments.of("telemetry.percentile-accuracy", "0", "TELEMETRY_PERCENTILE_ACCURACY"),
                Arguments.of(
                        "telemetry.percentile-accuracy", "1%", "TELEMETRY_PERCENTILE_ACCURACY"),
                Arguments.of(
                        "telemetry.percentile-accuracy", "0.001", "TELEMETRY_PERCENTILE_ACCURACY"),
                Arguments.of("telemetry.output-sketch", "yes", "TELEMETRY_OUTPUT_SKETCH"),
                // Not a whole multiple of the window size (1m), or of the level below.
                Arguments.of("telemetry.rollups", "90s=t-90s", "TELEMETRY_ROLLUPS"),
                Arguments.of("telemetry.rollups", "1m=t-1m", "TELEMETRY_ROLLUPS"),
                Arguments.of("telemetry.rollups", "30s=t-30s", "TELEMETRY_ROLLUPS"),
                Arguments.of("telemetry.rollups", "5m=t-5m,12m=t-12m", "TELEMETRY_ROLLUPS"),
                Arguments.of("telemetry.rollups", "1h=t-1h,5m=t-5m", "TELEMETRY_ROLLUPS"),
                // A topic used twice, or the output, dead-letter or input topic.
                Arguments.of("telemetry.rollups", "5m=t,1h=t", "TELEMETRY_ROLLUPS"),
                Arguments.of("telemetry.rollups", "5m=telemetry-aggregates", "TELEMETRY_ROLLUPS"),
                Arguments.of("telemetry.rollups", "5m=telemetry-dlq", "TELEMETRY_ROLLUPS"),
                Arguments.of("telemetry.rollups", "5m=telemetry", "TELEMETRY_ROLLUPS"),
                // Not size=topic.
                Arguments.of("telemetry.rollups", "5m", "TELEMETRY_ROLLUPS"),
                Arguments.of("telemetry.rollups", "five=t-5", "TELEMETRY_ROLLUPS"),
                Arguments.of("telemetry.rollups", "5m=bad topic", "TELEMETRY_ROLLUPS"),
                Arguments.of("telemetry.rollups", "5m=", "TELEMETRY_ROLLUPS"),
                Arguments.of("telemetry.max-series", "0", "TELEMETRY_MAX_SERIES"),
                Arguments.of("telemetry.max-series", "lots", "TELEMETRY_MAX_SERIES"),
                Arguments.of("telemetry.group-by", "deviceId", "TELEMETRY_GROUP_BY"),
                Arguments.of("telemetry.group-by", "metric,region", "TELEMETRY_GROUP_BY"),
                Arguments.of("telemetry.group-by", "metric,tags.", "TELEMETRY_GROUP_BY"),
                Arguments.of("telemetry.group-by", "metric,metric", "TELEMETRY_GROUP_BY"),
                Arguments.of(
                        "telemetry.group-by",
                        "metric,tags." + "n".repeat(65),
                        "TELEMETRY_GROUP_BY"),
                Arguments.of("telemetry.groupings", "tags.region=by-region", "TELEMETRY_GROUPINGS"),
                Arguments.of("telemetry.groupings", "metric,tags.region", "TELEMETRY_GROUPINGS"),
                Arguments.of("telemetry.groupings", "metric=bad topic", "TELEMETRY_GROUPINGS"),
                Arguments.of("telemetry.groupings", "metric=telemetry", "TELEMETRY_GROUPINGS"),
                Arguments.of(
                        "telemetry.groupings",
                        "metric=telemetry-aggregates",
                        "TELEMETRY_GROUPINGS"),
                Arguments.of("telemetry.groupings", "metric=telemetry-dlq", "TELEMETRY_GROUPINGS"),
                Arguments.of("telemetry.groupings", "metric=a;metric=b", "TELEMETRY_GROUPINGS"),
                Arguments.of("telemetry.groupings", "metric,deviceId=a", "TELEMETRY_GROUPINGS"),
                Arguments.of(
                        "telemetry.groupings",
                        "metric,tags.a=x;metric,tags.b=x",
                        "TELEMETRY_GROUPINGS"),
                Arguments.of(
                        "telemetry.watermark.idle-advance",
                        "soon",
                        "TELEMETRY_WATERMARK_IDLE_ADVANCE"),
                Arguments.of(
                        "telemetry.watermark.idle-advance",
                        "0s",
                        "TELEMETRY_WATERMARK_IDLE_ADVANCE"),
                Arguments.of("telemetry.output-mode", "replace", "TELEMETRY_OUTPUT_MODE"),
                // Early results are revisions, which final mode (the default) does not write.
                Arguments.of(
                        "telemetry.early-results-interval",
                        "1s",
                        "TELEMETRY_EARLY_RESULTS_INTERVAL"),
                Arguments.of(
                        "telemetry.early-results-interval",
                        "soon",
                        "TELEMETRY_EARLY_RESULTS_INTERVAL"));
    }

    @Test
    void upsertModeIsOffByDefaultAndTakesEarlyResultsOfAtLeast100ms() {
        JobOptions defaults = JobOptions.fromSettings(settings());
        assertThat(defaults.outputMode()).isEqualTo(OutputMode.FINAL);
        assertThat(defaults.upsert()).isFalse();
        assertThat(defaults.earlyResultsInterval()).isNull();

        JobOptions upsert =
                JobOptions.fromSettings(
                        settings(
                                "telemetry.output-mode",
                                "upsert",
                                "telemetry.early-results-interval",
                                "100ms"));
        assertThat(upsert.upsert()).isTrue();
        assertThat(upsert.earlyResultsInterval()).isEqualTo(Duration.ofMillis(100));
        assertThatThrownBy(
                        () ->
                                JobOptions.fromSettings(
                                        settings(
                                                "telemetry.output-mode",
                                                "upsert",
                                                "telemetry.early-results-interval",
                                                "99ms")))
                .isInstanceOf(InvalidSettingException.class)
                .hasMessageContaining("TELEMETRY_EARLY_RESULTS_INTERVAL")
                .hasMessageContaining("at least 100ms");
    }

    @Test
    void rollupsAreOffByDefaultAndKeepTheirOrder() {
        assertThat(JobOptions.fromSettings(settings()).rollups()).isEmpty();
        JobOptions options =
                JobOptions.fromSettings(
                        settings(
                                "telemetry.window-size",
                                "10s",
                                "telemetry.rollups",
                                " 1m=telemetry-aggregates-1m, 1h = telemetry-aggregates-1h,"));
        assertThat(options.rollups())
                .containsExactly(
                        new RollupLevel(Duration.ofMinutes(1), "telemetry-aggregates-1m"),
                        new RollupLevel(Duration.ofHours(1), "telemetry-aggregates-1h"));
        assertThat(options.aggregateTopics())
                .containsExactly(
                        "telemetry-aggregates",
                        "telemetry-aggregates-1m",
                        "telemetry-aggregates-1h");
        assertThat(options.rollups()).extracting(RollupLevel::label).containsExactly("1m", "1h");
    }

    @Test
    void groupingsGetEveryRollupLevelOnTopicsNamedAfterTheirOwn() {
        JobOptions options =
                JobOptions.fromSettings(
                        settings(
                                "telemetry.window-size",
                                "10s",
                                "telemetry.rollups",
                                "1m=telemetry-aggregates-1m",
                                "telemetry.groupings",
                                " tags.region, metric = by-region ;metric=by-metric;"));

        assertThat(options.groupBy().isDeviceMetric()).isTrue();
        assertThat(options.groupings())
                .extracting(Grouping::id)
                .containsExactly("deviceId,metric", "metric,tags.region", "metric");
        assertThat(options.aggregateTopics())
                .containsExactly(
                        "telemetry-aggregates",
                        "telemetry-aggregates-1m",
                        "by-region",
                        "by-region-1m",
                        "by-metric",
                        "by-metric-1m");
    }

    @Test
    void theSeriesCapIsOnByDefaultAndCanBeSwitchedOff() {
        assertThat(JobOptions.fromSettings(settings()).maxSeries()).isEqualTo(100_000);
        assertThat(JobOptions.fromSettings(settings("telemetry.max-series", "off")).maxSeries())
                .isZero();
    }

    @Test
    void theOutputTopicCanBeGroupedByTags() {
        JobOptions options =
                JobOptions.fromSettings(
                        settings("telemetry.group-by", "tags.service,metric,tags.region"));

        assertThat(options.groupBy())
                .isEqualTo(
                        new Grouping(
                                false,
                                List.of("region", "service"),
                                "telemetry-aggregates",
                                List.of()));
    }

    @Test
    void aGroupingWithoutMetricIsRefusedSayingWhy() {
        assertThatThrownBy(
                        () ->
                                JobOptions.fromSettings(
                                        settings("telemetry.groupings", "tags.region=by-region")))
                .hasMessageContaining("does not contain metric")
                .hasMessageContaining("TELEMETRY_GROUPINGS");
    }

    @Test
    void aRollupMessageNamesTheLevelAndTheOneBelow() {
        assertThatThrownBy(
                        () ->
                                JobOptions.fromSettings(
                                        settings(
                                                "telemetry.window-size",
                                                "10s",
                                                "telemetry.rollups",
                                                "1m=a,150s=b")))
                .hasMessageContaining("level 150s is not a whole multiple")
                .hasMessageContaining("rollup level 1m");
    }

    @Test
    void anInputPatternMatchingARollupTopicIsRejected() {
        assertThatThrownBy(
                        () ->
                                JobOptions.fromSettings(
                                        settings(
                                                "telemetry.input-topic-pattern",
                                                "telemetry.*",
                                                "telemetry.output-topic",
                                                "out",
                                                "telemetry.dead-letter-topic",
                                                "dlq",
                                                "telemetry.rollups",
                                                "5m=telemetry-5m")))
                .isInstanceOf(InvalidSettingException.class)
                .hasMessageContaining("'telemetry-5m'")
                .hasMessageContaining("TELEMETRY_INPUT_TOPIC_PATTERN");
    }

    @Test
    void percentilesAreOffByDefaultAndSortedWithoutDuplicatesWhenSet() {
        JobOptions off = JobOptions.fromSettings(settings());
        assertThat(off.percentiles()).isEmpty();
        assertThat(off.sketchAccuracy()).isZero();

        JobOptions on =
                JobOptions.fromSettings(settings("telemetry.percentiles", "0.99, 0.5,0.9,0.5"));
        assertThat(on.quantiles()).containsExactly(0.5, 0.9, 0.99);
        assertThat(on.sketchAccuracy()).isEqualTo(0.01);

        JobOptions sketchOnly =
                JobOptions.fromSettings(settings("telemetry.output-sketch", "true"));
        assertThat(sketchOnly.quantiles()).isEmpty();
        assertThat(sketchOnly.sketchAccuracy()).isEqualTo(0.01);
    }

    @ParameterizedTest(name = "{0}={1}")
    @MethodSource("badSettings")
    void badSettingFailsNamingTheSettingAndItsEnvironmentVariable(
            String setting, String value, String environmentVariable) {
        assertThatThrownBy(() -> JobOptions.fromSettings(settings(setting, value)))
                .isInstanceOf(InvalidSettingException.class)
                .hasMessageContaining(setting)
                .hasMessageContaining(environmentVariable);
    }

    @Test
    void hostileRecordDefaults() {
        JobOptions options = JobOptions.fromSettings(settings());

        assertThat(options.eventTimeBounds().earliest())
                .isEqualTo(java.time.Instant.parse("2000-01-01T00:00:00Z"));
        assertThat(options.eventTimeBounds().maxFuture()).isEqualTo(Duration.ofDays(1));
        assertThat(options.deadLetterMaxRecordBytes()).isEqualTo(1_048_576);
    }

    @Test
    void theProducersMaxRequestSizeLowersTheDeadLetterLimit() {
        JobOptions options =
                JobOptions.fromSettings(settings("kafka.properties.max.request.size", "200000"));

        assertThat(options.deadLetterMaxRecordBytes()).isEqualTo(200_000);
    }

    @Test
    void blankBootstrapServersNamesKafkaBootstrapServers() {
        // Unset, the declared default applies (the same in the service and on a Flink cluster);
        // set blank, it is refused.
        assertThat(JobOptions.fromSettings(new Settings(Map.of())).bootstrapServers())
                .isEqualTo("127.0.0.1:9092");
        assertThatThrownBy(
                        () ->
                                JobOptions.fromSettings(
                                        new Settings(Map.of("kafka.bootstrap-servers", " "))))
                .isInstanceOf(InvalidSettingException.class)
                .hasMessageContaining("kafka.bootstrap-servers")
                .hasMessageContaining("KAFKA_BOOTSTRAP_SERVERS");
    }

    @Test
    void outputTopicEqualToDeadLetterTopicIsRejected() {
        assertThatThrownBy(
                        () ->
                                JobOptions.fromSettings(
                                        settings(
                                                "telemetry.output-topic", "out",
                                                "telemetry.dead-letter-topic", "out")))
                .isInstanceOf(InvalidSettingException.class)
                .hasMessageContaining("TELEMETRY_DEAD_LETTER_TOPIC")
                .hasMessageContaining("output topic");
    }

    @Test
    void inputTopicEqualToOutputTopicIsRejected() {
        assertThatThrownBy(
                        () ->
                                JobOptions.fromSettings(
                                        settings(
                                                "telemetry.input-topics", "readings",
                                                "telemetry.output-topic", "readings")))
                .isInstanceOf(InvalidSettingException.class)
                .hasMessageContaining("TELEMETRY_INPUT_TOPICS")
                .hasMessageContaining("its own output");
    }

    @ParameterizedTest
    @ValueSource(strings = {"telemetry.*", "telemetry-.*", ".*"})
    void inputTopicPatternMatchingTheOutputOrDeadLetterTopicIsRejected(String pattern) {
        // With the defaults, these patterns subscribe to telemetry-aggregates and telemetry-dlq:
        // the job would read its own output, and every dead letter would come back as a new one.
        assertThatThrownBy(
                        () ->
                                JobOptions.fromSettings(
                                        settings("telemetry.input-topic-pattern", pattern)))
                .isInstanceOf(InvalidSettingException.class)
                .hasMessageContaining("TELEMETRY_INPUT_TOPIC_PATTERN");
    }

    @Test
    void inputTopicPatternReplacesTheTopicList() {
        JobOptions options =
                JobOptions.fromSettings(
                        settings("telemetry.input-topic-pattern", "sensors-[0-9]+"));

        assertThat(options.inputTopicPattern()).isEqualTo("sensors-[0-9]+");
        assertThat(options.inputTopics()).isEmpty();
    }

    @Test
    void topicListIsSplitOnCommasAndTrimmed() {
        JobOptions options =
                JobOptions.fromSettings(settings("telemetry.input-topics", " a, b ,,c "));

        assertThat(options.inputTopics()).containsExactly("a", "b", "c");
    }

    static Stream<Arguments> durations() {
        return Stream.of(
                Arguments.of("500ms", Duration.ofMillis(500)),
                Arguments.of("10s", Duration.ofSeconds(10)),
                Arguments.of("1m", Duration.ofMinutes(1)),
                Arguments.of("2h", Duration.ofHours(2)),
                Arguments.of("1d", Duration.ofDays(1)),
                Arguments.of("PT1M", Duration.ofMinutes(1)),
                Arguments.of(" 30 s ", Duration.ofSeconds(30)),
                Arguments.of("10S", Duration.ofSeconds(10)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("durations")
    void parsesDurationsWithAUnitOrIso8601(String text, Duration expected) {
        assertThat(Setting.parseDuration("telemetry.window-size", text)).isEqualTo(expected);
        assertThat(JobOptions.fromSettings(settings("telemetry.window-size", text)).windowSize())
                .isEqualTo(expected);
    }

    @ParameterizedTest
    @ValueSource(strings = {"10", "1.5s", "ten seconds", "10 minutes", ""})
    void rejectsDurationsWithoutAKnownUnit(String text) {
        assertThatThrownBy(() -> Setting.parseDuration("telemetry.window-size", text))
                .isInstanceOf(InvalidSettingException.class)
                .hasMessageContaining("TELEMETRY_WINDOW_SIZE")
                .hasMessageContaining("500ms");
    }

    @ParameterizedTest
    @ValueSource(strings = {"99999999999999999999s", "9999999999999999d"})
    void rejectsDurationsTooLargeToRepresentWithTheSettingNamed(String text) {
        // An operator's typo must still get the actionable message, not a bare
        // NumberFormatException.
        assertThatThrownBy(() -> Setting.parseDuration("telemetry.window-size", text))
                .isInstanceOf(InvalidSettingException.class)
                .hasMessageContaining("TELEMETRY_WINDOW_SIZE");
    }

    @Test
    void exactlyOnceRejectsATransactionTimeoutThatCouldExpireBeforeCommit() {
        // 1m is not above 10s checkpoint interval + 1m checkpoint timeout + 2m expected restart.
        Settings settings =
                settings(
                        "telemetry.delivery-guarantee", "exactly-once",
                        "telemetry.transaction-timeout", "1m",
                        "telemetry.checkpoint.interval", "10s",
                        "telemetry.checkpoint.timeout", "1m",
                        "telemetry.expected-restart-time", "2m");

        assertThatThrownBy(() -> JobOptions.fromSettings(settings))
                .isInstanceOf(InvalidSettingException.class)
                .hasMessageContaining("telemetry.transaction-timeout")
                .hasMessageContaining("TELEMETRY_TRANSACTION_TIMEOUT")
                .hasMessageContaining("TELEMETRY_CHECKPOINT_INTERVAL")
                .hasMessageContaining("TELEMETRY_CHECKPOINT_TIMEOUT")
                .hasMessageContaining("TELEMETRY_EXPECTED_RESTART_TIME");
    }

    @Test
    void exactlyOnceAcceptsATransactionTimeoutAboveTheMinimum() {
        JobOptions options =
                JobOptions.fromSettings(
                        settings(
                                "telemetry.transaction-timeout", "136s",
                                "telemetry.checkpoint.interval", "10s",
                                "telemetry.checkpoint.timeout", "5s",
                                "telemetry.checkpoint.tolerable-failures", "0",
                                "telemetry.expected-restart-time", "2m"));

        // max(10s, 5s) + 5s + 2m
        assertThat(options.minimumTransactionTimeout()).isEqualTo(Duration.ofSeconds(135));
        assertThat(options.transactionTimeout()).isEqualTo(Duration.ofSeconds(136));
    }

    @Test
    void eachToleratedCheckpointFailureExtendsTheMinimumTransactionTimeout() {
        // (3 + 1) x max(10s, 1m) + 1m + 2m = 420s: 7m is too short, 8m is enough.
        Settings tooShort =
                settings(
                        "telemetry.transaction-timeout", "7m",
                        "telemetry.checkpoint.tolerable-failures", "3");
        assertThatThrownBy(() -> JobOptions.fromSettings(tooShort))
                .isInstanceOf(InvalidSettingException.class)
                .hasMessageContaining("TELEMETRY_TRANSACTION_TIMEOUT")
                .hasMessageContaining("TELEMETRY_CHECKPOINT_TOLERABLE_FAILURES");

        JobOptions options =
                JobOptions.fromSettings(
                        settings(
                                "telemetry.transaction-timeout", "8m",
                                "telemetry.checkpoint.tolerable-failures", "3"));
        assertThat(options.minimumTransactionTimeout()).isEqualTo(Duration.ofSeconds(420));
    }

    @Test
    void theMinimumCoversACheckpointTimeoutLongerThanTheInterval() {
        // With one checkpoint at a time, checkpoint N is triggered only once N-1 completed or
        // timed out: up to max(10s, 1m) after N-1's trigger, and N completes up to 1m after its
        // own. The transaction opened at N-1's barrier is committed up to 1m + 1m + 2m (restart)
        // = 240s after N-1 was triggered; 200s would let it expire first.
        Settings tooShort =
                settings(
                        "telemetry.transaction-timeout", "200s",
                        "telemetry.checkpoint.interval", "10s",
                        "telemetry.checkpoint.timeout", "1m",
                        "telemetry.checkpoint.tolerable-failures", "0",
                        "telemetry.expected-restart-time", "2m");
        assertThatThrownBy(() -> JobOptions.fromSettings(tooShort))
                .isInstanceOf(InvalidSettingException.class)
                .hasMessageContaining("TELEMETRY_TRANSACTION_TIMEOUT")
                .hasMessageContaining("(PT4M)");

        JobOptions options =
                JobOptions.fromSettings(
                        settings(
                                "telemetry.transaction-timeout", "241s",
                                "telemetry.checkpoint.interval", "10s",
                                "telemetry.checkpoint.timeout", "1m",
                                "telemetry.checkpoint.tolerable-failures", "0",
                                "telemetry.expected-restart-time", "2m"));
        assertThat(options.minimumTransactionTimeout()).isEqualTo(Duration.ofSeconds(240));
    }

    @Test
    void atLeastOnceDoesNotCheckTheTransactionTimeout() {
        JobOptions options =
                JobOptions.fromSettings(
                        settings(
                                "telemetry.delivery-guarantee", "at-least-once",
                                "telemetry.transaction-timeout", "1m",
                                "telemetry.checkpoint.interval", "10s",
                                "telemetry.checkpoint.timeout", "1m",
                                "telemetry.expected-restart-time", "2m"));

        assertThat(options.deliveryGuarantee()).isEqualTo(DeliveryGuarantee.AT_LEAST_ONCE);
    }

    @Test
    void exactlyOnceNeedsATransactionalIdPrefix() {
        assertThatThrownBy(
                        () ->
                                JobOptions.fromSettings(
                                        settings("telemetry.transactional-id-prefix", " ")))
                .isInstanceOf(InvalidSettingException.class)
                .hasMessageContaining("TELEMETRY_TRANSACTIONAL_ID_PREFIX");
    }

    @Test
    void kafkaPropertiesArePassedThroughWithoutThePrefix() {
        JobOptions options =
                JobOptions.fromSettings(
                        settings(
                                "kafka.properties.security.protocol", "SSL",
                                "kafka.properties.ssl.truststore.location", "/etc/kafka/ts.p12"));

        assertThat(options.kafkaProperties())
                .containsExactlyInAnyOrderEntriesOf(
                        Map.of(
                                "security.protocol", "SSL",
                                "ssl.truststore.location", "/etc/kafka/ts.p12"));
    }

    @Test
    void transactionalIdPrefixesOfTheTwoSinksAreDistinctAndNotPrefixesOfEachOther() {
        JobOptions options = JobOptions.fromSettings(settings());

        String aggregates = options.transactionalIdPrefixFor("aggregates");
        String deadLetters = options.transactionalIdPrefixFor("dead-letters");

        // Kafka sinks abort lingering transactions by prefix; overlapping prefixes would let one
        // sink abort (or fence) the other's transactions.
        assertThat(aggregates).isNotEqualTo(deadLetters);
        assertThat(aggregates).doesNotStartWith(deadLetters);
        assertThat(deadLetters).doesNotStartWith(aggregates);
        assertThat(List.of(aggregates, deadLetters))
                .allMatch(p -> p.startsWith("telemetry-aggregator"));
    }

    @Test
    void environmentVariableFollowsMicroProfileConfigNaming() {
        assertThat(Settings.environmentVariable("telemetry.watermark.max-out-of-orderness"))
                .isEqualTo("TELEMETRY_WATERMARK_MAX_OUT_OF_ORDERNESS");
        assertThat(Settings.environmentVariable("kafka.bootstrap-servers"))
                .isEqualTo("KAFKA_BOOTSTRAP_SERVERS");
    }

    /** Only the bootstrap servers plus the given name/value pairs; everything else defaults. */
    private static Settings settings(String... nameValuePairs) {
        Map<String, String> values = new HashMap<>();
        values.put(Settings.BOOTSTRAP_SERVERS.key(), BOOTSTRAP);
        for (int i = 0; i < nameValuePairs.length; i += 2) {
            values.put(nameValuePairs[i], nameValuePairs[i + 1]);
        }
        return new Settings(values);
    }
}
