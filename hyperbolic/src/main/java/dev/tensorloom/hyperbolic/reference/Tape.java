package dev.tensorloom.hyperbolic.reference;

import java.util.Arrays;

/**
 * Reverse-mode differentiation of one small float64 computation: every {@link Var} made on a tape records its
 * value, its (at most two) parents and the partial derivatives towards them; {@link #adjoints} then runs the
 * chain rule backwards. This is what makes each operation of the reference one definition from which both the
 * value and the vector-Jacobian product follow, so the two cannot disagree.
 */
final class Tape {

    private double[] value = new double[256];
    private int[] left = new int[256];
    private int[] right = new int[256];
    private double[] dLeft = new double[256];
    private double[] dRight = new double[256];
    private int size;

    /** A leaf: an input (its adjoint is read back) or a constant (its adjoint is ignored). */
    Var leaf(double v) {
        return push(v, -1, 0, -1, 0);
    }

    Var[] leaves(double[] values, int from, int count) {
        Var[] vars = new Var[count];
        for (int i = 0; i < count; i++) {
            vars[i] = leaf(values[from + i]);
        }
        return vars;
    }

    Var push(double v, int l, double dl, int r, double dr) {
        if (size == value.length) {
            int n = 2 * size;
            value = Arrays.copyOf(value, n);
            left = Arrays.copyOf(left, n);
            right = Arrays.copyOf(right, n);
            dLeft = Arrays.copyOf(dLeft, n);
            dRight = Arrays.copyOf(dRight, n);
        }
        value[size] = v;
        left[size] = l;
        right[size] = r;
        dLeft[size] = dl;
        dRight[size] = dr;
        return new Var(this, size++, v);
    }

    /**
     * d(Σ seeds[k]·outputs[k]) / d(every node), indexed by {@link Var#id}. Nodes whose adjoint is zero pass
     * nothing on, so a branch cut off by a clamp (partial 0) never multiplies 0 by an infinite partial.
     */
    double[] adjoints(Var[] outputs, double[] seeds, int seedFrom) {
        double[] adjoint = new double[size];
        for (int k = 0; k < outputs.length; k++) {
            adjoint[outputs[k].id] += seeds[seedFrom + k];
        }
        for (int i = size - 1; i >= 0; i--) {
            double a = adjoint[i];
            if (a == 0) {
                continue;
            }
            if (left[i] >= 0 && dLeft[i] != 0) {
                adjoint[left[i]] += a * dLeft[i];
            }
            if (right[i] >= 0 && dRight[i] != 0) {
                adjoint[right[i]] += a * dRight[i];
            }
        }
        return adjoint;
    }
}
