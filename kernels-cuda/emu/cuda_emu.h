// CUDA on the CPU: the subset of CUDA C++ that tensorloom's kernels are written in, spelled as in CUDA, so
// that kernels-cuda/src/*.cu also compile with the host compiler (into libtensorloom_emu.so, which CI tests
// without a GPU). Included only through cuda_compat.h, and never under nvcc.
//
// The model, chosen so that the bugs a GPU would show also show here:
//  - A launch runs its blocks one after another, and only one launch runs at a time in the process. Each
//    thread of a block is a fiber, and the fibers are dealt out to worker threads that run at once (one per
//    core, at least two), so a missing barrier between threads of different workers is a real race; each
//    worker runs its own fibers in turn, in an order reversed at every pass, so that a read relying on
//    another thread's unsynchronised write meets the 0xFF fill in one order or the other. (Until 2026-12-02
//    each thread was an OS thread: ~1 ms per barrier round of 256 threads on 2 cores, where fibers take
//    ~25 us.)
//  - __syncthreads is a real barrier among the block's threads: a thread that reaches it switches to its
//    worker's next fiber until the last one arrives. Warp shuffles and votes are a real exchange: each lane
//    publishes its value in a per-warp slot and waits at a per-warp barrier for the other lanes. A thread that
//    spins on another thread's write without a barrier never lets its worker's other fibers run: keep to the
//    barriers and atomics CUDA defines.
//  - `__shared__` is `static`: since one block runs at a time, a function-local static is exactly the running
//    block's shared memory. Dynamic shared memory (TL_DYNAMIC_SHARED) is one buffer, filled with 0xFF bytes
//    (NaN as floats) before every block, so that reading it before writing it shows.
//  - Device memory is host memory with a capacity (TL_EMU_DEVICE_MEMORY_BYTES, default 8 GiB), filled with
//    0xFF bytes by cudaMalloc. Streams and events exist, but every call runs to completion before returning.
//  - Misuse that would hang or be undefined on a GPU (a __syncthreads that not every thread reaches, a warp
//    operation whose mask leaves out a running lane, a kernel thread that throws) aborts the process with a
//    message on stderr naming the kernel, block and thread. A barrier that waits longer than
//    TL_EMU_BARRIER_TIMEOUT_SECONDS (default 60) is taken for such a hang.
//
//  - Device limits are a GPU's, so that what a GPU would refuse is refused here: a launch may ask for at most
//    48 KiB of dynamic shared memory unless its kernel opted in with cudaFuncSetAttribute(kernel,
//    cudaFuncAttributeMaxDynamicSharedMemorySize, bytes), up to 227 KiB (cudaErrorInvalidValue otherwise, as on
//    a GPU; a kernel's static __shared__ memory is not counted here, so keep a margin). The device reports 132
//    multiprocessors, an H100's or H200's, so that grid and tile choices made from the count are a GPU's;
//    TL_EMU_SM_COUNT sets another.
//
// Left out on purpose (kernels stay inside the subset below): cooperative groups, dynamic parallelism,
// function attributes other than the dynamic shared memory limit, __noinline__ (a macro for it breaks
// libstdc++ 13, whose headers spell __attribute__((__noinline__))), __constant__ memory copies
// (cudaMemcpyToSymbol), textures, half precision, inline PTX, and warp operations by only some of a warp's
// running lanes.
#pragma once

#include <atomic>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <type_traits>
#include <utility>

// ---- qualifiers ------------------------------------------------------------------------------------------
#define __global__
#define __device__
#define __host__
#define __constant__
#define __forceinline__ inline
#define __align__(n) __attribute__((aligned(n)))
#define __launch_bounds__(...)
#define __shared__ static // one block runs at a time: see above

// ---- vector types ----------------------------------------------------------------------------------------
struct uint3 {
    unsigned x, y, z;
};

struct dim3 {
    unsigned x, y, z;
    constexpr dim3(unsigned vx = 1, unsigned vy = 1, unsigned vz = 1) : x(vx), y(vy), z(vz) {}
    constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
    constexpr operator uint3() const { return {x, y, z}; }
};

// Aligned like CUDA's, so that a float4 load is one 16-byte access in both builds.
struct __align__(8) float2 {
    float x, y;
};
struct __align__(16) float4 {
    float x, y, z, w;
};
struct __align__(16) int4 {
    int x, y, z, w;
};
inline float2 make_float2(float x, float y) { return {x, y}; }
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }
inline int4 make_int4(int x, int y, int z, int w) { return {x, y, z, w}; }

// ---- the running CUDA thread -----------------------------------------------------------------------------
namespace tl_emu {
// What a CUDA thread knows about itself; set by the pool before the kernel body runs. constinit lets every
// use skip the thread_local initialisation check.
struct ThreadContext {
    uint3 thread_idx{0, 0, 0};
    uint3 block_idx{0, 0, 0};
    dim3 block_dim, grid_dim;
    unsigned linear = 0;   // x + y*blockDim.x + z*blockDim.x*blockDim.y; the warp is linear/32
    unsigned warp_seq = 0; // warp exchanges done so far in this block
    bool in_kernel = false;
};
extern constinit thread_local ThreadContext t_thread;
} // namespace tl_emu

#define threadIdx (::std::as_const(::tl_emu::t_thread.thread_idx))
#define blockIdx (::std::as_const(::tl_emu::t_thread.block_idx))
#define blockDim (::std::as_const(::tl_emu::t_thread.block_dim))
#define gridDim (::std::as_const(::tl_emu::t_thread.grid_dim))
inline constexpr int warpSize = 32;

// ---- barriers, shuffles and votes ------------------------------------------------------------------------
void __syncthreads();
void __syncwarp(unsigned mask = 0xffffffffu);
unsigned __activemask(); // the lanes of the caller's warp that exist and have not returned
inline void __threadfence() { std::atomic_thread_fence(std::memory_order_seq_cst); }
inline void __threadfence_block() { std::atomic_thread_fence(std::memory_order_seq_cst); }

namespace tl_emu {
// One exchange among the running lanes of the caller's warp: every lane publishes `bits` and gets back those
// of `source_lane`, or its own when that lane is outside 0..31, does not exist or has returned.
std::uint64_t warp_shuffle(const char *op, unsigned mask, std::uint64_t bits, int source_lane);

struct Vote {
    unsigned ballot; // lanes whose predicate was true
    unsigned lanes;  // lanes that took part
};
Vote warp_vote(const char *op, unsigned mask, bool predicate);

// Aborts unless width is a power of two in 1..32 (anything else is undefined in CUDA).
void check_width(const char *op, int width);

inline int lane_id() { return static_cast<int>(t_thread.linear % 32); }

template <class T>
concept Shufflable = std::is_trivially_copyable_v<T> && sizeof(T) <= 8;

template <Shufflable T> std::uint64_t to_bits(T value) {
    std::uint64_t bits = 0;
    std::memcpy(&bits, &value, sizeof value);
    return bits;
}
template <Shufflable T> T from_bits(std::uint64_t bits) {
    T value;
    std::memcpy(&value, &bits, sizeof value);
    return value;
}
} // namespace tl_emu

// The lane arithmetic follows the CUDA Programming Guide: a warp is split into segments of `width` lanes;
// __shfl_sync reads srcLane modulo width in the caller's segment; up/down leave the lanes whose source would
// leave the segment unchanged; xor may reach earlier segments but not later ones.
template <::tl_emu::Shufflable T> T __shfl_sync(unsigned mask, T var, int srcLane, int width = warpSize) {
    ::tl_emu::check_width("__shfl_sync", width);
    const int lane = ::tl_emu::lane_id();
    const int source = (lane & ~(width - 1)) + (srcLane & (width - 1));
    return ::tl_emu::from_bits<T>(::tl_emu::warp_shuffle("__shfl_sync", mask, ::tl_emu::to_bits(var), source));
}

template <::tl_emu::Shufflable T> T __shfl_up_sync(unsigned mask, T var, unsigned delta, int width = warpSize) {
    ::tl_emu::check_width("__shfl_up_sync", width);
    const int lane = ::tl_emu::lane_id();
    const int source = static_cast<unsigned>(lane & (width - 1)) >= delta ? lane - static_cast<int>(delta) : -1;
    return ::tl_emu::from_bits<T>(::tl_emu::warp_shuffle("__shfl_up_sync", mask, ::tl_emu::to_bits(var), source));
}

template <::tl_emu::Shufflable T> T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = warpSize) {
    ::tl_emu::check_width("__shfl_down_sync", width);
    const int lane = ::tl_emu::lane_id();
    const int source = (lane & (width - 1)) + delta < static_cast<unsigned>(width) ? lane + static_cast<int>(delta) : -1;
    return ::tl_emu::from_bits<T>(::tl_emu::warp_shuffle("__shfl_down_sync", mask, ::tl_emu::to_bits(var), source));
}

template <::tl_emu::Shufflable T> T __shfl_xor_sync(unsigned mask, T var, int laneMask, int width = warpSize) {
    ::tl_emu::check_width("__shfl_xor_sync", width);
    const int lane = ::tl_emu::lane_id();
    const int source = lane ^ laneMask;
    const int segment_end = lane | (width - 1);
    return ::tl_emu::from_bits<T>(
        ::tl_emu::warp_shuffle("__shfl_xor_sync", mask, ::tl_emu::to_bits(var), source <= segment_end ? source : -1));
}

inline unsigned __ballot_sync(unsigned mask, int predicate) {
    return ::tl_emu::warp_vote("__ballot_sync", mask, predicate != 0).ballot & mask;
}
inline int __any_sync(unsigned mask, int predicate) {
    return (::tl_emu::warp_vote("__any_sync", mask, predicate != 0).ballot & mask) != 0;
}
inline int __all_sync(unsigned mask, int predicate) {
    const ::tl_emu::Vote vote = ::tl_emu::warp_vote("__all_sync", mask, predicate != 0);
    return (vote.ballot & mask) == (vote.lanes & mask);
}

// ---- atomics: real ones, sequentially consistent (stronger than CUDA's relaxed atomics) ---------------------
namespace tl_emu {
template <class T> T atomic_max(T *address, T value) {
    std::atomic_ref<T> target(*address);
    T old = target.load();
    while (old < value && !target.compare_exchange_weak(old, value)) {
    }
    return old;
}
template <class T> T atomic_min(T *address, T value) {
    std::atomic_ref<T> target(*address);
    T old = target.load();
    while (value < old && !target.compare_exchange_weak(old, value)) {
    }
    return old;
}
template <class T> T atomic_cas(T *address, T compare, T value) {
    std::atomic_ref<T>(*address).compare_exchange_strong(compare, value);
    return compare; // the old value, whether or not it was replaced
}
} // namespace tl_emu

inline int atomicAdd(int *address, int value) { return std::atomic_ref<int>(*address).fetch_add(value); }
inline unsigned atomicAdd(unsigned *address, unsigned value) {
    return std::atomic_ref<unsigned>(*address).fetch_add(value);
}
inline unsigned long long atomicAdd(unsigned long long *address, unsigned long long value) {
    return std::atomic_ref<unsigned long long>(*address).fetch_add(value);
}
inline float atomicAdd(float *address, float value) { return std::atomic_ref<float>(*address).fetch_add(value); }
inline double atomicAdd(double *address, double value) { return std::atomic_ref<double>(*address).fetch_add(value); }
inline int atomicSub(int *address, int value) { return std::atomic_ref<int>(*address).fetch_sub(value); }
inline unsigned atomicSub(unsigned *address, unsigned value) {
    return std::atomic_ref<unsigned>(*address).fetch_sub(value);
}
inline int atomicMax(int *address, int value) { return ::tl_emu::atomic_max(address, value); }
inline unsigned atomicMax(unsigned *address, unsigned value) { return ::tl_emu::atomic_max(address, value); }
inline int atomicMin(int *address, int value) { return ::tl_emu::atomic_min(address, value); }
inline unsigned atomicMin(unsigned *address, unsigned value) { return ::tl_emu::atomic_min(address, value); }
inline int atomicCAS(int *address, int compare, int value) { return ::tl_emu::atomic_cas(address, compare, value); }
inline unsigned atomicCAS(unsigned *address, unsigned compare, unsigned value) {
    return ::tl_emu::atomic_cas(address, compare, value);
}
inline unsigned long long atomicCAS(unsigned long long *address, unsigned long long compare, unsigned long long value) {
    return ::tl_emu::atomic_cas(address, compare, value);
}
inline int atomicExch(int *address, int value) { return std::atomic_ref<int>(*address).exchange(value); }
inline unsigned atomicExch(unsigned *address, unsigned value) {
    return std::atomic_ref<unsigned>(*address).exchange(value);
}
inline unsigned long long atomicExch(unsigned long long *address, unsigned long long value) {
    return std::atomic_ref<unsigned long long>(*address).exchange(value);
}
inline float atomicExch(float *address, float value) { return std::atomic_ref<float>(*address).exchange(value); }

// ---- math ------------------------------------------------------------------------------------------------
// expf, logf, sqrtf, fabsf, fmaxf, fminf, fmaf, erff, INFINITY, ... come from <cmath>. The intrinsics below
// are extern "C" and noexcept because glibc's math.h already declares some of them (__expf, __logf) that way
// without defining them; the fast intrinsics are exact here, which a kernel's tolerance must allow anyway.
extern "C" {
inline float __expf(float x) noexcept { return expf(x); }
inline float __logf(float x) noexcept { return logf(x); }
inline float __fdividef(float x, float y) noexcept { return x / y; }
inline float rsqrtf(float x) noexcept { return 1.0f / sqrtf(x); }
inline float __frsqrt_rn(float x) noexcept { return 1.0f / sqrtf(x); }
inline int __float_as_int(float x) noexcept { return std::bit_cast<int>(x); }
inline float __int_as_float(int x) noexcept { return std::bit_cast<float>(x); }
inline unsigned __float_as_uint(float x) noexcept { return std::bit_cast<unsigned>(x); }
inline float __uint_as_float(unsigned x) noexcept { return std::bit_cast<float>(x); }
}

template <class T> T __ldg(const T *address) { return *address; }

// CUDA's min/max: overloads for each arithmetic type (non-templates, so `using namespace std` does not make
// them ambiguous with std::min), floats with fminf/fmaxf's NaN handling, and mixed types in the usual
// arithmetic conversions (int with unsigned gives unsigned, as in CUDA).
#define TL_EMU_MIN_MAX(T)                                                                                       \
    inline T min(T a, T b) { return b < a ? b : a; }                                                            \
    inline T max(T a, T b) { return a < b ? b : a; }
TL_EMU_MIN_MAX(int)
TL_EMU_MIN_MAX(unsigned)
TL_EMU_MIN_MAX(long)
TL_EMU_MIN_MAX(unsigned long)
TL_EMU_MIN_MAX(long long)
TL_EMU_MIN_MAX(unsigned long long)
#undef TL_EMU_MIN_MAX
inline float min(float a, float b) { return fminf(a, b); }
inline float max(float a, float b) { return fmaxf(a, b); }
inline double min(double a, double b) { return fmin(a, b); }
inline double max(double a, double b) { return fmax(a, b); }
template <class A, class B>
    requires(std::is_arithmetic_v<A> && std::is_arithmetic_v<B> && !std::is_same_v<A, B>)
std::common_type_t<A, B> min(A a, B b) {
    return min(static_cast<std::common_type_t<A, B>>(a), static_cast<std::common_type_t<A, B>>(b));
}
template <class A, class B>
    requires(std::is_arithmetic_v<A> && std::is_arithmetic_v<B> && !std::is_same_v<A, B>)
std::common_type_t<A, B> max(A a, B b) {
    return max(static_cast<std::common_type_t<A, B>>(a), static_cast<std::common_type_t<A, B>>(b));
}

// ---- runtime API (C++ linkage, so these never clash with a real libcudart's symbols in the same process) ----
enum cudaError {
    cudaSuccess = 0,
    cudaErrorInvalidValue = 1,
    cudaErrorMemoryAllocation = 2,
    cudaErrorInvalidConfiguration = 9,
    cudaErrorInvalidMemcpyDirection = 21,
    cudaErrorNoDevice = 100,
    cudaErrorInvalidDevice = 101,
    cudaErrorInvalidResourceHandle = 400,
    cudaErrorNotReady = 600,
    cudaErrorIllegalAddress = 700,
    cudaErrorLaunchFailure = 719,
};
typedef enum cudaError cudaError_t;

enum cudaMemcpyKind {
    cudaMemcpyHostToHost = 0,
    cudaMemcpyHostToDevice = 1,
    cudaMemcpyDeviceToHost = 2,
    cudaMemcpyDeviceToDevice = 3,
    cudaMemcpyDefault = 4,
};

typedef struct CUstream_st *cudaStream_t;
typedef struct CUevent_st *cudaEvent_t;
#define cudaStreamDefault 0x00
#define cudaStreamNonBlocking 0x01
#define cudaStreamLegacy ((cudaStream_t)0x1)
#define cudaStreamPerThread ((cudaStream_t)0x2)

struct cudaDeviceProp {
    char name[256];
    std::size_t totalGlobalMem;
    std::size_t sharedMemPerBlock;      // 48 KiB, as without opting in on a GPU
    std::size_t sharedMemPerBlockOptin; // the most dynamic shared memory a launch may ask for here
    int warpSize;
    int maxThreadsPerBlock;
    int maxThreadsDim[3];
    int maxGridSize[3];
    int multiProcessorCount; // TL_EMU_SM_COUNT, default 132 (an H100's or H200's), not the host's cores
};

enum cudaFuncAttribute {
    cudaFuncAttributeMaxDynamicSharedMemorySize = 8,
};

const char *cudaGetErrorName(cudaError_t error);
const char *cudaGetErrorString(cudaError_t error);
cudaError_t cudaGetLastError(); // the calling host thread's last error, then cudaSuccess
cudaError_t cudaPeekAtLastError();

cudaError_t cudaGetDeviceCount(int *count);
cudaError_t cudaSetDevice(int device);
cudaError_t cudaGetDevice(int *device);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp *prop, int device);
cudaError_t cudaDeviceSynchronize();

cudaError_t cudaMalloc(void **devPtr, std::size_t size);
template <class T> cudaError_t cudaMalloc(T **devPtr, std::size_t size) {
    return cudaMalloc(reinterpret_cast<void **>(devPtr), size);
}
cudaError_t cudaFree(void *devPtr);
cudaError_t cudaMemGetInfo(std::size_t *free, std::size_t *total);
cudaError_t cudaMemcpy(void *dst, const void *src, std::size_t count, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void *dst, const void *src, std::size_t count, cudaMemcpyKind kind,
                            cudaStream_t stream = 0);
cudaError_t cudaMemset(void *devPtr, int value, std::size_t count);
cudaError_t cudaMemsetAsync(void *devPtr, int value, std::size_t count, cudaStream_t stream = 0);

cudaError_t cudaStreamCreate(cudaStream_t *stream);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t *stream, unsigned int flags);
cudaError_t cudaStreamDestroy(cudaStream_t stream);
cudaError_t cudaStreamSynchronize(cudaStream_t stream);
cudaError_t cudaStreamQuery(cudaStream_t stream);

cudaError_t cudaEventCreate(cudaEvent_t *event);
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream = 0);
cudaError_t cudaEventSynchronize(cudaEvent_t event);
cudaError_t cudaEventQuery(cudaEvent_t event);
cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t start, cudaEvent_t end); // wall clock
cudaError_t cudaEventDestroy(cudaEvent_t event);

// ---- launching (through TL_LAUNCH) -----------------------------------------------------------------------
namespace tl_emu {
using KernelThunk = void (*)(const void *kernel_call);

// What identifies a kernel to cudaFuncSetAttribute and to a launch: its address.
template <class F> const void *kernel_key(F *kernel) { return reinterpret_cast<const void *>(kernel); }

cudaError_t set_max_dynamic_shared(const void *kernel, int bytes);

void launch_erased(dim3 grid, dim3 block, std::size_t shared_bytes, cudaStream_t stream, const char *kernel_name,
                   const void *kernel, KernelThunk thunk, const void *kernel_call);

// Runs kernel_call() once per CUDA thread of the grid, like kernel<<<grid, block, shared_bytes, stream>>>.
// An invalid configuration or stream, or more dynamic shared memory than `kernel` may use, runs nothing and is
// reported by cudaGetLastError, as in CUDA.
template <class F>
void launch(dim3 grid, dim3 block, std::size_t shared_bytes, cudaStream_t stream, const F &kernel_call,
            const char *kernel_name = "kernel", const void *kernel = nullptr) {
    launch_erased(grid, block, shared_bytes, stream, kernel_name, kernel,
                  [](const void *call) { (*static_cast<const F *>(call))(); }, &kernel_call);
}

// The running block's dynamic shared memory: shared_bytes of the launch, 16-byte aligned, 0xFF-filled
// when the block starts; null when the launch asked for none.
void *dynamic_shared();
} // namespace tl_emu

// Only cudaFuncAttributeMaxDynamicSharedMemorySize: the most dynamic shared memory launches of `kernel` may ask
// for, at most the device's sharedMemPerBlockOptin.
template <class F> cudaError_t cudaFuncSetAttribute(F *kernel, cudaFuncAttribute attr, int value) {
    if (attr != cudaFuncAttributeMaxDynamicSharedMemorySize) return ::tl_emu::set_max_dynamic_shared(nullptr, -1);
    return ::tl_emu::set_max_dynamic_shared(::tl_emu::kernel_key(kernel), value);
}
