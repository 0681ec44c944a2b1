package dev.tensorloom.bindings;

import java.lang.foreign.MemorySegment;

/** Reads the NUL-terminated strings the library returns as {@code const char *}. */
@SuppressWarnings("restricted") // native access is this module's job; --enable-native-access grants it
final class CString {
    private CString() {
    }

    /**
     * A downcall returns a pointer as a zero-length segment, since C does not say how long the string is;
     * the header promises a NUL-terminated string, so reading up to the NUL is safe.
     */
    static String read(MemorySegment pointer) {
        if (pointer.equals(MemorySegment.NULL)) {
            return "";
        }
        return pointer.reinterpret(Long.MAX_VALUE).getString(0);
    }
}
