package dev.telemetry.aggregator.service.flink;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Flink loads the job's classes from where {@link EmbeddedFlinkConfiguration#jobCodeLocation()}
 * says they are. A class the JVM maps from its AOT cache (the image's, JDK 25) has no code source,
 * and a class defined here without a protection domain has one without a location.
 */
class JobCodeLocationTest {
    /** A class to package; its bytes are read from the test classes. */
    static final class Packaged {}

    @TempDir Path directory;

    @Test
    void aClassWithACodeSourceIsFoundThere() throws Exception {
        URL location = EmbeddedFlinkConfiguration.codeLocation(JobCodeLocationTest.class);

        assertThat(Path.of(location.toURI()).resolve(classFile(Packaged.class))).isRegularFile();
    }

    @Test
    void aClassWithoutACodeSourceIsFoundInTheJarItsClassFileIsIn() throws Exception {
        Path jar = directory.resolve("job classes.jar");
        byte[] bytes = classBytes(Packaged.class);
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
            out.putNextEntry(new JarEntry(classFile(Packaged.class)));
            out.write(bytes);
        }
        try (NoCodeSourceLoader loader = new NoCodeSourceLoader(jar, bytes)) {
            Class<?> type = loader.loadClass(Packaged.class.getName());
            assertThat(type.getProtectionDomain().getCodeSource().getLocation()).isNull();

            URL location = EmbeddedFlinkConfiguration.codeLocation(type);

            assertThat(location.getProtocol()).isEqualTo("file");
            assertThat(Path.of(location.toURI())).isEqualTo(jar);
        }
    }

    @Test
    void aClassWithoutACodeSourceIsFoundInTheDirectoryItsClassFileIsIn() throws Exception {
        Path classes = directory.resolve("classes");
        Path file = classes.resolve(classFile(Packaged.class));
        Files.createDirectories(file.getParent());
        byte[] bytes = classBytes(Packaged.class);
        Files.write(file, bytes);
        try (NoCodeSourceLoader loader = new NoCodeSourceLoader(classes, bytes)) {
            Class<?> type = loader.loadClass(Packaged.class.getName());

            assertThat(Path.of(EmbeddedFlinkConfiguration.codeLocation(type).toURI()))
                    .isEqualTo(classes);
        }
    }

    private static String classFile(Class<?> type) {
        return type.getName().replace('.', '/') + ".class";
    }

    private static byte[] classBytes(Class<?> type) throws Exception {
        try (InputStream in = type.getClassLoader().getResourceAsStream(classFile(type))) {
            return in.readAllBytes();
        }
    }

    /** Finds resources in one jar or directory, and defines the class with no protection domain. */
    private static final class NoCodeSourceLoader extends URLClassLoader {
        private final byte[] bytes;

        NoCodeSourceLoader(Path classPath, byte[] bytes) throws Exception {
            super(new URL[] {classPath.toUri().toURL()}, null);
            this.bytes = bytes;
        }

        @Override
        protected Class<?> findClass(String name) throws ClassNotFoundException {
            if (name.equals(Packaged.class.getName())) {
                return defineClass(name, bytes, 0, bytes.length);
            }
            throw new ClassNotFoundException(name);
        }
    }
}
