package dev.telemetry.aggregator.service.config;

import dev.telemetry.aggregator.job.config.InvalidSettingException;
import dev.telemetry.aggregator.job.config.Setting;
import dev.telemetry.aggregator.job.config.Settings;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/** The validated settings of the admin HTTP API: whether it is on, and its bearer token. */
public final class AdminOptions {
    public static final Setting<Boolean> ENABLED =
            Setting.bool(
                    "telemetry.admin.enabled",
                    "false",
                    "Serve the admin HTTP API under /admin (job state, snapshots, savepoints,"
                            + " lingering transactions); every request needs the bearer token.");
    public static final Setting<String> TOKEN =
            Setting.secret(
                    "telemetry.admin.token",
                    "The admin API's bearer token, at least 16 characters; set it by environment"
                            + " variable, never in a file of the image.");
    static final int MINIMUM_TOKEN_LENGTH = 16;

    private final boolean enabled;
    private final byte[] token;

    private AdminOptions(boolean enabled, byte[] token) {
        this.enabled = enabled;
        this.token = token;
    }

    /** Parses and validates; throws {@link InvalidSettingException} naming the variable. */
    public static AdminOptions from(Settings settings) {
        boolean enabled = settings.get(ENABLED);
        Optional<String> token = settings.text(TOKEN);
        if (!enabled) {
            return new AdminOptions(false, new byte[0]);
        }
        if (token.isEmpty()) {
            throw new InvalidSettingException(
                    TOKEN,
                    "the admin API is enabled ("
                            + Settings.environmentVariable(ENABLED)
                            + "=true) but has no token; set "
                            + Settings.environmentVariable(TOKEN)
                            + " to a secret of at least "
                            + MINIMUM_TOKEN_LENGTH
                            + " characters, or disable the admin API");
        }
        if (token.get().length() < MINIMUM_TOKEN_LENGTH) {
            // The value is a secret: say how long it must be, never what it is.
            throw new InvalidSettingException(
                    TOKEN,
                    "the admin token is shorter than "
                            + MINIMUM_TOKEN_LENGTH
                            + " characters; use a longer random secret");
        }
        return new AdminOptions(true, token.get().getBytes(StandardCharsets.UTF_8));
    }

    public boolean enabled() {
        return enabled;
    }

    /** The token's bytes, for a constant-time comparison; never log them. */
    public byte[] token() {
        return token.clone();
    }

    @Override
    public String toString() {
        return "AdminOptions[enabled=" + enabled + ", token=" + (enabled ? "***" : "none") + "]";
    }
}
