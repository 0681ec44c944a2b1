package dev.tensorloom.mpo;

import dev.tensorloom.runtime.kernel.ScalarBackend;
import dev.tensorloom.runtime.tensor.Tensor;
import java.util.Objects;

/**
 * The oracle: plain loops, one thread, accumulating in float64, written like the definitions. Every other
 * implementation is tested against it.
 */
public final class ScalarMpoKernels implements MpoKernels {

    public ScalarMpoKernels(ScalarBackend backend) {
        Objects.requireNonNull(backend, "backend");
    }

    /** The contraction over the bonds, left to right: L_k [∏_{l≤k} i_l·j_l, d_{k+1}] = L_{k-1} · core_k. */
    @Override
    public void contractToDense(Mpo mpo, Tensor w) {
        MpoArguments.contractToDense(mpo, w);
        MpoShape shape = mpo.shape();
        int[] d = mpo.bonds();
        double[] left = {1};
        for (int k = 0; k < shape.cores(); k++) {
            float[] core = mpo.core(k).toArray();
            int rows = left.length / d[k];
            int width = shape.rowFactor(k) * shape.colFactor(k) * d[k + 1];
            double[] next = new double[rows * width];
            for (int r = 0; r < rows; r++) {
                for (int a = 0; a < d[k]; a++) {
                    double l = left[r * d[k] + a];
                    for (int c = 0; c < width; c++) {
                        next[r * width + c] += l * core[a * width + c];
                    }
                }
            }
            left = next;
        }
        // left is W in the interleaved order (i₁, j₁, …, iₙ, jₙ).
        int[] position = shape.interleavedIndex();
        int cols = shape.cols();
        for (int i = 0; i < shape.rows(); i++) {
            for (int j = 0; j < cols; j++) {
                w.set((float) left[position[i * cols + j]], i, j);
            }
        }
    }

    /** The steps of {@link MpoSweep} in its cheapest order, one core at a time. */
    @Override
    public void multiply(Mpo mpo, Tensor x, Tensor y) {
        multiply(mpo, x, y, MpoSweep.cheapestOrder(mpo.shape(), mpo.bonds()));
    }

    /** The steps of {@link MpoSweep} absorbing the cores in {@code order}: every order gives the same product. */
    public void multiply(Mpo mpo, Tensor x, Tensor y, int[] order) {
        MpoArguments.multiply(mpo, x, y);
        int m = x.rows();
        int rowsOfW = mpo.rows();
        double[] state = new double[m * rowsOfW];
        for (int b = 0; b < m; b++) {
            for (int i = 0; i < rowsOfW; i++) {
                state[b * rowsOfW + i] = x.get(b, i);
            }
        }
        for (MpoSweep.Step step : MpoSweep.of(mpo.shape(), mpo.bonds(), m, order)) {
            int r = step.r();
            int s = step.s();
            int q = step.q();
            float[] core = mpo.core(step.core()).toArray();
            int[] index = new int[r * s];
            for (int in = 0; in < r; in++) {
                for (int out = 0; out < s; out++) {
                    index[in * s + out] = step.coreIndex(in, out);
                }
            }
            double[] next = new double[step.outputSize()];
            for (int block = 0; block < step.blocks(); block++) {
                for (int out = 0; out < s; out++) {
                    for (int in = 0; in < r; in++) {
                        double c = core[index[in * s + out]];
                        for (int t = 0; t < q; t++) {
                            next[(block * s + out) * q + t] += c * state[(block * r + in) * q + t];
                        }
                    }
                }
            }
            state = next;
        }
        int colsOfW = mpo.cols();
        for (int b = 0; b < m; b++) {
            for (int j = 0; j < colsOfW; j++) {
                y.set((float) state[b * colsOfW + j], b, j);
            }
        }
    }
}
