package dev.tensorloom.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.runtime.bert.BertEncoder;
import dev.tensorloom.runtime.bert.BertOnnxLoader;
import dev.tensorloom.runtime.bert.BertWeights;
import dev.tensorloom.runtime.kernel.MatrixPreparer;
import dev.tensorloom.runtime.kernel.Parallelism;
import dev.tensorloom.runtime.kernel.vector.VectorBackend;
import dev.tensorloom.runtime.onnx.OnnxModel;
import dev.tensorloom.runtime.tensor.Tensor;
import dev.tensorloom.runtime.tokenize.TokenBatch;
import dev.tensorloom.testkit.TinyBertOnnx;
import java.lang.foreign.Arena;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * GPTQ for a whole model: Hessians collected while the fp32 encoder runs on calibration inputs, then every
 * projection quantized against its own. On a tiny two-layer BERT (hidden 32, FFN 64) at 3 bits, group 32, the
 * last hidden states of held-out inputs come out closer to fp32 than with RTN.
 */
class GptqPreparerTest {

    @Test
    void collectedHessiansMakeGptqBeatRtnOnHeldOutInputs() throws Exception {
        VectorBackend backend = new VectorBackend(Parallelism.of(2));
        TinyBertOnnx tiny = TinyBertOnnx.build(TinyBertOnnx.Spec.small());
        try (OnnxModel onnx = OnnxModel.read(tiny.bytes(), "tiny.onnx"); BertWeights weights = BertOnnxLoader.load(onnx)) {
            Random random = new Random(8);
            Map<String, Hessian> hessians = new HashMap<>();
            try (BertEncoder collecting = new BertEncoder(weights, backend,
                    Hessian.collecting(MatrixPreparer.dense(backend), hessians))) {
                for (int i = 0; i < 40; i++) {
                    try (Arena arena = Arena.ofShared()) {
                        collecting.forward(TinyBert.randomText(random, 12), arena);
                    }
                }
            }
            assertEquals(4 * weights.layers().size(), hessians.size(), hessians.keySet().toString());
            for (Hessian h : hessians.values()) {
                assertEquals(40 * 12, h.samples());
            }

            List<TokenBatch> heldOut = IntStream.range(0, 20).mapToObj(i -> TinyBert.randomText(random, 12)).toList();
            GroupFormat format = GroupFormat.asymmetric(3, 32);
            double rtn = error(weights, backend, QuantizedMatrix.rtn(backend, format), heldOut);
            double gptq = error(weights, backend,
                    QuantizedMatrix.gptq(backend, format, Gptq.Options.defaults(), hessians), heldOut);
            System.out.printf("tiny BERT %s: held-out hidden-state error GPTQ %.4g, RTN %.4g%n", format, gptq, rtn);
            assertTrue(gptq < rtn, "GPTQ " + gptq + " against RTN " + rtn);

            hessians.remove("layers.1.output");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new BertEncoder(weights,
                    backend, QuantizedMatrix.gptq(backend, format, Gptq.Options.defaults(), hessians)));
            assertTrue(e.getMessage().startsWith("layers.1.output: no calibration Hessian"), e.getMessage());
        }
    }

    /** ||H - Ĥ||_F over the held-out texts' last hidden states, quantized against fp32. */
    private static double error(BertWeights weights, VectorBackend backend, MatrixPreparer quantized,
            List<TokenBatch> texts) {
        double sum = 0;
        try (BertEncoder fp32 = new BertEncoder(weights, backend); BertEncoder q = new BertEncoder(weights, backend,
                quantized)) {
            for (TokenBatch text : texts) {
                try (Arena arena = Arena.ofShared()) {
                    float[] expected = fp32.forward(text, arena).toArray();
                    Tensor got = q.forward(text, arena);
                    float[] actual = got.toArray();
                    for (int i = 0; i < expected.length; i++) {
                        double d = expected[i] - actual[i];
                        sum += d * d;
                    }
                }
            }
        }
        return Math.sqrt(sum);
    }
}
