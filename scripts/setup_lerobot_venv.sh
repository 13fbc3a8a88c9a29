#!/usr/bin/env bash
# A side venv in which lerobot's own dataset code (lerobot 0.4.4, the last line for Python
# 3.11) runs on the main venv's torch, to check our LeRobot v3.0 datasets with lerobot's
# reader and writer (tests/data/test_lerobot_compat.py). lerobot pins torch<2.11 (a
# multi-GB CUDA download), so it is installed with --no-deps: everything lerobot.datasets
# imports (torch, datasets, huggingface_hub, pandas, pyarrow, av, fsspec, PIL, packaging)
# comes from the main venv, whose site-packages a .pth file appends to sys.path (packages
# installed here take precedence). torchvision and torchcodec have no CPU-torch wheel on
# PyPI: see tests/data/lerobot_probe.py for how the test does without them.
#   scripts/setup_lerobot_venv.sh MAIN_PYTHON [DEST]      (default DEST: .venv-lerobot)
set -euo pipefail
MAIN_PY="${1:-.venv/bin/python}"
DEST="${2:-.venv-lerobot}"
STAMP="$DEST/.lerobot-ready"
[ -f "$STAMP" ] && exit 0
SITE=$("$MAIN_PY" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
rm -rf "$DEST"
"$MAIN_PY" -m venv "$DEST"
OWN=$("$DEST/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
echo "$SITE" > "$OWN/_vlgsim_main_venv.pth"
"$DEST/bin/python" -m pip install -q --no-deps "lerobot==0.4.4"
touch "$STAMP"
echo "[vlgsim] lerobot side venv ready: $DEST (lerobot 0.4.4 --no-deps on $SITE)"
