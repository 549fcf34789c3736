package dev.telemetry.aggregator.testing;

/**
 * Runs the test broker on its own, for trying the packaged service by hand: prints the bootstrap
 * servers and stays up until killed or the given number of minutes (default 30) has passed.
 */
public final class StandaloneTestBroker {
    private StandaloneTestBroker() {}

    public static void main(String[] args) throws InterruptedException {
        System.out.println("BOOTSTRAP=" + SharedKafkaBroker.bootstrapServers());
        System.out.println("CONTAINER_BOOTSTRAP=" + SharedKafkaBroker.containerBootstrapServers());
        long minutes = args.length > 0 ? Long.parseLong(args[0]) : 30;
        Thread.sleep(minutes * 60_000);
        System.exit(0);
    }
}
