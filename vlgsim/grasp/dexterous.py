"""Dexterous 31-D grasps ``[xyz, rot6d, q22]`` and the hand's forward kinematics in numpy.

A grasp places the Shadow Hand's palm frame at ``xyz`` (metres) with rotation ``R`` whose
first two columns are ``rot6d`` (Zhou et al.'s 6-D rotation, Gram-Schmidt normalised),
in the frame the grasp is given in (the object frame in grasp sets, the world frame in
env actions), and sets the 22 finger joints to ``q`` (radians, JOINT_NAMES order).
This numpy forward kinematics is the reference the Warp kernels are tested against and
what the simulator-side code uses for single grasps.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation
import trimesh

from vlgsim.assets.shadow_hand import N_JOINTS, HandModel

GRASP_DIM = 3 + 6 + N_JOINTS


def rot6d_to_matrix(r6: np.ndarray) -> np.ndarray:
    """(..., 6) -> (..., 3, 3); columns a, b orthonormalised, c = a x b."""
    r6 = np.asarray(r6, np.float64)
    a, b = r6[..., 0:3], r6[..., 3:6]
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b - np.sum(a * b, -1, keepdims=True) * a
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    return np.stack([a, b, np.cross(a, b)], axis=-1)


def matrix_to_rot6d(R: np.ndarray) -> np.ndarray:
    R = np.asarray(R, np.float64)
    return np.concatenate([R[..., :, 0], R[..., :, 1]], axis=-1)


def make_grasp(pos, R, q) -> np.ndarray:
    return np.concatenate([np.asarray(pos, float), matrix_to_rot6d(R), np.asarray(q, float)])


def check_grasp(g, name: str = "grasp") -> np.ndarray:
    """A (31,) float array or a ValueError naming the value and the rule."""
    g = np.asarray(g, dtype=np.float64)
    if g.shape != (GRASP_DIM,):
        raise ValueError(f"{name} has shape {g.shape}; rule: a {GRASP_DIM}-D [xyz, rot6d, q22] vector")
    if not np.all(np.isfinite(g)):
        raise ValueError(f"{name} {np.round(g, 3).tolist()} has NaN/inf; rule: finite values")
    a, b = g[3:6], g[6:9]
    if np.linalg.norm(a) < 1e-6 or np.linalg.norm(np.cross(a, b)) < 1e-6:
        raise ValueError(f"{name} rot6d {np.round(g[3:9], 4).tolist()}; rule: two non-zero, non-parallel 3-vectors")
    return g


def transform_grasp(g: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Grasp(s) (..., 31) given in frame A -> frame B, with ``T`` the 4x4 pose of A in B."""
    g = np.asarray(g, np.float64)
    R = rot6d_to_matrix(g[..., 3:9])
    pos = g[..., :3] @ T[:3, :3].T + T[:3, 3]
    return np.concatenate([pos, matrix_to_rot6d(T[:3, :3] @ R), g[..., 9:]], axis=-1)


def _quat_wxyz_to_matrix(q: np.ndarray) -> np.ndarray:
    return Rotation.from_quat([q[1], q[2], q[3], q[0]]).as_matrix()


def forward_kinematics(hand: HandModel, g: np.ndarray) -> np.ndarray:
    """(L, 4, 4) link poses of the hand for one grasp, in the grasp's frame."""
    g = np.asarray(g, np.float64)
    X = np.zeros((hand.n_links, 4, 4))
    X[0] = np.eye(4)
    X[0, :3, :3] = rot6d_to_matrix(g[3:9])
    X[0, :3, 3] = g[:3]
    q = g[9:]
    for lk in range(1, hand.n_links):
        local = np.eye(4)
        local[:3, 3] = hand.origin_pos[lk]
        local[:3, :3] = _quat_wxyz_to_matrix(hand.origin_quat[lk]) @ Rotation.from_rotvec(
            hand.axis[lk] * q[hand.link_joint[lk]]).as_matrix()
        X[lk] = X[hand.parent[lk]] @ local
    return X


def fingertips(hand: HandModel, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(5, 3) fingertip pad points and (5, 3) pad normals (FINGERS order) in the grasp's frame."""
    X = forward_kinematics(hand, g)
    R, t = X[hand.tip_link, :3, :3], X[hand.tip_link, :3, 3]
    return np.einsum("fij,fj->fi", R, hand.tip_point) + t, np.einsum("fij,fj->fi", R, hand.tip_normal)


DISTAL_SAMPLES = np.linspace(0.2, 1.0, 5)
"""Where a finger's contact may lie along its distal capsule (fraction of the way from its
joint end): the same 5 points as the Warp E_dis kernel."""


def distal_contacts(hand: HandModel, g: np.ndarray, mesh: trimesh.Trimesh) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per finger (FINGERS order), where its distal phalanx is nearest the object ``mesh``:
    the point on the capsule's surface (5, 3), the gap to the object there (5,) in metres
    (negative: the capsule reaches inside), and the unit direction from the point onto the
    surface (5, 3); all in the grasp's frame (the mesh's frame)."""
    X = forward_kinematics(hand, g)
    caps = [hand.capsules[i] for i in hand.tip_capsule]
    axis = np.array([[X[c.link, :3, :3] @ (c.p0 + t * (c.p1 - c.p0)) + X[c.link, :3, 3] for t in DISTAL_SAMPLES]
                     for c in caps])  # (5, S, 3)
    flat = axis.reshape(-1, 3)
    outside = -trimesh.proximity.signed_distance(mesh, flat).reshape(len(caps), -1)
    closest = trimesh.proximity.closest_point(mesh, flat)[0].reshape(axis.shape)
    k = np.argmin(outside, axis=1)
    f = np.arange(len(caps))
    u = closest[f, k] - axis[f, k]
    u *= np.sign(outside[f, k])[:, None] / np.maximum(np.linalg.norm(u, axis=1, keepdims=True), 1e-9)
    r = np.array([c.radius for c in caps])
    return axis[f, k] + u * r[:, None], outside[f, k] - r, u


def clip_joints(hand: HandModel, q: np.ndarray) -> np.ndarray:
    return np.clip(q, hand.lower, hand.upper)
