package dev.telemetry.aggregator.service.kafka;

import dev.telemetry.aggregator.job.config.JobOptions;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.ClusterAuthorizationException;
import org.apache.kafka.common.errors.GroupAuthorizationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.errors.TransactionalIdAuthorizationException;

/**
 * The Kafka ACLs the service needs, and what to tell the operator when the broker denies one: which
 * operation on which resource, for which principal, and the {@code kafka-acls.sh} command that
 * grants it, instead of Kafka's bare "Transactional Id authorization failed".
 */
public final class KafkaAccess {
    private static final Pattern JAAS_USERNAME = Pattern.compile("username\\s*=\\s*\"([^\"]*)\"");

    private final JobOptions job;
    private final String principal;

    public KafkaAccess(JobOptions job) {
        this.job = job;
        this.principal = principal(job);
    }

    /** An operation the broker denied, as a message an operator can act on. */
    static final class AccessDeniedException extends IllegalStateException {
        private static final long serialVersionUID = 1L;

        AccessDeniedException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /**
     * The message for a denied operation on a resource.
     *
     * @param operation what the broker denied, e.g. {@code Write}
     * @param grant the operations to grant on the resource (those the service needs there)
     * @param resourceOption how {@code kafka-acls.sh} names the resource, e.g. {@code --topic
     *     'telemetry'} or {@code --transactional-id 'eu1-' --resource-pattern-type prefixed}
     */
    AccessDeniedException denied(
            String operation,
            List<String> grant,
            String resourceType,
            String name,
            String resourceOption,
            String why,
            Throwable cause) {
        StringBuilder operations = new StringBuilder();
        grant.forEach(op -> operations.append(" --operation ").append(op));
        return new AccessDeniedException(
                "Kafka denied "
                        + operation
                        + " on "
                        + resourceType
                        + " '"
                        + name
                        + "' for this service's principal "
                        + principal
                        + (why.isEmpty() ? "" : " (" + why + ")")
                        + "; grant: kafka-acls.sh --bootstrap-server "
                        + job.bootstrapServers()
                        + " --add --allow-principal '"
                        + principal
                        + "'"
                        + operations
                        + " "
                        + resourceOption
                        + ". docs/security.md lists every ACL the service needs.",
                cause);
    }

    /**
     * What the service needs on a topic: Read on input; Write on output and dead letters, and with
     * exactly-once also Read there (the sinks list open transactions with DescribeProducers at
     * start, to abort a crashed run's leftovers, and that needs Read).
     */
    List<String> topicOperations(String topic) {
        if (isInput(topic)) {
            return List.of("Read");
        }
        return job.deliveryGuarantee() == DeliveryGuarantee.EXACTLY_ONCE
                ? List.of("Write", "Read")
                : List.of("Write");
    }

    AccessDeniedException topicDenied(String topic, String operation, Throwable cause) {
        List<String> needed = topicOperations(topic);
        return denied(
                operation,
                needed,
                "topic",
                topic,
                "--topic '" + topic + "'",
                (isInput(topic) ? "input topic" : "output or dead-letter topic")
                        + ", which needs "
                        + String.join(" and ", needed),
                cause);
    }

    AccessDeniedException groupDenied(Throwable cause) {
        return denied(
                "Read",
                List.of("Read"),
                "group",
                job.groupId(),
                "--group '" + job.groupId() + "'",
                "the consumer group the job commits offsets to",
                cause);
    }

    AccessDeniedException transactionalIdDenied(Throwable cause) {
        String prefix = transactionalIdAclPrefix(job);
        return denied(
                "Write",
                List.of("Write"),
                "transactional-id prefix",
                prefix,
                "--transactional-id '" + prefix + "' --resource-pattern-type prefixed",
                "the exactly-once sinks' transactional ids",
                cause);
    }

    /**
     * The prefix of every transactional id the service uses (both sinks and the start-up probe):
     * with the dash, so deployment {@code eu1}'s grant does not cover {@code eu10}'s ids.
     */
    static String transactionalIdAclPrefix(JobOptions job) {
        return job.transactionalIdPrefix() + "-";
    }

    /**
     * If a Kafka authorization failure is in the cause chain (a job's failure cause), the message
     * saying which ACL is missing.
     */
    public Optional<String> explain(Throwable failure) {
        Set<Throwable> seen = Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        for (Throwable t = failure; t != null && seen.add(t); t = t.getCause()) {
            if (t instanceof AuthorizationException denied) {
                return Optional.of(translate(denied).getMessage());
            }
        }
        return Optional.empty();
    }

    AccessDeniedException translate(AuthorizationException denied) {
        if (denied instanceof TransactionalIdAuthorizationException) {
            return transactionalIdDenied(denied);
        }
        if (denied instanceof GroupAuthorizationException) {
            return groupDenied(denied);
        }
        if (denied instanceof TopicAuthorizationException topics
                && !topics.unauthorizedTopics().isEmpty()) {
            String topic = topics.unauthorizedTopics().iterator().next();
            return topicDenied(topic, String.join(" or ", topicOperations(topic)), denied);
        }
        if (denied instanceof ClusterAuthorizationException) {
            return denied(
                    "IdempotentWrite",
                    List.of("IdempotentWrite"),
                    "cluster",
                    "kafka-cluster",
                    "--cluster",
                    "brokers before Kafka 2.8 require it of idempotent producers",
                    denied);
        }
        return new AccessDeniedException(
                "Kafka denied an operation for this service's principal "
                        + principal
                        + ": "
                        + denied.getMessage()
                        + ". docs/security.md lists every ACL the service needs.",
                denied);
    }

    private boolean isInput(String topic) {
        if (job.inputTopicPattern() != null) {
            return Pattern.compile(job.inputTopicPattern()).matcher(topic).matches();
        }
        return job.inputTopics().contains(topic);
    }

    /**
     * How the broker most likely names this service: {@code User:<SASL username>}, or for mutual
     * TLS {@code User:<the key store certificate's subject>} (Kafka's default principal builder).
     */
    static String principal(JobOptions job) {
        Map<String, String> properties = job.kafkaProperties();
        String jaas = properties.get("sasl.jaas.config");
        String protocol = properties.getOrDefault("security.protocol", "PLAINTEXT");
        if (jaas != null && protocol.toUpperCase(Locale.ROOT).startsWith("SASL")) {
            Matcher matcher = JAAS_USERNAME.matcher(jaas);
            if (matcher.find()) {
                return "User:" + matcher.group(1);
            }
        }
        if (protocol.equalsIgnoreCase("SSL") && properties.containsKey("ssl.keystore.location")) {
            Optional<String> subject = certificateSubject(properties);
            if (subject.isPresent()) {
                return "User:" + subject.get();
            }
        }
        return "User:<this service's principal>";
    }

    private static Optional<String> certificateSubject(Map<String, String> properties) {
        String location = properties.get("ssl.keystore.location");
        String type = properties.getOrDefault("ssl.keystore.type", "PKCS12");
        try (InputStream in = Files.newInputStream(Paths.get(location))) {
            if (type.equalsIgnoreCase("PEM")) {
                // The first certificate in the file is the service's own, its chain follows; the
                // private key may come before it.
                String pem = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
                int start = pem.indexOf("-----BEGIN CERTIFICATE-----");
                if (start < 0) {
                    return Optional.empty();
                }
                X509Certificate certificate =
                        (X509Certificate)
                                CertificateFactory.getInstance("X.509")
                                        .generateCertificate(
                                                new ByteArrayInputStream(
                                                        pem.substring(start)
                                                                .getBytes(
                                                                        StandardCharsets
                                                                                .US_ASCII)));
                return Optional.of(certificate.getSubjectX500Principal().getName());
            }
            String password = properties.get("ssl.keystore.password");
            KeyStore store = KeyStore.getInstance(type.toUpperCase(Locale.ROOT));
            store.load(in, password == null ? null : password.toCharArray());
            for (String alias : Collections.list(store.aliases())) {
                if (store.isKeyEntry(alias)
                        && store.getCertificate(alias) instanceof X509Certificate certificate) {
                    return Optional.of(certificate.getSubjectX500Principal().getName());
                }
            }
        } catch (Exception e) {
            // Only a hint in a message; the TLS handshake reports a key store that is unusable.
        }
        return Optional.empty();
    }
}
