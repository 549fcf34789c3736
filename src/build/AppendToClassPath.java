import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Enumeration;
import java.util.List;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

/**
 * Appends entries to the {@code Class-Path} of a jar's manifest, once: {@code java
 * src/build/AppendToClassPath.java <jar> <entry>...} (a single-file program, run by the pom at
 * package). Quarkus writes {@code quarkus-run.jar}'s class path from the Maven dependencies, and
 * Flink's Pekko RPC jar is not one (it ships inside {@code flink-rpc-akka-loader}).
 */
public class AppendToClassPath {
    public static void main(String[] args) throws IOException {
        Path jar = Path.of(args[0]);
        List<String> add = Arrays.asList(args).subList(1, args.length);
        // Rewritten in memory and written back over the same file, which keeps its permissions
        // (a temporary file would be readable by its owner only, and the image's service user is
        // not the owner).
        ByteArrayOutputStream rewritten = new ByteArrayOutputStream();
        try (JarFile in = new JarFile(jar.toFile())) {
            Manifest manifest = new Manifest(in.getManifest());
            Attributes main = manifest.getMainAttributes();
            String classPath = main.getValue(Attributes.Name.CLASS_PATH);
            List<String> entries = new ArrayList<>();
            if (classPath != null && !classPath.isBlank()) {
                entries.addAll(Arrays.asList(classPath.trim().split("\\s+")));
            }
            if (entries.containsAll(add)) {
                return;
            }
            for (String entry : add) {
                if (!entries.contains(entry)) {
                    entries.add(entry);
                }
            }
            main.put(Attributes.Name.CLASS_PATH, String.join(" ", entries));
            try (JarOutputStream out = new JarOutputStream(rewritten, manifest)) {
                for (Enumeration<JarEntry> e = in.entries(); e.hasMoreElements(); ) {
                    JarEntry entry = e.nextElement();
                    if (entry.getName().equalsIgnoreCase(JarFile.MANIFEST_NAME)) {
                        continue;
                    }
                    out.putNextEntry(new JarEntry(entry.getName()));
                    try (InputStream data = in.getInputStream(entry)) {
                        data.transferTo(out);
                    }
                    out.closeEntry();
                }
            }
        }
        Files.write(jar, rewritten.toByteArray());
        System.out.println("AppendToClassPath: " + jar + " += " + add);
    }
}
