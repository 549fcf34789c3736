package dev.telemetry.aggregator.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;

import dev.telemetry.aggregator.testing.ExternalTools;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The deployment artifacts, checked offline by {@code deploy-check/check-manifests.sh}: k8s/
 * rendered through its kustomization, each document validated against the Kubernetes and Prometheus
 * Operator schemas and type-checked (unknown fields fail), the project's deployment rules (one
 * replica, Recreate, ReadWriteOnce, probes, grace period), and the Dockerfile linted. And the check
 * itself must catch a typo, a broken rule and a broken Dockerfile.
 */
class ManifestsIT {
    private static final Path SCRIPT = Path.of("deploy-check", "check-manifests.sh");
    private static final Duration TIMEOUT = Duration.ofMinutes(5);

    @BeforeAll
    static void tools() {
        List<String> missing = ExternalTools.missing("node", "npm");
        if (!missing.isEmpty()) {
            String message =
                    "Missing " + missing + ": run deploy-check/install-tools.sh (as root) first";
            fail(message);
        }
    }

    @Test
    void manifestsAndDockerfilePass() {
        ExternalTools.Result check =
                ExternalTools.run(
                        TIMEOUT,
                        ExternalTools.PROJECT_DIR,
                        null,
                        List.of("bash", SCRIPT.toString()));
        System.out.println(check.output());

        assertThat(check.succeeded()).as("%s", check).isTrue();
        assertThat(check.output())
                .contains("deploy-check: OK")
                .contains("PersistentVolumeClaim/telemetry-aggregator-checkpoints")
                .contains("Deployment/telemetry-aggregator")
                .contains("Service/telemetry-aggregator")
                .contains("ServiceMonitor/telemetry-aggregator")
                .contains("PrometheusRule/telemetry-aggregator");
    }

    @Test
    void misspelledFieldFails() throws IOException {
        Path k8s = copyOfK8s("k8s-typo");
        replace(k8s.resolve("deployment.yaml"), "readinessProbe:", "readinesProbe:");

        ExternalTools.Result check =
                ExternalTools.run(
                        TIMEOUT,
                        ExternalTools.PROJECT_DIR,
                        null,
                        List.of("bash", SCRIPT.toString(), k8s.toString()));

        assertThat(check.succeeded()).as("%s", check).isFalse();
        assertThat(check.output()).contains("readinesProbe").contains("tsc");
    }

    @Test
    void wrongTypeAndMissingRequiredFieldFail() throws IOException {
        Path k8s = copyOfK8s("k8s-types");
        replace(k8s.resolve("service.yaml"), "port: 8080", "prt: 8080");
        replace(k8s.resolve("checkpoints-pvc.yaml"), "storage: 1Gi", "storage: [1Gi]");

        ExternalTools.Result check =
                ExternalTools.run(
                        TIMEOUT,
                        ExternalTools.PROJECT_DIR,
                        null,
                        List.of("bash", SCRIPT.toString(), k8s.toString()));

        assertThat(check.succeeded()).as("%s", check).isFalse();
        assertThat(check.output()).contains("must have required property port").contains("prt");
    }

    @Test
    void rollingUpdateIsRejected() throws IOException {
        Path k8s = copyOfK8s("k8s-rolling");
        replace(k8s.resolve("deployment.yaml"), "type: Recreate", "type: RollingUpdate");

        ExternalTools.Result check =
                ExternalTools.run(
                        TIMEOUT,
                        ExternalTools.PROJECT_DIR,
                        null,
                        List.of("bash", SCRIPT.toString(), k8s.toString()));

        assertThat(check.succeeded()).as("%s", check).isFalse();
        assertThat(check.output()).contains("Recreate");
    }

    @Test
    void weakenedSecurityContextIsRejected() throws IOException {
        Path k8s = copyOfK8s("k8s-insecure");
        Path deployment = k8s.resolve("deployment.yaml");
        replace(deployment, "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false");
        replace(deployment, "allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true");
        replace(deployment, "drop: [\"ALL\"]", "drop: [\"NET_RAW\"]");
        replace(deployment, "type: RuntimeDefault", "type: Unconfined");
        replace(deployment, "runAsNonRoot: true", "runAsNonRoot: false");

        ExternalTools.Result check =
                ExternalTools.run(
                        TIMEOUT,
                        ExternalTools.PROJECT_DIR,
                        null,
                        List.of("bash", SCRIPT.toString(), k8s.toString()));

        assertThat(check.succeeded()).as("%s", check).isFalse();
        assertThat(check.output())
                .contains("readOnlyRootFilesystem must be true")
                .contains("allowPrivilegeEscalation must be false")
                .contains("capabilities must drop ALL")
                .contains("seccompProfile must be RuntimeDefault")
                .contains("runAsNonRoot must be true");
    }

    @Test
    void brokenDockerfileFails() throws IOException {
        Path dockerfile = Path.of("target", "manifests-it", "Dockerfile");
        Files.createDirectories(dockerfile.getParent());
        Files.writeString(
                dockerfile,
                Files.readString(Path.of("Dockerfile")).replace("EXPOSE 8080", "EXPOSE 8080/tpc"));

        ExternalTools.Result check =
                ExternalTools.run(
                        TIMEOUT,
                        ExternalTools.PROJECT_DIR,
                        null,
                        List.of("bash", SCRIPT.toString(), "k8s", dockerfile.toString()));

        assertThat(check.succeeded()).as("%s", check).isFalse();
        assertThat(check.output()).contains("dockerfile-utils").contains("tpc");
    }

    private static Path copyOfK8s(String name) throws IOException {
        Path target = Path.of("target", "manifests-it", name).toAbsolutePath();
        if (Files.exists(target)) {
            try (Stream<Path> old = Files.walk(target)) {
                for (Path path : old.sorted((a, b) -> b.compareTo(a)).toList()) {
                    Files.delete(path);
                }
            }
        }
        Files.createDirectories(target);
        try (Stream<Path> files = Files.list(Path.of("k8s"))) {
            for (Path file : files.filter(Files::isRegularFile).toList()) {
                Files.copy(file, target.resolve(file.getFileName()));
            }
        }
        return target;
    }

    private static void replace(Path file, String from, String to) throws IOException {
        String text = Files.readString(file);
        assertThat(text).as("%s contains %s", file, from).contains(from);
        Files.writeString(file, text.replace(from, to));
    }
}
