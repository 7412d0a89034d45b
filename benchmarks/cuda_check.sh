#!/usr/bin/env bash
# The checks that need a GPU, in one run: gradient accumulation on the GPU against CPU processes, the other CUDA
# tests (pytest -m cuda), then the model-speed and throughput benchmarks on CUDA, each under a time limit. From the
# repository root of a GPU machine:
#
#     benchmarks/cuda_check.sh [OUT]    # OUT (or $OUT): logs and results, default benchmarks/out/cuda-check
#
# PYTHON (default .venv/bin/python) picks the interpreter; ACCUMULATION_LIMIT_S, TESTS_LIMIT_S, SPEED_LIMIT_S,
# THROUGHPUT_LIMIT_S the limits in seconds. A step that fails or overruns (exit 124) does not stop the others; the
# script exits 1 if any step failed, 2 if no CUDA device is visible (the tests would all skip and prove nothing).
set -u
OUT=${1:-${OUT:-benchmarks/out/cuda-check}}
PYTHON=${PYTHON:-.venv/bin/python}
mkdir -p "$OUT"

if ! "$PYTHON" -c "import torch, sys; sys.exit(not torch.cuda.is_available())"; then
    echo "cuda_check: no CUDA device visible to $PYTHON" >&2
    exit 2
fi
"$PYTHON" -c "import torch; print('torch', torch.__version__, 'CUDA', torch.version.cuda, 'devices',
    torch.cuda.device_count(), torch.cuda.get_device_name())" | tee "$OUT/device.txt"

failed=()
step() {  # step NAME LIMIT_S COMMAND...: the output goes to the terminal and $OUT/NAME.log
    local name=$1 limit=$2
    shift 2
    echo "== $name (limit ${limit} s): $*"
    timeout --kill-after=30 "$limit" "$@" 2>&1 | tee "$OUT/$name.log"
    local rc=${PIPESTATUS[0]}
    if [ "$rc" -ne 0 ]; then
        echo "== $name failed with exit status $rc"
        failed+=("$name")
    fi
}

# Gradient accumulation on the GPU (4 micro-batches of 2) against 4 CPU processes, printing the difference.
step accumulation "${ACCUMULATION_LIMIT_S:-300}" "$PYTHON" -m pytest -m cuda -rs -q -s tests/test_engine_accumulation.py
step tests "${TESTS_LIMIT_S:-1200}" "$PYTHON" -m pytest -m cuda -rs -q tests --ignore tests/test_engine_accumulation.py
step model-speed "${SPEED_LIMIT_S:-600}" "$PYTHON" benchmarks/bench_model_speed.py --device cuda --repeats 10
step throughput "${THROUGHPUT_LIMIT_S:-900}" "$PYTHON" benchmarks/bench_throughput.py --config config/paper.yaml \
    --device cuda --out "$OUT/throughput-cuda.yaml"

if [ ${#failed[@]} -gt 0 ]; then
    echo "cuda_check: failed: ${failed[*]} (logs in $OUT)"
    exit 1
fi
echo "cuda_check: all steps passed (logs in $OUT)"
