"""Physics validation of dexterous grasps in SAPIEN (DexGraspNet protocol, SPEC section 4).

A grasp (object frame) is valid when all hold:
- no hand-object penetration deeper than 1 mm and no self-penetration deeper than 1 mm
  (the Warp energy's depth read-outs);
- the object stays held, moving < 2 cm, under gravity along each of the six axis
  directions: 100 steps at dt 1/60 s, friction 3, after a 1 mm squeeze (each touching
  fingertip's joints driven 1 mm further into the object);
- part alignment: every hand link touching the object is nearer the target part than any
  other part.
The touching fingers name the grasp: "Grasp the {part} of the {object} object, with
contacts on {fingers}".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh

from vlgsim.assets import ObjectAsset
from vlgsim.assets.shadow_hand import FINGERS, HandModel
from vlgsim.grasp.dex_energy import ObjectField
from vlgsim.grasp.dexterous import fingertips
from vlgsim.language.part_captions import part_instruction
from vlgsim.sim.dex_hand import DexScene, grasp_to_qpos

PENETRATION_TOL_M = 0.001
HOLD_STEPS, HOLD_DT, HOLD_FRICTION = 100, 1 / 60, 3.0
PHYSX_SUBSTEPS = 4
"""PhysX steps per 1/60 s step: the light finger links need dt = 1/240 s to stay stable."""
MAX_DRIFT_M = 0.02
SETTLE_STEPS = 10
"""Steps of the squeeze without gravity before each direction; drift is measured from there."""
SQUEEZE_M = 0.001
DIRECTIONS = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], float)


@dataclass
class GraspValidation:
    valid: bool
    penetration_ok: bool
    self_penetration_ok: bool
    held: np.ndarray  # (6,) bool per gravity direction
    part_aligned: bool
    contact_fingers: tuple[str, ...]
    caption: str


def squeeze_targets(hand: HandModel, g: np.ndarray, fingers, gap_m: np.ndarray | None = None,
                    squeeze_m: float = SQUEEZE_M) -> np.ndarray:
    """Joint targets (22,) that move each listed fingertip along its pad normal across its gap
    to the surface (``gap_m`` (5,), FINGERS order, clipped to 0-1 cm) plus ``squeeze_m`` into
    the object: a damped least-squares step on the numerical fingertip Jacobian."""
    q = g[9:].copy()
    tips0, normals = fingertips(hand, g)
    dq = np.zeros_like(q)
    for f in fingers:
        i = FINGERS.index(f)
        distance_m = squeeze_m + (0.0 if gap_m is None else float(np.clip(gap_m[i], 0.0, 0.01)))
        joints = sorted({int(hand.link_joint[lk]) for lk in range(hand.n_links)
                         if hand.link_finger[lk] == i and hand.link_joint[lk] >= 0})
        Jm = np.zeros((3, len(joints)))
        for k, j in enumerate(joints):
            gp = g.copy()
            gp[9 + j] += 1e-4
            Jm[:, k] = (fingertips(hand, gp)[0][i] - tips0[i]) / 1e-4
        step = Jm.T @ np.linalg.solve(Jm @ Jm.T + 1e-6 * np.eye(3), normals[i] * distance_m)
        dq[joints] += step
    return np.clip(q + dq, hand.lower, hand.upper)


class GraspValidator:
    """Validates grasps of one object (built once, reused for every grasp)."""

    def __init__(self, hand: HandModel, asset: ObjectAsset, field: ObjectField, scene_factory):
        self.hand, self.asset, self.field = hand, asset, field
        self.sim = DexScene(hand, scene_factory(), table=False, friction=HOLD_FRICTION,
                            timestep=HOLD_DT / PHYSX_SUBSTEPS)
        self.sim.set_object(asset, np.eye(4))
        self.sim.body.disable_gravity = True  # gravity is the force applied per direction
        self.mass = float(self.sim.body.mass)

    def validate(self, g: np.ndarray, target_part: str, pen_depth: float, spen_depth: float,
                 active=FINGERS) -> GraspValidation:
        sim, hand = self.sim, self.hand
        pen_ok, spen_ok = pen_depth <= PENETRATION_TOL_M, spen_depth <= PENETRATION_TOL_M
        qpos = grasp_to_qpos(g)
        # which fingers touch: settle the squeezed grasp without gravity
        sim.place_object(np.eye(4))
        sim.set_hand(qpos)
        gap = -trimesh.proximity.signed_distance(self.field.mesh, fingertips(hand, g)[0])
        squeeze = qpos.copy()
        squeeze[6:] = squeeze_targets(hand, g, active, gap)
        sim.set_hand(qpos, squeeze)
        sim.step(SETTLE_STEPS * PHYSX_SUBSTEPS)
        contacts = sim.hand_contacts()
        fingers = tuple(f for f in FINGERS if f in {sim.link_finger[n] for n, _ in contacts})
        aligned = bool(contacts)
        if contacts:
            pts = np.array([p for _, p in contacts])  # object at identity: world = object frame
            aligned = bool(np.all(self.field.near_part(pts, target_part)))
        held = np.zeros(6, bool)
        if pen_ok and spen_ok and aligned and len(fingers) >= 2:
            for k, direction in enumerate(DIRECTIONS):
                sim.place_object(np.eye(4))
                sim.set_hand(qpos, squeeze)
                sim.step(SETTLE_STEPS * PHYSX_SUBSTEPS)
                start = sim.object_pose[:3, 3]
                sim.step(HOLD_STEPS * PHYSX_SUBSTEPS, object_force=direction * 9.81 * self.mass)
                held[k] = np.linalg.norm(sim.object_pose[:3, 3] - start) < MAX_DRIFT_M
                if not held[k]:
                    break
        valid = bool(pen_ok and spen_ok and held.all() and aligned)
        return GraspValidation(valid, bool(pen_ok), bool(spen_ok), held, aligned, fingers,
                               part_instruction(target_part, self.asset.category, fingers, caption=True))
