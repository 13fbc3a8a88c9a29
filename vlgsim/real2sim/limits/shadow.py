"""Safety limits of the Shadow Dexterous Hand: joint limits only (no Cartesian workspace, no
parallel gripper); the arm that carries the hand has its own limits.

Joint ranges come from the hand model (``shadow_joint_limits()`` of the Shadow Hand adapter,
or the OpenAI Shadow Hand MJCF shipped in gymnasium-robotics, :mod:`vlgsim.assets.shadow_hand`).
The rate caps are ours, conservative for a tendon-driven hand: the Shadow Hand's
``rh_trajectory_controller`` follows joint trajectories, and we keep each command's step to
0.2 rad (DROID's per-joint step, limits/franka.py), speeds to 2 rad/s and speeding up to
20 rad/s^2, with a 0.05 rad margin inside every joint stop.

:func:`shadow_hand_on_arm_limits` adds the palm, carried by an arm whose controller does the
IK: 24 ROS joints (``shadow_joint_limits()``, URDF velocities capped at 2 rad/s) and a palm
pose passthrough. Palm values are ours, conservative, in the stand-in's world frame (the
DexVLG table top is the plane z = 0, the object near the origin): the palm origin stays in a
box x, y in [-0.5, 0.5] m, z in [0.0, 0.8] m (never below the table top); per command it moves
at most 0.05 m and turns at most 0.25 rad (DROID's 0.075 m / 0.15 rad per 1/15 s command are
1.1 m/s, 2.3 rad/s; ours are slower), at most 0.25 m/s and 1.0 rad/s.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from vlgsim.real2sim.safety import SafetyLimits

HAND_JOINT_MARGIN_RAD = 0.05
HAND_JOINT_VELOCITY_MAX = 2.0  # rad/s, ours
HAND_JOINT_ACCELERATION_MAX = 20.0  # rad/s^2, ours
HAND_JOINT_STEP_MAX_RAD = 0.2  # per command, as DROID's per-joint cap
HAND_WATCHDOG_TIMEOUT_S = 0.2
PALM_WORKSPACE_LOWER_M = (-0.5, -0.5, 0.0)  # ours: stand-in world frame, table top z = 0
PALM_WORKSPACE_UPPER_M = (0.5, 0.5, 0.8)  # ours
PALM_STEP_MAX_M = 0.05  # ours, per command
PALM_ROTATION_STEP_MAX_RAD = 0.25  # ours, per command
PALM_VELOCITY_MAX_M_S = 0.25  # ours
PALM_ANGULAR_VELOCITY_MAX_RAD_S = 1.0  # ours


def shadow_limits(joint_names: Optional[Sequence[str]] = None, lower=None, upper=None) -> SafetyLimits:
    """Limits for the hand's joints (any number: 22 fingers, 24 with the wrist). Without
    arguments, the 22 finger joints of the gymnasium-robotics Shadow Hand MJCF."""
    if joint_names is None:
        from vlgsim.assets.shadow_hand import JOINT_NAMES, load_shadow_hand

        hand = load_shadow_hand()
        joint_names, lower, upper = JOINT_NAMES, hand.lower, hand.upper
    lower, upper = np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)
    # a joint whose range is narrower than two margins gets a proportionally smaller margin
    margin = float(min(HAND_JOINT_MARGIN_RAD, 0.25 * np.min(upper - lower)))
    return SafetyLimits(robot="shadow-hand", joint_names=tuple(joint_names), joint_lower=lower, joint_upper=upper,
                        joint_margin_rad=margin, joint_velocity_max=HAND_JOINT_VELOCITY_MAX,
                        joint_acceleration_max=HAND_JOINT_ACCELERATION_MAX, joint_step_max_rad=HAND_JOINT_STEP_MAX_RAD,
                        watchdog_timeout_s=HAND_WATCHDOG_TIMEOUT_S)


def shadow_hand_on_arm_limits() -> SafetyLimits:
    """Limits of the Shadow Hand carried by an arm, as the replay drives it: the 24 ROS joints
    in ``ROS_JOINT_NAMES`` order (Shadow's URDF ranges intersected with the model's, margin
    0.05 rad) and palm poses (``CartesianCommand``) passed through inside the palm box and caps."""
    from vlgsim.real2sim.shadow_joints import shadow_joint_limits

    jl = shadow_joint_limits()
    base = shadow_limits(jl.names, jl.lower, jl.upper)
    return SafetyLimits(robot="shadow-hand-on-arm", joint_names=base.joint_names, joint_lower=base.joint_lower,
                        joint_upper=base.joint_upper, joint_margin_rad=base.joint_margin_rad,
                        joint_velocity_max=np.minimum(jl.max_velocity, HAND_JOINT_VELOCITY_MAX),
                        joint_acceleration_max=HAND_JOINT_ACCELERATION_MAX, joint_step_max_rad=HAND_JOINT_STEP_MAX_RAD,
                        watchdog_timeout_s=HAND_WATCHDOG_TIMEOUT_S, workspace_lower_m=PALM_WORKSPACE_LOWER_M,
                        workspace_upper_m=PALM_WORKSPACE_UPPER_M, ee_step_max_m=PALM_STEP_MAX_M,
                        ee_rotation_step_max_rad=PALM_ROTATION_STEP_MAX_RAD, ee_velocity_max_m_s=PALM_VELOCITY_MAX_M_S,
                        ee_angular_velocity_max_rad_s=PALM_ANGULAR_VELOCITY_MAX_RAD_S, pose_passthrough=True)
