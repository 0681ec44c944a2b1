/**
 * Panama (FFM) bindings to tensorloom's native kernels (kernels-cuda/include/tensorloom*.h) and to cuBLAS.
 *
 * <p>One binding class per header, by one rule: {@code tensorloom.h}, the core, is bound by
 * {@link dev.tensorloom.bindings.TensorloomLibrary}; {@code tensorloom_<family>.h}, a kernel family's header,
 * by {@code Tensorloom<Family>} in this package, the family's lower-case words capitalised and joined
 * ({@code tensorloom_quant.h} by {@code TensorloomQuant}, {@code tensorloom_mpo.h} by {@code TensorloomMpo},
 * {@code tensorloom_poincare.h} by {@code TensorloomPoincare}). Each is shaped like TensorloomLibrary: one
 * method and one downcall handle per header function, bound by a {@code (SymbolLookup, String)} constructor
 * from the same native library, so a handle from one class is valid in all. {@code HeaderBindingsTest}
 * finds every header and fails on one without its class or with a binding that differs from it.
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
