package dev.telemetry.aggregator.service.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import dev.telemetry.aggregator.job.config.JobOptions;
import dev.telemetry.aggregator.job.config.Settings;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.common.errors.GroupAuthorizationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.errors.TransactionalIdAuthorizationException;
import org.junit.jupiter.api.Test;

/**
 * A job's failure caused by a missing ACL (revoked while running) is explained the way start-up
 * explains it: operation, resource, principal and the grant command.
 */
class KafkaAccessTest {
    private static final JobOptions JOB =
            JobOptions.fromSettings(
                    new Settings(
                            Map.of(
                                    Settings.BOOTSTRAP_SERVERS.key(),
                                    "kafka:9093",
                                    Settings.TRANSACTIONAL_ID_PREFIX.key(),
                                    "eu1",
                                    Settings.GROUP_ID.key(),
                                    "eu1",
                                    "kafka.security-protocol",
                                    "SASL_SSL",
                                    "kafka.sasl.username",
                                    "svc",
                                    "kafka.sasl.password",
                                    "secret-password")));

    private final KafkaAccess access = new KafkaAccess(JOB);

    @Test
    void transactionalIdDeniedDeepInAJobFailure() {
        RuntimeException failure =
                new RuntimeException(
                        "Job failed",
                        new IllegalStateException(
                                new TransactionalIdAuthorizationException(
                                        "Transactional Id authorization failed.")));

        assertThat(access.explain(failure))
                .hasValueSatisfying(
                        message ->
                                assertThat(message)
                                        .startsWith(
                                                "Kafka denied Write on transactional-id prefix"
                                                        + " 'eu1-' for this service's principal"
                                                        + " User:svc")
                                        .contains(
                                                "kafka-acls.sh --bootstrap-server kafka:9093 --add"
                                                    + " --allow-principal 'User:svc' --operation"
                                                    + " Write --transactional-id 'eu1-'"
                                                    + " --resource-pattern-type prefixed")
                                        .doesNotContain("secret-password"));
    }

    @Test
    void topicsAndGroupsNameWhatTheServiceNeedsThere() {
        assertThat(access.explain(new TopicAuthorizationException(Set.of("telemetry-aggregates"))))
                .hasValueSatisfying(
                        message ->
                                assertThat(message)
                                        .contains("topic 'telemetry-aggregates'")
                                        .contains(
                                                "--operation Write --operation Read --topic"
                                                        + " 'telemetry-aggregates'"));
        assertThat(access.explain(new TopicAuthorizationException(Set.of("telemetry"))))
                .hasValueSatisfying(
                        message ->
                                assertThat(message)
                                        .contains("Kafka denied Read on topic 'telemetry'")
                                        .contains("--operation Read --topic 'telemetry'"));
        assertThat(access.explain(new GroupAuthorizationException("denied", "eu1")))
                .hasValueSatisfying(
                        message -> assertThat(message).contains("--operation Read --group 'eu1'"));
        assertThat(access.explain(new IllegalStateException("not about ACLs"))).isEmpty();
    }
}
