#!/usr/bin/env bash
# The GPU checks of issue #16 in one run on a machine with an NVIDIA GPU (see benchmarks/gpu_check.py).
# Usage, from the repository root: bash benchmarks/gpu_check.sh [OUT_DIR]
set -euo pipefail
out="${1:-${OUT:-benchmarks/results}}"
mkdir -p "$out"
python=python3
if ! "$python" -c "import cupy" 2>/dev/null; then
    # a machine without CuPy: wheels carried in .whl/ (no network there), else the gpu extra's own
    if ls .whl/cupy*.whl >/dev/null 2>&1; then
        "$python" -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl
        export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
    else
        "$python" -m pip install -q cupy-cuda12x
    fi
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$out/nvidia_smi.txt"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
timeout 470 "$python" benchmarks/gpu_check.py --out "$out" 2>&1 | tee "$out/gpu_check.log"
