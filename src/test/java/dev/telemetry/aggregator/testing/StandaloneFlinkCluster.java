package dev.telemetry.aggregator.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * A standalone Flink session cluster made of separate JVMs (one JobManager, any number of
 * TaskManagers) on 127.0.0.1, started from Flink's own jars the way Flink's bin scripts start it,
 * and driven through Flink's REST API.
 */
public final class StandaloneFlinkCluster implements AutoCloseable {
    /**
     * Java 17 needs these for Flink (Kryo, Pekko, memory segments); Flink's config.yaml has them.
     */
    private static final List<String> JAVA_OPTS =
            List.of(
                    "--add-exports=java.base/sun.net.util=ALL-UNNAMED",
                    "--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED",
                    "--add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED",
                    "--add-opens=java.base/java.lang=ALL-UNNAMED",
                    "--add-opens=java.base/java.net=ALL-UNNAMED",
                    "--add-opens=java.base/java.io=ALL-UNNAMED",
                    "--add-opens=java.base/java.nio=ALL-UNNAMED",
                    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
                    "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
                    "--add-opens=java.base/java.text=ALL-UNNAMED",
                    "--add-opens=java.base/java.time=ALL-UNNAMED",
                    "--add-opens=java.base/java.util=ALL-UNNAMED",
                    "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
                    "--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED",
                    "--add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED");

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path dir;
    private final Path conf;
    private final String classpath;
    private final Map<String, String> config = new LinkedHashMap<>();
    private int restPort;
    private Path jobManagerLog;
    private Process jobManager;
    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final List<Process> processes = new ArrayList<>();
    private final Map<String, Process> taskManagers = new LinkedHashMap<>();
    private ResourceParams taskManagerResources;

    /**
     * Writes {@code conf/config.yaml} (Flink 2.x reads no other) and a log4j configuration under
     * {@code dir}; {@code lib} holds the cluster's jars.
     */
    public StandaloneFlinkCluster(Path dir, Path lib, int slotsPerTaskManager) throws IOException {
        try (var jars = Files.list(lib)) {
            if (jars.noneMatch(jar -> jar.getFileName().toString().startsWith("flink-runtime-"))) {
                throw new IllegalStateException(lib + " has no flink-runtime jar");
            }
        }
        this.dir = Files.createDirectories(dir);
        this.conf = Files.createDirectories(dir.resolve("conf"));
        this.classpath = lib.toAbsolutePath() + "/*";
        Path tmp = Files.createDirectories(dir.resolve("tmp"));
        // Nothing listens beyond the loopback interface.
        config.put("jobmanager.rpc.address", "127.0.0.1");
        config.put("jobmanager.bind-host", "127.0.0.1");
        config.put("taskmanager.bind-host", "127.0.0.1");
        config.put("taskmanager.host", "127.0.0.1");
        config.put("taskmanager.rpc.port", "0");
        config.put("rest.address", "127.0.0.1");
        config.put("rest.bind-address", "127.0.0.1");
        // Small processes; without a fixed managed size the task heap would be tiny.
        config.put("jobmanager.memory.process.size", "1024m");
        config.put("taskmanager.memory.process.size", "1024m");
        config.put("taskmanager.memory.managed.size", "64m");
        config.put("taskmanager.numberOfTaskSlots", Integer.toString(slotsPerTaskManager));
        // Spread subtasks over TaskManagers, so killing one hits running tasks.
        config.put("taskmanager.load-balance.mode", "slots");
        // Notice a dead TaskManager in seconds, not the default 50 s.
        config.put("heartbeat.interval", "1 s");
        config.put("heartbeat.timeout", "5 s");
        config.put("restart-strategy.type", "fixed-delay");
        config.put("restart-strategy.fixed-delay.attempts", "20");
        config.put("restart-strategy.fixed-delay.delay", "500 ms");
        config.put("state.backend.type", "hashmap");
        config.put("execution.checkpointing.storage", "filesystem");
        config.put("execution.checkpointing.dir", dir.resolve("checkpoints").toUri().toString());
        config.put(
                "execution.checkpointing.externalized-checkpoint-retention",
                "RETAIN_ON_CANCELLATION");
        config.put("io.tmp.dirs", tmp.toString());
        config.put("web.tmpdir", tmp.toString());
        writeConfig();
        Files.writeString(
                conf.resolve("log4j.properties"),
                String.join(
                        "\n",
                        "rootLogger.level = INFO",
                        "rootLogger.appenderRef.file.ref = File",
                        "appender.file.name = File",
                        "appender.file.type = File",
                        "appender.file.fileName = ${sys:log.file}",
                        "appender.file.layout.type = PatternLayout",
                        "appender.file.layout.pattern = %d{HH:mm:ss,SSS} %-5p %c{1} - %m%n",
                        "logger.kafka.name = org.apache.kafka",
                        "logger.kafka.level = WARN",
                        ""));
    }

    /**
     * Picks the JobManager's ports and writes {@code conf/config.yaml} (Flink 2.x reads no other).
     * TaskManagers must know the RPC port and the test the REST port, so neither can be 0.
     */
    private void writeConfig() throws IOException {
        restPort = freePort();
        config.put("rest.port", Integer.toString(restPort));
        config.put("jobmanager.rpc.port", Integer.toString(freePort()));
        config.put("blob.server.port", Integer.toString(freePort()));
        StringBuilder yaml = new StringBuilder();
        // Quoted: YAML would otherwise read 'hashmap' fine but '0' or '1 s' as other types.
        config.forEach(
                (key, value) -> yaml.append(key).append(": \"").append(value).append("\"\n"));
        Files.writeString(conf.resolve("config.yaml"), yaml);
    }

    public String restUrl() {
        return "http://127.0.0.1:" + restPort;
    }

    public Path dir() {
        return dir;
    }

    /** Starts the JobManager and {@code count} TaskManagers; returns once all slots registered. */
    public void start(int count, Duration timeout) throws IOException, InterruptedException {
        // A test JVM that ends without close() (e.g. killed by a timeout) still takes these along.
        Runtime.getRuntime()
                .addShutdownHook(
                        new Thread(() -> List.copyOf(processes).forEach(Process::destroyForcibly)));
        // Both in parallel: each is a JVM start, seconds on a busy machine.
        Process jobManagerParams = bashJavaUtils("GET_JM_RESOURCE_PARAMS");
        Process taskManagerParams = bashJavaUtils("GET_TM_RESOURCE_PARAMS");
        ResourceParams jobManagerResources = resourceParams(jobManagerParams);
        taskManagerResources = resourceParams(taskManagerParams);
        long deadline = System.nanoTime() + timeout.toNanos();
        // A port picked free may be taken (by any process on the machine) before the JobManager
        // binds it; then it exits, and starts again on other ports. TaskManagers start once it is
        // up, because they would keep calling the old RPC port.
        for (int attempt = 1; ; attempt++) {
            String name = attempt == 1 ? "jobmanager" : "jobmanager-" + attempt;
            jobManagerLog = dir.resolve(name + ".log");
            jobManager =
                    launch(
                            name,
                            "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint",
                            jobManagerResources,
                            List.of());
            if (awaitJobManager(deadline)) {
                break;
            }
            if (!logged(jobManagerLog, "java.net.BindException") || attempt == 3) {
                throw new IllegalStateException(
                        "The JobManager exited; see "
                                + jobManagerLog
                                + "; its last lines:\n"
                                + jobManagerOutput(name));
            }
            processes.remove(jobManager);
            System.out.printf(
                    "The JobManager exited on a port taken since it was picked (%s); again on"
                            + " other ports%n",
                    jobManagerLog);
            writeConfig();
        }
        for (int i = 1; i <= count; i++) {
            startTaskManager("tm-" + i);
        }
        awaitTaskManagers(count, deadline);
    }

    /** True once the REST API answers; false if the process exits first. */
    private boolean awaitJobManager(long deadline) throws InterruptedException {
        while (System.nanoTime() < deadline) {
            if (!jobManager.isAlive()) {
                return false;
            }
            try {
                get("/overview");
                return true;
            } catch (IOException e) {
                // The REST endpoint is not up yet.
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("The JobManager did not answer in time; see " + dir);
    }

    private static boolean logged(Path log, String text) {
        try {
            return Files.readString(log, StandardCharsets.UTF_8).contains(text);
        } catch (IOException e) {
            return false;
        }
    }

    /** The last 40 lines of a JobManager's log and its standard output, for an error message. */
    private String jobManagerOutput(String name) {
        StringBuilder tail = new StringBuilder();
        for (String file : List.of(name + ".log", name + ".out")) {
            try {
                List<String> lines = Files.readAllLines(dir.resolve(file), StandardCharsets.UTF_8);
                lines.subList(Math.max(0, lines.size() - 40), lines.size())
                        .forEach(line -> tail.append(line).append('\n'));
            } catch (IOException e) {
                tail.append(file).append(": ").append(e.getMessage()).append('\n');
            }
        }
        return tail.toString();
    }

    /** A TaskManager with a fixed resource id, so the REST API shows which process is which. */
    public void startTaskManager(String resourceId) throws IOException {
        taskManagers.put(
                resourceId,
                launch(
                        resourceId,
                        "org.apache.flink.runtime.taskexecutor.TaskManagerRunner",
                        taskManagerResources,
                        List.of("-D", "taskmanager.resource-id=" + resourceId)));
    }

    /** SIGKILL, as {@code kill -9}: no shutdown hook, no goodbye to the JobManager. */
    public void killTaskManager(String resourceId) throws InterruptedException {
        Process process = taskManagers.get(resourceId);
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    /** Pids of every process started (JobManager first), alive or not. */
    public List<Long> pids() {
        return processes.stream().map(Process::pid).toList();
    }

    /**
     * Flink's own {@code BashJavaUtils} on the cluster's class path, as {@code jobmanager.sh} and
     * {@code taskmanager.sh} run it to turn the memory settings into JVM flags.
     */
    private Process bashJavaUtils(String command) throws IOException {
        return new ProcessBuilder(
                        java(),
                        "-Xmx64m",
                        "-XX:TieredStopAtLevel=1",
                        "-XX:+UseSerialGC",
                        "-cp",
                        classpath,
                        "org.apache.flink.runtime.util.bash.BashJavaUtils",
                        command,
                        "--configDir",
                        conf.toString())
                .redirectErrorStream(true)
                .start();
    }

    /** What {@code BashJavaUtils} computed: JVM memory flags, and {@code -D} program arguments. */
    private record ResourceParams(List<String> jvmFlags, List<String> dynamicConfigs) {}

    /** The first result line is the JVM flags, the second the dynamic configuration. */
    private static ResourceParams resourceParams(Process process)
            throws IOException, InterruptedException {
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
            throw new IllegalStateException("BashJavaUtils failed:\n" + output);
        }
        String prefix = "BASH_JAVA_UTILS_EXEC_RESULT:";
        List<String> results =
                output.lines()
                        .filter(line -> line.startsWith(prefix))
                        .map(line -> line.substring(prefix.length()).trim())
                        .toList();
        return new ResourceParams(
                Arrays.asList(results.get(0).split("\\s+")),
                Arrays.asList(results.get(1).split("\\s+")));
    }

    private Process launch(
            String name, String mainClass, ResourceParams resources, List<String> extraArgs)
            throws IOException {
        List<String> command = new ArrayList<>();
        command.add(java());
        command.addAll(resources.jvmFlags());
        // Less CPU on a small shared machine: client compiler only, one GC thread.
        command.add("-XX:TieredStopAtLevel=1");
        command.add("-XX:+UseSerialGC");
        command.addAll(JAVA_OPTS);
        command.add("-Dlog.file=" + dir.resolve(name + ".log"));
        command.add("-Dlog4j.configurationFile=" + conf.resolve("log4j.properties").toUri());
        command.add("-cp");
        command.add(classpath);
        command.add(mainClass);
        command.add("--configDir");
        command.add(conf.toString());
        command.addAll(resources.dynamicConfigs());
        command.addAll(extraArgs);
        Process process =
                new ProcessBuilder(command)
                        .redirectErrorStream(true)
                        .redirectOutput(dir.resolve(name + ".out").toFile())
                        .start();
        processes.add(process);
        return process;
    }

    private void awaitTaskManagers(int count, long deadline) throws InterruptedException {
        while (System.nanoTime() < deadline) {
            if (!jobManager.isAlive()) {
                throw new IllegalStateException("The JobManager exited; see " + jobManagerLog);
            }
            try {
                if (get("/overview").path("taskmanagers").asInt() >= count) {
                    return;
                }
            } catch (IOException e) {
                // The REST endpoint is not up yet.
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException(
                count + " TaskManagers did not register in time; see " + dir);
    }

    /** {@code POST /jars/upload}: returns the jar id. */
    public String uploadJar(Path jar) throws IOException, InterruptedException {
        String boundary = UUID.randomUUID().toString();
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.write(
                ("--"
                                + boundary
                                + "\r\n"
                                + "Content-Disposition: form-data; name=\"jarfile\"; filename=\""
                                + jar.getFileName()
                                + "\"\r\nContent-Type: application/x-java-archive\r\n\r\n")
                        .getBytes(StandardCharsets.UTF_8));
        body.write(Files.readAllBytes(jar));
        body.write(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
        JsonNode response =
                send(
                        HttpRequest.newBuilder(URI.create(restUrl() + "/jars/upload"))
                                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                                .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())));
        return Paths.get(response.path("filename").asText()).getFileName().toString();
    }

    /** {@code POST /jars/<id>/run}: runs the jar's main class in the JobManager; returns job id. */
    public String runJar(String jarId, String entryClass, List<String> args, int parallelism)
            throws IOException, InterruptedException {
        Map<String, Object> request =
                Map.of(
                        "entryClass", entryClass,
                        "programArgsList", args,
                        "parallelism", parallelism);
        JsonNode response =
                send(
                        HttpRequest.newBuilder(URI.create(restUrl() + "/jars/" + jarId + "/run"))
                                .header("Content-Type", "application/json")
                                .POST(
                                        HttpRequest.BodyPublishers.ofString(
                                                JSON.writeValueAsString(request))));
        return response.path("jobid").asText();
    }

    /** True when the job is RUNNING and every subtask of every vertex is RUNNING. */
    public boolean allTasksRunning(String jobId) throws IOException, InterruptedException {
        JsonNode job = get("/jobs/" + jobId);
        if (!"RUNNING".equals(job.path("state").asText())) {
            return false;
        }
        for (JsonNode vertex : job.path("vertices")) {
            if (vertex.path("tasks").path("RUNNING").asInt()
                    != vertex.path("parallelism").asInt()) {
                return false;
            }
        }
        return true;
    }

    /** Slots in use per TaskManager resource id, from {@code GET /taskmanagers}. */
    public Map<String, Integer> busySlots() throws IOException, InterruptedException {
        Map<String, Integer> busy = new LinkedHashMap<>();
        for (JsonNode tm : get("/taskmanagers").path("taskmanagers")) {
            busy.put(
                    tm.path("id").asText(),
                    tm.path("slotsNumber").asInt() - tm.path("freeSlots").asInt());
        }
        return busy;
    }

    public JsonNode get(String path) throws IOException, InterruptedException {
        return send(HttpRequest.newBuilder(URI.create(restUrl() + path)).GET());
    }

    private JsonNode send(HttpRequest.Builder request) throws IOException, InterruptedException {
        HttpResponse<String> response =
                http.send(
                        request.timeout(Duration.ofSeconds(30)).build(),
                        HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() / 100 != 2) {
            throw new IOException(
                    "HTTP "
                            + response.statusCode()
                            + " from "
                            + response.uri()
                            + ": "
                            + response.body());
        }
        return JSON.readTree(response.body());
    }

    private static String java() {
        return Paths.get(System.getProperty("java.home"), "bin", "java").toString();
    }

    private static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Kills every process with SIGKILL and waits for each, bounded. */
    @Override
    public void close() throws InterruptedException {
        processes.forEach(Process::destroyForcibly);
        for (Process process : processes) {
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }
}
