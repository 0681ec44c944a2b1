// The handle registry. Handles are never dereferenced: a handle's value encodes a slot of a registry
// plus that slot's generation, so a null, freed (generation moved on) or forged (tag, slot or generation
// wrong) handle is recognised as such without touching memory. One registry per kind for the whole
// library, which is why every family builds into the same library rather than a library of its own.
#include "tl_internal.h"

#include <memory>
#include <mutex>
#include <vector>

namespace tl {
namespace {

// value = tag << 48 | generation << 24 | (slot + 1). The tag tells buffers from streams, so passing one
// kind of handle for the other is also caught.
constexpr uint64_t kBufferTag = 0x7b1full;
constexpr uint64_t kStreamTag = 0x75e4ull;
constexpr uint64_t kSlotMask = (1ull << 24) - 1;
constexpr uint64_t kGenerationMask = (1ull << 24) - 1;

struct Slot {
    bool live = false;
    uint32_t generation = 1;
};

template <class Payload>
class Registry {
   public:
    explicit Registry(uint64_t tag) : tag_(tag) {}

    // Returns 0 if the table is full.
    uint64_t add(const Payload &payload) {
        std::lock_guard<std::mutex> lock(mutex_);
        size_t index;
        if (!free_.empty()) {
            index = free_.back();
            free_.pop_back();
        } else {
            if (slots_.size() >= kSlotMask) return 0;
            index = slots_.size();
            slots_.emplace_back();
            payloads_.emplace_back();
        }
        slots_[index].live = true;
        payloads_[index] = payload;
        return encode(index, slots_[index].generation);
    }

    bool get(uint64_t value, Payload *out) {
        std::lock_guard<std::mutex> lock(mutex_);
        size_t index;
        if (!find(value, &index)) return false;
        *out = payloads_[index];
        return true;
    }

    // Removes the entry and hands its payload back; false if the handle is not live.
    bool remove(uint64_t value, Payload *out) {
        std::lock_guard<std::mutex> lock(mutex_);
        size_t index;
        if (!find(value, &index)) return false;
        *out = payloads_[index];
        payloads_[index] = Payload();
        slots_[index].live = false;
        slots_[index].generation = (slots_[index].generation + 1) & kGenerationMask;
        if (slots_[index].generation == 0) slots_[index].generation = 1;
        free_.push_back(index);
        return true;
    }

    template <class F>
    void for_each_live(F f) {
        std::lock_guard<std::mutex> lock(mutex_);
        for (size_t i = 0; i < slots_.size(); ++i)
            if (slots_[i].live) f(payloads_[i]);
    }

   private:
    uint64_t encode(size_t index, uint32_t generation) const {
        return tag_ << 48 | uint64_t(generation) << 24 | uint64_t(index + 1);
    }
    bool find(uint64_t value, size_t *index) const {
        if ((value >> 48) != tag_) return false;
        uint64_t slot = value & kSlotMask;
        if (slot == 0 || slot > slots_.size()) return false;
        const Slot &s = slots_[slot - 1];
        if (!s.live || ((value >> 24) & kGenerationMask) != s.generation) return false;
        *index = size_t(slot - 1);
        return true;
    }

    uint64_t tag_;
    std::mutex mutex_;
    std::vector<Slot> slots_;
    std::vector<Payload> payloads_;
    std::vector<size_t> free_;
};

Registry<Buffer> &buffers() {
    static Registry<Buffer> *r = new Registry<Buffer>(kBufferTag);  // never destroyed: handles may be
    return *r;                                                      // freed during static destruction
}

Registry<std::shared_ptr<StreamState>> &streams() {
    static auto *r = new Registry<std::shared_ptr<StreamState>>(kStreamTag);
    return *r;
}

uint64_t handle_value(const void *handle) { return uint64_t(reinterpret_cast<uintptr_t>(handle)); }

}  // namespace

tl_buffer register_buffer(const Buffer &buffer) {
    return reinterpret_cast<tl_buffer>(uintptr_t(buffers().add(buffer)));
}

tl_stream register_stream(std::shared_ptr<StreamState> state) {
    return reinterpret_cast<tl_stream>(uintptr_t(streams().add(state)));
}

bool unregister_buffer(tl_buffer handle, Buffer *out) { return buffers().remove(handle_value(handle), out); }

bool unregister_stream(tl_stream handle, std::shared_ptr<StreamState> *out) {
    return streams().remove(handle_value(handle), out);
}

tl_status get_buffer(const char *fn, const char *what, tl_buffer handle, Buffer *out) {
    if (!handle) return fail(TL_ERROR_INVALID_HANDLE, "%s: buffer %s is null", fn, what);
    if (!buffers().get(handle_value(handle), out))
        return fail(TL_ERROR_INVALID_HANDLE, "%s: buffer %s (%p) is not a live tl_buffer (freed or never allocated)",
                    fn, what, static_cast<void *>(handle));
    return TL_OK;
}

tl_status lookup_stream(const char *fn, tl_stream handle, std::shared_ptr<StreamState> *out) {
    if (!handle) return fail(TL_ERROR_INVALID_HANDLE, "%s: stream is null", fn);
    if (!streams().get(handle_value(handle), out))
        return fail(TL_ERROR_INVALID_HANDLE, "%s: stream %p is not a live tl_stream (destroyed or never created)",
                    fn, static_cast<void *>(handle));
    return TL_OK;
}

void buffers_in_use(uint64_t *bytes, int64_t *count) {
    uint64_t total = 0;
    int64_t n = 0;
    buffers().for_each_live([&](const Buffer &b) {
        total += b.bytes;
        ++n;
    });
    *bytes = total;
    *count = n;
}

}  // namespace tl
