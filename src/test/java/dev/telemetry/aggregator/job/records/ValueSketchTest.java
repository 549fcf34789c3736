package dev.telemetry.aggregator.job.records;

import static org.assertj.core.api.Assertions.assertThat;

import dev.telemetry.aggregator.job.config.Settings;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ValueSketchTest {
    private static final double ACCURACY = 0.01;
    private static final double[] QUANTILES = {0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999};

    /** The exact quantile the contract names: the value at rank floor(q x (n - 1)). */
    static double exactQuantile(double[] sorted, double quantile) {
        return sorted[(int) Math.floor(quantile * (sorted.length - 1))];
    }

    private static double[] values(long seed, int n) {
        Random random = new Random(seed);
        double[] values = new double[n];
        for (int i = 0; i < n; i++) {
            values[i] =
                    switch (random.nextInt(5)) {
                        case 0 -> 0.0;
                        case 1 -> -Math.pow(10, random.nextDouble() * 12 - 6);
                        case 2 -> Math.pow(10, random.nextDouble() * 12 - 6);
                        case 3 -> random.nextGaussian() * 100;
                        default -> Math.rint(random.nextDouble() * 50);
                    };
        }
        return values;
    }

    @ParameterizedTest(name = "{0} values")
    @ValueSource(ints = {1, 2, 3, 10, 101, 5000})
    void everyQuantileIsWithinTheRelativeAccuracyOfTheExactOne(int n) {
        for (long seed = 1; seed <= 20; seed++) {
            double[] values = values(seed, n);
            ValueSketch sketch = ValueSketch.withRelativeAccuracy(ACCURACY);
            Arrays.stream(values).forEach(sketch::add);
            double[] sorted = values.clone();
            Arrays.sort(sorted);

            assertThat(sketch.count()).isEqualTo(n);
            for (double q : QUANTILES) {
                double exact = exactQuantile(sorted, q);
                assertThat(sketch.valueAtQuantile(q))
                        .as("seed %d, q %s, exact %s", seed, q, exact)
                        .isCloseTo(
                                exact,
                                org.assertj.core.data.Offset.offset(
                                        ACCURACY * Math.abs(exact) * (1 + 1e-9)));
            }
        }
    }

    /**
     * At every accuracy the setting allows, the sketch takes every value the parser lets through
     * (up to 1e292 in magnitude, and the smallest doubles) without failing, and its extremes stay
     * within the accuracy (values that span more than its bins are merged at the small end).
     */
    @ParameterizedTest(name = "accuracy {0}")
    @ValueSource(doubles = {Settings.FINEST_ACCURACY, 0.01, 0.5, 0.99})
    void everyAcceptedValueFitsAtEveryAllowedAccuracy(double accuracy) {
        ValueSketch sketch = ValueSketch.withRelativeAccuracy(accuracy);
        double[] extremes = {1e292, -1e292, Double.MIN_VALUE, -Double.MIN_VALUE, 0, 1e-300, 42};
        for (double value : extremes) {
            sketch.add(value);
        }
        assertThat(sketch.count()).isEqualTo(extremes.length);
        assertThat(sketch.valueAtQuantile(1))
                .isCloseTo(1e292, org.assertj.core.data.Offset.offset(1e292 * accuracy));
        assertThat(sketch.valueAtQuantile(0))
                .isCloseTo(-1e292, org.assertj.core.data.Offset.offset(1e292 * accuracy));
    }

    @Test
    void mergingPartsGivesTheSketchOfTheWhole() {
        double[] values = values(7, 1000);
        ValueSketch whole = ValueSketch.withRelativeAccuracy(ACCURACY);
        Arrays.stream(values).forEach(whole::add);

        List<ValueSketch> parts = new ArrayList<>();
        for (int part = 0; part < 7; part++) {
            parts.add(ValueSketch.withRelativeAccuracy(ACCURACY));
        }
        for (int i = 0; i < values.length; i++) {
            parts.get(i % parts.size()).add(values[i]);
        }
        ValueSketch merged = ValueSketch.withRelativeAccuracy(ACCURACY);
        for (int i = parts.size() - 1; i >= 0; i--) {
            merged.merge(parts.get(i));
        }

        assertThat(merged.count()).isEqualTo(whole.count());
        for (double q : QUANTILES) {
            assertThat(merged.valueAtQuantile(q)).as("q %s", q).isEqualTo(whole.valueAtQuantile(q));
        }
    }

    @Test
    void aSketchOfAnotherAccuracyIsConvertedWhenMerged() {
        ValueSketch fine = ValueSketch.withRelativeAccuracy(0.01);
        ValueSketch coarse = ValueSketch.withRelativeAccuracy(0.05);
        for (int i = 1; i <= 100; i++) {
            fine.add(i);
            coarse.add(i + 100);
        }
        fine.merge(coarse);

        assertThat(fine.count()).isEqualTo(200);
        assertThat(fine.valueAtQuantile(0.99))
                .isCloseTo(198, org.assertj.core.data.Offset.offset(198 * 0.06));
    }

    @Test
    void theSerializerRoundTripsAndCopiesItsBytes() throws Exception {
        ValueSketch sketch = ValueSketch.withRelativeAccuracy(ACCURACY);
        Arrays.stream(values(3, 500)).forEach(sketch::add);
        DataOutputSerializer out = new DataOutputSerializer(64);
        ValueSketchSerializer.INSTANCE.serialize(sketch, out);

        ValueSketch read =
                ValueSketchSerializer.INSTANCE.deserialize(
                        new DataInputDeserializer(out.getCopyOfBuffer()));
        assertThat(read).isEqualTo(sketch);
        for (double q : QUANTILES) {
            assertThat(read.valueAtQuantile(q)).isEqualTo(sketch.valueAtQuantile(q));
        }

        DataOutputSerializer copied = new DataOutputSerializer(64);
        ValueSketchSerializer.INSTANCE.copy(
                new DataInputDeserializer(out.getCopyOfBuffer()), copied);
        assertThat(copied.getCopyOfBuffer()).isEqualTo(out.getCopyOfBuffer());
    }

    /**
     * The first release's state format: a sketch written by it must be read by every later one.
     * These bytes were written by that release (a length and DDSketch's binary encoding).
     */
    @Test
    void readsTheStateFormatOfTheFirstReleaseWithPercentiles() throws Exception {
        ValueSketch sketch = ValueSketch.withRelativeAccuracy(ACCURACY);
        for (double value : new double[] {-2.5, 0, 0, 1, 2, 3, 1000}) {
            sketch.add(value);
        }

        ValueSketch read =
                ValueSketchSerializer.INSTANCE.deserialize(
                        new DataInputDeserializer(fromHex(FIRST_FORMAT)));
        assertThat(read).isEqualTo(sketch);
        assertThat(read.count()).isEqualTo(7);
        assertThat(read.valueAtQuantile(0.5))
                .isCloseTo(1, org.assertj.core.data.Offset.offset(0.01));
        // Sorted: -2.5, 0, 0, 1, 2, 3, 1000; rank floor(0.99 x 6) = 5.
        assertThat(read.valueAtQuantile(0.99))
                .isCloseTo(3, org.assertj.core.data.Offset.offset(0.03));
        assertThat(read.valueAtQuantile(0.01))
                .isCloseTo(-2.5, org.assertj.core.data.Offset.offset(0.025));
        for (double q : QUANTILES) {
            assertThat(read.valueAtQuantile(q)).isEqualTo(sketch.valueAtQuantile(q));
        }
        assertThat(read.toProtobuf()).isEqualTo(sketch.toProtobuf());
    }

    static final String FIRST_FORMAT =
            "0000002202fd4a815abf52f03f000000000000000004030504000244022802c6040207015a02";

    /**
     * The second state format, written since: a change fails here and needs a new serializer
     * snapshot version that still reads these bytes and the first format's.
     */
    @Test
    void writesAndReadsTheSecondStateFormat() throws Exception {
        ValueSketch sketch = ValueSketch.withRelativeAccuracy(ACCURACY);
        for (double value : new double[] {-2.5, 0, 0, 1, 2, 3, 1000}) {
            sketch.add(value);
        }
        DataOutputSerializer out = new DataOutputSerializer(64);
        ValueSketchSerializer.INSTANCE.serialize(sketch, out);
        assertThat(toHex(out.getCopyOfBuffer())).isEqualTo(SECOND_FORMAT);

        ValueSketch read =
                ValueSketchSerializer.INSTANCE.deserialize(
                        new DataInputDeserializer(fromHex(SECOND_FORMAT)));
        assertThat(read).isEqualTo(sketch);
        assertThat(read.count()).isEqualTo(7);
        for (double q : QUANTILES) {
            assertThat(read.valueAtQuantile(q)).isEqualTo(sketch.valueAtQuantile(q));
        }
    }

    static final String SECOND_FORMAT =
            "0202fd4a815abf52f03f00000000000000000401045a02000244022802c60402";

    @Test
    void theProtobufEncodingStartsWithTheIndexMappingMessage() {
        ValueSketch sketch = ValueSketch.withRelativeAccuracy(ACCURACY);
        sketch.add(42);
        byte[] protobuf = sketch.toProtobuf();
        // Field 1 of the DDSketch message (mapping), length-delimited.
        assertThat(protobuf[0]).isEqualTo((byte) 0x0A);
        assertThat(protobuf.length).isGreaterThan(10);
    }

    @Test
    void anAccumulatorReportsItsSketchOnlyWhenItCoversEveryValue() {
        TelemetryAccumulator restoredWithoutSketch = new TelemetryAccumulator();
        restoredWithoutSketch.add(1);
        PartialAggregate sketched = new PartialAggregate("d", "m", 0, ACCURACY);
        sketched.add(2);
        restoredWithoutSketch.merge(sketched);
        assertThat(restoredWithoutSketch.hasCompleteSketch()).isFalse();

        TelemetryAccumulator fresh = new TelemetryAccumulator();
        fresh.merge(sketched);
        PartialAggregate more = new PartialAggregate("d", "m", 0, ACCURACY);
        more.add(3);
        fresh.merge(more);
        assertThat(fresh.hasCompleteSketch()).isTrue();
        assertThat(sketched.sketch.count()).as("the partial's sketch is not shared").isEqualTo(1);

        PartialAggregate unsketched = new PartialAggregate("d", "m", 0);
        unsketched.add(4);
        fresh.merge(unsketched);
        assertThat(fresh.hasCompleteSketch()).isFalse();
    }

    private static String toHex(byte[] bytes) {
        StringBuilder hex = new StringBuilder();
        for (byte b : bytes) {
            hex.append(String.format("%02x", b));
        }
        return hex.toString();
    }

    private static byte[] fromHex(String hex) {
        byte[] bytes = new byte[hex.length() / 2];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) Integer.parseInt(hex.substring(2 * i, 2 * i + 2), 16);
        }
        return bytes;
    }
}
