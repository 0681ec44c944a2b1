package dev.tensorloom.bindings;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** The library the tests run on: the CPU emulation, which surefire selects and points at (java-bindings/pom.xml). */
final class EmulatedLibrary {
    private EmulatedLibrary() {
    }

    static TensorloomLibrary library() {
        assertEquals("emu", NativeLibraryLoader.configuredVariant(),
                "-D" + NativeLibraryLoader.VARIANT_PROPERTY + "=emu is set for the tests by java-bindings/pom.xml");
        return NativeLibraryLoader.load();
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
