"""Scripted closed-loop expert for tabletop grasping (privileged: reads the ground-truth
world grasps at reset), acting through ``pd_ee_delta_pose`` on the ``state`` observation.

Phases, switched on the measured TCP pose (not on time): move 10 cm above the grasp with
the jaws open and the wrist turned to the grasp axis (``above``), descend (slower over the
last 5 cm, ``descend``), close for 0.5 s (``close``), lift 12 cm and hold (``lift``).
If the descent stalls above the grasp depth (a finger on a rim or on a neighbour), the
expert rises back (``retreat``) and tries the next ground-truth grasp, preferring grasps
whose jaw axis differs from the failed one. Used as the demonstrator for imitation
learning and as the ``scripted`` policy.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from vlgsim.policies.base import register_policy

POS_STEP_M = 0.1
"""pd_ee_delta_pose: a normalised action of 1 moves the target 0.1 m / turns it 0.1 rad."""
TCP = slice(18, 25)
"""TCP pose [x, y, z, qw, qx, qy, qz] in the task's state vector (after qpos 9 and qvel 9)."""
ABOVE_M, LIFT_M = 0.10, 0.12
"""Pre-grasp height and lift height above the grasp point, metres."""
SLOW_ZONE_M, SLOW_STEP_M = 0.05, 0.02
"""Within this height above the grasp the TCP moves at most SLOW_STEP_M per step."""
STALL_STEPS, STALL_MOVE_M, STALL_DEPTH_M = 4, 0.002, 0.012
"""A descent is stalled when the TCP moved less than STALL_MOVE_M over STALL_STEPS steps while
still more than STALL_DEPTH_M above the grasp point."""


def _wrist_yaw(axis_angle_rad: float) -> float:
    """Wrist yaw in [-pi/2, pi/2) that puts the jaws on a grasp axis at ``axis_angle_rad``."""
    return (axis_angle_rad + np.pi) % np.pi - np.pi / 2


def target_grasps(info: dict, env=None) -> np.ndarray:
    """(N, 5) world grasps [x, y, z, axis_angle_rad, opening_m] (TCP) of the instructed object, best
    first: the env's ground-truth labels (``info['grasp_world']``, first ``n_grasps`` rows), or, when
    none is visible and ``env`` is a one-scene tabletop env, its collision-free grasps."""
    g = np.asarray(info.get("grasp_world", np.zeros((0, 5))), np.float64).reshape(-1, 5)
    g = g[: int(info.get("n_grasps", len(g)))]  # the env pads the labels to a fixed count
    scenes = getattr(getattr(env, "unwrapped", None), "scenes", None)
    if not len(g) and scenes and len(scenes) == 1 and hasattr(scenes[0], "target_index"):
        from vlgsim.grasp.labels import collision_free_grasps

        sc = scenes[0]
        g = np.array([[*q.center, q.axis_angle_rad, q.opening_m]
                      for q in collision_free_grasps(sc.objects, sc.target_index)]).reshape(-1, 5)
    return g


def wrist_rotation(axis_angle_rad: float) -> Rotation:
    """TCP orientation (world) that points the jaws down onto a grasp axis at ``axis_angle_rad``."""
    return Rotation.from_euler("z", _wrist_yaw(axis_angle_rad)) * Rotation.from_euler("x", np.pi)


class ScriptedGraspPolicy:
    name = "scripted"

    def __init__(self, max_step_m: float = 0.04, max_tries: int = 3, env=None):
        """``env``: the env the expert acts in; when a scene has no visible grasp label, the expert
        falls back to the collision-free grasps of its target (``grasp.labels.collision_free_grasps``)."""
        self.max_step_m, self.max_tries, self.env = max_step_m, max_tries, env
        self.phase, self.close_ticks, self.grasps, self.tries = "above", 0, np.zeros((0, 5)), 0

    def reset(self, instruction: str, info: dict) -> None:
        g = target_grasps(info, self.env)
        if not len(g):
            raise ValueError("scripted expert needs info['grasp_world'] (a task with ground-truth grasps)")
        self.grasps, self.tries, self.tried_yaws = g, 0, []
        self._select(0)

    def _select(self, k: int) -> None:
        x, y, z, angle, _ = self.grasps[k]
        self.grasp = np.array([x, y, z])
        self.yaw = _wrist_yaw(angle)
        self.tried_yaws.append(self.yaw)
        self.rot_goal = wrist_rotation(angle)
        self.phase, self.close_ticks, self.z_hist = "above", 0, []

    def _next_grasp(self) -> int:
        """Index of the untried grasp whose wrist yaw is farthest from those tried (ties: best label first)."""
        def yaw_gap(g):
            d = [abs((_wrist_yaw(g[3]) - y + np.pi / 2) % np.pi - np.pi / 2) for y in self.tried_yaws]
            return min(d) + 0.05 * min(np.linalg.norm(g[:2] - self.grasp[:2]), 0.05)
        return int(np.argmax([yaw_gap(g) for g in self.grasps]))

    def act(self, observation: dict) -> np.ndarray:
        s = np.asarray(observation["state"], np.float64)
        p = s[TCP][:3]
        w, x, y, z = s[TCP][3:]
        rot_err = (self.rot_goal * Rotation.from_quat([x, y, z, w]).inv()).as_rotvec()
        above, lifted = self.grasp + [0, 0, ABOVE_M], self.grasp + [0, 0, LIFT_M]
        if self.phase == "retreat" and p[2] > above[2] - 0.02:
            self._select(self._next_grasp())
            above, lifted = self.grasp + [0, 0, ABOVE_M], self.grasp + [0, 0, LIFT_M]
        if (self.phase == "above" and np.linalg.norm(p[:2] - above[:2]) < 0.004 and abs(p[2] - above[2]) < 0.01
                and np.linalg.norm(rot_err) < 0.03):
            self.phase = "descend"
        if self.phase == "descend":
            self.z_hist.append(p[2])
            if np.linalg.norm(p - self.grasp) < 0.006:
                self.phase = "close"
            elif (len(self.z_hist) > STALL_STEPS and self.z_hist[-1 - STALL_STEPS] - p[2] < STALL_MOVE_M
                  and p[2] - self.grasp[2] > STALL_DEPTH_M):
                self.tries += 1
                self.phase = "retreat" if self.tries < self.max_tries else "close"
        if self.phase == "close":
            self.close_ticks += 1
            if self.close_ticks > 10:
                self.phase = "lift"
        goal = {"above": above, "descend": self.grasp, "close": p, "lift": lifted,
                "retreat": np.r_[p[:2], above[2]]}[self.phase]
        grip = 1.0 if self.phase in ("above", "descend", "retreat") else -1.0
        step = self.max_step_m
        if self.phase == "descend" and p[2] - self.grasp[2] < SLOW_ZONE_M:
            step = SLOW_STEP_M
        dpos = np.clip(goal - p, -step, step) / POS_STEP_M
        # measured on ManiSkill 3.0.1's Panda pd_ee_delta_pose: a positive rotation action turns the TCP
        # the negative way about the same world axis, hence the minus sign
        drot = -np.clip(rot_err, -POS_STEP_M, POS_STEP_M) / POS_STEP_M
        return np.r_[dpos, drot, grip].astype(np.float32)


@register_policy("scripted")
def _make_scripted(env, arg=None, seed=0):
    return ScriptedGraspPolicy(env=env)
