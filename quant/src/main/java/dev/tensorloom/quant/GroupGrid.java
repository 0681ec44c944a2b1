package dev.tensorloom.quant;

/**
 * The grid one group of weights is rounded to: its fp16 scale s and zero point z, so that a weight w gets the
 * code u = clamp(round(w/s) + z, 0, 2^bits - 1) and comes back as s·(u - z). RTN and GPTQ both round to it.
 *
 * <p>Symmetric: s = max|w| / (2^(bits-1) - 1), z = 2^(bits-1) (so 2 bits give the levels -s, 0, s). Asymmetric:
 * the range [min(w), max(w)] widened to hold 0 (so z fits the codes, and 0 is exact), s = range / (2^bits - 1),
 * z = round(-min/s). s is rounded UP to fp16, never down, so no weight of the group falls outside the grid and
 * every weight is within s/2 of its level.
 */
record GroupGrid(short scaleBits, float scale, int zero, int maxCode) {

    static GroupGrid of(GroupFormat format, float min, float max) {
        int maxCode = format.maxCode();
        double s;
        int z;
        if (format.symmetric()) {
            int levels = (1 << (format.bits() - 1)) - 1;
            s = Math.max(Math.abs(min), Math.abs(max)) / (double) levels;
            z = 1 << (format.bits() - 1);
        } else {
            double lo = Math.min(min, 0);
            double hi = Math.max(max, 0);
            s = (hi - lo) / maxCode;
            z = -1;
        }
        short h = fp16AtLeast(s, min, max);
        float stored = Float.float16ToFloat(h);
        if (!format.symmetric()) {
            z = stored == 0 ? 0 : (int) Math.max(0, Math.min(maxCode, Math.round(-Math.min(min, 0) / (double) stored)));
        }
        return new GroupGrid(h, stored, z, maxCode);
    }

    /** The code of w on this grid. */
    int code(float w) {
        if (scale == 0) {
            return zero;
        }
        long u = Math.round(w / (double) scale) + zero;
        return (int) Math.max(0, Math.min(maxCode, u));
    }

    /** The level of code u: s·(u - z). */
    float level(int u) {
        return scale * (u - zero);
    }

    /** The smallest fp16 value at or above s (s ≥ 0), refusing a scale beyond fp16's range. */
    private static short fp16AtLeast(double s, float min, float max) {
        short h = Float.floatToFloat16((float) s);
        if (Float.float16ToFloat(h) < s) {
            h++;
        }
        if (Float.isInfinite(Float.float16ToFloat(h))) {
            throw new IllegalArgumentException("weights in [" + min + ", " + max + "] need a scale of " + s
                    + ", beyond fp16's largest value 65504");
        }
        return h;
    }
}
