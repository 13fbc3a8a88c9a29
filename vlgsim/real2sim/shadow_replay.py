"""Replay a DexVLG 31-D grasp on a Shadow Hand through the Robot protocol, in ROS joint names.

A world-frame grasp ``[xyz, rot6d, q22]`` becomes palm poses (``CartesianCommand``, the arm's
part) and 24-D ROS joint targets (``JointCommand``, the hand's part), phase by phase:

1. ``pre-shape``: fingers to the grasp's joint shape, except that every finger whose distal
   phalanx would pass within ``slide_clearance_m`` of the object on the approach (it would
   slide along the surface, dragging the object with friction 3, and end caught on an edge)
   is opened: flexion J0-J2 to 0 (thumb: THJ0, THJ1 and THJ3, which swings it off the palm), 0.3 s.
2. ``above``: palm to the stand-off pose raised by ``clearance_m``, 1.0 s.
3. ``approach``: down to the stand-off (``standoff_m`` back from the grasp, against the palm
   normal), 0.5 s; ``reach``: on to the grasp pose, 1.0 s.
4. ``close``: fingers (the opened ones back through the grasp shape) to the surface: validation's
   closing targets without the squeeze, 0.25 s.
5. ``squeeze``: DexGraspNet's 1 mm squeeze step (the targets the env and validation use), 0.1 s.
6. ``lift``: palm up ``lift_m`` (the env's 4 cm), 0.5 s; ``hold``: 1 s.

The finger targets are the env's (:func:`vlgsim.grasp.dex_validate.closing_targets`); the opened
fingers are :mod:`vlgsim.grasp.approach`'s, which the env's approach uses too (the env starts at
the stand-off instead of above it, and checks the swept hand for collisions).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import trimesh
from scipy.spatial.transform import Rotation, Slerp

from vlgsim.assets.shadow_hand import FINGERS, JOINT_NAMES, HandModel
from vlgsim.envs.dexvlg_part_grasp import LIFT_M
from vlgsim.grasp.approach import OPENING_JOINTS, open_fingers, sliding_fingers  # noqa: F401 - re-exported
from vlgsim.grasp.dex_validate import closing_targets
from vlgsim.grasp.dexterous import check_grasp, distal_contacts, rot6d_to_matrix, transform_grasp
from vlgsim.real2sim.robot import CartesianCommand, JointCommand, Robot, RobotState
from vlgsim.real2sim.safety import SafetyLimits
from vlgsim.real2sim.shadow_joints import model_to_ros
from vlgsim.real2sim.shadow_ros import JointTrajectoryPlan, joint_trajectory_plan



@dataclass(frozen=True)
class ReplayStep:
    phase: str
    command: JointCommand | CartesianCommand


@dataclass(frozen=True)
class DexGraspReplay:
    steps: tuple[ReplayStep, ...]

    def hand_trajectory(self) -> JointTrajectoryPlan:
        """The hand's part as one ROS trajectory: each JointCommand is a waypoint, reached after
        every step before it (palm moves included) has had its duration."""
        t, pts, dts = 0.0, [], []
        for s in self.steps:
            t += s.command.duration_s
            if isinstance(s.command, JointCommand):
                pts.append(s.command.positions)
                dts.append(t - sum(dts))
        return joint_trajectory_plan(np.array(pts), dts)


def _pose(pos: np.ndarray, R: np.ndarray) -> np.ndarray:
    x, y, z, w = Rotation.from_matrix(R).as_quat()
    return np.r_[pos, w, x, y, z]


def plan_dex_grasp_replay(hand: HandModel, grasp_world, object_pose: np.ndarray, mesh: trimesh.Trimesh,
                          standoff_m: float = 0.05, clearance_m: float = 0.15, slide_clearance_m: float = 0.004,
                          lift_m: float = LIFT_M, lift_s: float = 0.5) -> DexGraspReplay:
    """The replay of one world-frame grasp of an object at ``object_pose`` (4x4, world) whose
    collision ``mesh`` is given in the object frame (``env.unwrapped.field.mesh``)."""
    g = check_grasp(grasp_world, "grasp")
    g_obj = transform_grasp(g, np.linalg.inv(object_pose))
    R = rot6d_to_matrix(g[3:9])
    back = -standoff_m * (R @ hand.palm_normal)
    q_open = open_fingers(g[9:], sliding_fingers(hand, g_obj, mesh, standoff_m, slide_clearance_m))
    q_close = closing_targets(hand, g_obj, mesh, squeeze=False)
    q_squeeze = closing_targets(hand, g_obj, mesh, squeeze=True)
    up = np.array([0.0, 0.0, 1.0])
    steps = [
        ReplayStep("pre-shape", JointCommand(model_to_ros(q_open), 0.3)),
        ReplayStep("above", CartesianCommand(_pose(g[:3] + back + clearance_m * up, R), 1.0)),
        ReplayStep("approach", CartesianCommand(_pose(g[:3] + back, R), 0.5)),
        ReplayStep("reach", CartesianCommand(_pose(g[:3], R), 1.0)),
        ReplayStep("close", JointCommand(model_to_ros(q_close), 0.25)),
        ReplayStep("squeeze", JointCommand(model_to_ros(q_squeeze), 0.1)),
        ReplayStep("lift", CartesianCommand(_pose(g[:3] + lift_m * up, R), lift_s)),
        ReplayStep("hold", JointCommand(model_to_ros(q_squeeze), 1.0)),
    ]
    return DexGraspReplay(tuple(steps))


CAP_FRACTION = 0.9
"""Pieces streamed under ``limits`` use at most this fraction of every step, speed and
acceleration cap, so that the safety layer has nothing to shorten."""


def split_joint_command(cmd: JointCommand, q_from: np.ndarray, limits: SafetyLimits) -> list[JointCommand]:
    """``cmd`` as equal pieces from ``q_from`` (rad), each inside ``CAP_FRACTION`` of the joint
    step, velocity and (from rest) acceleration caps; pieces last at least ``duration_s / n``."""
    d = np.asarray(cmd.positions, dtype=np.float64) - q_from
    f = CAP_FRACTION
    n = max(1, int(np.ceil(np.max(np.abs(d)) / (f * limits.joint_step_max_rad))))
    piece = np.abs(d) / n
    dt = max(cmd.duration_s / n, float(np.max(piece / (f * limits.joint_velocity_max))),
             float(np.sqrt(np.max(piece / (f * limits.joint_acceleration_max)))))
    return [JointCommand(q_from + d * (k / n), dt) for k in range(1, n + 1)]


def split_palm_command(cmd: CartesianCommand, pose_from: np.ndarray, limits: SafetyLimits) -> list[CartesianCommand]:
    """``cmd`` (palm pose ``[x, y, z, qw, qx, qy, qz]``, m) as pieces from ``pose_from`` along
    the line and the rotation's geodesic, each inside ``CAP_FRACTION`` of the palm step,
    rotation and speed caps of ``limits`` (a ``pose_passthrough`` config)."""
    p0, p1 = np.asarray(pose_from[:3], dtype=np.float64), np.asarray(cmd.pose[:3], dtype=np.float64)
    R0, R1 = (Rotation.from_quat(np.r_[q[1:], q[0]]) for q in (np.asarray(pose_from[3:]), np.asarray(cmd.pose[3:])))
    dist, angle = float(np.linalg.norm(p1 - p0)), float((R1 * R0.inv()).magnitude())
    f = CAP_FRACTION
    n = max(1, int(np.ceil(dist / (f * limits.ee_step_max_m))), int(np.ceil(angle / (f * limits.ee_rotation_step_max_rad))))
    dt = max(cmd.duration_s / n, dist / n / (f * (limits.ee_velocity_max_m_s or np.inf)),
             angle / n / (f * (limits.ee_angular_velocity_max_rad_s or np.inf)))
    slerp = Slerp([0.0, 1.0], Rotation.concatenate([R0, R1]))
    return [CartesianCommand(_pose(p0 + (p1 - p0) * (k / n), slerp([k / n]).as_matrix()[0]), dt) for k in range(1, n + 1)]


def replay(robot: Robot, plan: DexGraspReplay, limits: Optional[SafetyLimits] = None) -> list[tuple[str, RobotState]]:
    """Send every step to ``robot`` (in a ``with robot:`` block), observing after each. With
    ``limits`` (:func:`vlgsim.real2sim.limits.shadow.shadow_hand_on_arm_limits`, for a robot
    behind :class:`~vlgsim.real2sim.safety.SafeRobot`) each step is streamed as pieces inside
    the limits' caps (:func:`split_joint_command`, :func:`split_palm_command`), starting from
    the observed joints and palm pose; the state is still observed once per step. A command
    the safety layer rejects (it stopped the robot) ends the replay after that step."""
    out = []
    if limits is not None:
        s0 = robot.observe()
        q, pose = np.asarray(s0.joint_positions, dtype=np.float64), np.asarray(s0.ee_pose, dtype=np.float64)
    for s in plan.steps:
        if limits is None:
            robot.command(s.command)
        elif isinstance(s.command, JointCommand):
            pieces = split_joint_command(s.command, q, limits)
            q = np.asarray(s.command.positions, dtype=np.float64)
        else:
            pieces = split_palm_command(s.command, pose, limits)
            pose = np.asarray(s.command.pose, dtype=np.float64)
        rejected = False
        for c in pieces if limits is not None else ():
            if getattr(robot.command(c), "rejected", False):
                rejected = True
                break
        out.append((s.phase, robot.observe()))
        if rejected:
            break
    return out
