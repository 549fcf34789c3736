package dev.telemetry.aggregator.testing;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** Base of the tests that talk to the shared test broker: one client per test class. */
public abstract class SharedBrokerTest {
    protected static KafkaTestClient kafka;

    @BeforeAll
    static void connectToSharedBroker() {
        kafka = KafkaTestClient.forSharedBroker();
    }

    @AfterAll
    static void disconnectFromSharedBroker() {
        kafka.close();
    }
}
