package dev.telemetry.aggregator.service.flink;

import java.io.IOException;
import java.net.URI;
import org.apache.flink.core.fs.FSDataInputStream;
import org.apache.flink.core.fs.FSDataOutputStream;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.fs.FileSystemFactory;
import org.apache.flink.core.fs.Path;
import org.apache.flink.core.fs.local.LocalFileSystem;

/**
 * Flink's local file system with buffered reads and writes: the checkpoint volume's scheme ({@code
 * file:}) in the embedded cluster.
 *
 * <p>Flink's {@link LocalFileSystem} hands out unbuffered streams. A restore reads state through
 * {@code DataInputStream}: a string key is read one byte at a time, each byte a {@code read(2)} of
 * the file, so a restore's system calls grew with the number of series. A snapshot of operator list
 * state (the series cap's admitted keys, one element per key) asks for the stream's position before
 * every element, and Flink's checkpoint stream answers by writing out what it holds and asking the
 * file for its position: a {@code write(2)} and an {@code lseek(2)} per element, at every
 * checkpoint. Buffered, both are one call per {@value #BUFFER_BYTES} bytes, and the position is
 * counted here (figures: {@code bench/results/NOTES.md}, "sixth pass" and "seventh pass").
 *
 * <p>Flink loads file systems by scheme through {@link java.util.ServiceLoader} (this jar's {@code
 * META-INF/services}), after its own local one, so this factory replaces it. Everything but {@code
 * open} and {@code create} is Flink's. The Flink cluster job jar does not carry this class: a real
 * cluster keeps its own file systems.
 */
public class BufferedLocalFileSystem extends LocalFileSystem {
    /** Large enough that one read covers a key group of a small job's state; 64 KiB per stream. */
    static final int BUFFER_BYTES = 64 * 1024;

    private static final BufferedLocalFileSystem INSTANCE = new BufferedLocalFileSystem();

    @Override
    public FSDataInputStream open(Path path, int bufferSize) throws IOException {
        return open(path);
    }

    @Override
    public FSDataInputStream open(Path path) throws IOException {
        return new BufferedInput(super.open(path), BUFFER_BYTES);
    }

    @Override
    public FSDataOutputStream create(Path path, WriteMode overwrite) throws IOException {
        return new BufferedOutput(super.create(path, overwrite), BUFFER_BYTES);
    }

    /** Registered in {@code META-INF/services/org.apache.flink.core.fs.FileSystemFactory}. */
    public static final class Factory implements FileSystemFactory {
        @Override
        public String getScheme() {
            return LocalFileSystem.getLocalFsURI().getScheme();
        }

        @Override
        public FileSystem create(URI fsUri) {
            return INSTANCE;
        }
    }

    /**
     * A seekable stream read through a buffer. Invariant: the wrapped stream is at {@code
     * bufferStart + limit}, and this stream at {@code bufferStart + position}. A seek inside the
     * buffer moves only {@code position}.
     */
    static final class BufferedInput extends FSDataInputStream {
        private final FSDataInputStream in;
        private final byte[] buffer;
        private long bufferStart;
        private int position;
        private int limit;

        BufferedInput(FSDataInputStream in, int bufferBytes) throws IOException {
            this.in = in;
            this.buffer = new byte[bufferBytes];
            this.bufferStart = in.getPos();
        }

        @Override
        public void seek(long desired) throws IOException {
            if (desired >= bufferStart && desired <= bufferStart + limit) {
                position = (int) (desired - bufferStart);
                return;
            }
            in.seek(desired);
            bufferStart = desired;
            position = 0;
            limit = 0;
        }

        @Override
        public long getPos() {
            return bufferStart + position;
        }

        @Override
        public int read() throws IOException {
            if (position == limit && !fill()) {
                return -1;
            }
            return buffer[position++] & 0xff;
        }

        @Override
        public int read(byte[] bytes, int offset, int length) throws IOException {
            if (length == 0) {
                return 0;
            }
            if (position == limit) {
                if (length >= buffer.length) {
                    // A large read goes straight to the file; copying it through the buffer
                    // would only add a copy.
                    int read = in.read(bytes, offset, length);
                    if (read > 0) {
                        bufferStart += limit + read;
                        position = 0;
                        limit = 0;
                    }
                    return read;
                }
                if (!fill()) {
                    return -1;
                }
            }
            int copied = Math.min(length, limit - position);
            System.arraycopy(buffer, position, bytes, offset, copied);
            position += copied;
            return copied;
        }

        @Override
        public long skip(long count) throws IOException {
            if (count <= 0) {
                return 0;
            }
            if (position < limit) {
                int skipped = (int) Math.min(count, limit - position);
                position += skipped;
                return skipped;
            }
            long skipped = in.skip(count);
            bufferStart += limit + skipped;
            position = 0;
            limit = 0;
            return skipped;
        }

        @Override
        public int available() throws IOException {
            return (int) Math.min(Integer.MAX_VALUE, (long) (limit - position) + in.available());
        }

        @Override
        public void close() throws IOException {
            in.close();
        }

        /** Refills the buffer from the wrapped stream; false at the end of the file. */
        private boolean fill() throws IOException {
            bufferStart += limit;
            position = 0;
            limit = 0;
            int read = in.read(buffer, 0, buffer.length);
            if (read <= 0) {
                return false;
            }
            limit = read;
            return true;
        }
    }

    /**
     * A stream written through a buffer, which knows its position without asking the file. {@code
     * flush}, {@code sync} and {@code close} write the buffer out first, so each keeps its meaning
     * (Flink's checkpoint streams sync and close before they hand a file's handle on).
     */
    static final class BufferedOutput extends FSDataOutputStream {
        private final FSDataOutputStream out;
        private final byte[] buffer;
        private int count;

        /** The wrapped stream's position: where the buffer's first byte goes. */
        private long written;

        BufferedOutput(FSDataOutputStream out, int bufferBytes) throws IOException {
            this.out = out;
            this.buffer = new byte[bufferBytes];
            this.written = out.getPos();
        }

        @Override
        public long getPos() {
            return written + count;
        }

        @Override
        public void write(int b) throws IOException {
            if (count == buffer.length) {
                drain();
            }
            buffer[count++] = (byte) b;
        }

        @Override
        public void write(byte[] bytes, int offset, int length) throws IOException {
            if (length >= buffer.length) {
                // A large write goes straight to the file; copying it through the buffer would
                // only add a copy.
                drain();
                out.write(bytes, offset, length);
                written += length;
                return;
            }
            if (length > buffer.length - count) {
                drain();
            }
            System.arraycopy(bytes, offset, buffer, count, length);
            count += length;
        }

        @Override
        public void flush() throws IOException {
            drain();
            out.flush();
        }

        @Override
        public void sync() throws IOException {
            drain();
            out.sync();
        }

        @Override
        public void close() throws IOException {
            try {
                drain();
            } finally {
                out.close();
            }
        }

        private void drain() throws IOException {
            if (count > 0) {
                out.write(buffer, 0, count);
                written += count;
                count = 0;
            }
        }
    }
}
