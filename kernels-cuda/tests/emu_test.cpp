// Tests of the CUDA-on-CPU emulation itself (kernels-cuda/emu), written as CUDA kernels through cuda_compat.h
// like the real ones. Each test is built so that the emulation bug it is named after gives wrong answers:
// without a real __syncthreads the shared-memory tests read values not yet written, a shuffle that takes the
// wrong lane or skips the warp barrier fails the lane-by-lane comparison, and so on.
//
// Usage: emu_test            runs everything, prints each failure, exits 1 if any
//        emu_test --bench    also measures barrier and block throughput with more rounds
//        emu_test --child M  (internal) runs misuse M, which must abort the process
#include "cuda_compat.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

int g_failures = 0;

#define CHECK(condition, ...)                                                                                   \
    do {                                                                                                        \
        if (!(condition)) {                                                                                     \
            ++g_failures;                                                                                       \
            std::printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #condition);                                    \
            std::printf(__VA_ARGS__);                                                                           \
            std::printf("\n");                                                                                  \
        }                                                                                                       \
    } while (0)

#define CUDA_OK(call)                                                                                           \
    do {                                                                                                        \
        const cudaError_t e_ = (call);                                                                          \
        CHECK(e_ == cudaSuccess, "%s returned %s", #call, cudaGetErrorName(e_));                                \
    } while (0)

// Device memory holding a copy of `values`.
template <class T> T *to_device(const std::vector<T> &values) {
    void *p = nullptr;
    CUDA_OK(cudaMalloc(&p, values.size() * sizeof(T)));
    CUDA_OK(cudaMemcpy(p, values.data(), values.size() * sizeof(T), cudaMemcpyHostToDevice));
    return static_cast<T *>(p);
}

template <class T> std::vector<T> to_host(const T *device, std::size_t count) {
    std::vector<T> values(count);
    CUDA_OK(cudaMemcpy(values.data(), device, count * sizeof(T), cudaMemcpyDeviceToHost));
    return values;
}

// Checks that the last launch ran: no error recorded.
void check_launched(const char *what) {
    const cudaError_t e = cudaGetLastError();
    CHECK(e == cudaSuccess, "launching %s: %s", what, cudaGetErrorName(e));
}

// ---- barriers ----------------------------------------------------------------------------------------------

constexpr int kBlock = 256;

// Every round each thread publishes its value and takes its mirror image's. Both barriers matter: without the
// first a thread reads a slot its mirror has not written yet, without the second a fast thread overwrites its
// slot before its mirror has read it.
__global__ void mirror_through_shared(const int *in, int *out, int rounds) {
    __shared__ int slots[kBlock];
    const int t = threadIdx.x;
    int value = in[blockIdx.x * kBlock + t];
    for (int round = 0; round < rounds; ++round) {
        slots[t] = value;
        __syncthreads();
        value = slots[kBlock - 1 - t] + 1;
        __syncthreads();
    }
    out[blockIdx.x * kBlock + t] = value;
}

// The classic tree reduction: a barrier between the levels.
__global__ void block_sum(const float *in, float *out) {
    __shared__ float partial[kBlock];
    const int t = threadIdx.x;
    partial[t] = in[blockIdx.x * kBlock + t];
    __syncthreads();
    for (int stride = kBlock / 2; stride > 0; stride /= 2) {
        if (t < stride) partial[t] += partial[t + stride];
        __syncthreads();
    }
    if (t == 0) out[blockIdx.x] = partial[0];
}

void test_barriers() {
    constexpr int blocks = 8, rounds = 9;
    std::vector<int> in(blocks * kBlock);
    for (std::size_t i = 0; i < in.size(); ++i) in[i] = static_cast<int>(i * 7 + 1);
    int *d_in = to_device(in);
    int *d_out = to_device(std::vector<int>(in.size(), 0));
    TL_LAUNCH(mirror_through_shared, blocks, kBlock, 0, nullptr, d_in, d_out, rounds);
    check_launched("mirror_through_shared");
    const std::vector<int> out = to_host(d_out, in.size());
    int wrong = 0;
    for (int b = 0; b < blocks; ++b)
        for (int t = 0; t < kBlock; ++t) {
            const int source = rounds % 2 == 0 ? t : kBlock - 1 - t;
            wrong += out[b * kBlock + t] != in[b * kBlock + source] + rounds;
        }
    CHECK(wrong == 0, "mirror through shared memory: %d of %zu threads got a wrong value", wrong, in.size());

    std::vector<float> values(blocks * kBlock);
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i % 1000);
    float *d_values = to_device(values);
    float *d_sums = to_device(std::vector<float>(blocks, 0.0f));
    TL_LAUNCH(block_sum, blocks, kBlock, 0, nullptr, d_values, d_sums);
    check_launched("block_sum");
    const std::vector<float> sums = to_host(d_sums, blocks);
    for (int b = 0; b < blocks; ++b) {
        double expected = 0;
        for (int t = 0; t < kBlock; ++t) expected += values[b * kBlock + t];
        CHECK(sums[b] == static_cast<float>(expected), "block_sum of block %d: %g, expected %g", b, sums[b], expected);
    }
    CUDA_OK(cudaFree(d_in));
    CUDA_OK(cudaFree(d_out));
    CUDA_OK(cudaFree(d_values));
    CUDA_OK(cudaFree(d_sums));
}

// ---- shared memory is per block ------------------------------------------------------------------------------

// Every thread stamps its block on a shared slot, then checks them all: a block running at the same time as
// another, or sharing its memory, would see a foreign stamp.
__global__ void stamp_shared(int *foreign_stamps) {
    __shared__ int stamps[64];
    stamps[threadIdx.x] = static_cast<int>(blockIdx.x);
    __syncthreads();
    for (int i = 0; i < 64; ++i)
        if (stamps[i] != static_cast<int>(blockIdx.x)) atomicAdd(foreign_stamps, 1);
}

// Dynamic shared memory must be 16-byte aligned, fresh (0xFF-filled) in every block and shared by its threads.
__global__ void use_dynamic_shared(int words, int *poisoned_words, int *misaligned, unsigned *out) {
    TL_DYNAMIC_SHARED(unsigned, scratch);
    if (reinterpret_cast<std::uintptr_t>(scratch) % 16 != 0) atomicAdd(misaligned, 1);
    for (int i = threadIdx.x; i < words; i += blockDim.x)
        if (scratch[i] == 0xFFFFFFFFu) atomicAdd(poisoned_words, 1);
    __syncthreads();
    for (int i = threadIdx.x; i < words; i += blockDim.x) scratch[i] = blockIdx.x * 100000u + i;
    __syncthreads();
    for (int i = threadIdx.x; i < words; i += blockDim.x) out[blockIdx.x * words + i] = scratch[(i + 1) % words];
}

// Thread 0 fills a shared word that every thread then reads, with the barrier between them left out.
__global__ void read_without_barrier(int *stale) {
    __shared__ int word;
    if (threadIdx.x == 0) word = 7;
    if (word != 7) atomicAdd(stale, 1);
}

void test_shared_memory() {
    constexpr int blocks = 32;
    int *d_foreign = to_device(std::vector<int>{0});
    TL_LAUNCH(stamp_shared, blocks, 64, 0, nullptr, d_foreign);
    check_launched("stamp_shared");
    const int foreign = to_host(d_foreign, 1)[0];
    CHECK(foreign == 0, "%d reads of __shared__ memory saw another block's stamp", foreign);

    // A missing barrier shows on every run, not by chance: thread i runs on worker i % workers (one per core, at
    // least two), whose first pass over its threads runs them from the highest index down, so the readers that
    // share thread 0's worker read before it writes.
    const unsigned workers = std::clamp(std::thread::hardware_concurrency(), 2u, 64u);
    int *d_stale = to_device(std::vector<int>{0});
    TL_LAUNCH(read_without_barrier, 1, 1024, 0, nullptr, d_stale);
    check_launched("read_without_barrier");
    const int stale = to_host(d_stale, 1)[0];
    CHECK(stale >= static_cast<int>(1023 / workers), "only %d of 1023 threads read the shared word before thread 0 "
          "wrote it (%u workers)", stale, workers);
    CUDA_OK(cudaFree(d_stale));

    constexpr int words = 1000;
    int *d_counters = to_device(std::vector<int>{0, 0});
    unsigned *d_out = to_device(std::vector<unsigned>(blocks * words, 0));
    TL_LAUNCH(use_dynamic_shared, blocks, 96, words * sizeof(unsigned), nullptr, words, d_counters, d_counters + 1,
              d_out);
    check_launched("use_dynamic_shared");
    const std::vector<int> counters = to_host(d_counters, 2);
    CHECK(counters[0] == blocks * words, "%d of %d dynamic shared words were 0xFF-filled when their block started",
          counters[0], blocks * words);
    CHECK(counters[1] == 0, "dynamic shared memory was not 16-byte aligned in %d threads", counters[1]);
    const std::vector<unsigned> out = to_host(d_out, blocks * words);
    int wrong = 0;
    for (int b = 0; b < blocks; ++b)
        for (int i = 0; i < words; ++i) wrong += out[b * words + i] != b * 100000u + (i + 1) % words;
    CHECK(wrong == 0, "%d values read back from dynamic shared memory were wrong", wrong);
    CUDA_OK(cudaFree(d_foreign));
    CUDA_OK(cudaFree(d_counters));
    CUDA_OK(cudaFree(d_out));
}

// ---- warp shuffles and votes ---------------------------------------------------------------------------------

constexpr int kDeltas[] = {1, 3, 16};
constexpr int kSources[] = {0, 5, 31, 37}; // 37: taken modulo the width
constexpr int kWidths[] = {32, 16, 8, 4};
constexpr int kPerWidth = 5 + 3 + 3 + 4;
constexpr int kVotes = 6;
constexpr int kCases = 4 * kPerWidth + kVotes + 3;

int lane_value(int linear) { return 1000 + linear * 7; }

// Every lane records what every shuffle and vote gave it; the host compares lane by lane.
__global__ void warp_operations(int *out) {
    const int linear = threadIdx.x + threadIdx.y * blockDim.x + threadIdx.z * blockDim.x * blockDim.y;
    const int v = 1000 + linear * 7;
    int *mine = out + linear * kCases;
    int c = 0;
    for (int width : kWidths) {
        for (int mask = 1; mask <= 16; mask *= 2) mine[c++] = __shfl_xor_sync(0xffffffffu, v, mask, width);
        for (int delta : kDeltas) mine[c++] = __shfl_down_sync(0xffffffffu, v, delta, width);
        for (int delta : kDeltas) mine[c++] = __shfl_up_sync(0xffffffffu, v, delta, width);
        for (int source : kSources) mine[c++] = __shfl_sync(0xffffffffu, v, source, width);
    }
    mine[c++] = static_cast<int>(__ballot_sync(0xffffffffu, linear % 3 == 0));
    mine[c++] = __any_sync(0xffffffffu, linear >= 40);
    mine[c++] = __any_sync(0xffffffffu, 0);
    mine[c++] = __all_sync(0xffffffffu, linear < 1000);
    mine[c++] = __all_sync(0xffffffffu, linear % 2 == 0);
    mine[c++] = static_cast<int>(__activemask());
    // Other types: a float and an 8-byte value, and the usual reduction.
    mine[c++] = static_cast<int>(__shfl_xor_sync(0xffffffffu, static_cast<float>(v) + 0.5f, 1) - 0.5f);
    mine[c++] = static_cast<int>(__shfl_down_sync(0xffffffffu, std::int64_t{v} << 32, 2) >> 32);
    int sum = v;
    for (int offset = 16; offset > 0; offset /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, offset);
    mine[c++] = sum;
}

// What CUDA gives lane `lane` of a warp with `lanes` lanes whose first thread is `base`, case by case, from the
// CUDA Programming Guide's definitions. A source lane that does not exist gives the caller's own value.
std::vector<int> expected_warp_results(int base, int lanes, int lane) {
    const auto value = [&](int source) { return lane_value(base + (source < lanes ? source : lane)); };
    std::vector<int> r;
    for (int w : kWidths) {
        const int segment_start = lane & ~(w - 1), segment_end = segment_start + w - 1;
        for (int mask = 1; mask <= 16; mask *= 2) r.push_back(value((lane ^ mask) <= segment_end ? lane ^ mask : lane));
        for (int d : kDeltas) r.push_back(value(lane + d <= segment_end ? lane + d : lane));
        for (int d : kDeltas) r.push_back(value(lane - d >= segment_start ? lane - d : lane));
        for (int s : kSources) r.push_back(value(segment_start + s % w));
    }
    unsigned ballot = 0, all_lanes = 0;
    bool any_from_40 = false, all_even = true;
    for (int l = 0; l < lanes; ++l) {
        all_lanes |= 1u << l;
        if ((base + l) % 3 == 0) ballot |= 1u << l;
        any_from_40 |= base + l >= 40;
        all_even &= (base + l) % 2 == 0;
    }
    r.insert(r.end(), {static_cast<int>(ballot), any_from_40, 0, 1, all_even, static_cast<int>(all_lanes)});
    r.push_back(value(lane ^ 1));
    r.push_back(value(lane + 2 < 32 ? lane + 2 : lane));
    int sum = 0;
    for (int l = 0; l < lanes; ++l) sum += lane_value(base + l);
    // Lanes of a partial warp whose butterfly partner does not exist add their own value instead.
    if (lanes < 32) {
        std::vector<int> partial(32);
        for (int l = 0; l < 32; ++l) partial[l] = l < lanes ? lane_value(base + l) : 0;
        for (int offset = 16; offset > 0; offset /= 2) {
            std::vector<int> next = partial;
            for (int l = 0; l < lanes; ++l) next[l] += (l ^ offset) < lanes ? partial[l ^ offset] : partial[l];
            partial = next;
        }
        sum = partial[lane];
    }
    r.push_back(sum);
    return r;
}

void check_warp_operations(dim3 block) {
    const int threads = static_cast<int>(block.x * block.y * block.z);
    int *d_out = to_device(std::vector<int>(threads * kCases, -1));
    TL_LAUNCH(warp_operations, 1, block, 0, nullptr, d_out);
    check_launched("warp_operations");
    const std::vector<int> out = to_host(d_out, threads * kCases);
    for (int t = 0; t < threads; ++t) {
        const int base = t / 32 * 32, lanes = std::min(32, threads - base);
        const std::vector<int> expected = expected_warp_results(base, lanes, t - base);
        for (int c = 0; c < kCases; ++c)
            CHECK(out[t * kCases + c] == expected[c], "block (%u,%u,%u), thread %d, case %d: got %d, expected %d",
                  block.x, block.y, block.z, t, c, out[t * kCases + c], expected[c]);
    }
    CUDA_OK(cudaFree(d_out));
}

void test_warp_operations() {
    // A few cases spelled out, so the reference above cannot share a mistake with the emulation.
    const std::vector<int> lane5 = expected_warp_results(0, 32, 5);
    CHECK(lane5[2] == lane_value(1), "width 32: lane 5 xor 4 reads lane 1");
    CHECK(lane5[kPerWidth + 4] == lane_value(5), "width 16: lane 5 xor 16 would leave its segment: own value");
    const std::vector<int> lane20 = expected_warp_results(0, 32, 20);
    CHECK(lane20[kPerWidth + 4] == lane_value(4), "width 16: lane 20 xor 16 may read the earlier segment");
    CHECK(lane20[2 * kPerWidth + 5] == lane_value(21), "width 8: lane 20 down 1 reads lane 21");
    CHECK(lane20[2 * kPerWidth + 6] == lane_value(23), "width 8: lane 20 down 3 reads 23, the segment's last");
    CHECK(lane20[2 * kPerWidth + 7] == lane_value(20), "width 8: lane 20 down 16 would leave its segment");
    CHECK(lane20[3 * kPerWidth + 14] == lane_value(21), "width 4: lane 20 reads source 37 as 20 + 37 %% 4");

    check_warp_operations(dim3(64));        // two full warps
    check_warp_operations(dim3(48));        // a full warp and one of 16 lanes
    check_warp_operations(dim3(4, 3, 4));   // 48 threads in 3-D: warps follow the linear thread index
}

// ---- atomics -------------------------------------------------------------------------------------------------

struct Counters {
    int add_int;
    unsigned add_unsigned;
    unsigned long long add_ull;
    float add_float;
    int max_int;
    int min_int;
    unsigned max_unsigned;
    unsigned min_unsigned;
    int cas_counter;
    unsigned long long cas_ull;
    int exchanged;
    unsigned long long exchanged_sum; // of the values atomicExch returned
};

__global__ void hammer_atomics(Counters *c) {
    const int g = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
    atomicAdd(&c->add_int, 1);
    atomicAdd(&c->add_unsigned, 2u);
    atomicAdd(&c->add_ull, 1ull << 33);
    atomicAdd(&c->add_float, 1.0f);
    atomicMax(&c->max_int, g);
    atomicMin(&c->min_int, -g);
    atomicMax(&c->max_unsigned, static_cast<unsigned>(g) * 3u);
    atomicMin(&c->min_unsigned, static_cast<unsigned>(g) + 5u);
    for (int old = atomicAdd(&c->cas_counter, 0);;) { // an increment made of compare-and-swap
        const int seen = atomicCAS(&c->cas_counter, old, old + 1);
        if (seen == old) break;
        old = seen;
    }
    for (unsigned long long old = atomicAdd(&c->cas_ull, 0ull);;) {
        const unsigned long long seen = atomicCAS(&c->cas_ull, old, old + 3);
        if (seen == old) break;
        old = seen;
    }
    atomicAdd(&c->exchanged_sum, static_cast<unsigned long long>(atomicExch(&c->exchanged, g + 1)));
}

void test_atomics() {
    constexpr int blocks = 64, threads = blocks * kBlock;
    Counters start{};
    start.min_int = 1 << 30;
    start.min_unsigned = 1u << 30;
    Counters *d = to_device(std::vector<Counters>{start});
    TL_LAUNCH(hammer_atomics, blocks, kBlock, 0, nullptr, d);
    check_launched("hammer_atomics");
    const Counters c = to_host(d, 1)[0];
    CHECK(c.add_int == threads, "atomicAdd(int): %d, expected %d", c.add_int, threads);
    CHECK(c.add_unsigned == 2u * threads, "atomicAdd(unsigned): %u", c.add_unsigned);
    CHECK(c.add_ull == (1ull << 33) * threads, "atomicAdd(unsigned long long): %llu", c.add_ull);
    CHECK(c.add_float == static_cast<float>(threads), "atomicAdd(float): %g", c.add_float);
    CHECK(c.max_int == threads - 1, "atomicMax(int): %d", c.max_int);
    CHECK(c.min_int == -(threads - 1), "atomicMin(int): %d", c.min_int);
    CHECK(c.max_unsigned == 3u * (threads - 1), "atomicMax(unsigned): %u", c.max_unsigned);
    CHECK(c.min_unsigned == 5u, "atomicMin(unsigned): %u", c.min_unsigned);
    CHECK(c.cas_counter == threads, "atomicCAS(int) increments: %d", c.cas_counter);
    CHECK(c.cas_ull == 3ull * threads, "atomicCAS(unsigned long long) increments: %llu", c.cas_ull);
    // Every value stored by atomicExch is returned by exactly one later exchange, except the one left at the end.
    const unsigned long long all = static_cast<unsigned long long>(threads) * (threads + 1) / 2;
    CHECK(c.exchanged_sum + static_cast<unsigned long long>(c.exchanged) == all,
          "atomicExch lost or duplicated a value: %llu + %d != %llu", c.exchanged_sum, c.exchanged, all);
    CUDA_OK(cudaFree(d));
}

// ---- 3-D grids and blocks --------------------------------------------------------------------------------------

__global__ void record_indices(unsigned *out) {
    const unsigned block = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
    const unsigned thread = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
    unsigned *r = out + (block * blockDim.x * blockDim.y * blockDim.z + thread) * 13;
    const dim3 grid = gridDim, size = blockDim;
    const unsigned fields[13] = {threadIdx.x, threadIdx.y, threadIdx.z, blockIdx.x, blockIdx.y, blockIdx.z,
                                 size.x,      size.y,      size.z,      grid.x,     grid.y,     grid.z,     1};
    for (int i = 0; i < 13; ++i) r[i] += fields[i]; // += : a thread run twice shows
}

void test_3d() {
    const dim3 grid(3, 2, 2), block(4, 3, 2);
    const int total = 12 * 24;
    unsigned *d = to_device(std::vector<unsigned>(total * 13, 0));
    TL_LAUNCH(record_indices, grid, block, 0, nullptr, d);
    check_launched("record_indices");
    const std::vector<unsigned> out = to_host(d, total * 13);
    int wrong = 0;
    for (unsigned bz = 0; bz < 2; ++bz)
        for (unsigned by = 0; by < 2; ++by)
            for (unsigned bx = 0; bx < 3; ++bx)
                for (unsigned tz = 0; tz < 2; ++tz)
                    for (unsigned ty = 0; ty < 3; ++ty)
                        for (unsigned tx = 0; tx < 4; ++tx) {
                            const unsigned id = (bx + 3 * (by + 2 * bz)) * 24 + tx + 4 * (ty + 3 * tz);
                            const unsigned expected[13] = {tx, ty, tz, bx, by, bz, 4, 3, 2, 3, 2, 2, 1};
                            wrong += std::memcmp(&out[id * 13], expected, sizeof expected) != 0;
                        }
    CHECK(wrong == 0, "%d of %d threads of a 3-D launch saw wrong indices or ran other than once", wrong, total);
    CUDA_OK(cudaFree(d));
}

// ---- launch configuration and the runtime API ------------------------------------------------------------------

__global__ void set_flag(int *flag) {
    if (threadIdx.x == 0 && blockIdx.x == 0) *flag = 1;
}

void test_invalid_launches() {
    int *d_flag = to_device(std::vector<int>{0});
    struct Config {
        dim3 grid, block;
        std::size_t shared;
        const char *why;
    };
    const Config bad[] = {
        {1, 1025, 0, "1025 threads"},        {1, dim3(32, 32, 2), 0, "2048 threads"},
        {1, dim3(1, 1, 65), 0, "block.z 65"}, {0, 32, 0, "grid.x 0"},
        {dim3(1, 65536), 32, 0, "grid.y 65536"}, {dim3(1, 1, 65536), 32, 0, "grid.z 65536"},
        {1, dim3(0, 1, 1), 0, "block.x 0"},
    };
    for (const Config &c : bad) {
        TL_LAUNCH(set_flag, c.grid, c.block, c.shared, nullptr, d_flag);
        CHECK(cudaPeekAtLastError() == cudaErrorInvalidConfiguration, "%s: peek gave %s", c.why,
              cudaGetErrorName(cudaPeekAtLastError()));
        const cudaError_t e = cudaGetLastError();
        CHECK(e == cudaErrorInvalidConfiguration, "%s: %s instead of cudaErrorInvalidConfiguration", c.why,
              cudaGetErrorName(e));
        CHECK(cudaGetLastError() == cudaSuccess, "%s: cudaGetLastError did not clear the error", c.why);
    }
    CHECK(to_host(d_flag, 1)[0] == 0, "an invalid launch ran its kernel");
    TL_LAUNCH(set_flag, dim3(1, 1, 1), dim3(1024), 48 * 1024, nullptr, d_flag); // the largest without opting in
    check_launched("set_flag with 1024 threads and 48 KiB");
    CHECK(to_host(d_flag, 1)[0] == 1, "a valid launch did not run");

    cudaStream_t stream = nullptr;
    CUDA_OK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    TL_LAUNCH(set_flag, 1, 1, 0, stream, d_flag);
    check_launched("set_flag on a stream");
    CUDA_OK(cudaStreamSynchronize(stream));
    CUDA_OK(cudaStreamDestroy(stream));
    TL_LAUNCH(set_flag, 1, 1, 0, stream, d_flag);
    CHECK(cudaGetLastError() == cudaErrorInvalidResourceHandle, "a launch on a destroyed stream");
    CUDA_OK(cudaFree(d_flag));
}

// Writes every byte of the dynamic shared memory it was given and counts them.
__global__ void fill_dynamic_shared(int bytes, int *written) {
    TL_DYNAMIC_SHARED(unsigned char, shared);
    for (int i = threadIdx.x; i < bytes; i += blockDim.x) shared[i] = 1;
    __syncthreads();
    if (threadIdx.x == 0) {
        int sum = 0;
        for (int i = 0; i < bytes; ++i) sum += shared[i];
        *written = sum;
    }
}

__global__ void other_kernel(int bytes, int *written) { fill_dynamic_shared(bytes, written); }

// As on a GPU: 48 KiB of dynamic shared memory without opting in, more only for the kernel that called
// cudaFuncSetAttribute, never more than the device's opt-in maximum; a refused launch is cudaErrorInvalidValue
// and runs nothing.
void test_dynamic_shared_limit() {
    int *d_written = to_device(std::vector<int>{0});
    const int over = 48 * 1024 + 16, big = 100 * 1024;
    TL_LAUNCH(fill_dynamic_shared, 1, 256, over, nullptr, over, d_written);
    cudaError_t e = cudaGetLastError();
    CHECK(e == cudaErrorInvalidValue, "48 KiB + 16 without opting in: %s instead of cudaErrorInvalidValue",
          cudaGetErrorName(e));
    CHECK(to_host(d_written, 1)[0] == 0, "a launch refused for its shared memory ran");

    CUDA_OK(cudaFuncSetAttribute(fill_dynamic_shared, cudaFuncAttributeMaxDynamicSharedMemorySize, big));
    TL_LAUNCH(fill_dynamic_shared, 1, 256, big, nullptr, big, d_written);
    check_launched("fill_dynamic_shared with 100 KiB after opting in");
    CHECK(to_host(d_written, 1)[0] == big, "opted-in kernel wrote %d of %d shared bytes", to_host(d_written, 1)[0], big);
    TL_LAUNCH(fill_dynamic_shared, 1, 256, big + 16, nullptr, big + 16, d_written);
    e = cudaGetLastError();
    CHECK(e == cudaErrorInvalidValue, "16 bytes past the opted-in limit: %s", cudaGetErrorName(e));

    TL_LAUNCH(other_kernel, 1, 256, over, nullptr, over, d_written); // the opt-in is per kernel
    e = cudaGetLastError();
    CHECK(e == cudaErrorInvalidValue, "another kernel borrowed the opt-in: %s", cudaGetErrorName(e));

    e = cudaFuncSetAttribute(fill_dynamic_shared, cudaFuncAttributeMaxDynamicSharedMemorySize, 228 * 1024);
    CHECK(e == cudaErrorInvalidValue, "opting in to more than the device's 227 KiB: %s", cudaGetErrorName(e));
    CHECK(cudaGetLastError() == cudaErrorInvalidValue, "the refused opt-in is the last error");
    CUDA_OK(cudaFuncSetAttribute(fill_dynamic_shared, cudaFuncAttributeMaxDynamicSharedMemorySize, 227 * 1024));
    TL_LAUNCH(fill_dynamic_shared, dim3(1, 1, 1), dim3(1024), 227 * 1024, nullptr, 227 * 1024, d_written);
    check_launched("fill_dynamic_shared with 1024 threads and the largest opt-in, 227 KiB");
    TL_LAUNCH(fill_dynamic_shared, 1, 32, 300 * 1024, nullptr, 300 * 1024, d_written);
    e = cudaGetLastError();
    CHECK(e == cudaErrorInvalidValue, "300 KiB of dynamic shared memory: %s", cudaGetErrorName(e));

    cudaDeviceProp prop{};
    CUDA_OK(cudaGetDeviceProperties(&prop, 0));
    CHECK(prop.sharedMemPerBlock == 48 * 1024 && prop.sharedMemPerBlockOptin == 227 * 1024,
          "shared memory per block %zu, opt-in %zu", prop.sharedMemPerBlock, prop.sharedMemPerBlockOptin);
    CUDA_OK(cudaFree(d_written));
}

void test_memory() {
    std::size_t free_before = 0, total = 0;
    CUDA_OK(cudaMemGetInfo(&free_before, &total));
    CHECK(free_before <= total && total > 0, "cudaMemGetInfo: free %zu, total %zu", free_before, total);

    void *huge = nullptr;
    const cudaError_t e = cudaMalloc(&huge, std::size_t{1} << 50);
    CHECK(e == cudaErrorMemoryAllocation && huge == nullptr, "cudaMalloc of 1 PiB: %s", cudaGetErrorName(e));
    CHECK(cudaGetLastError() == cudaErrorMemoryAllocation, "cudaMalloc's failure is not the last error");

    std::vector<void *> blocks;
    for (std::size_t bytes : {1, 1000, 1 << 20, 3 << 20}) {
        void *p = nullptr;
        CUDA_OK(cudaMalloc(&p, bytes));
        CHECK(reinterpret_cast<std::uintptr_t>(p) % 256 == 0, "cudaMalloc(%zu) is not 256-byte aligned", bytes);
        blocks.push_back(p);
    }
    std::size_t free_during = 0;
    CUDA_OK(cudaMemGetInfo(&free_during, &total));
    CHECK(free_before - free_during >= 1 + 1000 + (1 << 20) + (3 << 20), "cudaMemGetInfo did not count the allocations");
    CHECK(static_cast<unsigned char *>(blocks[1])[999] == 0xFF, "new device memory is not 0xFF-filled");

    char host[16] = {};
    CHECK(cudaMemcpy(blocks[1], host, 16, cudaMemcpyHostToDevice) == cudaSuccess, "a copy inside an allocation");
    CHECK(cudaMemcpy(static_cast<char *>(blocks[1]) + 1020, host, 16, cudaMemcpyHostToDevice) == cudaErrorInvalidValue,
          "a copy past the end of an allocation must fail");
    CHECK(cudaMemset(host, 0, 16) == cudaErrorInvalidValue, "cudaMemset of host memory must fail");
    CHECK(cudaFree(host) == cudaErrorInvalidValue, "cudaFree of host memory must fail");
    (void)cudaGetLastError();

    for (void *p : blocks) CUDA_OK(cudaFree(p));
    std::size_t free_after = 0;
    CUDA_OK(cudaMemGetInfo(&free_after, &total));
    CHECK(free_after == free_before, "free memory %zu after freeing everything, %zu before", free_after, free_before);
}

void test_runtime() {
    int count = 0, device = -1;
    CUDA_OK(cudaGetDeviceCount(&count));
    CHECK(count == 1, "cudaGetDeviceCount: %d", count);
    CUDA_OK(cudaSetDevice(0));
    CUDA_OK(cudaGetDevice(&device));
    CHECK(device == 0, "cudaGetDevice: %d", device);
    CHECK(cudaSetDevice(1) == cudaErrorInvalidDevice, "cudaSetDevice(1)");
    CHECK(cudaGetLastError() == cudaErrorInvalidDevice, "cudaSetDevice(1) is the last error");
    cudaDeviceProp prop{};
    CUDA_OK(cudaGetDeviceProperties(&prop, 0));
    CHECK(std::strcmp(prop.name, "tensorloom CPU emulation") == 0, "device name '%s'", prop.name);
    const char *sms = std::getenv("TL_EMU_SM_COUNT");
    const int want_sms = sms && *sms ? std::atoi(sms) : 132;
    CHECK(prop.maxThreadsPerBlock == 1024 && prop.multiProcessorCount == want_sms,
          "device properties: %d multiprocessors, want %d (an H100's or H200's, or TL_EMU_SM_COUNT)",
          prop.multiProcessorCount, want_sms);
    CHECK(std::strcmp(cudaGetErrorName(cudaErrorInvalidConfiguration), "cudaErrorInvalidConfiguration") == 0 &&
              std::strcmp(cudaGetErrorString(cudaErrorMemoryAllocation), "out of memory") == 0 &&
              cudaErrorLaunchFailure == 719 && cudaErrorIllegalAddress == 700,
          "error names and codes");

    cudaEvent_t start = nullptr, stop = nullptr;
    CUDA_OK(cudaEventCreate(&start));
    CUDA_OK(cudaEventCreate(&stop));
    float ms = -1;
    CHECK(cudaEventElapsedTime(&ms, start, stop) == cudaErrorInvalidResourceHandle, "elapsed time of unrecorded events");
    (void)cudaGetLastError();
    CUDA_OK(cudaEventRecord(start));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    CUDA_OK(cudaEventRecord(stop));
    CUDA_OK(cudaEventSynchronize(stop));
    CUDA_OK(cudaEventElapsedTime(&ms, start, stop));
    CHECK(ms >= 4.0f && ms < 5000.0f, "cudaEventElapsedTime: %g ms for a 5 ms sleep", ms);
    CUDA_OK(cudaEventDestroy(start));
    CUDA_OK(cudaEventDestroy(stop));
    CHECK(cudaEventDestroy(stop) == cudaErrorInvalidResourceHandle, "destroying an event twice");
    (void)cudaGetLastError();
}

// ---- misuse aborts with a message instead of hanging ------------------------------------------------------------

__global__ void return_before_barrier() {
    if (threadIdx.x == 5) return;
    __syncthreads();
}

// Thread 0 keeps the others waiting at the barrier for 20 s, long past the 1 s timeout the child runs with.
__global__ void stuck_before_barrier(int *release) {
    if (threadIdx.x == 0)
        for (int i = 0; i < 2000 && atomicAdd(release, 0) == 0; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
    __syncthreads();
}

__global__ void shuffle_half_warp() { (void)__shfl_sync(0x0000ffffu, 1, 0); }

int run_child(const std::string &mode) {
    if (mode == "return-before-barrier") TL_LAUNCH(return_before_barrier, 2, 64, 0, nullptr);
    if (mode == "stuck-before-barrier") {
        int *release = to_device(std::vector<int>{0});
        TL_LAUNCH(stuck_before_barrier, 1, 64, 0, nullptr, release);
    }
    if (mode == "shuffle-half-warp") TL_LAUNCH(shuffle_half_warp, 1, 32, 0, nullptr);
    return 0; // reaching this is the failure the parent looks for
}

void expect_abort(const std::string &mode, const char *message_part) {
    char self[4096] = {};
    if (readlink("/proc/self/exe", self, sizeof self - 1) <= 0) {
        std::printf("skipped the %s check: /proc/self/exe unreadable\n", mode.c_str());
        return;
    }
    const std::string command = "TL_EMU_BARRIER_TIMEOUT_SECONDS=1 '" + std::string(self) + "' --child " + mode + " 2>&1";
    FILE *pipe = popen(command.c_str(), "r");
    std::string output;
    char buffer[512];
    while (pipe != nullptr && std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
    const int status = pipe != nullptr ? pclose(pipe) : 0;
    const bool failed = !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(failed && output.find(message_part) != std::string::npos,
          "%s should abort with a message containing '%s'; exit status %d, output: %s", mode.c_str(), message_part,
          status, output.c_str());
}

void test_misuse_aborts() {
    expect_abort("return-before-barrier", "(a __syncthreads that not every thread reaches)");
    expect_abort("stuck-before-barrier", "__syncthreads has waited 1 s with 63 of 64 threads arrived");
    expect_abort("shuffle-half-warp", "__shfl_sync with mask 0x0000ffff");
}

// ---- throughput -------------------------------------------------------------------------------------------------

__global__ void barrier_rounds(int rounds) {
    for (int i = 0; i < rounds; ++i) __syncthreads();
}

__global__ void empty_kernel() {}

void measure(bool long_run) {
    using clock = std::chrono::steady_clock;
    const int rounds = long_run ? 20000 : 1000, blocks = long_run ? 4000 : 200;
    TL_LAUNCH(barrier_rounds, 1, kBlock, 0, nullptr, 1); // grows the pool outside the timing
    auto begin = clock::now();
    TL_LAUNCH(barrier_rounds, 1, kBlock, 0, nullptr, rounds);
    const double barrier_s = std::chrono::duration<double>(clock::now() - begin).count();
    begin = clock::now();
    TL_LAUNCH(empty_kernel, blocks, kBlock, 0, nullptr);
    const double block_s = std::chrono::duration<double>(clock::now() - begin).count();
    check_launched("the measurements");
    std::printf("throughput on %u hardware threads: %.0f __syncthreads rounds/s of %d threads; %.0f blocks/s of %d "
                "threads\n",
                std::thread::hardware_concurrency(), rounds / barrier_s, kBlock, blocks / block_s, kBlock);
}

} // namespace

int main(int argc, char **argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0); // failures show even if a later test hangs
    if (argc == 3 && std::strcmp(argv[1], "--child") == 0) return run_child(argv[2]);
    test_barriers();
    test_shared_memory();
    test_warp_operations();
    test_atomics();
    test_3d();
    test_invalid_launches();
    test_dynamic_shared_limit();
    test_memory();
    test_runtime();
    test_misuse_aborts();
    measure(argc == 2 && std::strcmp(argv[1], "--bench") == 0);
    if (g_failures > 0) {
        std::printf("emu_test: %d checks FAILED\n", g_failures);
        return 1;
    }
    std::printf("emu_test: all checks passed\n");
    return 0;
}
