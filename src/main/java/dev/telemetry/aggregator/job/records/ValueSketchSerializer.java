package dev.telemetry.aggregator.job.records;

import java.io.IOException;
import java.lang.reflect.Type;
import java.util.Map;
import org.apache.flink.api.common.serialization.SerializerConfig;
import org.apache.flink.api.common.typeinfo.TypeInfoFactory;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSchemaCompatibility;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.base.TypeSerializerSingleton;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/**
 * Flink's serializer of a {@link ValueSketch} in window state and on the wire. It writes the second
 * format ({@link ValueSketch#writeTo}: the index mapping, so the accuracy, and the non-empty bins,
 * in one pass) and reads that and the first (a length and DDSketch's binary encoding, which the
 * first release with percentiles kept in state). Both are pinned by {@code ValueSketchTest}; a
 * change needs a new snapshot version.
 */
public final class ValueSketchSerializer extends TypeSerializerSingleton<ValueSketch> {
    private static final long serialVersionUID = 1L;

    public static final ValueSketchSerializer INSTANCE = new ValueSketchSerializer();

    @Override
    public boolean isImmutableType() {
        return false;
    }

    @Override
    public ValueSketch createInstance() {
        return null;
    }

    @Override
    public ValueSketch copy(ValueSketch from) {
        return from == null ? null : from.copy();
    }

    @Override
    public ValueSketch copy(ValueSketch from, ValueSketch reuse) {
        return copy(from);
    }

    @Override
    public int getLength() {
        return -1;
    }

    @Override
    public void serialize(ValueSketch record, DataOutputView target) throws IOException {
        record.writeTo(target);
    }

    @Override
    public ValueSketch deserialize(DataInputView source) throws IOException {
        byte first = source.readByte();
        if (first == ValueSketch.SECOND_FORMAT) {
            return ValueSketch.readSecondFormat(source);
        }
        if (first != 0) {
            throw new IOException("Not a ValueSketch: the first byte is " + first);
        }
        // The first format: an int length (a sketch's is far below 2^24, so its high byte is the
        // 0 just read) and DDSketch's binary encoding.
        int length = (source.readUnsignedByte() << 16) | source.readUnsignedShort();
        byte[] encoded = new byte[length];
        source.readFully(encoded);
        return ValueSketch.decodeFirstFormat(encoded);
    }

    @Override
    public ValueSketch deserialize(ValueSketch reuse, DataInputView source) throws IOException {
        return deserialize(source);
    }

    @Override
    public void copy(DataInputView source, DataOutputView target) throws IOException {
        // The second format has no length to copy by; either format is written as the second.
        serialize(deserialize(source), target);
    }

    @Override
    public TypeSerializerSnapshot<ValueSketch> snapshotConfiguration() {
        return new Snapshot();
    }

    /**
     * The serializer's identity in checkpoints and savepoints. Version 3 (written when this was a
     * {@code SimpleTypeSerializerSnapshot}, with no payload) stands for the first format, version 4
     * for the second; this serializer reads both, so state of either restores as it is (RocksDB
     * rewrites each sketch in the second format when it next changes). A release that knows only
     * version 3 refuses state written in the second format rather than misread it.
     */
    public static final class Snapshot implements TypeSerializerSnapshot<ValueSketch> {
        /** The first format's version: SimpleTypeSerializerSnapshot's. */
        static final int FIRST_FORMAT_VERSION = 3;

        static final int SECOND_FORMAT_VERSION = 4;

        private int readVersion = SECOND_FORMAT_VERSION;

        public Snapshot() {}

        @Override
        public int getCurrentVersion() {
            return SECOND_FORMAT_VERSION;
        }

        @Override
        public void writeSnapshot(DataOutputView out) {
            // Nothing but the version, as before.
        }

        @Override
        public void readSnapshot(int version, DataInputView in, ClassLoader classLoader)
                throws IOException {
            if (version != FIRST_FORMAT_VERSION && version != SECOND_FORMAT_VERSION) {
                throw new IOException("Unrecognized ValueSketchSerializer version: " + version);
            }
            readVersion = version;
        }

        /** The version this snapshot was read as, for tests. */
        int readVersion() {
            return readVersion;
        }

        @Override
        public TypeSerializer<ValueSketch> restoreSerializer() {
            return INSTANCE;
        }

        @Override
        public TypeSerializerSchemaCompatibility<ValueSketch> resolveSchemaCompatibility(
                TypeSerializerSnapshot<ValueSketch> oldSerializerSnapshot) {
            return oldSerializerSnapshot instanceof Snapshot
                    ? TypeSerializerSchemaCompatibility.compatibleAsIs()
                    : TypeSerializerSchemaCompatibility.incompatible();
        }

        @Override
        public boolean equals(Object o) {
            return o != null && o.getClass() == getClass();
        }

        @Override
        public int hashCode() {
            return getClass().hashCode();
        }
    }

    /** Makes Flink use this serializer wherever a {@link ValueSketch} is, instead of Kryo. */
    public static final class TypeFactory extends TypeInfoFactory<ValueSketch> {
        @Override
        public TypeInformation<ValueSketch> createTypeInfo(
                Type type, Map<String, TypeInformation<?>> genericParameters) {
            return new Info();
        }
    }

    /** The {@link TypeInformation} of a {@link ValueSketch}. */
    public static final class Info extends TypeInformation<ValueSketch> {
        private static final long serialVersionUID = 1L;

        @Override
        public boolean isBasicType() {
            return false;
        }

        @Override
        public boolean isTupleType() {
            return false;
        }

        @Override
        public int getArity() {
            return 1;
        }

        @Override
        public int getTotalFields() {
            return 1;
        }

        @Override
        public Class<ValueSketch> getTypeClass() {
            return ValueSketch.class;
        }

        @Override
        public boolean isKeyType() {
            return false;
        }

        @Override
        public TypeSerializer<ValueSketch> createSerializer(SerializerConfig config) {
            return INSTANCE;
        }

        @Override
        public String toString() {
            return "ValueSketch";
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Info;
        }

        @Override
        public int hashCode() {
            return Info.class.hashCode();
        }

        @Override
        public boolean canEqual(Object o) {
            return o instanceof Info;
        }
    }
}
