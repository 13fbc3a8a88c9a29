"""Franka Panda / FR3 arm kinematics in numpy: forward kinematics to the gripper TCP and a
damped-least-squares inverse kinematics.

Both arms share one kinematic chain (Franka's published modified-DH table, the same for
Panda and FR3; the arms differ in joint limits only, see ``limits/franka.py``). The end
effector is the Franka Hand's TCP: the flange (frame 8, 0.107 m past joint 7) rotated
-pi/4 about z and moved 0.1034 m along z, libfranka's default ``F_T_EE`` and ManiSkill's
``panda_hand_tcp``. Poses are in the robot base frame (``panda_link0``/``fr3_link0``),
metres, as 4x4 matrices or ``[x, y, z, qw, qx, qy, qz]``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.spatial.transform import Rotation

# Franka's DH table (Craig's modified convention): a (m), d (m), alpha (rad) for joints 1..7 and the flange.
DH_A = np.array([0.0, 0.0, 0.0, 0.0825, -0.0825, 0.0, 0.088, 0.0])
DH_D = np.array([0.333, 0.0, 0.316, 0.0, 0.384, 0.0, 0.0, 0.107])
DH_ALPHA = np.array([0.0, -np.pi / 2, np.pi / 2, np.pi / 2, -np.pi / 2, np.pi / 2, np.pi / 2, 0.0])
HAND_TCP_OFFSET_M = 0.1034
"""Flange to TCP along z for the Franka Hand (libfranka's default end-effector frame)."""
HAND_YAW_RAD = -np.pi / 4


_COS_ALPHA, _SIN_ALPHA = np.round(np.cos(DH_ALPHA), 12), np.round(np.sin(DH_ALPHA), 12)


def _dh(i: int, theta: float) -> np.ndarray:
    """Modified-DH transform of link ``i``: RotX(alpha) TransX(a) RotZ(theta) TransZ(d)."""
    ca, sa, a, d = _COS_ALPHA[i], _SIN_ALPHA[i], DH_A[i], DH_D[i]
    ct, st = math.cos(theta), math.sin(theta)
    return np.array([[ct, -st, 0.0, a], [st * ca, ct * ca, -sa, -d * sa], [st * sa, ct * sa, ca, d * ca],
                     [0.0, 0.0, 0.0, 1.0]])


_F_T_EE = np.eye(4)
_F_T_EE[:3, :3] = Rotation.from_euler("z", HAND_YAW_RAD).as_matrix()
_F_T_EE[2, 3] = HAND_TCP_OFFSET_M


def joint_frames(q) -> np.ndarray:
    """(9, 4, 4): base-frame poses of the frames after joints 1..7, the flange, the TCP."""
    q = np.asarray(q, dtype=np.float64).reshape(7)
    out = np.empty((9, 4, 4))
    T = np.eye(4)
    for i in range(8):
        T = T @ _dh(i, float(q[i]) if i < 7 else 0.0)
        out[i] = T
    out[8] = T @ _F_T_EE
    return out


def fk(q) -> np.ndarray:
    """4x4 base-frame pose of the TCP for the 7 joint angles ``q`` (rad)."""
    return joint_frames(q)[-1]


def matrix_to_pose7(T: np.ndarray) -> np.ndarray:
    """4x4 -> ``[x, y, z, qw, qx, qy, qz]``."""
    x, y, z, w = Rotation.from_matrix(T[:3, :3]).as_quat()
    return np.array([*T[:3, 3], w, x, y, z])


def pose7_to_matrix(pose) -> np.ndarray:
    """``[x, y, z, qw, qx, qy, qz]`` -> 4x4 (the quaternion is normalised)."""
    p = np.asarray(pose, dtype=np.float64)
    T = np.eye(4)
    T[:3, :3] = Rotation.from_quat([p[4], p[5], p[6], p[3]]).as_matrix()
    T[:3, 3] = p[:3]
    return T


def fk_pose7(q) -> np.ndarray:
    return matrix_to_pose7(fk(q))


def jacobian(q) -> np.ndarray:
    """(6, 7) geometric Jacobian of the TCP (linear rows first), base frame."""
    F = joint_frames(q)
    p = F[-1][:3, 3]
    J = np.zeros((6, 7))
    for i in range(7):
        z, o = F[i][:3, 2], F[i][:3, 3]
        J[:3, i] = np.cross(z, p - o)
        J[3:, i] = z
    return J


class IKError(RuntimeError):
    """Inverse kinematics did not reach the target within tolerance."""


def ik(target: np.ndarray, q_seed, lower=None, upper=None, iters: int = 200, pos_tol_m: float = 1e-4,
       rot_tol_rad: float = 1e-3, damping: float = 1e-3, nullspace_gain: float = 0.05) -> np.ndarray:
    """Joint angles whose TCP pose is ``target`` (4x4, base frame), starting from ``q_seed``.

    Damped least squares on the 6-D pose error, with a small pull toward the seed in the
    Jacobian's null space (keeps the elbow where it was, so consecutive waypoints stay
    continuous); joints are kept inside ``[lower, upper]``. Raises :class:`IKError`."""
    q0 = np.asarray(q_seed, dtype=np.float64).reshape(7)
    q = q0.copy()
    lo = -np.inf if lower is None else np.asarray(lower)
    hi = np.inf if upper is None else np.asarray(upper)
    best, stall = np.inf, 0
    for _ in range(iters):
        T = fk(q)
        e_pos = target[:3, 3] - T[:3, 3]
        e_rot = Rotation.from_matrix(target[:3, :3] @ T[:3, :3].T).as_rotvec()
        if np.linalg.norm(e_pos) < pos_tol_m and np.linalg.norm(e_rot) < rot_tol_rad:
            return q
        err = np.linalg.norm(e_pos) + 0.1 * np.linalg.norm(e_rot)
        best, stall = (err, 0) if err < 0.99 * best else (best, stall + 1)
        if stall >= 15:  # no progress: the target is out of reach
            break
        J = jacobian(q)
        JJt = J @ J.T + damping * np.eye(6)
        J_pinv = J.T @ np.linalg.inv(JJt)
        dq = J_pinv @ np.r_[e_pos, e_rot] + (np.eye(7) - J_pinv @ J) @ (nullspace_gain * (q0 - q))
        n = np.abs(dq).max()
        if n > 0.2:
            dq *= 0.2 / n
        q = np.clip(q + dq, lo, hi)
    T = fk(q)
    raise IKError(f"IK did not converge: position error {np.linalg.norm(target[:3, 3] - T[:3, 3]):.4f} m, "
                  f"target {target[:3, 3].round(3).tolist()}; rule: target reachable within the joint limits")


class FrankaKinematics:
    """The arm's kinematics as the safety layer uses them (``fk``/``ik`` on 4x4 poses)."""

    n_joints = 7

    def fk(self, q) -> np.ndarray:
        return fk(q)

    def ik(self, target: np.ndarray, q_seed, lower=None, upper=None) -> np.ndarray:
        return ik(target, q_seed, lower, upper)


FRANKA_KINEMATICS = FrankaKinematics()
