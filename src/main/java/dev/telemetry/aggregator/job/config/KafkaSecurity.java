package dev.telemetry.aggregator.job.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.config.SslConfigs;

/**
 * The Kafka security settings (SASL with SCRAM or PLAIN, TLS and mutual TLS) as first-class
 * settings, so every one has an unambiguous environment variable ({@code KAFKA_SASL_PASSWORD_FILE})
 * and secrets can come from mounted files. They become the Kafka client properties of every client
 * (source, sinks, admin), including the JAAS line that carries the SASL password.
 *
 * <p>Long because a third of it declares its fifteen settings; the rest turns them into client
 * properties and refuses combinations that cannot work.
 */
public final class KafkaSecurity {
    public static final Setting<String> SECURITY_PROTOCOL =
            Setting.of(
                    "kafka.security-protocol",
                    "PLAINTEXT | SSL | SASL_PLAINTEXT | SASL_SSL",
                    null,
                    "How every client talks to the brokers; unset: Kafka's default (PLAINTEXT).",
                    (setting, text) -> text);
    public static final Setting<String> SASL_MECHANISM =
            Setting.of(
                    "kafka.sasl.mechanism",
                    "SCRAM-SHA-512 | SCRAM-SHA-256 | PLAIN",
                    null,
                    "The SASL mechanism; SCRAM-SHA-512 when a SASL username is set.",
                    (setting, text) -> text);
    public static final Setting<String> SASL_USERNAME =
            Setting.text("kafka.sasl.username", null, "The SASL user.");
    public static final Setting<String> SASL_PASSWORD =
            Setting.secret("kafka.sasl.password", "The SASL password.");
    public static final Setting<String> SASL_PASSWORD_FILE =
            Setting.text(
                    "kafka.sasl.password-file",
                    null,
                    "A file holding the SASL password (a mounted secret), read at start-up.");
    public static final Setting<String> TRUSTSTORE_LOCATION =
            Setting.text(
                    "kafka.ssl.truststore.location",
                    null,
                    "The trust store with the brokers' CA: PKCS12, JKS or PEM.");
    public static final Setting<String> TRUSTSTORE_TYPE =
            Setting.of(
                    "kafka.ssl.truststore.type",
                    "PKCS12 | JKS | PEM",
                    null,
                    "The trust store's type; unset: from the file name (.pem/.crt, .jks, else"
                            + " PKCS12).",
                    (setting, text) -> text);
    public static final Setting<String> TRUSTSTORE_PASSWORD =
            Setting.secret("kafka.ssl.truststore.password", "The trust store's password.");
    public static final Setting<String> TRUSTSTORE_PASSWORD_FILE =
            Setting.text(
                    "kafka.ssl.truststore.password-file",
                    null,
                    "A file holding the trust store's password.");
    public static final Setting<String> KEYSTORE_LOCATION =
            Setting.text(
                    "kafka.ssl.keystore.location",
                    null,
                    "The key store for mutual TLS: PKCS12, JKS or PEM.");
    public static final Setting<String> KEYSTORE_TYPE =
            Setting.of(
                    "kafka.ssl.keystore.type",
                    "PKCS12 | JKS | PEM",
                    null,
                    "The key store's type; unset: from the file name.",
                    (setting, text) -> text);
    public static final Setting<String> KEYSTORE_PASSWORD =
            Setting.secret("kafka.ssl.keystore.password", "The key store's password.");
    public static final Setting<String> KEYSTORE_PASSWORD_FILE =
            Setting.text(
                    "kafka.ssl.keystore.password-file",
                    null,
                    "A file holding the key store's password.");
    public static final Setting<String> KEY_PASSWORD =
            Setting.secret(
                    "kafka.ssl.key-password",
                    "The password of the private key (an encrypted PEM key's, too).");
    public static final Setting<String> KEY_PASSWORD_FILE =
            Setting.text("kafka.ssl.key-password-file", null, "A file holding the key's password.");

    /** Every security setting declared above. */
    public static final List<Setting<?>> ALL = Setting.declaredIn(KafkaSecurity.class);

    private static final List<String> PROTOCOLS =
            List.of("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL");
    private static final Map<String, String> LOGIN_MODULES =
            Map.of(
                    "PLAIN", "org.apache.kafka.common.security.plain.PlainLoginModule",
                    "SCRAM-SHA-256", "org.apache.kafka.common.security.scram.ScramLoginModule",
                    "SCRAM-SHA-512", "org.apache.kafka.common.security.scram.ScramLoginModule");
    private static final List<String> STORE_TYPES = List.of("PKCS12", "JKS", "PEM");

    /**
     * Kafka client property names whose values are secrets (or contain one, as the JAAS line does):
     * never log, expose or echo them.
     */
    private static final Set<String> SECRET_PROPERTY_WORDS =
            Set.of("password", "jaas", "secret", "token", "credential");

    private KafkaSecurity() {}

    /** Whether the value of this Kafka client property is (or contains) a secret. */
    public static boolean isSecretProperty(String name) {
        String lower = name.toLowerCase(Locale.ROOT);
        // ssl.keystore.key: a PEM private key given inline.
        return SECRET_PROPERTY_WORDS.stream().anyMatch(lower::contains) || lower.endsWith(".key");
    }

    /** The properties with every secret value replaced, for logs and diagnostics. */
    public static Map<String, String> masked(Map<String, String> properties) {
        Map<String, String> masked = new HashMap<>();
        properties.forEach(
                (name, value) -> masked.put(name, isSecretProperty(name) ? "[hidden]" : value));
        return masked;
    }

    /**
     * The Kafka client properties the security settings stand for; empty when none is set. Secrets
     * given as files are read now.
     *
     * @throws InvalidSettingException naming the setting and its environment variable (never the
     *     secret's value)
     */
    public static Map<String, String> clientProperties(Settings settings) {
        Map<String, String> properties = new HashMap<>();
        Optional<String> protocol = settings.text(SECURITY_PROTOCOL);
        protocol.ifPresent(
                value -> {
                    String upper = value.toUpperCase(Locale.ROOT);
                    if (!PROTOCOLS.contains(upper)) {
                        throw new InvalidSettingException(
                                SECURITY_PROTOCOL,
                                "'" + value + "' is not one of " + String.join(", ", PROTOCOLS));
                    }
                    properties.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, upper);
                });
        boolean sasl =
                protocol.map(p -> p.toUpperCase(Locale.ROOT).startsWith("SASL_")).orElse(false);
        addSasl(settings, sasl, properties);
        addStore(
                settings,
                TRUSTSTORE_KEYS,
                TRUSTSTORE_LOCATION,
                TRUSTSTORE_TYPE,
                TRUSTSTORE_PASSWORD,
                TRUSTSTORE_PASSWORD_FILE,
                properties);
        addStore(
                settings,
                KEYSTORE_KEYS,
                KEYSTORE_LOCATION,
                KEYSTORE_TYPE,
                KEYSTORE_PASSWORD,
                KEYSTORE_PASSWORD_FILE,
                properties);
        secret(settings, KEY_PASSWORD, KEY_PASSWORD_FILE)
                .ifPresent(value -> properties.put(SslConfigs.SSL_KEY_PASSWORD_CONFIG, value));
        return properties;
    }

    private static void addSasl(Settings settings, boolean sasl, Map<String, String> properties) {
        Optional<String> mechanism = settings.text(SASL_MECHANISM);
        Optional<String> username = settings.text(SASL_USERNAME);
        Optional<String> password = secret(settings, SASL_PASSWORD, SASL_PASSWORD_FILE);
        if (mechanism.isEmpty() && username.isEmpty() && password.isEmpty()) {
            return;
        }
        if (!sasl) {
            throw new InvalidSettingException(
                    SASL_MECHANISM,
                    "SASL settings need "
                            + SECURITY_PROTOCOL
                            + " ("
                            + Settings.environmentVariable(SECURITY_PROTOCOL)
                            + ") SASL_SSL or SASL_PLAINTEXT");
        }
        String chosen = mechanism.orElse("SCRAM-SHA-512").toUpperCase(Locale.ROOT);
        String loginModule = LOGIN_MODULES.get(chosen);
        if (loginModule == null) {
            throw new InvalidSettingException(
                    SASL_MECHANISM,
                    "'"
                            + mechanism.get()
                            + "' is not one of "
                            + String.join(", ", LOGIN_MODULES.keySet().stream().sorted().toList())
                            + " (for other mechanisms set kafka.properties.\"sasl.mechanism\" and"
                            + " kafka.properties.\"sasl.jaas.config\")");
        }
        if (username.isEmpty()) {
            throw new InvalidSettingException(
                    SASL_USERNAME, "SASL " + chosen + " needs a username");
        }
        if (password.isEmpty()) {
            throw new InvalidSettingException(
                    SASL_PASSWORD,
                    "SASL "
                            + chosen
                            + " needs a password: set it, or "
                            + SASL_PASSWORD_FILE
                            + " ("
                            + Settings.environmentVariable(SASL_PASSWORD_FILE)
                            + ") to a file holding it");
        }
        properties.put(SaslConfigs.SASL_MECHANISM, chosen);
        properties.put(
                SaslConfigs.SASL_JAAS_CONFIG,
                loginModule
                        + " required username=\""
                        + jaasQuoted(username.get())
                        + "\" password=\""
                        + jaasQuoted(password.get())
                        + "\";");
    }

    private static void addStore(
            Settings settings,
            StoreKeys kafkaKeys,
            Setting<String> location,
            Setting<String> type,
            Setting<String> password,
            Setting<String> passwordFile,
            Map<String, String> properties) {
        Optional<String> path = settings.text(location);
        Optional<String> secret = secret(settings, password, passwordFile);
        Optional<String> storeType = settings.text(type).map(t -> t.toUpperCase(Locale.ROOT));
        if (path.isEmpty()) {
            if (secret.isPresent() || storeType.isPresent()) {
                throw new InvalidSettingException(
                        location, "is required when the store's type or password is set");
            }
            return;
        }
        if (!Files.isReadable(Paths.get(path.get()))) {
            throw new InvalidSettingException(
                    location, "'" + path.get() + "' does not exist or is not readable");
        }
        String resolvedType = storeType.orElse(guessType(path.get()));
        if (!STORE_TYPES.contains(resolvedType)) {
            throw new InvalidSettingException(
                    type, "'" + resolvedType + "' is not one of " + String.join(", ", STORE_TYPES));
        }
        if (resolvedType.equals("PEM") && secret.isPresent()) {
            throw new InvalidSettingException(
                    password,
                    "a PEM store has no password (an encrypted PEM key's password is "
                            + KEY_PASSWORD
                            + ", "
                            + Settings.environmentVariable(KEY_PASSWORD)
                            + ")");
        }
        if (!resolvedType.equals("PEM") && secret.isEmpty()) {
            throw new InvalidSettingException(
                    password,
                    "a "
                            + resolvedType
                            + " store needs its password: set it, or "
                            + passwordFile
                            + " ("
                            + Settings.environmentVariable(passwordFile)
                            + ")");
        }
        properties.put(kafkaKeys.location(), path.get());
        properties.put(kafkaKeys.type(), resolvedType);
        secret.ifPresent(value -> properties.put(kafkaKeys.password(), value));
    }

    /** The Kafka client properties of one key or trust store. */
    private record StoreKeys(String location, String type, String password) {}

    private static final StoreKeys TRUSTSTORE_KEYS =
            new StoreKeys(
                    SslConfigs.SSL_TRUSTSTORE_LOCATION_CONFIG,
                    SslConfigs.SSL_TRUSTSTORE_TYPE_CONFIG,
                    SslConfigs.SSL_TRUSTSTORE_PASSWORD_CONFIG);

    private static final StoreKeys KEYSTORE_KEYS =
            new StoreKeys(
                    SslConfigs.SSL_KEYSTORE_LOCATION_CONFIG,
                    SslConfigs.SSL_KEYSTORE_TYPE_CONFIG,
                    SslConfigs.SSL_KEYSTORE_PASSWORD_CONFIG);

    private static String guessType(String path) {
        String lower = path.toLowerCase(Locale.ROOT);
        if (lower.endsWith(".pem") || lower.endsWith(".crt")) {
            return "PEM";
        }
        return lower.endsWith(".jks") ? "JKS" : "PKCS12";
    }

    /**
     * A secret given as a value or as a file holding it (a mounted Kubernetes secret), not both.
     */
    private static Optional<String> secret(
            Settings settings, Setting<String> value, Setting<String> file) {
        Optional<String> direct = settings.text(value);
        Optional<String> path = settings.text(file);
        if (direct.isPresent() && path.isPresent()) {
            throw new InvalidSettingException(
                    file,
                    "set either "
                            + value
                            + " ("
                            + Settings.environmentVariable(value)
                            + ") or this file, not both");
        }
        if (path.isEmpty()) {
            return direct;
        }
        try {
            String content = Files.readString(Paths.get(path.get()), StandardCharsets.UTF_8);
            // Files written with echo or an editor end in a newline that is no part of the secret.
            String secret = content.replaceAll("[\\r\\n]+$", "");
            if (secret.isEmpty()) {
                throw new InvalidSettingException(file, "'" + path.get() + "' is empty");
            }
            return Optional.of(secret);
        } catch (IOException | RuntimeException e) {
            if (e instanceof InvalidSettingException invalid) {
                throw invalid;
            }
            throw new InvalidSettingException(
                    file, "cannot read '" + path.get() + "': " + e.getClass().getSimpleName());
        }
    }

    /** Escapes for a double-quoted JAAS option value (Kafka parses it with Java's tokenizer). */
    private static String jaasQuoted(String value) {
        return value.replace("\\", "\\\\").replace("\"", "\\\"");
    }
}
