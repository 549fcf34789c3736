package dev.telemetry.aggregator.service.admin;

import dev.telemetry.aggregator.service.config.AdminOptions;
import dev.telemetry.aggregator.service.flink.EmbeddedFlinkJob;
import jakarta.inject.Inject;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.Response;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Optional;
import org.jboss.resteasy.reactive.server.ServerRequestFilter;

/** Guards every REST endpoint (only the admin API has any): 404 when off, 401 without the token. */
public class AdminAuthentication {
    private static final String BEARER = "Bearer ";

    @Inject EmbeddedFlinkJob job;

    @ServerRequestFilter
    public Optional<Response> authenticate(ContainerRequestContext request) {
        Optional<AdminOptions> admin = job.adminOptions();
        if (admin.isEmpty() || !admin.get().enabled()) {
            // Off: as if the API did not exist.
            return Optional.of(Response.status(Response.Status.NOT_FOUND).build());
        }
        String header = request.getHeaderString(HttpHeaders.AUTHORIZATION);
        if (header == null
                || !header.regionMatches(true, 0, BEARER, 0, BEARER.length())
                || !matches(admin.get().token(), header.substring(BEARER.length()).trim())) {
            return Optional.of(
                    Response.status(Response.Status.UNAUTHORIZED)
                            .header(HttpHeaders.WWW_AUTHENTICATE, "Bearer")
                            .build());
        }
        return Optional.empty();
    }

    /**
     * Compares digests with {@link MessageDigest#isEqual}: constant time, and equal-length inputs,
     * so neither the content nor the length of the token leaks through response timing.
     */
    static boolean matches(byte[] expected, String provided) {
        try {
            MessageDigest sha256 = MessageDigest.getInstance("SHA-256");
            byte[] a = sha256.digest(expected);
            byte[] b = sha256.digest(provided.getBytes(StandardCharsets.UTF_8));
            return MessageDigest.isEqual(a, b);
        } catch (NoSuchAlgorithmException e) {
            // Every Java runtime must provide SHA-256.
            throw new IllegalStateException(e);
        }
    }
}
