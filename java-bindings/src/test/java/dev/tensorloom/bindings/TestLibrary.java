package dev.tensorloom.bindings;

import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;

/**
 * The library the tests run on: the one -Dtensorloom.native.library names, which is the CPU emulation in
 * the build (java-bindings/pom.xml sets it and points at it) and the GPU build in bench/gpu-check.sh.
 */
final class TestLibrary {
    private TestLibrary() {
    }

    static TensorloomLibrary library() {
        assertNotNull(System.getProperty(NativeLibraryLoader.VARIANT_PROPERTY),
                "-D" + NativeLibraryLoader.VARIANT_PROPERTY + " names the library under test (java-bindings/pom.xml)");
        return NativeLibraryLoader.load();
    }

    /** The file of the library under test, for a binding class to bind from as the loader does. */
    static Path file() {
        library(); // the variant is named and loads, or this fails saying why
        return NativeLibraryLoader.locate(variant(), System.getProperty(NativeLibraryLoader.PATH_PROPERTY),
                NativeLibraryLoader.class);
    }

    /** "emu" or "cuda". */
    static String variant() {
        return NativeLibraryLoader.configuredVariant();
    }

    static NativeDevice device() {
        return NativeDevice.open(library());
    }

    /** Off-heap floats, for copies to the device. */
    static MemorySegment floats(Arena arena, float... values) {
        return arena.allocateFrom(ValueLayout.JAVA_FLOAT, values);
    }

    static float[] download(DeviceBuffer buffer, DeviceStream stream, int count) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(ValueLayout.JAVA_FLOAT, count);
            buffer.copyTo(host, 0, 0, (long) count * Float.BYTES, stream);
            return host.toArray(ValueLayout.JAVA_FLOAT);
        }
    }

    static DeviceBuffer upload(NativeDevice device, DeviceStream stream, float... values) {
        DeviceBuffer buffer = device.allocate((long) values.length * Float.BYTES);
        try (Arena arena = Arena.ofConfined()) {
            buffer.copyFrom(floats(arena, values), 0, 0, buffer.byteSize(), stream);
        }
        return buffer;
    }
}
