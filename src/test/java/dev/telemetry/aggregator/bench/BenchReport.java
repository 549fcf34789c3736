package dev.telemetry.aggregator.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import javax.imageio.ImageIO;

/**
 * Turns the scenario results ({@code <dir>/<scenario>.json}) into {@code <dir>/README.md}: targets
 * met or not, then ratios, then absolute figures (marked machine-dependent); and plots drawn with
 * Java2D, headless: latency distributions and throughput against keys. A figure measured over
 * repeated runs is an object with {@code median}, {@code min}, {@code max} and {@code each run};
 * its table cell reads "median m (min a, max b; each run: x / y / ...)".
 */
final class BenchReport {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Color[] COLORS = {
        new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c), new Color(0x9467bd)
    };

    private BenchReport() {}

    public static void main(String[] args) throws IOException {
        write(Path.of(args.length > 0 ? args[0] : "bench/results"));
    }

    static void write(Path dir) throws IOException {
        System.setProperty("java.awt.headless", "true");
        List<JsonNode> results = new ArrayList<>();
        for (String scenario : BenchSuite.SCENARIOS) {
            Path file = dir.resolve(scenario + ".json");
            if (Files.isRegularFile(file)) {
                results.add(JSON.readTree(file.toFile()));
            }
        }
        StringBuilder md = new StringBuilder("# Benchmark results\n\n");
        md.append(
                "Written by `bash bench/run.sh` (see bench/README.md). **The machine is shared and"
                        + " noisy: absolute figures are machine-dependent; the ratios compare"
                        + " contestants run one after another in the same run on the same"
                        + " broker.**\n\n");
        // Notes on a particular run (sizes, machine load) kept beside its results.
        Path notes = dir.resolve("NOTES.md");
        if (Files.isRegularFile(notes)) {
            md.append(Files.readString(notes)).append("\n");
        }
        md.append(
                "| scenario | run at | cores | load average before / after |\n|---|---|---|---|\n");
        for (JsonNode result : results) {
            JsonNode machine = result.path("machine");
            md.append(
                    String.format(
                            "| %s | %s | %s | %s / %s |%n",
                            result.path("scenario").asText(),
                            machine.path("date").asText(),
                            machine.path("cores").asText(),
                            machine.path("loadAverageBefore").asText(),
                            result.path("loadAverageAfter").asText()));
        }
        md.append(
                "\n## Targets\n\n| target | shape | value | goal | met |\n|---|---|---|---|---|\n");
        for (JsonNode result : results) {
            for (JsonNode row : result.path("rows")) {
                for (JsonNode target : row.path("targets")) {
                    md.append(
                            String.format(
                                    "| %s | %s | %s | %s | %s |%n",
                                    target.path("target").asText(),
                                    shapeOf(row),
                                    format(target.path("value")),
                                    target.path("goal").asText(),
                                    target.path("met").asBoolean() ? "met" : "**not met**"));
                }
            }
        }
        md.append("\n## Ratios\n\n| scenario | shape | ratio | value |\n|---|---|---|---|\n");
        appendFigures(md, results, "ratios");
        md.append(
                "\n## Absolute figures (machine-dependent)\n\n"
                        + "| scenario | shape | figure | value |\n|---|---|---|---|\n");
        appendFigures(md, results, "absolute");
        md.append("\nShapes: see `shapeSettings` in each JSON file.\n");
        for (JsonNode result : results) {
            String scenario = result.path("scenario").asText();
            if (scenario.equals("latency")) {
                for (JsonNode row : result.path("rows")) {
                    String png = "latency-" + row.path("shape").asText() + ".png";
                    latencyPlot(row, dir.resolve(png));
                    md.append("\n![latency distribution, ").append(row.path("shape").asText());
                    md.append("](").append(png).append(")\n");
                }
            }
            if (scenario.equals("keyscale") && result.path("rows").size() > 0) {
                keyScalePlot(result.path("rows"), dir.resolve("keyscale.png"));
                md.append("\n![throughput against keys](keyscale.png)\n");
            }
        }
        Files.writeString(dir.resolve("README.md"), md.toString());
    }

    /** One table line per figure of every row's {@code section} (ratios or absolute figures). */
    private static void appendFigures(StringBuilder md, List<JsonNode> results, String section) {
        for (JsonNode result : results) {
            for (JsonNode row : result.path("rows")) {
                fields(row.path(section))
                        .forEach(
                                (name, value) ->
                                        md.append(
                                                String.format(
                                                        "| %s | %s | %s | %s |%n",
                                                        result.path("scenario").asText(),
                                                        shapeOf(row),
                                                        name,
                                                        format(value))));
            }
        }
    }

    /** The row's shape, with its state backend where a scenario runs several (key scale). */
    private static String shapeOf(JsonNode row) {
        String backend = row.path("stateBackend").asText("");
        return row.path("shape").asText() + (backend.isEmpty() ? "" : ", " + backend);
    }

    private static Map<String, JsonNode> fields(JsonNode node) {
        Map<String, JsonNode> fields = new java.util.LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> field : node.properties()) {
            fields.put(field.getKey(), field.getValue());
        }
        return fields;
    }

    static String format(JsonNode value) {
        if (value.isObject() && value.has("median")) {
            // A figure over repeated runs (BenchSuite.Spread): the median first, then the spread.
            return String.format(
                    "median %s (min %s, max %s; each run: %s)",
                    format(value.path("median")),
                    format(value.path("min")),
                    format(value.path("max")),
                    format(value.path("each run")));
        }
        if (value.isObject()) {
            // Figures by a setting, e.g. a median at each parallelism.
            List<String> each = new ArrayList<>();
            value.properties()
                    .forEach(field -> each.add(field.getKey() + ": " + format(field.getValue())));
            return String.join(", ", each);
        }
        if (value.isArray()) {
            List<String> each = new ArrayList<>();
            value.forEach(element -> each.add(format(element)));
            return String.join(" / ", each);
        }
        if (value.isIntegralNumber()) {
            return String.format(Locale.ROOT, "%,d", value.asLong());
        }
        if (value.isNumber()) {
            double v = value.asDouble();
            return Math.abs(v) >= 100
                    ? String.format(Locale.ROOT, "%,.0f", v)
                    : String.format(Locale.ROOT, "%.3g", v);
        }
        return value.asText();
    }

    /** Cumulative distribution of latency per contestant, with the floor as a vertical line. */
    private static void latencyPlot(JsonNode row, Path png) throws IOException {
        List<Series> series = new ArrayList<>();
        fields(row.path("cdfMs"))
                .forEach(
                        (name, cdf) -> {
                            double[] xs = new double[cdf.size()];
                            double[] ys = new double[cdf.size()];
                            for (int p = 0; p < cdf.size(); p++) {
                                xs[p] = cdf.get(p).asDouble() / 1000.0;
                                ys[p] = p;
                            }
                            series.add(new Series(name, xs, ys));
                        });
        double floor = row.path("floorMs").asDouble() / 1000.0;
        series.add(new Series("floor", new double[] {floor, floor}, new double[] {0, 100}));
        plot(
                png,
                "Latency, append to visible (read_committed), " + row.path("shape").asText(),
                "seconds",
                "percentile",
                series,
                false);
    }

    /** One line per state backend; a run that did not finish has no point. */
    private static void keyScalePlot(JsonNode rows, Path png) throws IOException {
        Map<String, List<JsonNode>> byBackend = new LinkedHashMap<>();
        for (JsonNode row : rows) {
            byBackend
                    .computeIfAbsent(
                            row.path("stateBackend").asText("hashmap"), b -> new ArrayList<>())
                    .add(row);
        }
        List<Series> series = new ArrayList<>();
        byBackend.forEach(
                (backend, points) -> {
                    double[] xs = new double[points.size()];
                    double[] ys = new double[points.size()];
                    for (int r = 0; r < points.size(); r++) {
                        ys[r] = points.get(r).path("eventsPerSecond").asDouble(Double.NaN);
                        xs[r] = Double.isFinite(ys[r]) ? points.get(r).path("keys").asDouble() : -1;
                    }
                    series.add(new Series("service EOS, " + backend, xs, ys));
                });
        plot(
                png,
                "Service EOS throughput against distinct (device, metric) keys",
                "keys (log scale)",
                "events/s (machine-dependent)",
                series,
                true);
    }

    private record Series(String name, double[] xs, double[] ys) {}

    private static void plot(
            Path png, String title, String xLabel, String yLabel, List<Series> series, boolean logX)
            throws IOException {
        int width = 800;
        int height = 500;
        int left = 80;
        int right = 20;
        int top = 40;
        int bottom = 60;
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, width, height);
        double minX = Double.MAX_VALUE;
        double maxX = -Double.MAX_VALUE;
        double maxY = 0;
        for (Series s : series) {
            for (int i = 0; i < s.xs().length; i++) {
                if (s.xs()[i] < 0) {
                    continue;
                }
                double x = logX ? Math.log10(s.xs()[i]) : s.xs()[i];
                minX = Math.min(minX, x);
                maxX = Math.max(maxX, x);
                maxY = Math.max(maxY, s.ys()[i]);
            }
        }
        if (!logX) {
            minX = 0;
        }
        if (maxX <= minX) {
            maxX = minX + 1;
        }
        maxY = maxY <= 0 ? 1 : maxY * 1.1;
        int plotWidth = width - left - right;
        int plotHeight = height - top - bottom;
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
        g.drawString(title, left, 24);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        g.drawRect(left, top, plotWidth, plotHeight);
        for (int t = 0; t <= 5; t++) {
            double x = minX + (maxX - minX) * t / 5;
            int px = left + plotWidth * t / 5;
            g.drawString(
                    String.format(Locale.ROOT, "%.3g", logX ? Math.pow(10, x) : x),
                    px - 15,
                    top + plotHeight + 18);
            double y = maxY * t / 5;
            int py = top + plotHeight - plotHeight * t / 5;
            g.drawString(String.format(Locale.ROOT, "%.3g", y), 5, py + 4);
        }
        g.drawString(xLabel, left + plotWidth / 2 - 40, height - 15);
        g.drawString(yLabel, 5, top - 8);
        g.setStroke(new BasicStroke(2f));
        int legendY = top + 20;
        for (int s = 0; s < series.size(); s++) {
            Series line = series.get(s);
            g.setColor(COLORS[s % COLORS.length]);
            int previousX = -1;
            int previousY = -1;
            for (int i = 0; i < line.xs().length; i++) {
                if (line.xs()[i] < 0) {
                    continue;
                }
                double x = logX ? Math.log10(line.xs()[i]) : line.xs()[i];
                int px = left + (int) ((x - minX) / (maxX - minX) * plotWidth);
                int py = top + plotHeight - (int) (line.ys()[i] / maxY * plotHeight);
                g.fillOval(px - 2, py - 2, 4, 4);
                if (previousX >= 0) {
                    g.drawLine(previousX, previousY, px, py);
                }
                previousX = px;
                previousY = py;
            }
            g.drawString(line.name(), left + plotWidth - 200, legendY);
            legendY += 16;
        }
        g.dispose();
        ImageIO.write(image, "png", png.toFile());
    }
}
