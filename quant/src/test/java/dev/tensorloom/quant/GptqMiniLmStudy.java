package dev.tensorloom.quant;

import dev.tensorloom.runtime.bert.BertEncoder;
import dev.tensorloom.runtime.kernel.MatrixPreparer;
import dev.tensorloom.runtime.kernel.Parallelism;
import dev.tensorloom.runtime.kernel.vector.VectorBackend;
import dev.tensorloom.runtime.tokenize.HfTokenizer;
import dev.tensorloom.runtime.tokenize.OverlongText;
import dev.tensorloom.runtime.tokenize.TokenBatch;
import dev.tensorloom.testkit.WordNetSentences;
import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Run by hand (a few minutes on two cores, too slow for the unit tests): MiniLM with all 36 projections
 * quantized, GPTQ against RTN, mean and worst cosine of 48 held-out glosses' sentence embeddings to fp32. The
 * Hessians come from the fp32 encoder on 128 other glosses, one per pass (not GPTQ's true-sequential order,
 * where each layer is calibrated on the already quantized layers before it).
 *
 * <p>Measured (2 threads, AMD EPYC, g128 with zero points, act-order), mean / worst cosine:
 * <pre>
 *          GPTQ               RTN
 * 8-bit    0.99995 / 0.99989  0.99983 / 0.99959
 * 4-bit    0.98577 / 0.96967  0.95801 / 0.92515
 * 3-bit    0.93359 / 0.82496  0.84628 / 0.69887
 * 2-bit    0.51168 / 0.26679  0.33743 / 0.19394
 * </pre>
 *
 * <pre>{@code java --add-modules jdk.incubator.vector -cp <test classpath> dev.tensorloom.quant.GptqMiniLmStudy}</pre>
 */
public final class GptqMiniLmStudy {

    private GptqMiniLmStudy() {
    }

    public static void main(String[] args) {
        List<String> all = WordNetSentences.glosses(1048);
        List<String> calibration = all.subList(0, 128);
        List<String> evaluation = all.subList(1000, 1048);
        VectorBackend backend = new VectorBackend(Parallelism.of(2));
        try (MiniLm model = MiniLm.open()) {
            Map<String, Hessian> hessians = new HashMap<>();
            MatrixPreparer dense = MatrixPreparer.dense(backend);
            try (BertEncoder collecting = model.encoder(backend, Hessian.collecting(dense, hessians))) {
                for (String text : calibration) {
                    TokenBatch one = HfTokenizer.pad(model.tokenizer.encodeEach(List.of(text),
                            model.weights.config().maxPositions(), OverlongText.TRUNCATE));
                    try (Arena arena = Arena.ofShared()) {
                        collecting.forward(one, arena);
                    }
                }
            }
            double[][] reference;
            try (BertEncoder fp32 = model.encoder(backend, dense)) {
                reference = model.embed(fp32, evaluation);
            }
            for (int bits : new int[] {8, 4, 3, 2}) {
                GroupFormat format = GroupFormat.asymmetric(bits, 128);
                double[] gptq = cosines(model, reference, evaluation,
                        QuantizedMatrix.gptq(backend, format, Gptq.Options.defaults(), hessians), backend);
                double[] rtn = cosines(model, reference, evaluation, QuantizedMatrix.rtn(backend, format), backend);
                System.out.printf("%s: GPTQ mean %.5f worst %.5f | RTN mean %.5f worst %.5f%n", format,
                        Arrays.stream(gptq).average().orElseThrow(), Arrays.stream(gptq).min().orElseThrow(),
                        Arrays.stream(rtn).average().orElseThrow(), Arrays.stream(rtn).min().orElseThrow());
            }
        }
    }

    private static double[] cosines(MiniLm model, double[][] reference, List<String> texts, MatrixPreparer preparer,
            VectorBackend backend) {
        try (BertEncoder encoder = model.encoder(backend, preparer)) {
            return MiniLm.cosines(reference, model.embed(encoder, texts));
        }
    }
}
