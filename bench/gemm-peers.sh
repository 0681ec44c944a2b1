#!/usr/bin/env bash
# The fp32 GEMM beside OpenBLAS (issue 12's bar: at least 0.9x at 1024, 2048 and 4096 on 2 threads), in one JMH
# run per instruction set on one machine:
#   avx512  the JVM's own choice (AVX-512 where the CPU has it) and OpenBLAS's SkylakeX kernels, asked for by name
#           (OPENBLAS_CORETYPE=SkylakeX): OpenBLAS 0.3.31 does not know AMD's family 26 (Zen 5) and would otherwise
#           run its Haswell (AVX2) kernels there
#   avx2    C2 limited to AVX2 (-XX:UseAVX=2: 256-bit vectors, the 16 ymm registers) and OpenBLAS's Haswell
#           kernels (OPENBLAS_CORETYPE=Haswell), so an AVX-512 machine also answers for AVX2 ones
# Each run checks what it measured: our species (16 or 8 lanes) and the core OpenBLAS dispatched to, printed by
# GemmBenchmark's setup, which also checks one OpenBLAS product against ours.
#
#   bench/gemm-peers.sh OUT_DIR [JMH ARGS]   about 10 minutes; JMH ARGS such as -wi 1 -i 1 shorten it
#   GEMM_SIZES=1024 GEMM_THREADS=1 bench/gemm-peers.sh ...   other sizes or thread counts (a -p size among the JMH
#                                            ARGS would add to the sizes, not replace them)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT=${1:?usage: bench/gemm-peers.sh OUT_DIR [JMH ARGS]}
shift
mkdir -p "$OUT"

lscpu | grep -E 'Model name|^CPU\(s\)|L2|L3' > "$OUT/machine.txt"
flags=$(grep -o -w -E 'avx512f|avx2' /proc/cpuinfo | sort -u | tr '\n' ' ')
echo "$flags" >> "$OUT/machine.txt"

run() { # run NAME LANES CORE JMH_ARGS...: one JMH run, its CSV in OUT/NAME.csv; fails unless LANES and CORE took
  local name=$1 lanes=$2 core=$3
  shift 3
  "$ROOT/tensorloom" jmh 'jmh\.GemmBenchmark\.(vector|openblas)$' -p size="${GEMM_SIZES:-1024,2048,4096}" \
    -p threads="${GEMM_THREADS:-2}" "$@" \
    -rf csv -rff "$OUT/$name.csv" > "$OUT/$name.log" 2>&1 || { tail -20 "$OUT/$name.log" >&2; exit 1; }
  grep -o -E '(vector: species|openblas: core) [^;]*' "$OUT/$name.log" | sort -u | sed "s/^/$name: /"
  grep -q "vector: species Species\[float, $lanes," "$OUT/$name.log" \
    || { echo "gemm-peers: $name did not run $lanes-lane vectors" >&2; exit 1; }
  [ -z "$core" ] || grep -q "openblas: core $core," "$OUT/$name.log" \
    || { echo "gemm-peers: $name did not run OpenBLAS's $core kernels" >&2; exit 1; }
}

if [[ $flags == *avx512f* ]]; then
  OPENBLAS_CORETYPE=SkylakeX run avx512 16 SkylakeX "$@"
fi
OPENBLAS_CORETYPE=Haswell run avx2 8 Haswell -jvmArgsPrepend -XX:UseAVX=2 "$@"

# GFLOP/s per size from each CSV (the gflop counter's rows), then ours / OpenBLAS.
cat "$OUT/machine.txt"
echo
printf '%-7s %6s %10s %10s %7s\n' isa size vector openblas ratio
for csv in "$OUT"/avx512.csv "$OUT"/avx2.csv; do
  [ -f "$csv" ] || continue
  awk -F, -v isa="$(basename "$csv" .csv)" '
    NR == 1 { for (i = 1; i <= NF; i++) { gsub(/"/, "", $i); col[$i] = i }; next }
    { gsub(/"/, "") }
    $1 ~ /:gflop$/ {
      method = $1; sub(/:gflop$/, "", method); sub(/.*\./, "", method)
      score[method, $col["Param: size"]] = $col["Score"]; sizes[$col["Param: size"]]
    }
    END {
      for (s in sizes) {
        v = score["vector", s]; o = score["openblas", s]
        printf "%-7s %6d %10.1f %10.1f %7.2f\n", isa, s, v, o, (o > 0 ? v / o : 0)
      }
    }' "$csv" | sort -k2,2n
done
