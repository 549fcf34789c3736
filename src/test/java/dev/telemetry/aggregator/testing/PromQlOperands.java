package dev.telemetry.aggregator.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Splits a PromQL alert condition into its measurements: the operands of its comparisons and set
 * operators that are not number literals, with {@code absent(x)} replaced by {@code x}.
 *
 * <p>An alert condition is "measurement, comparison, threshold" (or several joined by {@code
 * and}/{@code or}/{@code unless}); while the service is healthy the whole condition returns
 * nothing, but each measurement must return series, or a misspelled metric or label would go
 * unnoticed forever. {@code absent(x)} returns nothing exactly when {@code x} has series, so {@code
 * x} is what is checked. Only the top level is split: comparisons inside function arguments or
 * aggregations are part of a measurement.
 */
public final class PromQlOperands {
    private static final Pattern NUMBER =
            Pattern.compile("[-+]?(\\d+(\\.\\d*)?|\\.\\d+)([eE][-+]?\\d+)?|[-+]?(?i:inf|nan)");
    private static final Pattern LEADING_MODIFIERS =
            Pattern.compile(
                    "^(\\s*(bool|on\\s*\\([^)]*\\)|ignoring\\s*\\([^)]*\\)"
                            + "|group_left\\s*(\\([^)]*\\))?|group_right\\s*(\\([^)]*\\))?))+\\s*");
    private static final Pattern ABSENT = Pattern.compile("^absent\\s*\\(");
    private static final List<String> SET_OPERATORS = List.of("and", "or", "unless");
    private static final List<String> COMPARISONS = List.of("==", "!=", ">=", "<=", ">", "<");

    private PromQlOperands() {}

    public static List<String> measurements(String expression) {
        List<String> out = new ArrayList<>();
        collect(expression, out);
        return out;
    }

    private static void collect(String expression, List<String> out) {
        String e = LEADING_MODIFIERS.matcher(expression.strip()).replaceFirst("").strip();
        while (wrappedIn(e, '(', ')', 0)) {
            e = e.substring(1, e.length() - 1).strip();
        }
        List<String> parts = splitTopLevel(e, true);
        if (parts.size() == 1) {
            parts = splitTopLevel(e, false);
        }
        if (parts.size() > 1) {
            for (String part : parts) {
                collect(part, out);
            }
            return;
        }
        if (NUMBER.matcher(e).matches()) {
            return;
        }
        var absent = ABSENT.matcher(e);
        if (absent.find() && wrappedIn(e, '(', ')', absent.end() - 1)) {
            collect(e.substring(absent.end(), e.length() - 1), out);
            return;
        }
        out.add(e);
    }

    /**
     * Splits at top-level set operators ({@code setOperators}) or comparison operators: outside
     * brackets, braces, parentheses and strings.
     */
    private static List<String> splitTopLevel(String e, boolean setOperators) {
        List<String> parts = new ArrayList<>();
        int depth = 0;
        int start = 0;
        char quote = 0;
        for (int i = 0; i < e.length(); i++) {
            char c = e.charAt(i);
            if (quote != 0) {
                if (c == '\\') {
                    i++;
                } else if (c == quote) {
                    quote = 0;
                }
                continue;
            }
            switch (c) {
                case '"', '\'', '`' -> quote = c;
                case '(', '[', '{' -> depth++;
                case ')', ']', '}' -> depth--;
                default -> {
                    if (depth != 0) {
                        break;
                    }
                    String operator = setOperators ? setOperatorAt(e, i) : comparisonAt(e, i);
                    if (operator != null) {
                        parts.add(e.substring(start, i));
                        i += operator.length() - 1;
                        start = i + 1;
                    }
                }
            }
        }
        parts.add(e.substring(start));
        return parts;
    }

    private static String setOperatorAt(String e, int i) {
        for (String word : SET_OPERATORS) {
            if (e.startsWith(word, i)
                    && (i == 0 || !identifierChar(e.charAt(i - 1)))
                    && (i + word.length() == e.length()
                            || !identifierChar(e.charAt(i + word.length())))) {
                return word;
            }
        }
        return null;
    }

    private static String comparisonAt(String e, int i) {
        for (String operator : COMPARISONS) {
            if (e.startsWith(operator, i)) {
                return operator;
            }
        }
        return null;
    }

    private static boolean identifierChar(char c) {
        return Character.isLetterOrDigit(c) || c == '_' || c == ':';
    }

    /** Whether the parenthesis at {@code open} closes at the very end of {@code e}. */
    private static boolean wrappedIn(String e, char open, char close, int at) {
        if (e.length() < 2 || e.charAt(at) != open || e.charAt(e.length() - 1) != close) {
            return false;
        }
        int depth = 0;
        char quote = 0;
        for (int i = at; i < e.length(); i++) {
            char c = e.charAt(i);
            if (quote != 0) {
                if (c == '\\') {
                    i++;
                } else if (c == quote) {
                    quote = 0;
                }
                continue;
            }
            if (c == '"' || c == '\'' || c == '`') {
                quote = c;
            } else if (c == open) {
                depth++;
            } else if (c == close && --depth == 0) {
                return i == e.length() - 1;
            }
        }
        return false;
    }
}
