"""Approach paths for dexterous grasps: where the hand starts and how it reaches a grasp.

A 31-D grasp is executed from a **pre-grasp**: the palm backed off from the grasp pose along a
direction, with the fingers in a pre-shape. The preferred pre-shape is the grasp's own, with
each finger that will close onto the object (distal phalanx within ``CLOSE_REACH_M``) backed off
``BACK_OFF_M`` along its own closing direction (:func:`backed_off_shape`): the hand arrives with
every pad a little off the surface and re-closes each finger along the line it will squeeze on,
so no finger sweeps through the object on its way back. When that hand cannot pass, the
fallbacks open fingers whole: every finger whose distal phalanx would slide along the object
on the way opened (flexion to 0; the thumb swings off the palm). The hand then moves in a
straight line (orientation fixed) onto the grasp and closes. The env (:mod:`vlgsim.envs.dexvlg_part_grasp`)
and the real-hand replay (:mod:`vlgsim.real2sim.shadow_replay`) plan with this module.

Collision awareness (:func:`plan_approach`): the hand's collision spheres (capsule ends and
middles, a grid over each box) are swept along the candidate path in the open shape and
checked against the object's mesh (signed distance) and the table plane. Paths: back along the
palm normal (5, 8, 12 cm), along the direction from the object's centre to the palm point (5, 8,
12 cm), straight down from above (8, 12 cm). Tried first on every path, in that order: the
fingers backed off 1.5 cm, then 3 cm (:func:`backed_off_shape`, 3 IK steps, then the same with
one linearised step). Then, path by path: the sliding fingers opened, every finger opened
(a curled finger's proximal and middle phalanges may sweep through the object too), every
finger half open (fully open fingers of a grasp reaching under an object point into the
table). The first whose sweep keeps ``min_clearance_m`` everywhere except the last ``contact_zone_m`` before the grasp (where
the palm and fingers come to rest on the object) is taken; when none is clear, the one with
the largest clearance is taken and the plan says so (``clear=False``).
All poses in one frame: the object frame for ``mesh``, the world via ``object_pose``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh

from vlgsim.assets.shadow_hand import FINGERS, JOINT_NAMES, HandModel
from vlgsim.grasp.dex_validate import CLOSE_REACH_M, finger_jacobian
from vlgsim.grasp.dexterous import distal_contacts, forward_kinematics, rot6d_to_matrix, transform_grasp

OPENING_JOINTS = {f: tuple(n for n in JOINT_NAMES if n[:2] == p and (n[3] in "012" if p != "TH" else n[3] in "013"))
                  for f, p in zip(FINGERS, ("TH", "FF", "MF", "RF", "LF"))}
"""Model joints set to 0 to open each finger (FINGERS order) for the approach."""
APPROACH_SAMPLES = 10
SLIDE_CLEARANCE_M = 0.004
"""A finger whose distal phalanx passes nearer the object than this on the approach is opened."""
BACK_OFF_M = (0.015, 0.03)
"""Pre-shapes tried first: each closing finger's pad this far back along its closing direction (metres)."""
IK_ITERATIONS = 3
STANDOFFS_M = (0.05, 0.08, 0.12)
ABOVE_STANDOFFS_M = (0.08, 0.12)
MIN_CLEARANCE_M = 0.0
"""The swept open hand may touch but not enter the object or the table (metres)."""
CONTACT_ZONE_M = 0.01
"""The last stretch before the grasp is not checked: the palm and pads come to rest there."""
TABLE_Z_M = 0.0


@dataclass(frozen=True)
class ApproachPlan:
    """``pregrasp``: the 31-D world-frame grasp the hand starts from (palm at ``pregrasp[:3]``,
    fingers in ``open_q``); the palm moves along ``direction`` (unit, world, pointing from the
    pre-grasp to the grasp) by ``standoff_m``. ``clearance_m``: the smallest distance of the
    swept open hand to the object or table (negative: it enters); ``clear``: it kept
    ``MIN_CLEARANCE_M``; ``kind``: 'palm_normal', 'centre_to_palm' or 'above';
    ``opened``: (5,) fingers opened or backed off for the approach, FINGERS order."""

    grasp: np.ndarray
    pregrasp: np.ndarray
    direction: np.ndarray
    standoff_m: float
    kind: str
    clearance_m: float
    clear: bool
    opened: np.ndarray
    shape: str = "sliding"
    """The pre-shape: 'backed_1.5cm' / 'backed_3.0cm' (:func:`backed_off_shape`), 'sliding'
    (the sliding fingers opened), 'all' (every finger opened) or 'all_half' (half open)."""

    @property
    def open_q(self) -> np.ndarray:
        return self.pregrasp[9:]

    def palm_at(self, s: float) -> np.ndarray:
        """Palm position (world) at path fraction ``s`` (0: pre-grasp, 1: grasp)."""
        return self.pregrasp[:3] + s * self.standoff_m * self.direction


def sliding_fingers(hand: HandModel, g_obj: np.ndarray, mesh: trimesh.Trimesh, standoff_m: float,
                    clearance_m: float = SLIDE_CLEARANCE_M, direction: np.ndarray | None = None) -> np.ndarray:
    """(5,) bool, FINGERS order: the finger's distal phalanx (grasp joint shape) comes within
    ``clearance_m`` of the object while the palm approaches the grasp from ``standoff_m`` along
    unit ``direction`` (object frame; default along the palm normal)."""
    if direction is None:
        direction = rot6d_to_matrix(g_obj[3:9]) @ hand.palm_normal
    gap = np.full(len(FINGERS), np.inf)
    for d in np.linspace(0.005, standoff_m, APPROACH_SAMPLES):
        back = g_obj.copy()
        back[:3] -= d * np.asarray(direction)
        gap = np.minimum(gap, distal_contacts(hand, back, mesh)[1])
    return gap < clearance_m


def open_fingers(q: np.ndarray, opened: np.ndarray, keep: float = 0.0) -> np.ndarray:
    """Joint shape ``q`` (22,) with the ``opened`` fingers' flexion joints set to 0 (``keep`` = 0)
    or scaled by ``keep`` (0.5: half open)."""
    q = np.array(q, np.float64)
    for finger in np.array(FINGERS)[np.asarray(opened, bool)]:
        idx = [JOINT_NAMES.index(n) for n in OPENING_JOINTS[finger]]
        q[idx] *= keep
    return q


def backed_off_shape(hand: HandModel, g_obj: np.ndarray, mesh: trimesh.Trimesh, back_m: float,
                     iterations: int = IK_ITERATIONS) -> tuple[np.ndarray, np.ndarray]:
    """The grasp's joint shape with every finger that closes onto ``mesh`` (distal phalanx within
    ``CLOSE_REACH_M``, as :func:`~vlgsim.grasp.dex_validate.closing_targets` decides) moved so its
    nearest pad point goes ``back_m`` metres back along its closing direction (a damped
    least-squares step on that point's Jacobian, the inverse of the close's crossing step).
    ``g_obj``: 31-D grasp in the mesh's frame. Returns the 22 joint values (radians, clipped to
    the limits; a finger its limits stop short keeps its furthest retreat, or the grasp's joints)
    and the (5,) fingers moved, FINGERS order."""
    points, gaps, towards = distal_contacts(hand, g_obj, mesh)
    X0 = forward_kinematics(hand, g_obj)
    g = np.array(g_obj, np.float64)
    moved = gaps <= CLOSE_REACH_M
    for i in np.flatnonzero(moved):
        lk = hand.tip_link[i]
        local = np.linalg.solve(X0[lk], np.r_[points[i], 1.0])  # the pad point, fixed to the distal link
        goal = points[i] - towards[i] * back_m
        best, best_q = 0.0, g[9:].copy()
        for _ in range(iterations):
            X = forward_kinematics(hand, g)
            p = (X[lk] @ local)[:3]
            joints, J = finger_jacobian(hand, g, X, i, p)
            g[9:][joints] += J.T @ np.linalg.solve(J @ J.T + 1e-6 * np.eye(3), goal - p)
            g[9:] = np.clip(g[9:], hand.lower, hand.upper)
            back = -float(((forward_kinematics(hand, g)[lk] @ local)[:3] - points[i]) @ towards[i])
            if back > best:  # joint limits may stop a finger short: keep its furthest retreat
                best, best_q = back, g[9:].copy()
        g[9:] = best_q
    return g[9:], moved


def swept_clearance(hand: HandModel, g_obj: np.ndarray, direction: np.ndarray, standoff_m: float,
                    mesh: trimesh.Trimesh, table_z_m: float | None, contact_zone_m: float = CONTACT_ZONE_M,
                    samples: int = 6) -> float:
    """Smallest distance (metres; negative inside) of the hand's collision spheres to ``mesh`` and
    to the plane z = ``table_z_m`` (None: no table), over palm offsets from ``standoff_m`` down to
    ``contact_zone_m`` back from ``g_obj`` along ``direction`` (object frame, pointing to the grasp)."""
    links, centres, radii = hand.spheres()
    worst = np.inf
    for d in np.linspace(standoff_m, min(contact_zone_m, standoff_m), samples):
        g = g_obj.copy()
        g[:3] -= d * np.asarray(direction)
        X = forward_kinematics(hand, g)
        p = np.einsum("sij,sj->si", X[links, :3, :3], centres) + X[links, :3, 3]
        inside = trimesh.proximity.signed_distance(mesh, p)  # positive inside
        worst = min(worst, float(np.min(-inside - radii)))
        if table_z_m is not None:
            worst = min(worst, float(np.min(p[:, 2] - radii - table_z_m)))
    return worst


def plan_approach(hand: HandModel, grasp_world: np.ndarray, object_pose: np.ndarray, mesh: trimesh.Trimesh,
                  table_z_m: float | None = TABLE_Z_M, min_clearance_m: float = MIN_CLEARANCE_M,
                  standoffs_m=STANDOFFS_M, above_standoffs_m=ABOVE_STANDOFFS_M,
                  back_off_m=BACK_OFF_M) -> ApproachPlan:
    """The first collision-free straight approach onto ``grasp_world`` (31-D, world) of the object
    at ``object_pose`` (4x4, world) with collision ``mesh`` (object frame); see the module text.
    ``table_z_m``: the table plane's height in the world (the object frame's z when the object
    stands on it, as in the DexVLG scenes)."""
    g = np.asarray(grasp_world, np.float64)
    to_obj = np.linalg.inv(object_pose)
    g_obj = transform_grasp(g, to_obj)
    R_obj = rot6d_to_matrix(g_obj[3:9])
    table_obj = None if table_z_m is None else table_z_m - float(object_pose[2, 3])
    palm_obj = R_obj @ hand.palm_point + g_obj[:3]
    centre = mesh.centroid if mesh.is_watertight else mesh.bounds.mean(0)
    out = palm_obj - centre
    candidates = [("palm_normal", R_obj @ hand.palm_normal, s) for s in standoffs_m]
    if np.linalg.norm(out) > 1e-6:
        candidates += [("centre_to_palm", -out / np.linalg.norm(out), s) for s in standoffs_m]
    candidates += [("above", np.array([0.0, 0.0, -1.0]) @ to_obj[:3, :3].T, s) for s in above_standoffs_m]
    best = None
    everything = np.ones(len(FINGERS), bool)
    pre_shapes = {}
    for iterations, tag in ((IK_ITERATIONS, ""), (1, "_1step")):  # two IK variants: either may clear the object
        for b in back_off_m:
            pre_shapes[f"backed_{100 * b:.1f}cm{tag}"] = backed_off_shape(hand, g_obj, mesh, b, iterations)
    kinds = ("palm_normal", "centre_to_palm", "above")
    order = [(name, kind) for kind in kinds for name in pre_shapes]  # backed-off shapes on every path first
    order += [(name, kind) for kind in kinds for name in ("sliding", "all", "all_half")]
    keep_of = {"sliding": 0.0, "all": 0.0, "all_half": 0.5}
    for shape_name, kind in order:
        for _, direction, standoff in (c for c in candidates if c[0] == kind):
            if shape_name in pre_shapes:
                q, opened = pre_shapes[shape_name]
            else:
                opened = everything if shape_name != "sliding" else sliding_fingers(
                    hand, g_obj, mesh, standoff, direction=direction)
                q = open_fingers(g_obj[9:], opened, keep_of[shape_name])
            shape = g_obj.copy()
            shape[9:] = q
            clearance = swept_clearance(hand, shape, direction, standoff, mesh, table_obj)
            if best is None or clearance > best[0]:
                best = (clearance, kind, direction, standoff, opened, q, shape_name)
            if clearance >= min_clearance_m:
                break
        if best[0] >= min_clearance_m:
            break
    clearance, kind, direction, standoff, opened, q, shape_name = best
    d_world = object_pose[:3, :3] @ direction
    pre = g.copy()
    pre[:3] -= standoff * d_world
    pre[9:] = q
    return ApproachPlan(g, pre, d_world, float(standoff), kind, float(clearance), bool(clearance >= min_clearance_m),
                        opened, shape_name)
