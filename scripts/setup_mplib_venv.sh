#!/usr/bin/env bash
# A side venv for mplib 0.1.1, the motion planner of the bimanual experts
# (vlgsim/sim/arm_planner.py runs vlgsim/sim/mplib_worker.py in it). mplib 0.1.1 (ManiSkill
# 3.0.1's pin) is a pybind11 build against numpy 1.x: constructing a Planner under the main
# venv's numpy 2 segfaults (ManiSkill issue #1359), and mplib 0.2.1 declares numpy<2 too.
# This venv is standalone (no .pth into the main venv): numpy 1.26 + mplib + toppra only.
#   scripts/setup_mplib_venv.sh MAIN_PYTHON [DEST]      (default DEST: .venv-mplib)
set -euo pipefail
MAIN_PY="${1:-.venv/bin/python}"
DEST="${2:-.venv-mplib}"
STAMP="$DEST/.mplib-ready"
[ -f "$STAMP" ] && exit 0
rm -rf "$DEST"
"$MAIN_PY" -m venv "$DEST"
"$DEST/bin/python" -m pip install -q "numpy==1.26.4" "mplib==0.1.1" "toppra==0.6.10" "transforms3d==0.4.2"
touch "$STAMP"
echo "[vlgsim] mplib side venv ready: $DEST (mplib 0.1.1, numpy 1.26.4)"
