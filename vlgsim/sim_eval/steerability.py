"""Steerability scoring of bimanual trials (FineVLA Table 5 style), from recorded
privileged simulator state. Pure numpy: unit-testable without a simulator.

A trial is scored by **ordered subgoals** with partial credit: subgoal k counts only once
subgoals 0..k-1 have been met (in that order, at any earlier or the same step); the score
is ``100 * met / total``. For a task with an instructed factor the last subgoal is
"the instructed factor was respected". **Factor compliance** is measured from the state:

- arm: the arm whose fingers first touched the object (:func:`first_arm_touching`);
- approach: the direction of the gripper's path over the last 5 cm before it first touched
  the object, ``above`` when it came down within 45 deg of vertical, else ``side``;
- rotation: the sign of the object's unwrapped yaw change (seen from above, + is
  counter-clockwise), once it exceeds 45 deg;
- color / pose: the attribute of the candidate object that was moved (lifted most).

A trial that reaches the goal but breaks the instructed factor is an **instruction
violation**.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ARMS = ("left", "right")
APPROACH_WINDOW_M = 0.05
APPROACH_VERTICAL_DEG = 45.0
ROTATION_MIN_DEG = 45.0
MOVED_MIN_M = 0.02


@dataclass
class TrialRecord:
    """Per control step t: poses of the task bodies (T, K, 7) [x y z qw qx qy qz], TCP poses
    of the left and right arm (T, 2, 7), finger contact (T, 2, K) and grasp (T, 2, K)
    flags per arm and body. World frame, metres."""

    names: list[str]
    table_z: float
    body_pose: np.ndarray
    tcp_pose: np.ndarray
    touch: np.ndarray
    grasp: np.ndarray

    def k(self, name: str) -> int:
        if name not in self.names:
            raise KeyError(f"body {name!r} not recorded; recorded: {self.names}")
        return self.names.index(name)

    def __len__(self) -> int:
        return len(self.body_pose)


@dataclass
class TrialScore:
    score_0_100: float
    subgoals_met: int
    subgoals_total: int
    goal_reached: bool
    factor: str
    instructed: str
    measured: str
    factor_compliant: bool
    violation: bool

    def metrics(self) -> dict[str, float]:
        return dict(score_0_100=self.score_0_100, goal_reached=float(self.goal_reached),
                    factor_compliant=float(self.factor_compliant), violation=float(self.violation))


def yaw_of(quat_wxyz: np.ndarray) -> np.ndarray:
    """Yaw (rad) about world +z of quaternions [..., 4] (w, x, y, z)."""
    q = np.asarray(quat_wxyz, np.float64)
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    return np.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))


# ---------------------------------------------------------------------------- factor measurements
def first_arm_touching(rec: TrialRecord, obj: str) -> str:
    """The arm whose fingers touched ``obj`` first ('' if none did; the left arm on a tie)."""
    t = rec.touch[:, :, rec.k(obj)] | rec.grasp[:, :, rec.k(obj)]
    for step in t:
        for a, flag in zip(ARMS, step):
            if flag:
                return a
    return ""


def approach_direction(rec: TrialRecord, obj: str, window_m: float = APPROACH_WINDOW_M) -> str:
    """``above`` / ``side`` from the path of the first touching arm's TCP over its last
    ``window_m`` of travel before the first touch ('' if nothing touched ``obj``)."""
    arm = first_arm_touching(rec, obj)
    if not arm:
        return ""
    a, k = ARMS.index(arm), rec.k(obj)
    t0 = int(np.argmax(rec.touch[:, a, k] | rec.grasp[:, a, k]))
    path = rec.tcp_pose[: t0 + 1, a, :3].astype(np.float64)
    end, travelled, start = path[-1], 0.0, path[-1]
    for i in range(len(path) - 2, -1, -1):
        travelled += float(np.linalg.norm(path[i + 1] - path[i]))
        start = path[i]
        if travelled >= window_m:
            break
    d = end - start
    if np.linalg.norm(d) < 1e-6:
        return ""
    downward = -d[2] / np.linalg.norm(d)
    return "above" if downward >= np.cos(np.deg2rad(APPROACH_VERTICAL_DEG)) else "side"


def yaw_change_deg(rec: TrialRecord, obj: str) -> float:
    """Unwrapped yaw change of ``obj`` from the first to the last step, degrees (+ = CCW)."""
    yaw = np.unwrap(yaw_of(rec.body_pose[:, rec.k(obj), 3:]))
    return float(np.rad2deg(yaw[-1] - yaw[0])) if len(yaw) else 0.0


def rotation_sense(rec: TrialRecord, obj: str, min_deg: float = ROTATION_MIN_DEG) -> str:
    d = yaw_change_deg(rec, obj)
    return "counter-clockwise" if d >= min_deg else "clockwise" if d <= -min_deg else ""


def rise_m(rec: TrialRecord, obj: str) -> np.ndarray:
    """(T,) height of ``obj`` above its start, metres."""
    z = rec.body_pose[:, rec.k(obj), 2]
    return z - z[0]


def moved_object(rec: TrialRecord, candidates: list[str], min_m: float = MOVED_MIN_M) -> str:
    """The candidate lifted highest (at least ``min_m``), '' if none was."""
    best, best_rise = "", min_m
    for c in candidates:
        r = float(rise_m(rec, c).max())
        if r >= best_rise:
            best, best_rise = c, r
    return best


# ---------------------------------------------------------------------------- scoring
def ordered_subgoals_met(flags: np.ndarray) -> int:
    """Number of ordered subgoals met: ``flags`` (T, S) bool per step and subgoal; subgoal
    k counts at step t only if subgoal k-1 was met at a step <= t."""
    flags = np.asarray(flags, dtype=bool)
    if flags.ndim != 2:
        raise ValueError(f"subgoal flags of shape {flags.shape}; rule: (T, S) bool")
    met = 0
    for row in flags:
        while met < flags.shape[1] and row[met]:
            met += 1
    return met


def score_trial(goal_flags: np.ndarray, goal_reached: bool, factor: str = "", instructed: str = "",
                measured: str = "") -> TrialScore:
    """Score a trial from its goal-level subgoal flags (T, S), whether the task's success
    predicate held, and (for factor tasks) the instructed and measured factor values. The
    factor adds one last subgoal, met when the goal is reached with the instructed value."""
    goal_flags = np.asarray(goal_flags, dtype=bool)
    met = ordered_subgoals_met(goal_flags) if len(goal_flags) else 0
    total = goal_flags.shape[1] if goal_flags.ndim == 2 else 0
    compliant = (not factor) or (measured == instructed)
    if factor:
        total += 1
        if met == total - 1 and goal_reached and compliant:
            met += 1
    return TrialScore(score_0_100=100.0 * met / max(total, 1), subgoals_met=met, subgoals_total=total,
                      goal_reached=bool(goal_reached), factor=factor, instructed=instructed, measured=measured,
                      factor_compliant=bool(compliant), violation=bool(goal_reached and not compliant))
