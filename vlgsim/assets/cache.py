"""The on-disk cache shared by every layer: ``$VLGSIM_CACHE`` or ``/tmp/vlgsim-cache-<uid>``."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def cache_dir(name: str) -> Path:
    """``<cache root>/<name>``, created if missing."""
    root = Path(os.environ.get("VLGSIM_CACHE", Path(tempfile.gettempdir()) / f"vlgsim-cache-{os.getuid()}"))
    d = root / name
    d.mkdir(parents=True, exist_ok=True)
    return d
