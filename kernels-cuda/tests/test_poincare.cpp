// The Poincaré-ball kernels against the definitions in double (Möbius addition, the exp and log maps, the
// gyration as ⊖(u⊕v)⊕(u⊕(v⊕w)), ...; REFERENCE.md section 3), on strided operands with offsets, widths below,
// at and above a warp, rows beyond the boundary (projected) and zero rows; and their argument checks.
#include "test_util.h"
#include "tensorloom_poincare.h"

#include <functional>

namespace {

using Vec = std::vector<double>;

double dot(const Vec &a, const Vec &b) {
    double s = 0;
    for (size_t j = 0; j < a.size(); ++j) s += a[j] * b[j];
    return s;
}

Vec scaled(double k, const Vec &a) {
    Vec r(a);
    for (double &v : r) v *= k;
    return r;
}

Vec plus(const Vec &a, const Vec &b) {
    Vec r(a);
    for (size_t j = 0; j < a.size(); ++j) r[j] += b[j];
    return r;
}

// The reference ball: the same radius (1 - 4e-3)/√c, with the definitions written out.
struct RefBall {
    double c, sc, radius;
    explicit RefBall(double cd) : c(cd), sc(std::sqrt(cd)), radius((1 - double(4e-3f)) / std::sqrt(cd)) {}

    Vec proj(const Vec &x) const {
        const double n = std::sqrt(dot(x, x));
        return n > radius ? scaled(radius / n, x) : x;
    }
    Vec transport(const Vec &x0, const Vec &y0, const Vec &v) const {
        const Vec xp = proj(x0), yp = proj(y0);
        return scaled(lambda(xp) / lambda(yp), gyr(yp, scaled(-1, xp), v));
    }
    double lambda(const Vec &x) const { return 2 / (1 - c * dot(x, x)); }
    Vec add_raw(const Vec &x, const Vec &y) const {
        const double xy = dot(x, y), x2 = dot(x, x), y2 = dot(y, y);
        const double den = 1 + 2 * c * xy + c * c * x2 * y2;
        return plus(scaled((1 + 2 * c * xy + c * y2) / den, x), scaled((1 - c * x2) / den, y));
    }
    Vec add(const Vec &x, const Vec &y) const { return proj(add_raw(proj(x), proj(y))); }
    Vec exp0(const Vec &v) const {
        const double n = std::sqrt(dot(v, v));
        return n == 0 ? v : proj(scaled(std::tanh(sc * n) / (sc * n), v));
    }
    Vec log0(const Vec &y0) const {
        const Vec y = proj(y0);
        const double n = std::sqrt(dot(y, y));
        return n == 0 ? y : scaled(std::atanh(sc * n) / (sc * n), y);
    }
    Vec expmap(const Vec &x0, const Vec &v) const {
        const Vec x = proj(x0);
        return add(x, exp0(scaled(lambda(x) / 2, v)));
    }
    Vec logmap(const Vec &x0, const Vec &y) const {
        const Vec x = proj(x0);
        const Vec w = add(scaled(-1, x), y);
        const double n = std::sqrt(dot(w, w));
        return n == 0 ? w : scaled(2 / (sc * lambda(x)) * std::atanh(sc * n) / n, w);
    }
    double dist(const Vec &x, const Vec &y) const {
        const Vec w = add_raw(scaled(-1, proj(x)), proj(y));
        return 2 / sc * std::atanh(std::min(sc * std::sqrt(dot(w, w)), 1 - 1e-5));
    }
    Vec scalar_mul(double r, const Vec &x0) const {
        const Vec x = proj(x0);
        const double n = std::sqrt(dot(x, x));
        return n == 0 ? x : proj(scaled(std::tanh(r * std::atanh(sc * n)) / (sc * n), x));
    }
    Vec gyr(const Vec &u0, const Vec &v0, const Vec &w) const {
        const Vec u = proj(u0), v = proj(v0);
        return add_raw(scaled(-1, add_raw(u, v)), add_raw(u, add_raw(v, w)));
    }
};

std::vector<float> random_points(int64_t rows, int64_t ld, uint64_t off, int64_t dim, float c, unsigned seed,
                                 bool zero_row = true, bool outside_rows = true) {
    std::mt19937 gen(seed);
    std::normal_distribution<double> normal;
    std::uniform_real_distribution<double> uniform(0, 1);
    auto h = random_floats(off + size_t(rows) * ld, seed + 7);  // sentinels between rows
    const double radius = 1 / std::sqrt(double(c));
    for (int64_t i = 0; i < rows; ++i) {
        Vec p(dim);
        for (double &v : p) v = normal(gen);
        const double n = std::sqrt(dot(p, p));
        // Mostly well inside; every fifth row outside the ball (projected), the last row zero.
        const double fraction = outside_rows && i % 5 == 4 ? 1.5 : 0.85 * uniform(gen);
        const double target = zero_row && i == rows - 1 ? 0 : fraction * radius;
        for (int64_t j = 0; j < dim; ++j) h[off + i * ld + j] = float(p[j] / n * target);
    }
    return h;
}

Vec row_of(const std::vector<float> &h, uint64_t off, int64_t ld, int64_t i, int64_t dim) {
    Vec r(dim);
    for (int64_t j = 0; j < dim; ++j) r[j] = h[off + i * ld + j];
    return r;
}

struct Shape {
    int64_t rows, dim;
};

constexpr double kRtol = 2e-4, kAtol = 2e-5;

// A row result: want(i) against out row i, scale from the reference's norm.
void check_rows(const char *what, float c, Shape s, const std::vector<float> &got, const std::vector<float> &before,
                uint64_t off, int64_t ld, const std::function<Vec(int64_t)> &want) {
    int bad = 0;
    for (int64_t i = 0; i < s.rows; ++i) {
        const Vec w = want(i);
        const double scale = std::sqrt(dot(w, w)) + 1;
        for (int64_t j = 0; j < s.dim; ++j) {
            const double g = got[off + i * ld + j];
            if (!close(g, w[j], scale, kRtol, kAtol) || !std::isfinite(g)) {
                if (bad++ < 3)
                    CHECK(false, "%s c=%g rows %lld dim %lld at [%lld,%lld]: %.8g vs %.8g", what, double(c),
                          (long long)s.rows, (long long)s.dim, (long long)i, (long long)j, g, w[j]);
            }
        }
    }
    CHECK(bad == 0, "%s c=%g dim %lld: %d elements off", what, double(c), (long long)s.dim, bad);
    CHECK(count_changed_outside(got, before, off, s.rows, s.dim, ld) == 0, "%s wrote outside out", what);
}

void check_values(const char *what, float c, const std::vector<float> &got, uint64_t off, int64_t n,
                  const std::function<double(int64_t)> &want) {
    for (int64_t i = 0; i < n; ++i) {
        const double w = want(i), g = got[off + i];
        CHECK(close(g, w, std::fabs(w) + 1, kRtol, kAtol) && std::isfinite(g), "%s c=%g at %lld: %.8g vs %.8g", what,
              double(c), (long long)i, g, w);
    }
}

void test_rowwise(tl_stream st, float c, Shape s, unsigned seed) {
    const RefBall ref(c);
    const int64_t ld = s.dim + 3, ldo = s.dim + 1;
    const uint64_t ox = 1, oy = 2, ov = 5, oo = 3;
    auto hx = random_points(s.rows, ld, ox, s.dim, c, seed);
    auto hy = random_points(s.rows, ld, oy, s.dim, c, seed + 1);
    auto hv = random_floats(ov + size_t(s.rows) * ld, seed + 2, -0.5f, 0.5f);
    auto hr = random_floats(1 + size_t(s.rows), seed + 3, -2.f, 2.f);
    auto ho = random_floats(oo + size_t(s.rows) * ldo, seed + 4);
    tl_buffer x = upload(st, hx), y = upload(st, hy), v = upload(st, hv), r = upload(st, hr), o = upload(st, ho);
    auto X = [&](int64_t i) { return row_of(hx, ox, ld, i, s.dim); };
    auto Y = [&](int64_t i) { return row_of(hy, oy, ld, i, s.dim); };
    auto V = [&](int64_t i) { return row_of(hv, ov, ld, i, s.dim); };
    // The gyration's w and the transported vectors: small tangent rows, so v⊕w of the identity stays inside.
    auto run = [&](const char *what, tl_status status, const std::function<Vec(int64_t)> &want) {
        OK(status);
        check_rows(what, c, s, download(st, o, ho.size()), ho, oo, ldo, want);
        OK(tl_copy_to_device(st, o, 0, ho.data(), ho.size() * sizeof(float)));
    };
    const int64_t n = s.rows, d = s.dim;
    run("project", tl_poincare_project(st, c, n, d, x, ox, ld, o, oo, ldo), [&](int64_t i) { return ref.proj(X(i)); });
    run("mobius_add", tl_poincare_mobius_add(st, c, n, d, x, ox, ld, y, oy, ld, o, oo, ldo),
        [&](int64_t i) { return ref.add(X(i), Y(i)); });
    run("scalar_mul", tl_poincare_scalar_mul(st, c, n, d, r, 1, x, ox, ld, o, oo, ldo),
        [&](int64_t i) { return ref.scalar_mul(hr[1 + i], X(i)); });
    run("expmap0", tl_poincare_expmap0(st, c, n, d, v, ov, ld, o, oo, ldo),
        [&](int64_t i) { return ref.exp0(V(i)); });
    run("logmap0", tl_poincare_logmap0(st, c, n, d, y, oy, ld, o, oo, ldo), [&](int64_t i) { return ref.log0(Y(i)); });
    run("expmap", tl_poincare_expmap(st, c, n, d, x, ox, ld, v, ov, ld, o, oo, ldo),
        [&](int64_t i) { return ref.expmap(X(i), V(i)); });
    run("logmap", tl_poincare_logmap(st, c, n, d, x, ox, ld, y, oy, ld, o, oo, ldo),
        [&](int64_t i) { return ref.logmap(X(i), Y(i)); });
    auto W = [&](int64_t i) { return scaled(0.2 / std::sqrt(double(c)), V(i)); };
    auto hw = hv;
    for (auto &e : hw) e = float(e * 0.2 / std::sqrt(double(c)));
    tl_buffer w = upload(st, hw);
    run("gyration", tl_poincare_gyration(st, c, n, d, x, ox, ld, y, oy, ld, w, ov, ld, o, oo, ldo),
        [&](int64_t i) { return ref.gyr(X(i), Y(i), W(i)); });
    run("transport", tl_poincare_transport(st, c, n, d, x, ox, ld, y, oy, ld, w, ov, ld, o, oo, ldo), [&](int64_t i) {
        const Vec xp = ref.proj(X(i)), yp = ref.proj(Y(i));
        return scaled(ref.lambda(xp) / ref.lambda(yp), ref.gyr(yp, scaled(-1, xp), W(i)));
    });
    run("transport0", tl_poincare_transport0(st, c, n, d, y, oy, ld, w, ov, ld, o, oo, ldo), [&](int64_t i) {
        return scaled(2 / ref.lambda(ref.proj(Y(i))), W(i));
    });
    // Distances into a per-row vector.
    auto hd = random_floats(2 + size_t(n), seed + 5);
    tl_buffer dist = upload(st, hd);
    OK(tl_poincare_distance(st, c, n, d, x, ox, ld, y, oy, ld, dist, 2));
    check_values("distance", c, download(st, dist, hd.size()), 2, n, [&](int64_t i) { return ref.dist(X(i), Y(i)); });
    OK(tl_poincare_distance0(st, c, n, d, x, ox, ld, dist, 2));
    check_values("distance0", c, download(st, dist, hd.size()), 2, n,
                 [&](int64_t i) { return ref.dist(Vec(size_t(d), 0.0), X(i)); });
    // In place: out is x.
    OK(tl_poincare_mobius_add(st, c, n, d, x, ox, ld, y, oy, ld, x, ox, ld));
    check_rows("mobius_add in place", c, s, download(st, x, hx.size()), hx, ox, ld,
               [&](int64_t i) { return ref.add(X(i), Y(i)); });
    for (tl_buffer b : {x, y, v, r, o, w, dist}) OK(tl_free(b));
}

// M⊗x after the GEMM: mx = x·Mᵀ by tl_gemm_transposed_b, then the finishing step; all-pairs distance likewise.
void test_products(tl_stream st, float c, int64_t rows, int64_t dim, int64_t out_dim, int64_t y_rows, unsigned seed) {
    const RefBall ref(c);
    const int64_t ld = dim + 2;
    auto hx = random_points(rows, ld, 0, dim, c, seed);
    auto hy = random_points(y_rows, dim, 0, dim, c, seed + 1);
    auto hm = random_floats(size_t(out_dim) * dim, seed + 2, -0.7f, 0.7f);
    const int64_t ldm = out_dim + 1;
    std::vector<float> hmx(size_t(rows) * ldm, 7.f);
    tl_buffer x = upload(st, hx), y = upload(st, hy), m = upload(st, hm), mx = upload(st, hmx);
    OK(tl_gemm_transposed_b(st, rows, out_dim, dim, x, 0, ld, m, 0, dim, mx, 0, ldm));
    OK(tl_poincare_matvec_finish(st, c, rows, dim, out_dim, x, 0, ld, mx, 0, ldm));
    check_rows("matvec", c, Shape{rows, out_dim}, download(st, mx, hmx.size()), hmx, 0, ldm, [&](int64_t i) {
        const Vec xp = ref.proj(row_of(hx, 0, ld, i, dim));
        Vec p(out_dim, 0.0);
        for (int64_t o = 0; o < out_dim; ++o)
            for (int64_t j = 0; j < dim; ++j) p[o] += double(hm[o * dim + j]) * xp[j];
        const double xn = std::sqrt(dot(xp, xp)), pn = std::sqrt(dot(p, p));
        if (xn == 0 || pn == 0) return Vec(out_dim, 0.0);
        return ref.proj(scaled(std::tanh(pn / xn * std::atanh(ref.sc * xn)) / (ref.sc * pn), p));
    });
    const int64_t ldg = y_rows + 3;
    std::vector<float> hg(size_t(rows) * ldg + 1, 5.f);
    tl_buffer g = upload(st, hg);
    OK(tl_gemm_transposed_b(st, rows, y_rows, dim, x, 0, ld, y, 0, dim, g, 1, ldg));
    OK(tl_poincare_gram_to_distance(st, c, rows, y_rows, dim, x, 0, ld, y, 0, dim, g, 1, ldg));
    check_rows("gram_to_distance", c, Shape{rows, y_rows}, download(st, g, hg.size()), hg, 1, ldg, [&](int64_t i) {
        Vec r(y_rows);
        for (int64_t j = 0; j < y_rows; ++j) r[j] = ref.dist(row_of(hx, 0, ld, i, dim), row_of(hy, 0, dim, j, dim));
        return r;
    });
    for (tl_buffer b : {x, y, m, mx, g}) OK(tl_free(b));
}

// The gyromidpoint ½⊗(Σ α_i λ_i x_i / Σ α_i (λ_i - 1)).
void test_midpoint(tl_stream st, float c, int64_t rows, int64_t dim, unsigned seed) {
    const RefBall ref(c);
    const int64_t ld = dim + 1;
    auto hp = random_points(rows, ld, 2, dim, c, seed);
    auto hw = random_floats(rows + 1, seed + 1, 0.1f, 1.f);
    auto ho = random_floats(dim + 4, seed + 2);
    tl_buffer p = upload(st, hp), w = upload(st, hw), o = upload(st, ho);
    OK(tl_poincare_weighted_midpoint(st, c, rows, dim, p, 2, ld, w, 1, o, 3));
    Vec sum(dim, 0.0);
    double den = 0;
    for (int64_t i = 0; i < rows; ++i) {
        const Vec xp = ref.proj(row_of(hp, 2, ld, i, dim));
        const double lambda = ref.lambda(xp);
        sum = plus(sum, scaled(hw[1 + i] * lambda, xp));
        den += hw[1 + i] * (lambda - 1);
    }
    const Vec want = ref.scalar_mul(0.5, scaled(1 / den, sum));
    check_rows("weighted_midpoint", c, Shape{1, dim}, download(st, o, ho.size()), ho, 3, dim,
               [&](int64_t) { return want; });
    for (tl_buffer b : {p, w, o}) OK(tl_free(b));
}

// ---- backward passes against central differences of the double definitions -----------------------------------

// One row's forward pass in double: inputs (each a row) to the output row.
using RowFn = std::function<Vec(const RefBall &, const std::vector<Vec> &)>;

// L = Σ_rows ⟨g_i, f(inputs_i)⟩. Checks each input's gradient and dL/dc against central differences.
void check_backward(const char *what, float c, int64_t rows, const std::vector<std::vector<float>> &inputs,
                    const std::vector<int64_t> &widths, const std::vector<float> &g, int64_t out_dim, const RowFn &f,
                    const std::vector<std::vector<float>> &grads, float grad_c) {
    const size_t n = inputs.size();
    auto row_inputs = [&](int64_t i) {
        std::vector<Vec> in(n);
        for (size_t k = 0; k < n; ++k) in[k] = row_of(inputs[k], 0, widths[k], i, widths[k]);
        return in;
    };
    auto loss = [&](const RefBall &ref, int64_t i, const std::vector<Vec> &in) {
        const Vec out = f(ref, in);
        double l = 0;
        for (int64_t o = 0; o < out_dim; ++o) l += double(g[i * out_dim + o]) * out[o];
        return l;
    };
    const RefBall ref(c);
    double dc = 0;
    for (int64_t i = 0; i < rows; ++i) {
        const std::vector<Vec> in = row_inputs(i);
        for (size_t k = 0; k < n; ++k) {
            Vec fd(widths[k]);
            for (int64_t j = 0; j < widths[k]; ++j) {
                const double h = 1e-6 * (std::fabs(in[k][j]) + 1e-2 / std::sqrt(double(c)));
                std::vector<Vec> up = in, down = in;
                up[k][j] += h;
                down[k][j] -= h;
                fd[j] = (loss(ref, i, up) - loss(ref, i, down)) / (2 * h);
            }
            const double scale = std::sqrt(dot(fd, fd)) + 1e-3;
            for (int64_t j = 0; j < widths[k]; ++j) {
                const double got = grads[k][i * widths[k] + j];
                CHECK(close(got, fd[j], scale, 1e-3, 1e-4) && std::isfinite(got),
                      "%s c=%g: d/d(input %zu)[%lld,%lld] = %.8g, differences give %.8g", what, double(c), k,
                      (long long)i, (long long)j, got, fd[j]);
            }
        }
        const double h = 1e-6 * c;
        dc += (loss(RefBall(double(c) + h), i, in) - loss(RefBall(double(c) - h), i, in)) / (2 * h);
    }
    CHECK(close(grad_c, dc, std::fabs(dc) + 1e-2, 2e-3, 1e-4) && std::isfinite(grad_c),
          "%s c=%g: dL/dc = %.8g, differences give %.8g", what, double(c), double(grad_c), dc);
}

struct Device {
    tl_stream st;
    std::vector<tl_buffer> owned;
    tl_buffer put(const std::vector<float> &h) {
        owned.push_back(upload(st, h));
        return owned.back();
    }
    tl_buffer zeros(size_t n) { return put(std::vector<float>(n, 0.f)); }
    ~Device() {
        for (tl_buffer b : owned) tl_free(b);
    }
};

void test_backward(tl_stream st, float c, int64_t rows, int64_t dim, unsigned seed) {
    Device dev{st, {}};
    const size_t n = size_t(rows * dim);
    auto hx = random_points(rows, dim, 0, dim, c, seed, false);
    // x has rows beyond the boundary (the projection's Jacobian); y lies inside, since two projected points
    // make the distance too ill-conditioned for fp32 dot products to meet a 1e-3 bound.
    auto hy = random_points(rows, dim, 0, dim, c, seed + 1, false, false);
    auto hv = random_floats(n, seed + 2, -0.5f, 0.5f);
    auto hw = hv;
    for (auto &e : hw) e = float(e * 0.2 / std::sqrt(double(c)));
    auto hg = random_floats(n, seed + 3);
    auto hgr = random_floats(size_t(rows), seed + 4);
    auto hr = random_floats(size_t(rows), seed + 5, -2.f, 2.f);
    tl_buffer x = dev.put(hx), y = dev.put(hy), v = dev.put(hv), w = dev.put(hw), g = dev.put(hg), gr = dev.put(hgr),
              r = dev.put(hr);
    tl_buffer g1 = dev.zeros(n), g2 = dev.zeros(n), g3 = dev.zeros(n), gc = dev.zeros(1), grr = dev.zeros(size_t(rows));
    auto get = [&](tl_buffer b, size_t count) { return download(st, b, count); };
    auto dc = [&]() { return get(gc, 1)[0]; };
    const int64_t d = dim;
    const std::vector<int64_t> w1{d}, w2{d, d}, w3{d, d, d};

    OK(tl_poincare_project_backward(st, c, rows, d, x, 0, d, g, 0, d, g1, 0, d, gc, 0));
    check_backward("project_backward", c, rows, {hx}, w1, hg, d,
                   [](const RefBall &b, const std::vector<Vec> &in) { return b.proj(in[0]); }, {get(g1, n)}, dc());
    OK(tl_poincare_mobius_add_backward(st, c, rows, d, x, 0, d, y, 0, d, g, 0, d, g1, 0, d, g2, 0, d, gc, 0));
    check_backward("mobius_add_backward", c, rows, {hx, hy}, w2, hg, d,
                   [](const RefBall &b, const std::vector<Vec> &in) { return b.add(in[0], in[1]); },
                   {get(g1, n), get(g2, n)}, dc());
    OK(tl_poincare_scalar_mul_backward(st, c, rows, d, r, 0, x, 0, d, g, 0, d, grr, 0, g1, 0, d, gc, 0));
    check_backward("scalar_mul_backward", c, rows, {hr, hx}, {1, d}, hg, d,
                   [](const RefBall &b, const std::vector<Vec> &in) { return b.scalar_mul(in[0][0], in[1]); },
                   {get(grr, size_t(rows)), get(g1, n)}, dc());
    OK(tl_poincare_expmap0_backward(st, c, rows, d, v, 0, d, g, 0, d, g1, 0, d, gc, 0));
    check_backward("expmap0_backward", c, rows, {hv}, w1, hg, d,
                   [](const RefBall &b, const std::vector<Vec> &in) { return b.exp0(in[0]); }, {get(g1, n)}, dc());
    OK(tl_poincare_logmap0_backward(st, c, rows, d, x, 0, d, g, 0, d, g1, 0, d, gc, 0));
    check_backward("logmap0_backward", c, rows, {hx}, w1, hg, d,
                   [](const RefBall &b, const std::vector<Vec> &in) { return b.log0(in[0]); }, {get(g1, n)}, dc());
    OK(tl_poincare_expmap_backward(st, c, rows, d, x, 0, d, v, 0, d, g, 0, d, g1, 0, d, g2, 0, d, gc, 0));
    check_backward("expmap_backward", c, rows, {hx, hv}, w2, hg, d,
                   [](const RefBall &b, const std::vector<Vec> &in) { return b.expmap(in[0], in[1]); },
                   {get(g1, n), get(g2, n)}, dc());
    OK(tl_poincare_logmap_backward(st, c, rows, d, x, 0, d, y, 0, d, g, 0, d, g1, 0, d, g2, 0, d, gc, 0));
    check_backward("logmap_backward", c, rows, {hx, hy}, w2, hg, d,
                   [](const RefBall &b, const std::vector<Vec> &in) { return b.logmap(in[0], in[1]); },
                   {get(g1, n), get(g2, n)}, dc());
    OK(tl_poincare_distance_backward(st, c, rows, d, x, 0, d, y, 0, d, gr, 0, g1, 0, d, g2, 0, d, gc, 0));
    check_backward("distance_backward", c, rows, {hx, hy}, w2, hgr, 1,
                   [](const RefBall &b, const std::vector<Vec> &in) { return Vec{b.dist(in[0], in[1])}; },
                   {get(g1, n), get(g2, n)}, dc());
    OK(tl_poincare_distance0_backward(st, c, rows, d, x, 0, d, gr, 0, g1, 0, d, gc, 0));
    check_backward("distance0_backward", c, rows, {hx}, w1, hgr, 1,
                   [](const RefBall &b, const std::vector<Vec> &in) {
                       return Vec{b.dist(Vec(in[0].size(), 0.0), in[0])};
                   },
                   {get(g1, n)}, dc());
    // The gyration's derivatives at two projected points near the boundary are beyond what central differences of
    // its Möbius identity resolve in double; here every point lies inside.
    hx = random_points(rows, dim, 0, dim, c, seed + 6, false, false);
    hy = random_points(rows, dim, 0, dim, c, seed + 7, false, false);
    x = dev.put(hx);
    y = dev.put(hy);
    OK(tl_poincare_gyration_backward(st, c, rows, d, x, 0, d, y, 0, d, w, 0, d, g, 0, d, g1, 0, d, g2, 0, d, g3, 0, d,
                                     gc, 0));
    check_backward("gyration_backward", c, rows, {hx, hy, hw}, w3, hg, d,
                   [](const RefBall &b, const std::vector<Vec> &in) { return b.gyr(in[0], in[1], in[2]); },
                   {get(g1, n), get(g2, n), get(g3, n)}, dc());
    OK(tl_poincare_transport_backward(st, c, rows, d, x, 0, d, y, 0, d, w, 0, d, g, 0, d, g1, 0, d, g2, 0, d, g3, 0, d,
                                      gc, 0));
    check_backward("transport_backward", c, rows, {hx, hy, hw}, w3, hg, d,
                   [](const RefBall &b, const std::vector<Vec> &in) { return b.transport(in[0], in[1], in[2]); },
                   {get(g1, n), get(g2, n), get(g3, n)}, dc());
    OK(tl_poincare_transport0_backward(st, c, rows, d, y, 0, d, w, 0, d, g, 0, d, g1, 0, d, g2, 0, d, gc, 0));
    check_backward("transport0_backward", c, rows, {hy, hw}, w2, hg, d,
                   [](const RefBall &b, const std::vector<Vec> &in) {
                       return scaled(2 / b.lambda(b.proj(in[0])), in[1]);
                   },
                   {get(g1, n), get(g2, n)}, dc());
}

// L(inputs) over all rows at once, for the passes that couple rows (M⊗x's M, all pairs, the midpoint).
using LossFn = std::function<double(const RefBall &, const std::vector<Vec> &)>;

void check_backward_global(const char *what, float c, const std::vector<std::vector<float>> &inputs, const LossFn &f,
                           const std::vector<std::vector<float>> &grads, float grad_c) {
    std::vector<Vec> in(inputs.size());
    for (size_t k = 0; k < inputs.size(); ++k) in[k] = Vec(inputs[k].begin(), inputs[k].end());
    const RefBall ref(c);
    for (size_t k = 0; k < in.size(); ++k) {
        Vec fd(in[k].size());
        for (size_t j = 0; j < in[k].size(); ++j) {
            const double h = 1e-6 * (std::fabs(in[k][j]) + 1e-2 / std::sqrt(double(c)));
            std::vector<Vec> up = in, down = in;
            up[k][j] += h;
            down[k][j] -= h;
            fd[j] = (f(ref, up) - f(ref, down)) / (2 * h);
        }
        const double scale = std::sqrt(dot(fd, fd)) + 1e-3;
        for (size_t j = 0; j < in[k].size(); ++j) {
            CHECK(close(grads[k][j], fd[j], scale, 1e-3, 1e-4) && std::isfinite(grads[k][j]),
                  "%s c=%g: d/d(input %zu)[%zu] = %.8g, differences give %.8g", what, double(c), k, j,
                  double(grads[k][j]), fd[j]);
        }
    }
    const double h = 1e-6 * c;
    const double dc = (f(RefBall(double(c) + h), in) - f(RefBall(double(c) - h), in)) / (2 * h);
    CHECK(close(grad_c, dc, std::fabs(dc) + 1e-2, 2e-3, 1e-4) && std::isfinite(grad_c),
          "%s c=%g: dL/dc = %.8g, differences give %.8g", what, double(c), double(grad_c), dc);
}

Vec ref_matvec(const RefBall &b, const Vec &m, const Vec &x0, int64_t out_dim) {
    const int64_t dim = int64_t(x0.size());
    const Vec xp = b.proj(x0);
    Vec p(out_dim, 0.0);
    for (int64_t o = 0; o < out_dim; ++o)
        for (int64_t j = 0; j < dim; ++j) p[o] += m[o * dim + j] * xp[j];
    const double xn = std::sqrt(dot(xp, xp)), pn = std::sqrt(dot(p, p));
    if (xn == 0 || pn == 0) return Vec(out_dim, 0.0);
    return b.proj(scaled(std::tanh(pn / xn * std::atanh(b.sc * xn)) / (b.sc * pn), p));
}

// The passes that couple rows, composed as the Java cuda kernels compose them.
void test_coupled_backward(tl_stream st, float c, unsigned seed) {
    Device dev{st, {}};
    const int64_t rows = 5, dim = 4, out_dim = 3, y_rows = 4;
    auto hx = random_points(rows, dim, 0, dim, c, seed, false);
    auto hy = random_points(y_rows, dim, 0, dim, c, seed + 1, false);
    auto hm = random_floats(size_t(out_dim * dim), seed + 2, -0.7f, 0.7f);
    auto hg = random_floats(size_t(rows * out_dim), seed + 3);
    auto hgp = random_floats(size_t(rows * y_rows), seed + 4);
    auto hw = random_floats(size_t(rows), seed + 5, 0.1f, 1.f);
    auto hgm = random_floats(size_t(dim), seed + 6);
    tl_buffer x = dev.put(hx), y = dev.put(hy), m = dev.put(hm), g = dev.put(hg), gp = dev.put(hgp),
              w = dev.put(hw), gmid = dev.put(hgm);
    tl_buffer gc = dev.zeros(4);
    auto sum_c = [&](int n) {
        auto v = download(st, gc, 4);
        float s = 0;
        for (int i = 0; i < n; ++i) s += v[i];
        return s;
    };

    // M⊗x = exp₀(log₀(x)·Mᵀ)
    tl_buffer log = dev.zeros(size_t(rows * dim)), z = dev.zeros(size_t(rows * out_dim)),
              gz = dev.zeros(size_t(rows * out_dim)), gm = dev.zeros(size_t(out_dim * dim)),
              glog = dev.zeros(size_t(rows * dim)), gx = dev.zeros(size_t(rows * dim));
    OK(tl_poincare_logmap0(st, c, rows, dim, x, 0, dim, log, 0, dim));
    OK(tl_gemm_transposed_b(st, rows, out_dim, dim, log, 0, dim, m, 0, dim, z, 0, out_dim));
    OK(tl_poincare_expmap0_backward(st, c, rows, out_dim, z, 0, out_dim, g, 0, out_dim, gz, 0, out_dim, gc, 0));
    OK(tl_poincare_matvec_weight_gradient(st, rows, out_dim, dim, gz, 0, out_dim, log, 0, dim, gm, 0, dim));
    OK(tl_gemm(st, rows, dim, out_dim, gz, 0, out_dim, m, 0, dim, glog, 0, dim));
    OK(tl_poincare_logmap0_backward(st, c, rows, dim, x, 0, dim, glog, 0, dim, gx, 0, dim, gc, 1));
    check_backward_global(
        "matvec backward", c, {hm, hx},
        [&](const RefBall &b, const std::vector<Vec> &in) {
            double l = 0;
            for (int64_t i = 0; i < rows; ++i) {
                const Vec r = ref_matvec(b, in[0], Vec(in[1].begin() + i * dim, in[1].begin() + (i + 1) * dim),
                                         out_dim);
                for (int64_t o = 0; o < out_dim; ++o) l += hg[i * out_dim + o] * r[o];
            }
            return l;
        },
        {download(st, gm, size_t(out_dim * dim)), download(st, gx, size_t(rows * dim))}, sum_c(2));

    // All pairs: the Gram matrix, its elementwise step, two GEMMs and the squared norms' terms.
    tl_buffer gram = dev.zeros(size_t(rows * y_rows)), gram_t = dev.zeros(size_t(rows * y_rows)),
              xn = dev.zeros(size_t(rows)), yn = dev.zeros(size_t(y_rows)), gy = dev.zeros(size_t(y_rows * dim));
    OK(tl_gemm_transposed_b(st, rows, y_rows, dim, x, 0, dim, y, 0, dim, gram, 0, y_rows));
    OK(tl_poincare_gram_distance_backward(st, c, rows, y_rows, dim, x, 0, dim, y, 0, dim, gp, 0, y_rows, gram, 0,
                                          y_rows, gram_t, 0, rows, xn, 0, yn, 0, gc, 0));
    OK(tl_gemm(st, rows, dim, y_rows, gram, 0, y_rows, y, 0, dim, gx, 0, dim));
    OK(tl_gemm(st, y_rows, dim, rows, gram_t, 0, rows, x, 0, dim, gy, 0, dim));
    OK(tl_poincare_norm_gradient(st, c, rows, dim, x, 0, dim, xn, 0, gx, 0, dim, gc, 1));
    OK(tl_poincare_norm_gradient(st, c, y_rows, dim, y, 0, dim, yn, 0, gy, 0, dim, gc, 2));
    check_backward_global(
        "all-pairs distance backward", c, {hx, hy},
        [&](const RefBall &b, const std::vector<Vec> &in) {
            double l = 0;
            for (int64_t i = 0; i < rows; ++i)
                for (int64_t j = 0; j < y_rows; ++j)
                    l += hgp[i * y_rows + j] * b.dist(Vec(in[0].begin() + i * dim, in[0].begin() + (i + 1) * dim),
                                                      Vec(in[1].begin() + j * dim, in[1].begin() + (j + 1) * dim));
            return l;
        },
        {download(st, gx, size_t(rows * dim)), download(st, gy, size_t(y_rows * dim))}, sum_c(3));

    // The weighted midpoint.
    tl_buffer gw = dev.zeros(size_t(rows));
    OK(tl_poincare_weighted_midpoint_backward(st, c, rows, dim, x, 0, dim, w, 0, gmid, 0, gx, 0, dim, gw, 0, gc, 0));
    check_backward_global(
        "weighted midpoint backward", c, {hx, hw},
        [&](const RefBall &b, const std::vector<Vec> &in) {
            Vec sum(dim, 0.0);
            double den = 0;
            for (int64_t i = 0; i < rows; ++i) {
                const Vec xp = b.proj(Vec(in[0].begin() + i * dim, in[0].begin() + (i + 1) * dim));
                const double lambda = b.lambda(xp);
                sum = plus(sum, scaled(in[1][i] * lambda, xp));
                den += in[1][i] * (lambda - 1);
            }
            const Vec mid = b.scalar_mul(0.5, scaled(1 / den, sum));
            double l = 0;
            for (int64_t j = 0; j < dim; ++j) l += hgm[j] * mid[j];
            return l;
        },
        {download(st, gx, size_t(rows * dim)), download(st, gw, size_t(rows))}, sum_c(1));
}

void test_bad_arguments(tl_stream st) {
    tl_buffer small = upload(st, std::vector<float>(10, 0.f));
    tl_buffer big = upload(st, std::vector<float>(1000, 0.f));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "c > 0", tl_poincare_project(st, 0.f, 2, 4, big, 0, 4, big, 0, 4));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "c > 0", tl_poincare_expmap0(st, -1.f, 2, 4, big, 0, 4, big, 0, 4));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "c > 0",
                  tl_poincare_distance0(st, std::nanf(""), 2, 4, big, 0, 4, big, 0));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "c > 0", tl_poincare_distance0(st, INFINITY, 2, 4, big, 0, 4, big, 0));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "rows", tl_poincare_project(st, 1.f, -1, 4, big, 0, 4, big, 0, 4));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "ldx", tl_poincare_project(st, 1.f, 2, 4, big, 0, 3, big, 0, 4));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "out", tl_poincare_mobius_add(st, 1.f, 4, 4, big, 0, 4, big, 0, 4, small,
                  0, 4));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "r", tl_poincare_scalar_mul(st, 1.f, 20, 4, small, 0, big, 0, 4, big, 0,
                  4));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "mx",
                  tl_poincare_matvec_finish(st, 1.f, 2, 4, 8, big, 0, 4, small, 0, 8));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "g",
                  tl_poincare_gram_to_distance(st, 1.f, 4, 4, 2, big, 0, 2, big, 0, 2, small, 8, 4));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "no points",
                  tl_poincare_weighted_midpoint(st, 1.f, 0, 4, big, 0, 4, big, 0, big, 0));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "weights",
                  tl_poincare_weighted_midpoint(st, 1.f, 20, 4, big, 0, 4, small, 0, big, 0));
    EXPECT_STATUS(TL_ERROR_INVALID_HANDLE, nullptr, tl_poincare_project(st, 1.f, 1, 1, nullptr, 0, 1, big, 0, 1));
    OK(tl_poincare_project(st, 1.f, 0, 4, big, 0, 4, big, 0, 4));  // no rows: nothing to do
    OK(tl_free(small));
    OK(tl_free(big));
}

}  // namespace

int main() {
    tl_stream st;
    OK(tl_stream_create(&st));
    unsigned seed = 100;
    for (float c : {0.1f, 1.f, 10.f}) {
        // Below a warp, a warp, one lane past it, several warps; rows past one block of eight warps.
        for (Shape s : {Shape{5, 1}, Shape{9, 7}, Shape{13, 32}, Shape{11, 33}, Shape{21, 70}}) test_rowwise(st, c, s,
             seed += 10);
        test_products(st, c, 10, 33, 17, 9, seed += 10);
        test_products(st, c, 6, 5, 40, 35, seed += 10);
        test_midpoint(st, c, 1, 3, seed += 10);
        test_midpoint(st, c, 12, 37, seed += 10);
        test_midpoint(st, c, 40, 300, seed += 10);
        test_backward(st, c, 6, 3, seed += 10);
        test_backward(st, c, 10, 33, seed += 10);
        test_coupled_backward(st, c, seed += 10);
    }
    test_bad_arguments(st);
    OK(tl_stream_destroy(st));
    return finish("test_poincare");
}
