package dev.tensorloom.runtime.kernel.cuda;

import dev.tensorloom.bindings.DeviceBuffer;
import dev.tensorloom.bindings.NativeDevice;
import dev.tensorloom.runtime.tensor.DeviceMemory;

/** A device tensor's memory: one buffer of one device, freed by the Arena it was allocated in. */
record CudaMemory(DeviceBuffer buffer, NativeDevice device) implements DeviceMemory {

    @Override
    public long byteSize() {
        return buffer.byteSize();
    }

    @Override
    public String location() {
        return device.variant() + ":" + device.ordinal() + " (" + device.name() + ")";
    }
}
