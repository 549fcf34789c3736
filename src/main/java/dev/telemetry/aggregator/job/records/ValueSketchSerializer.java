package dev.telemetry.aggregator.job.records;

import java.io.IOException;
import java.lang.reflect.Type;
import java.util.Map;
import org.apache.flink.api.common.serialization.SerializerConfig;
import org.apache.flink.api.common.typeinfo.TypeInfoFactory;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.SimpleTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.base.TypeSerializerSingleton;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/**
 * Flink's serializer of a {@link ValueSketch} in window state and on the wire: a length and
 * DDSketch's binary encoding, which carries the index mapping (so the accuracy) and the bins. Its
 * format is pinned by {@code ValueSketchTest}; a change needs a new snapshot version.
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
        byte[] encoded = record.encode();
        target.writeInt(encoded.length);
        target.write(encoded);
    }

    @Override
    public ValueSketch deserialize(DataInputView source) throws IOException {
        byte[] encoded = new byte[source.readInt()];
        source.readFully(encoded);
        return ValueSketch.decode(encoded);
    }

    @Override
    public ValueSketch deserialize(ValueSketch reuse, DataInputView source) throws IOException {
        return deserialize(source);
    }

    @Override
    public void copy(DataInputView source, DataOutputView target) throws IOException {
        byte[] encoded = new byte[source.readInt()];
        source.readFully(encoded);
        target.writeInt(encoded.length);
        target.write(encoded);
    }

    @Override
    public TypeSerializerSnapshot<ValueSketch> snapshotConfiguration() {
        return new Snapshot();
    }

    /** The serializer's identity in checkpoints and savepoints. */
    public static final class Snapshot extends SimpleTypeSerializerSnapshot<ValueSketch> {
        public Snapshot() {
            super(() -> INSTANCE);
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
