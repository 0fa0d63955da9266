#!/usr/bin/env bash
# The one-call GPU benchmark suite (issue 20): ~8 minutes on one H100/H200, writes
# results.json and results.md under the folder given (default runs/bench_gpu).
#     bash benchmarks/gpu_suite.sh [OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python )}"
"$PYTHON" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else \
'no CUDA device here: the GPU suite needs one (the CPU table: make bench)')"
exec "$PYTHON" benchmarks/suite.py --preset gpu --device cuda --out "${1:-runs/bench_gpu}"
