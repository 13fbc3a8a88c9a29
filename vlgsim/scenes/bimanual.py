"""Backend-neutral scene and plan specs for the bimanual (ALOHA-style) tasks.

World frame: table centre at the origin, +z up. The head camera looks from -x towards
+x, so **+y is the robot's left**: the left arm's base stands at ``y = +ARM_BASE_Y``
facing -y, the right arm's at ``y = -ARM_BASE_Y`` facing +y. The table top is at
``table_z`` (0 on Easy, +-3 cm on Hard). Every body is a box (blocks, bars, pillars) or a
tray built from boxes; sizes are half extents in metres in the body's own frame.

Easy = clean table, default light, fixed camera, canonical colours. Hard = clutter
distractors, random light, table height +-3 cm, random table/distractor colours and
shades of the task colours, head-camera jitter. Everything derives from one seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

ARMS = ("left", "right")
ARM_BASE_Y = 0.55
"""|y| of the two Panda arm bases (metres); the left arm is at +y."""
EMBODIMENTS = ("aloha", "panda")
"""``aloha``: two ViperX 300 6-DoF arms (gym-aloha's MJCF); ``panda``: two Franka Pandas."""
ARM_BASE_Y_M = {"panda": ARM_BASE_Y, "aloha": 0.469}
"""|y| of the arm bases per embodiment; ALOHA's 0.469 m is gym-aloha's base offset (its arms
stand 0.938 m apart, on the table top, facing each other)."""
ARM_BASE_YAW = {"left": -np.pi / 2, "right": np.pi / 2}
"""Yaw of each arm base: both face the table centre."""
TABLE_HALF_XY = (0.42, 0.40)
SPLITS = ("easy", "hard")

COLORS = {
    "red": (0.85, 0.12, 0.10), "blue": (0.12, 0.25, 0.85), "green": (0.15, 0.65, 0.20),
    "yellow": (0.92, 0.80, 0.10), "orange": (0.95, 0.50, 0.10), "purple": (0.55, 0.20, 0.70),
    "white": (0.92, 0.92, 0.92), "grey": (0.5, 0.5, 0.5), "brown": (0.50, 0.33, 0.18),
}
DISTRACTOR_COLORS = ("yellow", "orange", "purple", "white", "brown")


@dataclass
class BodySpec:
    """One rigid body. ``kind``: block (cube), bar (long box), pillar (tall or lying box),
    bead (ball of radius ``half_size[0]``, rolls),
    tray (open container: floor + 4 walls, static), and the compound kinds of
    :data:`COMPOUND_KINDS` (built from boxes; ``half_size`` is their bounding box)."""

    name: str
    kind: str
    half_size: tuple[float, float, float]
    color: str
    rgba: tuple[float, float, float, float]
    xyz: tuple[float, float, float]
    yaw_rad: float = 0.0
    pose: str = ""
    """standing / lying for pillars, empty otherwise."""
    role: str = "object"
    """object (manipulated), container (static tray), distractor (clutter, not in the state)."""

    @property
    def static(self) -> bool:
        return self.kind in STATIC_KINDS


COMPOUND_KINDS = {
    "bin": "tall open container (floor + 4 walls), static; origin at its floor like a tray",
    "bowl": "open container (floor + 4 walls), movable; grasped by a wall",
    "pot": "open container with a handle sticking out at each end of its x axis, movable",
    "ring": "square frame of 4 bars (no floor), movable; grasped by a bar",
    "peg": "upright post on a flat foot, static",
    "shelf": "board on two end legs, static; objects go on the board",
    "case": "open box with two rails on top along its y axis (the lid slides between them), static",
    "lid": "flat plate with a knob on top, movable",
}
"""Compound bodies built from boxes by the backend (``half_size`` = bounding box)."""
STATIC_KINDS = ("tray", "bin", "peg", "shelf", "case")
CONTAINER_KINDS = ("tray", "bin", "bowl", "pot", "case")
"""Bodies that other bodies are put into (instructions name them as targets)."""
FLOOR_ORIGIN_KINDS = ("tray", "bin")
"""Kinds whose origin is at their floor (z = table + 4 mm); every other body's origin is its centre."""
WALL_M = 0.008
"""Wall thickness of the compound containers (bin, bowl, pot, case)."""
CASE_WALL_M = 0.014
CASE_RAIL_M = (0.008, 0.005)
"""Height and width of the case's rails, on the outer edge of its x walls."""
POT_HANDLE_M = 0.035
"""How far each pot handle sticks out (included in the pot's x half size)."""


@dataclass
class LightSpec:
    ambient: tuple[float, float, float] = (0.35, 0.35, 0.35)
    direction: tuple[float, float, float] = (0.3, 0.4, -1.0)
    color: tuple[float, float, float] = (0.9, 0.9, 0.9)


@dataclass
class HeadCameraSpec:
    eye: tuple[float, float, float] = (-0.55, 0.0, 0.65)
    target: tuple[float, float, float] = (0.05, 0.0, 0.0)
    fov_rad: float = 1.0


@dataclass
class PlanStep:
    """One step of an expert plan, in the field's words; the expert compiles it into TCP
    waypoints from the poses it measures when the step starts.

    skill: ``pick`` (grasp and lift ``lift_m``), ``place`` (carry the held object to
    ``place_xyz`` and release), ``rotate`` (turn the held object by ``rotate_deg`` about +z,
    set it down and release), ``give`` (carry the held object to ``place_xyz`` and wait),
    ``take`` (grasp the object where it is held), ``release`` (open and retreat),
    ``retreat`` (go home), ``lift`` (raise the held object ``lift_m`` straight up and hold it
    there; two arms lifting one object wait for each other's grasp with ``wait_for``),
    ``slide`` (drag the held object horizontally until its centre is at ``place_xyz``'s x, y,
    release and go home), ``tilt`` (turn the held object ``tilt_deg`` about the horizontal axis
    through the TCP that points across the table, hold it there, turn it back). A ``pick``
    with ``rotate_deg`` chooses its grasp yaw for the turn that follows; a ``give`` with
    ``rotate_deg`` turns the held object about +z on its way."""

    arm: str
    skill: str
    obj: str = ""
    approach: str = "above"
    place_xyz: Optional[tuple[float, float, float]] = None
    rotate_deg: float = 0.0
    tilt_deg: float = 0.0
    lift_m: float = 0.10
    grasp_offset_m: float = 0.0
    """Grasp point shift along the object's long axis (x in its frame), e.g. one end of a bar."""
    wait_for: str = ""
    """Label of a step (of the other arm) that must have finished first."""
    label: str = ""


@dataclass
class TaskPlan:
    steps: list[PlanStep]

    def arms_used(self) -> list[str]:
        return [a for a in ARMS if any(s.arm == a and s.skill not in ("retreat",) for s in self.steps)]


@dataclass
class BimanualScene:
    task: str
    seed: int
    split: str
    factor: str
    """The steerability factor this task exposes (color, pose, approach, rotation, arm, giver) or ''."""
    variant: str
    """The instructed value of ``factor`` ('' for tasks without one)."""
    bodies: list[BodySpec]
    table_z: float = 0.0
    table_rgba: tuple[float, float, float, float] = (0.62, 0.50, 0.38, 1.0)
    light: LightSpec = field(default_factory=LightSpec)
    head_camera: HeadCameraSpec = field(default_factory=HeadCameraSpec)

    def body(self, name: str) -> BodySpec:
        for b in self.bodies:
            if b.name == name:
                return b
        raise KeyError(f"no body {name!r} in scene of {self.task}; bodies: {[b.name for b in self.bodies]}")

    @property
    def task_bodies(self) -> list[BodySpec]:
        """Objects and containers (in the state vector and scored), without distractors."""
        return [b for b in self.bodies if b.role != "distractor"]


# ---------------------------------------------------------------------------- sampling helpers
def arm_base_xy(arm: str, embodiment: str = "panda") -> np.ndarray:
    """World xy (metres) of an arm's base."""
    if embodiment not in EMBODIMENTS:
        raise ValueError(f"embodiment {embodiment!r}; rule: one of {EMBODIMENTS}")
    y = ARM_BASE_Y_M[embodiment]
    return np.array([0.0, y if arm == "left" else -y])


def rgba(color: str, rng: Optional[np.random.Generator] = None, shade: float = 0.0) -> tuple:
    """RGBA of a named colour; on Hard a random shade (+-``shade``) keeps the colour name true."""
    c = np.array(COLORS[color], dtype=np.float64)
    if rng is not None and shade > 0:
        c = np.clip(c * (1 + rng.uniform(-shade, shade)), 0, 1)
    return (*[float(v) for v in c], 1.0)


def new_scene(task: str, seed: int, split: str, factor: str, variant: str) -> tuple[BimanualScene, np.random.Generator]:
    """An empty scene with the split's table height, light, colours and camera, plus the
    generator the task keeps sampling from (one seed -> one scene)."""
    if split not in SPLITS:
        raise ValueError(f"split {split!r}; rule: one of {SPLITS}")
    rng = np.random.default_rng([seed, 20251])
    sc = BimanualScene(task=task, seed=seed, split=split, factor=factor, variant=variant, bodies=[])
    if split == "hard":
        sc.table_z = float(rng.uniform(-0.03, 0.03))
        base = rng.uniform(0.35, 0.8, 3)
        sc.table_rgba = (*[float(v) for v in base], 1.0)
        sc.light = LightSpec(ambient=tuple(float(v) for v in rng.uniform(0.15, 0.5, 3)),
                             direction=(float(rng.uniform(-0.6, 0.6)), float(rng.uniform(-0.6, 0.6)), -1.0),
                             color=tuple(float(v) for v in rng.uniform(0.6, 1.2, 3)))
        jitter = rng.uniform(-0.03, 0.03, 3)
        eye = np.array(HeadCameraSpec().eye) + jitter
        tgt = np.array(HeadCameraSpec().target) + rng.uniform(-0.02, 0.02, 3)
        sc.head_camera = HeadCameraSpec(eye=tuple(float(v) for v in eye), target=tuple(float(v) for v in tgt),
                                        fov_rad=float(1.0 + rng.uniform(-0.05, 0.05)))
    return sc, rng


def add_body(sc: BimanualScene, rng: np.random.Generator, name: str, kind: str, half_size, color: str,
             xy, yaw_rad: float = 0.0, pose: str = "", role: str = "object") -> BodySpec:
    """Add a body resting on the table at ``xy`` (the split decides the colour shade)."""
    hs = tuple(float(v) for v in half_size)
    z = sc.table_z + (0.004 if kind in FLOOR_ORIGIN_KINDS else hs[2])
    b = BodySpec(name=name, kind=kind, half_size=hs, color=color,
                 rgba=rgba(color, rng, 0.15 if sc.split == "hard" else 0.0),
                 xyz=(float(xy[0]), float(xy[1]), float(z)), yaw_rad=float(yaw_rad), pose=pose, role=role)
    sc.bodies.append(b)
    return b


def jitter(rng: np.random.Generator, xy, scale_m: float) -> tuple[float, float]:
    return (float(xy[0] + rng.uniform(-scale_m, scale_m)), float(xy[1] + rng.uniform(-scale_m, scale_m)))


DISTRACTOR_SPOTS = [(-0.24, 0.30), (-0.24, -0.30), (0.27, 0.30), (0.27, -0.30), (-0.30, 0.12), (-0.30, -0.12),
                    (0.30, 0.0)]
"""Where clutter may stand: table edges away from the arms' working lanes."""


def add_distractors(sc: BimanualScene, rng: np.random.Generator, keep_out_m: float = 0.10) -> None:
    """Hard split: 2-4 small low boxes of distractor colours, at least ``keep_out_m`` from
    every task body (no-op on Easy)."""
    if sc.split != "hard":
        return
    spots = [s for s in DISTRACTOR_SPOTS
             if all(np.hypot(s[0] - b.xyz[0], s[1] - b.xyz[1]) > keep_out_m + max(b.half_size[:2]) for b in sc.bodies)]
    n = min(len(spots), int(rng.integers(2, 5)))
    for i, k in enumerate(rng.choice(len(spots), n, replace=False)):
        color = str(rng.choice(DISTRACTOR_COLORS))
        hs = (float(rng.uniform(0.012, 0.025)), float(rng.uniform(0.012, 0.025)), float(rng.uniform(0.008, 0.015)))
        add_body(sc, rng, f"distractor {i}", "block", hs, color, jitter(rng, spots[k], 0.02),
                 float(rng.uniform(-np.pi, np.pi)), role="distractor")
