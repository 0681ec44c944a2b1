// Status plumbing, error messages, device queries and the launch diagnostic.
#include "tl_internal.h"

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <string>

namespace tl {

namespace error_detail {
thread_local std::string last_error_message;

bool name_in(const char *name, const char *const *names) {
    for (; *names; ++names)
        if (std::strcmp(name, *names) == 0) return true;
    return false;
}

// Matched by name rather than by enumerator so that the emulation need not define every CUDA error
// code, and so that codes added by newer toolkits fall into the right class as long as they keep the
// name.
const char *const no_device_errors[] = {"cudaErrorNoDevice", "cudaErrorInsufficientDriver",
                                        "cudaErrorDevicesUnavailable", "cudaErrorCompatNotSupportedOnDevice",
                                        "cudaErrorSystemDriverMismatch", "cudaErrorInvalidDevice",
                                        "cudaErrorStubLibrary",
                                        // HGX/NVSwitch systems whose fabric manager is not running:
                                        "cudaErrorSystemNotReady", nullptr};
const char *const launch_errors[] = {"cudaErrorLaunchFailure", "cudaErrorInvalidConfiguration",
                                     "cudaErrorLaunchOutOfResources", "cudaErrorLaunchTimeout",
                                     "cudaErrorIllegalAddress", "cudaErrorInvalidDeviceFunction",
                                     "cudaErrorNoKernelImageForDevice", "cudaErrorMisalignedAddress",
                                     "cudaErrorIllegalInstruction", "cudaErrorInvalidPc", "cudaErrorAssert",
                                     "cudaErrorHardwareStackError", "cudaErrorSharedObjectInitFailed",
                                     "cudaErrorUnsupportedPtxVersion", "cudaErrorInvalidKernelImage",
                                     nullptr};
}  // namespace error_detail
using namespace error_detail;

tl_status fail(tl_status status, const char *fmt, ...) {
    char buf[1024];
    va_list args;
    va_start(args, fmt);
    std::vsnprintf(buf, sizeof buf, fmt, args);
    va_end(args);
    last_error_message = buf;
    return status;
}

tl_status cuda_fail(const char *fn, const char *call, cudaError_t error, bool launch) {
    const char *name = cudaGetErrorName(error);
    const char *text = cudaGetErrorString(error);
    if (!name) name = "cudaError?";
    if (!text) text = "";
    // Clears the error if it is not sticky, so one failed allocation does not poison later calls.
    (void)cudaGetLastError();
    tl_status status = TL_ERROR_CUDA;
    if (std::strcmp(name, "cudaErrorMemoryAllocation") == 0)
        status = TL_ERROR_OUT_OF_MEMORY;
    else if (name_in(name, no_device_errors))
        status = TL_ERROR_NO_DEVICE;
    else if (launch || name_in(name, launch_errors))
        status = TL_ERROR_LAUNCH_FAILED;
    return fail(status, "%s: %s failed: %s (%s)", fn, call, name, text);
}

tl_status check_launch(const char *fn, const char *kernel) {
    cudaError_t e = cudaGetLastError();
    if (e == cudaSuccess) return TL_OK;
    char call[160];
    std::snprintf(call, sizeof call, "launch of %s", kernel);
    return cuda_fail(fn, call, e, true);
}

tl_status check_sizes(const char *fn, const char *n0, int64_t v0, const char *n1, int64_t v1, const char *n2,
                      int64_t v2, const char *n3, int64_t v3) {
    const char *names[4] = {n0, n1, n2, n3};
    int64_t values[4] = {v0, v1, v2, v3};
    for (int i = 0; i < 4; ++i)
        if (names[i] && values[i] < 0)
            return fail(TL_ERROR_INVALID_ARGUMENT, "%s: %s = %lld is negative", fn, names[i],
                        (long long)values[i]);
    return TL_OK;
}

// Static rather than in an unnamed namespace: nvcc's kernel stubs cannot tell a second unnamed namespace
// (inside tl) from the one that holds this file's kernel.

// Bytes that `elements` elements take, the last byte rounded up; true on overflow, like the builtins.
// Eight elements take exactly `bits` bytes, so splitting the count there keeps it exact and free of
// overflow for every count whose size fits in 64 bits.
static bool bytes_overflow(uint64_t elements, ElementBits element, uint64_t *bytes) {
    uint64_t whole;
    if (__builtin_mul_overflow(elements / 8, uint64_t(element.bits), &whole)) return true;
    return __builtin_add_overflow(whole, ((elements % 8) * element.bits + 7) / 8, bytes);
}

// An element index (an offset, a leading dimension) that must fall on a byte: a row of a packed operand
// that started inside a byte would have no address.
static tl_status check_on_byte(const char *fn, const char *name, const char *what, uint64_t index,
                               ElementBits element) {
    if ((index % 8) * element.bits % 8 == 0) return TL_OK;
    return fail(TL_ERROR_INVALID_ARGUMENT, "%s: %s %s = %llu is not a whole number of bytes of %u-bit elements", fn,
                name, what, (unsigned long long)index, element.bits);
}

static char *byte_of(const Buffer &buffer, uint64_t offset, ElementBits element) {
    uint64_t bytes = 0;
    (void)bytes_overflow(offset, element, &bytes);  // offset lies inside the checked extent
    return static_cast<char *>(buffer.ptr) + bytes;
}

tl_status check_matrix(const char *fn, const char *name, const char *rows_name, const char *cols_name,
                       const char *ld_name, const Buffer &buffer, uint64_t offset, int64_t rows, int64_t cols,
                       int64_t ld, ElementBits element, void **first) {
    *first = nullptr;
    if (rows < 0 || cols < 0)
        return fail(TL_ERROR_INVALID_ARGUMENT, "%s: %s has negative shape [%s=%lld, %s=%lld]", fn, name,
                    rows_name, (long long)rows, cols_name, (long long)cols);
    if (rows == 0 || cols == 0) {
        *first = buffer.ptr;
        return TL_OK;
    }
    if (ld < cols)
        return fail(TL_ERROR_INVALID_ARGUMENT, "%s: %s = %lld is less than %s = %lld", fn, ld_name,
                    (long long)ld, cols_name, (long long)cols);
    TL_TRY(check_on_byte(fn, name, "offset", offset, element));
    if (rows > 1) TL_TRY(check_on_byte(fn, name, ld_name, uint64_t(ld), element));
    // offset + (rows-1)*ld + cols elements, computed without overflow.
    uint64_t span = 0, end = 0, bytes = 0;
    bool overflow = __builtin_mul_overflow(uint64_t(rows - 1), uint64_t(ld), &span) ||
                    __builtin_add_overflow(span, uint64_t(cols), &span) ||
                    __builtin_add_overflow(span, offset, &end) || bytes_overflow(end, element, &bytes);
    if (overflow || bytes > buffer.bytes) {
        if (overflow)
            return fail(TL_ERROR_INVALID_ARGUMENT,
                        "%s: %s extent [%s=%lld, %s=%lld, %s=%lld] from offset %llu overflows 64 bits", fn, name,
                        rows_name, (long long)rows, cols_name, (long long)cols, ld_name, (long long)ld,
                        (unsigned long long)offset);
        return fail(TL_ERROR_INVALID_ARGUMENT,
                    "%s: %s extent [%s=%lld, %s=%lld, %s=%lld] from offset %llu needs %llu bytes but buffer has "
                    "%llu",
                    fn, name, rows_name, (long long)rows, cols_name, (long long)cols, ld_name, (long long)ld,
                    (unsigned long long)offset, (unsigned long long)bytes, (unsigned long long)buffer.bytes);
    }
    *first = byte_of(buffer, offset, element);
    return TL_OK;
}

tl_status check_vector(const char *fn, const char *name, const char *count_name, const Buffer &buffer,
                       uint64_t offset, int64_t count, ElementBits element, void **first) {
    *first = nullptr;
    if (count < 0)
        return fail(TL_ERROR_INVALID_ARGUMENT, "%s: %s = %lld is negative", fn, count_name, (long long)count);
    if (count == 0) {
        *first = buffer.ptr;
        return TL_OK;
    }
    TL_TRY(check_on_byte(fn, name, "offset", offset, element));
    uint64_t end = 0, bytes = 0;
    bool overflow = __builtin_add_overflow(offset, uint64_t(count), &end) || bytes_overflow(end, element, &bytes);
    if (overflow || bytes > buffer.bytes)
        return fail(TL_ERROR_INVALID_ARGUMENT,
                    "%s: %s extent [%s=%lld] from offset %llu needs %s%llu bytes but buffer has %llu", fn, name,
                    count_name, (long long)count, (unsigned long long)offset, overflow ? "more than " : "",
                    (unsigned long long)(overflow ? UINT64_MAX : bytes), (unsigned long long)buffer.bytes);
    *first = byte_of(buffer, offset, element);
    return TL_OK;
}

// Whether some row r in [r_lo, r_hi] has r*ld within (d - cols, d + cols): whether a row of one operand,
// shifted by r rows of ld elements, shares an element with a row of `cols` elements starting d further on.
static bool rows_meet(int64_t d, int64_t cols, int64_t ld, int64_t r_lo, int64_t r_hi) {
    const int64_t low = d - cols;  // r*ld must exceed this
    int64_t r = low >= 0 ? low / ld + 1 : 1 - (ld - 1 - low) / ld;  // the smallest r with r*ld > low (ld > 0)
    if (r < r_lo) r = r_lo;
    return r <= r_hi && r * ld < d + cols;
}

tl_status check_no_partial_overlap(const char *fn, const char *x_name, const Buffer &x, uint64_t x_offset,
                                   int64_t ldx, const char *y_name, const Buffer &y, uint64_t y_offset, int64_t ldy,
                                   int64_t rows, int64_t cols) {
    if (rows == 0 || cols == 0 || x.ptr != y.ptr) return TL_OK;  // separate allocations never overlap
    const bool y_one_row = ldy == 0 || rows == 1;
    if (x_offset == y_offset && (ldx == ldy || rows == 1)) return TL_OK;  // the same matrix
    const int64_t d = int64_t(y_offset) - int64_t(x_offset);  // both offsets lie inside one checked buffer
    bool shared;
    if (y_one_row)  // y's elements d .. d+cols-1 against x's rows r*ldx .. r*ldx+cols-1
        shared = rows_meet(d, cols, ldx, 0, rows - 1);
    else if (ldx == ldy)  // rows r1 of x and r2 of y meet when (r1 - r2)*ld is within cols of d
        shared = rows_meet(d, cols, ldx, -(rows - 1), rows - 1);
    else {  // different strides: refuse when the extents meet at all (no kernel of ours is called that way)
        const int64_t x_end = int64_t(x_offset) + (rows - 1) * ldx + cols;
        const int64_t y_end = int64_t(y_offset) + (rows - 1) * ldy + cols;
        shared = int64_t(x_offset) < y_end && int64_t(y_offset) < x_end;
    }
    if (!shared) return TL_OK;
    return fail(TL_ERROR_INVALID_ARGUMENT,
                "%s: %s [rows=%lld, cols=%lld, ld=%lld from offset %llu] and %s [%s, ld=%lld from offset %llu] "
                "overlap without being the same matrix; a block could read %s where another already wrote %s",
                fn, x_name, (long long)rows, (long long)cols, (long long)ldx, (unsigned long long)x_offset, y_name,
                ldy == 0 ? "one row read by every row" : "same shape", (long long)ldy, (unsigned long long)y_offset,
                y_name, x_name);
}

int sm_count() {
    // cudaGetDeviceProperties costs far more than a kernel launch, so it runs once per device.
    static std::mutex mutex;
    static int cached[64] = {0};
    int device = 0;
    if (cudaGetDevice(&device) != cudaSuccess || device < 0 || device >= 64) {
        (void)cudaGetLastError();
        return 1;
    }
    std::lock_guard<std::mutex> lock(mutex);
    if (cached[device] == 0) {
        cudaDeviceProp prop;
        if (cudaGetDeviceProperties(&prop, device) == cudaSuccess && prop.multiProcessorCount > 0)
            cached[device] = prop.multiProcessorCount;
        else {
            (void)cudaGetLastError();
            return 1;
        }
    }
    return cached[device];
}

}  // namespace tl

using namespace tl;

namespace {
// Takes one thread; exists so that a launch configuration can be tried. The argument only keeps the
// launch macro away from an empty argument list.
__global__ void tl_empty_kernel(int unused) { (void)unused; }
}  // namespace

extern "C" {

TL_API const char *tl_library_variant(void) {
#if defined(__CUDACC__)
    return "cuda";
#else
    return "emu";
#endif
}

TL_API const char *tl_status_name(tl_status status) {
    switch (status) {
        case TL_OK: return "TL_OK";
        case TL_ERROR_INVALID_ARGUMENT: return "TL_ERROR_INVALID_ARGUMENT";
        case TL_ERROR_INVALID_HANDLE: return "TL_ERROR_INVALID_HANDLE";
        case TL_ERROR_OUT_OF_MEMORY: return "TL_ERROR_OUT_OF_MEMORY";
        case TL_ERROR_LAUNCH_FAILED: return "TL_ERROR_LAUNCH_FAILED";
        case TL_ERROR_NO_DEVICE: return "TL_ERROR_NO_DEVICE";
        case TL_ERROR_CUDA: return "TL_ERROR_CUDA";
    }
    return "TL_STATUS_UNKNOWN";
}

TL_API const char *tl_last_error(void) { return last_error_message.c_str(); }

TL_API tl_status tl_device_count(int32_t *count) {
    static const char *fn = "tl_device_count";
    if (!count) return fail(TL_ERROR_INVALID_ARGUMENT, "%s: count is null", fn);
    *count = 0;
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        tl_status s = cuda_fail(fn, "cudaGetDeviceCount", e, false);
        // Whatever the driver says, no count means no usable device.
        if (s != TL_ERROR_NO_DEVICE) {
            std::string message = tl_last_error();
            return fail(TL_ERROR_NO_DEVICE, "%s", message.c_str());
        }
        return s;
    }
    if (n == 0) return fail(TL_ERROR_NO_DEVICE, "%s: cudaGetDeviceCount found no device", fn);
    *count = n;
    return TL_OK;
}

TL_API tl_status tl_set_device(int32_t device) {
    static const char *fn = "tl_set_device";
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) return cuda_fail(fn, "cudaGetDeviceCount", e, false);
    if (device < 0 || device >= n)
        return fail(TL_ERROR_INVALID_ARGUMENT, "%s: device %d is not in [0, %d)", fn, device, n);
    e = cudaSetDevice(device);
    if (e != cudaSuccess) return cuda_fail(fn, "cudaSetDevice", e, false);
    return TL_OK;
}

TL_API tl_status tl_device_name(int32_t device, char *name, int64_t capacity) {
    static const char *fn = "tl_device_name";
    if (!name || capacity <= 0)
        return fail(TL_ERROR_INVALID_ARGUMENT, "%s: name is null or capacity %lld is not positive", fn,
                    (long long)capacity);
    name[0] = '\0';
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) return cuda_fail(fn, "cudaGetDeviceCount", e, false);
    if (device < 0 || device >= n)
        return fail(TL_ERROR_INVALID_ARGUMENT, "%s: device %d is not in [0, %d)", fn, device, n);
    cudaDeviceProp prop;
    e = cudaGetDeviceProperties(&prop, device);
    if (e != cudaSuccess) return cuda_fail(fn, "cudaGetDeviceProperties", e, false);
    std::snprintf(name, size_t(capacity), "%s", prop.name);
    return TL_OK;
}

TL_API tl_status tl_launch_check(tl_stream stream, int32_t threads_per_block) {
    static const char *fn = "tl_launch_check";
    cudaStream_t s;
    TL_TRY(get_stream(fn, stream, &s));
    if (threads_per_block <= 0)
        return fail(TL_ERROR_INVALID_ARGUMENT, "%s: threads_per_block = %d is not positive", fn,
                    threads_per_block);
    unsigned threads = unsigned(threads_per_block);
    int unused = 0;
    TL_LAUNCH(tl_empty_kernel, dim3(1), dim3(threads), 0, s, unused);
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess) {
        char call[96];
        std::snprintf(call, sizeof call, "launch of an empty kernel with %d threads per block", threads_per_block);
        return cuda_fail(fn, call, e, true);
    }
    return TL_OK;
}

}  // extern "C"
