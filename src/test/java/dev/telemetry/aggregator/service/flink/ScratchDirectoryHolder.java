package dev.telemetry.aggregator.service.flink;

import java.nio.file.Path;

/**
 * A process that holds a scratch directory until it is killed, for {@link ScratchDirectoryTest}.
 */
public final class ScratchDirectoryHolder {
    static final String CREATED = "created ";

    private ScratchDirectoryHolder() {}

    public static void main(String[] args) throws InterruptedException {
        ScratchDirectory scratch = ScratchDirectory.create(Path.of(args[0]));
        System.out.println(CREATED + scratch.path());
        System.out.flush();
        Thread.sleep(120_000); // bounded: the test kills it long before
    }
}
