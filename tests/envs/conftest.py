"""Fixtures shared by the env tests."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def mplib_venv():
    """The mplib side venv (make setup builds it; built here if missing, like the lerobot one)."""
    venv = Path(os.environ.get("VLGSIM_MPLIB_VENV", sys.prefix + "-mplib"))
    if not (venv / ".mplib-ready").exists():
        subprocess.run(["bash", str(REPO / "scripts/setup_mplib_venv.sh"), sys.executable, str(venv)], check=True,
                       timeout=900)
    old = os.environ.get("VLGSIM_MPLIB_VENV")
    os.environ["VLGSIM_MPLIB_VENV"] = str(venv)
    yield venv
    if old is None:
        os.environ.pop("VLGSIM_MPLIB_VENV", None)
    else:
        os.environ["VLGSIM_MPLIB_VENV"] = old
