// The CUDA-on-CPU emulation behind cuda_emu.h: the fibers and worker threads that run a block's threads, the
// barrier that __syncthreads and the warp exchanges use, and the runtime API over host memory.
//
// Every CUDA thread of a block is a fiber (its own stack and saved registers), and the fibers are dealt out to a few
// worker threads, one per core (at least two): fiber i always runs on worker i % workers(). A fiber that waits at
// a barrier or a warp exchange switches to its worker's next fiber, in user space, so a barrier round of 256
// threads on 2 cores costs 256 such switches where 256 OS threads cost 255 futex wake-ups and context switches
// (about 1 ms a round; CI spent minutes there). The workers run at once, so fibers of different workers race
// for real; a worker runs its own fibers in turn, in an order reversed at every pass over them (the first pass
// from the highest index down), so that a read which relies on another thread's write without a barrier between
// them reads the 0xFF fill of shared memory in one order or the other. A worker whose fibers all wait sleeps on a
// futex (Linux; std::atomic wait elsewhere, without the hang timeout) until some barrier is released.
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

#include <sys/mman.h>
#include <unistd.h>
#if !defined(__x86_64__) || defined(TL_EMU_UCONTEXT)
#include <ucontext.h>
#endif

#if defined(__SANITIZE_ADDRESS__)
#define TL_EMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TL_EMU_ASAN 1
#endif
#endif
#if defined(TL_EMU_ASAN)
#include <sanitizer/common_interface_defs.h>
#endif

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
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

    std::uint32_t arrived() const { return static_cast<std::uint32_t>(state_.load(std::memory_order_relaxed)); }
    std::uint32_t expected() const {
        return static_cast<std::uint32_t>(state_.load(std::memory_order_relaxed) >> 32);
    }

  private:
    void release();
    void wait(std::uint32_t generation, const char *op);

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
    else wait(generation, op);
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

// ---- fibers and workers (the file's first comment says why) -------------------------------------------------

constexpr unsigned kMaxWorkers = 64;
// A kernel's locals live here: a few KiB at most in tensorloom's kernels, far more under ASan. Reserved, not
// committed: only the pages a fiber touches take memory.
constexpr std::size_t kFiberStack = std::size_t{512} << 10;

unsigned workers() {
    static const unsigned n = std::clamp(cores(), 2u, kMaxWorkers); // two, so one stuck fiber cannot hide a hang
    return n;
}

// ---- switching stacks ------------------------------------------------------------------------------------
// On x86-64 a switch saves the callee-saved registers and the floating-point control words on the old stack and
// pops them from the new one: a few nanoseconds, where swapcontext also makes a system call for the signal mask
// (about 0.4 us, most of a barrier round's cost). Elsewhere, ucontext.

void fiber_main();

#if defined(__x86_64__) && !defined(TL_EMU_UCONTEXT) // TL_EMU_UCONTEXT: the portable path, to test it here
extern "C" void tl_emu_switch(void **save_sp, void *load_sp);
asm(R"(
    .pushsection .text
    .p2align 4
    .type tl_emu_switch, @function
    .hidden tl_emu_switch
tl_emu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size tl_emu_switch, .-tl_emu_switch
    .popsection
)");

struct Context {
    void *sp = nullptr;
};

// A stack that "returns" into fiber_main, as if tl_emu_switch had been called from it: the control words, six
// zeroed registers, fiber_main's address, and a null return address for fiber_main itself (which never returns),
// so that fiber_main starts with the stack aligned as after a call.
void make_context(Context &c, char *stack, std::size_t size) {
    auto *top = reinterpret_cast<std::uint64_t *>(reinterpret_cast<std::uintptr_t>(stack + size) & ~std::uintptr_t{15});
    *--top = 0;
    *--top = reinterpret_cast<std::uint64_t>(&fiber_main);
    for (int r = 0; r < 6; ++r) *--top = 0;
    *--top = std::uint64_t{0x037F} << 32 | 0x1F80; // x87 control word, MXCSR: the defaults
    c.sp = top;
}

void switch_context(Context &from, const Context &to) { tl_emu_switch(&from.sp, to.sp); }
#else
struct Context {
    ucontext_t uc;
};

void make_context(Context &c, char *stack, std::size_t size) {
    if (getcontext(&c.uc) != 0) die("getcontext failed");
    c.uc.uc_stack.ss_sp = stack;
    c.uc.uc_stack.ss_size = size;
    c.uc.uc_link = nullptr; // fiber_main never returns
    makecontext(&c.uc, fiber_main, 0);
}

void switch_context(Context &from, const Context &to) { swapcontext(&from.uc, &to.uc); }
#endif

struct Fiber {
    Context context;
    ThreadContext thread;       // the fiber's t_thread while it is switched out
    char *stack = nullptr;      // lowest usable address, above a guard page
    void *fake_stack = nullptr; // ASan's, saved across switches
    bool finished = true;       // its CUDA thread of the current block has returned
};
Fiber g_fibers[kMaxThreadsPerBlock];
unsigned g_fiber_count = 0; // guarded by g_launch_mutex

struct alignas(64) Worker {
    Word go{0};          // bumped by the launching thread to start the worker on the current block
    Context home;        // the worker's own stack, where its fibers switch back to
    unsigned current = 0; // the fiber running now
    // The last wait of one of its fibers, for the message when nothing releases it.
    const Barrier *waiting_at = nullptr;
    const char *waiting_op = "";
    unsigned waiting_fiber = 0;
    const void *home_bottom = nullptr; // the worker's stack, as ASan needs it to switch back
    std::size_t home_size = 0;
    void *fake_stack = nullptr;
};
Worker g_workers[kMaxWorkers];
bool g_workers_started = false; // guarded by g_launch_mutex
thread_local Worker *t_worker = nullptr;
Word g_running{0};  // workers still running fibers of the current block
Word g_releases{0}; // barrier releases so far: a worker whose fibers all wait sleeps until it changes
std::atomic<std::uint32_t> g_sleepers{0};

// ASan keeps its own idea of the current stack: each switch is announced before and confirmed after.
void switch_starts([[maybe_unused]] void **fake_stack, [[maybe_unused]] const void *bottom,
                   [[maybe_unused]] std::size_t size) {
#if defined(TL_EMU_ASAN)
    __sanitizer_start_switch_fiber(fake_stack, bottom, size);
#endif
}
void switch_ends([[maybe_unused]] void *fake_stack, [[maybe_unused]] const void **old_bottom,
                 [[maybe_unused]] std::size_t *old_size) {
#if defined(TL_EMU_ASAN)
    __sanitizer_finish_switch_fiber(fake_stack, old_bottom, old_size);
#endif
}

// From a worker's own stack into fiber `index`, until it waits or its CUDA thread returns.
void run_fiber(Worker &w, unsigned index) {
    Fiber &f = g_fibers[index];
    w.current = index;
    t_thread = f.thread;
    switch_starts(&w.fake_stack, f.stack, kFiberStack);
    switch_context(w.home, f.context);
    switch_ends(w.fake_stack, nullptr, nullptr);
    f.thread = t_thread;
    t_thread = ThreadContext{};
}

// From the running fiber back to its worker's own stack.
void switch_home() {
    Worker &w = *t_worker;
    Fiber &f = g_fibers[w.current];
    switch_starts(&f.fake_stack, w.home_bottom, w.home_size);
    switch_context(f.context, w.home);
    switch_ends(f.fake_stack, nullptr, nullptr);
}

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

// Fiber i runs CUDA thread i of every block, always on the same worker (so the thread-local variables its
// frames refer to stay its worker's); run_fiber names it in t_worker->current before its first switch.
void fiber_main() {
    switch_ends(nullptr, &t_worker->home_bottom, &t_worker->home_size);
    const unsigned index = t_worker->current;
    for (;;) {
        run_cuda_thread(index);
        g_fibers[index].finished = true;
        switch_home();
    }
}

// A fiber at a barrier that is not complete yet: its worker runs its other fibers meanwhile.
void wait_elsewhere(const Barrier &barrier, const char *op) {
    Worker &w = *t_worker;
    w.waiting_at = &barrier;
    w.waiting_op = op;
    w.waiting_fiber = w.current;
    switch_home();
}

[[noreturn]] void hang(const Worker &w) {
    t_thread = g_fibers[w.waiting_fiber].thread; // the message names the waiting thread
    die("%s has waited %ld s with %u of %u threads arrived; on a GPU this hangs (a barrier or warp operation "
        "that some threads never reach)",
        w.waiting_op, barrier_timeout_seconds(), w.waiting_at->arrived(), w.waiting_at->expected());
}

// Every unfinished fiber of `w` waits for a barrier that fibers of other workers must complete.
void wait_for_release(const Worker &w, std::uint32_t seen) {
    if (workers() <= cores())
        for (int spin = 0; spin < 4000; ++spin)
            if (g_releases.load(std::memory_order_acquire) != seen) return;
    g_sleepers.fetch_add(1, std::memory_order_seq_cst);
    while (g_releases.load(std::memory_order_seq_cst) == seen)
        if (!sleep_while(g_releases, seen, barrier_timeout_seconds()) &&
            g_releases.load(std::memory_order_acquire) == seen)
            hang(w);
    g_sleepers.fetch_sub(1, std::memory_order_relaxed);
}

// Worker `index` runs its fibers of the current block until their CUDA threads have returned.
void run_fibers(Worker &w, unsigned index) {
    const unsigned threads = g_launch.threads, step = workers(); // run_block starts only workers below threads
    const unsigned count = (threads - index + step - 1) / step;
    unsigned left = count;
    for (bool reverse = true; left > 0; reverse = !reverse) {
        const std::uint32_t seen = g_releases.load(std::memory_order_acquire);
        for (unsigned k = 0; k < count; ++k) {
            const unsigned fiber = index + step * (reverse ? count - 1 - k : k);
            if (g_fibers[fiber].finished) continue;
            run_fiber(w, fiber);
            if (g_fibers[fiber].finished) --left;
        }
        if (left > 0 && g_releases.load(std::memory_order_acquire) == seen) wait_for_release(w, seen);
    }
}

[[noreturn]] void worker_main(unsigned index) {
    Worker &w = g_workers[index];
    t_worker = &w;
    std::uint32_t seen = 0;
    for (;;) {
        std::uint32_t now;
        while ((now = w.go.load(std::memory_order_acquire)) == seen) sleep_while(w.go, seen, 0);
        seen = now;
        run_fibers(w, index);
        if (g_running.fetch_sub(1, std::memory_order_acq_rel) == 1) wake(g_running, 1);
    }
}

// Caller holds g_launch_mutex.
void start_workers() {
    if (g_workers_started) return;
    for (unsigned w = 0; w < workers(); ++w) {
        try {
            std::thread(worker_main, w).detach(); // workers live as long as the process
        } catch (const std::system_error &e) {
            die("could not start emulation worker %u: %s", w, e.what());
        }
    }
    g_workers_started = true;
}

// Fibers, with their stacks, for CUDA threads [0, threads). Caller holds g_launch_mutex.
void grow_fibers(unsigned threads) {
    const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    for (; g_fiber_count < threads; ++g_fiber_count) {
        Fiber &f = g_fibers[g_fiber_count];
        void *region = mmap(nullptr, page + kFiberStack, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (region == MAP_FAILED || mprotect(region, page, PROT_NONE) != 0)
            die("could not map a %zu KiB stack for emulated thread %u", kFiberStack >> 10, g_fiber_count);
        f.stack = static_cast<char *>(region) + page; // the guard page below it turns an overflow into a fault
        make_context(f.context, f.stack, kFiberStack);
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
    for (unsigned i = 0; i < l.threads; ++i) g_fibers[i].finished = false;
    const unsigned active = std::min(workers(), l.threads);
    g_running.store(active, std::memory_order_relaxed);
    for (unsigned w = 0; w < active; ++w) {
        g_workers[w].go.fetch_add(1, std::memory_order_release); // publishes the block
        wake(g_workers[w].go, 1);
    }
    for (std::uint32_t running; (running = g_running.load(std::memory_order_acquire)) != 0;)
        sleep_while(g_running, running, 0);
}

void Barrier::release() {
    generation_.fetch_add(1, std::memory_order_release);
    g_releases.fetch_add(1, std::memory_order_seq_cst);
    if (g_sleepers.load(std::memory_order_seq_cst) > 0) wake(g_releases, INT_MAX);
}

void Barrier::wait(std::uint32_t generation, const char *op) {
    while (generation_.load(std::memory_order_acquire) == generation) wait_elsewhere(*this, op);
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
    start_workers();
    grow_fibers(static_cast<unsigned>(threads));
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
