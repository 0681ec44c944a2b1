// The handle registry: every live tl_buffer and tl_stream of the library, whichever source file made
// it, so that a family's functions accept the handles the core hands out. Not part of the ABI.
#pragma once

#include <cstdint>
#include <memory>

#include "tensorloom.h"

namespace tl {

struct Buffer {
    void *ptr = nullptr;
    uint64_t bytes = 0;
};

// Defined by memory.cu, which creates and destroys streams; the registry only keeps it alive.
struct StreamState;

// A handle for a new buffer or stream; null when the registry is full.
tl_buffer register_buffer(const Buffer &buffer);
tl_stream register_stream(std::shared_ptr<StreamState> state);

// Retires a live handle (it is never valid again) and hands back what it held; false, with nothing
// retired, when the handle is not live. The caller words the error: it knows the call.
bool unregister_buffer(tl_buffer handle, Buffer *out);
bool unregister_stream(tl_stream handle, std::shared_ptr<StreamState> *out);

// Copies out the live buffer behind a handle; TL_ERROR_INVALID_HANDLE (naming fn and what) otherwise.
tl_status get_buffer(const char *fn, const char *what, tl_buffer handle, Buffer *out);

// The state behind a live stream handle; TL_ERROR_INVALID_HANDLE otherwise.
tl_status lookup_stream(const char *fn, tl_stream handle, std::shared_ptr<StreamState> *out);

// Bytes held by live buffers, and how many there are.
void buffers_in_use(uint64_t *bytes, int64_t *count);

}  // namespace tl
