#!/usr/bin/env bash
# Prints the benchmark figures (medians of several runs, and ratios).
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
for b in bench/bench_*.py; do
  echo "== $b"
  python "$b" || status=1
done
exit $status
