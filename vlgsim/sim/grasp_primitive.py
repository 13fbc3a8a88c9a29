"""A 4-DoF top-down grasp primitive for the Panda, driven at controller level.

The primitive drives ManiSkill's absolute end-effector controller (``pd_ee_pose``) and
steps the physics scene directly (no ``env.step`` per tick, which is mostly Python
overhead). Phases: open + move above the grasp, descend, close, lift, hold. It is
batched: every sub-scene executes its own grasp at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np
import torch
from scipy.spatial.transform import Rotation

PRE_GRASP_HEIGHT_M = 0.10
LIFT_HEIGHT_M = 0.10
HOLD_S = 1.0
LIFT_SUCCESS_M = 0.03
BLOCKED_TOL_M = 0.015
"""TCP further than this from the grasp target after descending = the arm was blocked."""
GRIPPER_Q_RANGE = (-0.01, 0.04)
"""Panda gripper controller range per finger, metres (normalised action -1..1)."""


@dataclass
class GraspPlan:
    """Per sub-scene: TCP grasp position (world, metres), jaw axis angle about z (rad), opening (m)."""

    tcp_xyz: np.ndarray  # (B, 3)
    axis_angle_rad: np.ndarray  # (B,)
    opening_m: np.ndarray  # (B,)


@dataclass(frozen=True)
class Segment:
    """One straight TCP move of the primitive, ``seconds`` long, gripper open or closed."""

    phase: str
    start: np.ndarray
    end: np.ndarray
    seconds: float
    closed: bool


def primitive_segments(start: np.ndarray, target: np.ndarray) -> list[Segment]:
    """The primitive's TCP path (world or base frame, metres; arrays (3,) or (B, 3)): go up
    if needed, over, 10 cm above the grasp, descend, close, lift 10 cm, hold."""
    above = target + np.array([0, 0, PRE_GRASP_HEIGHT_M])
    lifted = target + np.array([0, 0, LIFT_HEIGHT_M])
    high = np.maximum(start, above)  # go up first if needed, then over, then down
    high[..., :2] = start[..., :2]
    return [Segment("approach", start, high, 0.3, False), Segment("approach", high, above, 0.9, False),
            Segment("approach", above, above, 0.3, False), Segment("descend", above, target, 0.8, False),
            Segment("descend", target, target, 0.2, False), Segment("close", target, target, 0.6, True),
            Segment("lift", target, lifted, 1.0, True), Segment("hold", lifted, lifted, HOLD_S, True)]


def step_controller(env, action) -> None:
    """Apply one controller action and run the physics for one control tick."""
    env.agent.set_action(torch.as_tensor(np.asarray(action, dtype=np.float32), device=env.device))
    if env.gpu_sim_enabled:  # GPU PhysX reads drive targets only once they are applied (as env.step does)
        env.scene.px.gpu_apply_articulation_target_position()
    for _ in range(env._sim_steps_per_control):
        env.agent.before_simulation_step()
        env.scene.step()
    if env.gpu_sim_enabled:
        env.scene._gpu_fetch_all()


@dataclass
class GraspTrace:
    """What happened: per sub-scene and per object slot, heights over the episode."""

    blocked: np.ndarray  # (B,) bool
    max_rise_m: np.ndarray  # (B, K) highest rise above the start during lift + hold
    min_rise_hold_m: np.ndarray  # (B, K) lowest rise during the hold phase
    final_rise_m: np.ndarray  # (B, K)
    frames: list = field(default_factory=list)


def tcp_euler_xyz(axis_angle_rad: np.ndarray) -> np.ndarray:
    """Intrinsic XYZ Euler angles (root frame) of a downward TCP whose jaws close along
    the horizontal direction ``axis_angle_rad``. The Panda's jaws move along the TCP's y
    axis; the wrist yaw is folded to [-pi/2, pi/2) to stay far from joint limits."""
    yaw = (np.asarray(axis_angle_rad) + np.pi / 2 + np.pi / 2) % np.pi - np.pi / 2
    R = Rotation.from_euler("z", np.reshape(yaw, (-1, 1))) * Rotation.from_euler("x", np.pi)
    return R.as_euler("XYZ")


def gripper_action(opening_m: np.ndarray) -> np.ndarray:
    """Normalised gripper action for a total jaw opening (metres)."""
    lo, hi = GRIPPER_Q_RANGE
    q = np.clip(np.asarray(opening_m) / 2, lo, hi)
    return 2 * (q - lo) / (hi - lo) - 1


def execute_topdown_grasp(env, plan: GraspPlan, objects, on_frame: Optional[Callable[[], None]] = None,
                          frame_every: int = 3) -> GraspTrace:
    """Run the primitive in ``env`` (a ManiSkill BaseEnv whose agent is in ``pd_ee_pose``).

    ``objects``: list of K merged actors whose heights are tracked. ``on_frame`` is called
    every ``frame_every`` control ticks (e.g. to record a video frame)."""
    agent = env.agent
    base = agent.robot.pose.p.cpu().numpy()  # (B, 3)
    B = len(base)
    euler = tcp_euler_xyz(plan.axis_angle_rad)
    start = agent.tcp.pose.p.cpu().numpy()
    target = plan.tcp_xyz
    open_a = gripper_action(plan.opening_m)
    close_a = np.full(B, -1.0)
    f = env.control_freq

    def seg(p0, p1, seconds, grip):
        n = max(1, int(round(seconds * f)))
        return [(p0 + (p1 - p0) * (i + 1) / n, grip) for i in range(n)]

    phases: dict[str, list] = {}
    for sg in primitive_segments(start, target):
        phases.setdefault(sg.phase, []).extend(seg(sg.start, sg.end, sg.seconds, close_a if sg.closed else open_a))
    z0 = torch.stack([o.pose.p[:, 2] for o in objects], 1).cpu().numpy()
    K = len(objects)
    max_rise = np.full((B, K), -np.inf)
    min_hold = np.full((B, K), np.inf)
    blocked = np.zeros(B, dtype=bool)
    frames = []
    tick = 0
    for name, ticks in phases.items():
        for pos, grip in ticks:
            step_controller(env, np.concatenate([pos - base, euler, grip[:, None]], axis=1))
            tick += 1
            if on_frame is not None and tick % frame_every == 0:
                frames.append(on_frame())
            if name in ("lift", "hold"):
                rise = torch.stack([o.pose.p[:, 2] for o in objects], 1).cpu().numpy() - z0
                max_rise = np.maximum(max_rise, rise)
                if name == "hold":
                    min_hold = np.minimum(min_hold, rise)
        if name == "descend":
            err = np.linalg.norm(agent.tcp.pose.p.cpu().numpy() - target, axis=1)
            blocked = err > BLOCKED_TOL_M
    final = torch.stack([o.pose.p[:, 2] for o in objects], 1).cpu().numpy() - z0
    return GraspTrace(blocked=blocked, max_rise_m=max_rise, min_rise_hold_m=min_hold, final_rise_m=final, frames=frames)


def classify_outcome(trace: GraspTrace, target_slot: np.ndarray, n_objects: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Success (target held >= 3 cm for the whole hold, no other object lifted) and the
    failure mode per sub-scene: none, wrong_object, dropped, collision, missed."""
    B = len(target_slot)
    success = np.zeros(B, dtype=bool)
    modes = []
    for i in range(B):
        t = target_slot[i]
        others = [k for k in range(n_objects[i]) if k != t]
        held = trace.min_rise_hold_m[i, t] >= LIFT_SUCCESS_M
        other_lifted = any(trace.final_rise_m[i, k] >= LIFT_SUCCESS_M for k in others)
        success[i] = held and not other_lifted
        if success[i]:
            modes.append("none")
        elif other_lifted:
            modes.append("wrong_object")
        elif trace.max_rise_m[i, t] >= LIFT_SUCCESS_M:
            modes.append("dropped")
        elif trace.blocked[i]:
            modes.append("collision")
        else:
            modes.append("missed")
    return success, modes
