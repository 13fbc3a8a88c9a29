"""Privileged oracle for DexVLG-PartGrasp-v0: executes a synthesised, validated grasp of the
instructed part (with the instructed fingers, up to one finger, when there are any).

Where the grasps come from:
- ``oracle`` (no DIR): the grasp library shipped with the package
  (:func:`vlgsim.data.grasp_sets.library_dir`), at once, with no synthesis. An object the
  library lacks, or whose library set is stale (the object or the hand changed since it was
  synthesised: hash mismatch), falls back, with a warning, to the cache
  (``$VLGSIM_CACHE/grasp_sets``), where a missing or stale set is synthesised on the spot.
- ``oracle:DIR``: files written by ``vlgsim synth-grasps --out DIR``; a missing set is
  synthesised into DIR.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from vlgsim.assets.cache import cache_dir
from vlgsim.grasp.dexterous import transform_grasp


def grasp_set_dir() -> Path:
    return cache_dir("grasp_sets")


class DexOraclePolicy:
    name = "oracle"

    def __init__(self, grasp_dir: str | None = None, per_part: int = 32, use_library: bool | None = None):
        self.use_library = (not grasp_dir) if use_library is None else bool(use_library)
        self.grasp_dir = Path(grasp_dir) if grasp_dir else grasp_set_dir()
        self.per_part = per_part
        self.sources: dict = {}
        """(category, scale) -> where its grasps came from: ``library``, ``cache`` or ``synthesised``."""
        self._sets: dict = {}
        self._action = None

    def _from_dir(self, category: str, scale: float, check_version: bool):
        from vlgsim.data.grasp_sets import grasp_set_path, load_grasp_set, save_grasp_set
        from vlgsim.grasp.dex_library import check_versions

        path = grasp_set_path(self.grasp_dir, category, scale)
        if path.exists():
            gs = load_grasp_set(path)
            stale = check_versions(gs.meta, category, scale) if check_version else []
            if not stale:
                return gs, "cache"
            warnings.warn(f"grasp set {path} is stale ({'; '.join(stale)}): synthesising it again", stacklevel=3)
        from vlgsim.grasp.dex_pipeline import synthesize_grasp_set

        save_grasp_set(synthesize_grasp_set(category, scale, per_part=self.per_part), self.grasp_dir)
        return load_grasp_set(path), "synthesised"

    def grasp_set(self, category: str, scale: float):
        from vlgsim.data.grasp_sets import GraspLibraryError, load_library_set

        key = (category, round(scale, 2))
        if key not in self._sets:
            if self.use_library:
                try:
                    self._sets[key], self.sources[key] = load_library_set(category, scale), "library"
                except GraspLibraryError as e:
                    warnings.warn(f"{e}; falling back to the grasp-set cache {self.grasp_dir} "
                                  "(synthesised there when missing)", stacklevel=2)
                    self._sets[key], self.sources[key] = self._from_dir(category, scale, check_version=True)
            else:
                self._sets[key], self.sources[key] = self._from_dir(category, scale, check_version=False)
        return self._sets[key]

    def reset(self, instruction: str, info: dict) -> None:
        gs = self.grasp_set(info["category"], float(info["scale"]))
        fingers = tuple(info.get("fingers") or ()) or None
        idx = gs.select(info["part"], fingers)
        if not len(idx):
            raise ValueError(f"grasp set of {info['category']} has no grasp on part {info['part']!r}")
        self._action = transform_grasp(np.asarray(gs.grasps[idx[0]], np.float64),
                                       np.asarray(info["object_pose"])).astype(np.float32)

    def act(self, observation: dict) -> np.ndarray:
        return self._action
