// The CUDA-on-CPU emulation behind cuda_emu.h: the thread pool that runs a block's threads, the barrier that
// __syncthreads and the warp exchanges use, and the runtime API over host memory.
//
// Waiting is a futex on Linux (std::atomic wait elsewhere, without the hang timeout): a block has up to 1024
// threads on a machine with perhaps 2 cores, so a waiting thread must sleep, not spin, and every wake must
// go to a thread that has something to do.
#include "cuda_emu.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <mutex>
#include <new>
#include <string>
#include <system_error>
#include <thread>
#include <unordered_set>

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#endif

namespace tl_emu {

constinit thread_local ThreadContext t_thread;

namespace {

constexpr unsigned kMaxThreadsPerBlock = 1024;
constexpr std::size_t kMaxDynamicShared = 227 * 1024;     // what an H100 allows after opting in
constexpr std::size_t kDefaultDynamicShared = 48 * 1024;  // what a GPU allows a kernel that did not opt in

// ---- settings -------------------------------------------------------------------------------------------

std::uint64_t env_u64(const char *name, std::uint64_t fallback) {
    const char *text = std::getenv(name);
    if (text == nullptr || *text == '\0') return fallback;
    char *end = nullptr;
    errno = 0;
    const unsigned long long value = std::strtoull(text, &end, 10);
    if (*end != '\0' || errno != 0) {
        std::fprintf(stderr, "tensorloom emulation: ignoring %s=%s (not a whole number)\n", name, text);
        return fallback;
    }
    return value;
}

std::uint64_t device_capacity() {
    static const std::uint64_t bytes = env_u64("TL_EMU_DEVICE_MEMORY_BYTES", std::uint64_t{8} << 30);
    return bytes;
}

long barrier_timeout_seconds() {
    static const long seconds = static_cast<long>(env_u64("TL_EMU_BARRIER_TIMEOUT_SECONDS", 60));
    return seconds;
}

// Multiprocessors the device reports: a GPU's count, not the host's cores, so that a kernel's grid and tile
// choices here are the ones it makes on a GPU.
int sm_count() {
    static const int n = static_cast<int>(std::clamp<std::uint64_t>(env_u64("TL_EMU_SM_COUNT", 132), 1, 4096));
    return n;
}

unsigned cores() {
    static const unsigned n = std::max(1u, std::thread::hardware_concurrency());
    return n;
}

// ---- sleeping on a 32-bit word ------------------------------------------------------------------------------

using Word = std::atomic<std::uint32_t>;
static_assert(sizeof(Word) == sizeof(std::uint32_t) && Word::is_always_lock_free);

// Sleeps while `word` holds `expected`, at most `seconds` (0: no limit). May return early. False on timeout.
bool sleep_while(Word &word, std::uint32_t expected, long seconds) {
#if defined(__linux__)
    const timespec limit{seconds, 0};
    const long result = syscall(SYS_futex, reinterpret_cast<std::uint32_t *>(&word), FUTEX_WAIT_PRIVATE, expected,
                                seconds > 0 ? &limit : nullptr, nullptr, 0);
    return result == 0 || errno != ETIMEDOUT;
#else
    (void)seconds;
    word.wait(expected, std::memory_order_acquire);
    return true;
#endif
}

void wake(Word &word, int count) {
#if defined(__linux__)
    syscall(SYS_futex, reinterpret_cast<std::uint32_t *>(&word), FUTEX_WAKE_PRIVATE, count, nullptr, nullptr, 0);
#else
    if (count == 1) word.notify_one();
    else word.notify_all();
#endif
}

// ---- the launch in progress ---------------------------------------------------------------------------------

// A reusable barrier whose number of expected threads can shrink: a thread that returns from the kernel
// leaves, so that the warp operations of the lanes still running do not wait for it (as in CUDA).
class Barrier {
  public:
    // Only between blocks, while no thread uses the barrier.
    void reset(std::uint32_t count) { state_.store(std::uint64_t{count} << 32, std::memory_order_relaxed); }

    // Returns once every expected thread has arrived, with the number that were expected.
    std::uint32_t arrive_and_wait(const char *op);

    // The caller will never arrive again. Returns how many threads were waiting at the barrier.
    std::uint32_t leave();

  private:
    void release() {
        generation_.fetch_add(1, std::memory_order_release);
        wake(generation_, INT_MAX);
    }
    void wait(std::uint32_t generation, std::uint32_t expected, const char *op);

    // Arrived threads in the low half, expected threads in the high half: one word, so that an arrival and a
    // leave cannot both miss that the barrier is complete. The acq_rel updates chain every arriving thread's
    // writes to the thread that completes the barrier, and its release of the generation passes them on.
    std::atomic<std::uint64_t> state_{0};
    Word generation_{0};
};

struct Warp {
    struct Slot {
        std::uint64_t bits;
        std::uint32_t seq; // which exchange of the block wrote it: a lane that has returned leaves a stale one
    };
    Barrier barrier;
    std::atomic<std::uint32_t> live{0}; // lanes that exist and have not returned
    // Two sets of slots, used by alternate exchanges: a lane can only write slots of exchange k+2 after
    // everyone passed the barrier of exchange k+1, hence after everyone read those of exchange k. One barrier
    // per shuffle instead of two.
    Slot slots[2][32];
};

// Written by the launching thread (holding g_launch_mutex) while the pool is idle; read by the block's threads.
struct Launch {
    const char *kernel_name = "";
    dim3 grid, block;
    std::size_t shared_bytes = 0;
    KernelThunk thunk = nullptr;
    const void *kernel_call = nullptr;
    std::uint32_t threads = 0; // per block
    uint3 block_idx{0, 0, 0};
    Barrier block_barrier;
    Warp warps[kMaxThreadsPerBlock / 32];
    alignas(64) std::byte shared[kMaxDynamicShared];
};

std::mutex g_launch_mutex; // one launch at a time, process-wide: what makes `__shared__` per block
Launch g_launch;

[[noreturn]] __attribute__((format(printf, 1, 2))) void die(const char *format, ...) {
    static std::mutex print_once; // the first message is the one that matters; later ones wait for abort()
    print_once.lock();
    const Launch &l = g_launch;
    std::fprintf(stderr, "tensorloom emulation: ");
    if (t_thread.in_kernel) {
        const ThreadContext &c = t_thread;
        std::fprintf(stderr, "kernel %s <<<(%u,%u,%u), (%u,%u,%u), %zu>>>, block (%u,%u,%u), thread (%u,%u,%u): ",
                     l.kernel_name, l.grid.x, l.grid.y, l.grid.z, l.block.x, l.block.y, l.block.z, l.shared_bytes,
                     c.block_idx.x, c.block_idx.y, c.block_idx.z, c.thread_idx.x, c.thread_idx.y, c.thread_idx.z);
    }
    va_list args;
    va_start(args, format);
    std::vfprintf(stderr, format, args);
    va_end(args);
    std::fputc('\n', stderr);
    std::fflush(stderr);
    std::abort();
}

std::uint32_t Barrier::arrive_and_wait(const char *op) {
    const std::uint32_t generation = generation_.load(std::memory_order_acquire);
    std::uint64_t state = state_.load(std::memory_order_relaxed);
    std::uint32_t expected;
    bool last;
    do {
        expected = static_cast<std::uint32_t>(state >> 32);
        last = static_cast<std::uint32_t>(state) + 1 >= expected;
    } while (!state_.compare_exchange_weak(state, last ? std::uint64_t{expected} << 32 : state + 1,
                                           std::memory_order_acq_rel, std::memory_order_relaxed));
    if (last) release();
    else wait(generation, expected, op);
    return expected;
}

std::uint32_t Barrier::leave() {
    std::uint64_t state = state_.load(std::memory_order_relaxed);
    std::uint32_t arrived;
    bool completes;
    std::uint64_t next;
    do {
        arrived = static_cast<std::uint32_t>(state);
        const std::uint32_t expected = static_cast<std::uint32_t>(state >> 32) - 1;
        completes = arrived > 0 && arrived >= expected;
        next = completes ? std::uint64_t{expected} << 32 : (std::uint64_t{expected} << 32) | arrived;
    } while (!state_.compare_exchange_weak(state, next, std::memory_order_acq_rel, std::memory_order_relaxed));
    if (completes) release();
    return arrived;
}

void Barrier::wait(std::uint32_t generation, std::uint32_t expected, const char *op) {
    // Spinning only pays when every thread of the barrier can be running at once.
    if (expected <= cores())
        for (int spin = 0; spin < 4000; ++spin)
            if (generation_.load(std::memory_order_acquire) != generation) return;
    while (generation_.load(std::memory_order_acquire) == generation) {
        if (!sleep_while(generation_, generation, barrier_timeout_seconds()) &&
            generation_.load(std::memory_order_acquire) == generation) {
            const std::uint64_t state = state_.load(std::memory_order_relaxed);
            die("%s has waited %ld s with %u of %u threads arrived; on a GPU this hangs (a barrier or warp "
                "operation that some threads never reach)",
                op, barrier_timeout_seconds(), static_cast<std::uint32_t>(state),
                static_cast<std::uint32_t>(state >> 32));
        }
    }
}

// ---- the pool: worker w runs thread w (in linear order) of every block --------------------------------------

struct alignas(64) Worker {
    Word go{0}; // bumped by the launching thread to start the worker on the current block
};
Worker g_workers[kMaxThreadsPerBlock];
unsigned g_worker_count = 0; // guarded by g_launch_mutex
Word g_running{0};           // threads of the current block that have not finished

void run_cuda_thread(unsigned index) {
    const Launch &l = g_launch;
    ThreadContext &c = t_thread;
    c.thread_idx = {index % l.block.x, index / l.block.x % l.block.y, index / (l.block.x * l.block.y)};
    c.block_idx = l.block_idx;
    c.block_dim = l.block;
    c.grid_dim = l.grid;
    c.linear = index;
    c.warp_seq = 0;
    c.in_kernel = true;
    try {
        l.thunk(l.kernel_call);
    } catch (const std::exception &e) {
        die("threw %s", e.what());
    } catch (...) {
        die("threw an exception");
    }
    // Returning from the kernel: the warp's running lanes stop waiting for this one; the block's must not be.
    Warp &warp = g_launch.warps[index / 32];
    warp.live.fetch_and(~(1u << index % 32), std::memory_order_relaxed);
    warp.barrier.leave();
    if (const std::uint32_t waiting = g_launch.block_barrier.leave(); waiting > 0)
        die("returned from the kernel while %u threads of its block wait at __syncthreads; on a GPU that is "
            "undefined (a __syncthreads that not every thread reaches)",
            waiting);
    c.in_kernel = false;
}

void start(unsigned worker) {
    g_workers[worker].go.fetch_add(1, std::memory_order_release); // publishes the block, passed down the tree
    wake(g_workers[worker].go, 1);
}

// Worker w starts workers 2w+1 and 2w+2: a block's wake-ups are spread over the cores instead of being
// made one by one by the launching thread.
[[noreturn]] void worker_main(unsigned index) {
    Word &go = g_workers[index].go;
    std::uint32_t seen = 0;
    for (;;) {
        std::uint32_t now;
        while ((now = go.load(std::memory_order_acquire)) == seen) sleep_while(go, seen, 0);
        seen = now;
        for (unsigned child = 2 * index + 1; child <= 2 * index + 2 && child < g_launch.threads; ++child) start(child);
        run_cuda_thread(index);
        if (g_running.fetch_sub(1, std::memory_order_acq_rel) == 1) wake(g_running, 1);
    }
}

void grow_pool(unsigned threads) {
    for (; g_worker_count < threads; ++g_worker_count) {
        try {
            std::thread(worker_main, g_worker_count).detach(); // workers live as long as the process
        } catch (const std::system_error &e) {
            die("could not start emulation thread %u: %s", g_worker_count, e.what());
        }
    }
}

void run_block(uint3 block_idx) {
    Launch &l = g_launch;
    l.block_idx = block_idx;
    l.block_barrier.reset(l.threads);
    for (unsigned w = 0; w * 32 < l.threads; ++w) {
        const unsigned lanes = std::min(32u, l.threads - w * 32);
        Warp &warp = l.warps[w];
        warp.barrier.reset(lanes);
        warp.live.store(lanes == 32 ? ~0u : (1u << lanes) - 1, std::memory_order_relaxed);
        for (auto &set : warp.slots)
            for (Warp::Slot &slot : set) slot.seq = UINT32_MAX;
    }
    std::memset(l.shared, 0xFF, l.shared_bytes); // a read before a write sees NaN, not the last block's data
    g_running.store(l.threads, std::memory_order_relaxed);
    start(0); // which starts the others
    for (std::uint32_t running; (running = g_running.load(std::memory_order_acquire)) != 0;)
        sleep_while(g_running, running, 0);
}

// ---- error state, memory and handles ---------------------------------------------------------------------

thread_local cudaError_t t_last_error = cudaSuccess;

cudaError_t fail(cudaError_t error) {
    t_last_error = error;
    return error;
}

struct DeviceMemory {
    std::mutex mutex;
    std::map<std::uintptr_t, std::size_t> blocks; // start -> size
    std::uint64_t in_use = 0;

    // Whether [p, p + bytes) lies inside one allocation. Caller holds mutex.
    bool holds(const void *p, std::size_t bytes) const {
        const auto address = reinterpret_cast<std::uintptr_t>(p);
        auto it = blocks.upper_bound(address);
        if (it == blocks.begin()) return false;
        --it;
        const std::uintptr_t offset = address - it->first;
        return offset < it->second && bytes <= it->second - offset;
    }
};

struct Handles {
    std::mutex mutex;
    std::unordered_set<const void *> streams, events;
};

// Never destroyed: a worker or a late host thread may still use them while the process exits.
DeviceMemory &memory() {
    static DeviceMemory &m = *new DeviceMemory;
    return m;
}
Handles &handles() {
    static Handles &h = *new Handles;
    return h;
}

bool is_stream(cudaStream_t stream) {
    if (stream == nullptr || stream == cudaStreamLegacy || stream == cudaStreamPerThread) return true;
    std::lock_guard lock(handles().mutex);
    return handles().streams.contains(stream);
}

bool is_event(cudaEvent_t event) {
    std::lock_guard lock(handles().mutex);
    return handles().events.contains(event);
}

Warp &warp_of_caller(const char *op, unsigned mask) {
    if (!t_thread.in_kernel) die("%s called outside a kernel", op);
    Warp &warp = g_launch.warps[t_thread.linear / 32];
    const unsigned live = warp.live.load(std::memory_order_relaxed);
    if ((mask & live) != live)
        die("%s with mask 0x%08x while lanes 0x%08x of the warp are running; the emulation needs every running "
            "lane in each warp operation",
            op, mask, live);
    return warp;
}

// Publishes the caller's bits in this exchange's slots and waits for the warp's other running lanes.
const Warp::Slot *exchange(Warp &warp, std::uint64_t bits, const char *op) {
    const std::uint32_t seq = t_thread.warp_seq++;
    Warp::Slot *slots = warp.slots[seq % 2];
    slots[t_thread.linear % 32] = {bits, seq};
    warp.barrier.arrive_and_wait(op);
    return slots;
}

} // namespace

std::uint64_t warp_shuffle(const char *op, unsigned mask, std::uint64_t bits, int source_lane) {
    Warp &warp = warp_of_caller(op, mask);
    const std::uint32_t seq = t_thread.warp_seq;
    const Warp::Slot *slots = exchange(warp, bits, op);
    if (source_lane < 0 || source_lane >= 32 || slots[source_lane].seq != seq) return bits;
    return slots[source_lane].bits;
}

Vote warp_vote(const char *op, unsigned mask, bool predicate) {
    Warp &warp = warp_of_caller(op, mask);
    const std::uint32_t seq = t_thread.warp_seq;
    const Warp::Slot *slots = exchange(warp, predicate ? 1 : 0, op);
    Vote vote{0, 0};
    for (unsigned lane = 0; lane < 32; ++lane) {
        if (slots[lane].seq != seq) continue;
        vote.lanes |= 1u << lane;
        if (slots[lane].bits != 0) vote.ballot |= 1u << lane;
    }
    return vote;
}

void check_width(const char *op, int width) {
    if (width < 1 || width > 32 || (width & (width - 1)) != 0)
        die("%s with width %d; it must be a power of two from 1 to 32", op, width);
}

namespace {
// The dynamic shared memory limits that kernels opted in to with cudaFuncSetAttribute.
struct SharedLimits {
    std::mutex mutex;
    std::map<const void *, std::size_t> bytes;
};
SharedLimits &shared_limits() {
    static SharedLimits &l = *new SharedLimits; // never destroyed, like the other registries
    return l;
}

std::size_t max_dynamic_shared(const void *kernel) {
    if (kernel == nullptr) return kDefaultDynamicShared;
    SharedLimits &l = shared_limits();
    std::lock_guard lock(l.mutex);
    const auto it = l.bytes.find(kernel);
    return it == l.bytes.end() ? kDefaultDynamicShared : it->second;
}

} // namespace

cudaError_t set_max_dynamic_shared(const void *kernel, int bytes) {
    if (kernel == nullptr || bytes < 0 || static_cast<std::size_t>(bytes) > kMaxDynamicShared)
        return fail(cudaErrorInvalidValue);
    SharedLimits &l = shared_limits();
    std::lock_guard lock(l.mutex);
    l.bytes[kernel] = static_cast<std::size_t>(bytes);
    return cudaSuccess;
}

void *dynamic_shared() {
    if (!t_thread.in_kernel) die("TL_DYNAMIC_SHARED used outside a kernel");
    return g_launch.shared_bytes > 0 ? g_launch.shared : nullptr;
}

void launch_erased(dim3 grid, dim3 block, std::size_t shared_bytes, cudaStream_t stream, const char *kernel_name,
                   const void *kernel, KernelThunk thunk, const void *kernel_call) {
    if (t_thread.in_kernel) die("launched %s from a kernel; dynamic parallelism is not emulated", kernel_name);
    const std::uint64_t threads = std::uint64_t{block.x} * block.y * block.z;
    const bool valid = threads >= 1 && threads <= kMaxThreadsPerBlock && block.z <= 64 && grid.x >= 1 &&
                       grid.x <= INT_MAX && grid.y >= 1 && grid.y <= 65535 && grid.z >= 1 && grid.z <= 65535;
    if (!valid) {
        fail(cudaErrorInvalidConfiguration);
        return;
    }
    // More than 48 KiB only after the kernel opted in, as on a GPU, which answers "invalid argument".
    if (shared_bytes > max_dynamic_shared(kernel)) {
        fail(cudaErrorInvalidValue);
        return;
    }
    if (!is_stream(stream)) {
        fail(cudaErrorInvalidResourceHandle);
        return;
    }
    std::lock_guard lock(g_launch_mutex);
    grow_pool(static_cast<unsigned>(threads));
    Launch &l = g_launch;
    l.kernel_name = kernel_name;
    l.grid = grid;
    l.block = block;
    l.shared_bytes = shared_bytes;
    l.thunk = thunk;
    l.kernel_call = kernel_call;
    l.threads = static_cast<std::uint32_t>(threads);
    for (unsigned z = 0; z < grid.z; ++z)
        for (unsigned y = 0; y < grid.y; ++y)
            for (unsigned x = 0; x < grid.x; ++x) run_block({x, y, z});
}

} // namespace tl_emu

using tl_emu::fail;
using tl_emu::memory;

// ---- device-side functions that need the running block ---------------------------------------------------

void __syncthreads() {
    using tl_emu::g_launch;
    if (!tl_emu::t_thread.in_kernel) tl_emu::die("__syncthreads called outside a kernel");
    if (g_launch.block_barrier.arrive_and_wait("__syncthreads") != g_launch.threads)
        tl_emu::die("reached __syncthreads after another thread of its block returned from the kernel; on a GPU "
                    "that is undefined (a __syncthreads that not every thread reaches)");
}

void __syncwarp(unsigned mask) { tl_emu::warp_of_caller("__syncwarp", mask).barrier.arrive_and_wait("__syncwarp"); }

unsigned __activemask() {
    if (!tl_emu::t_thread.in_kernel) tl_emu::die("__activemask called outside a kernel");
    return tl_emu::g_launch.warps[tl_emu::t_thread.linear / 32].live.load(std::memory_order_relaxed);
}

// ---- runtime API ---------------------------------------------------------------------------------------------

const char *cudaGetErrorName(cudaError_t error) {
    switch (error) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidMemcpyDirection: return "cudaErrorInvalidMemcpyDirection";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
    case cudaErrorNotReady: return "cudaErrorNotReady";
    case cudaErrorIllegalAddress: return "cudaErrorIllegalAddress";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
    }
    return "unrecognized error code";
}

const char *cudaGetErrorString(cudaError_t error) { // CUDA's own wording
    switch (error) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidMemcpyDirection: return "invalid copy direction for memcpy";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorNotReady: return "device not ready";
    case cudaErrorIllegalAddress: return "an illegal memory access was encountered";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
    }
    return "unrecognized error code";
}

cudaError_t cudaGetLastError() { return std::exchange(tl_emu::t_last_error, cudaSuccess); }
cudaError_t cudaPeekAtLastError() { return tl_emu::t_last_error; }

cudaError_t cudaGetDeviceCount(int *count) {
    if (count == nullptr) return fail(cudaErrorInvalidValue);
    *count = 1;
    return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) { return device == 0 ? cudaSuccess : fail(cudaErrorInvalidDevice); }

cudaError_t cudaGetDevice(int *device) {
    if (device == nullptr) return fail(cudaErrorInvalidValue);
    *device = 0;
    return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp *prop, int device) {
    if (prop == nullptr) return fail(cudaErrorInvalidValue);
    if (device != 0) return fail(cudaErrorInvalidDevice);
    *prop = cudaDeviceProp{};
    std::snprintf(prop->name, sizeof prop->name, "%s", "tensorloom CPU emulation");
    prop->totalGlobalMem = tl_emu::device_capacity();
    prop->sharedMemPerBlock = 48 * 1024;
    prop->sharedMemPerBlockOptin = tl_emu::kMaxDynamicShared;
    prop->warpSize = warpSize;
    prop->maxThreadsPerBlock = static_cast<int>(tl_emu::kMaxThreadsPerBlock);
    prop->maxThreadsDim[0] = 1024;
    prop->maxThreadsDim[1] = 1024;
    prop->maxThreadsDim[2] = 64;
    prop->maxGridSize[0] = INT_MAX;
    prop->maxGridSize[1] = 65535;
    prop->maxGridSize[2] = 65535;
    prop->multiProcessorCount = tl_emu::sm_count();
    return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize() { return cudaSuccess; } // every launch and copy has already finished

cudaError_t cudaMalloc(void **devPtr, std::size_t size) {
    if (devPtr == nullptr) return fail(cudaErrorInvalidValue);
    *devPtr = nullptr;
    if (size == 0) return cudaSuccess; // as CUDA: success and a null pointer
    constexpr std::size_t kAlignment = 256;
    const std::size_t rounded = (size + kAlignment - 1) / kAlignment * kAlignment;
    auto &m = memory();
    std::lock_guard lock(m.mutex);
    // The capacity check comes first, so a huge request fails the same way on every machine instead of
    // depending on the host's overcommit policy.
    if (rounded < size || rounded > tl_emu::device_capacity() - m.in_use) return fail(cudaErrorMemoryAllocation);
    void *p = ::operator new(rounded, std::align_val_t{kAlignment}, std::nothrow);
    if (p == nullptr) return fail(cudaErrorMemoryAllocation);
    std::memset(p, 0xFF, rounded); // uninitialised device memory reads as NaN, so a kernel that relies on zeros fails
    m.blocks.emplace(reinterpret_cast<std::uintptr_t>(p), rounded);
    m.in_use += rounded;
    *devPtr = p;
    return cudaSuccess;
}

cudaError_t cudaFree(void *devPtr) {
    if (devPtr == nullptr) return cudaSuccess;
    auto &m = memory();
    std::lock_guard lock(m.mutex);
    const auto it = m.blocks.find(reinterpret_cast<std::uintptr_t>(devPtr));
    if (it == m.blocks.end()) return fail(cudaErrorInvalidValue);
    m.in_use -= it->second;
    m.blocks.erase(it);
    ::operator delete(devPtr, std::align_val_t{256});
    return cudaSuccess;
}

cudaError_t cudaMemGetInfo(std::size_t *free, std::size_t *total) {
    if (free == nullptr || total == nullptr) return fail(cudaErrorInvalidValue);
    auto &m = memory();
    std::lock_guard lock(m.mutex);
    *total = tl_emu::device_capacity();
    *free = tl_emu::device_capacity() - m.in_use;
    return cudaSuccess;
}

cudaError_t cudaMemcpy(void *dst, const void *src, std::size_t count, cudaMemcpyKind kind) {
    if (kind < cudaMemcpyHostToHost || kind > cudaMemcpyDefault) return fail(cudaErrorInvalidMemcpyDirection);
    if (count == 0) return cudaSuccess;
    if (dst == nullptr || src == nullptr) return fail(cudaErrorInvalidValue);
    {
        // The device side of a copy must lie inside one allocation, as on a GPU (where it would fault).
        auto &m = memory();
        std::lock_guard lock(m.mutex);
        const bool dst_on_device = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
        const bool src_on_device = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
        if ((dst_on_device && !m.holds(dst, count)) || (src_on_device && !m.holds(src, count)))
            return fail(cudaErrorInvalidValue);
    }
    std::memmove(dst, src, count);
    return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void *dst, const void *src, std::size_t count, cudaMemcpyKind kind, cudaStream_t stream) {
    if (!tl_emu::is_stream(stream)) return fail(cudaErrorInvalidResourceHandle);
    return cudaMemcpy(dst, src, count, kind);
}

cudaError_t cudaMemset(void *devPtr, int value, std::size_t count) {
    if (count == 0) return cudaSuccess;
    {
        auto &m = memory();
        std::lock_guard lock(m.mutex);
        if (!m.holds(devPtr, count)) return fail(cudaErrorInvalidValue);
    }
    std::memset(devPtr, value, count);
    return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void *devPtr, int value, std::size_t count, cudaStream_t stream) {
    if (!tl_emu::is_stream(stream)) return fail(cudaErrorInvalidResourceHandle);
    return cudaMemset(devPtr, value, count);
}

struct CUstream_st {}; // work never waits in a stream: every call finishes before it returns
struct CUevent_st {
    std::chrono::steady_clock::time_point time;
    bool recorded = false;
};

cudaError_t cudaStreamCreate(cudaStream_t *stream) { return cudaStreamCreateWithFlags(stream, cudaStreamDefault); }

cudaError_t cudaStreamCreateWithFlags(cudaStream_t *stream, unsigned int flags) {
    if (stream == nullptr || (flags != cudaStreamDefault && flags != cudaStreamNonBlocking))
        return fail(cudaErrorInvalidValue);
    auto &h = tl_emu::handles();
    std::lock_guard lock(h.mutex);
    *stream = new CUstream_st;
    h.streams.insert(*stream);
    return cudaSuccess;
}

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
    auto &h = tl_emu::handles();
    std::lock_guard lock(h.mutex);
    if (h.streams.erase(stream) == 0) return fail(cudaErrorInvalidResourceHandle);
    delete stream;
    return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
    return tl_emu::is_stream(stream) ? cudaSuccess : fail(cudaErrorInvalidResourceHandle);
}

cudaError_t cudaStreamQuery(cudaStream_t stream) { return cudaStreamSynchronize(stream); }

cudaError_t cudaEventCreate(cudaEvent_t *event) {
    if (event == nullptr) return fail(cudaErrorInvalidValue);
    auto &h = tl_emu::handles();
    std::lock_guard lock(h.mutex);
    *event = new CUevent_st;
    h.events.insert(*event);
    return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
    if (!tl_emu::is_stream(stream)) return fail(cudaErrorInvalidResourceHandle);
    auto &h = tl_emu::handles();
    std::lock_guard lock(h.mutex);
    if (!h.events.contains(event)) return fail(cudaErrorInvalidResourceHandle);
    event->time = std::chrono::steady_clock::now();
    event->recorded = true;
    return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t event) {
    return tl_emu::is_event(event) ? cudaSuccess : fail(cudaErrorInvalidResourceHandle);
}

cudaError_t cudaEventQuery(cudaEvent_t event) { return cudaEventSynchronize(event); }

cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t start, cudaEvent_t end) {
    if (ms == nullptr) return fail(cudaErrorInvalidValue);
    auto &h = tl_emu::handles();
    std::lock_guard lock(h.mutex);
    if (!h.events.contains(start) || !h.events.contains(end) || !start->recorded || !end->recorded)
        return fail(cudaErrorInvalidResourceHandle);
    *ms = std::chrono::duration<float, std::milli>(end->time - start->time).count();
    return cudaSuccess;
}

cudaError_t cudaEventDestroy(cudaEvent_t event) {
    auto &h = tl_emu::handles();
    std::lock_guard lock(h.mutex);
    if (h.events.erase(event) == 0) return fail(cudaErrorInvalidResourceHandle);
    delete event;
    return cudaSuccess;
}
