"""Safety limits of the Shadow Dexterous Hand: joint limits only (no Cartesian workspace, no
parallel gripper); the arm that carries the hand has its own limits.

Joint ranges come from the hand model (``shadow_joint_limits()`` of the Shadow Hand adapter,
or the OpenAI Shadow Hand MJCF shipped in gymnasium-robotics, :mod:`vlgsim.assets.shadow_hand`).
The rate caps are ours, conservative for a tendon-driven hand: the Shadow Hand's
``rh_trajectory_controller`` follows joint trajectories, and we keep each command's step to
0.2 rad (DROID's per-joint step, limits/franka.py), speeds to 2 rad/s and speeding up to
20 rad/s^2, with a 0.05 rad margin inside every joint stop.
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
