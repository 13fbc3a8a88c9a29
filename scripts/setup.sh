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

# openpi's client and server (tests drive our openpi protocol with them). Both are tiny and
# pure Python, but openpi-client 0.1.2 pins numpy<2 (it runs on numpy 2), so --no-deps.
echo "[vlgsim] installing openpi-client 0.1.2 and openpi-server 0.1.0 (--no-deps)"
"$VENV/bin/pip" install -q --no-deps "openpi-client==0.1.2" "openpi-server==0.1.0"

# lerobot 0.4.4 in a side venv on this venv's torch (it pins torch<2.11): the LeRobot
# compatibility test reads and appends to our datasets with lerobot's own code.
bash scripts/setup_lerobot_venv.sh "$VENV/bin/python" "${VENV}-lerobot"

# mplib 0.1.1 (the bimanual experts' motion planner) in a side venv with numpy 1.26: under the
# main venv's numpy 2 it segfaults building a planner (ManiSkill issue #1359).
bash scripts/setup_mplib_venv.sh "$VENV/bin/python" "${VENV}-mplib"

bash scripts/setup_vulkan.sh "$VENV/bin/python"
echo "[vlgsim] ready: $VENV/bin/vlgsim"
