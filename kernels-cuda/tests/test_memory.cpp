// Buffers, streams, copies and every error path of the ABI: bad handles, operands outside their buffer,
// negative sizes, out-of-memory, launch failures, and exact accounting of memory in use.
#include "test_util.h"

#include <cstdint>
#include <thread>

namespace {

void test_basics() {
    CHECK(std::strcmp(tl_status_name(TL_OK), "TL_OK") == 0, "status name");
    CHECK(std::strcmp(tl_status_name(TL_ERROR_OUT_OF_MEMORY), "TL_ERROR_OUT_OF_MEMORY") == 0, "status name");
    CHECK(tl_status_name((tl_status)99) != nullptr, "unknown status has a name");
    const char *v = tl_library_variant();
    CHECK(std::strcmp(v, "cuda") == 0 || std::strcmp(v, "emu") == 0, "variant %s", v);
    int32_t n = -1;
    OK(tl_device_count(&n));
    CHECK(n >= 1, "device count %d", n);
    OK(tl_set_device(0));
    char name[64];
    OK(tl_device_name(0, name, sizeof name));
    CHECK(name[0] != '\0', "device name is empty");
    char tiny[4];
    OK(tl_device_name(0, tiny, sizeof tiny));
    CHECK(std::strlen(tiny) <= 3, "device name not truncated");
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "tl_set_device", tl_set_device(n));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "tl_device_name", tl_device_name(-1, name, sizeof name));
}

void test_copies(tl_stream s) {
    tl_buffer a, b;
    OK(tl_malloc(1000, &a));
    OK(tl_malloc(1000, &b));
    uint64_t size = 0;
    OK(tl_buffer_size(a, &size));
    CHECK(size == 1000, "size %llu", (unsigned long long)size);
    void *p = nullptr;
    OK(tl_buffer_device_pointer(a, &p));
    CHECK(p != nullptr && (reinterpret_cast<uintptr_t>(p) & 255) == 0, "device pointer %p not 256-aligned", p);

    std::vector<unsigned char> src(1000), dst(1000, 0);
    for (int i = 0; i < 1000; ++i) src[i] = (unsigned char)(i * 31 + 7);
    OK(tl_copy_to_device(s, a, 0, src.data(), 1000));
    OK(tl_memset(s, b, 0, 0x1ab, 1000));  // low byte 0xab
    OK(tl_copy_on_device(s, b, 100, a, 13, 500));
    OK(tl_stream_synchronize(s));
    OK(tl_copy_to_host(s, dst.data(), b, 0, 1000));
    for (int i = 0; i < 1000; ++i) {
        const unsigned char want = i >= 100 && i < 600 ? src[i - 100 + 13] : 0xab;
        if (dst[i] != want) {
            CHECK(false, "byte %d = %d, want %d", i, dst[i], want);
            break;
        }
    }
    unsigned char one = 0;
    OK(tl_copy_to_host(s, &one, a, 999, 1));
    CHECK(one == src[999], "last byte");
    OK(tl_copy_to_device(s, a, 1000, src.data(), 0));  // empty range at the end is fine
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "1000", tl_copy_to_device(s, a, 1, src.data(), 1000));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "tl_copy_to_host", tl_copy_to_host(s, dst.data(), a, 999, 2));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "tl_copy_to_host", tl_copy_to_host(s, dst.data(), a, UINT64_MAX, 2));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "overlap", tl_copy_on_device(s, a, 0, a, 10, 20));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "tl_memset", tl_memset(s, a, 500, 0, 501));
    OK(tl_free(a));
    OK(tl_free(b));
}

void test_bad_handles(tl_stream s) {
    tl_buffer a;
    OK(tl_malloc(4096, &a));
    tl_buffer freed;
    OK(tl_malloc(64, &freed));
    OK(tl_free(freed));
    tl_buffer forged = reinterpret_cast<tl_buffer>(uintptr_t(0x1234560));
    tl_buffer forged_next = reinterpret_cast<tl_buffer>(reinterpret_cast<uintptr_t>(a) + 1);
    tl_stream dead;
    OK(tl_stream_create(&dead));
    OK(tl_stream_destroy(dead));
    tl_stream forged_stream = reinterpret_cast<tl_stream>(a);  // a buffer handle is not a stream
    uint64_t bytes;
    void *p;
    float host[16] = {0};

    for (tl_buffer bad : {(tl_buffer) nullptr, freed, forged, forged_next}) {
        EXPECT_STATUS(TL_ERROR_INVALID_HANDLE, "tl_free", tl_free(bad));
        EXPECT_STATUS(TL_ERROR_INVALID_HANDLE, "tl_buffer_size", tl_buffer_size(bad, &bytes));
        EXPECT_STATUS(TL_ERROR_INVALID_HANDLE, "tl_buffer_device_pointer", tl_buffer_device_pointer(bad, &p));
        EXPECT_STATUS(TL_ERROR_INVALID_HANDLE, "dest", tl_copy_to_device(s, bad, 0, host, 4));
        EXPECT_STATUS(TL_ERROR_INVALID_HANDLE, "source", tl_copy_to_host(s, host, bad, 0, 4));
        EXPECT_STATUS(TL_ERROR_INVALID_HANDLE, "source", tl_copy_on_device(s, a, 0, bad, 0, 4));
        EXPECT_STATUS(TL_ERROR_INVALID_HANDLE, "tl_memset", tl_memset(s, bad, 0, 0, 4));
        EXPECT_STATUS(TL_ERROR_INVALID_HANDLE, "B", tl_gemm(s, 2, 2, 2, a, 0, 2, bad, 0, 2, a, 0, 2));
        EXPECT_STATUS(TL_ERROR_INVALID_HANDLE, "C", tl_gemm_transposed_b(s, 2, 2, 2, a, 0, 2, a, 0, 2, bad, 0, 2));
        EXPECT_STATUS(TL_ERROR_INVALID_HANDLE, "x", tl_gemv(s, 2, 2, a, 0, 2, bad, 0, a, 0));
        EXPECT_STATUS(TL_ERROR_INVALID_HANDLE, "bias", tl_add_bias(s, 2, 2, a, 0, 2, bad, 0));
        EXPECT_STATUS(TL_ERROR_INVALID_HANDLE, "y", tl_add(s, 2, 2, a, 0, 2, bad, 0, 2));
        EXPECT_STATUS(TL_ERROR_INVALID_HANDLE, "gamma", tl_layer_norm(s, 2, 2, a, 0, 2, bad, 0, a, 0, 1e-5f));
        EXPECT_STATUS(TL_ERROR_INVALID_HANDLE, "tl_gelu", tl_gelu(s, 2, 2, bad, 0, 2));
        EXPECT_STATUS(TL_ERROR_INVALID_HANDLE, "tl_softmax_rows", tl_softmax_rows(s, 2, 2, bad, 0, 2));
        EXPECT_STATUS(TL_ERROR_INVALID_HANDLE, "mask",
                      tl_attention(s, 1, 2, 1, 2, a, 0, 2, a, 0, 2, a, 0, 2, bad, 0, a, 0, 2));
        const int32_t ids[2] = {0, 1};
        EXPECT_STATUS(TL_ERROR_INVALID_HANDLE, "table", tl_gather_rows(s, 2, 2, bad, 0, 2, 2, ids, a, 0, 2));
        EXPECT_STATUS(TL_ERROR_INVALID_HANDLE, "out", tl_mean_pool(s, 1, 2, 2, a, 0, 2, a, 0, bad, 0, 2));
        EXPECT_STATUS(TL_ERROR_INVALID_HANDLE, "tl_l2_normalize_rows", tl_l2_normalize_rows(s, 2, 2, bad, 0, 2));
    }
    for (tl_stream bad : {(tl_stream) nullptr, dead, forged_stream}) {
        EXPECT_STATUS(TL_ERROR_INVALID_HANDLE, "tl_stream_synchronize", tl_stream_synchronize(bad));
        EXPECT_STATUS(TL_ERROR_INVALID_HANDLE, "tl_stream_destroy", tl_stream_destroy(bad));
        EXPECT_STATUS(TL_ERROR_INVALID_HANDLE, "tl_stream_native", tl_stream_native(bad, &p));
        EXPECT_STATUS(TL_ERROR_INVALID_HANDLE, "stream", tl_copy_to_device(bad, a, 0, host, 4));
        EXPECT_STATUS(TL_ERROR_INVALID_HANDLE, "stream", tl_gemm(bad, 2, 2, 2, a, 0, 2, a, 0, 2, a, 0, 2));
        EXPECT_STATUS(TL_ERROR_INVALID_HANDLE, "stream", tl_launch_check(bad, 32));
    }
    // Zero-size work still validates its handles.
    EXPECT_STATUS(TL_ERROR_INVALID_HANDLE, "A", tl_gemm(s, 0, 0, 0, freed, 0, 0, a, 0, 0, a, 0, 0));
    OK(tl_free(a));
}

void test_bad_operands(tl_stream s) {
    tl_buffer a, big;
    OK(tl_malloc(4096, &a));
    OK(tl_malloc(64 * 64 * 4, &big));
    // The example message of the ABI's documentation.
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "tl_gemm: B extent [k=384, n=1152, ldb=1152] from offset 0 needs 1769472 bytes but buffer has 4096",
                  tl_gemm(s, 1, 1152, 384, big, 0, 384, a, 0, 1152, big, 0, 1152));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "A extent", tl_gemm(s, 32, 32, 32, a, 1, 32, big, 0, 32, big, 0, 32));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "C extent", tl_gemm(s, 17, 64, 16, a, 0, 16, big, 0, 64, a, 0, 64));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "lda = 3 is less than k = 4", tl_gemm(s, 2, 2, 4, a, 0, 3, a, 0, 2, a, 0, 2));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "m = -1", tl_gemm(s, -1, 2, 2, a, 0, 2, a, 0, 2, a, 0, 2));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "k = -5", tl_gemm_transposed_b(s, 2, 2, -5, a, 0, 2, a, 0, 2, a, 0, 2));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "overflows", tl_gemm(s, 2, 2, 2, a, UINT64_MAX - 1, 2, a, 0, 2, a, 0, 2));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "x extent", tl_gemv(s, 1, 1024, a, 0, 1024, a, 1, a, 0));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "y extent", tl_gemv(s, 1024, 1, a, 0, 1, a, 0, a, 1));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "bias extent", tl_add_bias(s, 2, 8, a, 0, 8, a, 1020));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "ldy", tl_add(s, 2, 8, a, 0, 8, a, 0, 7));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "rows = -2", tl_gelu(s, -2, 8, a, 0, 8));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "x extent", tl_softmax_rows(s, 1025, 1, a, 0, 1));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "epsilon", tl_layer_norm(s, 1, 4, a, 0, 4, a, 0, a, 0, -1.f));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "out extent",
                  tl_attention(s, 1, 16, 2, 32, big, 0, 64, big, 0, 64, big, 0, 64, a, 0, a, 1, 64));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "head_dim = -1",
                  tl_attention(s, 1, 16, 2, -1, big, 0, 64, big, 0, 64, big, 0, 64, a, 0, a, 0, 64));
    const int32_t ids[3] = {0, 1, 2};
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "ids[2] = 2", tl_gather_rows(s, 3, 4, a, 0, 4, 2, ids, a, 64, 4));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "ids is null", tl_gather_rows(s, 3, 4, a, 0, 4, 3, nullptr, a, 64, 4));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "mask extent", tl_mean_pool(s, 2, 600, 1, big, 0, 1, a, 0, big, 0, 1));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "cols = -1", tl_l2_normalize_rows(s, 1, -1, a, 0, 1));
    tl_buffer none = nullptr;
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "bytes = 0", tl_malloc(0, &none));
    CHECK(none == nullptr, "failed malloc left a handle");
    // Zero-size work is a no-op, even with operands that would not fit.
    OK(tl_gemm(s, 0, 5000, 5000, a, 0, 5000, a, 0, 5000, a, 0, 5000));
    OK(tl_gemv(s, 0, 5000, a, 0, 5000, a, 0, a, 0));
    OK(tl_softmax_rows(s, 7000, 0, a, 0, 0));
    OK(tl_attention(s, 0, 16, 2, 32, a, 0, 64, a, 0, 64, a, 0, 64, a, 0, a, 0, 64));
    OK(tl_gather_rows(s, 0, 4, a, 0, 4, 2, nullptr, a, 0, 4));
    OK(tl_stream_synchronize(s));
    OK(tl_free(a));
    OK(tl_free(big));
}

void test_out_of_memory_and_launch(tl_stream s) {
    tl_buffer huge = nullptr;
    EXPECT_STATUS(TL_ERROR_OUT_OF_MEMORY, "cudaErrorMemoryAllocation", tl_malloc(uint64_t(1) << 50, &huge));
    CHECK(huge == nullptr, "failed malloc left a handle");
    CHECK(std::strstr(tl_last_error(), "tl_malloc") != nullptr, "message names tl_malloc: %s", tl_last_error());
    // The context is still usable afterwards.
    tl_buffer ok;
    OK(tl_malloc(256, &ok));
    OK(tl_memset(s, ok, 0, 0, 256));
    OK(tl_stream_synchronize(s));
    OK(tl_free(ok));

    OK(tl_launch_check(s, 1));
    OK(tl_launch_check(s, 1024));
    // Too many threads per block: CUDA 12 and the emulation answer cudaErrorInvalidConfiguration, CUDA 13.0
    // (seen on an H200) cudaErrorInvalidValue; either way the launch fails and the message names the error.
    EXPECT_STATUS(TL_ERROR_LAUNCH_FAILED, nullptr, tl_launch_check(s, 2048));
    CHECK(std::strstr(tl_last_error(), "cudaErrorInvalidConfiguration") != nullptr ||
              std::strstr(tl_last_error(), "cudaErrorInvalidValue") != nullptr,
          "the message names the CUDA error: %s", tl_last_error());
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "threads_per_block", tl_launch_check(s, 0));
    OK(tl_stream_synchronize(s));  // a failed launch configuration is not sticky
    OK(tl_launch_check(s, 32));
}

void test_memory_accounting(tl_stream s) {
    uint64_t bytes0, bytes1;
    int64_t count0, count1;
    OK(tl_memory_in_use(&bytes0, &count0));
    std::vector<tl_buffer> live;
    uint64_t expect = 0;
    for (int i = 1; i <= 10; ++i) {
        tl_buffer b;
        OK(tl_malloc(uint64_t(i) * 1000 + 3, &b));
        expect += uint64_t(i) * 1000 + 3;
        live.push_back(b);
    }
    OK(tl_memory_in_use(&bytes1, &count1));
    CHECK(bytes1 - bytes0 == expect && count1 - count0 == 10, "in use grew by %llu bytes / %lld buffers, want %llu / 10",
          (unsigned long long)(bytes1 - bytes0), (long long)(count1 - count0), (unsigned long long)expect);
    for (auto b : live) OK(tl_free(b));
    // Many cycles, from several threads at once, with stale handles tried in between.
    std::vector<std::thread> threads;
    int thread_failures[4] = {0, 0, 0, 0};
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([t, &thread_failures] {
            for (int i = 0; i < 500; ++i) {
                tl_buffer b;
                if (tl_malloc(uint64_t(1 + (i * 37 + t) % 5000), &b) != TL_OK) ++thread_failures[t];
                if (tl_free(b) != TL_OK) ++thread_failures[t];
                if (tl_free(b) != TL_ERROR_INVALID_HANDLE) ++thread_failures[t];
            }
        });
    for (auto &th : threads) th.join();
    for (int t = 0; t < 4; ++t) CHECK(thread_failures[t] == 0, "thread %d: %d failures", t, thread_failures[t]);
    for (int i = 0; i < 20; ++i) {  // streams with grown scratch are released too
        tl_stream t;
        OK(tl_stream_create(&t));
        void *native = nullptr;
        OK(tl_stream_native(t, &native));
        OK(tl_stream_destroy(t));
    }
    OK(tl_memory_in_use(&bytes1, &count1));
    CHECK(bytes1 == bytes0 && count1 == count0, "in use %llu bytes / %lld buffers after cycles, started at %llu / %lld",
          (unsigned long long)bytes1, (long long)count1, (unsigned long long)bytes0, (long long)count0);
    (void)s;
}

}  // namespace

int main() {
    test_basics();
    tl_stream s;
    OK(tl_stream_create(&s));
    test_copies(s);
    test_bad_handles(s);
    test_bad_operands(s);
    test_out_of_memory_and_launch(s);
    test_memory_accounting(s);
    OK(tl_stream_destroy(s));
    CHECK(tl_last_error() != nullptr, "last error is never null");
    return finish("test_memory");
}
