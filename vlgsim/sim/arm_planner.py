"""Collision-free joint trajectories for the bimanual arms with ``mplib`` (the planner
ManiSkill's and RoboTwin's experts use), on either embodiment.

mplib 0.1.1 (ManiSkill 3.0.1's pin) segfaults when it builds a planner under numpy 2 (the
main venv's), so the planners live in a worker process in a side venv with numpy 1.26
(``scripts/setup_mplib_venv.sh``, run by ``make setup``; ``$VLGSIM_MPLIB_VENV``, default
``<main venv>-mplib``) running :mod:`vlgsim.sim.mplib_worker`; this module is its client.

Each arm gets an ``mplib.Planner`` on its own URDF + SRDF (Panda: ManiSkill's ``panda_v2``;
ViperX: the pair :mod:`vlgsim.assets.viperx` writes from gym-aloha's compiled MJCF), with the
joints in SAPIEN's order. Everything is expressed in the arm's **base frame** (the planner's
base stays at the origin): goal TCP poses and the obstacle point cloud (table top and the
other bodies, sampled every ``POINT_SPACING_M``) are transformed into it before planning.

:meth:`ArmPlanner.plan` tries, in order: a straight screw motion that avoids the obstacles
(short moves), an RRT-Connect path around them, and, when the start or goal itself touches
an obstacle (closing on an object on the table, setting one down), the screw motion without
the obstacles. Trajectories are time-parameterised (TOPP-RA) at the control step. Units: m, rad.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

POINT_SPACING_M = 0.02
OBSTACLE_RADIUS_M = 0.01
"""Clearance the planner keeps around every obstacle point."""
SCREW_MAX_M = 0.15
"""Moves shorter than this try a straight screw motion first."""
VEL_LIMIT_RAD_S = 3.0
ACC_LIMIT_RAD_S2 = 8.0
RRT_TIME_S = 0.5


class PlannerUnavailable(RuntimeError):
    pass


def mplib_python() -> Path:
    """Python of the mplib side venv; a clear error with the setup command when it is missing."""
    venv = Path(os.environ.get("VLGSIM_MPLIB_VENV", sys.prefix + "-mplib"))
    py = venv / "bin" / "python"
    if not (venv / ".mplib-ready").exists() or not py.exists():
        raise PlannerUnavailable(f"mplib side venv {venv} is missing; rule: build it with "
                                 f"`bash scripts/setup_mplib_venv.sh {sys.executable} {venv}` (make setup does) "
                                 f"or point $VLGSIM_MPLIB_VENV at one")
    return py


class MplibWorker:
    """One worker process (side venv) holding the planners of both arms."""

    def __init__(self):
        worker = Path(__file__).with_name("mplib_worker.py")
        self.proc = subprocess.Popen([str(mplib_python()), str(worker)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True, bufsize=1)

    def call(self, **msg) -> dict:
        if self.proc.poll() is not None:
            raise PlannerUnavailable(f"the mplib worker exited with code {self.proc.returncode}")
        self.proc.stdin.write(json.dumps(msg) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise PlannerUnavailable(f"the mplib worker died (exit code {self.proc.poll()})")
        ans = json.loads(line)
        if not ans.get("ok"):
            raise PlannerUnavailable(f"mplib worker: {ans.get('error')}")
        return ans

    def seed(self, seed: int) -> bool:
        """Seed every random source of the planners (OMPL's RRT-Connect sampling, the IK's random
        restarts): the plans of an episode seeded alike repeat. False if OMPL's seed could not be
        set (then RRT-Connect still samples from the clock)."""
        return bool(self.call(op="seed", seed=int(seed))["ompl"])

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 (interpreter shutdown)
            pass


@dataclass
class PlanResult:
    """A joint trajectory of the arm joints (T, n_arm) at ``dt_s`` spacing, and how it was found
    (``screw``, ``rrt``, ``screw_contact`` or ``failed``: then ``positions`` is empty)."""

    positions: np.ndarray
    method: str
    dt_s: float


class ArmPlanner:
    """mplib planner of one arm whose base stands at ``base_pos`` with yaw ``base_yaw_rad``."""

    def __init__(self, worker: MplibWorker, key: str, urdf: str, srdf: str, move_group: str, link_names: list[str],
                 joint_names: list[str], n_arm: int, base_pos, base_yaw_rad: float, dt_s: float):
        self.worker, self.key = worker, key
        worker.call(op="add_arm", key=key, urdf=urdf, srdf=srdf, move_group=move_group, link_names=link_names,
                    joint_names=joint_names, n_arm=n_arm, vel=VEL_LIMIT_RAD_S, acc=ACC_LIMIT_RAD_S2)
        self.n_arm, self.dt_s = n_arm, dt_s
        c, s = np.cos(base_yaw_rad), np.sin(base_yaw_rad)
        self.R_base = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])
        self.p_base = np.asarray(base_pos, float)
        self.stats = {"screw": 0, "rrt": 0, "screw_contact": 0, "failed": 0, "rejected": 0}

    def to_base(self, pts_world: np.ndarray) -> np.ndarray:
        return (np.asarray(pts_world, float) - self.p_base) @ self.R_base

    def pose_to_base(self, pos_world, R_world: np.ndarray) -> np.ndarray:
        from scipy.spatial.transform import Rotation

        x, y, z, w = Rotation.from_matrix(self.R_base.T @ np.asarray(R_world)).as_quat()
        return np.r_[self.to_base(pos_world), w, x, y, z]

    def plan(self, qpos: np.ndarray, goal_pos_world, goal_R_world: np.ndarray, obstacles_world: np.ndarray,
             start_pos_world=None, turn_deg: float = 0.0) -> PlanResult:
        """Joint path from the full ``qpos`` (arm + fingers, SAPIEN order) to the TCP goal (world
        frame), around the obstacle points (world frame, (N, 3)). A non-zero ``turn_deg`` (degrees
        about world z, + counter-clockwise seen from above) is the turn the move stands for: a
        path that turns the gripper the other way round, or further, is refused and replanned
        (``stats["rejected"]`` counts them)."""
        short = start_pos_world is None or np.linalg.norm(np.asarray(goal_pos_world) - start_pos_world) < SCREW_MAX_M
        pts = self.to_base(obstacles_world) if len(obstacles_world) else np.zeros((0, 3))
        ans = self.worker.call(op="plan", key=self.key, qpos=np.asarray(qpos, float).tolist(),
                               goal=self.pose_to_base(goal_pos_world, goal_R_world).tolist(),
                               points=np.round(pts, 4).tolist(), radius=OBSTACLE_RADIUS_M, dt=self.dt_s,
                               screw_first=bool(short), planning_time=RRT_TIME_S, turn_deg=float(turn_deg))
        self.stats[ans["method"]] += 1
        self.stats["rejected"] += ans.get("rejected", 0)
        pos = np.asarray(ans["positions"], float).reshape(-1, self.n_arm)
        return PlanResult(pos, ans["method"], self.dt_s)


def box_surface_points(center, R: np.ndarray, half, spacing_m: float = POINT_SPACING_M) -> np.ndarray:
    """Points on the six faces of a box (world frame), about ``spacing_m`` apart."""
    half = np.asarray(half, float)
    pts = []
    for ax in range(3):
        u, v = [i for i in range(3) if i != ax]
        gu = np.linspace(-half[u], half[u], max(2, int(np.ceil(2 * half[u] / spacing_m)) + 1))
        gv = np.linspace(-half[v], half[v], max(2, int(np.ceil(2 * half[v] / spacing_m)) + 1))
        uu, vv = np.meshgrid(gu, gv)
        for sgn in (-1, 1):
            p = np.zeros((uu.size, 3))
            p[:, u], p[:, v], p[:, ax] = uu.ravel(), vv.ravel(), sgn * half[ax]
            pts.append(p)
    return np.concatenate(pts) @ np.asarray(R).T + np.asarray(center, float)
