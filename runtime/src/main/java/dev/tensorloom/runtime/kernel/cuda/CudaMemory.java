package dev.tensorloom.runtime.kernel.cuda;

import dev.tensorloom.bindings.DeviceBuffer;
import dev.tensorloom.runtime.tensor.DeviceMemory;

/**
 * A device tensor's memory: one buffer of {@code owner}'s pool (whose stream orders all work on it), given
 * back when the Arena it was taken for closes. Neither reuse nor a free needs a wait of its own: reuse
 * queues behind the earlier work on the same stream, and cudaFree waits for the device's queued work.
 */
record CudaMemory(DeviceBuffer buffer, CudaDevice owner) implements DeviceMemory {

    @Override
    public long byteSize() {
        return buffer.byteSize();
    }

    @Override
    public String location() {
        return owner.label();
    }
}
