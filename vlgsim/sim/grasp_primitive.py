"""A 4-DoF top-down grasp primitive for the Panda, driven at controller level.

The primitive drives ManiSkill's absolute end-effector controller (``pd_ee_pose``) and
steps the physics scene directly (no ``env.step`` per tick, which is mostly Python
overhead). Phases: open + move above the grasp, descend, close, lift, hold. It is
batched: every sub-scene executes its own grasp at once.

``direct=True`` (CPU backend, one sub-scene) sets the controllers' joint targets with the
numbers ManiSkill's ``set_action`` computes, bit for bit, without its per-call pose algebra
(two end-effector-in-base poses and a target rotation per tick that absolute targets on the
CPU backend discard or repeat), and reads object heights from the entities.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np
import sapien
import torch
from mani_skill.utils.geometry.rotation_conversions import euler_angles_to_matrix, matrix_to_quaternion
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
    step_physics(env)


def step_physics(env) -> None:
    """Run the physics for one control tick with the drive targets already set."""
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


class DirectPoseControl:
    """Absolute TCP pose + gripper targets for a Panda in ``pd_ee_pose`` on the CPU backend
    (one sub-scene), with the numbers of ManiSkill's ``PDEEPoseController.set_action`` and
    its mimic gripper controller: float32 target quaternion from XYZ Euler angles, SAPIEN's
    pinocchio IK from the current joints (100 iterations), the current joints when IK
    fails, float32 drive targets set joint by joint in the same order. Skipped: the two
    end-effector-in-base poses per call that absolute CPU targets discard, the target
    rotation recomputed every tick, and tensor round trips."""

    def __init__(self, agent, euler_xyz: np.ndarray):
        self.arm, self.gripper = agent.controller.controllers["arm"], agent.controller.controllers["gripper"]
        cfg = self.arm.config
        if (agent.scene.gpu_sim_enabled or agent.scene.num_envs != 1 or cfg.use_delta or cfg.use_target
                or cfg.interpolate or cfg.normalize_action or self.gripper.config.interpolate
                or getattr(self.arm, "kinematics", None) is None or self.arm.kinematics.use_gpu_ik):
            raise ValueError("DirectPoseControl needs ManiSkill's absolute pd_ee_pose arm controller, one CPU env")
        kin = self.arm.kinematics
        self._ik, self._link, self._qmask = kin.pmodel.compute_inverse_kinematics, kin.end_link_idx, kin.qmask
        self._ik_joints = kin.pmodel_active_joint_indices.cpu().numpy()
        self._ik_controlled = kin.pmodel_controlled_joint_indices.cpu().numpy()
        self._robot = self.arm.articulation._objs[0]
        self._arm_joints = [j._objs[0] for j in self.arm.joints]
        self._arm_q = self.arm.active_joint_indices.cpu().numpy()
        self._gripper_joints = [j._objs[0] for j in self.gripper.joints]
        self._gripper_targets: dict[float, np.ndarray] = {}
        rot = torch.as_tensor(np.asarray(euler_xyz).astype(np.float32))
        self._quat = matrix_to_quaternion(euler_angles_to_matrix(rot, "XYZ")).numpy()[0]  # constant over the grasp
        self.last_arm_target = None
        self._px = agent.scene.px
        self._arm_steps = self._gripper_steps = 0  # steps since the controllers' last set_action

    def step_physics(self, sim_steps: int) -> None:
        """``sim_steps`` PhysX steps with the targets set: what ``step_physics`` does, without
        the controllers' per-step hook, which without interpolation only counts steps (the
        count is added in :meth:`finish`)."""
        for _ in range(sim_steps):
            self._px.step()
        self._arm_steps += sim_steps
        self._gripper_steps += sim_steps

    def set_targets(self, pos_in_base: np.ndarray, gripper: np.ndarray) -> None:
        """``pos_in_base`` (1, 3) TCP position in the robot base frame, metres; ``gripper``
        (1,) normalised gripper action."""
        qpos = self._robot.qpos
        result, success, _ = self._ik(self._link, sapien.Pose(pos_in_base[0].astype(np.float32), self._quat),
                                      initial_qpos=qpos[self._ik_joints], active_qmask=self._qmask, max_iterations=100)
        target = result[self._ik_controlled].astype(np.float32) if success else qpos[self._arm_q]
        for i, joint in enumerate(self._arm_joints):
            joint.drive_target = target[i:i + 1]
        self.last_arm_target = target
        g = float(np.float32(gripper[0]))
        if g not in self._gripper_targets:  # ManiSkill's own clip, scale and mimic, once per value
            self.gripper.set_action(torch.as_tensor(np.float32(gripper)[:, None]))
            self._gripper_steps = 0  # set_action restarted its step count
            self._gripper_targets[g] = self.gripper._target_qpos[0].cpu().numpy().astype(np.float32)
        else:
            t = self._gripper_targets[g]
            for i, joint in enumerate(self._gripper_joints):
                joint.drive_target = t[i:i + 1]

    def finish(self) -> None:
        """Leave the arm controller's state as its own ``set_action`` would have."""
        if self.last_arm_target is not None:
            self.arm._target_qpos = torch.from_numpy(self.last_arm_target[None].copy())
        self.arm._step += self._arm_steps  # as before_simulation_step would have counted
        self.gripper._step += self._gripper_steps
        self._arm_steps = self._gripper_steps = 0


def execute_topdown_grasp(env, plan: GraspPlan, objects, on_frame: Optional[Callable[[], None]] = None,
                          frame_every: int = 3, direct: bool = False) -> GraspTrace:
    """Run the primitive in ``env`` (a ManiSkill BaseEnv whose agent is in ``pd_ee_pose``).

    ``objects``: list of K merged actors whose heights are tracked. ``on_frame`` is called
    every ``frame_every`` control ticks (e.g. to record a video frame). ``direct``: drive
    the controllers through :class:`DirectPoseControl` (CPU backend, one sub-scene; same
    targets, same physics, less Python)."""
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
    if direct:
        control = DirectPoseControl(agent, euler)
        entities = [o._objs[0] for o in objects]

        def heights():  # float32, as the actors' pose tensors hold them
            return np.array([[e.pose.p[2] for e in entities]], dtype=np.float32)
    else:
        def heights():
            return torch.stack([o.pose.p[:, 2] for o in objects], 1).cpu().numpy()
    z0 = heights()
    K = len(objects)
    max_rise = np.full((B, K), -np.inf)
    min_hold = np.full((B, K), np.inf)
    blocked = np.zeros(B, dtype=bool)
    frames = []
    tick = 0
    for name, ticks in phases.items():
        for pos, grip in ticks:
            if direct:
                control.set_targets(pos - base, grip)
                control.step_physics(env._sim_steps_per_control)
            else:
                step_controller(env, np.concatenate([pos - base, euler, grip[:, None]], axis=1))
            tick += 1
            if on_frame is not None and tick % frame_every == 0:
                frames.append(on_frame())
            if name in ("lift", "hold"):
                rise = heights() - z0
                max_rise = np.maximum(max_rise, rise)
                if name == "hold":
                    min_hold = np.minimum(min_hold, rise)
        if name == "descend":
            err = np.linalg.norm(agent.tcp.pose.p.cpu().numpy() - target, axis=1)
            blocked = err > BLOCKED_TOL_M
    final = heights() - z0
    if direct:
        control.finish()
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
