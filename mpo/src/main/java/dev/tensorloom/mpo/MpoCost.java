package dev.tensorloom.mpo;

/** Operation counts of the two ways to multiply by an MPO (REFERENCE.md section 2), in multiply-adds. */
public final class MpoCost {

    private MpoCost() {
    }

    /**
     * The direct product of m rows in the cheapest order of {@link MpoSweep#cheapestOrder}: Σ over its steps of
     * m·P·r·s·Q multiply-adds (half the FLOPs). Left to right, the order REFERENCE.md section 2 writes, this is
     * Σ_k m·(∏_{l<k} j_l)·(∏_{l>k} i_l)·d_k·i_k·j_k·d_{k+1}.
     */
    public static long directMultiplyAdds(MpoShape shape, int[] bonds, long m) {
        return MpoSweep.multiplyAdds(shape, bonds, m, MpoSweep.cheapestOrder(shape, bonds));
    }

    /** The direct product of m rows swept left to right, REFERENCE.md section 2's formula (in multiply-adds). */
    public static long leftToRightMultiplyAdds(MpoShape shape, int[] bonds, long m) {
        long sum = 0;
        for (int k = 0; k < shape.cores(); k++) {
            long before = 1;
            long after = 1;
            for (int l = 0; l < k; l++) {
                before *= shape.colFactor(l);
            }
            for (int l = k + 1; l < shape.cores(); l++) {
                after *= shape.rowFactor(l);
            }
            sum += m * before * after * shape.coreSize(bonds, k);
        }
        return sum;
    }

    /**
     * The contraction to dense, left to right as {@link MpoKernels#contractToDense} runs it: the chain
     * L_k [∏_{l≤k} i_l·j_l, d_{k+1}] = L_{k-1}·core_k costs Σ_{k≥1} (∏_{l<k} i_l·j_l)·d_k·i_k·j_k·d_{k+1}
     * multiply-adds.
     */
    public static long toDenseMultiplyAdds(MpoShape shape, int[] bonds) {
        long sum = 0;
        long left = (long) shape.rowFactor(0) * shape.colFactor(0);
        for (int k = 1; k < shape.cores(); k++) {
            sum += left * shape.coreSize(bonds, k);
            left *= (long) shape.rowFactor(k) * shape.colFactor(k);
        }
        return sum;
    }

    /** The dense product for m rows: m·I·J multiply-adds. */
    public static long denseMultiplyAdds(MpoShape shape, long m) {
        return m * shape.rows() * shape.cols();
    }
}
