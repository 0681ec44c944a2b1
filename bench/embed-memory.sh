#!/usr/bin/env bash
# Peak memory of `./tensorloom embed --file` beside a plain ONNX Runtime Java program embedding the same texts
# with the same bundled all-MiniLM-L6-v2 (dev.tensorloom.bench.peer.OrtEmbedFile: ONNX Runtime and the HF
# tokenizer only, batches of 32, the JVM's default flags), each in a process of its own, same JDK. Peak = GNU
# time's "Maximum resident set size". The texts: 1,000 real ones of 5-60 words joined from WordNet glosses
# (peer.WordNetTextFile), written once. Memory, unlike speed, is a fair number on a busy machine.
#
#   bench/embed-memory.sh [OUT_DIR]    about 2 minutes; texts, both outputs and both time reports land in OUT_DIR
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT=${1:-$ROOT/bench/target/embed-memory}
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "embed-memory: needs GNU time at $TIME (apt-get install time)" >&2; exit 1; }
mkdir -p "$OUT"

"$ROOT/tensorloom" --version > /dev/null   # builds first if needed, so no build runs inside a measurement
TEXTS="$OUT/texts.txt"
[ -s "$TEXTS" ] || "$ROOT/tensorloom" java dev.tensorloom.bench.peer.WordNetTextFile "$TEXTS" 1000

peak() { # peak NAME COMMAND...: runs it under GNU time, prints its peak resident set in MB
  local name=$1
  shift
  "$TIME" -v "$@" > "$OUT/$name.csv" 2> "$OUT/$name.time" \
    || { echo "embed-memory: $name failed, see $OUT/$name.time" >&2; exit 1; }
  awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2 / 1024}' "$OUT/$name.time"
}

ours=$(peak tensorloom "$ROOT/tensorloom" embed --file "$TEXTS" --format csv)
ort=$(peak onnxruntime "$ROOT/tensorloom" java dev.tensorloom.bench.peer.OrtEmbedFile "$TEXTS")

# Both must have embedded the same texts: same rows, vectors equal to float rounding.
rows=$(wc -l < "$OUT/tensorloom.csv")
[ "$rows" -eq "$(wc -l < "$OUT/onnxruntime.csv")" ] || { echo "embed-memory: the outputs differ in rows" >&2; exit 1; }
diff=$(awk -F, 'NR == FNR { for (i = 1; i <= NF; i++) a[FNR, i] = $i; next }
  { for (i = 1; i <= NF; i++) { d = $i - a[FNR, i]; if (d < 0) d = -d; if (d > m) m = d } } END { printf "%.1e", m }' \
  "$OUT/tensorloom.csv" "$OUT/onnxruntime.csv")

echo "texts: $rows from $TEXTS ($(wc -w < "$TEXTS") words); max |difference| between the two outputs: $diff"
echo "peak resident memory (MB):"
echo "  tensorloom embed --file   $ours"
echo "  ONNX Runtime (Java)       $ort"
awk -v a="$ours" -v b="$ort" 'BEGIN { printf "  ratio                     %.2fx ONNX Runtime\n", a / b }'
