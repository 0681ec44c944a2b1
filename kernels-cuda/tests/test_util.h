// Minimal helpers for the kernel tests: they talk to the library only through tensorloom.h.
#pragma once

#include "tensorloom.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

static int g_failures = 0;

#define CHECK(cond, ...)                                                              \
    do {                                                                              \
        if (!(cond)) {                                                                \
            std::fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond); \
            std::fprintf(stderr, __VA_ARGS__);                                        \
            std::fprintf(stderr, "\n");                                               \
            ++g_failures;                                                             \
        }                                                                             \
    } while (0)

// A call that must succeed; the test cannot go on if it does not.
#define OK(call)                                                                                     \
    do {                                                                                             \
        tl_status ok_status_ = (call);                                                               \
        if (ok_status_ != TL_OK) {                                                                   \
            std::fprintf(stderr, "%s:%d: %s returned %s: %s\n", __FILE__, __LINE__, #call,           \
                         tl_status_name(ok_status_), tl_last_error());                               \
            std::exit(1);                                                                            \
        }                                                                                            \
    } while (0)

// Whether `message` contains `needle`; a null needle asks for nothing. A function, not an expression in the
// macro below: there GCC 13 sees strstr(message, nullptr) in the branch a null needle never takes (-Wnonnull).
inline bool mentions(const char *message, const char *needle) {
    return needle == nullptr || std::strstr(message, needle) != nullptr;
}

// A call that must fail with `expected`, leaving a message that contains `needle` (if not null).
#define EXPECT_STATUS(expected, needle, call)                                                             \
    do {                                                                                                  \
        tl_status st_ = (call);                                                                           \
        const char *msg_ = tl_last_error();                                                               \
        CHECK(st_ == (expected), "%s returned %s, expected %s (message: %s)", #call, tl_status_name(st_), \
              tl_status_name(expected), msg_);                                                            \
        if (st_ == (expected))                                                                            \
            CHECK(mentions(msg_, (needle)), "message of %s lacks \"%s\": %s", #call,                      \
                  (needle) != nullptr ? (const char *)(needle) : "", msg_);                               \
    } while (0)

// Whether to run the sizes only a GPU can afford: on the GPU library, unless the test runs under
// compute-sanitizer (bench/gpu-check.sh sets TL_TEST_UNDER_SANITIZER=1), which slows a kernel down by orders of
// magnitude; the small sizes exercise the same code paths.
inline bool gpu_only_sizes() {
    const char *sanitizer = std::getenv("TL_TEST_UNDER_SANITIZER");
    return std::strcmp(tl_library_variant(), "cuda") == 0 && !(sanitizer && std::strcmp(sanitizer, "1") == 0);
}

inline std::vector<float> random_floats(size_t n, unsigned seed, float lo = -1.f, float hi = 1.f) {
    std::mt19937 gen(seed);
    std::uniform_real_distribution<float> dist(lo, hi);
    std::vector<float> v(n);
    for (auto &x : v) x = dist(gen);
    return v;
}

inline tl_buffer upload(tl_stream s, const std::vector<float> &host) {
    tl_buffer b = nullptr;
    OK(tl_malloc(host.size() * sizeof(float), &b));
    OK(tl_copy_to_device(s, b, 0, host.data(), host.size() * sizeof(float)));
    return b;
}

inline std::vector<float> download(tl_stream s, tl_buffer b, size_t n) {
    std::vector<float> host(n);
    OK(tl_stream_synchronize(s));
    OK(tl_copy_to_host(s, host.data(), b, 0, n * sizeof(float)));
    return host;
}

// |got - want| <= atol + rtol * scale, where scale bounds the magnitude of the terms that made `want`.
inline bool close(double got, double want, double scale, double rtol = 2e-5, double atol = 1e-6) {
    if (std::isnan(got) || std::isnan(want)) return std::isnan(got) && std::isnan(want);
    return std::fabs(got - want) <= atol + rtol * scale;
}

inline int finish(const char *name) {
    if (g_failures) {
        std::fprintf(stderr, "%s: %d check(s) failed\n", name, g_failures);
        return 1;
    }
    std::printf("%s: all checks passed (%s)\n", name, tl_library_variant());
    return 0;
}

// Every element outside the operand's [rows, cols] view must keep its sentinel value.
inline int count_changed_outside(const std::vector<float> &got, const std::vector<float> &before, uint64_t offset,
                                 int64_t rows, int64_t cols, int64_t ld) {
    int changed = 0;
    for (size_t e = 0; e < got.size(); ++e) {
        bool inside = false;
        if (e >= offset) {
            const uint64_t rel = e - offset;
            const int64_t r = int64_t(rel / uint64_t(ld)), c = int64_t(rel % uint64_t(ld));
            inside = r < rows && c < cols;
        }
        if (!inside && std::memcmp(&got[e], &before[e], sizeof(float)) != 0) ++changed;
    }
    return changed;
}
