"""Seeded, backend-neutral tabletop scene specs for language-conditioned grasping.

World frame: z up, metres, table top at z = 0, robot base at ``ROBOT_BASE_XY``.
Objects rest in their stable identity pose, rotated by ``yaw_rad`` about z.
Same seed and arguments -> identical spec (objects, poses, camera, target, instruction).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vlgsim.assets import COLORS, ObjectSpec, build_object, categories_in_split
from vlgsim.assets.objects import category_noun
from vlgsim.language import ReferentView, make_instruction, referring_expressions
from vlgsim.scenes.camera import CameraSpec

ROBOT_BASE_XY = (-0.615, 0.0)
WORKSPACE_X = (-0.12, 0.12)
WORKSPACE_Y = (-0.20, 0.20)
"""Area (world metres) where object origins are placed: reachable by a Panda top-down grasp."""
MIN_GAP_M = 0.03
"""Minimum free gap between the footprint circles of two objects (room for a finger)."""


@dataclass(frozen=True)
class PlacedObject:
    """An object resting on the table at world (x, y), rotated by yaw about z."""

    spec: ObjectSpec
    xy: tuple[float, float]
    yaw_rad: float

    @property
    def pose(self) -> np.ndarray:
        """4x4 object -> world transform."""
        c, s = np.cos(self.yaw_rad), np.sin(self.yaw_rad)
        T = np.eye(4)
        T[:2, :2] = [[c, -s], [s, c]]
        T[:2, 3] = self.xy
        return T

    def center_world(self) -> np.ndarray:
        """Centre of the object's bounding box in the world, metres."""
        b = build_object(self.spec).bounds
        return (self.pose @ np.r_[(b[0] + b[1]) / 2, 1.0])[:3]


@dataclass(frozen=True)
class Lighting:
    ambient: float = 0.3
    direction: tuple[float, float, float] = (0.3, 0.6, -1.0)
    intensity: float = 3.0


@dataclass(frozen=True)
class TabletopScene:
    seed: int
    split: str
    objects: tuple[PlacedObject, ...]
    camera: CameraSpec
    target_index: int
    expressions: tuple[str, ...]
    """Every referring expression that picks out the target alone (uniqueness proved)."""
    instruction: str
    lighting: Lighting = field(default_factory=Lighting)

    @property
    def target(self) -> PlacedObject:
        return self.objects[self.target_index]


def referent_views(objects, camera: CameraSpec) -> list[ReferentView]:
    out = []
    for o in objects:
        c = o.center_world()
        out.append(ReferentView(category_noun(o.spec.category), o.spec.color, build_object(o.spec).volume_m3,
                                float(camera.project(c[None])[0, 0]), float(np.linalg.norm(c - np.asarray(camera.eye)))))
    return out


def _place(rng: np.random.Generator, specs: list[ObjectSpec]) -> list[PlacedObject]:
    placed: list[tuple[PlacedObject, float]] = []
    for spec in specs:
        r = build_object(spec).footprint_radius_m
        for _ in range(200):
            xy = (float(rng.uniform(*WORKSPACE_X)), float(rng.uniform(*WORKSPACE_Y)))
            if all(np.hypot(xy[0] - p.xy[0], xy[1] - p.xy[1]) > r + rp + MIN_GAP_M for p, rp in placed):
                placed.append((PlacedObject(spec, xy, float(rng.uniform(-np.pi, np.pi))), r))
                break
    return [p for p, _ in placed]


def sample_tabletop_scene(
    seed: int,
    split: str = "seen",
    n_objects: tuple[int, int] = (3, 8),
    camera: CameraSpec | None = None,
    max_tries: int = 50,
    spatial: bool = True,
) -> TabletopScene:
    """Sample a scene of ``n_objects`` (inclusive range) objects from ``split`` categories,
    pick a target with at least one unique referring expression, and phrase an instruction.
    ``spatial=False``: only view-independent expressions (for multi-view tasks)."""
    if not 1 <= n_objects[0] <= n_objects[1]:
        raise ValueError(f"n_objects {n_objects} must satisfy 1 <= low <= high")
    camera = camera or CameraSpec.d435()
    rng = np.random.default_rng(seed)
    cats = categories_in_split(split)
    colors = sorted(COLORS)
    for _ in range(max_tries):
        n = int(rng.integers(n_objects[0], n_objects[1] + 1))
        specs = [ObjectSpec(str(rng.choice(cats)), str(rng.choice(colors)), float(np.round(rng.uniform(0.85, 1.12), 2)))
                 for _ in range(n)]
        objects = _place(rng, specs)
        if len(objects) < n_objects[0]:
            continue
        views = referent_views(objects, camera)
        order = rng.permutation(len(objects))
        for t in order:
            exprs = referring_expressions(views, int(t), camera.width, spatial=spatial)
            if exprs:
                instruction = make_instruction(exprs[int(rng.integers(len(exprs)))], rng)
                return TabletopScene(seed, split, tuple(objects), camera, int(t), tuple(exprs), instruction)
    raise RuntimeError(f"seed {seed}: no scene with a uniquely describable target in {max_tries} tries")
