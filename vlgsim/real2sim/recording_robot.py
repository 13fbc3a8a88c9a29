"""An ideal robot that records what reaches it: every joint target is reached at once, the
gripper opens to its target, a Cartesian pose (pose passthrough) is reached at once. Used to test the pure safety logic and to time the watchdog;
it is not a simulator (use :mod:`vlgsim.real2sim.sim_robot` for physics)."""

from __future__ import annotations

import threading
import time
from typing import Optional

import numpy as np

from vlgsim.real2sim.robot import CartesianCommand, GripperCommand, JointCommand, RobotBase, RobotState


class RecordingRobot(RobotBase):
    """``received`` holds ``(time.monotonic(), command)`` for every command and ``(t, "stop")``
    for every stop, in arrival order."""

    name = "recording"

    def __init__(self, joint_names: tuple[str, ...], q0, gripper_width_m: Optional[float] = None, ee_pose=None):
        """``ee_pose``: the initial ``[x, y, z, qw, qx, qy, qz]`` (base frame, m) of a robot
        that takes Cartesian poses (a hand on an arm); ``None`` for joint-only robots."""
        self.joint_names = tuple(joint_names)
        self.q = np.asarray(q0, dtype=np.float64).copy()
        self.ee_pose = None if ee_pose is None else np.asarray(ee_pose, dtype=np.float64).copy()
        self.gripper_width_m = gripper_width_m
        self.received: list[tuple[float, object]] = []
        self.stop_event = threading.Event()
        self._lock = threading.Lock()

    def observe(self) -> RobotState:
        with self._lock:
            return RobotState(self.q.copy(), np.zeros_like(self.q),
                              None if self.ee_pose is None else self.ee_pose.copy(), self.gripper_width_m, time.monotonic(),
                              self.joint_names)

    def command(self, cmd) -> None:
        with self._lock:
            self.received.append((time.monotonic(), cmd))
            if isinstance(cmd, JointCommand):
                self.q = np.asarray(cmd.positions, dtype=np.float64).copy()
            elif isinstance(cmd, CartesianCommand):
                self.ee_pose = np.asarray(cmd.pose, dtype=np.float64).copy()
            elif isinstance(cmd, GripperCommand):
                self.gripper_width_m = float(cmd.width_m)

    def stop(self) -> None:
        with self._lock:
            self.received.append((time.monotonic(), "stop"))
        self.stop_event.set()
