"""A cheap top-down Cartesian controller for the Panda: one damped-least-squares step on SAPIEN's
own Jacobian, sent as joint-position targets (ManiSkill's ``pd_joint_pos`` controller).

ManiSkill's ``pd_ee_delta_pose`` on the CPU solves a full IK (up to 100 Pinocchio iterations) every
control step, about 60 % of a step's time here. The RL task (``vlgsim train sb3 --obs grasp``) only
needs "move the TCP by (dx, dy, dz) and keep it pointing down": a single DLS step

    dq = J^T (J J^T + lambda^2 I)^-1 [dp; w]

of the TCP's 6x7 Jacobian (world-aligned, base frame = world rotation) does that for ~0.1 ms, and
the joint PD drives then track ``q + dq`` exactly as they track the IK's answer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

TOPDOWN_QUAT = np.array([0.0, 1.0, 0.0, 0.0])
"""TCP orientation [qw, qx, qy, qz] (world) pointing straight down, fingers closing along world y."""
POS_STEP_M = 0.1
"""TCP displacement (m) of a normalised translation action of 1, as ManiSkill's ``pd_ee_delta_pose``."""
YAW_STEP_RAD = 0.1
"""Yaw turn (rad, about world z) of a normalised yaw action of 1."""
MAX_ROT_STEP_RAD = 0.2
"""Largest orientation correction (rad) asked in one control step."""


def topdown_yaw(quat) -> float:
    """Yaw (rad, about world z) of a TCP orientation [qw, qx, qy, qz] near :data:`TOPDOWN_QUAT` (0 there):
    the angle of the TCP x axis in the world xy plane, so that ``topdown_goal(topdown_yaw(q))`` is ``q``
    for any top-down ``q``."""
    q = np.asarray(quat, np.float64).reshape(-1)
    x = Rotation.from_quat(q[[1, 2, 3, 0]]).apply([1.0, 0.0, 0.0])
    return float(np.arctan2(x[1], x[0]))


def topdown_goal(yaw: float) -> Rotation:
    """World orientation pointing down, turned by ``yaw`` rad about world z."""
    return Rotation.from_rotvec([0.0, 0.0, yaw]) * Rotation.from_quat(TOPDOWN_QUAT[[1, 2, 3, 0]])


@dataclass
class TopDownDLSController:
    """Joint targets for a Panda (7 arm joints + gripper) that move the TCP by a Cartesian step and
    hold it pointing down. ``pmodel``: SAPIEN's Pinocchio model of the robot (base frame), ``tcp_link``:
    index of the TCP link in it, ``base_xyz``: robot base position in the world (m; the base is not
    rotated), ``q_low``/``q_high``: arm joint limits (rad), ``damping``: lambda of the DLS step (m)."""

    pmodel: object
    tcp_link: int
    base_xyz: np.ndarray
    q_low: np.ndarray
    q_high: np.ndarray
    damping: float = 0.02
    n_arm: int = 7

    @classmethod
    def for_env(cls, env) -> "TopDownDLSController":
        """The controller of a single-scene vlgsim/ManiSkill env made with ``control_mode="pd_joint_pos"``."""
        base = env.unwrapped
        if getattr(base, "control_mode", None) != "pd_joint_pos":
            raise ValueError(f"control_mode {getattr(base, 'control_mode', None)!r}; rule: the top-down DLS controller "
                             "sends joint targets, make the env with control_mode='pd_joint_pos'")
        robot = base.agent.robot
        art = robot._objs[0]
        links = [link.name for link in art.links]
        tcp = [i for i, n in enumerate(links) if n.endswith(base.agent.tcp.name)]
        if len(tcp) != 1:
            raise ValueError(f"TCP link {base.agent.tcp.name!r} not found once in {links}; rule: a Panda-like arm")
        low, high = (np.asarray(x, np.float64) for x in (base.single_action_space.low, base.single_action_space.high))
        return cls(art.create_pinocchio_model(), tcp[0], robot.pose.p.cpu().numpy().reshape(-1)[:3].astype(np.float64),
                   low[:7], high[:7])

    def tcp_pose(self, qpos) -> tuple[np.ndarray, Rotation]:
        """TCP position (3,) world m and orientation of joint positions ``qpos`` (9,) rad/m."""
        self.pmodel.compute_forward_kinematics(np.asarray(qpos, np.float64))
        p = self.pmodel.get_link_pose(self.tcp_link)
        return np.asarray(p.p, np.float64) + self.base_xyz, Rotation.from_quat(np.asarray(p.q, np.float64)[[1, 2, 3, 0]])

    def joint_action(self, qpos, dxyz_m, yaw_goal_rad: float, gripper: float) -> np.ndarray:
        """(8,) float32 ``pd_joint_pos`` action: 7 arm joint targets (rad) that move the TCP by ``dxyz_m``
        (3,) world m and turn it to point down at yaw ``yaw_goal_rad``, then the normalised gripper
        command (-1 closed, 1 open)."""
        q = np.asarray(qpos, np.float64).reshape(-1)
        d = np.asarray(dxyz_m, np.float64).reshape(-1)
        if q.shape != (self.n_arm + 2,) or not np.all(np.isfinite(q)):
            raise ValueError(f"qpos {q[:10]} of shape {q.shape}; rule: {self.n_arm + 2} finite joint positions")
        if d.shape != (3,) or not np.all(np.isfinite(d)) or not np.isfinite(yaw_goal_rad) or not np.isfinite(gripper):
            raise ValueError(f"TCP step {d}, yaw {yaw_goal_rad}, gripper {gripper}; rule: finite numbers, step of shape (3,)")
        _, rot = self.tcp_pose(q)
        w = (topdown_goal(yaw_goal_rad) * rot.inv()).as_rotvec()
        n = np.linalg.norm(w)
        if n > MAX_ROT_STEP_RAD:
            w *= MAX_ROT_STEP_RAD / n
        J = np.asarray(self.pmodel.compute_single_link_local_jacobian(q, self.tcp_link), np.float64)[:, :self.n_arm]
        R = rot.as_matrix()
        J = np.vstack([R @ J[:3], R @ J[3:]])  # local -> world-aligned at the TCP
        twist = np.r_[d, w]
        dq = J.T @ np.linalg.solve(J @ J.T + self.damping ** 2 * np.eye(6), twist)
        target = np.clip(q[:self.n_arm] + dq, self.q_low, self.q_high)
        return np.r_[target, np.clip(gripper, -1.0, 1.0)].astype(np.float32)
