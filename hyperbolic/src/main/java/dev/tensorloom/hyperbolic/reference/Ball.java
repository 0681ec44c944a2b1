package dev.tensorloom.hyperbolic.reference;

/**
 * The Poincaré ball of curvature -c for one row, written on {@link Var}s so that each formula is also its own
 * backward pass. The formulas are those of REFERENCE.md §3 (Ganea et al. 2018, geoopt's stereographic model)
 * with its stability rules: tanh arguments held to ±{@value #TANH_LIMIT}, artanh arguments to
 * ±{@value #ARTANH_LIMIT}, norms and denominators kept at or above {@value #MIN_NORM}, every resulting point
 * projected to the radius (1 - {@value #EPS})/√c, and zero vectors taking an explicit branch.
 */
final class Ball {

    /** Distance of the projection radius from the boundary, relative to 1/√c, in float64. */
    static final double EPS = 1e-5;
    static final double MIN_NORM = 1e-15;
    static final double TANH_LIMIT = 15;
    static final double ARTANH_LIMIT = 1 - 1e-5;

    private Ball() {
    }

    // ---- vector helpers -------------------------------------------------------------------------------

    static Var dot(Var[] a, Var[] b) {
        Var s = a[0].times(b[0]);
        for (int i = 1; i < a.length; i++) {
            s = s.plus(a[i].times(b[i]));
        }
        return s;
    }

    static Var squaredNorm(Var[] a) {
        return dot(a, a);
    }

    /**
     * ||a||, at least {@value #MIN_NORM}. The floor is put on ||a||² before the root, so that at a = 0 the
     * root's infinite derivative is cut off by the clamp's zero one.
     */
    static Var norm(Var[] a) {
        return squaredNorm(a).atLeast(MIN_NORM * MIN_NORM).sqrt();
    }

    static boolean isZero(Var[] a) {
        for (Var v : a) {
            if (v.value != 0) {
                return false;
            }
        }
        return true;
    }

    static Var[] scale(Var[] a, Var s) {
        Var[] r = new Var[a.length];
        for (int i = 0; i < a.length; i++) {
            r[i] = a[i].times(s);
        }
        return r;
    }

    static Var[] neg(Var[] a) {
        Var[] r = new Var[a.length];
        for (int i = 0; i < a.length; i++) {
            r[i] = a[i].neg();
        }
        return r;
    }

    /** s·a + t·b. */
    static Var[] combine(Var s, Var[] a, Var t, Var[] b) {
        Var[] r = new Var[a.length];
        for (int i = 0; i < a.length; i++) {
            r[i] = a[i].times(s).plus(b[i].times(t));
        }
        return r;
    }

    // ---- the ball ---------------------------------------------------------------------------------------

    /** x held inside the ball of radius (1 - ε)/√c: scaled onto that sphere when it lies outside. */
    static Var[] project(Var[] x, Var c) {
        Var n = norm(x);
        Var max = c.sqrt().dividing(1 - EPS);
        if (n.value <= max.value) {
            return x;
        }
        return scale(x, max.div(n));
    }

    /** λ_x = 2/(1 - c||x||²). */
    static Var conformalFactor(Var[] x, Var c) {
        return c.times(squaredNorm(x)).subtractedFrom(1).atLeast(MIN_NORM).dividing(2);
    }

    /** x⊕y = [(1 + 2c⟨x,y⟩ + c||y||²)x + (1 - c||x||²)y] / (1 + 2c⟨x,y⟩ + c²||x||²||y||²). */
    static Var[] mobiusAdd(Var[] x, Var[] y, Var c) {
        Var xy = dot(x, y);
        Var x2 = squaredNorm(x);
        Var y2 = squaredNorm(y);
        Var twoCxy = c.times(xy).times(2);
        Var s = twoCxy.plus(c.times(y2)).plus(1);
        Var t = c.times(x2).subtractedFrom(1);
        Var den = twoCxy.plus(c.times(c).times(x2).times(y2)).plus(1).atLeast(MIN_NORM);
        return project(scale(combine(s, x, t, y), den.dividing(1)), c);
    }

    /** artanh(√c·n)/(√c·n)-style argument: √c·n held below {@value #ARTANH_LIMIT}. */
    private static Var artanhOf(Var scaledNorm) {
        return scaledNorm.clamp(-ARTANH_LIMIT, ARTANH_LIMIT).artanh();
    }

    private static Var tanhOf(Var t) {
        return t.clamp(-TANH_LIMIT, TANH_LIMIT).tanh();
    }

    /** exp₀(v) = tanh(√c||v||)·v/(√c||v||); exp₀(0) = 0. */
    static Var[] expmap0(Var[] v, Var c) {
        if (isZero(v)) {
            return v;
        }
        Var sn = c.sqrt().times(norm(v));
        return project(scale(v, tanhOf(sn).div(sn)), c);
    }

    /** log₀(y) = artanh(√c||y||)·y/(√c||y||); log₀(0) = 0. */
    static Var[] logmap0(Var[] y, Var c) {
        if (isZero(y)) {
            return y;
        }
        Var sn = c.sqrt().times(norm(y));
        return scale(y, artanhOf(sn).div(sn));
    }

    /** exp_x(v) = x ⊕ tanh(√c·λ_x||v||/2)·v/(√c||v||); exp_x(0) = x. */
    static Var[] expmap(Var[] x, Var[] v, Var c) {
        if (isZero(v)) {
            return x;
        }
        Var sc = c.sqrt();
        Var n = norm(v);
        Var t = tanhOf(sc.times(conformalFactor(x, c)).times(n).times(0.5));
        return mobiusAdd(x, scale(v, t.div(sc.times(n))), c);
    }

    /** log_x(y) = (2/(√c·λ_x))·artanh(√c||w||)·w/||w||, w = (-x)⊕y; log_x(x) = 0. */
    static Var[] logmap(Var[] x, Var[] y, Var c) {
        Var[] w = mobiusAdd(neg(x), y, c);
        if (isZero(w)) {
            return w;
        }
        Var sc = c.sqrt();
        Var n = norm(w);
        Var k = artanhOf(sc.times(n)).times(2).div(sc.times(conformalFactor(x, c)).times(n));
        return scale(w, k);
    }

    /** d(x,y) = (2/√c)·artanh(√c||(-x)⊕y||). */
    static Var distance(Var[] x, Var[] y, Var c) {
        Var sc = c.sqrt();
        return artanhOf(sc.times(norm(mobiusAdd(neg(x), y, c)))).times(2).div(sc);
    }

    /** d(0,x) = (2/√c)·artanh(√c||x||). */
    static Var distance0(Var[] x, Var c) {
        Var sc = c.sqrt();
        return artanhOf(sc.times(norm(x))).times(2).div(sc);
    }

    /**
     * d(x,y) from the Gram-matrix entry ⟨x,y⟩ and the two squared norms, the closed form of all-pairs distance:
     * ||(-x)⊕y|| = sqrt(a²||x||² + b²||y||² - 2ab⟨x,y⟩)/(1 - 2c⟨x,y⟩ + c²||x||²||y||²),
     * a = 1 - 2c⟨x,y⟩ + c||y||², b = 1 - c||x||².
     */
    static Var distanceFromGram(Var xy, Var x2, Var y2, Var c) {
        Var twoCxy = c.times(xy).times(2);
        Var a = c.times(y2).minus(twoCxy).plus(1);
        Var b = c.times(x2).subtractedFrom(1);
        Var num = a.times(a).times(x2).plus(b.times(b).times(y2)).minus(a.times(b).times(xy).times(2))
                .atLeast(MIN_NORM * MIN_NORM).sqrt();
        Var den = c.times(c).times(x2).times(y2).minus(twoCxy).plus(1).atLeast(MIN_NORM);
        Var sc = c.sqrt();
        return artanhOf(sc.times(num).div(den)).times(2).div(sc);
    }

    /** r⊗x = tanh(r·artanh(√c||x||))·x/(√c||x||); r⊗0 = 0. */
    static Var[] scalarMul(Var r, Var[] x, Var c) {
        if (isZero(x)) {
            return x;
        }
        Var sn = c.sqrt().times(norm(x));
        return project(scale(x, tanhOf(r.times(artanhOf(sn))).div(sn)), c);
    }

    /** M⊗x = tanh((||Mx||/||x||)·artanh(√c||x||))·Mx/(√c||Mx||); 0 when x = 0 or Mx = 0. */
    static Var[] matVec(Var[][] m, Var[] x, Var c) {
        Var[] mx = new Var[m.length];
        for (int i = 0; i < m.length; i++) {
            mx[i] = dot(m[i], x);
        }
        if (isZero(x) || isZero(mx)) {
            Var[] zero = new Var[m.length];
            for (int i = 0; i < zero.length; i++) {
                zero[i] = c.tape.leaf(0);
            }
            return zero;
        }
        Var sc = c.sqrt();
        Var xn = norm(x);
        Var mxn = norm(mx);
        Var t = tanhOf(mxn.div(xn).times(artanhOf(sc.times(xn))));
        return project(scale(mx, t.div(sc.times(mxn))), c);
    }

    /**
     * gyr[u,v]w = w + 2(A·u + B·v)/D with κ = -c: A = -κ²⟨u,w⟩||v||² - κ⟨v,w⟩ + 2κ²⟨u,v⟩⟨v,w⟩,
     * B = -κ²⟨v,w⟩||u||² + κ⟨u,w⟩, D = 1 - 2κ⟨u,v⟩ + κ²||u||²||v||².
     */
    static Var[] gyration(Var[] u, Var[] v, Var[] w, Var c) {
        Var k = c.neg();
        Var k2 = c.times(c);
        Var uw = dot(u, w);
        Var vw = dot(v, w);
        Var uv = dot(u, v);
        Var u2 = squaredNorm(u);
        Var v2 = squaredNorm(v);
        Var a = k2.times(uw).times(v2).neg().minus(k.times(vw)).plus(k2.times(uv).times(vw).times(2));
        Var b = k2.times(vw).times(u2).neg().plus(k.times(uw));
        Var d = k.times(uv).times(-2).plus(k2.times(u2).times(v2)).plus(1).atLeast(MIN_NORM);
        Var[] shift = combine(a.div(d).times(2), u, b.div(d).times(2), v);
        Var[] r = new Var[w.length];
        for (int i = 0; i < w.length; i++) {
            r[i] = w[i].plus(shift[i]);
        }
        return r;
    }

    /** P_{x→y}(v) = gyr[y,-x]v·λ_x/λ_y. */
    static Var[] transport(Var[] x, Var[] y, Var[] v, Var c) {
        return scale(gyration(y, neg(x), v, c), conformalFactor(x, c).div(conformalFactor(y, c)));
    }

    /** P_{0→y}(v) = v·(1 - c||y||²). */
    static Var[] transport0(Var[] y, Var[] v, Var c) {
        return scale(v, c.times(squaredNorm(y)).subtractedFrom(1));
    }

    /** ½ ⊗ (Σ α_i λ_i x_i / Σ α_j (λ_j - 1)), the gyromidpoint. */
    static Var[] weightedMidpoint(Var[][] points, Var[] weights, Var c) {
        int dim = points[0].length;
        Var[] sum = new Var[dim];
        Var den = null;
        for (int i = 0; i < points.length; i++) {
            Var lambda = conformalFactor(points[i], c);
            Var[] term = scale(points[i], weights[i].times(lambda));
            for (int j = 0; j < dim; j++) {
                sum[j] = sum[j] == null ? term[j] : sum[j].plus(term[j]);
            }
            Var w = weights[i].times(lambda.plus(-1));
            den = den == null ? w : den.plus(w);
        }
        Var denominator = Math.abs(den.value) < MIN_NORM ? den.plus(den.value < 0 ? -MIN_NORM : MIN_NORM) : den;
        return scalarMul(c.tape.leaf(0.5), scale(sum, denominator.dividing(1)), c);
    }
}
