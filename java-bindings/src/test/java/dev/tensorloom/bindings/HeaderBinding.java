package dev.tensorloom.bindings;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.lang.foreign.SymbolLookup;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A header of kernels-cuda/include and the class that binds it, by the one rule package-info states:
 * {@code tensorloom.h} is bound by {@link TensorloomLibrary}, {@code tensorloom_<family>.h} by
 * {@code Tensorloom<Family>} in this package (the family's lower-case words capitalised and joined:
 * tensorloom_quant.h by TensorloomQuant, tensorloom_poincare.h by TensorloomPoincare), and every binding
 * class binds its functions from the one library through a {@code (SymbolLookup, String)} constructor.
 */
record HeaderBinding(Path header, Optional<String> className) {
    static final String RULE = "the rule: tensorloom.h is bound by TensorloomLibrary, tensorloom_<family>.h by"
            + " Tensorloom<Family>, in dev.tensorloom.bindings; see its package-info";

    private static final String CORE_HEADER = "tensorloom.h";
    private static final Pattern FAMILY_HEADER = Pattern.compile("tensorloom_([a-z][a-z0-9]*(?:_[a-z][a-z0-9]*)*)\\.h");

    /** Every tensorloom*.h in {@code include}, by name; one that follows no rule is kept, so that it fails. */
    static List<HeaderBinding> discover(Path include) throws IOException {
        List<HeaderBinding> bindings = new ArrayList<>();
        try (DirectoryStream<Path> headers = Files.newDirectoryStream(include, "tensorloom*.h")) {
            for (Path header : headers) {
                bindings.add(new HeaderBinding(header, bindingClassName(header.getFileName().toString())));
            }
        }
        bindings.sort(Comparator.comparing(b -> b.header().getFileName().toString()));
        return bindings;
    }

    /** The binding class's name for a header file name, or empty when the name follows no rule. */
    static Optional<String> bindingClassName(String headerFileName) {
        String packagePrefix = HeaderBinding.class.getPackageName() + ".";
        if (headerFileName.equals(CORE_HEADER)) {
            return Optional.of(packagePrefix + "TensorloomLibrary");
        }
        Matcher family = FAMILY_HEADER.matcher(headerFileName);
        if (!family.matches()) {
            return Optional.empty();
        }
        StringBuilder name = new StringBuilder(packagePrefix).append("Tensorloom");
        for (String word : family.group(1).split("_")) {
            name.append(Character.toUpperCase(word.charAt(0))).append(word.substring(1));
        }
        return Optional.of(name.toString());
    }

    boolean isCore() {
        return header.getFileName().toString().equals(CORE_HEADER);
    }

    /** The binding class; fails naming the header when the name follows no rule or the class is missing. */
    Class<?> bindingClass() {
        String name = className.orElseGet(() -> fail(header + ": a header name that follows no binding rule"
                + " (the family in lower case, words joined by '_'; " + RULE + ")"));
        try {
            return Class.forName(name, false, HeaderBinding.class.getClassLoader());
        } catch (ClassNotFoundException e) {
            return fail(header + " has no binding class " + name + " (" + RULE + ")");
        }
    }

    /** The binding class bound to {@code symbols}, as the loader binds TensorloomLibrary. */
    Object bind(SymbolLookup symbols, String libraryName) {
        Class<?> binding = bindingClass();
        Constructor<?> constructor;
        try {
            constructor = binding.getDeclaredConstructor(SymbolLookup.class, String.class);
        } catch (NoSuchMethodException e) {
            return fail(binding.getName() + " (binding " + header + ") has no (SymbolLookup, String) constructor"
                    + " that binds its functions from the library, as TensorloomLibrary has");
        }
        try {
            constructor.setAccessible(true);
            return constructor.newInstance(symbols, libraryName);
        } catch (InvocationTargetException e) {
            throw new AssertionError(binding.getName() + " cannot bind " + libraryName, e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new AssertionError(e);
        }
    }

    @Override
    public String toString() {
        return header.getFileName() + " -> " + className.map(n -> n.substring(n.lastIndexOf('.') + 1)).orElse("?");
    }
}
