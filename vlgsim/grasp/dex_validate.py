"""Physics validation of dexterous grasps in SAPIEN (DexGraspNet protocol, SPEC section 4).

A grasp (object frame) is valid when all hold:
- no hand-object penetration, no hand below the table plane and no self-penetration
  deeper than 1 mm (the Warp energy's depth read-outs);
- the object stays held under gravity along each of the six axis directions: after 100 steps
  at dt 1/60 s, friction 3, the hand still touches it (DexGraspNet's rule: ``run_sim`` in
  ``grasp_generation/utils/isaac_validator.py`` counts a direction as held when a hand-object
  contact remains, and ``validate_grasps.py`` asks for all six). The squeeze before it is
  DexGraspNet's 1 mm squeeze (every finger whose distal phalanx is within 1 cm of the surface
  driven across its gap, then one gradient step towards a target 1 mm inside, see
  ``SQUEEZE_STEP``), with the fingers' PD drives at DexGraspNet's stiffness
  (:data:`vlgsim.sim.dex_hand.FINGER_STIFFNESS`). How far the object moved is recorded
  (``GraspValidation.drift_m``), not judged: a bottle held by its neck swings 10-60 degrees
  about the grasp under sideways gravity (centre of mass 7-8 cm below) and stays in the hand;
- part alignment: every hand link touching the object is nearer the target part than any
  other part (exact distances to the part meshes).
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
from vlgsim.grasp.dex_force_closure import force_closure_margin
from vlgsim.grasp.dexterous import distal_contacts, forward_kinematics
from vlgsim.language.part_captions import part_instruction
from vlgsim.sim.dex_hand import DexScene, grasp_to_qpos

PENETRATION_TOL_M = 0.001
HOLD_STEPS, HOLD_DT, HOLD_FRICTION = 100, 1 / 60, 3.0
PHYSX_SUBSTEPS = 4
"""PhysX steps per 1/60 s step: the light finger links need dt = 1/240 s to stay stable."""
SETTLE_STEPS = 10
"""Steps of the squeeze without gravity before each direction; drift is measured from there."""
SQUEEZE_M = 0.001
SQUEEZE_STEP = 500.0
"""DexGraspNet's squeeze (``validate_grasps.py``: ``dis_move`` 1 mm, ``grad_move`` 500): one
gradient step towards targets 1 mm inside the surface. Its size is 2 * 500 * J^T (1 mm u) =
J^T u radians (J in metres per radian), so a fingertip 5-8 cm from its joints is driven about
3-10 mm into the object and the PD fingers keep pressing. Moving the pad only 1 mm in leaves
about 0.3 N of grip: the free object shifts 1-3 mm while it settles and the fingers reach
their targets."""
CLOSE_REACH_M = 0.01
"""Fingertip pads this near the surface are closed onto it (validation and the env alike)."""
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
    force_closure: float = 0.0
    """The LP force-closure margin of the settled contacts (:mod:`dex_force_closure`; > 0: closure)."""
    drift_m: np.ndarray | None = None
    """(6,) metres the object's origin (footprint centre) moved under gravity per direction
    (NaN for directions not run: the run stops at the first one not held); recorded, not judged."""


def finger_jacobian(hand: HandModel, g: np.ndarray, X: np.ndarray, finger: int,
                    p: np.ndarray) -> tuple[list[int], np.ndarray]:
    """The finger's joint indices and the (3, k) numerical Jacobian (metres per radian) of the
    point ``p`` (grasp frame) fixed to its distal link; ``X`` is the grasp's forward kinematics."""
    lk = hand.tip_link[finger]
    local = np.linalg.solve(X[lk], np.r_[p, 1.0])
    joints = sorted({int(hand.link_joint[k]) for k in range(hand.n_links)
                     if hand.link_finger[k] == finger and hand.link_joint[k] >= 0})
    J = np.zeros((3, len(joints)))
    for k, j in enumerate(joints):
        gp = g.copy()
        gp[9 + j] += 1e-4
        J[:, k] = ((forward_kinematics(hand, gp)[lk] @ local)[:3] - p) / 1e-4
    return joints, J


def closing_targets(hand: HandModel, g: np.ndarray, mesh: trimesh.Trimesh, squeeze: bool = True) -> np.ndarray:
    """How validation and the env close a grasp ``g`` (object frame). Every finger whose distal
    phalanx is within ``CLOSE_REACH_M`` of the object's surface ``mesh`` moves its nearest point
    across the gap (a damped least-squares step on that point's Jacobian J), then squeezes as
    DexGraspNet does: a target ``SQUEEZE_M`` into the surface along the unit direction u and one
    gradient step of size ``SQUEEZE_STEP`` on the squared distance to it,
    dq = 2 SQUEEZE_STEP J^T (SQUEEZE_M u). The other fingers keep their joint values.
    ``squeeze=False`` stops at the surface (the close without the squeeze step).
    Returns 22 joint targets (radians)."""
    points, gaps, towards = distal_contacts(hand, g, mesh)
    X = forward_kinematics(hand, g)
    dq = np.zeros(len(hand.lower))
    for i in range(len(FINGERS)):
        if gaps[i] > CLOSE_REACH_M:
            continue
        joints, J = finger_jacobian(hand, g, X, i, points[i])
        cross = J.T @ np.linalg.solve(J @ J.T + 1e-6 * np.eye(3), towards[i] * max(gaps[i], 0.0))
        dq[joints] += cross + (2 * SQUEEZE_STEP * J.T @ (towards[i] * SQUEEZE_M) if squeeze else 0.0)
    return np.clip(g[9:] + dq, hand.lower, hand.upper)


def links_nearer_part(field: ObjectField, contacts: list[tuple[str, np.ndarray]], part: str) -> bool:
    """Part alignment: every hand link in ``contacts`` ((link, point in the object frame)) is
    nearer ``part`` than any other part (a link's distance to a part: the smallest over its
    contact points)."""
    if not contacts:
        return False
    names = np.array([n for n, _ in contacts])
    d = field.part_distances(np.array([p for _, p in contacts]))
    t = field.part_index(part)
    other = np.delete(d, t, axis=1).min(axis=1) if d.shape[1] > 1 else np.full(len(d), np.inf)
    return all(d[names == n, t].min() < other[names == n].min() for n in set(names.tolist()))


class GraspValidator:
    """Validates grasps of one object (built once, reused for every grasp)."""

    def __init__(self, hand: HandModel, asset: ObjectAsset, field: ObjectField, scene_factory):
        self.hand, self.asset, self.field = hand, asset, field
        self.sim = DexScene(hand, scene_factory(), table=False, friction=HOLD_FRICTION,
                            timestep=HOLD_DT / PHYSX_SUBSTEPS)
        self.sim.set_object(asset, np.eye(4))
        self.sim.body.disable_gravity = True  # gravity is the force applied per direction
        self.mass = float(self.sim.body.mass)

    def settle(self, g: np.ndarray, targets: tuple[np.ndarray, np.ndarray] | None = None):
        """Object at identity (world = object frame), the hand placed at grasp ``g`` and driven to its
        squeeze targets, settled for ``SETTLE_STEPS`` without gravity. Returns ``(qpos, squeeze)``
        (pass them back as ``targets`` to skip recomputing them)."""
        if targets is None:
            qpos = grasp_to_qpos(g)
            squeeze = qpos.copy()
            squeeze[6:] = closing_targets(self.hand, g, self.field.mesh)
            targets = (qpos, squeeze)
        self.sim.place_object(np.eye(4))
        self.sim.set_hand(*targets)
        self.sim.step(SETTLE_STEPS * PHYSX_SUBSTEPS)
        return targets

    def validate(self, g: np.ndarray, target_part: str, pen_depth: float, spen_depth: float,
                 table_depth: float = 0.0) -> GraspValidation:
        """``pen_depth`` (hand-object), ``spen_depth`` (self) and ``table_depth`` (hand below the
        table plane z = 0), metres, from :meth:`GraspEnergy.evaluate`; ``g`` in the object frame."""
        sim, hand = self.sim, self.hand
        pen_ok = pen_depth <= PENETRATION_TOL_M and table_depth <= PENETRATION_TOL_M
        spen_ok = spen_depth <= PENETRATION_TOL_M
        qpos, squeeze = self.settle(g)  # which fingers touch: the squeezed grasp settled without gravity
        contacts = sim.hand_contacts()
        fingers = tuple(f for f in FINGERS if f in {sim.link_finger[n] for n, _ in contacts})
        aligned = links_nearer_part(self.field, contacts, target_part)
        fc = self.force_closure(contacts)
        held = np.zeros(6, bool)
        drift = np.full(6, np.nan)
        if pen_ok and spen_ok and aligned and len(fingers) >= 2:
            for k, direction in enumerate(DIRECTIONS):
                self.settle(g, (qpos, squeeze))
                start = sim.object_pose[:3, 3]
                sim.step(HOLD_STEPS * PHYSX_SUBSTEPS, object_force=direction * 9.81 * self.mass)
                drift[k] = np.linalg.norm(sim.object_pose[:3, 3] - start)
                held[k] = bool(sim.hand_contacts())  # DexGraspNet: a hand-object contact remains
                if not held[k]:
                    break
        valid = bool(pen_ok and spen_ok and held.all() and aligned)
        return GraspValidation(valid, bool(pen_ok), bool(spen_ok), held, aligned, fingers,
                               part_instruction(target_part, self.asset.category, fingers, caption=True), fc, drift)

    def force_closure(self, contacts: list[tuple[str, np.ndarray]]) -> float:
        """LP force-closure margin of the contact points (object frame), inward normals from the
        object's mesh at their closest surface points."""
        if len(contacts) < 2:
            return 0.0
        pts = np.array([p for _, p in contacts])
        closest, _, tri = trimesh.proximity.closest_point(self.field.mesh, pts)
        return force_closure_margin(closest, -self.field.mesh.face_normals[tri], self.field.center)
