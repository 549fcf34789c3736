package dev.telemetry.aggregator.job.records;

import com.datadoghq.sketch.ddsketch.DDSketch;
import com.datadoghq.sketch.ddsketch.encoding.BinEncodingMode;
import com.datadoghq.sketch.ddsketch.encoding.ByteArrayInput;
import com.datadoghq.sketch.ddsketch.encoding.Flag;
import com.datadoghq.sketch.ddsketch.encoding.GrowingByteArrayOutput;
import com.datadoghq.sketch.ddsketch.encoding.IndexMappingLayout;
import com.datadoghq.sketch.ddsketch.encoding.Input;
import com.datadoghq.sketch.ddsketch.encoding.MalformedInputException;
import com.datadoghq.sketch.ddsketch.encoding.VarEncodingHelper;
import com.datadoghq.sketch.ddsketch.mapping.IndexMapping;
import com.datadoghq.sketch.ddsketch.mapping.LogarithmicMapping;
import com.datadoghq.sketch.ddsketch.store.Bin;
import com.datadoghq.sketch.ddsketch.store.CollapsingLowestDenseStore;
import com.datadoghq.sketch.ddsketch.store.Store;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Iterator;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.apache.flink.api.common.typeinfo.TypeInfo;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.core.memory.DataOutputView;

/**
 * The distribution of one window's values, as a DDSketch: mergeable (the combiner's partials, the
 * window, coarser windows and a consumer's own merges all add up to the sketch of the union), and
 * each quantile it reports is within its relative accuracy of the exact one, for values of any sign
 * and zero, as long as the values span fewer than {@link #MAX_BINS} bins (with 1% accuracy, a ratio
 * of about 10^17 between the smallest and largest magnitude of each sign; beyond that the smallest
 * magnitudes are merged, so only low quantiles lose accuracy). Magnitudes below about 10^-300 count
 * as zero.
 *
 * <p>It is DDSketch's logarithmic index mapping with a collapsing-lowest dense store of {@link
 * #MAX_BINS} bins per sign, and reports exactly what such a {@link DDSketch} reports, but keeps its
 * bins in one of two forms. Most windows hold few values (a 1 s window of a few events, a partial
 * made between two checkpoints), while a dense store spans every bin between its smallest and
 * largest value (hundreds for values a few orders of magnitude apart): so up to {@link
 * #SPARSE_MAX_BINS} non-empty bins are kept as a sorted list, and only beyond that (or when a
 * sign's bins span more than {@link #MAX_BINS}, where the dense store starts collapsing) in
 * DDSketch's dense stores. The count is kept, not summed over the bins.
 *
 * <p>Kept in window state and sent between tasks by {@link ValueSketchSerializer}: see {@link
 * #writeTo} for the format. {@link #toProtobuf} gives DDSketch's standard encoding for consumers.
 */
@TypeInfo(ValueSketchSerializer.TypeFactory.class)
public final class ValueSketch {
    /** The most bins per sign: bounds a sketch at about 16 KB however many values it holds. */
    public static final int MAX_BINS = 2048;

    /**
     * Non-empty bins (of both signs) up to which they are kept as a sorted list. Finding a bin
     * there is a binary search of a few steps and a new bin moves at most this many entries; past
     * it the dense stores (one array slot per bin of the range) are as small and faster.
     */
    static final int SPARSE_MAX_BINS = 128;

    /** The form written by {@link #writeTo}; the first release's form starts with 0. */
    static final byte SECOND_FORMAT = 2;

    private static final Supplier<Store> STORE = () -> new CollapsingLowestDenseStore(MAX_BINS);

    /**
     * The sorted list's key of a negative value's bin: {@code -NEGATIVE_KEY_BASE - index}, below
     * every positive bin's key (its index), so that keys sort as the values do.
     */
    private static final long NEGATIVE_KEY_BASE = 1L << 40;

    private static final long LOWEST_POSITIVE_KEY = Integer.MIN_VALUE;

    private final Mapping mapping;

    /** How many values it holds: the zero count plus every bin's count. */
    private double count;

    /** Values that count as zero (also in dense form). */
    private double zeroCount;

    // The sparse form (while positive == null): keys in ascending order, the negative bins first.
    private long[] keys;
    private double[] counts;
    private int size;
    private int negativeBins;

    // The dense form: both non-null, or both null.
    private Store negative;
    private Store positive;

    private ValueSketch(Mapping mapping) {
        this.mapping = mapping;
    }

    /** An empty sketch whose quantiles are within {@code relativeAccuracy} of the exact ones. */
    public static ValueSketch withRelativeAccuracy(double relativeAccuracy) {
        return new ValueSketch(Mapping.withRelativeAccuracy(relativeAccuracy));
    }

    public void add(double value) {
        // As DDSketch.accept: the same checks in the same order, so NaN counts as zero as there.
        if (value < -mapping.maxIndexed || value > mapping.maxIndexed) {
            throw new IllegalArgumentException(
                    "The input value is outside the range that is tracked by the sketch.");
        }
        if (value > mapping.minIndexed) {
            int index = mapping.indexMapping.index(value);
            if (positive != null) {
                positive.add(index);
            } else {
                addSparse(index, 1);
            }
        } else if (value < -mapping.minIndexed) {
            int index = mapping.indexMapping.index(-value);
            if (negative != null) {
                negative.add(index);
            } else {
                addSparse(negativeKey(index), 1);
            }
        } else {
            zeroCount++;
        }
        count++;
    }

    /**
     * Adds the other sketch's values. A sketch of another accuracy (the setting changed across a
     * restore) is converted to this one's first, which may add the other's error to this one's.
     */
    public void merge(ValueSketch other) {
        ValueSketch source = other == this ? copy() : other;
        if (other.mapping != mapping && !other.mapping.indexMapping.equals(mapping.indexMapping)) {
            source = other.convertedTo(mapping);
        }
        count += source.count;
        zeroCount += source.zeroCount;
        if (source.positive != null) {
            if (positive == null) {
                toDense();
            }
            negative.mergeWith(source.negative);
            positive.mergeWith(source.positive);
        } else if (positive != null) {
            for (int i = 0; i < source.size; i++) {
                addToDense(source.keys[i], source.counts[i]);
            }
        } else if (source.size <= 8 || size == 0) {
            if (size == 0 && source.size > 0) {
                keys = Arrays.copyOf(source.keys, source.size);
                counts = Arrays.copyOf(source.counts, source.size);
                size = source.size;
                negativeBins = source.negativeBins;
            } else {
                for (int i = 0; i < source.size; i++) {
                    if (positive == null) {
                        addSparse(source.keys[i], source.counts[i]);
                    } else {
                        addToDense(source.keys[i], source.counts[i]);
                    }
                }
            }
        } else {
            mergeSparse(source);
        }
    }

    public ValueSketch copy() {
        ValueSketch copy = new ValueSketch(mapping);
        copy.count = count;
        copy.zeroCount = zeroCount;
        if (positive != null) {
            copy.negative = negative.copy();
            copy.positive = positive.copy();
        } else if (size > 0) {
            copy.keys = Arrays.copyOf(keys, size);
            copy.counts = Arrays.copyOf(counts, size);
            copy.size = size;
            copy.negativeBins = negativeBins;
        }
        return copy;
    }

    /** How many values it holds. */
    public long count() {
        return Math.round(count);
    }

    /**
     * The value at rank {@code floor(quantile x (count - 1))} of the sorted values, within the
     * relative accuracy.
     */
    public double valueAtQuantile(double quantile) {
        // As DDSketch.getValueAtQuantile, over either form.
        if (quantile < 0 || quantile > 1) {
            throw new IllegalArgumentException("The quantile must be between 0 and 1.");
        }
        if (count == 0) {
            throw new NoSuchElementException();
        }
        double rank = quantile * (count - 1);
        double n = 0;
        IndexMapping indexMapping = mapping.indexMapping;
        if (positive == null) {
            for (int i = 0; i < negativeBins; i++) {
                if ((n += counts[i]) > rank) {
                    return -indexMapping.value(negativeIndex(keys[i]));
                }
            }
            if ((n += zeroCount) > rank) {
                return 0;
            }
            for (int i = negativeBins; i < size; i++) {
                if ((n += counts[i]) > rank) {
                    return indexMapping.value((int) keys[i]);
                }
            }
        } else {
            Iterator<Bin> negativeBins = negative.getDescendingIterator();
            while (negativeBins.hasNext()) {
                Bin bin = negativeBins.next();
                if ((n += bin.getCount()) > rank) {
                    return -indexMapping.value(bin.getIndex());
                }
            }
            if ((n += zeroCount) > rank) {
                return 0;
            }
            Iterator<Bin> positiveBins = positive.getAscendingIterator();
            while (positiveBins.hasNext()) {
                Bin bin = positiveBins.next();
                if ((n += bin.getCount()) > rank) {
                    return indexMapping.value(bin.getIndex());
                }
            }
        }
        throw new NoSuchElementException();
    }

    /**
     * DDSketch's standard protobuf encoding (the {@code DDSketch} message of {@code
     * ddsketch.proto}), which the DDSketch libraries of Java, Go, Python and JavaScript read and
     * merge.
     */
    public byte[] toProtobuf() {
        ValueSketch dense = this;
        if (positive == null) {
            dense = copy();
            dense.toDense();
        }
        ByteBuffer buffer =
                DDSketch.of(mapping.indexMapping, dense.negative, dense.positive, zeroCount)
                        .serialize();
        byte[] bytes = new byte[buffer.remaining()];
        buffer.get(bytes);
        return bytes;
    }

    /**
     * Writes the sketch in the second format, in one pass and without a buffer:
     *
     * <pre>
     * byte      2 (the first format starts with its length's high byte, 0)
     * 17 bytes  the index mapping as DDSketch encodes it (its layout flag, gamma, index offset)
     * count     the zero count
     * varint    negative bins, varint positive bins
     * per bin   zig-zag varint of its index minus the previous bin's (of that sign; first: minus 0),
     *           then its count; each sign's bins in ascending index order
     * </pre>
     *
     * A count is an unsigned varint of twice its value when it is a whole number below 2^53 (so a
     * count of 1 is one byte), else a varint 1 and the 8 bytes of the double.
     */
    void writeTo(DataOutputView out) throws IOException {
        out.writeByte(SECOND_FORMAT);
        out.write(mapping.encoded);
        writeCount(out, zeroCount);
        if (positive == null) {
            writeVarLong(out, negativeBins);
            writeVarLong(out, size - negativeBins);
            long previous = 0;
            for (int i = negativeBins - 1; i >= 0; i--) {
                long index = negativeIndex(keys[i]);
                writeVarLong(out, zigZag(index - previous));
                writeCount(out, counts[i]);
                previous = index;
            }
            previous = 0;
            for (int i = negativeBins; i < size; i++) {
                writeVarLong(out, zigZag(keys[i] - previous));
                writeCount(out, counts[i]);
                previous = keys[i];
            }
        } else {
            writeVarLong(out, nonEmptyBins(negative));
            writeVarLong(out, nonEmptyBins(positive));
            writeBins(out, negative);
            writeBins(out, positive);
        }
    }

    /** Reads what {@link #writeTo} wrote, its first byte already read. */
    static ValueSketch readSecondFormat(DataInputView in) throws IOException {
        byte[] encodedMapping = new byte[Mapping.ENCODED_LENGTH];
        in.readFully(encodedMapping);
        ValueSketch sketch = new ValueSketch(Mapping.decode(encodedMapping));
        double zeroCount = readCount(in);
        int negativeBins = readBinCount(in);
        int positiveBins = readBinCount(in);
        int bins = negativeBins + positiveBins;
        sketch.zeroCount = zeroCount;
        double count = zeroCount;
        if (bins <= SPARSE_MAX_BINS) {
            long[] keys = new long[bins];
            double[] counts = new double[bins];
            long index = 0;
            for (int i = negativeBins - 1; i >= 0; i--) {
                index += unZigZag(readVarLong(in));
                keys[i] = negativeKey(checkedIndex(index));
                counts[i] = readCount(in);
                count += counts[i];
            }
            index = 0;
            for (int i = negativeBins; i < bins; i++) {
                index += unZigZag(readVarLong(in));
                keys[i] = checkedIndex(index);
                counts[i] = readCount(in);
                count += counts[i];
            }
            sketch.keys = bins == 0 ? null : keys;
            sketch.counts = bins == 0 ? null : counts;
            sketch.size = bins;
            sketch.negativeBins = negativeBins;
            sketch.count = count;
            if (sketch.spansTooWide()) {
                sketch.toDense();
            }
        } else {
            sketch.negative = STORE.get();
            sketch.positive = STORE.get();
            count += readBins(in, negativeBins, sketch.negative);
            count += readBins(in, positiveBins, sketch.positive);
            sketch.count = count;
        }
        return sketch;
    }

    /**
     * Reads the first release's form (DDSketch's own binary encoding, index mapping included),
     * which that release kept in state.
     */
    static ValueSketch decodeFirstFormat(byte[] encoded) throws IOException {
        // DDSketch.decode, keeping the zero count, which DDSketch does not expose.
        Input input = ByteArrayInput.wrap(encoded);
        IndexMapping indexMapping = null;
        Store negative = STORE.get();
        Store positive = STORE.get();
        double zeroCount = 0;
        while (input.hasRemaining()) {
            Flag flag = Flag.decode(input);
            switch (flag.type()) {
                case POSITIVE_STORE ->
                        positive.decodeAndMergeWith(input, BinEncodingMode.ofFlag(flag));
                case NEGATIVE_STORE ->
                        negative.decodeAndMergeWith(input, BinEncodingMode.ofFlag(flag));
                case INDEX_MAPPING -> {
                    IndexMapping decoded =
                            IndexMapping.decode(input, IndexMappingLayout.ofFlag(flag));
                    if (indexMapping != null && !indexMapping.equals(decoded)) {
                        throw new MalformedInputException("Two different index mappings.");
                    }
                    indexMapping = decoded;
                }
                default -> {
                    if (!Flag.ZERO_COUNT.equals(flag)) {
                        // The first release wrote DDSketch's encoding, which has no other flags.
                        throw new MalformedInputException("The flag is invalid.");
                    }
                    zeroCount += VarEncodingHelper.decodeVarDouble(input);
                }
            }
        }
        if (indexMapping == null) {
            throw new MalformedInputException("The index mapping is missing.");
        }
        ValueSketch sketch = new ValueSketch(Mapping.of(indexMapping));
        sketch.zeroCount = zeroCount;
        sketch.count = zeroCount + negative.getTotalCount() + positive.getTotalCount();
        sketch.negative = negative;
        sketch.positive = positive;
        return sketch;
    }

    /** The second format's bytes: equal sketches (whatever their form) write equal bytes. */
    private byte[] encoded() {
        DataOutputSerializer out = new DataOutputSerializer(64);
        try {
            writeTo(out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.getCopyOfBuffer();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ValueSketch that && Arrays.equals(encoded(), that.encoded());
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(encoded());
    }

    @Override
    public String toString() {
        return "ValueSketch{count="
                + count()
                + ", accuracy="
                + mapping.indexMapping.relativeAccuracy()
                + (positive == null ? ", " + size + " bins" : ", dense")
                + "}";
    }

    /** Whether it is in the dense form, for tests. */
    boolean isDense() {
        return positive != null;
    }

    private static long negativeKey(int index) {
        return -NEGATIVE_KEY_BASE - index;
    }

    private static int negativeIndex(long key) {
        return (int) (-NEGATIVE_KEY_BASE - key);
    }

    private void addSparse(long key, double binCount) {
        if (keys == null) {
            keys = new long[4];
            counts = new double[4];
        }
        int at = Arrays.binarySearch(keys, 0, size, key);
        if (at >= 0) {
            counts[at] += binCount;
            return;
        }
        at = -at - 1;
        if (size == keys.length) {
            keys = Arrays.copyOf(keys, size * 2);
            counts = Arrays.copyOf(counts, size * 2);
        }
        System.arraycopy(keys, at, keys, at + 1, size - at);
        System.arraycopy(counts, at, counts, at + 1, size - at);
        keys[at] = key;
        counts[at] = binCount;
        size++;
        if (key < LOWEST_POSITIVE_KEY) {
            negativeBins++;
        }
        if (size > SPARSE_MAX_BINS || spansTooWide()) {
            toDense();
        }
    }

    /** Adds a sorted list of more than a few bins at once. */
    private void mergeSparse(ValueSketch source) {
        long[] mergedKeys = new long[size + source.size];
        double[] mergedCounts = new double[mergedKeys.length];
        int merged = 0;
        int mergedNegative = 0;
        int i = 0;
        int j = 0;
        while (i < size || j < source.size) {
            long key;
            double binCount;
            if (j == source.size || (i < size && keys[i] < source.keys[j])) {
                key = keys[i];
                binCount = counts[i++];
            } else if (i == size || source.keys[j] < keys[i]) {
                key = source.keys[j];
                binCount = source.counts[j++];
            } else {
                key = keys[i];
                binCount = counts[i++] + source.counts[j++];
            }
            mergedKeys[merged] = key;
            mergedCounts[merged++] = binCount;
            if (key < LOWEST_POSITIVE_KEY) {
                mergedNegative++;
            }
        }
        keys = mergedKeys;
        counts = mergedCounts;
        size = merged;
        negativeBins = mergedNegative;
        if (size > SPARSE_MAX_BINS || spansTooWide()) {
            toDense();
        }
    }

    /**
     * Whether a sign's bins span more than a dense store holds without collapsing: then the dense
     * form must take over, so that the lowest bins collapse as in DDSketch.
     */
    private boolean spansTooWide() {
        return (negativeBins > 0 && keys[negativeBins - 1] - keys[0] >= MAX_BINS)
                || (size > negativeBins && keys[size - 1] - keys[negativeBins] >= MAX_BINS);
    }

    /**
     * Moves the bins into dense stores. A collapsing-lowest dense store ends up with the same bins
     * whatever order its bins or values come in (each lands in its own bin, or in the lowest one
     * kept when the range is too wide), so this is the sketch that adding the values gives.
     */
    private void toDense() {
        negative = STORE.get();
        positive = STORE.get();
        for (int i = 0; i < size; i++) {
            addToDense(keys[i], counts[i]);
        }
        keys = null;
        counts = null;
        size = 0;
        negativeBins = 0;
    }

    private void addToDense(long key, double binCount) {
        if (key < LOWEST_POSITIVE_KEY) {
            negative.add(negativeIndex(key), binCount);
        } else {
            positive.add((int) key, binCount);
        }
    }

    /** This sketch's values in another index mapping, in dense form. */
    private ValueSketch convertedTo(Mapping target) {
        ValueSketch dense = this;
        if (positive == null) {
            dense = copy();
            dense.toDense();
        }
        DDSketch converted =
                DDSketch.of(mapping.indexMapping, dense.negative, dense.positive, zeroCount)
                        .convert(target.indexMapping, STORE);
        ValueSketch sketch = new ValueSketch(target);
        sketch.zeroCount = zeroCount;
        sketch.count = count;
        sketch.negative = converted.getNegativeValueStore();
        sketch.positive = converted.getPositiveValueStore();
        return sketch;
    }

    private static int nonEmptyBins(Store store) {
        int[] bins = {0};
        store.forEach((index, binCount) -> bins[0]++);
        return bins[0];
    }

    private static void writeBins(DataOutputView out, Store store) throws IOException {
        long[] previous = {0};
        try {
            store.forEach(
                    (index, binCount) -> {
                        try {
                            writeVarLong(out, zigZag(index - previous[0]));
                            writeCount(out, binCount);
                        } catch (IOException e) {
                            throw new UncheckedIOException(e);
                        }
                        previous[0] = index;
                    });
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    private static double readBins(DataInputView in, int bins, Store store) throws IOException {
        double total = 0;
        long index = 0;
        for (int i = 0; i < bins; i++) {
            index += unZigZag(readVarLong(in));
            double binCount = readCount(in);
            store.add(checkedIndex(index), binCount);
            total += binCount;
        }
        return total;
    }

    private static int checkedIndex(long index) throws IOException {
        if (index < Integer.MIN_VALUE || index > Integer.MAX_VALUE) {
            throw new MalformedInputException("A bin index out of range: " + index);
        }
        return (int) index;
    }

    private static int readBinCount(DataInputView in) throws IOException {
        long bins = readVarLong(in);
        if (bins < 0 || bins > Integer.MAX_VALUE / 2) {
            throw new MalformedInputException("A bin count out of range: " + bins);
        }
        return (int) bins;
    }

    private static final double WHOLE_COUNT_LIMIT = 0x1p53;

    private static void writeCount(DataOutputView out, double binCount) throws IOException {
        if (binCount >= 0 && binCount < WHOLE_COUNT_LIMIT && binCount == Math.rint(binCount)) {
            writeVarLong(out, ((long) binCount) << 1);
        } else {
            writeVarLong(out, 1);
            out.writeDouble(binCount);
        }
    }

    private static double readCount(DataInputView in) throws IOException {
        long encoded = readVarLong(in);
        return (encoded & 1) == 0 ? (double) (encoded >>> 1) : in.readDouble();
    }

    private static void writeVarLong(DataOutputView out, long value) throws IOException {
        while ((value & ~0x7FL) != 0) {
            out.writeByte((int) (value & 0x7F) | 0x80);
            value >>>= 7;
        }
        out.writeByte((int) value);
    }

    private static long readVarLong(DataInputView in) throws IOException {
        long value = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            byte next = in.readByte();
            value |= (long) (next & 0x7F) << shift;
            if (next >= 0) {
                return value;
            }
        }
        throw new MalformedInputException("A varint longer than 10 bytes.");
    }

    private static long zigZag(long value) {
        return (value << 1) ^ (value >> 63);
    }

    private static long unZigZag(long value) {
        return (value >>> 1) ^ -(value & 1);
    }

    /**
     * An index mapping with what the hot paths need of it worked out once: one per accuracy, shared
     * by every sketch of that accuracy (mappings are immutable).
     */
    private static final class Mapping {
        /** DDSketch's encoding of a logarithmic mapping: layout flag, gamma, index offset. */
        static final int ENCODED_LENGTH = 17;

        private static final Map<Double, Mapping> BY_ACCURACY = new ConcurrentHashMap<>();
        private static final Map<ByteBuffer, Mapping> BY_ENCODING = new ConcurrentHashMap<>();

        private record Cached(double relativeAccuracy, Mapping mapping) {}

        private static volatile Cached lastByAccuracy;

        /** The mapping decoded last: nearly always the one decoded next. */
        private static volatile Mapping lastDecoded;

        /** Bounds the caches: accuracies come from the settings, so there are one or two. */
        private static final int MAX_CACHED = 16;

        final IndexMapping indexMapping;

        /** Magnitudes up to this count as zero, as in DDSketch. */
        final double minIndexed;

        /** Magnitudes above this are refused, as in DDSketch. */
        final double maxIndexed;

        final byte[] encoded;

        private Mapping(IndexMapping indexMapping) {
            this.indexMapping = indexMapping;
            this.minIndexed = Math.max(0, indexMapping.minIndexableValue());
            this.maxIndexed = indexMapping.maxIndexableValue();
            GrowingByteArrayOutput output = GrowingByteArrayOutput.withInitialCapacity(32);
            try {
                indexMapping.encode(output);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            this.encoded = output.trimmedCopy();
            if (encoded.length != ENCODED_LENGTH) {
                throw new IllegalArgumentException("Not a DDSketch log-like index mapping.");
            }
        }

        static Mapping withRelativeAccuracy(double relativeAccuracy) {
            // Every partial asks: the last answer, without boxing the accuracy for the map.
            Cached last = lastByAccuracy;
            if (last != null && last.relativeAccuracy == relativeAccuracy) {
                return last.mapping;
            }
            Mapping mapping = BY_ACCURACY.get(relativeAccuracy);
            if (mapping == null) {
                mapping = of(new LogarithmicMapping(relativeAccuracy));
                if (BY_ACCURACY.size() < MAX_CACHED) {
                    BY_ACCURACY.put(relativeAccuracy, mapping);
                }
            }
            lastByAccuracy = new Cached(relativeAccuracy, mapping);
            return mapping;
        }

        /** The shared mapping equal to this one. */
        static Mapping of(IndexMapping indexMapping) {
            Mapping mapping = new Mapping(indexMapping);
            Mapping cached = BY_ENCODING.get(ByteBuffer.wrap(mapping.encoded));
            if (cached != null) {
                return cached;
            }
            if (BY_ENCODING.size() < MAX_CACHED) {
                cached = BY_ENCODING.putIfAbsent(ByteBuffer.wrap(mapping.encoded), mapping);
            }
            return cached == null ? mapping : cached;
        }

        static Mapping decode(byte[] encoded) throws IOException {
            Mapping last = lastDecoded;
            if (last != null && Arrays.equals(last.encoded, encoded)) {
                return last;
            }
            Mapping cached = BY_ENCODING.get(ByteBuffer.wrap(encoded));
            if (cached != null) {
                lastDecoded = cached;
                return cached;
            }
            Input input = ByteArrayInput.wrap(encoded);
            Flag flag = Flag.decode(input);
            if (flag.type() != Flag.Type.INDEX_MAPPING) {
                throw new MalformedInputException("The index mapping is missing.");
            }
            return of(IndexMapping.decode(input, IndexMappingLayout.ofFlag(flag)));
        }
    }
}
