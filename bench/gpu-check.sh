#!/usr/bin/env bash
# The GPU check, for a machine with an NVIDIA GPU, nvcc and cmake but no JDK and no internet. On a
# development machine first run ./tensorloom gpu-bundle (a jlinked JDK and the jars into gpu-bundle/), send
# the repository with gpu-bundle/ to the GPU machine, and there, from the repository root:
#   bench/gpu-check.sh [results-folder]                   (default: gpu-results/)
# Steps: build kernels-cuda with CMake; ctest on the GPU; the Java tests of the bindings and of the cuda
# backend on the GPU build; the kernel benchmarks (GB/s and GFLOP/s per kernel, cuBLAS Sgemm and the
# device's copy bandwidth in the same run); the end-to-end encoder, cuda against vector; compute-sanitizer
# over some native tests. Every step's
# output goes into the results folder (check.log, summary.txt, device.txt, build.log, kernels.tsv,
# encoder.tsv); a failing step is recorded and the others still run; the exit status says if any failed.
#
# TL_NATIVE_LIBRARY=emu runs the Java steps on the CPU emulation instead, to try the script without a GPU.
# TL_SANITIZE=0 leaves out the last step, compute-sanitizer (memcheck, racecheck) over the native tests.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RESULTS="$(mkdir -p "${1:-$ROOT/gpu-results}" && cd "${1:-$ROOT/gpu-results}" && pwd)"
BUNDLE="$ROOT/gpu-bundle"
BUILD="$ROOT/build/gpu"
LIBRARY="${TL_NATIVE_LIBRARY:-cuda}"
JAVA="$BUNDLE/jdk/bin/java"
SUMMARY="$RESULTS/summary.txt"
: > "$SUMMARY"
exec > >(tee "$RESULTS/check.log") 2>&1
failed=0

step() { # step NAME COMMAND... : runs it, records ok/FAILED with the time it took
  local name=$1 start=$SECONDS
  shift
  echo "=== $name"
  if "$@"; then
    echo "$name: ok ($((SECONDS - start)) s)" | tee -a "$SUMMARY"
  else
    echo "$name: FAILED ($((SECONDS - start)) s)" | tee -a "$SUMMARY"
    failed=1
  fi
}

describe_device() {
  { date -u; nvidia-smi || echo "nvidia-smi: not found"; nvcc --version; cmake --version; nproc; } \
    > "$RESULTS/device.txt" 2>&1
  head -20 "$RESULTS/device.txt"
}

build_native() {
  # This machine's architecture only: the check measures this GPU, and it keeps the build short. "native"
  # needs CMake 3.24 and a visible GPU; Hopper (90) is the fallback.
  local arch="${TL_CUDA_ARCH:-native}"
  if ! cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES="$arch" \
      > "$RESULTS/build.log" 2>&1; then
    echo "configure with CUDA architectures '$arch' failed; trying 90"
    rm -rf "$BUILD"
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 \
      >> "$RESULTS/build.log" 2>&1 || { tail -40 "$RESULTS/build.log"; return 1; }
  fi
  cmake --build "$BUILD" --parallel "$(nproc)" >> "$RESULTS/build.log" 2>&1 \
    || { tail -40 "$RESULTS/build.log"; return 1; }
  ls -la "$BUILD"/libtensorloom_*.so
}

native_tests() {
  (cd "$BUILD" && ctest -L "$([ "$LIBRARY" = cuda ] && echo gpu || echo emu)" --output-on-failure)
}

# cuBLAS comes with the CUDA toolkit or with Python's nvidia-cublas wheel; the benchmarks load it by path.
find_cublas() {
  local f
  for f in "${TL_CUBLAS_PATH:-}" $(find /usr/local /usr/lib /opt -name 'libcublas.so.1[0-9]*' 2>/dev/null | sort -r); do
    [ -n "$f" ] && [ -f "$f" ] && { echo "$f"; return 0; }
  done
  return 1
}

kernel_benchmarks() {
  [ -x "$BUILD/bench_kernels" ] || { echo "bench_kernels was not built (no CUDA toolkit?)"; return 1; }
  TL_CUBLAS_PATH="$CUBLAS" LD_LIBRARY_PATH="$(dirname "${CUBLAS:-/}"):${LD_LIBRARY_PATH:-}" \
    "$BUILD/bench_kernels" "$RESULTS/kernels.tsv"
}

java_run() { # java_run ARGS... : the bundled JDK with the library under test
  LD_LIBRARY_PATH="$(dirname "${CUBLAS:-/}"):${LD_LIBRARY_PATH:-}" "$JAVA" \
    --add-modules=jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx16g \
    -Dtensorloom.native.library="$LIBRARY" -Dtensorloom.native.path="$BUILD" \
    -Dtensorloom.include="$ROOT/kernels-cuda/include" \
    ${CUBLAS:+-Dtensorloom.cublas.path="$CUBLAS"} "$@"
}

java_tests() {
  java_run -jar "$BUNDLE/lib/junit-platform-console-standalone.jar" execute \
    --class-path "$(ls "$BUNDLE"/lib/tensorloom-*.jar "$BUNDLE"/lib/ejml-*.jar | tr '\n' ':')" \
    --details=summary --disable-banner \
    --select-class dev.tensorloom.bindings.HeaderBindingsTest \
    --select-class dev.tensorloom.bindings.NativeDeviceTest \
    --select-class dev.tensorloom.bindings.NativeErrorsTest \
    --select-class dev.tensorloom.bindings.LeakTest \
    --select-class dev.tensorloom.bindings.CublasTest \
    --select-class dev.tensorloom.runtime.kernel.CudaKernelsContractTest \
    --select-class dev.tensorloom.runtime.kernel.CudaKernelsTest \
    --select-class dev.tensorloom.runtime.kernel.BackendProviderTest \
    --select-class dev.tensorloom.outside.KernelFamilyTest \
    --select-class dev.tensorloom.mpo.cuda.CudaMpoKernelsContractTest
}

# Races and out-of-bounds accesses are what the serial CPU emulation cannot show. Bounded in time: the
# sanitizers slow kernels down by orders of magnitude, and the check must fit one device session.
sanitizers() {
  command -v compute-sanitizer >/dev/null 2>&1 || { echo "compute-sanitizer not found"; return 1; }
  timeout 60 compute-sanitizer --tool memcheck --error-exitcode 1 "$BUILD/test_embedding_cuda" \
    && timeout 60 compute-sanitizer --tool memcheck --error-exitcode 1 "$BUILD/test_memory_cuda" \
    && timeout 120 compute-sanitizer --tool racecheck --error-exitcode 1 "$BUILD/test_attention_cuda"
}

encoder_benchmark() {
  java_run -cp "$(ls "$BUNDLE"/lib/tensorloom-*.jar | tr '\n' ':')" dev.tensorloom.bench.gpu.GpuEncoderCheck \
    "$RESULTS/encoder.tsv" ${TL_ENCODER_CASES:+--cases "$TL_ENCODER_CASES"}
}

[ -x "$JAVA" ] || { echo "no $JAVA: run ./tensorloom gpu-bundle on a development machine first"; exit 2; }
CUBLAS="$(find_cublas || true)"
echo "tensorloom GPU check: library $LIBRARY, cuBLAS ${CUBLAS:-not found}, results in $RESULTS"
step device describe_device
step build build_native
step ctest native_tests
[ "$LIBRARY" = cuda ] && step kernel-benchmarks kernel_benchmarks
step java-tests java_tests
step encoder encoder_benchmark
[ "$LIBRARY" = cuda ] && [ "${TL_SANITIZE:-1}" = 1 ] && step sanitizers sanitizers
echo "=== summary"
cat "$SUMMARY"
exit $failed
