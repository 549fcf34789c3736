package dev.telemetry.aggregator.job.records;

import static org.assertj.core.api.Assertions.assertThat;

import com.datadoghq.sketch.ddsketch.DDSketch;
import com.datadoghq.sketch.ddsketch.encoding.GrowingByteArrayOutput;
import com.datadoghq.sketch.ddsketch.mapping.LogarithmicMapping;
import com.datadoghq.sketch.ddsketch.store.CollapsingLowestDenseStore;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.apache.flink.api.common.typeutils.TypeSerializerSchemaCompatibility;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A {@link ValueSketch} reports what the DDSketch it stands for reports (logarithmic mapping,
 * collapsing-lowest dense stores of {@link ValueSketch#MAX_BINS} bins), in its sparse form and its
 * dense one, after adds, merges and serialization in either format.
 */
class ValueSketchFormsTest {
    private static final double[] ACCURACIES = {0.005, 0.01, 0.05};
    private static final double[] QUANTILES = {
        0, 0.001, 0.01, 0.1, 0.25, 0.33, 0.5, 0.66, 0.75, 0.9, 0.95, 0.99, 0.999, 1
    };
    private static final int[] SIZES = {1, 2, 4, 10, 60, 127, 128, 129, 300, 3000};

    private static DDSketch reference(double accuracy) {
        return new DDSketch(
                new LogarithmicMapping(accuracy),
                () -> new CollapsingLowestDenseStore(ValueSketch.MAX_BINS));
    }

    /** Values of several shapes, some spanning more bins than a store keeps (they collapse). */
    private static double[] values(Random random, int n) {
        int shape = random.nextInt(5);
        double[] values = new double[n];
        for (int i = 0; i < n; i++) {
            values[i] =
                    switch (shape) {
                        // The bench's values: quarters in [-25, 75).
                        case 0 -> (random.nextInt(400) - 100) / 4.0;
                        case 1 -> random.nextGaussian() * 100;
                        case 2 ->
                                (random.nextBoolean() ? 1 : -1)
                                        * Math.pow(10, random.nextDouble() * 40 - 20);
                        // Wider than 2048 bins at every accuracy here: the smallest collapse.
                        case 3 ->
                                (random.nextInt(4) == 0 ? -1 : 1)
                                        * Math.pow(10, random.nextDouble() * 600 - 300);
                        default ->
                                random.nextInt(10) == 0 ? 0.0 : Math.rint(random.nextDouble() * 5);
                    };
        }
        return values;
    }

    private static void assertSame(ValueSketch sketch, DDSketch reference) {
        assertThat(sketch.count()).isEqualTo(Math.round(reference.getCount()));
        for (double q : QUANTILES) {
            assertThat(sketch.valueAtQuantile(q))
                    .as("q %s", q)
                    .isEqualTo(reference.getValueAtQuantile(q));
        }
        ByteBuffer protobuf = reference.serialize();
        byte[] expected = new byte[protobuf.remaining()];
        protobuf.get(expected);
        assertThat(sketch.toProtobuf()).isEqualTo(expected);
    }

    private static ValueSketch roundTrip(ValueSketch sketch) throws Exception {
        DataOutputSerializer out = new DataOutputSerializer(64);
        ValueSketchSerializer.INSTANCE.serialize(sketch, out);
        DataInputDeserializer in = new DataInputDeserializer(out.getCopyOfBuffer());
        ValueSketch read = ValueSketchSerializer.INSTANCE.deserialize(in);
        assertThat(in.available()).isZero();
        return read;
    }

    /** What the first release wrote: a length and DDSketch's binary encoding. */
    private static byte[] firstFormat(DDSketch reference) throws Exception {
        GrowingByteArrayOutput encoded = GrowingByteArrayOutput.withDefaultInitialCapacity();
        reference.encode(encoded, false);
        byte[] bytes = encoded.trimmedCopy();
        DataOutputSerializer out = new DataOutputSerializer(64);
        out.writeInt(bytes.length);
        out.write(bytes);
        return out.getCopyOfBuffer();
    }

    @Test
    void addedValuesReportWhatDDSketchReportsInEitherForm() throws Exception {
        Random random = new Random(11);
        for (int round = 0; round < 40; round++) {
            for (int n : SIZES) {
                double accuracy = ACCURACIES[random.nextInt(ACCURACIES.length)];
                double[] values = values(random, n);
                ValueSketch sketch = ValueSketch.withRelativeAccuracy(accuracy);
                DDSketch reference = reference(accuracy);
                for (double value : values) {
                    sketch.add(value);
                    reference.accept(value);
                }
                assertSame(sketch, reference);

                ValueSketch read = roundTrip(sketch);
                assertThat(read).isEqualTo(sketch);
                assertSame(read, reference);

                ValueSketch old =
                        ValueSketchSerializer.INSTANCE.deserialize(
                                new DataInputDeserializer(firstFormat(reference)));
                assertThat(old).as("the first format of the same values").isEqualTo(sketch);
                assertSame(old, reference);
                assertSame(roundTrip(old), reference);
            }
        }
    }

    @Test
    void mergedPartsReportWhatOneSketchOfAllValuesReports() throws Exception {
        Random random = new Random(12);
        for (int round = 0; round < 200; round++) {
            double accuracy = ACCURACIES[random.nextInt(ACCURACIES.length)];
            double[] values = values(random, SIZES[random.nextInt(SIZES.length)]);
            DDSketch reference = reference(accuracy);
            int partCount = 1 + random.nextInt(20);
            List<ValueSketch> parts = new ArrayList<>();
            for (int i = 0; i < partCount; i++) {
                parts.add(ValueSketch.withRelativeAccuracy(accuracy));
            }
            for (double value : values) {
                reference.accept(value);
                // Uneven parts: some few values (sparse), some many (dense).
                int part = random.nextBoolean() ? 0 : random.nextInt(partCount);
                parts.get(part).add(value);
            }
            Collections.shuffle(parts, random);
            ValueSketch merged;
            if (random.nextBoolean()) {
                merged = ValueSketch.withRelativeAccuracy(accuracy);
            } else {
                merged = parts.remove(0).copy();
            }
            for (ValueSketch part : parts) {
                ValueSketch before = part.copy();
                merged.merge(random.nextBoolean() ? part : roundTrip(part));
                assertThat(part).as("the merged part is unchanged").isEqualTo(before);
            }
            assertSame(merged, reference);
            assertSame(roundTrip(merged), reference);
        }
    }

    @Test
    void aCopyIsIndependentOfItsOriginal() {
        for (int n : new int[] {3, 500}) {
            ValueSketch original = ValueSketch.withRelativeAccuracy(0.01);
            for (int i = 1; i <= n; i++) {
                original.add(i);
            }
            ValueSketch copy = original.copy();
            ValueSketch more = ValueSketch.withRelativeAccuracy(0.01);
            more.add(-7);
            more.add(1e6);
            copy.add(42);
            copy.merge(more);

            assertThat(original.count()).isEqualTo(n);
            assertThat(copy.count()).isEqualTo(n + 3);
            assertThat(original.valueAtQuantile(1))
                    .isCloseTo(n, org.assertj.core.data.Offset.offset(n * 0.01));
        }
    }

    @Test
    void theFormsSwitchAtTheirLimits() {
        ValueSketch sketch = ValueSketch.withRelativeAccuracy(0.01);
        for (int i = 0; i < ValueSketch.SPARSE_MAX_BINS; i++) {
            sketch.add(Math.pow(1.05, i));
        }
        assertThat(sketch.isDense()).isFalse();
        sketch.add(Math.pow(1.05, ValueSketch.SPARSE_MAX_BINS));
        assertThat(sketch.isDense()).isTrue();

        ValueSketch wide = ValueSketch.withRelativeAccuracy(0.01);
        wide.add(1e-100);
        wide.add(1e100);
        assertThat(wide.isDense()).as("two bins further apart than a store spans").isTrue();
    }

    /** After a change of accuracy, merged counts are fractions: the format keeps them exactly. */
    @Test
    void fractionalCountsSurviveTheSerializer() throws Exception {
        ValueSketch fine = ValueSketch.withRelativeAccuracy(0.01);
        ValueSketch coarse = ValueSketch.withRelativeAccuracy(0.05);
        for (int i = 1; i <= 100; i++) {
            coarse.add(i * 1.37);
        }
        fine.merge(coarse);
        ValueSketch read = roundTrip(fine);
        assertThat(read).isEqualTo(fine);
        for (double q : QUANTILES) {
            assertThat(read.valueAtQuantile(q)).isEqualTo(fine.valueAtQuantile(q));
        }
    }

    @ParameterizedTest(name = "{0} values")
    @ValueSource(ints = {0, 3, 1000})
    void theSerializerCopiesEitherFormatAsTheSecond(int n) throws Exception {
        DDSketch reference = reference(0.01);
        ValueSketch sketch = ValueSketch.withRelativeAccuracy(0.01);
        for (int i = 0; i < n; i++) {
            reference.accept(i - n / 3.0);
            sketch.add(i - n / 3.0);
        }
        DataOutputSerializer second = new DataOutputSerializer(64);
        ValueSketchSerializer.INSTANCE.serialize(sketch, second);
        for (byte[] bytes : List.of(firstFormat(reference), second.getCopyOfBuffer())) {
            DataOutputSerializer copied = new DataOutputSerializer(64);
            ValueSketchSerializer.INSTANCE.copy(new DataInputDeserializer(bytes), copied);
            assertThat(copied.getCopyOfBuffer()).isEqualTo(second.getCopyOfBuffer());
        }
    }

    /**
     * State of the first release names this snapshot class at version 3 (a
     * SimpleTypeSerializerSnapshot's); it restores, with this serializer as it is.
     */
    @Test
    void theFirstReleasesSerializerSnapshotRestoresAsCompatible() throws Exception {
        DataOutputSerializer out = new DataOutputSerializer(64);
        out.writeUTF(ValueSketchSerializer.Snapshot.class.getName());
        out.writeInt(3);
        TypeSerializerSnapshot<ValueSketch> old =
                TypeSerializerSnapshot.readVersionedSnapshot(
                        new DataInputDeserializer(out.getCopyOfBuffer()),
                        getClass().getClassLoader());
        assertThat(((ValueSketchSerializer.Snapshot) old).readVersion()).isEqualTo(3);

        TypeSerializerSchemaCompatibility<ValueSketch> compatibility =
                ValueSketchSerializer.INSTANCE
                        .snapshotConfiguration()
                        .resolveSchemaCompatibility(old);
        assertThat(compatibility.isCompatibleAsIs()).isTrue();
        assertThat(old.restoreSerializer()).isSameAs(ValueSketchSerializer.INSTANCE);

        DataOutputSerializer current = new DataOutputSerializer(64);
        TypeSerializerSnapshot.writeVersionedSnapshot(
                current, ValueSketchSerializer.INSTANCE.snapshotConfiguration());
        DataInputDeserializer in = new DataInputDeserializer(current.getCopyOfBuffer());
        assertThat(in.readUTF()).isEqualTo(ValueSketchSerializer.Snapshot.class.getName());
        assertThat(in.readInt()).as("the second format's version").isEqualTo(4);
    }
}
