package dev.tensorloom.bindings;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodType;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.opentest4j.AssertionFailedError;

/**
 * Every kernels-cuda/include/tensorloom*.h has its binding class ({@link HeaderBinding} states the rule), and
 * each pair agrees: the same functions, names, arities and types, one downcall handle of the method's own
 * type per function. Status is tensorloom.h's tl_status.
 */
class HeaderBindingsTest {
    private static final Path INCLUDE =
            Path.of(System.getProperty("tensorloom.include", "../kernels-cuda/include"));
    private static final Path CORE_HEADER = INCLUDE.resolve("tensorloom.h");

    // The core has thirty-odd functions; fewer means the reader no longer understands the header.
    private static final int CORE_MINIMUM_FUNCTIONS = 30;

    static List<HeaderBinding> headerBindings() throws IOException {
        return HeaderBinding.discover(INCLUDE);
    }

    @Test
    void theCoreHeaderIsAmongTheHeadersFound() throws IOException {
        List<HeaderBinding> found = headerBindings();
        assertTrue(found.stream().anyMatch(HeaderBinding::isCore), "no tensorloom.h among " + found + " in " + INCLUDE);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("headerBindings")
    void everyHeaderFunctionHasExactlyItsBinding(HeaderBinding pair) throws IOException {
        Class<?> binding = pair.bindingClass();
        String header = Files.readString(pair.header());
        List<HeaderFunctions.CFunction> functions = HeaderFunctions.parse(header);
        int minimum = pair.isCore() ? CORE_MINIMUM_FUNCTIONS : 1;
        assertTrue(functions.size() >= minimum, "read only " + functions.size() + " functions from " + pair.header()
                + ": the reader no longer understands the header");
        assertEquals(HeaderFunctions.code(header).split("\\bTL_API\\b", -1).length - 1, functions.size(),
                "every TL_API declaration outside comments and macros is read as a function");
        List<String> problems = HeaderFunctions.problems(functions, binding);
        assertEquals(List.of(), problems, binding.getSimpleName() + " differs from " + pair.header());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("headerBindings")
    @SuppressWarnings("restricted") // binds the library under test, as NativeLibraryLoader does
    void everyBindingHasOneDowncallHandleOfItsOwnType(HeaderBinding pair) {
        // The handle's type is what the FunctionDescriptor says; it must match the method that invokes it.
        Path file = TestLibrary.file();
        Object library = pair.bind(SymbolLookup.libraryLookup(file, Arena.global()), file.getFileName().toString());
        Class<?> binding = library.getClass();
        List<String> problems = new ArrayList<>();
        for (Method method : binding.getDeclaredMethods()) {
            if (!Modifier.isPublic(method.getModifiers()) || !method.getName().startsWith("tl_")) {
                continue;
            }
            try {
                Field field = binding.getDeclaredField(method.getName());
                assertTrue(Modifier.isPrivate(field.getModifiers()) && Modifier.isFinal(field.getModifiers()),
                        field + " is private final");
                field.setAccessible(true);
                MethodType type = ((MethodHandle) field.get(library)).type();
                MethodType expected = MethodType.methodType(method.getReturnType(), method.getParameterTypes());
                if (!type.equals(expected)) {
                    problems.add(method.getName() + ": handle " + type + ", method " + expected);
                }
            } catch (NoSuchFieldException e) {
                problems.add(method.getName() + ": no MethodHandle field of that name");
            } catch (IllegalAccessException e) {
                throw new AssertionError(e);
            }
        }
        assertEquals(List.of(), problems);
    }

    @Test
    void headersMapToBindingClassesByOneRule() {
        String bindings = "dev.tensorloom.bindings.";
        assertEquals(Optional.of(bindings + "TensorloomLibrary"), HeaderBinding.bindingClassName("tensorloom.h"));
        assertEquals(Optional.of(bindings + "TensorloomQuant"), HeaderBinding.bindingClassName("tensorloom_quant.h"));
        assertEquals(Optional.of(bindings + "TensorloomMpo"), HeaderBinding.bindingClassName("tensorloom_mpo.h"));
        assertEquals(Optional.of(bindings + "TensorloomPoincare"),
                HeaderBinding.bindingClassName("tensorloom_poincare.h"));
        assertEquals(Optional.of(bindings + "TensorloomLowRank"),
                HeaderBinding.bindingClassName("tensorloom_low_rank.h"));
        for (String unruly : List.of("tensorloom-quant.h", "tensorloomquant.h", "tensorloom_.h", "tensorloom_Quant.h",
                "tensorloom_quant_.h", "tensorloom_2bit.h")) {
            assertEquals(Optional.empty(), HeaderBinding.bindingClassName(unruly), unruly);
        }
    }

    @Test
    void aHeaderWithoutItsBindingClassFailsNamingTheHeader() {
        // What a new family header meets until its class is written, and a header whose name follows no rule.
        Path header = INCLUDE.resolve("tensorloom_nosuchfamily.h");
        AssertionFailedError missing = assertThrows(AssertionFailedError.class,
                () -> new HeaderBinding(header, HeaderBinding.bindingClassName("tensorloom_nosuchfamily.h"))
                        .bindingClass());
        assertTrue(missing.getMessage().contains(header + " has no binding class"
                + " dev.tensorloom.bindings.TensorloomNosuchfamily"), missing.getMessage());
        Path unruly = INCLUDE.resolve("tensorloom-quant.h");
        AssertionFailedError noRule = assertThrows(AssertionFailedError.class,
                () -> new HeaderBinding(unruly, Optional.empty()).bindingClass());
        assertTrue(noRule.getMessage().contains(unruly + ": a header name that follows no binding rule"),
                noRule.getMessage());
    }

    @Test
    void statusIsTheHeadersEnum() throws IOException {
        Map<String, Integer> expected = HeaderFunctions.statusEnum(Files.readString(CORE_HEADER));
        Map<String, Integer> actual = new LinkedHashMap<>();
        for (Status status : Status.values()) {
            actual.put(status.cName(), status.code());
        }
        assertEquals(expected, actual);
    }

    // ---- the reader itself, on a header with known differences: the checks above can fail ------------

    private static final String SMALL_HEADER = """
            #ifndef X_H
            #define TL_API __attribute__((visibility("default")))
            #define LONG_MACRO(a, b) \\
                TL_API tl_status tl_in_a_macro(void);
            typedef enum tl_status { TL_OK = 0, /* a comment, with = 7 */ TL_ERROR_X = 3 } tl_status;
            /* TL_API tl_status tl_commented_out(int32_t x); */
            // TL_API tl_status tl_line_comment(void);
            TL_API const char *tl_name(void);
            TL_API tl_status tl_spread(tl_stream stream,   /* the stream, really */
                                       int64_t rows,
                                       tl_buffer *out, const int32_t *ids);
            TL_API tl_status tl_wrong_type(int64_t n);
            TL_API tl_status tl_missing(float f);
            TL_API tl_status tl_short(int32_t a, int32_t b);
            """;

    @SuppressWarnings("unused")
    static final class SmallBinding {
        public MemorySegment tl_name() {
            return MemorySegment.NULL;
        }

        public int tl_spread(MemorySegment stream, long rows, MemorySegment out, MemorySegment ids) {
            return 0;
        }

        public int tl_wrong_type(int n) {
            return 0;
        }

        public int tl_short(int a) {
            return 0;
        }

        public int tl_extra() {
            return 0;
        }
    }

    @Test
    void readerSkipsCommentsAndMacrosAndReadsMultiLineDeclarations() {
        List<HeaderFunctions.CFunction> functions = HeaderFunctions.parse(SMALL_HEADER);
        assertEquals(List.of("tl_name", "tl_spread", "tl_wrong_type", "tl_missing", "tl_short"),
                HeaderFunctions.names(functions));
        assertEquals(new HeaderFunctions.CFunction("tl_spread", "tl_status",
                List.of("tl_stream", "int64_t", "tl_buffer *", "const int32_t *")), functions.get(1));
        assertEquals("const char *", functions.getFirst().returnType());
        assertEquals(Map.of("TL_OK", 0, "TL_ERROR_X", 3), HeaderFunctions.statusEnum(SMALL_HEADER));
    }

    @Test
    void comparisonReportsEveryKindOfDifference() {
        List<String> problems = HeaderFunctions.problems(HeaderFunctions.parse(SMALL_HEADER), SmallBinding.class);
        assertEquals(List.of(
                "tl_wrong_type: parameter 1 is int64_t (long) in the header, int in the binding",
                "tl_missing: in the header, no binding in SmallBinding",
                "tl_short: 2 parameters in the header, 1 in the binding",
                "tl_extra: bound in SmallBinding, but no such function in the header"), problems);
    }
}
