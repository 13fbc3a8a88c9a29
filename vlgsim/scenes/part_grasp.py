"""Seeded scene specs for dexterous part grasping (DexVLG): one part-annotated object on the
table in a stable pose (the object frame's identity: base on the table), turned about z and
shifted a little, a target part, optionally the fingers to use, and the instruction."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vlgsim.assets import ObjectSpec
from vlgsim.assets.colors import COLORS
from vlgsim.assets.objects import GRASPABLE_PARTS
from vlgsim.language.part_captions import part_instruction

FINGER_SETS = (("thumb", "index", "middle"), ("thumb", "index", "middle", "ring"),
               ("thumb", "index", "middle", "ring", "little"))


@dataclass(frozen=True)
class PartGraspScene:
    seed: int
    spec: ObjectSpec
    part: str
    pose: np.ndarray  # (4, 4) object frame in the world (table top at z = 0)
    fingers: tuple[str, ...] | None
    instruction: str


def sample_part_grasp_scene(seed: int, categories=None, scales=(1.0,), with_fingers: bool = True,
                            max_shift_m: float = 0.05) -> PartGraspScene:
    rng = np.random.default_rng(seed)
    cats = sorted(categories or GRASPABLE_PARTS)
    for c in cats:
        if c not in GRASPABLE_PARTS:
            raise ValueError(f"category {c!r} has no graspable parts; rule: one of {sorted(GRASPABLE_PARTS)}")
    category = cats[rng.integers(len(cats))]
    part = GRASPABLE_PARTS[category][rng.integers(len(GRASPABLE_PARTS[category]))]
    spec = ObjectSpec(category, sorted(COLORS)[rng.integers(len(COLORS))], float(scales[rng.integers(len(scales))]))
    yaw = rng.uniform(-np.pi, np.pi)
    pose = np.eye(4)
    pose[:2, :2] = [[np.cos(yaw), -np.sin(yaw)], [np.sin(yaw), np.cos(yaw)]]
    pose[:2, 3] = rng.uniform(-max_shift_m, max_shift_m, 2)
    fingers = FINGER_SETS[rng.integers(len(FINGER_SETS))] if with_fingers else None
    return PartGraspScene(seed, spec, part, pose, fingers, part_instruction(part, category, fingers))
