package dev.telemetry.aggregator.testing;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Entry point of the test broker's own process: formats the KRaft storage if needed, then runs
 * Apache Kafka's {@code kafka.Kafka}. It exits when its standard input closes, so a test JVM that
 * dies (even by {@code kill -9}) never leaves a broker behind.
 *
 * <p>Arguments: {@code <server.properties> <cluster-id> [format options...]}, the last passed to
 * the storage tool's {@code format} (e.g. {@code --add-scram SCRAM-SHA-512=[name=..,password=..]}).
 */
public final class KafkaBrokerMain {
    private KafkaBrokerMain() {}

    public static void main(String[] args) {
        String config = args[0];
        String clusterId = args[1];
        List<String> format =
                new ArrayList<>(
                        List.of("format", "-t", clusterId, "-c", config, "--ignore-formatted"));
        format.addAll(Arrays.asList(args).subList(2, args.length));
        int formatted = kafka.tools.StorageTool.execute(format.toArray(String[]::new), System.out);
        if (formatted != 0) {
            System.err.println("Formatting the broker storage failed with " + formatted);
            System.exit(formatted);
        }
        Thread parentWatch =
                new Thread(
                        () -> {
                            try {
                                while (System.in.read() != -1) {
                                    // Nothing is sent; we only wait for the parent to go away.
                                }
                            } catch (IOException e) {
                                // A broken pipe means the parent is gone, like end of input.
                            }
                            System.exit(0);
                        },
                        "parent-watch");
        parentWatch.setDaemon(true);
        parentWatch.start();
        kafka.Kafka.main(new String[] {config});
    }
}
