package dev.telemetry.aggregator.job.records;

import com.datadoghq.sketch.ddsketch.DDSketch;
import com.datadoghq.sketch.ddsketch.encoding.ByteArrayInput;
import com.datadoghq.sketch.ddsketch.encoding.GrowingByteArrayOutput;
import com.datadoghq.sketch.ddsketch.mapping.IndexMapping;
import com.datadoghq.sketch.ddsketch.mapping.LogarithmicMapping;
import com.datadoghq.sketch.ddsketch.store.CollapsingLowestDenseStore;
import com.datadoghq.sketch.ddsketch.store.Store;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.function.Supplier;
import org.apache.flink.api.common.typeinfo.TypeInfo;

/**
 * The distribution of one window's values, as a DDSketch: mergeable (the combiner's partials, the
 * window, coarser windows and a consumer's own merges all add up to the sketch of the union), and
 * each quantile it reports is within its relative accuracy of the exact one, for values of any sign
 * and zero, as long as the values span fewer than {@link #MAX_BINS} bins (with 1% accuracy, a ratio
 * of about 10^17 between the smallest and largest magnitude of each sign; beyond that the smallest
 * magnitudes are merged, so only low quantiles lose accuracy). Magnitudes below about 10^-300 count
 * as zero.
 *
 * <p>Kept in window state by {@link ValueSketchSerializer} in DDSketch's own binary encoding.
 */
@TypeInfo(ValueSketchSerializer.TypeFactory.class)
public final class ValueSketch {
    /** The most bins per sign: bounds a sketch at about 16 KB however many values it holds. */
    public static final int MAX_BINS = 2048;

    private static final Supplier<Store> STORE = () -> new CollapsingLowestDenseStore(MAX_BINS);

    private final DDSketch sketch;

    private ValueSketch(DDSketch sketch) {
        this.sketch = sketch;
    }

    /** An empty sketch whose quantiles are within {@code relativeAccuracy} of the exact ones. */
    public static ValueSketch withRelativeAccuracy(double relativeAccuracy) {
        return new ValueSketch(
                new DDSketch(new LogarithmicMapping(relativeAccuracy), STORE, STORE));
    }

    public void add(double value) {
        sketch.accept(value);
    }

    /**
     * Adds the other sketch's values. A sketch of another accuracy (the setting changed across a
     * restore) is converted to this one's first, which may add the other's error to this one's.
     */
    public void merge(ValueSketch other) {
        IndexMapping mapping = sketch.getIndexMapping();
        if (other.sketch.getIndexMapping().equals(mapping)) {
            sketch.mergeWith(other.sketch);
        } else {
            sketch.mergeWith(other.sketch.convert(mapping, STORE));
        }
    }

    public ValueSketch copy() {
        return new ValueSketch(sketch.copy());
    }

    /** How many values it holds. */
    public long count() {
        return Math.round(sketch.getCount());
    }

    /**
     * The value at rank {@code floor(quantile x (count - 1))} of the sorted values, within the
     * relative accuracy.
     */
    public double valueAtQuantile(double quantile) {
        return sketch.getValueAtQuantile(quantile);
    }

    /**
     * DDSketch's standard protobuf encoding (the {@code DDSketch} message of {@code
     * ddsketch.proto}), which the DDSketch libraries of Java, Go, Python and JavaScript read and
     * merge.
     */
    public byte[] toProtobuf() {
        ByteBuffer buffer = sketch.serialize();
        byte[] bytes = new byte[buffer.remaining()];
        buffer.get(bytes);
        return bytes;
    }

    /** DDSketch's compact binary encoding, index mapping included: the form kept in state. */
    byte[] encode() {
        GrowingByteArrayOutput output = GrowingByteArrayOutput.withDefaultInitialCapacity();
        try {
            sketch.encode(output, false);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return output.trimmedCopy();
    }

    static ValueSketch decode(byte[] encoded) throws IOException {
        return new ValueSketch(DDSketch.decode(ByteArrayInput.wrap(encoded), STORE));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ValueSketch that && Arrays.equals(encode(), that.encode());
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(encode());
    }

    @Override
    public String toString() {
        return "ValueSketch{count=" + count() + ", accuracy=" + sketch.getIndexMapping() + "}";
    }
}
