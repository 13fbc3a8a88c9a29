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

Which grasp: of the instructed part's grasps in the set's order (:meth:`GraspSet.select`: valid,
instructed fingers, >= 3 fingertips on the part, held), the first ``MAX_PLANS`` are checked for
an approach (:func:`vlgsim.grasp.approach.plan_approach`, the env's own planner, on the object's
mesh at its pose) and ranked: the instructed fingers (up to one) first, then a clear approach
with the fingers only backed off the surface, then >= 3 fingertips on the part (``part_touch``),
then an approach along the palm normal (coming in from the object's centre side pushed the
object in the last centimetre more often), then a clear approach of any kind, then the set's order. A grasp whose approach is blocked is
passed over for the next one. Plans are cached per grasp and object orientation.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from vlgsim.assets.cache import cache_dir
from vlgsim.grasp.dexterous import transform_grasp

MAX_PLANS = 8
"""How many of a part's best grasps the oracle plans an approach for (about 0.1-0.3 s each)."""


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
        self._meshes: dict = {}
        self._plans: dict = {}
        self._hand = None
        self._action = None
        self.last_choice: dict = {}
        """The chosen grasp: ``index`` in the set, ``rank`` in the set's order, ``approach_clear``,
        ``approach_shape``, ``part_touch``."""

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
        pose = np.asarray(info["object_pose"], np.float64)
        best = None
        for rank, i in enumerate(idx[:MAX_PLANS]):
            plan = self._plan(gs, int(i), info["category"], float(info["scale"]), pose)
            contacts = set(filter(None, gs.contact_fingers[i].split(",")))
            mismatch = fingers is not None and len(set(fingers) ^ contacts) > 1
            backed = plan.clear and plan.shape.startswith("backed")
            key = (mismatch, not backed, int(gs.part_touch[i]) < 3, plan.kind != "palm_normal", not plan.clear, rank)
            if best is None or key < best[0]:
                best = (key, int(i), rank, plan)
            if not any(key[:5]):
                break
        _, i, rank, plan = best
        self.last_choice = dict(index=i, rank=rank, approach_clear=plan.clear, approach_shape=plan.shape,
                                part_touch=int(gs.part_touch[i]))
        self._action = transform_grasp(np.asarray(gs.grasps[i], np.float64), pose).astype(np.float32)

    def _plan(self, gs, i: int, category: str, scale: float, pose: np.ndarray):
        """The env's approach plan for grasp ``i`` of ``gs`` on the object at ``pose`` (cached by
        grasp and by the object's orientation and height, which decide the plan in its frame)."""
        import trimesh

        from vlgsim.assets import build_object
        from vlgsim.assets.objects import ObjectSpec
        from vlgsim.assets.shadow_hand import load_shadow_hand
        from vlgsim.grasp.approach import plan_approach

        key = (category, round(scale, 2), i, *np.round(pose[2, :4], 4))
        if key not in self._plans:
            if self._hand is None:
                self._hand = load_shadow_hand()
            mk = (category, round(scale, 2))
            if mk not in self._meshes:
                parts = build_object(ObjectSpec(category, "white", scale)).parts  # colour does not change the shape
                self._meshes[mk] = trimesh.util.concatenate([p.mesh for p in parts])
            grasp = transform_grasp(np.asarray(gs.grasps[i], np.float64), pose)
            self._plans[key] = plan_approach(self._hand, grasp, pose, self._meshes[mk])
        return self._plans[key]

    def act(self, observation: dict) -> np.ndarray:
        return self._action
