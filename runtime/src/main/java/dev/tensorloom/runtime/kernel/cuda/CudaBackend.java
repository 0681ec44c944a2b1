package dev.tensorloom.runtime.kernel.cuda;

import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.Kernels;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.Optional;

/**
 * The cuda backend: tensors in device memory and every family's kernels queued on one {@link CudaDevice}.
 * Only {@link #toDevice} and {@link #toHost} move data across; kernels refuse host tensors with a message
 * instead of copying behind the caller's back. {@code BackendProvider} loads this class by name, so a CPU-only
 * process never links a native binding.
 */
public final class CudaBackend implements Backend {

    private final CudaDevice device;
    private final CudaKernels kernels;

    public CudaBackend(CudaDevice device) {
        this.device = device;
        this.kernels = new CudaKernels(device);
    }

    /** The backend on device 0 of the configured native library; throws, saying why, when there is none. */
    public static CudaBackend open() {
        return new CudaBackend(CudaDevice.open());
    }

    /** The backend on a real GPU, or empty when the GPU build, its driver or a device is missing. */
    public static Optional<CudaBackend> openOnGpu() {
        return CudaDevice.openOnGpu().map(CudaBackend::new);
    }

    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public Kernels kernels() {
        return kernels;
    }

    /** The device context every family's kernels on this backend share. */
    public CudaDevice device() {
        return device;
    }

    @Override
    public Tensor allocate(Arena arena, long... shape) {
        return device.allocate(arena, shape);
    }

    @Override
    public Tensor toDevice(Tensor host, Arena arena) {
        return device.toDevice(host, arena);
    }

    @Override
    public Tensor toHost(Tensor t, Arena arena) {
        return device.toHost(t, arena);
    }

    @Override
    public String toString() {
        return "CudaBackend[" + device.label() + "]";
    }
}
