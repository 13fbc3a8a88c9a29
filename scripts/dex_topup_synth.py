"""Synthesise more grasps for single object parts (for topping up the shipped grasp library).

    python scripts/dex_topup_synth.py OUT_DIR CATEGORY:PART[,CATEGORY:PART...] [--per-part 64] [--seed 7]

One process, one part after another (the existing synthesis: :func:`synthesize_grasp_set` with
``parts=(part,)``); each part's full set (every attempt, valid or not) goes to
``OUT_DIR/<category>_<part>/``. Resumable: a part with a file is skipped. Then
``scripts/dex_library_topup.py`` picks the grasps worth adding to the library.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from vlgsim.data.grasp_sets import grasp_set_path, save_grasp_set
from vlgsim.grasp.dex_pipeline import synthesize_grasp_set


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("parts", help="comma-separated CATEGORY:PART")
    ap.add_argument("--per-part", type=int, default=64)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()
    for item in a.parts.split(","):
        category, part = item.split(":")
        folder = a.out / f"{category}_{part}"
        if grasp_set_path(folder, category, 1.0).exists():
            continue
        t0 = time.perf_counter()
        gs = synthesize_grasp_set(category, 1.0, per_part=a.per_part, parts=(part,), device=a.device, seed=a.seed)
        save_grasp_set(gs, folder)
        good = gs.valid & (gs.part_touch >= 3)
        print(f"{category}:{part}: {int(gs.valid.sum())}/{len(gs)} valid, {int(good.sum())} valid with >= 3 "
              f"fingertips on the part, {time.perf_counter() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
