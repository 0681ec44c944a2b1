#!/usr/bin/env bash
# The GPU check, for a machine with an NVIDIA GPU, nvcc and cmake but no JDK and no internet. On a
# development machine first run ./tensorloom gpu-bundle (a jlinked JDK and the jars into gpu-bundle/), send
# the repository with gpu-bundle/ to the GPU machine, and there, from the repository root:
#   bench/gpu-check.sh [results-folder]                   (default: gpu-results/)
#
# Steps, in this order: describe the device; build kernels-cuda with CMake, the CUDA library required
# (-DTL_BUILD_CUDA=ON: without nvcc the build fails, it never falls back to the emulation alone); ctest on
# the GPU (--no-tests=error: no GPU tests is a failure, not a pass); the kernel benchmarks (every kernel in
# GB/s or TFLOP/s beside the device's copy bandwidth and cuBLAS, one table); the Java tests of the bindings
# and of the cuda backend on the GPU build; the end-to-end encoder, cuda against vector; and last, only when
# asked, compute-sanitizer over the native tests.
#
# A GPU is lent for minutes, so the check fits one call well inside 600 s: the whole run has a budget
# (TL_CHECK_BUDGET_S, default 540 s), each step a cap within what is left, and a step that finds too little
# time left is recorded as skipped instead of being cut off by the machine with no summary written. A
# failing step is recorded and the others still run. At the end a one-screen summary of every step and
# every number is printed and written to summary.txt; the exit status is 1 if any step failed, 3 if none
# failed but some found no time left (RESULT: INCOMPLETE), 0 only when everything asked for ran and passed.
#
# Files in the results folder: summary.txt, check.log (everything), device.txt, build.log, ctest.log,
# kernels.tsv, kernels.txt, java-tests.log, encoder.tsv, sanitizer-*.log.
#
# Switches:
#   TL_NATIVE_LIBRARY=emu   the dry run without a GPU: the same build (nvcc still required), ctest and the Java
#                           steps on the CPU emulation; the benchmarks and sanitizers are shown as skipped
#   TL_SANITIZE=0 (default) no sanitizers, so that a first run leaves time for a second
#   TL_SANITIZE=1           compute-sanitizer (memcheck, racecheck, synccheck) after everything else
#   TL_SANITIZE=only        device, build (incremental when build/gpu is still there) and the sanitizers
#   TL_BUILD_DIR=DIR        the build folder (default build/gpu); CUDACXX=/no/such/nvcc with a fresh
#                           TL_BUILD_DIR shows what a machine without nvcc does: the build fails loudly
#   TL_CUDA_ARCH=90         the CUDA architecture (default: native, the GPU of this machine)
#   TL_CHECK_BUDGET_S=540   the whole run's budget in seconds; the steps' caps scale with it (a dry run on a
#                           2-core machine needs about 1200 for its first build)
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RESULTS="$(mkdir -p "${1:-$ROOT/gpu-results}" && cd "${1:-$ROOT/gpu-results}" && pwd)"
BUNDLE="$ROOT/gpu-bundle"
BUILD="${TL_BUILD_DIR:-$ROOT/build/gpu}"
LIBRARY="${TL_NATIVE_LIBRARY:-cuda}"
SANITIZE="${TL_SANITIZE:-0}"
BUDGET="${TL_CHECK_BUDGET_S:-540}"
JAVA="$BUNDLE/jdk/bin/java"
SUMMARY="$RESULTS/summary.txt"
STEPS="$RESULTS/.steps"
NOTE="$RESULTS/.note"
START=$SECONDS
: > "$STEPS"
rm -f "$SUMMARY" "$RESULTS/kernels.tsv" "$RESULTS/kernels.txt" "$RESULTS/encoder.tsv" "$RESULTS"/sanitizer-*.log
exec > >(tee "$RESULTS/check.log") 2>&1
failed=0
incomplete="" # steps that found no time left: the check did not finish, which is not a pass
built=0

case "$LIBRARY" in cuda | emu) ;; *) echo "TL_NATIVE_LIBRARY must be cuda or emu, not '$LIBRARY'"; exit 2 ;; esac
case "$SANITIZE" in 0 | 1 | only) ;; *) echo "TL_SANITIZE must be 0, 1 or only, not '$SANITIZE'"; exit 2 ;; esac

left() { echo $((BUDGET - (SECONDS - START))); }
note() { echo "$*" >> "$NOTE"; } # one line for the summary, from inside a step

# Exit status of a step's function that means "did not run, and that is not a failure".
SKIP=77

record() { # record NAME STATUS SECONDS NOTE
  printf '%-18s %-8s %5s  %s\n' "$1" "$2" "$3" "$4" >> "$STEPS"
  printf '%s: %s (%s) %s\n' "$1" "$2" "$3" "$4"
}

# step NAME CAP COMMAND... : runs COMMAND with STEP_LIMIT (seconds) set to CAP (for the default 540 s budget;
# it scales with the budget) or what is left of the budget less a reserve for the summary, whichever is
# smaller; records ok, FAILED or skipped with its time and note.
step() {
  local name=$1 cap=$(($2 * BUDGET / 540)) start=$SECONDS rc limit
  shift 2
  [ "$cap" -lt 15 ] && cap=15
  limit=$(($(left) - 20))
  [ "$limit" -gt "$cap" ] && limit=$cap
  if [ "$limit" -lt 15 ]; then
    record "$name" skipped - "out of time: $(left) s of the ${BUDGET} s budget left"
    incomplete="${incomplete:+$incomplete, }$name"
    return
  fi
  echo
  echo "=== $name (at most $limit s)"
  : > "$NOTE"
  STEP_LIMIT=$limit "$@"
  rc=$?
  local text
  text=$(paste -sd'|' "$NOTE" | sed 's/|/; /g')
  if [ $rc -eq 0 ]; then
    record "$name" ok "$((SECONDS - start))s" "$text"
  elif [ $rc -eq $SKIP ]; then
    record "$name" skipped "$((SECONDS - start))s" "$text"
  else
    [ $rc -eq 124 ] && text="timed out after $limit s${text:+; $text}"
    record "$name" FAILED "$((SECONDS - start))s" "$text"
    failed=1
  fi
}

skip_step() { record "$1" skipped - "$2"; } # skip_step NAME WHY

describe_device() {
  local nvcc
  nvcc=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
  { date -u; { command -v nvidia-smi >/dev/null && nvidia-smi; } || echo "nvidia-smi: not found"; echo "$nvcc:"; "$nvcc" --version; cmake --version; nproc; } \
    > "$RESULTS/device.txt" 2>&1
  head -20 "$RESULTS/device.txt"
  local gpu
  gpu=$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | head -1)
  if [ -n "$gpu" ]; then
    note "GPU: $gpu"
  elif [ "$LIBRARY" = cuda ]; then
    note "no GPU found by nvidia-smi"
    return 1
  else
    note "no GPU: dry run on the CPU emulation"
  fi
}

build_native() {
  # This machine's architecture only: the check measures this GPU, and it keeps the build short. "native"
  # needs CMake 3.24 and a visible GPU; Hopper (90) is the fallback. TL_BUILD_CUDA=ON: the GPU library is
  # the point, so a missing nvcc fails here instead of leaving ctest with nothing to run.
  local arch="${TL_CUDA_ARCH:-native}" t0=$SECONDS
  [ "$LIBRARY" = emu ] && arch="${TL_CUDA_ARCH:-90}" # no GPU for "native" to find
  rest() { local r=$((STEP_LIMIT - (SECONDS - t0))); echo $((r < 1 ? 1 : r)); } # the step's time, shared
  configure() {
    timeout "$(rest)" cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DTL_BUILD_CUDA=ON \
      -DCMAKE_CUDA_ARCHITECTURES="$1" >> "$RESULTS/build.log" 2>&1
  }
  : > "$RESULTS/build.log"
  if ! configure "$arch"; then
    if grep -q "no CUDA compiler was found" "$RESULTS/build.log"; then
      echo "!!! no CUDA compiler: the GPU check cannot build libtensorloom_cuda.so"
      grep -A3 "CMake Error" "$RESULTS/build.log" | head -8
      note "no CUDA compiler (nvcc) found: see build.log"
      return 1
    fi
    echo "configure with CUDA architectures '$arch' failed; trying 90"
    rm -rf "$BUILD"
    configure 90 || { tail -40 "$RESULTS/build.log"; note "cmake configure failed: see build.log"; return 1; }
    arch=90
  fi
  timeout "$(rest)" cmake --build "$BUILD" --parallel "$(nproc)" >> "$RESULTS/build.log" 2>&1
  local rc=$?
  if [ $rc -ne 0 ]; then
    grep -E -i 'error|warning' "$RESULTS/build.log" | head -20
    tail -20 "$RESULTS/build.log"
    [ $rc -eq 124 ] || note "build failed: see build.log"
    return $rc
  fi
  ls -la "$BUILD"/libtensorloom_*.so
  [ -f "$BUILD/libtensorloom_cuda.so" ] || { note "libtensorloom_cuda.so was not built"; return 1; }
  local warnings
  warnings=$(grep -c -i 'warning' "$RESULTS/build.log")
  note "sm_$arch, $(sed -n 's/.*release \([0-9.]*\).*/CUDA \1/p' "$RESULTS/device.txt" | head -1), $warnings warning lines"
  built=1
}

native_tests() {
  local label=gpu
  [ "$LIBRARY" = emu ] && label=emu
  (cd "$BUILD" && timeout "$STEP_LIMIT" ctest -L "$label" --no-tests=error --output-on-failure) 2>&1 \
    | tee "$RESULTS/ctest.log"
  local rc=${PIPESTATUS[0]}
  note "label $label: $(grep -E 'tests passed' "$RESULTS/ctest.log" | tail -1)"
  return $rc
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
  [ -x "$BUILD/bench_kernels" ] || { note "bench_kernels was not built"; return 1; }
  if [ "$LIBRARY" = emu ]; then
    note "bench_kernels built; it times a GPU, so the emulation dry run does not run it"
    return $SKIP
  fi
  TL_CUBLAS_PATH="$CUBLAS" LD_LIBRARY_PATH="$(dirname "${CUBLAS:-/}"):${LD_LIBRARY_PATH:-}" \
    timeout "$STEP_LIMIT" "$BUILD/bench_kernels" "$RESULTS/kernels.tsv" 2>&1 | tee "$RESULTS/kernels.txt"
  local rc=${PIPESTATUS[0]}
  return $rc
}

java_run() { # java_run ARGS... : the bundled JDK with the library under test
  LD_LIBRARY_PATH="$(dirname "${CUBLAS:-/}"):${LD_LIBRARY_PATH:-}" timeout "$STEP_LIMIT" "$JAVA" \
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
    --select-class dev.tensorloom.runtime.bert.BertEncoderEdgeCasesTest \
    --select-class dev.tensorloom.outside.KernelFamilyTest \
    --select-class dev.tensorloom.mpo.cuda.CudaMpoKernelsContractTest \
    --select-class dev.tensorloom.quant.CudaQuantKernelsContractTest \
    --select-class dev.tensorloom.hyperbolic.CudaPoincareKernelsContractTest 2>&1 | tee "$RESULTS/java-tests.log"
  local rc=${PIPESTATUS[0]}
  count() { sed -n "s/.*\[ *\([0-9][0-9]*\) tests $1 *\].*/\1/p" "$RESULTS/java-tests.log" | tail -1; }
  [ -n "$(count found)" ] && note "$(count found) tests: $(count successful) passed, $(count failed) failed, $(count aborted) skipped by an \
assumption (as the cuBLAS test without libcublas), $(count skipped) disabled"
  return $rc
}

encoder_benchmark() {
  java_run -cp "$(ls "$BUNDLE"/lib/tensorloom-*.jar | tr '\n' ':')" dev.tensorloom.bench.gpu.GpuEncoderCheck \
    "$RESULTS/encoder.tsv" ${TL_ENCODER_CASES:+--cases "$TL_ENCODER_CASES"}
  local rc=$?
  [ $rc -eq 0 ] && note "cases ${TL_ENCODER_CASES:-default}; table below"
  return $rc
}

# Races, out-of-bounds accesses and divergent barriers are what the serial CPU emulation cannot show. The
# tests run with TL_TEST_UNDER_SANITIZER=1, which leaves out their GPU-only sizes (the sanitizers slow a
# kernel down by orders of magnitude); --report-api-errors no, since test_memory provokes allocation and
# launch-configuration errors on purpose and checks that they are reported. A sanitizer that does not
# start (no support for this GPU or driver, no permission in a container) makes the step "skipped": it
# never reaches its summary line.
sanitizers() {
  if [ "$LIBRARY" = emu ]; then
    note "compute-sanitizer needs a GPU: not run in the emulation dry run"
    return $SKIP
  fi
  # Like nvcc, it may be in the toolkit's bin folder without being on the PATH.
  local sanitizer
  sanitizer=$(command -v compute-sanitizer || ls "${CUDA_PATH:-/none}/bin/compute-sanitizer" \
    "${CUDA_HOME:-/none}/bin/compute-sanitizer" /usr/local/cuda/bin/compute-sanitizer 2>/dev/null | head -1)
  [ -n "$sanitizer" ] || { note "compute-sanitizer not found: not run"; return $SKIP; }
  local tool test log rc limit runs=0 bad=0 refused=0
  for run in memcheck:memory memcheck:embedding memcheck:gemm memcheck:nn memcheck:attention \
             memcheck:mpo memcheck:qmatmul memcheck:poincare racecheck:gemm racecheck:nn racecheck:attention \
             racecheck:mpo racecheck:qmatmul racecheck:poincare synccheck:attention; do
    tool=${run%%:*}
    test=test_${run#*:}_cuda
    log="$RESULTS/sanitizer-$tool-${run#*:}.log"
    limit=$(($(left) - 20))
    [ "$limit" -gt 120 ] && limit=120
    if [ "$limit" -lt 15 ]; then
      note "$tool $test: out of time, not run"
      continue
    fi
    TL_TEST_UNDER_SANITIZER=1 timeout "$limit" "$sanitizer" --tool "$tool" --error-exitcode 1 \
      --report-api-errors no "$BUILD/$test" > "$log" 2>&1
    rc=$?
    # memcheck and synccheck end with "ERROR SUMMARY", racecheck with "RACECHECK SUMMARY".
    if grep -q -E "(ERROR|RACECHECK) SUMMARY" "$log"; then
      runs=$((runs + 1))
      if [ $rc -ne 0 ]; then
        bad=$((bad + 1))
        note "$tool $test: FAILED ($(grep -E '(ERROR|RACECHECK) SUMMARY' "$log" | tail -1 | sed 's/=* *//'))"
        grep -E -m 12 '^========= (Invalid|Race|Barrier|Error|    at)|CHECK|failed' "$log"
      fi
    elif [ $rc -eq 124 ]; then
      bad=$((bad + 1))
      note "$tool $test: FAILED (timed out after $limit s)"
    else
      refused=$((refused + 1))
      echo "compute-sanitizer --tool $tool did not run $test (exit $rc):"
      head -5 "$log"
    fi
  done
  [ $bad -gt 0 ] && return 1
  if [ $runs -eq 0 ]; then
    note "compute-sanitizer refused to run here ($refused runs; see sanitizer-*.log)"
    return $SKIP
  fi
  note "$runs sanitizer runs clean$([ $refused -gt 0 ] && echo ", $refused refused")"
}

summarize() {
  {
    echo "tensorloom GPU check, $(date -u '+%Y-%m-%d %H:%M UTC'), library $LIBRARY, sanitizers $SANITIZE, \
$((SECONDS - START)) s of a ${BUDGET} s budget"
    echo "results: $RESULTS"
    echo
    printf '%-18s %-8s %5s  %s\n' step status time note
    cat "$STEPS"
    if [ -s "$RESULTS/kernels.tsv" ]; then
      echo
      echo "kernels on $(awk -F'\t' 'NR == 2 { print $1 }' "$RESULTS/kernels.tsv") (bench_kernels: N back-to-back calls \
between two events / N; % of the copy's read + write bandwidth and of cuBLAS, same run)"
      awk -F'\t' 'function or_dash(v) { return v == "" ? "-" : v }
          NR == 1 { printf "  %-30s %-16s %9s %9s %-7s %6s %9s %8s\n", "kernel", "shape", "us/call", "achieved", "unit",
                           "% copy", "cuBLAS", "% cuBLAS"; next }
          { printf "  %-30s %-16s %9.2f %9.2f %-7s %6s %9s %8s\n", $2, $3, $4, $6, $7, or_dash($8), or_dash($9),
                   or_dash($10) }' "$RESULTS/kernels.tsv"
      grep -E 'bar:|MISMATCH' "$RESULTS/kernels.txt" | sed 's/^/  /'
    fi
    if [ -s "$RESULTS/encoder.tsv" ]; then
      echo
      echo "encoder (GpuEncoderCheck, cuda against vector; fp32 weights, then every projection 4-bit g128 RTN):"
      awk -F'\t' '{ printf "  %-9s %5s %6s %9s %9s %19s %17s %16s %12s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9 }' \
        "$RESULTS/encoder.tsv" # no column(1) on the GPU machine
    fi
    echo
    if [ $failed -eq 0 ] && [ -n "$incomplete" ]; then
      echo "RESULT: INCOMPLETE (no time left for: $incomplete; raise TL_CHECK_BUDGET_S or run them separately)"
    elif [ $failed -eq 0 ]; then
      echo "RESULT: PASS ($(awk '$2 == "ok"' "$STEPS" | wc -l) steps ok, $(awk '$2 == "skipped"' "$STEPS" | wc -l) skipped)"
    else
      echo "RESULT: FAIL (failed: $(awk '$2 == "FAILED" { print $1 }' "$STEPS" | paste -sd, | sed 's/,/, /g'))"
    fi
  } > "$SUMMARY"
}

CUBLAS="$(find_cublas || true)"
echo "tensorloom GPU check: library $LIBRARY, sanitizers $SANITIZE, cuBLAS ${CUBLAS:-not found}, build $BUILD, \
results $RESULTS, budget $BUDGET s"
java_ready=1
if [ ! -x "$JAVA" ]; then
  echo "!!! no $JAVA: run ./tensorloom gpu-bundle on a development machine first"
  java_ready=0
fi

needs_build() { # needs_build NAME CAP COMMAND... : a step that only makes sense on a finished build
  if [ $built = 1 ]; then step "$@"; else skip_step "$1" "the build failed"; fi
}
needs_java() {
  if [ $java_ready = 0 ]; then record "$1" FAILED - "no gpu-bundle/ (run ./tensorloom gpu-bundle)"; failed=1
  else needs_build "$@"; fi
}

step device 30 describe_device
step build 300 build_native
if [ "$SANITIZE" = only ]; then
  for s in ctest kernel-benchmarks java-tests encoder; do skip_step $s "TL_SANITIZE=only"; done
else
  needs_build ctest 150 native_tests
  needs_build kernel-benchmarks 150 kernel_benchmarks
  needs_java java-tests 150 java_tests
  needs_java encoder 150 encoder_benchmark
fi
if [ "$SANITIZE" = 0 ]; then
  skip_step sanitizers "off (TL_SANITIZE=1 runs them after the rest, TL_SANITIZE=only alone)"
else
  needs_build sanitizers 300 sanitizers
fi
rm -f "$NOTE"
summarize
echo
echo "=== summary (also in $SUMMARY)"
cat "$SUMMARY"
[ -n "$incomplete" ] && [ $failed -eq 0 ] && exit 3
exit $failed
