package dev.tensorloom.runtime.kernel.cuda;

import dev.tensorloom.bindings.DeviceBuffer;
import dev.tensorloom.runtime.tensor.DeviceMemory;

/**
 * A device tensor's memory: one buffer, allocated by {@code owner} (whose stream orders all work on it) and
 * freed by the Arena it was allocated in. The free needs no wait of its own: cudaFree waits for the
 * device's queued work.
 */
record CudaMemory(DeviceBuffer buffer, CudaKernels owner) implements DeviceMemory {

    @Override
    public long byteSize() {
        return buffer.byteSize();
    }

    @Override
    public String location() {
        return owner.device().label();
    }
}
