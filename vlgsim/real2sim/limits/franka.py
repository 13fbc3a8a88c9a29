"""Safety limits of the Franka arms (Panda and FR3) with the Franka Hand.

Every value is cited. Frames: joint values in rad, Cartesian values in the robot base frame
(``link0``: x forward, z up, metres); the RealVLG tabletop puts the base on the table top,
so the table is the plane z = 0.

Sources
- [Franka-Panda] Franka Control Interface documentation, "Robot and interface
  specifications", Panda: joint limits, velocity, acceleration; Franka Hand: 80 mm stroke,
  70 N continuous force (140 N peak).
- [Franka-FR3] the same page for Franka Research 3 (FR3), whose joint ranges differ.
- [polymetis] facebookresearch/fairo ``polymetis/conf/robot_client/franka_hardware.yaml``:
  joint limits shrunk by a 0.1 rad margin, joint velocity limits 2.075 / 2.51 rad/s
  (datasheet minus 0.1), end-effector workspace x 0.1-1.0 m, y -0.4-0.4 m, z -0.05-1.0 m.
- [DROID] droid-policy-learning / DROID ``robot_ik_solver.py``: 15 Hz control with per-step
  caps of 0.075 m (``max_lin_delta``), 0.15 rad (``max_rot_delta``) and 0.2 rad per joint
  (``max_joint_delta``).
"""

from __future__ import annotations

import numpy as np

from vlgsim.real2sim.franka_kinematics import FRANKA_KINEMATICS
from vlgsim.real2sim.safety import SafetyLimits

PANDA_JOINT_LOWER = (-2.8973, -1.7628, -2.8973, -3.0718, -2.8973, -0.0175, -2.8973)  # [Franka-Panda]
PANDA_JOINT_UPPER = (2.8973, 1.7628, 2.8973, -0.0698, 2.8973, 3.7525, 2.8973)  # [Franka-Panda]
PANDA_JOINT_VELOCITY = (2.075, 2.075, 2.075, 2.075, 2.51, 2.51, 2.51)  # [polymetis] datasheet 2.175/2.61 minus 0.1
PANDA_JOINT_ACCELERATION = (15.0, 7.5, 10.0, 12.5, 15.0, 20.0, 20.0)  # [Franka-Panda] rad/s^2

FR3_JOINT_LOWER = (-2.7437, -1.7837, -2.9007, -3.0421, -2.8065, 0.5445, -3.0159)  # [Franka-FR3]
FR3_JOINT_UPPER = (2.7437, 1.7837, 2.9007, -0.1518, 2.8065, 4.5169, 3.0159)  # [Franka-FR3]
FR3_JOINT_VELOCITY = (2.075, 2.075, 2.075, 2.075, 2.51, 2.51, 2.51)  # [polymetis] caps (FR3 allows 2.62-5.26)
FR3_JOINT_ACCELERATION = (10.0,) * 7  # [Franka-FR3] rad/s^2

JOINT_MARGIN_RAD = 0.1  # [polymetis]
JOINT_STEP_MAX_RAD = 0.2  # [DROID] per command
EE_STEP_MAX_M = 0.075  # [DROID] per command
EE_ROTATION_STEP_MAX_RAD = 0.15  # [DROID] per command
EE_VELOCITY_MAX_M_S = 1.0  # ours: below [Franka-Panda]'s 1.7 m/s; DROID's caps at 15 Hz allow 1.125 m/s
EE_ANGULAR_VELOCITY_MAX_RAD_S = 2.0  # ours: below [Franka-Panda]'s 2.5 rad/s
WORKSPACE_LOWER_M = (0.1, -0.4, 0.0)  # [polymetis] x, y; z floor at the table top (polymetis: -0.05)
WORKSPACE_UPPER_M = (1.0, 0.4, 1.0)  # [polymetis]
GRIPPER_WIDTH_MAX_M = 0.08  # [Franka-Panda] Franka Hand stroke
GRIPPER_FORCE_MAX_N = 70.0  # [Franka-Panda] continuous force (peak 140 N)
WATCHDOG_TIMEOUT_S = 0.2  # ours: three missed commands at DROID's 15 Hz
COMMAND_DURATION_S = (1 / 1000, 2.0)  # ours: one libfranka tick .. a slow 2 s move


def franka_limits(model: str = "fr3") -> SafetyLimits:
    """The limits of a Franka ``"fr3"`` (Franka Research 3) or ``"panda"`` with the Franka Hand."""
    tables = {"panda": (PANDA_JOINT_LOWER, PANDA_JOINT_UPPER, PANDA_JOINT_VELOCITY, PANDA_JOINT_ACCELERATION),
              "fr3": (FR3_JOINT_LOWER, FR3_JOINT_UPPER, FR3_JOINT_VELOCITY, FR3_JOINT_ACCELERATION)}
    if model not in tables:
        raise ValueError(f"Franka model {model!r}; rule: one of {sorted(tables)}")
    lo, hi, vel, acc = (np.array(t, dtype=np.float64) for t in tables[model])
    prefix = "fr3" if model == "fr3" else "panda"
    return SafetyLimits(
        robot=f"franka-{model}", joint_names=tuple(f"{prefix}_joint{i}" for i in range(1, 8)),
        joint_lower=lo, joint_upper=hi, joint_margin_rad=JOINT_MARGIN_RAD,
        joint_velocity_max=vel, joint_acceleration_max=acc, joint_step_max_rad=JOINT_STEP_MAX_RAD,
        workspace_lower_m=np.array(WORKSPACE_LOWER_M), workspace_upper_m=np.array(WORKSPACE_UPPER_M),
        ee_step_max_m=EE_STEP_MAX_M, ee_rotation_step_max_rad=EE_ROTATION_STEP_MAX_RAD,
        ee_velocity_max_m_s=EE_VELOCITY_MAX_M_S, ee_angular_velocity_max_rad_s=EE_ANGULAR_VELOCITY_MAX_RAD_S,
        gripper_width_max_m=GRIPPER_WIDTH_MAX_M, gripper_force_max_n=GRIPPER_FORCE_MAX_N,
        watchdog_timeout_s=WATCHDOG_TIMEOUT_S, command_duration_min_s=COMMAND_DURATION_S[0],
        command_duration_max_s=COMMAND_DURATION_S[1], kinematics=FRANKA_KINEMATICS)
