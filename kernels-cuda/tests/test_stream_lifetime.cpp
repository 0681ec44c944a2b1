// A stream destroyed by one host thread while another is between looking it up and queuing its work: the
// work must still go to a live stream (on a GPU, work queued on a destroyed stream is undefined), the handle
// must be refused from then on, and the stream must really go once nobody holds it. The look-up is internal
// (get_stream), so this test is linked with the library's objects, like test_operand_checks.
#include "test_util.h"
#include "tl_internal.h"

#include <thread>

int main() {
    tl_stream handle = nullptr;
    OK(tl_stream_create(&handle));
    void *device = nullptr;
    CHECK(cudaMalloc(&device, 256) == cudaSuccess, "cudaMalloc");

    // What every kernel function does first, as if this thread were inside tl_gemm.
    cudaStream_t looked_up = nullptr;
    OK(tl::get_stream("tl_test_op", handle, &looked_up));
    tl_status destroyed = TL_ERROR_CUDA;
    std::thread([&] { destroyed = tl_stream_destroy(handle); }).join();
    CHECK(destroyed == TL_OK, "tl_stream_destroy on another thread: %s", tl_status_name(destroyed));

    // ... and then queues its work, on the stream it looked up.
    cudaError_t e = cudaMemsetAsync(device, 0, 256, looked_up);
    CHECK(e == cudaSuccess, "work queued after a concurrent destroy: %s (the stream was destroyed under it)",
          cudaGetErrorName(e));
    e = cudaStreamSynchronize(looked_up);
    CHECK(e == cudaSuccess, "waiting for that work: %s", cudaGetErrorName(e));
    (void)cudaGetLastError();

    EXPECT_STATUS(TL_ERROR_INVALID_HANDLE, "is not a live tl_stream", tl_stream_synchronize(handle));
    EXPECT_STATUS(TL_ERROR_INVALID_HANDLE, "is not a live tl_stream", tl_stream_destroy(handle));

    // The thread's next look-up lets go of the old stream, which is then destroyed.
    tl_stream next = nullptr;
    OK(tl_stream_create(&next));
    cudaStream_t next_stream = nullptr;
    OK(tl::get_stream("tl_test_op", next, &next_stream));
    e = cudaStreamQuery(looked_up);
    CHECK(e == cudaErrorInvalidResourceHandle, "the destroyed stream is still alive: %s", cudaGetErrorName(e));
    (void)cudaGetLastError();
    OK(tl_stream_destroy(next));
    e = cudaStreamQuery(next_stream);
    CHECK(e == cudaErrorInvalidResourceHandle, "a stream destroyed by the thread holding it is still alive: %s",
          cudaGetErrorName(e));
    (void)cudaGetLastError();

    CHECK(cudaFree(device) == cudaSuccess, "cudaFree");
    return finish("test_stream_lifetime");
}
