package dev.tensorloom.bindings;

import java.lang.foreign.MemorySegment;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the functions and the status enum out of a tensorloom header, and compares them with a binding class.
 * A small C reader, not a C parser: it relies on the header's own conventions (every function starts with
 * TL_API, no function-pointer parameters), which is all a binding check needs.
 */
final class HeaderFunctions {
    private HeaderFunctions() {
    }

    record CFunction(String name, String returnType, List<String> parameterTypes) {
    }

    private static final Pattern FUNCTION = Pattern.compile("TL_API\\s+([^;{}()]+?)\\s*\\b(\\w+)\\s*\\(([^)]*)\\)\\s*;");
    private static final Pattern PARAMETER = Pattern.compile("^(.*?)\\s*\\b(\\w+)$");
    private static final Pattern STATUS_ENUM = Pattern.compile("typedef\\s+enum\\s+tl_status\\s*\\{([^}]*)}");
    private static final Pattern ENUMERATOR = Pattern.compile("(\\w+)\\s*=\\s*(-?\\d+)");

    /** The text without comments and preprocessor lines, whitespace collapsed: what the patterns read. */
    static String code(String header) {
        String text = header.replaceAll("(?s)/\\*.*?\\*/", " ").replaceAll("//[^\\n]*", " ");
        text = text.replaceAll("(?m)^\\s*#(?:[^\\n]*\\\\\\n)*[^\\n]*", " "); // with backslash continuations
        return text.replaceAll("\\s+", " ");
    }

    static List<CFunction> parse(String header) {
        List<CFunction> functions = new ArrayList<>();
        Matcher m = FUNCTION.matcher(code(header));
        while (m.find()) {
            List<String> types = new ArrayList<>();
            String parameters = m.group(3).trim();
            if (!parameters.isEmpty() && !parameters.equals("void")) {
                for (String parameter : parameters.split(",")) {
                    Matcher p = PARAMETER.matcher(parameter.trim());
                    if (!p.matches() || p.group(1).isBlank()) {
                        throw new IllegalArgumentException("cannot read parameter '" + parameter + "' of " + m.group(2));
                    }
                    types.add(normalize(p.group(1)));
                }
            }
            functions.add(new CFunction(m.group(2), normalize(m.group(1)), types));
        }
        return functions;
    }

    /** tl_status's enumerators, name to value, in header order. */
    static Map<String, Integer> statusEnum(String header) {
        Matcher m = STATUS_ENUM.matcher(code(header));
        if (!m.find()) {
            throw new IllegalArgumentException("no 'typedef enum tl_status { ... }' in the header");
        }
        Map<String, Integer> values = new LinkedHashMap<>();
        Matcher e = ENUMERATOR.matcher(m.group(1));
        while (e.find()) {
            values.put(e.group(1), Integer.valueOf(e.group(2)));
        }
        return values;
    }

    private static String normalize(String type) {
        return type.replaceAll("\\s*\\*", " *").replaceAll("\\s+", " ").trim();
    }

    /** The Java type jextract's rules give a C type of this header: pointers and handles are addresses. */
    static Class<?> javaType(String cType) {
        if (cType.contains("*") || cType.equals("tl_buffer") || cType.equals("tl_stream")) {
            return MemorySegment.class;
        }
        return switch (cType) {
            case "int32_t", "tl_status" -> int.class;
            case "int64_t", "uint64_t" -> long.class;
            case "float" -> float.class;
            default -> throw new IllegalArgumentException("no Java type for C type " + cType);
        };
    }

    /**
     * Every difference between the header's functions and {@code binding}'s public instance methods whose
     * names start with {@code tl_}: missing or extra functions, arity, parameter and return types.
     */
    static List<String> problems(List<CFunction> header, Class<?> binding) {
        List<String> problems = new ArrayList<>();
        Map<String, List<Method>> methods = new LinkedHashMap<>();
        for (Method method : binding.getDeclaredMethods()) {
            if (Modifier.isPublic(method.getModifiers()) && !Modifier.isStatic(method.getModifiers())
                    && method.getName().startsWith("tl_")) {
                methods.computeIfAbsent(method.getName(), k -> new ArrayList<>()).add(method);
            }
        }
        for (CFunction function : header) {
            List<Method> candidates = methods.remove(function.name());
            if (candidates == null) {
                problems.add(function.name() + ": in the header, no binding in " + binding.getSimpleName());
                continue;
            }
            if (candidates.size() > 1) {
                problems.add(function.name() + ": " + candidates.size() + " overloads in the binding, want one");
                continue;
            }
            Method method = candidates.getFirst();
            Class<?>[] actual = method.getParameterTypes();
            if (actual.length != function.parameterTypes().size()) {
                problems.add(function.name() + ": " + function.parameterTypes().size() + " parameters in the header, "
                        + actual.length + " in the binding");
                continue;
            }
            for (int i = 0; i < actual.length; i++) {
                Class<?> expected = javaType(function.parameterTypes().get(i));
                if (actual[i] != expected) {
                    problems.add(function.name() + ": parameter " + (i + 1) + " is " + function.parameterTypes().get(i)
                            + " (" + expected.getSimpleName() + ") in the header, " + actual[i].getSimpleName()
                            + " in the binding");
                }
            }
            Class<?> expectedReturn = javaType(function.returnType());
            if (method.getReturnType() != expectedReturn) {
                problems.add(function.name() + ": returns " + function.returnType() + " (" + expectedReturn.getSimpleName()
                        + ") in the header, " + method.getReturnType().getSimpleName() + " in the binding");
            }
        }
        for (String extra : methods.keySet()) {
            problems.add(extra + ": bound in " + binding.getSimpleName() + ", but no such function in the header");
        }
        return problems;
    }

    static List<String> names(List<CFunction> functions) {
        return functions.stream().map(CFunction::name).toList();
    }
}
