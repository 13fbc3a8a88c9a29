"""Scripted closed-loop expert for tabletop grasping (privileged: reads the ground-truth
world grasp at reset), acting through ``pd_ee_delta_pose`` on the ``state`` observation.

Phases, switched on the measured TCP pose (not on time): move 10 cm above the grasp with
the jaws open and the wrist turned to the grasp axis, descend, close for 0.5 s, lift 12 cm
and hold. Used as the demonstrator for imitation learning and as the ``scripted`` policy.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from vlgsim.policies.base import register_policy

POS_STEP_M = 0.1
"""pd_ee_delta_pose: a normalised action of 1 moves the target 0.1 m / turns it 0.1 rad."""
TCP = slice(18, 25)
"""TCP pose [x, y, z, qw, qx, qy, qz] in the task's state vector (after qpos 9 and qvel 9)."""


class ScriptedGraspPolicy:
    name = "scripted"

    def __init__(self, max_step_m: float = 0.04):
        self.max_step_m = max_step_m
        self.phase, self.close_ticks, self.goal = "above", 0, None

    def reset(self, instruction: str, info: dict) -> None:
        g = np.asarray(info.get("grasp_world", np.zeros((0, 5))))
        g = g[: int(info.get("n_grasps", len(g)))]  # the env pads the labels to a fixed count
        if not len(g):
            raise ValueError("scripted expert needs info['grasp_world'] (a task with ground-truth grasps)")
        x, y, z, angle, _ = g[0]
        self.grasp = np.array([x, y, z])
        yaw = (angle + np.pi) % np.pi - np.pi / 2  # wrist yaw in [-pi/2, pi/2) for this jaw axis
        self.rot_goal = Rotation.from_euler("z", yaw) * Rotation.from_euler("x", np.pi)
        self.phase, self.close_ticks = "above", 0

    def act(self, observation: dict) -> np.ndarray:
        s = np.asarray(observation["state"], np.float64)
        p = s[TCP][:3]
        w, x, y, z = s[TCP][3:]
        rot_err = (self.rot_goal * Rotation.from_quat([x, y, z, w]).inv()).as_rotvec()
        above, lifted = self.grasp + [0, 0, 0.10], self.grasp + [0, 0, 0.12]
        if self.phase == "above" and np.linalg.norm(p - above) < 0.01 and np.linalg.norm(rot_err) < 0.05:
            self.phase = "descend"
        if self.phase == "descend" and np.linalg.norm(p - self.grasp) < 0.006:
            self.phase = "close"
        if self.phase == "close":
            self.close_ticks += 1
            if self.close_ticks > 10:
                self.phase = "lift"
        goal = {"above": above, "descend": self.grasp, "close": self.grasp, "lift": lifted}[self.phase]
        grip = 1.0 if self.phase in ("above", "descend") else -1.0
        dpos = np.clip(goal - p, -self.max_step_m, self.max_step_m) / POS_STEP_M
        # measured on ManiSkill 3.0.1's Panda pd_ee_delta_pose: a positive rotation action turns the TCP
        # the negative way about the same world axis, hence the minus sign
        drot = -np.clip(rot_err, -POS_STEP_M, POS_STEP_M) / POS_STEP_M
        return np.r_[dpos, drot, grip].astype(np.float32)


@register_policy("scripted")
def _make_scripted(env, arg=None, seed=0):
    return ScriptedGraspPolicy()
