package dev.tensorloom.mpo;

/** Operation counts of the two ways to multiply by an MPO (REFERENCE.md section 2), in multiply-adds. */
public final class MpoCost {

    private MpoCost() {
    }

    /**
     * The direct sweep for m rows: Σ_k m·(∏_{l<k} j_l)·(∏_{l>k} i_l)·d_k·i_k·j_k·d_{k+1} multiply-adds (half the
     * FLOPs of REFERENCE.md's formula).
     */
    public static long directMultiplyAdds(MpoShape shape, int[] bonds, long m) {
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

    /** The dense product for m rows: m·I·J multiply-adds. */
    public static long denseMultiplyAdds(MpoShape shape, long m) {
        return m * shape.rows() * shape.cols();
    }
}
