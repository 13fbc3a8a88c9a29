"""Privileged oracle for DexVLG-PartGrasp-v0: executes a synthesised, validated grasp of the
instructed part (with the instructed fingers, up to one finger, when there are any).

Grasp sets come from ``DIR`` (``oracle:DIR``, files written by ``vlgsim synth-grasps``) or
the cache (``$VLGSIM_CACHE/grasp_sets``); a missing set is synthesised on the spot (Warp on
the best device) and saved there, so the first episode of an object takes a while.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vlgsim.assets.cache import cache_dir
from vlgsim.grasp.dexterous import transform_grasp


def grasp_set_dir() -> Path:
    return cache_dir("grasp_sets")


class DexOraclePolicy:
    name = "oracle"

    def __init__(self, grasp_dir: str | None = None, per_part: int = 32):
        self.grasp_dir = Path(grasp_dir) if grasp_dir else grasp_set_dir()
        self.per_part = per_part
        self._sets: dict = {}
        self._action = None

    def grasp_set(self, category: str, scale: float):
        from vlgsim.data.grasp_sets import grasp_set_path, load_grasp_set, save_grasp_set

        key = (category, round(scale, 2))
        if key not in self._sets:
            path = grasp_set_path(self.grasp_dir, category, scale)
            if not path.exists():
                from vlgsim.grasp.dex_pipeline import synthesize_grasp_set

                save_grasp_set(synthesize_grasp_set(category, scale, per_part=self.per_part), self.grasp_dir)
            self._sets[key] = load_grasp_set(path)
        return self._sets[key]

    def reset(self, instruction: str, info: dict) -> None:
        gs = self.grasp_set(info["category"], float(info["scale"]))
        fingers = tuple(info.get("fingers") or ()) or None
        idx = gs.select(info["part"], fingers)
        if not len(idx):
            raise ValueError(f"grasp set of {info['category']} has no grasp on part {info['part']!r}")
        self._action = transform_grasp(gs.grasps[idx[0]], np.asarray(info["object_pose"])).astype(np.float32)

    def act(self, observation: dict) -> np.ndarray:
        return self._action
