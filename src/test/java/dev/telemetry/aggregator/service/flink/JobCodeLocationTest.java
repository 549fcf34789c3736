package dev.telemetry.aggregator.service.flink;

import static org.assertj.core.api.Assertions.assertThat;

import dev.telemetry.aggregator.job.TelemetryAggregationJob;
import dev.telemetry.aggregator.job.codec.TelemetryEventParser;
import dev.telemetry.aggregator.job.config.Settings;
import dev.telemetry.aggregator.job.functions.TelemetryAggregator;
import dev.telemetry.aggregator.service.config.ServiceOptions;
import java.io.InputStream;
import java.net.URI;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.runtime.execution.librarycache.BlobLibraryCacheManager;
import org.apache.flink.util.FlinkUserCodeClassLoaders;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Flink loads the job's classes from where {@link EmbeddedFlinkConfiguration#jobCodeLocation()}
 * says they are, when the service's class loader does not have them. A class the JVM maps from its
 * AOT cache (the image's, JDK 25) has no code source, and a class defined here without a protection
 * domain has one without a location.
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

    /**
     * A task's class loader, made the way Flink's task manager makes it under the service's
     * configuration, gives the job the service's own classes, which the image maps from its AOT
     * cache, rather than a second copy read from the jar.
     */
    @Test
    void theTasksRunTheJobWithTheServicesOwnClasses() throws Exception {
        ServiceOptions options =
                ServiceOptions.from(
                        new Settings(
                                Map.of(
                                        Settings.BOOTSTRAP_SERVERS.key(),
                                        "127.0.0.1:9",
                                        ServiceOptions.CHECKPOINT_DIR.key(),
                                        directory.resolve("checkpoints").toString())),
                        Map.of());
        Configuration configuration =
                EmbeddedFlinkConfiguration.build(options, directory, Optional.empty());
        List<URL> jobCode = new ArrayList<>();
        for (String url : configuration.get(PipelineOptions.CLASSPATHS)) {
            jobCode.add(URI.create(url).toURL());
        }
        BlobLibraryCacheManager.ClassLoaderFactory tasks =
                BlobLibraryCacheManager.defaultClassLoaderFactory(
                        FlinkUserCodeClassLoaders.ResolveOrder.fromString(
                                configuration.get(CoreOptions.CLASSLOADER_RESOLVE_ORDER)),
                        CoreOptions.getParentFirstLoaderPatterns(configuration),
                        null,
                        false);

        try (URLClassLoader task = tasks.createClassLoader(jobCode.toArray(URL[]::new))) {
            for (Class<?> type :
                    List.of(
                            TelemetryAggregationJob.class,
                            TelemetryEventParser.class,
                            TelemetryAggregator.class)) {
                assertThat(task.loadClass(type.getName())).isSameAs(type);
            }
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
