#!/usr/bin/env bash
# Install vlgsim and everything it needs into a virtual environment, then make sure SAPIEN
# can render (installs Mesa lavapipe on Debian 12 when no Vulkan device can).
#   VENV=.venv PYTHON=python3 scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
VENV="${VENV:-.venv}"

if [ ! -x "$VENV/bin/python" ]; then
  echo "[vlgsim] creating virtual environment $VENV"
  "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --upgrade pip

# PyTorch first: otherwise a dependency pulls the newest (multi-GB CUDA) build.
if ! "$VENV/bin/python" -c "import torch" >/dev/null 2>&1; then
  echo "[vlgsim] installing torch==2.13.0 (CPU build where one is available)"
  "$VENV/bin/pip" install -q "torch==2.13.0" || {
    echo "[vlgsim] torch==2.13.0 not found; installing the CPU wheel index build" >&2
    "$VENV/bin/pip" install -q torch --index-url https://download.pytorch.org/whl/cpu
  }
fi

echo "[vlgsim] installing vlgsim and its test extras"
"$VENV/bin/pip" install -q -e ".[test]"

bash scripts/setup_vulkan.sh "$VENV/bin/python"
echo "[vlgsim] ready: $VENV/bin/vlgsim"
