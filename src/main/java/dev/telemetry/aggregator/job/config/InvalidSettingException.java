package dev.telemetry.aggregator.job.config;

/**
 * A setting with a value the service cannot run with. The message names the setting, its
 * environment variable, the offending value and what to use instead, so start-up failures are
 * actionable without reading code.
 */
public class InvalidSettingException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    private final String setting;

    public InvalidSettingException(String setting, String problem) {
        super(
                "Invalid setting "
                        + setting
                        + " (environment variable "
                        + Settings.environmentVariable(setting)
                        + "): "
                        + problem);
        this.setting = setting;
    }

    public InvalidSettingException(Setting<?> setting, String problem) {
        this(setting.key(), problem);
    }

    public String setting() {
        return setting;
    }
}
