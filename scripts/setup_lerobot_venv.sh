#!/usr/bin/env bash
# A side venv in which lerobot's own dataset code (lerobot 0.4.4, the last line for Python
# 3.11) runs on the main venv's torch, to check our LeRobot v3.0 datasets with lerobot's
# reader and writer (tests/data/test_lerobot_compat.py). lerobot pins torch<2.11 (a
# multi-GB CUDA download), so it is installed with --no-deps, plus the few pure-Python
# packages that lerobot.datasets imports and the main venv lacks. The main venv's
# site-packages (torch, datasets, pandas, pyarrow, av, huggingface_hub ...) are appended to
# sys.path by a .pth file; packages installed here take precedence.
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
"$DEST/bin/python" -m pip install -q --no-deps "lerobot==0.4.4" "draccus==0.10.0" "jsonlines>=4" \
  "termcolor>=2.4" "deepdiff>=7,<9" "orderly-set>=5" "mergedeep>=1.3" "pyyaml-include<2" "toml>=0.10" \
  "typing-inspect>=0.9" "mypy-extensions>=1"
touch "$STAMP"
echo "[vlgsim] lerobot side venv ready: $DEST (lerobot 0.4.4 --no-deps on $SITE)"
