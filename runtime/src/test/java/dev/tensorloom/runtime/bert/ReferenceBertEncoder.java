package dev.tensorloom.runtime.bert;

import dev.tensorloom.runtime.kernel.Erf;
import dev.tensorloom.runtime.tensor.Tensor;

/**
 * BERT's forward pass written out plainly in double precision from {@link BertWeights}, with no kernels.
 * Matching ONNX Runtime's output on the same model shows the loader gave every weight the role the graph
 * gives it: swap query and key, or two layers, and the outputs differ.
 */
final class ReferenceBertEncoder {

    private final BertWeights w;
    private final int hidden;

    ReferenceBertEncoder(BertWeights weights) {
        this.w = weights;
        this.hidden = weights.config().hiddenSize();
    }

    /** last_hidden_state [seq, hidden] of one sequence; keys with mask 0 get no attention. */
    double[][] encode(long[] ids, long[] typeIds, long[] mask) {
        int n = ids.length;
        float[] word = w.wordEmbeddings().toArray();
        float[] pos = w.positionEmbeddings().toArray();
        float[] type = w.tokenTypeEmbeddings() == null ? null : w.tokenTypeEmbeddings().toArray();
        double[][] x = new double[n][hidden];
        for (int t = 0; t < n; t++) {
            for (int j = 0; j < hidden; j++) {
                x[t][j] = word[(int) ids[t] * hidden + j] + pos[t * hidden + j]
                        + (type == null ? 0 : type[(int) typeIds[t] * hidden + j]);
            }
        }
        x = layerNorm(x, w.embeddingNormGamma(), w.embeddingNormBeta());
        for (BertWeights.Layer l : w.layers()) {
            double[][] attended = add(linear(attention(x, l, mask), l.attentionOutput()), x);
            double[][] x1 = layerNorm(attended, l.attentionNormGamma(), l.attentionNormBeta());
            double[][] up = linear(x1, l.intermediate());
            for (double[] row : up) {
                for (int j = 0; j < row.length; j++) {
                    row[j] = 0.5 * row[j] * (1 + Erf.erf(row[j] / Math.sqrt(2)));
                }
            }
            x = layerNorm(add(linear(up, l.output()), x1), l.outputNormGamma(), l.outputNormBeta());
        }
        return x;
    }

    private double[][] attention(double[][] x, BertWeights.Layer l, long[] mask) {
        int n = x.length;
        int heads = w.config().heads();
        int d = w.config().headDim();
        double[][] q = linear(x, l.query());
        double[][] k = linear(x, l.key());
        double[][] v = linear(x, l.value());
        double[][] context = new double[n][hidden];
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < n; i++) {
                double[] p = new double[n];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < n; j++) {
                    if (mask[j] == 0) {
                        p[j] = Double.NEGATIVE_INFINITY;
                        continue;
                    }
                    double s = 0;
                    for (int c = 0; c < d; c++) {
                        s += q[i][h * d + c] * k[j][h * d + c];
                    }
                    p[j] = s / Math.sqrt(d);
                    max = Math.max(max, p[j]);
                }
                double sum = 0;
                for (int j = 0; j < n; j++) {
                    p[j] = Math.exp(p[j] - max);
                    sum += p[j];
                }
                for (int j = 0; j < n; j++) {
                    for (int c = 0; c < d; c++) {
                        context[i][h * d + c] += p[j] / sum * v[j][h * d + c];
                    }
                }
            }
        }
        return context;
    }

    private static double[][] linear(double[][] x, BertWeights.Linear l) {
        float[] weight = l.weight().toArray();
        float[] bias = l.bias().toArray();
        int in = l.in();
        int out = l.out();
        double[][] y = new double[x.length][out];
        for (int t = 0; t < x.length; t++) {
            for (int o = 0; o < out; o++) {
                double s = bias[o];
                for (int i = 0; i < in; i++) {
                    s += x[t][i] * weight[i * out + o];
                }
                y[t][o] = s;
            }
        }
        return y;
    }

    private double[][] layerNorm(double[][] x, Tensor gamma, Tensor beta) {
        float[] g = gamma.toArray();
        float[] b = beta.toArray();
        double eps = w.config().layerNormEpsilon();
        double[][] y = new double[x.length][hidden];
        for (int t = 0; t < x.length; t++) {
            double mean = 0;
            for (double v : x[t]) {
                mean += v;
            }
            mean /= hidden;
            double var = 0;
            for (double v : x[t]) {
                var += (v - mean) * (v - mean);
            }
            var /= hidden;
            for (int j = 0; j < hidden; j++) {
                y[t][j] = (x[t][j] - mean) / Math.sqrt(var + eps) * g[j] + b[j];
            }
        }
        return y;
    }

    private static double[][] add(double[][] a, double[][] b) {
        double[][] y = new double[a.length][];
        for (int t = 0; t < a.length; t++) {
            y[t] = a[t].clone();
            for (int j = 0; j < y[t].length; j++) {
                y[t][j] += b[t][j];
            }
        }
        return y;
    }
}
