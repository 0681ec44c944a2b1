// The one place where a kernel source learns whether it is built by nvcc for a GPU or by the host
// compiler for the CPU emulation (libtensorloom_emu.so). Kernel sources are ordinary CUDA C++ and use
// two macros for the only constructs that cannot be spelled the same way in both builds:
//
//   TL_LAUNCH(kernel, grid, block, shared_bytes, stream, args...)  becomes kernel<<<...>>>(args...)
//   TL_DYNAMIC_SHARED(type, name)                                  declares the block's dynamic shared memory
//
// A kernel that is a template-id with a comma goes in parentheses: TL_LAUNCH((gemm<64, 64>), grid, ...).
//
// Everything else (threadIdx, __syncthreads, __shfl_xor_sync, atomicAdd, cudaMalloc, ...) is spelled as
// in CUDA; under emulation kernels-cuda/emu/cuda_emu.h provides the subset listed there.
#pragma once

#if defined(__CUDACC__)
#include <cuda_runtime.h>
#define TL_LAUNCH(kernel, grid, block, shared_bytes, stream, ...) \
    kernel<<<(grid), (block), (shared_bytes), (stream)>>>(__VA_ARGS__)
#define TL_DYNAMIC_SHARED(type, name)                                   \
    extern __shared__ __align__(16) unsigned char tl_dynamic_shared_[]; \
    type *name = reinterpret_cast<type *>(tl_dynamic_shared_)
#else
#include "cuda_emu.h"
// The arguments are evaluated once, by the launching thread, as with <<<...>>> (not once per CUDA thread,
// on a pool thread); the kernel's name is for the emulation's error messages.
#define TL_LAUNCH(kernel, grid, block, shared_bytes, stream, ...)                                              \
    ::tl_emu::launch(                                                                                        \
        (grid), (block), (shared_bytes), (stream),                                                           \
        [&, tl_launch_args_ = ::std::make_tuple(__VA_ARGS__)] {                                               \
            ::std::apply([&](const auto &...tl_launch_arg_) { kernel(tl_launch_arg_...); }, tl_launch_args_); \
        },                                                                                                   \
        #kernel, ::tl_emu::kernel_key(kernel))
#define TL_DYNAMIC_SHARED(type, name) type *name = static_cast<type *>(::tl_emu::dynamic_shared())
#endif
