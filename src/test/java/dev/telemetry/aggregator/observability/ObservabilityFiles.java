package dev.telemetry.aggregator.observability;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.telemetry.aggregator.testing.PromQlOperands;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.yaml.snakeyaml.Yaml;

/**
 * Reads the PromQL the users' Grafana and Prometheus will run out of {@code grafana/dashboards/}
 * and {@code prometheus/alerts.yaml}, so tests check the shipped files rather than copies.
 */
final class ObservabilityFiles {
    static final Path DASHBOARDS = Paths.get("grafana", "dashboards");
    static final Path ALERTS = Paths.get("prometheus", "alerts.yaml");

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern VARIABLE = Pattern.compile("\\$\\{(\\w+)(?::[^}]*)?}|\\$(\\w+)");
    private static final Pattern LABEL_VALUES =
            Pattern.compile("^label_values\\((?:(.*),)?\\s*(\\w+)\\s*\\)$", Pattern.DOTALL);
    private static final Pattern QUERY_RESULT =
            Pattern.compile("^query_result\\((.*)\\)$", Pattern.DOTALL);

    private ObservabilityFiles() {}

    /**
     * One PromQL query to run.
     *
     * @param where where it comes from, for failure messages
     * @param expr the expression, template variables already substituted
     * @param label a label every returned series must carry (a label_values variable), or null
     */
    record Query(String where, String expr, String label) {}

    /** One alert rule: its name, its condition, and the measurements in that condition. */
    record AlertRule(String name, String expr, List<String> measurements, Map<String, ?> rule) {}

    static List<Path> dashboards() {
        try (Stream<Path> files = Files.list(DASHBOARDS)) {
            return files.filter(f -> f.toString().endsWith(".json")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static JsonNode readJson(Path file) {
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot parse " + file, e);
        }
    }

    /**
     * Every panel target's expression (rows included) and every query variable's query, with
     * Grafana's variables replaced by {@code variables}. A label_values(selector, label) variable
     * becomes its selector, whose series must carry the label: that is what Grafana asks Prometheus
     * for.
     */
    static List<Query> dashboardQueries(Path file, Map<String, String> variables) {
        JsonNode dashboard = readJson(file);
        List<Query> queries = new ArrayList<>();
        for (JsonNode variable : dashboard.path("templating").path("list")) {
            if (!"query".equals(variable.path("type").asText())) {
                continue;
            }
            JsonNode query = variable.path("query");
            String text = query.isObject() ? query.path("query").asText() : query.asText();
            String where = file.getFileName() + " variable $" + variable.path("name").asText();
            String expr = substitute(text.strip(), variables, where);
            Matcher labelValues = LABEL_VALUES.matcher(expr);
            Matcher queryResult = QUERY_RESULT.matcher(expr);
            if (labelValues.matches()) {
                String selector = labelValues.group(1);
                String label = labelValues.group(2);
                queries.add(
                        new Query(
                                where,
                                selector == null ? "{" + label + "!=\"\"}" : selector.strip(),
                                label));
            } else if (queryResult.matches()) {
                queries.add(new Query(where, queryResult.group(1).strip(), null));
            } else {
                queries.add(new Query(where, expr, null));
            }
        }
        collectTargets(file, dashboard.path("panels"), variables, queries);
        return queries;
    }

    private static void collectTargets(
            Path file, JsonNode panels, Map<String, String> variables, List<Query> queries) {
        for (JsonNode panel : panels) {
            for (JsonNode target : panel.path("targets")) {
                if (target.hasNonNull("expr")) {
                    String where =
                            file.getFileName()
                                    + " panel '"
                                    + panel.path("title").asText()
                                    + "' target "
                                    + target.path("refId").asText();
                    queries.add(
                            new Query(
                                    where,
                                    substitute(target.get("expr").asText(), variables, where),
                                    null));
                }
            }
            // Collapsed rows keep their panels inside them.
            collectTargets(file, panel.path("panels"), variables, queries);
        }
    }

    static String substitute(String expr, Map<String, String> variables, String where) {
        Matcher matcher = VARIABLE.matcher(expr);
        StringBuilder out = new StringBuilder();
        while (matcher.find()) {
            String name = matcher.group(1) != null ? matcher.group(1) : matcher.group(2);
            String value = variables.get(name);
            if (value == null) {
                throw new IllegalArgumentException(
                        where + " uses $" + name + ", which the test does not know: " + expr);
            }
            matcher.appendReplacement(out, Matcher.quoteReplacement(value));
        }
        matcher.appendTail(out);
        return out.toString();
    }

    @SuppressWarnings("unchecked")
    static List<AlertRule> alertRules() {
        Map<String, Object> file;
        try {
            file = new Yaml().load(Files.readString(ALERTS));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        List<AlertRule> rules = new ArrayList<>();
        for (Map<String, Object> group : (List<Map<String, Object>>) file.get("groups")) {
            for (Map<String, Object> rule : (List<Map<String, Object>>) group.get("rules")) {
                if (rule.containsKey("alert")) {
                    String expr = rule.get("expr").toString();
                    rules.add(
                            new AlertRule(
                                    rule.get("alert").toString(),
                                    expr,
                                    PromQlOperands.measurements(expr),
                                    rule));
                }
            }
        }
        return rules;
    }
}
