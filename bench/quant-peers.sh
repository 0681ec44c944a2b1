#!/usr/bin/env bash
# The quantized matrix products beside their peers, in one run on one machine (docs/BENCHMARKS.md):
#   our fp32 vector GEMV, our quant kernels (QuantGemvBenchmark), Jlama 0.8.4 (JlamaGemvBenchmark) and ggml
#   (../shared/anchors/ggml, cold weights), all 4096x4096, 2 threads, batch 1 and 16. Every side rotates over 256 MiB
#   of copies (ggml over 4 x L3, told L3 = 64 MiB), so on a machine with a larger L3 all read the same DRAM.
#
#   bench/quant-peers.sh OUT_DIR        about 10 minutes; JMH's and ggml's raw output land in OUT_DIR
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT=${1:?usage: bench/quant-peers.sh OUT_DIR}
GGML=${GGML_BENCH:-$ROOT/../shared/anchors/ggml/ggml-matmul-bench}
mkdir -p "$OUT"
[ -x "$GGML" ] || { echo "quant-peers: no ggml anchor at $GGML (set GGML_BENCH)" >&2; exit 1; }

lscpu | grep -E 'Model name|^CPU\(s\)|L3' > "$OUT/machine.txt"
grep -o -w -E 'avx512f|avx2' /proc/cpuinfo | sort -u | tr '\n' ' ' >> "$OUT/machine.txt"

jmh() { # jmh NAME ARGS...: one JMH run, its table in OUT/NAME.txt
  local name=$1
  shift
  "$ROOT/tensorloom" jmh "$@" -rf json -rff "$OUT/$name.json" | tee "$OUT/$name.log" | grep -E '^[A-Z][A-Za-z]+Benchmark\.' \
    > "$OUT/$name.txt"
}

jmh fp32 'jmh\.GemvBenchmark' -p size=4096 -p backend=vector -p threads=2
jmh quant1 'jmh\.QuantGemvBenchmark' -p batch=1 -p format=int4-g128,int2-g128,int3-g128,int8-g128,q4_0,q8_0,q4_K,q6_K
jmh quant16 'jmh\.QuantGemvBenchmark' -p batch=16 -p format=int4-g128,q4_0,q8_0
jmh jlama 'jmh\.JlamaGemvBenchmark' -p activation=I8 -wi 3 -w 2
"$GGML" --types f32,q8_0,q4_0,q4_K,q6_K,q2_K,q3_K --batches 1,16 --modes cold --threads 2 --l3-mib 64 \
  > "$OUT/ggml.tsv" 2> "$OUT/ggml.log"
cat "$OUT/machine.txt"; echo
cat "$OUT/fp32.txt" "$OUT/quant1.txt" "$OUT/quant16.txt" "$OUT/jlama.txt"
cut -f1-3,7,9 "$OUT/ggml.tsv"
