package dev.tensorloom.bindings;

import java.lang.foreign.AddressLayout;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * How every binding class of this package (one per header: the core tensorloom.h and each family's
 * tensorloom_&lt;family&gt;.h) makes its downcalls: the headers' C types as layouts, the two linker options, the
 * lookup of a function in the loaded library, and what a failed {@code invokeExact} becomes.
 */
final class Downcalls {

    static final Linker LINKER = Linker.nativeLinker();

    // The headers' C types. uint64_t travels as a Java long: sizes above 2^63 bytes do not occur.
    static final ValueLayout.OfInt STATUS = ValueLayout.JAVA_INT;
    static final ValueLayout.OfInt INT32 = ValueLayout.JAVA_INT;
    static final ValueLayout.OfLong INT64 = ValueLayout.JAVA_LONG;
    static final ValueLayout.OfLong UINT64 = ValueLayout.JAVA_LONG;
    static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT;
    static final AddressLayout POINTER = ValueLayout.ADDRESS;
    static final AddressLayout HANDLE = ValueLayout.ADDRESS;

    /*
     * critical(false) skips the Java-to-native thread-state transition, but while a critical call runs this
     * thread cannot reach a safepoint, so a GC waits for it. It is right only for calls that return at once
     * and never wait: the string and status queries. Kernel calls take the ordinary path: a launch can wait
     * (a full launch queue, the handle registry's lock, or, in the emulation, the whole kernel), and the
     * transition costs nanoseconds against a launch's microseconds.
     */
    static final Linker.Option[] QUICK = {Linker.Option.critical(false)};
    static final Linker.Option[] ORDINARY = {};

    private Downcalls() {
    }

    /** The downcall handle of {@code function} of {@code header} in the library loaded as {@code library}. */
    @SuppressWarnings("restricted") // native access is this module's job; --enable-native-access grants it
    static MethodHandle bind(SymbolLookup symbols, String library, String header, String function,
                             FunctionDescriptor descriptor, Linker.Option[] options) {
        MemorySegment address = symbols.find(function).orElseThrow(() -> new NativeLibraryException(
                library + " has no function " + function + " of " + header + ": it was built from another"
                        + " version of the header than these bindings"));
        return LINKER.downcallHandle(address, descriptor, options);
    }

    /** A downcall throws nothing checked; runtime exceptions (a closed arena, a heap segment) pass as they are. */
    static RuntimeException unchecked(Throwable thrown) {
        if (thrown instanceof RuntimeException runtime) {
            return runtime;
        }
        if (thrown instanceof Error error) {
            throw error;
        }
        return new IllegalStateException("a downcall threw a checked exception", thrown);
    }
}
