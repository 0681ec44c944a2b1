// GPU timings of every tensorloom kernel through the public ABI, with the references that judge them, in
// one table: the device's copy bandwidth (cudaMemcpyAsync device to device, counted as the bytes it reads
// plus the bytes it writes) for every kernel, and cuBLAS (loaded with dlopen, never linked: Sgemm for the
// products, Sgemv for GEMV) where it has the same operation.
//
// Timing: a sample is N back-to-back calls between two events on the kernel's stream, divided by N, with N
// chosen so that a sample lasts about 2 ms; the figure is the median of 7 samples after a warm-up. Events
// around a single call would count the 3-6 us the host takes to launch it, which the GPU otherwise hides
// behind the previous kernel: that understates GEMV by 15-25% and small kernels by up to 2x. A kernel's
// bandwidth is the bytes it must move (each operand read once, each result written once) over its time, and
// it is compared with the copy's read + write traffic, the same kind of figure.
//
//   bench_kernels [results.tsv]     (TL_CUBLAS_PATH=/path/to/libcublas.so.N to pick a cuBLAS)
//
// Writes the table to stdout and a TSV (one row per measurement) to the given path. Exits 1 if a product
// disagrees with cuBLAS beyond fp32 rounding (this doubles as a correctness check at sizes the tests cannot
// afford), never because of a speed.
#include <cuda_runtime.h>
#include <dlfcn.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "tensorloom.h"
#include "tensorloom_mpo.h"
#include "tensorloom_poincare.h"
#include "tensorloom_quant.h"

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
typedef cublasStatus_t (*cublasSgemv_t)(cublasHandle_t, int, int, int, const float *, const float *, int,
                                        const float *, int, const float *, float *, int);

struct Cublas {
    void *lib = nullptr;
    cublasHandle_t handle = nullptr;
    cublasCreate_t create = nullptr;
    cublasDestroy_t destroy = nullptr;
    cublasSetStream_t set_stream = nullptr;
    cublasSgemm_t sgemm = nullptr;
    cublasSgemv_t sgemv = nullptr;
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
        sgemv = (cublasSgemv_t)dlsym(lib, "cublasSgemv_v2");
        if (!create || !destroy || !set_stream || !sgemm || !sgemv || create(&handle) != 0) {
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
    // Row-major y[m] = A[m,k]·x: A is column-major Aᵀ [k,m], so y = (Aᵀ)ᵀ·x.
    void gemv(int m, int k, const float *A, const float *x, float *y) {
        const float alpha = 1.f, beta = 0.f;
        sgemv(handle, CUBLAS_OP_T, k, m, &alpha, A, k, x, 1, &beta, y, 1);
    }
};

// ---- timing --------------------------------------------------------------------------------------------
struct Timer {
    cudaStream_t stream;
    static constexpr int kSamples = 7;
    static constexpr double kSampleMs = 2.0;

    // Microseconds per call of f, as described at the top: N back-to-back calls between two events / N.
    double us_per_call(const std::function<void()> &f, int *calls_out = nullptr) const {
        cudaEvent_t a, b;
        CUDA_CHECK(cudaEventCreate(&a));
        CUDA_CHECK(cudaEventCreate(&b));
        auto sample = [&](int calls) {
            CUDA_CHECK(cudaEventRecord(a, stream));
            for (int i = 0; i < calls; ++i) f();
            CUDA_CHECK(cudaEventRecord(b, stream));
            CUDA_CHECK(cudaEventSynchronize(b));
            float ms = 0;
            CUDA_CHECK(cudaEventElapsedTime(&ms, a, b));
            return double(ms) / calls;
        };
        for (int i = 0; i < 3; ++i) f();  // warm-up: first-launch costs, caches, clocks
        CUDA_CHECK(cudaStreamSynchronize(stream));
        const double one = sample(1);  // an over-estimate (it includes a launch), so N errs short
        const int calls = int(std::clamp(kSampleMs / std::max(one, 1e-4), 1.0, 2000.0));
        std::vector<double> ms;
        for (int i = 0; i < kSamples; ++i) ms.push_back(sample(calls));
        CUDA_CHECK(cudaEventDestroy(a));
        CUDA_CHECK(cudaEventDestroy(b));
        std::sort(ms.begin(), ms.end());
        if (calls_out) *calls_out = calls;
        return 1000.0 * ms[ms.size() / 2];
    }
};

// One line of the table. `bytes` is what the kernel must move (0: not memory-bound, judged by FLOP/s);
// `flops` its arithmetic (0: none worth counting). The value is GB/s for a memory-bound kernel, TFLOP/s for a
// compute-bound one; cublas_us is cuBLAS's time for the same operation (NaN when there is none).
struct Row {
    std::string kernel, shape;
    double us;
    int calls;
    double bytes, flops, cublas_us;
};

std::vector<Row> g_rows;
std::vector<std::string> g_notes;
double g_copy_gbs = NAN;  // the copy's read + write traffic, GB/s
bool g_mismatch = false;

bool memory_bound(const Row &r) { return r.bytes > 0; }
double value_of(const Row &r, double us) { return memory_bound(r) ? r.bytes / us / 1e3 : r.flops / us / 1e6; }
const char *unit_of(const Row &r) { return memory_bound(r) ? "GB/s" : "TFLOP/s"; }

void add_row(const std::string &kernel, const std::string &shape, double us, int calls, double bytes, double flops,
             double cublas_us = NAN) {
    g_rows.push_back(Row{kernel, shape, us, calls, bytes, flops, cublas_us});
    std::printf("  measured %-30s %-18s %10.2f us/call (%d calls per sample)\n", kernel.c_str(), shape.c_str(), us,
                calls);
}

void print_table(const char *device) {
    std::printf("\n%s: copy (device to device, read + write) %.0f GB/s\n\n", device, g_copy_gbs);
    std::printf("%-30s %-18s %10s %10s %-7s %8s %10s %8s\n", "kernel", "shape", "us/call", "achieved", "unit",
                "% copy", "cuBLAS", "% cuBLAS");
    for (const Row &r : g_rows) {
        const double v = value_of(r, r.us);
        char copy_pct[16] = "-", cublas[16] = "-", cublas_pct[16] = "-";
        if (r.bytes > 0) std::snprintf(copy_pct, sizeof copy_pct, "%.1f", 100.0 * (r.bytes / r.us / 1e3) / g_copy_gbs);
        if (!std::isnan(r.cublas_us)) {
            std::snprintf(cublas, sizeof cublas, "%.2f", value_of(r, r.cublas_us));
            std::snprintf(cublas_pct, sizeof cublas_pct, "%.1f", 100.0 * r.cublas_us / r.us);
        }
        std::printf("%-30s %-18s %10.2f %10.2f %-7s %8s %10s %8s\n", r.kernel.c_str(), r.shape.c_str(), r.us, v,
                    unit_of(r), copy_pct, cublas, cublas_pct);
    }
    for (const std::string &n : g_notes) std::printf("%s\n", n.c_str());
}

void write_tsv(const char *path, const char *device) {
    FILE *f = std::fopen(path, "w");
    if (!f) {
        std::fprintf(stderr, "cannot write %s\n", path);
        std::exit(1);
    }
    std::fprintf(f, "device\tkernel\tshape\tus_per_call\tcalls_per_sample\tvalue\tunit\tpct_of_copy\tcublas_value"
                    "\tpct_of_cublas\n");
    for (const Row &r : g_rows) {
        std::fprintf(f, "%s\t%s\t%s\t%.3f\t%d\t%.3f\t%s\t", device, r.kernel.c_str(), r.shape.c_str(), r.us, r.calls,
                     value_of(r, r.us), unit_of(r));
        if (r.bytes > 0) std::fprintf(f, "%.1f", 100.0 * (r.bytes / r.us / 1e3) / g_copy_gbs);
        std::fprintf(f, "\t");
        if (!std::isnan(r.cublas_us)) std::fprintf(f, "%.3f\t%.1f", value_of(r, r.cublas_us), 100.0 * r.cublas_us / r.us);
        else std::fprintf(f, "\t");
        std::fprintf(f, "\n");
    }
    std::fclose(f);
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

// Compares a result with cuBLAS's: fp32 sums of k products differ by rounding of order k * 2^-24 * sum |a||b|;
// 1e-3 of the largest output is far above that and far below any indexing or race error.
void compare(tl_stream s, const char *what, tl_buffer got, tl_buffer want, size_t floats) {
    auto c = to_host(s, got, floats), r = to_host(s, want, floats);
    double worst = 0, largest = 0;
    for (size_t i = 0; i < floats; ++i) {
        worst = std::max(worst, std::fabs(double(c[i]) - r[i]));
        largest = std::max(largest, std::fabs(double(r[i])));
    }
    char line[160];
    const bool bad = !(worst <= 1e-3 * largest);
    std::snprintf(line, sizeof line, "%s against cuBLAS: max |diff| %.3g of max |C| %.3g%s", what, worst, largest,
                  bad ? "  MISMATCH" : "");
    g_notes.push_back(line);
    g_mismatch |= bad;
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
    std::printf("device: %s   library: %s\n", name, tl_library_variant());

    Cublas cublas;
    const bool have_cublas = cublas.load(cs);
    if (have_cublas)
        std::printf("cuBLAS: %s\n", cublas.from.c_str());
    else
        std::printf("cuBLAS not found (set TL_CUBLAS_PATH): no cuBLAS column\n");
    const Timer t{cs};
    int calls = 0;

    // ---- device copy: the bandwidth every kernel is compared with ----
    {
        const size_t bytes = size_t(512) << 20;
        tl_buffer a, b;
        TL_CHECK(tl_malloc(bytes, &a));
        TL_CHECK(tl_malloc(bytes, &b));
        TL_CHECK(tl_memset(s, a, 0, 1, bytes));
        const double us = t.us_per_call(
            [&] { CUDA_CHECK(cudaMemcpyAsync(dptr(b), dptr(a), bytes, cudaMemcpyDeviceToDevice, cs)); }, &calls);
        g_copy_gbs = 2.0 * bytes / us / 1e3;
        add_row("copy (D2D)", "512 MiB", us, calls, 2.0 * bytes, 0);
        TL_CHECK(tl_free(a));
        TL_CHECK(tl_free(b));
    }

    // ---- GEMM against cuBLAS Sgemm: square products (compute-bound) ----
    for (int trans = 0; trans < 2; ++trans) {
        for (int n : {1024, 2048, 4096}) {
            if (trans && n != 4096) continue;
            const size_t nn = size_t(n) * n;
            tl_buffer A = random_buffer(s, nn, 1), B = random_buffer(s, nn, 2), C, Cref;
            TL_CHECK(tl_malloc(nn * 4, &C));
            TL_CHECK(tl_malloc(nn * 4, &Cref));
            const char *kernel = trans ? "gemm_transposed_b" : "gemm";
            const double us = t.us_per_call([&] {
                if (trans)
                    TL_CHECK(tl_gemm_transposed_b(s, n, n, n, A, 0, n, B, 0, n, C, 0, n));
                else
                    TL_CHECK(tl_gemm(s, n, n, n, A, 0, n, B, 0, n, C, 0, n));
            }, &calls);
            double ref = NAN;
            if (have_cublas) {
                ref = t.us_per_call([&] { cublas.gemm(trans, n, n, n, dptr(A), dptr(B), dptr(Cref)); });
                compare(s, (std::string(kernel) + " " + shape({n, n, n})).c_str(), C, Cref, nn);
            }
            add_row(kernel, shape({n, n, n}), us, calls, 0, 2.0 * n * n * double(n), ref);
            for (tl_buffer b : {A, B, C, Cref}) TL_CHECK(tl_free(b));
        }
    }

    // ---- small-M GEMM (a batch of one 10-token sentence through MiniLM's projections): memory-bound ----
    {
        const int m = 10;
        const int shapes[][2] = {{384, 1152}, {384, 1536}, {1536, 384}};  // (k, n): QKV, FFN up, FFN down
        for (const auto &kn : shapes) {
            const int k = kn[0], n = kn[1];
            tl_buffer A = random_buffer(s, size_t(m) * k, 12), B = random_buffer(s, size_t(k) * n, 13), C, Cref;
            TL_CHECK(tl_malloc(size_t(m) * n * 4, &C));
            TL_CHECK(tl_malloc(size_t(m) * n * 4, &Cref));
            const double us = t.us_per_call([&] { TL_CHECK(tl_gemm(s, m, n, k, A, 0, k, B, 0, n, C, 0, n)); }, &calls);
            double ref = NAN;
            if (have_cublas) {
                ref = t.us_per_call([&] { cublas.gemm(false, m, n, k, dptr(A), dptr(B), dptr(Cref)); });
                compare(s, ("gemm " + shape({m, n, k})).c_str(), C, Cref, size_t(m) * n);
            }
            add_row("gemm (small M)", shape({m, n, k}), us, calls, 4.0 * (double(m) * k + double(k) * n + double(m) * n),
                    2.0 * m * n * double(k), ref);
            for (tl_buffer b : {A, B, C, Cref}) TL_CHECK(tl_free(b));
        }
    }

    // ---- GEMV against the copy and cuBLAS Sgemv; 8192² (256 MB) is the size that judges it, since 4096²
    // (64 MB) sits near an H200's L2 ----
    for (int n : {4096, 8192}) {
        const size_t nn = size_t(n) * n;
        tl_buffer A = random_buffer(s, nn, 3), x = random_buffer(s, n, 4), y, yref;
        TL_CHECK(tl_malloc(size_t(n) * 4, &y));
        TL_CHECK(tl_malloc(size_t(n) * 4, &yref));
        const double us = t.us_per_call([&] { TL_CHECK(tl_gemv(s, n, n, A, 0, n, x, 0, y, 0)); }, &calls);
        double ref = NAN;
        if (have_cublas) {
            ref = t.us_per_call([&] { cublas.gemv(n, n, dptr(A), dptr(x), dptr(yref)); });
            compare(s, ("gemv " + shape({n, n})).c_str(), y, yref, n);
        }
        const double bytes = 4.0 * (double(nn) + 2.0 * n);
        add_row("gemv", shape({n, n}), us, calls, bytes, 2.0 * double(nn), ref);
        if (n == 8192) {
            char line[160];
            std::snprintf(line, sizeof line, "gemv 8192x8192: %.1f%% of the copy's read + write bandwidth (bar: 70%%)",
                          100.0 * (bytes / us / 1e3) / g_copy_gbs);
            g_notes.push_back(line);
        }
        for (tl_buffer b : {A, x, y, yref}) TL_CHECK(tl_free(b));
    }

    // ---- dequantizing GEMV (the quant family) against the copy and the fp32 gemv above: 4-bit groups of 128 and
    // ggml's Q4_0 and Q8_0, weights read in their packed form; a batch of 32 through the 4-bit GEMM ----
    {
        const uint16_t scale = 0x2E66;  // fp16 0.1: every scale and block factor finite
        for (int n : {4096, 8192}) {
            const int k = n;
            const size_t codeBytes = size_t(n) * (k / 2), scaleCount = size_t(n) * (k / 128);
            std::vector<uint8_t> codes(codeBytes);
            std::mt19937 gen(31);
            for (uint8_t &b : codes) b = uint8_t(gen());
            std::vector<uint16_t> scales(scaleCount, scale);
            tl_buffer C, S, x = random_buffer(s, k, 32), y;
            TL_CHECK(tl_malloc(codeBytes, &C));
            TL_CHECK(tl_malloc(scaleCount * 2, &S));
            TL_CHECK(tl_malloc(size_t(n) * 4, &y));
            TL_CHECK(tl_copy_to_device(s, C, 0, codes.data(), codeBytes));
            TL_CHECK(tl_copy_to_device(s, S, 0, scales.data(), scaleCount * 2));
            double us = t.us_per_call([&] {
                TL_CHECK(tl_qgemv_group(s, n, k, 4, 128, 0, x, 0, C, 0, S, 0, nullptr, 0, y, 0));
            }, &calls);
            const double q4bytes = double(codeBytes) + 2.0 * scaleCount + 4.0 * (k + n);
            add_row("qgemv 4-bit g128", shape({n, k}), us, calls, q4bytes, 2.0 * double(n) * k);
            double fp32_us = NAN;
            for (const Row &r : g_rows)
                if (r.kernel == "gemv" && r.shape == shape({n, n})) fp32_us = r.us;
            if (n == 8192) {
                char line[160];
                std::snprintf(line, sizeof line, "qgemv 4-bit g128 %s: %.2fx the fp32 gemv's speed (weights 7.5x smaller)",
                              shape({n, k}).c_str(), fp32_us / us);
                g_notes.push_back(line);
            }
            for (const auto &[type, name, blockBytes] :
                 {std::tuple<int, const char *, int>{TL_GGML_Q4_0, "qgemv Q4_0", 18},
                  std::tuple<int, const char *, int>{TL_GGML_Q8_0, "qgemv Q8_0", 34}}) {
                const size_t blocks = size_t(n) * (k / 32), bytes = blocks * blockBytes;
                std::vector<uint8_t> host(bytes);
                for (size_t b = 0; b < blocks; ++b) {
                    uint8_t *block = host.data() + b * blockBytes;
                    std::memcpy(block, &scale, 2);
                    for (int i = 2; i < blockBytes; ++i) block[i] = uint8_t(gen());
                }
                tl_buffer B;
                TL_CHECK(tl_malloc(bytes, &B));
                TL_CHECK(tl_copy_to_device(s, B, 0, host.data(), bytes));
                const int ggml_type = type;  // a lambda cannot capture a structured binding before C++20
                us = t.us_per_call([&] { TL_CHECK(tl_qgemv_ggml(s, n, k, ggml_type, x, 0, B, 0, y, 0)); }, &calls);
                add_row(name, shape({n, k}), us, calls, double(bytes) + 4.0 * (k + n), 2.0 * double(n) * k);
                TL_CHECK(tl_free(B));
            }
            if (n == 4096) {
                const int m = 32;
                tl_buffer a = random_buffer(s, size_t(m) * k, 33), c;
                TL_CHECK(tl_malloc(size_t(m) * n * 4, &c));
                us = t.us_per_call([&] {
                    TL_CHECK(tl_qgemm_group(s, m, n, k, 4, 128, 0, a, 0, k, C, 0, S, 0, nullptr, 0, c, 0, n));
                }, &calls);
                add_row("qgemm 4-bit g128", shape({m, n, k}), us, calls,
                        double(codeBytes) + 2.0 * scaleCount + 4.0 * (double(m) * k + double(m) * n),
                        2.0 * m * double(n) * k);
                for (tl_buffer b : {a, c}) TL_CHECK(tl_free(b));
            }
            for (tl_buffer b : {C, S, x, y}) TL_CHECK(tl_free(b));
        }
    }

    // ---- the MPO direct product (the mpo family) at batch 1 against the fp32 gemv above: W 4096x4096 as four cores
    // of 8x8 digits with bonds (64, X, 64), X set for 10x and 100x fewer parameters. Two plans, one tl_mpo_step per
    // core, as the cuda backend runs them: the four cores swept left to right, and the cores merged in pairs (two
    // cores of 64x64 digits, bond X), which is what MpoGrouping.cheapest picks at these bonds (about 8x fewer
    // multiply-adds, about as many parameters) and so what the runtime sweeps ----
    for (const bool merged : {false, true}) {
        for (const int middle : {204, 20}) {
            const int cores = merged ? 2 : 4, digit = merged ? 64 : 8;
            const std::vector<int> bonds = merged ? std::vector<int>{1, middle, 1} : std::vector<int>{1, 64, middle, 64, 1};
            std::vector<tl_buffer> core(cores), state(cores);
            double params = 0, madds = 0;
            int64_t p = 1;  // the leading blocks: the column digits absorbed so far (batch 1)
            std::vector<std::array<int64_t, 4>> steps;  // blocks, r, s, q
            for (int k = 0; k < cores; ++k) {
                const size_t size = size_t(bonds[k]) * digit * digit * bonds[k + 1];
                params += double(size);
                core[k] = random_buffer(s, size, 40 + k, -0.1f, 0.1f);
                int64_t q = 1;
                for (int l = k + 1; l < cores; ++l) q *= digit;
                const int64_t r = int64_t(bonds[k]) * digit, sz = int64_t(digit) * bonds[k + 1];
                steps.push_back({p, r, sz, q});
                madds += double(p) * r * sz * q;
                TL_CHECK(tl_malloc(size_t(p * sz * q) * 4, &state[k]));
                p *= digit;
            }
            tl_buffer x = random_buffer(s, 4096, 44);
            const double us = t.us_per_call([&] {
                tl_buffer in = x;
                for (int k = 0; k < cores; ++k) {
                    const auto &[blocks, r, sz, q] = steps[k];
                    TL_CHECK(tl_mpo_step(s, 1, blocks, r, sz, q, core[k], 0, in, 0, blocks * r * q, state[k], 0,
                                         blocks * sz * q));
                    in = state[k];
                }
            }, &calls);
            const int ratio = int(std::lround(16777216.0 / params));
            const char *plan = merged ? "pairs merged" : "4 cores";
            char name[64];
            std::snprintf(name, sizeof name, "mpo direct %dx, %s", ratio, plan);
            add_row(name, "1x4096x4096", us, calls, 4.0 * (params + 2.0 * 4096), 2.0 * madds);
            double gemv_us = NAN;
            for (const Row &r : g_rows)
                if (r.kernel == "gemv" && r.shape == shape({4096, 4096})) gemv_us = r.us;
            char line[160];
            std::snprintf(line, sizeof line, "mpo direct 4096x4096 at %dx (%s, %.0fM multiply-adds): %.2fx the fp32 "
                          "gemv's speed", ratio, plan, madds / 1e6, gemv_us / us);
            g_notes.push_back(line);
            for (int k = 0; k < cores; ++k) {
                TL_CHECK(tl_free(core[k]));
                TL_CHECK(tl_free(state[k]));
            }
            TL_CHECK(tl_free(x));
        }
    }

    // ---- transformer layers at MiniLM-like shapes (hidden 384, 12 heads of 32, FFN 1536, seq 128) ----
    {
        const int batch = 32, seq = 128, hidden = 384, heads = 12, hd = 32, ffn = 1536;
        const int rows = batch * seq;
        const double f = 4.0;  // bytes per float
        tl_buffer x = random_buffer(s, size_t(rows) * ffn, 5, -3.f, 3.f);
        tl_buffer y = random_buffer(s, size_t(rows) * hidden, 6);
        tl_buffer g = random_buffer(s, hidden, 7, 0.5f, 1.5f), bvec = random_buffer(s, ffn, 8);
        double us;

        us = t.us_per_call([&] { TL_CHECK(tl_add_bias(s, rows, ffn, x, 0, ffn, bvec, 0)); }, &calls);
        add_row("add_bias", shape({rows, ffn}), us, calls, f * (2.0 * rows * ffn + ffn), 0);
        us = t.us_per_call([&] { TL_CHECK(tl_add(s, rows, hidden, x, 0, hidden, y, 0, hidden)); }, &calls);
        add_row("add", shape({rows, hidden}), us, calls, f * 3.0 * rows * hidden, 0);
        us = t.us_per_call([&] { TL_CHECK(tl_gelu(s, rows, ffn, x, 0, ffn)); }, &calls);
        add_row("gelu", shape({rows, ffn}), us, calls, f * 2.0 * rows * ffn, 0);
        us = t.us_per_call([&] { TL_CHECK(tl_layer_norm(s, rows, hidden, y, 0, hidden, g, 0, bvec, 0, 1e-12f)); }, &calls);
        add_row("layer_norm", shape({rows, hidden}), us, calls, f * (2.0 * rows * hidden + 2.0 * hidden), 0);
        // The epilogues, fused and as the unfused launches they replace (same bytes: what the math must move).
        us = t.us_per_call([&] { TL_CHECK(tl_add_bias_gelu(s, rows, ffn, x, 0, ffn, bvec, 0)); }, &calls);
        add_row("add_bias_gelu", shape({rows, ffn}), us, calls, f * (2.0 * rows * ffn + ffn), 0);
        us = t.us_per_call([&] {
            TL_CHECK(tl_add_bias(s, rows, ffn, x, 0, ffn, bvec, 0));
            TL_CHECK(tl_gelu(s, rows, ffn, x, 0, ffn));
        }, &calls);
        add_row("add_bias, gelu", shape({rows, ffn}), us, calls, f * (2.0 * rows * ffn + ffn), 0);
        us = t.us_per_call([&] {
            TL_CHECK(tl_add_bias_residual_layer_norm(s, rows, hidden, x, 0, hidden, bvec, 0, y, 0, hidden, g, 0, bvec, 0,
                                                     1e-12f));
        }, &calls);
        add_row("bias_residual_ln", shape({rows, hidden}), us, calls, f * (3.0 * rows * hidden + 3.0 * hidden), 0);
        us = t.us_per_call([&] {
            TL_CHECK(tl_add_bias(s, rows, hidden, x, 0, hidden, bvec, 0));
            TL_CHECK(tl_add(s, rows, hidden, x, 0, hidden, y, 0, hidden));
            TL_CHECK(tl_layer_norm(s, rows, hidden, x, 0, hidden, g, 0, bvec, 0, 1e-12f));
        }, &calls);
        add_row("bias, add, ln", shape({rows, hidden}), us, calls, f * (3.0 * rows * hidden + 3.0 * hidden), 0);
        const int srows = batch * heads * seq;
        tl_buffer scores = random_buffer(s, size_t(srows) * seq, 9, -5.f, 5.f);
        us = t.us_per_call([&] { TL_CHECK(tl_softmax_rows(s, srows, seq, scores, 0, seq)); }, &calls);
        add_row("softmax_rows", shape({srows, seq}), us, calls, f * 2.0 * srows * seq, 0);

        tl_buffer qkv = random_buffer(s, size_t(rows) * 3 * hidden, 10), out, mask;
        TL_CHECK(tl_malloc(size_t(rows) * hidden * 4, &out));
        std::vector<float> hm(rows, 1.f);
        for (int b = 0; b < batch; ++b)
            for (int tkn = seq - (b * 7) % (seq / 2); tkn < seq; ++tkn) hm[size_t(b) * seq + tkn] = 0.f;
        TL_CHECK(tl_malloc(size_t(rows) * 4, &mask));
        TL_CHECK(tl_copy_to_device(s, mask, 0, hm.data(), hm.size() * 4));
        us = t.us_per_call([&] {
            TL_CHECK(tl_attention(s, batch, seq, heads, hd, qkv, 0, 3 * hidden, qkv, hidden, 3 * hidden, qkv, 2 * hidden,
                                  3 * hidden, mask, 0, out, 0, hidden));
        }, &calls);
        add_row("attention", shape({batch, seq, heads, hd}), us, calls, 0, 4.0 * batch * heads * double(seq) * seq * hd);
        add_row("attention (traffic)", shape({batch, seq, heads, hd}), us, calls, f * (4.0 * rows * hidden + rows), 0);
        {
            // One long text, past the ~10k tokens the shared-memory score tile allowed at this head size.
            const int long_seq = 16384;
            tl_buffer lqkv = random_buffer(s, size_t(long_seq) * 3 * hidden, 12), lout, lmask;
            TL_CHECK(tl_malloc(size_t(long_seq) * hidden * 4, &lout));
            std::vector<float> ones(long_seq, 1.f);
            TL_CHECK(tl_malloc(size_t(long_seq) * 4, &lmask));
            TL_CHECK(tl_copy_to_device(s, lmask, 0, ones.data(), ones.size() * 4));
            us = t.us_per_call([&] {
                TL_CHECK(tl_attention(s, 1, long_seq, heads, hd, lqkv, 0, 3 * hidden, lqkv, hidden, 3 * hidden, lqkv,
                                      2 * hidden, 3 * hidden, lmask, 0, lout, 0, hidden));
            }, &calls);
            add_row("attention", shape({1, long_seq, heads, hd}), us, calls, 0,
                    4.0 * heads * double(long_seq) * long_seq * hd);
            for (tl_buffer b : {lqkv, lout, lmask}) TL_CHECK(tl_free(b));
        }

        std::vector<int32_t> ids(rows);
        for (int i = 0; i < rows; ++i) ids[i] = (i * 7919) % 30522;
        tl_buffer table = random_buffer(s, size_t(30522) * hidden, 11);
        us = t.us_per_call([&] { TL_CHECK(tl_gather_rows(s, rows, hidden, table, 0, hidden, 30522, ids.data(), y, 0, hidden)); },
                           &calls);
        add_row("gather_rows", shape({rows, hidden}), us, calls, f * (2.0 * rows * hidden + rows), 0);
        tl_buffer pooled;
        TL_CHECK(tl_malloc(size_t(batch) * hidden * 4, &pooled));
        us = t.us_per_call([&] { TL_CHECK(tl_mean_pool(s, batch, seq, hidden, y, 0, hidden, mask, 0, pooled, 0, hidden)); },
                           &calls);
        add_row("mean_pool", shape({batch, seq, hidden}), us, calls, f * (double(rows) * hidden + rows + batch * hidden), 0);
        us = t.us_per_call([&] { TL_CHECK(tl_l2_normalize_rows(s, rows, hidden, y, 0, hidden)); }, &calls);
        add_row("l2_normalize_rows", shape({rows, hidden}), us, calls, f * 2.0 * rows * hidden, 0);
        for (tl_buffer b : {x, y, g, bvec, scores, qkv, out, mask, table, pooled}) TL_CHECK(tl_free(b));
    }

    // ---- the Poincaré ball: row kernels against the copy (262,144 points of dimension 64, as PoincareBenchmark),
    // and the all-pairs distance (the Gram product, then its closed form in place) against the same GEMM alone ----
    {
        const int rows = 262144, dim = 64;
        const float c = 1.f;
        const double f = 4.0;
        const double n = double(rows) * dim;
        // Coordinates in ±0.05: norms about 0.23, well inside the unit ball.
        tl_buffer x = random_buffer(s, size_t(n), 21, -0.05f, 0.05f), y = random_buffer(s, size_t(n), 22, -0.05f, 0.05f);
        tl_buffer out, d;
        TL_CHECK(tl_malloc(size_t(n) * 4, &out));
        TL_CHECK(tl_malloc(size_t(rows) * 4, &d));
        double us;
        us = t.us_per_call([&] { TL_CHECK(tl_poincare_project(s, c, rows, dim, x, 0, dim, out, 0, dim)); }, &calls);
        add_row("poincare_project", shape({rows, dim}), us, calls, f * 2.0 * n, 0);
        us = t.us_per_call([&] { TL_CHECK(tl_poincare_mobius_add(s, c, rows, dim, x, 0, dim, y, 0, dim, out, 0, dim)); },
                           &calls);
        add_row("poincare_mobius_add", shape({rows, dim}), us, calls, f * 3.0 * n, 0);
        us = t.us_per_call([&] { TL_CHECK(tl_poincare_expmap0(s, c, rows, dim, x, 0, dim, out, 0, dim)); }, &calls);
        add_row("poincare_expmap0", shape({rows, dim}), us, calls, f * 2.0 * n, 0);
        us = t.us_per_call([&] { TL_CHECK(tl_poincare_logmap0(s, c, rows, dim, x, 0, dim, out, 0, dim)); }, &calls);
        add_row("poincare_logmap0", shape({rows, dim}), us, calls, f * 2.0 * n, 0);
        us = t.us_per_call([&] { TL_CHECK(tl_poincare_expmap(s, c, rows, dim, x, 0, dim, y, 0, dim, out, 0, dim)); },
                           &calls);
        add_row("poincare_expmap", shape({rows, dim}), us, calls, f * 3.0 * n, 0);
        us = t.us_per_call([&] { TL_CHECK(tl_poincare_logmap(s, c, rows, dim, x, 0, dim, y, 0, dim, out, 0, dim)); },
                           &calls);
        add_row("poincare_logmap", shape({rows, dim}), us, calls, f * 3.0 * n, 0);
        us = t.us_per_call([&] { TL_CHECK(tl_poincare_distance(s, c, rows, dim, x, 0, dim, y, 0, dim, d, 0)); }, &calls);
        add_row("poincare_distance", shape({rows, dim}), us, calls, f * (2.0 * n + rows), 0);

        const int points = 4096;
        tl_buffer P = random_buffer(s, size_t(points) * dim, 23, -0.05f, 0.05f), G;
        TL_CHECK(tl_malloc(size_t(points) * points * 4, &G));
        const double flops = 2.0 * points * double(points) * dim;
        const double gemm_us = t.us_per_call(
            [&] { TL_CHECK(tl_gemm_transposed_b(s, points, points, dim, P, 0, dim, P, 0, dim, G, 0, points)); }, &calls);
        add_row("gemm_transposed_b", shape({points, points, dim}), gemm_us, calls, 0, flops);
        us = t.us_per_call([&] {
            TL_CHECK(tl_gemm_transposed_b(s, points, points, dim, P, 0, dim, P, 0, dim, G, 0, points));
            TL_CHECK(tl_poincare_gram_to_distance(s, c, points, points, dim, P, 0, dim, P, 0, dim, G, 0, points));
        }, &calls);
        add_row("poincare all-pairs distance", shape({points, points, dim}), us, calls, 0, flops);
        char line[160];
        std::snprintf(line, sizeof line, "poincare all-pairs distance %s: %.1f%% of the GEMM's FLOP/s at that shape",
                      shape({points, points, dim}).c_str(), 100.0 * gemm_us / us);
        g_notes.push_back(line);
        for (tl_buffer b : {x, y, out, d, P, G}) TL_CHECK(tl_free(b));
    }

    // A fused epilogue against the launches it replaces, on the same shape: one pass over x instead of two or
    // three, so it must take less time than they do together.
    for (const auto &[fused, unfused] : {std::pair<std::string, std::string>{"add_bias_gelu", "add_bias, gelu"},
                                         std::pair<std::string, std::string>{"bias_residual_ln", "bias, add, ln"}}) {
        const Row *f = nullptr, *u = nullptr;
        for (const Row &r : g_rows) {
            if (r.kernel == fused) f = &r;
            if (r.kernel == unfused) u = &r;
        }
        if (f && u) {
            char line[160];
            std::snprintf(line, sizeof line, "%s %s: %.2f of the time of %s (bar: below 1)", fused.c_str(),
                          f->shape.c_str(), f->us / u->us, unfused.c_str());
            g_notes.push_back(line);
        }
    }
    for (const Row &r : g_rows)
        if (r.kernel == "gemm" && r.shape == "4096x4096x4096" && !std::isnan(r.cublas_us)) {
            char line[160];
            std::snprintf(line, sizeof line, "gemm 4096^3: %.1f%% of cuBLAS Sgemm (bar: 50%%)", 100.0 * r.cublas_us / r.us);
            g_notes.push_back(line);
        }
    if (have_cublas) cublas.destroy(cublas.handle);
    TL_CHECK(tl_stream_destroy(s));

    print_table(name);
    write_tsv(out_path, name);
    std::printf("\nwrote %s\n", out_path);
    if (g_mismatch) {
        std::fprintf(stderr, "a product disagrees with cuBLAS (MISMATCH above)\n");
        return 1;
    }
    return 0;
}
