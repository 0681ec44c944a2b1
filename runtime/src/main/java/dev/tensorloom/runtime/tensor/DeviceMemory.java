package dev.tensorloom.runtime.tensor;

/**
 * Memory on an accelerator, which the host cannot read directly. A device backend implements this for its
 * own buffers and hands out {@link Tensor#onDevice device tensors}; only that backend's kernels and copies
 * can use them. Its lifetime is its owner's (the Arena the backend allocated it in).
 */
public interface DeviceMemory {

    /** Size in bytes. */
    long byteSize();

    /** Where the memory lives, for messages: "cuda:0 (NVIDIA H100 80GB HBM3)", say. */
    String location();
}
