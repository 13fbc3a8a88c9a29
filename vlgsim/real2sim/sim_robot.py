"""The SAPIEN Panda of ``RealVLG-Grasp-v0`` as a stand-in robot behind the Robot protocol.

The env runs on ``pd_joint_pos`` (ManiSkill's PD joint controller, 20 Hz control, 100 Hz
physics). A :class:`JointCommand` moves the joint targets linearly to its positions over its
``duration_s`` of **simulated** time (the call blocks while the physics runs); a
:class:`GripperCommand` sets the finger target and lets it settle for ``GRIPPER_SETTLE_S``;
closing is a grasp, like franky's ``Gripper.grasp``: the fingers close with the controller's
force (its own limit, 100 N per finger) until they meet the object, as the env primitive does. ``stop()`` holds the measured
joint positions. Poses are reported in the robot base frame, like a real arm's. The scene
is the env's scene of ``seed``: the same objects a replay recorded from that seed shows,
so a grasp planned on the recording can physically succeed, and
:meth:`SimRobot.target_rise_m` detects the outcome.
"""

from __future__ import annotations

import time
from typing import Optional

import numpy as np

from vlgsim.real2sim.robot import GripperCommand, JointCommand, RobotBase, RobotState

GRIPPER_SETTLE_S = 0.6
"""Simulated time a gripper command runs (the env primitive's close phase)."""


class SimRobot(RobotBase):
    paced = False  # command() itself takes the command's (simulated) time

    def __init__(self, seed: int = 0, env_kwargs: Optional[dict] = None):
        self.name = "sim-panda"
        self.joint_names = tuple(f"panda_joint{i}" for i in range(1, 8))
        self.seed, self.env_kwargs = int(seed), dict(env_kwargs or {})
        self.env = None
        self._q_target: Optional[np.ndarray] = None
        self._opening = 0.08
        self._squeeze = False
        self._z0: Optional[np.ndarray] = None

    def connect(self) -> None:
        import gymnasium as gym

        import vlgsim  # noqa: F401  (registers the envs)

        kw = dict(obs_mode="state", action_mode="control", control_mode="pd_joint_pos") | self.env_kwargs
        self.env = gym.make("vlgsim:RealVLG-Grasp-v0", **kw)
        self.reset_scene(self.seed)

    @property
    def _base(self):
        if self.env is None:
            raise RuntimeError("SimRobot is not connected; rule: connect() (or use it as a context manager) first")
        return self.env.unwrapped

    def reset_scene(self, seed: int) -> None:
        """Rebuild the scene of ``seed`` with the arm in its observe pose, gripper open."""
        from vlgsim.sim.stand_in import object_heights, panda_state

        self.seed = int(seed)
        self.env.reset(seed=self.seed)
        s = panda_state(self._base)
        self._q_target, self._opening, self._squeeze = s["qpos"][:7].copy(), s["opening_m"], False
        self._base.agent.controller.reset()
        self._z0 = object_heights(self._base)

    def observe(self) -> RobotState:
        from vlgsim.real2sim.franka_kinematics import matrix_to_pose7, pose7_to_matrix
        from vlgsim.sim.stand_in import panda_state

        s = panda_state(self._base)
        T = pose7_to_matrix(s["tcp_pose"])
        T[:3, 3] -= s["base"]  # the base is not rotated in the env
        return RobotState(s["qpos"][:7], s["qvel"][:7], matrix_to_pose7(T), s["opening_m"], time.monotonic(),
                          self.joint_names)

    def command(self, cmd) -> None:
        from vlgsim.sim.stand_in import drive_joints

        if isinstance(cmd, JointCommand):
            q_to = np.asarray(cmd.positions, dtype=np.float64)
            drive_joints(self._base, self._q_target, q_to, self._opening, float(cmd.duration_s), self._squeeze)
            self._q_target = q_to.copy()
        elif isinstance(cmd, GripperCommand):
            self._squeeze = bool(cmd.grasp)
            self._opening = float(cmd.width_m)
            drive_joints(self._base, self._q_target, self._q_target, self._opening, GRIPPER_SETTLE_S, self._squeeze)
        else:
            raise TypeError(f"SimRobot takes JointCommand or GripperCommand, got {type(cmd).__name__}")

    def stop(self) -> None:
        if self.env is not None:
            self._q_target = self.observe().joint_positions.copy()

    def target_rise_m(self) -> float:
        """How far the episode's target object is above where it started (m)."""
        from vlgsim.sim.stand_in import object_heights

        return float(object_heights(self._base)[self._base.target_slot[0]] - self._z0[self._base.target_slot[0]])

    def others_rise_m(self) -> float:
        from vlgsim.sim.stand_in import object_heights

        rise = object_heights(self._base) - self._z0
        n, t = int(self._base.n_objects[0]), int(self._base.target_slot[0])
        return float(max([rise[k] for k in range(n) if k != t], default=0.0))

    def close(self) -> None:
        if self.env is not None:
            self.env.close()
            self.env = None
