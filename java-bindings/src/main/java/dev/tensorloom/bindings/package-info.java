/**
 * Panama (FFM) bindings to tensorloom's native kernels (kernels-cuda/include/tensorloom.h) and to cuBLAS.
 *
 * <ul>
 *   <li>{@link dev.tensorloom.bindings.NativeLibraryLoader} finds and loads libtensorloom_cuda.so or
 *   libtensorloom_emu.so (the same kernels emulated on the CPU) and probes for a usable device.</li>
 *   <li>{@link dev.tensorloom.bindings.TensorloomLibrary} is the header, one method per C function;
 *   {@link dev.tensorloom.bindings.NativeException#check} turns a status into an exception.</li>
 *   <li>{@link dev.tensorloom.bindings.NativeDevice}, {@link dev.tensorloom.bindings.DeviceBuffer} and
 *   {@link dev.tensorloom.bindings.DeviceStream} own the handles with explicit lifetimes.</li>
 *   <li>{@link dev.tensorloom.bindings.Cublas} is optional: present only where the system has libcublas.</li>
 * </ul>
 */
package dev.tensorloom.bindings;
