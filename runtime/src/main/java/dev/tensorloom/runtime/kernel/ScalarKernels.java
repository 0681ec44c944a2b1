package dev.tensorloom.runtime.kernel;

import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Plain Java loops, one thread, written to read like the definitions. This is the oracle: every other
 * backend is tested against it, and it never links a Vector API or native class. The fused epilogues
 * ({@link #linear}, {@link #addBiasGelu}, {@link #addBiasResidualLayerNorm}) are {@link Kernels}' defaults, the unfused
 * kernels one after the other, which is what the fused paths of other backends are tested against.
 */
public final class ScalarKernels implements Kernels {

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    @Override
    public void matmul(Tensor a, Tensor b, Tensor c) {
        Shapes.matmul(a, b, c);
        int m = a.rows();
        int n = b.cols();
        int k = a.cols();
        float[] row = new float[n];
        for (int i = 0; i < m; i++) {
            java.util.Arrays.fill(row, 0f);
            for (int p = 0; p < k; p++) {
                float aip = get(a, i, p);
                long bRow = b.offset() + (long) p * b.leadingDim();
                for (int j = 0; j < n; j++) {
                    row[j] += aip * b.segment().getAtIndex(F, bRow + j);
                }
            }
            MemorySegment.copy(row, 0, c.segment(), F, index(c, i, 0) * Float.BYTES, n);
        }
    }

    @Override
    public void matmulTransposedB(Tensor a, Tensor b, Tensor c) {
        Shapes.matmulTransposedB(a, b, c);
        for (int i = 0; i < a.rows(); i++) {
            for (int j = 0; j < b.rows(); j++) {
                float sum = 0f;
                for (int p = 0; p < a.cols(); p++) {
                    sum += get(a, i, p) * get(b, j, p);
                }
                set(c, i, j, sum);
            }
        }
    }

    @Override
    public void gemv(Tensor a, Tensor x, Tensor y) {
        Shapes.gemv(a, x, y);
        for (int i = 0; i < a.rows(); i++) {
            float sum = 0f;
            for (int p = 0; p < a.cols(); p++) {
                sum += get(a, i, p) * x.segment().getAtIndex(F, x.offset() + p);
            }
            y.segment().setAtIndex(F, y.offset() + i, sum);
        }
    }

    @Override
    public void addBias(Tensor x, Tensor bias) {
        Shapes.rowVector(x, bias, "bias");
        for (int i = 0; i < x.rows(); i++) {
            for (int j = 0; j < x.cols(); j++) {
                set(x, i, j, get(x, i, j) + bias.segment().getAtIndex(F, bias.offset() + j));
            }
        }
    }

    @Override
    public void add(Tensor x, Tensor y) {
        Shapes.sameShape(x, y);
        for (int i = 0; i < x.rows(); i++) {
            for (int j = 0; j < x.cols(); j++) {
                set(x, i, j, get(x, i, j) + get(y, i, j));
            }
        }
    }

    @Override
    public void layerNorm(Tensor x, Tensor gamma, Tensor beta, float epsilon) {
        Shapes.rowVector(x, gamma, "gamma");
        Shapes.rowVector(x, beta, "beta");
        int n = x.cols();
        for (int i = 0; i < x.rows(); i++) {
            float mean = 0f;
            for (int j = 0; j < n; j++) {
                mean += get(x, i, j);
            }
            mean /= n;
            float variance = 0f;
            for (int j = 0; j < n; j++) {
                float d = get(x, i, j) - mean;
                variance += d * d;
            }
            variance /= n;
            float inv = (float) (1.0 / Math.sqrt(variance + epsilon));
            for (int j = 0; j < n; j++) {
                float g = gamma.segment().getAtIndex(F, gamma.offset() + j);
                float bt = beta.segment().getAtIndex(F, beta.offset() + j);
                set(x, i, j, (get(x, i, j) - mean) * inv * g + bt);
            }
        }
    }

    @Override
    public void gelu(Tensor x) {
        for (int i = 0; i < x.rows(); i++) {
            for (int j = 0; j < x.cols(); j++) {
                float v = get(x, i, j);
                set(x, i, j, (float) (0.5 * v * (1.0 + Erf.erf(v / Math.sqrt(2.0)))));
            }
        }
    }

    @Override
    public void softmaxRows(Tensor x) {
        int n = x.cols();
        for (int i = 0; i < x.rows(); i++) {
            float max = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < n; j++) {
                max = Math.max(max, get(x, i, j));
            }
            float sum = 0f;
            for (int j = 0; j < n; j++) {
                float e = max == Float.NEGATIVE_INFINITY ? 0f : (float) Math.exp(get(x, i, j) - max);
                set(x, i, j, e);
                sum += e;
            }
            float inv = sum == 0f ? 0f : 1f / sum;
            for (int j = 0; j < n; j++) {
                set(x, i, j, get(x, i, j) * inv);
            }
        }
    }

    @Override
    public void attention(Tensor q, Tensor k, Tensor v, Tensor keyMask, int heads, Tensor out) {
        int seq = Shapes.attention(q, k, v, keyMask, heads, out);
        int headDim = q.cols() / heads;
        float scale = (float) (1.0 / Math.sqrt(headDim));
        float[] scores = new float[seq];
        for (int b = 0; b < keyMask.rows(); b++) {
            for (int h = 0; h < heads; h++) {
                int col = h * headDim;
                for (int t = 0; t < seq; t++) {
                    int qi = b * seq + t;
                    float max = Float.NEGATIVE_INFINITY;
                    for (int s = 0; s < seq; s++) {
                        if (get(keyMask, b, s) == 0f) {
                            scores[s] = Float.NEGATIVE_INFINITY;
                            continue;
                        }
                        float dot = 0f;
                        for (int d = 0; d < headDim; d++) {
                            dot += get(q, qi, col + d) * get(k, b * seq + s, col + d);
                        }
                        scores[s] = dot * scale;
                        max = Math.max(max, scores[s]);
                    }
                    float sum = 0f;
                    for (int s = 0; s < seq; s++) {
                        scores[s] = scores[s] == Float.NEGATIVE_INFINITY ? 0f : (float) Math.exp(scores[s] - max);
                        sum += scores[s];
                    }
                    float inv = sum == 0f ? 0f : 1f / sum;
                    for (int d = 0; d < headDim; d++) {
                        float acc = 0f;
                        for (int s = 0; s < seq; s++) {
                            acc += scores[s] * get(v, b * seq + s, col + d);
                        }
                        set(out, qi, col + d, acc * inv);
                    }
                }
            }
        }
    }

    @Override
    public void gatherRows(Tensor table, int[] ids, Tensor out) {
        Shapes.gather(table, ids, out);
        for (int i = 0; i < ids.length; i++) {
            for (int j = 0; j < table.cols(); j++) {
                set(out, i, j, get(table, ids[i], j));
            }
        }
    }

    @Override
    public void meanPool(Tensor x, Tensor mask, Tensor out) {
        int seq = Shapes.meanPool(x, mask, out);
        for (int b = 0; b < mask.rows(); b++) {
            float count = 0f;
            for (int t = 0; t < seq; t++) {
                count += get(mask, b, t);
            }
            for (int j = 0; j < x.cols(); j++) {
                float sum = 0f;
                for (int t = 0; t < seq; t++) {
                    sum += get(mask, b, t) * get(x, b * seq + t, j);
                }
                set(out, b, j, count == 0f ? 0f : sum / count);
            }
        }
    }

    @Override
    public void l2NormalizeRows(Tensor x) {
        for (int i = 0; i < x.rows(); i++) {
            float sq = 0f;
            for (int j = 0; j < x.cols(); j++) {
                sq += get(x, i, j) * get(x, i, j);
            }
            float inv = sq == 0f ? 0f : (float) (1.0 / Math.sqrt(sq));
            for (int j = 0; j < x.cols(); j++) {
                set(x, i, j, get(x, i, j) * inv);
            }
        }
    }

    private static long index(Tensor t, int i, int j) {
        return t.offset() + (long) i * t.leadingDim() + j;
    }

    private static float get(Tensor t, int i, int j) {
        return t.segment().getAtIndex(F, index(t, i, j));
    }

    private static void set(Tensor t, int i, int j, float value) {
        t.segment().setAtIndex(F, index(t, i, j), value);
    }
}
