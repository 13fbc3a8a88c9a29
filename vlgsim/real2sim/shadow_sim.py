"""A SAPIEN stand-in of the Shadow Hand behind the Robot protocol, with the real hand's
ROS joint names (:mod:`vlgsim.real2sim.shadow_joints`).

It drives the floating hand of :class:`vlgsim.sim.dex_hand.DexScene` (the one the
``DexVLG-PartGrasp-v0`` env and grasp validation use): ``JointCommand`` takes 24 positions in
ROS joint order (rad; rh_WRJ1/rh_WRJ2 must be 0, the model has no wrist joints);
``CartesianCommand`` takes the palm pose ``[x, y, z, qw, qx, qy, qz]`` in the scene's world
frame (metres), the job of the arm on real hardware. A command runs to completion in
simulated time: drive targets move linearly (positions; palm orientation by slerp) over
``duration_s`` at the scene's physics rate, then the call returns. ``stop()`` holds the
current joint positions.
"""

from __future__ import annotations

import time

import numpy as np
from scipy.spatial.transform import Rotation, Slerp

from vlgsim.real2sim.robot import CartesianCommand, Command, JointCommand, RobotBase, RobotState
from vlgsim.real2sim.shadow_joints import ROS_JOINT_NAMES, model_to_ros, ros_to_model, ros_wrist
from vlgsim.sim.dex_hand import DexScene

N_WRIST = 6
"""Virtual wrist values at the front of DexScene's qpos: xyz (m) then XYZ Euler angles (rad)."""


def euler_near(R: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Intrinsic XYZ Euler angles of rotation ``R`` nearest ``ref`` (rad): of the two
    solutions (a, b, c) and (a + pi, pi - b, c + pi), each angle shifted by multiples of 2 pi
    towards ``ref``, the closer one. Keeps the unlimited revolute wrist joints continuous."""
    a, b, c = Rotation.from_matrix(R).as_euler("XYZ")
    best = None
    for e in (np.array([a, b, c]), np.array([a + np.pi, np.pi - b, c + np.pi])):
        e = e + 2 * np.pi * np.round((ref - e) / (2 * np.pi))
        if best is None or np.linalg.norm(e - ref) < np.linalg.norm(best - ref):
            best = e
    return best


def wrist_rotation(euler_xyz: np.ndarray) -> np.ndarray:
    return Rotation.from_euler("XYZ", euler_xyz).as_matrix()


def check_pose(pose, name: str = "palm pose") -> tuple[np.ndarray, np.ndarray]:
    """``[x, y, z, qw, qx, qy, qz]`` -> (position (3,), rotation (3, 3)) or ValueError."""
    try:
        p = np.asarray(pose, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{name} {pose!r} is not numeric; rule: [x, y, z, qw, qx, qy, qz]") from e
    if p.shape != (7,) or not np.all(np.isfinite(p)):
        raise ValueError(f"{name} {p.tolist() if p.size < 20 else p.shape}; rule: 7 finite values "
                         f"[x, y, z, qw, qx, qy, qz]")
    n = np.linalg.norm(p[3:])
    if n < 1e-6:
        raise ValueError(f"{name} quaternion {p[3:].tolist()}; rule: non-zero (normalised here)")
    qw, qx, qy, qz = p[3:] / n
    return p[:3], Rotation.from_quat([qx, qy, qz, qw]).as_matrix()


def pose_vector(T: np.ndarray) -> np.ndarray:
    """4x4 pose -> ``[x, y, z, qw, qx, qy, qz]``."""
    x, y, z, w = Rotation.from_matrix(T[:3, :3]).as_quat()
    return np.r_[T[:3, 3], w, x, y, z]


class ShadowHandSim(RobotBase):
    """The stand-in. ``sim`` is the DexScene to drive, e.g. ``env.unwrapped.sim`` of
    ``DexVLG-PartGrasp-v0`` after ``reset()``; the object and table stay as the env placed them."""

    name = "shadow-sim"
    joint_names = ROS_JOINT_NAMES
    WRIST_TOLERANCE_RAD = 1e-6

    def __init__(self, sim: DexScene, settle_s: float = 0.1):
        self.sim, self.settle_s = sim, float(settle_s)
        self.dt = float(sim.scene.timestep)
        self._target: np.ndarray | None = None
        self.sent: list[Command] = []
        """Every command this stand-in executed, in order."""

    def connect(self) -> None:
        self._target = self.sim.qpos.copy()
        self.sim.drive(self._target)

    def observe(self) -> RobotState:
        q = self.sim.qpos
        dq = self.sim.hand_art.get_qvel().astype(np.float64)[self.sim.order]
        palm = self.sim.link_pose(self.sim.hand.link_names[0])
        return RobotState(joint_positions=model_to_ros(q[N_WRIST:]), joint_velocities=model_to_ros(dq[N_WRIST:]),
                          ee_pose=pose_vector(palm), timestamp_s=time.monotonic(), joint_names=ROS_JOINT_NAMES)

    def command(self, cmd: Command) -> None:
        if self._target is None:
            raise RuntimeError("ShadowHandSim.command() before connect()")
        if isinstance(cmd, JointCommand):
            wrist = ros_wrist(cmd.positions)
            if np.any(np.abs(wrist) > self.WRIST_TOLERANCE_RAD):
                raise ValueError(f"rh_WRJ1, rh_WRJ2 = {wrist.tolist()}; rule: 0 on the stand-in (the model has no "
                                 f"wrist joints; move the palm with a CartesianCommand)")
            goal = self._target.copy()
            goal[N_WRIST:] = ros_to_model(cmd.positions)
            self._run(self._joint_path(goal, cmd.duration_s))
        elif isinstance(cmd, CartesianCommand):
            self._run(self._palm_path(cmd.pose, cmd.duration_s))
        else:
            raise TypeError(f"{type(cmd).__name__}; rule: the Shadow Hand takes JointCommand (24 ROS joints) or "
                            f"CartesianCommand (palm pose)")
        self.sent.append(cmd)

    def _steps(self, duration_s: float) -> int:
        d = float(duration_s)
        if not np.isfinite(d) or d < 0:
            raise ValueError(f"duration_s {duration_s!r}; rule: finite and >= 0 s")
        return max(1, int(round(d / self.dt)))

    def _joint_path(self, goal: np.ndarray, duration_s: float) -> np.ndarray:
        n = self._steps(duration_s)
        s = np.arange(1, n + 1)[:, None] / n
        return self._target + s * (goal - self._target)

    def _palm_path(self, pose, duration_s: float) -> np.ndarray:
        pos, R = check_pose(pose)
        n = self._steps(duration_s)
        p0, e0 = self._target[:3], self._target[3:N_WRIST]
        slerp = Slerp([0.0, 1.0], Rotation.from_matrix(np.stack([wrist_rotation(e0), R])))
        path, e = [], e0
        for k in range(1, n + 1):
            s = k / n
            e = euler_near(slerp([s]).as_matrix()[0], e)
            q = self._target.copy()
            q[:3], q[3:N_WRIST] = p0 + s * (pos - p0), e
            path.append(q)
        return np.array(path)

    def _run(self, path: np.ndarray) -> None:
        for q in path:
            self.sim.drive(q)
            self.sim.step(1)
        self._target = path[-1].copy()
        self.sim.step(int(round(self.settle_s / self.dt)))

    def stop(self) -> None:
        if self._target is not None:
            self._target = self.sim.qpos.copy()
            self.sim.drive(self._target)
