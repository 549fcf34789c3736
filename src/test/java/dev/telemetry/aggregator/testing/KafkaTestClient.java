package dev.telemetry.aggregator.testing;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.function.Predicate;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/** Plain Kafka clients for tests: create topics, produce, and read what a user would read. */
public final class KafkaTestClient implements AutoCloseable {
    private final String bootstrapServers;
    private final Admin admin;
    private KafkaProducer<byte[], byte[]> producer;

    public KafkaTestClient(String bootstrapServers) {
        this.bootstrapServers = bootstrapServers;
        Properties properties = new Properties();
        properties.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        this.admin = Admin.create(properties);
    }

    public static KafkaTestClient forSharedBroker() {
        return new KafkaTestClient(SharedKafkaBroker.bootstrapServers());
    }

    public String bootstrapServers() {
        return bootstrapServers;
    }

    /** A topic name no other test uses. */
    public static String uniqueTopic(String prefix) {
        return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    /** A test's own input, output and dead-letter topics. */
    public record TestTopics(String input, String output, String deadLetters) {}

    /** Creates unique input ({@code inputPartitions}), output (2) and dead-letter (1) topics. */
    public TestTopics createTestTopics(int inputPartitions) {
        TestTopics topics =
                new TestTopics(
                        uniqueTopic("telemetry"), uniqueTopic("aggregates"), uniqueTopic("dlq"));
        createTopic(topics.input(), inputPartitions);
        createTopic(topics.output(), 2);
        createTopic(topics.deadLetters(), 1);
        return topics;
    }

    public void createTopic(String name, int partitions) {
        createTopic(name, partitions, Map.of());
    }

    /** A topic with its own configuration, e.g. a small {@code max.message.bytes}. */
    public void createTopic(String name, int partitions, Map<String, String> configs) {
        try {
            admin.createTopics(List.of(new NewTopic(name, partitions, (short) 1).configs(configs)))
                    .all()
                    .get();
        } catch (InterruptedException | ExecutionException e) {
            throw new IllegalStateException("Cannot create topic " + name, e);
        }
    }

    /** A topic's configuration value, e.g. its {@code cleanup.policy}. */
    public String topicConfig(String topic, String name) {
        ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        try {
            return admin.describeConfigs(List.of(resource))
                    .all()
                    .get()
                    .get(resource)
                    .get(name)
                    .value();
        } catch (InterruptedException | ExecutionException e) {
            throw new IllegalStateException("Cannot describe topic " + topic, e);
        }
    }

    public boolean topicExists(String name) {
        try {
            return admin.listTopics().names().get().contains(name);
        } catch (InterruptedException | ExecutionException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Sends and waits for the broker's acknowledgement of every record. */
    public void send(Collection<ProducerRecord<byte[], byte[]>> records) {
        KafkaProducer<byte[], byte[]> p = producer();
        List<java.util.concurrent.Future<?>> acks = new ArrayList<>();
        for (ProducerRecord<byte[], byte[]> record : records) {
            acks.add(p.send(record));
        }
        p.flush();
        for (java.util.concurrent.Future<?> ack : acks) {
            try {
                ack.get();
            } catch (InterruptedException | ExecutionException e) {
                throw new IllegalStateException("Send failed", e);
            }
        }
    }

    public void send(String topic, Integer partition, String key, String value) {
        send(
                List.of(
                        new ProducerRecord<>(
                                topic,
                                partition,
                                key == null ? null : key.getBytes(StandardCharsets.UTF_8),
                                value == null ? null : value.getBytes(StandardCharsets.UTF_8))));
    }

    /**
     * A transactional producer as a sink instance holds one ({@code initTransactions} done), with a
     * transaction timeout far beyond any test: what the broker sees of a running or crashed
     * deployment's transactions. The caller closes it.
     */
    public KafkaProducer<byte[], byte[]> transactionalProducer(String transactionalId) {
        Properties properties = new Properties();
        properties.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        properties.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
        properties.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, 600_000);
        KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(
                        properties, new ByteArraySerializer(), new ByteArraySerializer());
        producer.initTransactions();
        return producer;
    }

    private KafkaProducer<byte[], byte[]> producer() {
        if (producer == null) {
            Properties properties = new Properties();
            properties.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
            properties.put(ProducerConfig.ACKS_CONFIG, "all");
            properties.put(ProducerConfig.LINGER_MS_CONFIG, 5);
            producer =
                    new KafkaProducer<>(
                            properties, new ByteArraySerializer(), new ByteArraySerializer());
        }
        return producer;
    }

    /**
     * Reads the topic from the beginning with {@code isolation.level=read_committed}, as an
     * exactly-once consumer does, until {@code done} accepts what was read or the timeout passes.
     */
    public List<ConsumerRecord<byte[], byte[]>> readCommitted(
            String topic, Duration timeout, Predicate<List<ConsumerRecord<byte[], byte[]>>> done) {
        return read(topic, "read_committed", timeout, done);
    }

    /**
     * Reads the topic from the beginning with {@code isolation.level=read_uncommitted}: records of
     * open transactions too, i.e. what the service has written but not committed yet.
     */
    public List<ConsumerRecord<byte[], byte[]>> readUncommitted(
            String topic, Duration timeout, Predicate<List<ConsumerRecord<byte[], byte[]>>> done) {
        return read(topic, "read_uncommitted", timeout, done);
    }

    /** Reads everything committed so far: up to the topic's current last stable offsets. */
    public List<ConsumerRecord<byte[], byte[]>> readCommittedToEnd(String topic, Duration timeout) {
        try (KafkaConsumer<byte[], byte[]> consumer = consumer("read_committed")) {
            List<TopicPartition> partitions = partitions(consumer, topic);
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
            long deadline = System.nanoTime() + timeout.toNanos();
            while (System.nanoTime() < deadline
                    && partitions.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
                consumer.poll(Duration.ofMillis(200)).forEach(records::add);
            }
            return records;
        }
    }

    private List<ConsumerRecord<byte[], byte[]>> read(
            String topic,
            String isolation,
            Duration timeout,
            Predicate<List<ConsumerRecord<byte[], byte[]>>> done) {
        try (KafkaConsumer<byte[], byte[]> consumer = consumer(isolation)) {
            List<TopicPartition> partitions = partitions(consumer, topic);
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
            long deadline = System.nanoTime() + timeout.toNanos();
            while (System.nanoTime() < deadline && !done.test(records)) {
                consumer.poll(Duration.ofMillis(200)).forEach(records::add);
            }
            return records;
        }
    }

    /** The consumer group's committed offsets, summed over partitions of {@code topic}. */
    public long committedOffsetSum(String groupId, String topic) {
        try {
            Map<TopicPartition, OffsetAndMetadata> offsets =
                    admin.listConsumerGroupOffsets(groupId).partitionsToOffsetAndMetadata().get();
            return offsets.entrySet().stream()
                    .filter(e -> e.getKey().topic().equals(topic) && e.getValue() != null)
                    .mapToLong(e -> e.getValue().offset())
                    .sum();
        } catch (InterruptedException | ExecutionException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Waits until the job's consumer group has committed (which it does when a checkpoint
     * completes) every record written to {@code topic} so far: then all of them are in the job's
     * window state. Tests send their watermark flush only after this; sent right behind a burst of
     * events, the flush of one partition can move the watermark past another partition's events
     * before they are read (idle partitions do not hold the watermark back), and those events would
     * rightly be routed as late.
     */
    public void awaitCheckpointed(String groupId, String topic, Duration timeout) {
        long written = endOffsetSum(topic);
        long deadline = System.nanoTime() + timeout.toNanos();
        while (committedOffsetSum(groupId, topic) < written) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(
                        "group "
                                + groupId
                                + " committed "
                                + committedOffsetSum(groupId, topic)
                                + " of "
                                + written
                                + " records of "
                                + topic
                                + " within "
                                + timeout);
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
    }

    /** Sum of the log-end offsets of the topic's partitions (all records ever written). */
    public long endOffsetSum(String topic) {
        try {
            List<TopicPartition> partitions =
                    admin
                            .describeTopics(List.of(topic))
                            .allTopicNames()
                            .get()
                            .get(topic)
                            .partitions()
                            .stream()
                            .map(p -> new TopicPartition(topic, p.partition()))
                            .toList();
            Map<TopicPartition, OffsetSpec> request = new HashMap<>();
            partitions.forEach(tp -> request.put(tp, OffsetSpec.latest()));
            return admin.listOffsets(request).all().get().values().stream()
                    .mapToLong(info -> info.offset())
                    .sum();
        } catch (InterruptedException | ExecutionException e) {
            throw new IllegalStateException(e);
        }
    }

    private static List<TopicPartition> partitions(KafkaConsumer<?, ?> consumer, String topic) {
        return consumer.partitionsFor(topic, Duration.ofSeconds(30)).stream()
                .map(info -> new TopicPartition(topic, info.partition()))
                .toList();
    }

    private KafkaConsumer<byte[], byte[]> consumer(String isolation) {
        Properties properties = new Properties();
        properties.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        properties.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
        properties.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        properties.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        return new KafkaConsumer<>(
                properties, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    @Override
    public void close() {
        if (producer != null) {
            producer.close(Duration.ofSeconds(5));
        }
        admin.close(Duration.ofSeconds(5));
    }
}
