#!/usr/bin/env bash
# Builds tensorloom's native libraries for the java-bindings jar. Maven runs it (java-bindings/pom.xml):
#
#   build-native.sh build TARGET                  configure and build the root CMakeLists.txt (Release) in
#                                                 TARGET/native-build, then copy libtensorloom_emu.so and, when
#                                                 built, libtensorloom_cuda.so to TARGET/classes/native/OS-ARCH/,
#                                                 the resource folder NativeLibraryLoader reads
#   build-native.sh test TARGET SKIP_TESTS SKIP   ctest -LE gpu in TARGET/native-build, then the same tests
#                                                 built with ASan + UBSan in TARGET/native-sanitize, unless
#                                                 either SKIP is "true" (-DskipTests, -Dmaven.test.skip) or
#                                                 nothing was built
#
# Without cmake or a C++ compiler it prints one line and exits 0: the Java build goes on CPU-only.
# TL_SKIP_CUDA=1 leaves out the nvcc build (-DTL_BUILD_CUDA=OFF), which is most of the build time.
set -euo pipefail

mode=${1:?usage: build-native.sh build|test TARGET [SKIP_TESTS SKIP]}
target=${2:?usage: build-native.sh build|test TARGET [SKIP_TESTS SKIP]}
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$target/native-build"
skipped="$target/native-build.skipped" # says why the last native build did not happen

# The same os-arch words as NativeLibraryLoader.platform().
os=$(uname -s | tr '[:upper:]' '[:lower:]')
case "$os" in darwin) os=macos ;; esac
arch=$(uname -m)
case "$arch" in amd64) arch=x86_64 ;; arm64) arch=aarch64 ;; esac
resources="$target/classes/native/$os-$arch"

skip() {
  mkdir -p "$target"
  echo "$1" > "$skipped"
  echo "[tensorloom] native libraries skipped: $1; the build goes on CPU-only (java-bindings' native tests need them)"
  exit 0
}

show_log() { # the errors first (parallel builds bury them), then how the log ends
  echo "[tensorloom] $1 failed; errors from $2:" >&2
  grep -n -i -E 'error|fatal|undefined reference' "$2" | head -n 60 >&2 || true
  echo "[tensorloom] last lines of $2:" >&2
  tail -n 40 "$2" >&2
}

case "$mode" in
build)
  rm -f "$skipped"
  command -v cmake >/dev/null 2>&1 || skip "cmake not found on the PATH"
  compiler=""
  for c in "${CXX:-}" c++ g++ clang++; do
    if [ -n "$c" ] && command -v "$c" >/dev/null 2>&1; then compiler=$c; break; fi
  done
  [ -n "$compiler" ] || skip "no C++ compiler found (set CXX, or install g++ or clang++)"
  [ -f "$root/CMakeLists.txt" ] || skip "no CMakeLists.txt at $root"

  cuda_flag=-UTL_BUILD_CUDA # forget an OFF left in the cache by an earlier TL_SKIP_CUDA=1 build
  [ "${TL_SKIP_CUDA:-0}" = 1 ] && cuda_flag=-DTL_BUILD_CUDA=OFF
  mkdir -p "$build"
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release "$cuda_flag" >"$build/configure.log" 2>&1 \
    || { show_log "cmake configure" "$build/configure.log"; exit 1; }
  jobs=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)
  cmake --build "$build" --parallel "$jobs" >"$build/build.log" 2>&1 \
    || { show_log "native build" "$build/build.log"; exit 1; }

  rm -rf "$resources"
  mkdir -p "$resources"
  built=()
  for lib in libtensorloom_emu.so libtensorloom_cuda.so; do
    found=$(find "$build" -name "$lib" \( -type f -o -type l \) -not -path '*/CMakeFiles/*' -print -quit)
    if [ -n "$found" ]; then
      cp -L "$found" "$resources/$lib" # -L: a versioned soname symlink becomes the file itself
      built+=("$lib")
    fi
  done
  if [ ! -f "$resources/libtensorloom_emu.so" ]; then
    echo "[tensorloom] the native build finished but produced no libtensorloom_emu.so (see $build/build.log)" >&2
    exit 1
  fi
  echo "[tensorloom] native: ${built[*]} -> $resources"
  ;;
test)
  skip_tests=${3:-false}
  skip_all=${4:-false}
  if [ "$skip_tests" = true ] || [ "$skip_all" = true ]; then
    echo "[tensorloom] native tests (ctest) skipped with the Java tests"; exit 0
  fi
  if [ -f "$skipped" ] || [ ! -f "$build/CMakeCache.txt" ]; then
    echo "[tensorloom] native tests (ctest) skipped: the native libraries were not built"; exit 0
  fi
  (cd "$build" && ctest --output-on-failure -LE gpu)
  # Again under AddressSanitizer and UBSan: an out-of-bounds or misaligned (float4) access, which would
  # fault on a GPU, fails here. The emulation only, no nvcc: a few seconds to build on 2 cores.
  sanitized="$target/native-sanitize"
  mkdir -p "$sanitized"
  cmake -S "$root" -B "$sanitized" -DCMAKE_BUILD_TYPE=Debug -DTL_BUILD_CUDA=OFF -DTL_SANITIZE=ON \
    >"$sanitized/configure.log" 2>&1 || { show_log "sanitized configure" "$sanitized/configure.log"; exit 1; }
  jobs=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)
  cmake --build "$sanitized" --parallel "$jobs" >"$sanitized/build.log" 2>&1 \
    || { show_log "sanitized native build" "$sanitized/build.log"; exit 1; }
  echo "[tensorloom] native tests again under AddressSanitizer + UBSan"
  (cd "$sanitized" && ctest --output-on-failure -LE gpu)
  ;;
*)
  echo "usage: build-native.sh build|test TARGET [SKIP_TESTS SKIP]" >&2; exit 2 ;;
esac
