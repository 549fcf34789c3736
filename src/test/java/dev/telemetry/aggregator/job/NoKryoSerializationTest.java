package dev.telemetry.aggregator.job;

import static org.assertj.core.api.Assertions.assertThat;

import dev.telemetry.aggregator.job.config.JobOptions;
import dev.telemetry.aggregator.job.config.Settings;
import dev.telemetry.aggregator.job.functions.TelemetryAggregator;
import dev.telemetry.aggregator.job.records.DeadLetter;
import dev.telemetry.aggregator.job.records.IngestedRecord;
import dev.telemetry.aggregator.job.records.PartialAggregate;
import dev.telemetry.aggregator.job.records.TelemetryAccumulator;
import dev.telemetry.aggregator.job.records.TelemetryAggregate;
import dev.telemetry.aggregator.job.records.TelemetryEvent;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.CompositeType;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.java.typeutils.GenericTypeInfo;
import org.apache.flink.api.java.typeutils.PojoTypeInfo;
import org.apache.flink.api.java.typeutils.TypeExtractor;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.graph.StreamGraph;
import org.apache.flink.streaming.api.graph.StreamNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every record that crosses an operator boundary or lives in state must have a Flink serializer
 * (POJO, tuple, primitive array), never the generic Kryo fallback: Kryo is several times slower on
 * the per-record path and its format breaks state compatibility when a class changes.
 */
class NoKryoSerializationTest {

    @ParameterizedTest
    @ValueSource(
            classes = {
                IngestedRecord.class,
                TelemetryEvent.class,
                PartialAggregate.class,
                DeadLetter.class,
                TelemetryAccumulator.class,
                TelemetryAggregate.class
            })
    void recordTypesAreFlinkPojosWithoutGenericFields(Class<?> type) {
        TypeInformation<?> info = TypeInformation.of(type);

        assertThat(info).isInstanceOf(PojoTypeInfo.class);
        assertThat(genericTypesIn(info)).as("fields serialized with Kryo").isEmpty();
    }

    @Test
    void windowAccumulatorIsAPojo() {
        TypeInformation<TelemetryAccumulator> accumulator =
                TypeExtractor.getAggregateFunctionAccumulatorType(
                        new TelemetryAggregator(),
                        TypeInformation.of(PartialAggregate.class),
                        null,
                        false);

        assertThat(accumulator).isInstanceOf(PojoTypeInfo.class);
    }

    @Test
    void theWholeTopologyBuildsWithGenericTypesDisabled() {
        // With generic types disabled, Flink refuses to create a Kryo serializer at all, so any
        // type that would fall back to Kryo fails the stream graph here.
        Configuration configuration = new Configuration();
        configuration.set(PipelineOptions.GENERIC_TYPES, false);
        StreamExecutionEnvironment env = new StreamExecutionEnvironment(configuration);
        JobOptions options =
                JobOptions.fromSettings(
                        new Settings(
                                Map.of(
                                        Settings.BOOTSTRAP_SERVERS.key(), "127.0.0.1:9092",
                                        Settings.PERCENTILES.key(), "0.5,0.99",
                                        Settings.OUTPUT_SKETCH.key(), "true")));
        TelemetryAggregationJob.configure(env, options);
        TelemetryAggregationJob.withKafka(options).build(env);

        StreamGraph graph = env.getStreamGraph();

        List<String> kryo = new ArrayList<>();
        for (StreamNode node : graph.getStreamNodes()) {
            List<TypeSerializer<?>> serializers = new ArrayList<>();
            serializers.add(node.getTypeSerializerOut());
            serializers.addAll(List.of(node.getTypeSerializersIn()));
            serializers.add(node.getStateKeySerializer());
            for (TypeSerializer<?> serializer : serializers) {
                if (serializer != null && serializer.getClass().getName().contains("Kryo")) {
                    kryo.add(node.getOperatorName() + ": " + serializer);
                }
            }
        }
        assertThat(kryo).isEmpty();
        assertThat(graph.getStreamNodes()).hasSizeGreaterThan(4);
    }

    private static List<TypeInformation<?>> genericTypesIn(TypeInformation<?> info) {
        List<TypeInformation<?>> generic = new ArrayList<>();
        if (info instanceof GenericTypeInfo) {
            generic.add(info);
        } else if (info instanceof CompositeType<?> composite) {
            for (int i = 0; i < composite.getArity(); i++) {
                generic.addAll(genericTypesIn(composite.getTypeAt(i)));
            }
        }
        return generic;
    }
}
