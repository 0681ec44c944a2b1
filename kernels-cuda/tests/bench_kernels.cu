// GPU timings of every tensorloom kernel through the public ABI, with the references that judge them:
// cuBLAS Sgemm (loaded with dlopen, never linked) for GEMM, device-to-device cudaMemcpy bandwidth for
// the memory-bound kernels. Median of N timed repetitions (cudaEvents on the kernel's stream) after
// warm-up.
//
//   bench_kernels [results.tsv]     (TL_CUBLAS_PATH=/path/to/libcublas.so.N to pick a cuBLAS)
//
// Writes a readable table to stdout and a TSV (one row per measurement) to the given path.
#include <cuda_runtime.h>
#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "tensorloom.h"

namespace {

#define TL_CHECK(call)                                                                                  \
    do {                                                                                                \
        tl_status s_ = (call);                                                                          \
        if (s_ != TL_OK) {                                                                              \
            std::fprintf(stderr, "%s failed: %s: %s\n", #call, tl_status_name(s_), tl_last_error());    \
            std::exit(1);                                                                               \
        }                                                                                               \
    } while (0)

#define CUDA_CHECK(call)                                                                                    \
    do {                                                                                                    \
        cudaError_t e_ = (call);                                                                            \
        if (e_ != cudaSuccess) {                                                                            \
            std::fprintf(stderr, "%s failed: %s\n", #call, cudaGetErrorName(e_));                           \
            std::exit(1);                                                                                   \
        }                                                                                                   \
    } while (0)

// ---- cuBLAS through dlopen ----------------------------------------------------------------------------
typedef int cublasStatus_t;
typedef void *cublasHandle_t;
enum { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1 };
typedef cublasStatus_t (*cublasCreate_t)(cublasHandle_t *);
typedef cublasStatus_t (*cublasDestroy_t)(cublasHandle_t);
typedef cublasStatus_t (*cublasSetStream_t)(cublasHandle_t, cudaStream_t);
typedef cublasStatus_t (*cublasSgemm_t)(cublasHandle_t, int, int, int, int, int, const float *, const float *, int,
                                        const float *, int, const float *, float *, int);

struct Cublas {
    void *lib = nullptr;
    cublasHandle_t handle = nullptr;
    cublasCreate_t create = nullptr;
    cublasDestroy_t destroy = nullptr;
    cublasSetStream_t set_stream = nullptr;
    cublasSgemm_t sgemm = nullptr;
    std::string from;

    bool load(cudaStream_t stream) {
        std::vector<std::string> names;
        if (const char *p = std::getenv("TL_CUBLAS_PATH")) names.push_back(p);
        names.push_back("libcublas.so.13");
        names.push_back("libcublas.so.12");
        names.push_back("libcublas.so");
        for (const auto &n : names) {
            lib = dlopen(n.c_str(), RTLD_NOW | RTLD_LOCAL);
            if (lib) {
                from = n;
                break;
            }
        }
        if (!lib) return false;
        create = (cublasCreate_t)dlsym(lib, "cublasCreate_v2");
        destroy = (cublasDestroy_t)dlsym(lib, "cublasDestroy_v2");
        set_stream = (cublasSetStream_t)dlsym(lib, "cublasSetStream_v2");
        sgemm = (cublasSgemm_t)dlsym(lib, "cublasSgemm_v2");
        if (!create || !destroy || !set_stream || !sgemm || create(&handle) != 0) {
            std::printf("cuBLAS at %s is unusable (missing symbols or cublasCreate failed)\n", from.c_str());
            return false;
        }
        set_stream(handle, stream);
        return true;
    }
    // Row-major C[m,n] = A[m,k]·B (B [k,n], or [n,k] transposed): column-major Cᵀ = Bᵀ·Aᵀ.
    void gemm(bool trans_b, int m, int n, int k, const float *A, const float *B, float *C) {
        const float alpha = 1.f, beta = 0.f;
        if (trans_b)
            sgemm(handle, CUBLAS_OP_T, CUBLAS_OP_N, n, m, k, &alpha, B, k, A, k, &beta, C, n);
        else
            sgemm(handle, CUBLAS_OP_N, CUBLAS_OP_N, n, m, k, &alpha, B, n, A, k, &beta, C, n);
    }
};

// ---- timing --------------------------------------------------------------------------------------------
struct Timer {
    cudaStream_t stream;
    int warmup, reps;
    // Median milliseconds of one call of f.
    double time(const std::function<void()> &f) const {
        cudaEvent_t a, b;
        CUDA_CHECK(cudaEventCreate(&a));
        CUDA_CHECK(cudaEventCreate(&b));
        for (int i = 0; i < warmup; ++i) f();
        CUDA_CHECK(cudaStreamSynchronize(stream));
        std::vector<double> ms;
        for (int i = 0; i < reps; ++i) {
            CUDA_CHECK(cudaEventRecord(a, stream));
            f();
            CUDA_CHECK(cudaEventRecord(b, stream));
            CUDA_CHECK(cudaEventSynchronize(b));
            float t = 0;
            CUDA_CHECK(cudaEventElapsedTime(&t, a, b));
            ms.push_back(t);
        }
        CUDA_CHECK(cudaEventDestroy(a));
        CUDA_CHECK(cudaEventDestroy(b));
        std::sort(ms.begin(), ms.end());
        return ms[ms.size() / 2];
    }
};

struct Row {
    std::string kernel, shape, unit;
    double ms, value, reference, ratio;  // reference/ratio NaN when there is none
    std::string reference_name;
};

std::vector<Row> g_rows;

void report(const std::string &kernel, const std::string &shape, double ms, double value, const std::string &unit,
            double reference = NAN, const std::string &reference_name = "") {
    Row r{kernel, shape, unit, ms, value, reference, std::isnan(reference) ? NAN : value / reference, reference_name};
    g_rows.push_back(r);
    if (std::isnan(reference))
        std::printf("%-22s %-28s %10.4f ms %10.1f %-7s\n", kernel.c_str(), shape.c_str(), ms, value, unit.c_str());
    else
        std::printf("%-22s %-28s %10.4f ms %10.1f %-7s  %-22s %10.1f  %6.1f%%\n", kernel.c_str(), shape.c_str(), ms,
                    value, unit.c_str(), reference_name.c_str(), reference, 100.0 * value / reference);
}

tl_buffer random_buffer(tl_stream s, size_t floats, unsigned seed, float lo = -1.f, float hi = 1.f) {
    std::vector<float> h(floats);
    std::mt19937 gen(seed);
    std::uniform_real_distribution<float> d(lo, hi);
    for (auto &x : h) x = d(gen);
    tl_buffer b;
    TL_CHECK(tl_malloc(floats * 4, &b));
    TL_CHECK(tl_copy_to_device(s, b, 0, h.data(), floats * 4));
    return b;
}

float *dptr(tl_buffer b) {
    void *p;
    TL_CHECK(tl_buffer_device_pointer(b, &p));
    return static_cast<float *>(p);
}

std::vector<float> to_host(tl_stream s, tl_buffer b, size_t floats) {
    std::vector<float> h(floats);
    TL_CHECK(tl_stream_synchronize(s));
    TL_CHECK(tl_copy_to_host(s, h.data(), b, 0, floats * 4));
    return h;
}

std::string shape(std::initializer_list<long long> dims) {
    std::string s;
    for (long long d : dims) s += (s.empty() ? "" : "x") + std::to_string(d);
    return s;
}

}  // namespace

int main(int argc, char **argv) {
    const char *out_path = argc > 1 ? argv[1] : "bench_kernels.tsv";
    int32_t devices = 0;
    if (tl_device_count(&devices) != TL_OK) {
        std::fprintf(stderr, "no device: %s\n", tl_last_error());
        return 2;
    }
    char name[256];
    TL_CHECK(tl_device_name(0, name, sizeof name));
    tl_stream s;
    TL_CHECK(tl_stream_create(&s));
    void *native;
    TL_CHECK(tl_stream_native(s, &native));
    cudaStream_t cs = static_cast<cudaStream_t>(native);
    std::printf("device: %s   library: %s\n\n", name, tl_library_variant());

    Cublas cublas;
    const bool have_cublas = cublas.load(cs);
    if (have_cublas)
        std::printf("cuBLAS: %s\n", cublas.from.c_str());
    else
        std::printf("cuBLAS not found (set TL_CUBLAS_PATH): GEMM ratios skipped\n");

    // ---- device copy bandwidth: the bar for memory-bound kernels ----
    double copy_read_gbs = NAN, copy_rw_gbs = NAN;
    {
        const size_t bytes = size_t(512) << 20;
        tl_buffer a, b;
        TL_CHECK(tl_malloc(bytes, &a));
        TL_CHECK(tl_malloc(bytes, &b));
        TL_CHECK(tl_memset(s, a, 0, 1, bytes));
        Timer t{cs, 3, 20};
        const double ms = t.time([&] { CUDA_CHECK(cudaMemcpyAsync(dptr(b), dptr(a), bytes, cudaMemcpyDeviceToDevice, cs)); });
        copy_read_gbs = bytes / ms / 1e6;
        copy_rw_gbs = 2.0 * bytes / ms / 1e6;
        report("cudaMemcpy D2D", "512 MiB (read only)", ms, copy_read_gbs, "GB/s");
        report("cudaMemcpy D2D", "512 MiB (read+write)", ms, copy_rw_gbs, "GB/s");
        TL_CHECK(tl_free(a));
        TL_CHECK(tl_free(b));
    }
    std::printf("\n");

    // ---- GEMM vs cuBLAS ----
    for (int trans = 0; trans < 2; ++trans) {
        for (int n : {1024, 2048, 4096}) {
            if (trans && n != 4096) continue;
            const size_t nn = size_t(n) * n;
            tl_buffer A = random_buffer(s, nn, 1), B = random_buffer(s, nn, 2), C, Cref;
            TL_CHECK(tl_malloc(nn * 4, &C));
            TL_CHECK(tl_malloc(nn * 4, &Cref));
            Timer t{cs, 3, n >= 4096 ? 10 : 20};
            const double flop = 2.0 * n * n * double(n);
            const double ms = t.time([&] {
                if (trans)
                    TL_CHECK(tl_gemm_transposed_b(s, n, n, n, A, 0, n, B, 0, n, C, 0, n));
                else
                    TL_CHECK(tl_gemm(s, n, n, n, A, 0, n, B, 0, n, C, 0, n));
            });
            double ref = NAN;
            if (have_cublas) {
                const double ms_ref = t.time([&] { cublas.gemm(trans, n, n, n, dptr(A), dptr(B), dptr(Cref)); });
                ref = flop / ms_ref / 1e6;
                // Agreement with cuBLAS doubles as a correctness check at sizes the tests cannot afford.
                auto c = to_host(s, C, nn), r = to_host(s, Cref, nn);
                double worst = 0;
                for (size_t i = 0; i < nn; ++i) worst = std::max(worst, std::fabs(double(c[i]) - r[i]));
                std::printf("  (max |tensorloom - cuBLAS| = %.3g)\n", worst);
            }
            report(trans ? "gemm_transposed_b" : "gemm", shape({n, n, n}), ms, flop / ms / 1e6, "GFLOP/s", ref,
                   "cuBLAS Sgemm");
            for (tl_buffer b : {A, B, C, Cref}) TL_CHECK(tl_free(b));
        }
    }
    std::printf("\n");

    // ---- GEMV vs copy bandwidth ----
    for (int n : {4096, 8192}) {
        const size_t nn = size_t(n) * n;
        tl_buffer A = random_buffer(s, nn, 3), x = random_buffer(s, n, 4), y;
        TL_CHECK(tl_malloc(size_t(n) * 4, &y));
        Timer t{cs, 5, 50};
        const double ms = t.time([&] { TL_CHECK(tl_gemv(s, n, n, A, 0, n, x, 0, y, 0)); });
        const double bytes = 4.0 * (double(nn) + 2.0 * n);
        report("gemv", shape({n, n}), ms, bytes / ms / 1e6, "GB/s", copy_read_gbs, "copy (read only)");
        for (tl_buffer b : {A, x, y}) TL_CHECK(tl_free(b));
    }
    std::printf("\n");

    // ---- transformer layers at MiniLM-like shapes (hidden 384, 12 heads of 32, FFN 1536, seq 128) ----
    {
        const int batch = 32, seq = 128, hidden = 384, heads = 12, hd = 32, ffn = 1536;
        const int rows = batch * seq;
        Timer t{cs, 5, 50};
        tl_buffer x = random_buffer(s, size_t(rows) * ffn, 5, -3.f, 3.f);
        tl_buffer y = random_buffer(s, size_t(rows) * hidden, 6);
        tl_buffer g = random_buffer(s, hidden, 7, 0.5f, 1.5f), bvec = random_buffer(s, ffn, 8);
        double ms;

        ms = t.time([&] { TL_CHECK(tl_add_bias(s, rows, ffn, x, 0, ffn, bvec, 0)); });
        report("add_bias", shape({rows, ffn}), ms, 8.0 * rows * ffn / ms / 1e6, "GB/s", copy_rw_gbs, "copy (read+write)");
        ms = t.time([&] { TL_CHECK(tl_add(s, rows, hidden, x, 0, hidden, y, 0, hidden)); });
        report("add", shape({rows, hidden}), ms, 12.0 * rows * hidden / ms / 1e6, "GB/s", copy_rw_gbs, "copy (read+write)");
        ms = t.time([&] { TL_CHECK(tl_gelu(s, rows, ffn, x, 0, ffn)); });
        report("gelu", shape({rows, ffn}), ms, 8.0 * rows * ffn / ms / 1e6, "GB/s", copy_rw_gbs, "copy (read+write)");
        ms = t.time([&] { TL_CHECK(tl_layer_norm(s, rows, hidden, y, 0, hidden, g, 0, bvec, 0, 1e-12f)); });
        report("layer_norm", shape({rows, hidden}), ms, 8.0 * rows * hidden / ms / 1e6, "GB/s", copy_rw_gbs,
               "copy (read+write)");
        const int srows = batch * heads * seq;
        tl_buffer scores = random_buffer(s, size_t(srows) * seq, 9, -5.f, 5.f);
        ms = t.time([&] { TL_CHECK(tl_softmax_rows(s, srows, seq, scores, 0, seq)); });
        report("softmax_rows", shape({srows, seq}), ms, 8.0 * srows * seq / ms / 1e6, "GB/s", copy_rw_gbs,
               "copy (read+write)");

        tl_buffer qkv = random_buffer(s, size_t(rows) * 3 * hidden, 10), out, mask;
        TL_CHECK(tl_malloc(size_t(rows) * hidden * 4, &out));
        std::vector<float> hm(rows, 1.f);
        for (int b = 0; b < batch; ++b)
            for (int tkn = seq - (b * 7) % (seq / 2); tkn < seq; ++tkn) hm[size_t(b) * seq + tkn] = 0.f;
        TL_CHECK(tl_malloc(size_t(rows) * 4, &mask));
        TL_CHECK(tl_copy_to_device(s, mask, 0, hm.data(), hm.size() * 4));
        ms = t.time([&] {
            TL_CHECK(tl_attention(s, batch, seq, heads, hd, qkv, 0, 3 * hidden, qkv, hidden, 3 * hidden, qkv, 2 * hidden,
                                  3 * hidden, mask, 0, out, 0, hidden));
        });
        report("attention", shape({batch, seq, heads, hd}), ms, 16.0 * rows * hidden / ms / 1e6, "GB/s", copy_rw_gbs,
               "copy (read+write)");
        report("attention", shape({batch, seq, heads, hd}), ms, 4.0 * batch * heads * double(seq) * seq * hd / ms / 1e6,
               "GFLOP/s");

        std::vector<int32_t> ids(rows);
        for (int i = 0; i < rows; ++i) ids[i] = (i * 7919) % 30522;
        tl_buffer table = random_buffer(s, size_t(30522) * hidden, 11);
        ms = t.time([&] { TL_CHECK(tl_gather_rows(s, rows, hidden, table, 0, hidden, 30522, ids.data(), y, 0, hidden)); });
        report("gather_rows", shape({rows, hidden}), ms, 8.0 * rows * hidden / ms / 1e6, "GB/s", copy_rw_gbs,
               "copy (read+write)");
        tl_buffer pooled;
        TL_CHECK(tl_malloc(size_t(batch) * hidden * 4, &pooled));
        ms = t.time([&] { TL_CHECK(tl_mean_pool(s, batch, seq, hidden, y, 0, hidden, mask, 0, pooled, 0, hidden)); });
        report("mean_pool", shape({batch, seq, hidden}), ms, 4.0 * rows * hidden / ms / 1e6, "GB/s", copy_read_gbs,
               "copy (read only)");
        ms = t.time([&] { TL_CHECK(tl_l2_normalize_rows(s, rows, hidden, y, 0, hidden)); });
        report("l2_normalize_rows", shape({rows, hidden}), ms, 8.0 * rows * hidden / ms / 1e6, "GB/s", copy_rw_gbs,
               "copy (read+write)");
        for (tl_buffer b : {x, y, g, bvec, scores, qkv, out, mask, table, pooled}) TL_CHECK(tl_free(b));
    }

    if (have_cublas) cublas.destroy(cublas.handle);
    TL_CHECK(tl_stream_destroy(s));

    FILE *f = std::fopen(out_path, "w");
    if (!f) {
        std::fprintf(stderr, "cannot write %s\n", out_path);
        return 1;
    }
    std::fprintf(f, "device\tkernel\tshape\tmedian_ms\tvalue\tunit\treference\treference_value\tratio\n");
    for (const auto &r : g_rows)
        std::fprintf(f, "%s\t%s\t%s\t%.6f\t%.3f\t%s\t%s\t%.3f\t%.4f\n", name, r.kernel.c_str(), r.shape.c_str(), r.ms,
                     r.value, r.unit.c_str(), r.reference_name.c_str(), r.reference, r.ratio);
    std::fclose(f);
    std::printf("\nwrote %s\n", out_path);
    return 0;
}
