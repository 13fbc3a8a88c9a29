"""The ``Robot`` protocol every real or stand-in robot implements (SPEC section 8).

A robot is driven by commands that have already passed the safety layer
(:mod:`vlgsim.real2sim.safety`); drivers never see raw policy output. Frames and units:
joint positions in rad (prismatic joints in m), velocities in rad/s, end-effector poses in
the robot's base frame as ``[x, y, z, qw, qx, qy, qz]`` (metres, unit quaternion, scalar
first), gripper width in metres (total jaw opening), times in seconds from
``time.monotonic()``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Protocol, runtime_checkable

import numpy as np


@dataclass
class RobotState:
    """One observation of a robot."""

    joint_positions: np.ndarray  # (n_joints,) rad
    joint_velocities: np.ndarray  # (n_joints,) rad/s
    ee_pose: Optional[np.ndarray] = None  # (7,) [x, y, z, qw, qx, qy, qz], base frame
    gripper_width_m: Optional[float] = None
    timestamp_s: float = 0.0  # time.monotonic() when read
    joint_names: tuple[str, ...] = ()


@dataclass
class JointCommand:
    """Absolute joint position targets (rad), reached within ``duration_s``."""

    positions: np.ndarray
    duration_s: float = 0.1


@dataclass
class CartesianCommand:
    """Absolute end-effector pose target ``[x, y, z, qw, qx, qy, qz]`` (base frame, m)."""

    pose: np.ndarray
    duration_s: float = 0.1


@dataclass
class GripperCommand:
    """Target total jaw opening (m) and the most force the jaws may apply (N). ``grasp=True``
    closes on an object: the jaws move toward ``width_m`` until they hold something with
    ``force_n`` (franky's ``Gripper.grasp``); ``grasp=False`` just moves them to ``width_m``."""

    width_m: float
    force_n: float = 20.0
    grasp: bool = False


Command = JointCommand | CartesianCommand | GripperCommand


@runtime_checkable
class Robot(Protocol):
    """A robot that can be observed and commanded. Use it as a context manager: leaving
    the ``with`` block (normally or by an exception) calls ``stop()`` then ``close()``."""

    name: str
    joint_names: tuple[str, ...]

    def connect(self) -> None: ...

    def observe(self) -> RobotState: ...

    def command(self, cmd: Command) -> None: ...

    def stop(self) -> None: ...

    def close(self) -> None: ...


class RobotBase:
    """Context-manager behaviour shared by the drivers: always stop, then close."""

    name = "robot"
    joint_names: tuple[str, ...] = ()

    def __enter__(self):
        self.connect()
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            self.stop()
        finally:
            self.close()
        return False

    def connect(self) -> None:  # pragma: no cover - drivers override
        pass

    def close(self) -> None:
        pass
