// Buffers, streams and copies. Handles come from and go back to the registry (registry.cu); a stream's
// state, its device scratch and host staging, lives here.
#include "tl_internal.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace tl {

// A stream's state lives as long as its last reference: the registry's, until tl_stream_destroy, and the
// reference that get_stream leaves with the calling thread (below). tl_stream_destroy drains the stream,
// frees its scratch and staging and marks it retired at once; the cudaStream_t itself goes with the state,
// so a launch that looked the stream up before the destroy still queues on a live stream.
struct StreamState {
    cudaStream_t stream = nullptr;
    bool retired = false;  // tl_stream_destroy has run: no new use of the scratch or staging
    std::mutex scratch_mutex;
    void *scratch = nullptr;
    uint64_t scratch_bytes = 0;
    // Host staging for stream_upload (pinned on a GPU), and an event recorded after the last copy out of
    // it: the staging is not overwritten or freed before that copy has read it.
    void *staging = nullptr;
    uint64_t staging_bytes = 0;
    cudaEvent_t staged = nullptr;
    bool staged_pending = false;

    ~StreamState() {
        // Work queued after the destroy still runs: cudaStreamDestroy releases the stream once it has.
        if (stream && cudaStreamDestroy(stream) != cudaSuccess) (void)cudaGetLastError();
    }
};

namespace {

cudaError_t host_staging_alloc(void **p, uint64_t bytes) {
#if defined(__CUDACC__)
    return cudaMallocHost(p, size_t(bytes));
#else
    *p = std::malloc(size_t(bytes));
    return *p ? cudaSuccess : cudaErrorMemoryAllocation;
#endif
}

void host_staging_free(void *p) {
    if (!p) return;
#if defined(__CUDACC__)
    (void)cudaFreeHost(p);
#else
    std::free(p);
#endif
}

// A byte range [offset, offset + bytes) of a buffer.
tl_status check_range(const char *fn, const char *what, const Buffer &b, uint64_t offset, uint64_t bytes) {
    uint64_t end;
    if (__builtin_add_overflow(offset, bytes, &end) || end > b.bytes)
        return fail(TL_ERROR_INVALID_ARGUMENT, "%s: %s range [offset=%llu, bytes=%llu] exceeds buffer of %llu bytes",
                    fn, what, (unsigned long long)offset, (unsigned long long)bytes, (unsigned long long)b.bytes);
    return TL_OK;
}

}  // namespace

namespace {
// The stream this host thread looked up last. A function looks its stream up, checks its operands and then
// queues its work; holding the state from the look-up until the thread's next look-up keeps the cudaStream_t
// alive across that launch, so a tl_stream_destroy on another thread in between cannot leave the work on a
// destroyed stream (undefined on a GPU; the emulation would report an invalid handle).
thread_local std::shared_ptr<StreamState> t_stream_in_use;
}  // namespace

tl_status get_stream(const char *fn, tl_stream handle, cudaStream_t *out) {
    *out = nullptr;  // set on every path: callers only read it after TL_OK, but the compiler cannot see that
    std::shared_ptr<StreamState> state;
    TL_TRY(lookup_stream(fn, handle, &state));
    *out = state->stream;
    t_stream_in_use = std::move(state);
    return TL_OK;
}

namespace {
// Grows the stream's device scratch; the caller holds state.scratch_mutex.
tl_status grow_scratch(const char *fn, StreamState &st, uint64_t bytes) {
    StreamState *state = &st;
    if (state->scratch_bytes < bytes) {
        uint64_t grown = state->scratch_bytes * 2;
        if (grown < bytes) grown = bytes;
        if (grown < 4096) grown = 4096;
        if (state->scratch) {
            // Earlier work on this stream may still read the old scratch.
            cudaError_t e = cudaStreamSynchronize(state->stream);
            if (e != cudaSuccess) return cuda_fail(fn, "cudaStreamSynchronize", e, true);
            e = cudaFree(state->scratch);
            state->scratch = nullptr;
            state->scratch_bytes = 0;
            if (e != cudaSuccess) return cuda_fail(fn, "cudaFree (stream scratch)", e, false);
        }
        void *p = nullptr;
        cudaError_t e = cudaMalloc(&p, size_t(grown));
        if (e != cudaSuccess) {
            char call[96];
            std::snprintf(call, sizeof call, "cudaMalloc(%llu) for the stream scratch", (unsigned long long)grown);
            return cuda_fail(fn, call, e, false);
        }
        state->scratch = p;
        state->scratch_bytes = grown;
    }
    return TL_OK;
}
}  // namespace

tl_status stream_scratch(const char *fn, tl_stream handle, uint64_t bytes, void **scratch,
                         std::unique_lock<std::mutex> *lock) {
    std::shared_ptr<StreamState> state;
    TL_TRY(lookup_stream(fn, handle, &state));
    std::unique_lock<std::mutex> guard(state->scratch_mutex);
    if (state->retired)  // destroyed by another thread between the look-up and the lock
        return fail(TL_ERROR_INVALID_HANDLE, "%s: stream %p was destroyed", fn, static_cast<void *>(handle));
    TL_TRY(grow_scratch(fn, *state, bytes));
    *scratch = state->scratch;
    // The state outlives the lock even if the stream is destroyed meanwhile: destroy takes this lock.
    *lock = std::move(guard);
    return TL_OK;
}

tl_status stream_upload(const char *fn, tl_stream handle, const void *host, uint64_t bytes, void **scratch,
                        std::unique_lock<std::mutex> *lock) {
    std::shared_ptr<StreamState> state;
    TL_TRY(lookup_stream(fn, handle, &state));
    std::unique_lock<std::mutex> guard(state->scratch_mutex);
    if (state->retired)  // destroyed by another thread between the look-up and the lock
        return fail(TL_ERROR_INVALID_HANDLE, "%s: stream %p was destroyed", fn, static_cast<void *>(handle));
    cudaError_t e;
    if (!state->staged) {
#if defined(__CUDACC__)
        e = cudaEventCreateWithFlags(&state->staged, cudaEventDisableTiming);
#else
        e = cudaEventCreate(&state->staged);
#endif
        if (e != cudaSuccess) {
            state->staged = nullptr;
            return cuda_fail(fn, "cudaEventCreate (upload staging)", e, false);
        }
    }
    // The previous upload's copy must have read the staging before it is overwritten or freed. That copy
    // was queued behind the work before it, so this seldom waits in a pipeline that reads results back.
    if (state->staged_pending) {
        e = cudaEventSynchronize(state->staged);
        if (e != cudaSuccess) return cuda_fail(fn, "cudaEventSynchronize (upload staging)", e, true);
        state->staged_pending = false;
    }
    TL_TRY(grow_scratch(fn, *state, bytes));
    if (state->staging_bytes < bytes) {
        uint64_t grown = state->staging_bytes * 2;
        if (grown < bytes) grown = bytes;
        if (grown < 4096) grown = 4096;
        host_staging_free(state->staging);
        state->staging = nullptr;
        state->staging_bytes = 0;
        void *p = nullptr;
        e = host_staging_alloc(&p, grown);
        if (e != cudaSuccess) {
            char call[96];
            std::snprintf(call, sizeof call, "cudaMallocHost(%llu) for the upload staging", (unsigned long long)grown);
            return cuda_fail(fn, call, e, false);
        }
        state->staging = p;
        state->staging_bytes = grown;
    }
    // The caller's memory is read here, synchronously: it may be reused (or be pinned, or managed) as soon as
    // this returns, whatever the driver does with the asynchronous copy below.
    std::memcpy(state->staging, host, size_t(bytes));
    e = cudaMemcpyAsync(state->scratch, state->staging, size_t(bytes), cudaMemcpyHostToDevice, state->stream);
    if (e != cudaSuccess) return cuda_fail(fn, "cudaMemcpyAsync(upload staging to stream scratch)", e, false);
    e = cudaEventRecord(state->staged, state->stream);
    if (e != cudaSuccess) {
        // Without the event the staging cannot be known free: wait for the copy itself.
        cudaError_t sync = cudaStreamSynchronize(state->stream);
        if (sync != cudaSuccess) return cuda_fail(fn, "cudaStreamSynchronize", sync, true);
        (void)cudaGetLastError();
    } else {
        state->staged_pending = true;
    }
    *scratch = state->scratch;
    *lock = std::move(guard);
    return TL_OK;
}

}  // namespace tl

using namespace tl;

namespace {
// A copy between host and device that has finished when it returns, as the header promises for host
// memory: queued on the stream (behind the work that produces or consumes it), then waited for.
tl_status copy_and_wait(const char *fn, cudaStream_t s, void *dest, const void *source, uint64_t bytes,
                        cudaMemcpyKind kind, const char *call) {
    cudaError_t e = cudaMemcpyAsync(dest, source, size_t(bytes), kind, s);
    if (e != cudaSuccess) return cuda_fail(fn, call, e, false);
    e = cudaStreamSynchronize(s);
    if (e != cudaSuccess) return cuda_fail(fn, "cudaStreamSynchronize", e, true);
    return TL_OK;
}
}  // namespace


extern "C" {

TL_API tl_status tl_memory_in_use(uint64_t *bytes, int64_t *count) {
    if (!bytes || !count) return fail(TL_ERROR_INVALID_ARGUMENT, "tl_memory_in_use: bytes or buffers is null");
    buffers_in_use(bytes, count);
    return TL_OK;
}

TL_API tl_status tl_malloc(uint64_t bytes, tl_buffer *buffer) {
    static const char *fn = "tl_malloc";
    if (!buffer) return fail(TL_ERROR_INVALID_ARGUMENT, "%s: buffer is null", fn);
    *buffer = nullptr;
    if (bytes == 0) return fail(TL_ERROR_INVALID_ARGUMENT, "%s: bytes = 0; a buffer needs at least one byte", fn);
    void *p = nullptr;
    cudaError_t e = cudaMalloc(&p, size_t(bytes));
    if (e != cudaSuccess) {
        char call[64];
        std::snprintf(call, sizeof call, "cudaMalloc(%llu bytes)", (unsigned long long)bytes);
        return cuda_fail(fn, call, e, false);
    }
    Buffer b;
    b.ptr = p;
    b.bytes = bytes;
    tl_buffer handle = register_buffer(b);
    if (!handle) {
        cudaFree(p);
        return fail(TL_ERROR_OUT_OF_MEMORY, "%s: too many live buffers", fn);
    }
    *buffer = handle;
    return TL_OK;
}

TL_API tl_status tl_free(tl_buffer buffer) {
    static const char *fn = "tl_free";
    if (!buffer) return fail(TL_ERROR_INVALID_HANDLE, "%s: buffer is null", fn);
    Buffer b;
    if (!unregister_buffer(buffer, &b))
        return fail(TL_ERROR_INVALID_HANDLE, "%s: buffer %p is not a live tl_buffer (freed twice or never allocated)",
                    fn, static_cast<void *>(buffer));
    cudaError_t e = cudaFree(b.ptr);
    if (e != cudaSuccess) return cuda_fail(fn, "cudaFree", e, false);
    return TL_OK;
}

TL_API tl_status tl_buffer_size(tl_buffer buffer, uint64_t *bytes) {
    static const char *fn = "tl_buffer_size";
    if (!bytes) return fail(TL_ERROR_INVALID_ARGUMENT, "%s: bytes is null", fn);
    Buffer b;
    TL_TRY(get_buffer(fn, "buffer", buffer, &b));
    *bytes = b.bytes;
    return TL_OK;
}

TL_API tl_status tl_buffer_device_pointer(tl_buffer buffer, void **device_pointer) {
    static const char *fn = "tl_buffer_device_pointer";
    if (!device_pointer) return fail(TL_ERROR_INVALID_ARGUMENT, "%s: device_pointer is null", fn);
    Buffer b;
    TL_TRY(get_buffer(fn, "buffer", buffer, &b));
    *device_pointer = b.ptr;
    return TL_OK;
}

TL_API tl_status tl_copy_to_device(tl_stream stream, tl_buffer dest, uint64_t dest_offset, const void *source,
                                   uint64_t bytes) {
    static const char *fn = "tl_copy_to_device";
    cudaStream_t s;
    Buffer d;
    TL_TRY(get_stream(fn, stream, &s));
    TL_TRY(get_buffer(fn, "dest", dest, &d));
    TL_TRY(check_range(fn, "dest", d, dest_offset, bytes));
    if (bytes == 0) return TL_OK;
    if (!source) return fail(TL_ERROR_INVALID_ARGUMENT, "%s: source is null", fn);
    return copy_and_wait(fn, s, static_cast<char *>(d.ptr) + dest_offset, source, bytes, cudaMemcpyHostToDevice,
                         "cudaMemcpyAsync(host to device)");
}

TL_API tl_status tl_copy_to_host(tl_stream stream, void *dest, tl_buffer source, uint64_t source_offset,
                                 uint64_t bytes) {
    static const char *fn = "tl_copy_to_host";
    cudaStream_t s;
    Buffer b;
    TL_TRY(get_stream(fn, stream, &s));
    TL_TRY(get_buffer(fn, "source", source, &b));
    TL_TRY(check_range(fn, "source", b, source_offset, bytes));
    if (bytes == 0) return TL_OK;
    if (!dest) return fail(TL_ERROR_INVALID_ARGUMENT, "%s: dest is null", fn);
    return copy_and_wait(fn, s, dest, static_cast<const char *>(b.ptr) + source_offset, bytes, cudaMemcpyDeviceToHost,
                         "cudaMemcpyAsync(device to host)");
}

TL_API tl_status tl_copy_on_device(tl_stream stream, tl_buffer dest, uint64_t dest_offset, tl_buffer source,
                                   uint64_t source_offset, uint64_t bytes) {
    static const char *fn = "tl_copy_on_device";
    cudaStream_t s;
    Buffer d, b;
    TL_TRY(get_stream(fn, stream, &s));
    TL_TRY(get_buffer(fn, "dest", dest, &d));
    TL_TRY(get_buffer(fn, "source", source, &b));
    TL_TRY(check_range(fn, "dest", d, dest_offset, bytes));
    TL_TRY(check_range(fn, "source", b, source_offset, bytes));
    if (bytes == 0) return TL_OK;
    const char *dp = static_cast<const char *>(d.ptr) + dest_offset;
    const char *sp = static_cast<const char *>(b.ptr) + source_offset;
    if (dp < sp + bytes && sp < dp + bytes)
        return fail(TL_ERROR_INVALID_ARGUMENT, "%s: dest [offset=%llu] and source [offset=%llu] of %llu bytes overlap",
                    fn, (unsigned long long)dest_offset, (unsigned long long)source_offset,
                    (unsigned long long)bytes);
    cudaError_t e = cudaMemcpyAsync(static_cast<char *>(d.ptr) + dest_offset, sp, size_t(bytes),
                                    cudaMemcpyDeviceToDevice, s);
    if (e != cudaSuccess) return cuda_fail(fn, "cudaMemcpyAsync(device to device)", e, false);
    return TL_OK;
}

TL_API tl_status tl_memset(tl_stream stream, tl_buffer dest, uint64_t offset, int32_t value, uint64_t bytes) {
    static const char *fn = "tl_memset";
    cudaStream_t s;
    Buffer d;
    TL_TRY(get_stream(fn, stream, &s));
    TL_TRY(get_buffer(fn, "dest", dest, &d));
    TL_TRY(check_range(fn, "dest", d, offset, bytes));
    if (bytes == 0) return TL_OK;
    cudaError_t e = cudaMemsetAsync(static_cast<char *>(d.ptr) + offset, value & 0xff, size_t(bytes), s);
    if (e != cudaSuccess) return cuda_fail(fn, "cudaMemsetAsync", e, false);
    return TL_OK;
}

TL_API tl_status tl_stream_create(tl_stream *stream) {
    static const char *fn = "tl_stream_create";
    if (!stream) return fail(TL_ERROR_INVALID_ARGUMENT, "%s: stream is null", fn);
    *stream = nullptr;
    auto state = std::make_shared<StreamState>();
    // Non-blocking: tensorloom's streams must not serialise against the legacy default stream that
    // other libraries in the process may use.
    cudaError_t e = cudaStreamCreateWithFlags(&state->stream, cudaStreamNonBlocking);
    if (e != cudaSuccess) {
        state->stream = nullptr;
        return cuda_fail(fn, "cudaStreamCreateWithFlags", e, false);
    }
    tl_stream handle = register_stream(state);
    if (!handle) return fail(TL_ERROR_CUDA, "%s: too many live streams", fn);  // ~StreamState destroys it
    *stream = handle;
    return TL_OK;
}

TL_API tl_status tl_stream_destroy(tl_stream stream) {
    static const char *fn = "tl_stream_destroy";
    if (!stream) return fail(TL_ERROR_INVALID_HANDLE, "%s: stream is null", fn);
    std::shared_ptr<StreamState> state;
    if (!unregister_stream(stream, &state))
        return fail(TL_ERROR_INVALID_HANDLE, "%s: stream %p is not a live tl_stream (destroyed twice or never created)",
                    fn, static_cast<void *>(stream));
    std::unique_lock<std::mutex> lock(state->scratch_mutex);
    cudaError_t sync = cudaStreamSynchronize(state->stream);
    if (sync != cudaSuccess) (void)cudaGetLastError();
    cudaError_t e = cudaSuccess;
    if (state->scratch) e = cudaFree(state->scratch);
    state->scratch = nullptr;
    state->scratch_bytes = 0;
    host_staging_free(state->staging);  // the stream has drained: no copy reads it any more
    state->staging = nullptr;
    state->staging_bytes = 0;
    if (state->staged) (void)cudaEventDestroy(state->staged);
    state->staged = nullptr;
    state->staged_pending = false;
    state->retired = true;
    lock.unlock();
    // This thread is not inside a launch, so its own reference can go; the cudaStream_t is destroyed with the
    // last reference, here unless another thread is between its look-up and its launch.
    if (t_stream_in_use == state) t_stream_in_use.reset();
    state.reset();
    if (sync != cudaSuccess) return cuda_fail(fn, "cudaStreamSynchronize", sync, true);
    if (e != cudaSuccess) return cuda_fail(fn, "cudaFree (stream scratch)", e, false);
    return TL_OK;
}

TL_API tl_status tl_stream_synchronize(tl_stream stream) {
    static const char *fn = "tl_stream_synchronize";
    cudaStream_t s;
    TL_TRY(get_stream(fn, stream, &s));
    cudaError_t e = cudaStreamSynchronize(s);
    if (e != cudaSuccess) return cuda_fail(fn, "cudaStreamSynchronize", e, true);
    return TL_OK;
}

TL_API tl_status tl_stream_native(tl_stream stream, void **cuda_stream) {
    static const char *fn = "tl_stream_native";
    if (!cuda_stream) return fail(TL_ERROR_INVALID_ARGUMENT, "%s: cuda_stream is null", fn);
    cudaStream_t s;
    TL_TRY(get_stream(fn, stream, &s));
#if defined(__CUDACC__)
    *cuda_stream = static_cast<void *>(s);
#else
    *cuda_stream = nullptr;
#endif
    return TL_OK;
}

}  // extern "C"
