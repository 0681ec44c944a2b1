package dev.tensorloom.quant.cuda;

import static dev.tensorloom.bindings.NativeException.check;

import dev.tensorloom.bindings.TensorloomLibrary;
import dev.tensorloom.bindings.TensorloomQuant;
import dev.tensorloom.quant.GgmlWeights;
import dev.tensorloom.quant.GroupFormat;
import dev.tensorloom.quant.PackedWeights;
import dev.tensorloom.quant.QuantKernels;
import dev.tensorloom.quant.QuantShapes;
import dev.tensorloom.quant.QuantizedWeights;
import dev.tensorloom.runtime.kernel.cuda.CudaBackend;
import dev.tensorloom.runtime.kernel.cuda.CudaDevice;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * The quant kernels of the {@link CudaBackend}: kernels-cuda's tensorloom_quant.h (through {@link TensorloomQuant})
 * on device tensors, queued on the device's one stream. The kernels read the packed weights as they are: a
 * GEMV decodes each 16-weight slice in registers, a GEMM dequantizes a 64×64 tile at a time into shared memory.
 *
 * <p>Weights live on the heap ({@link PackedWeights}, {@link GgmlWeights}); each matrix is uploaded the first time
 * this instance multiplies with it and stays on the device as long as the weights object is reachable (a weak map
 * keyed by identity, its device memory held by an automatic arena), so a {@code QuantizedMatrix} uploads once and
 * only activations cross afterwards. The weights must not change after their first product, as their javadoc asks.
 */
public final class CudaQuantKernels implements QuantKernels {

    private static final ValueLayout.OfShort FP16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final CudaDevice device;
    private final TensorloomLibrary core;
    private final TensorloomQuant tl;
    private final Map<QuantizedWeights, Resident> resident = Collections.synchronizedMap(new WeakHashMap<>());

    /** A matrix's device copy: codes (or ggml's blocks), scales and zero points (NULL where absent). */
    private record Resident(Arena lifetime, MemorySegment codes, MemorySegment scales, MemorySegment zeros) {
    }

    public CudaQuantKernels(CudaBackend backend) {
        this.device = backend.device();
        this.core = device.library();
        this.tl = TensorloomQuant.of(core);
    }

    @Override
    public void gemv(Tensor x, PackedWeights b, Tensor y) {
        QuantShapes.gemv(x, b, y);
        Resident w = resident(b);
        GroupFormat f = b.format();
        check(core, tl.tl_qgemv_group(stream(), b.cols(), b.rows(), f.bits(), f.groupSize(), f.symmetric() ? 0 : 1,
                device.handle(x, "x"), x.offset(), w.codes(), 0, w.scales(), 0, w.zeros(), 0,
                device.handle(y, "y"), y.offset()), "tl_qgemv_group");
    }

    @Override
    public void gemm(Tensor a, PackedWeights b, Tensor c) {
        QuantShapes.gemm(a, b, c);
        Resident w = resident(b);
        GroupFormat f = b.format();
        check(core, tl.tl_qgemm_group(stream(), a.rows(), b.cols(), b.rows(), f.bits(), f.groupSize(),
                f.symmetric() ? 0 : 1, device.handle(a, "a"), a.offset(), a.leadingDim(), w.codes(), 0, w.scales(), 0,
                w.zeros(), 0, device.handle(c, "c"), c.offset(), c.leadingDim()), "tl_qgemm_group");
    }

    @Override
    public void gemv(Tensor x, GgmlWeights b, Tensor y) {
        QuantShapes.gemv(x, b, y);
        check(core, tl.tl_qgemv_ggml(stream(), b.cols(), b.rows(), ggmlType(b), device.handle(x, "x"), x.offset(),
                resident(b).codes(), 0, device.handle(y, "y"), y.offset()), "tl_qgemv_ggml");
    }

    @Override
    public void gemm(Tensor a, GgmlWeights b, Tensor c) {
        QuantShapes.gemm(a, b, c);
        check(core, tl.tl_qgemm_ggml(stream(), a.rows(), b.cols(), b.rows(), ggmlType(b), device.handle(a, "a"),
                a.offset(), a.leadingDim(), resident(b).codes(), 0, device.handle(c, "c"), c.offset(),
                c.leadingDim()), "tl_qgemm_ggml");
    }

    private static int ggmlType(GgmlWeights b) {
        return switch (b.type()) {
            case Q4_0 -> TensorloomQuant.TL_GGML_Q4_0;
            case Q8_0 -> TensorloomQuant.TL_GGML_Q8_0;
            case Q4_K -> TensorloomQuant.TL_GGML_Q4_K;
            case Q6_K -> TensorloomQuant.TL_GGML_Q6_K;
        };
    }

    /** b's device copy, uploaded on first use (two threads racing may both upload; one copy is kept). */
    private Resident resident(QuantizedWeights b) {
        Resident w = resident.get(b);
        if (w == null) {
            w = upload(b);
            Resident raced = resident.putIfAbsent(b, w);
            w = raced != null ? raced : w;
        }
        return w;
    }

    private Resident upload(QuantizedWeights b) {
        Arena lifetime = Arena.ofAuto();
        try (Arena staging = Arena.ofConfined()) {
            return switch (b) {
                case PackedWeights p -> new Resident(lifetime,
                        upload(staging.allocateFrom(ValueLayout.JAVA_BYTE, p.codes()), lifetime),
                        upload(staging.allocateFrom(FP16, p.scales()), lifetime),
                        p.zeros() == null ? MemorySegment.NULL
                                : upload(staging.allocateFrom(ValueLayout.JAVA_BYTE, p.zeros()), lifetime));
                case GgmlWeights g -> new Resident(lifetime,
                        upload(staging.allocateFrom(ValueLayout.JAVA_BYTE, g.data()), lifetime),
                        MemorySegment.NULL, MemorySegment.NULL);
            };
        }
    }

    private MemorySegment upload(MemorySegment host, Arena lifetime) {
        return device.upload(host, lifetime).handle();
    }

    private MemorySegment stream() {
        return device.stream().handle();
    }
}
