"""Reading and driving the Panda of a tabletop env at joint level, for the sim stand-in robot
(:mod:`vlgsim.real2sim.sim_robot`). One sub-scene (index 0); world frame, metres."""

from __future__ import annotations

import numpy as np

from vlgsim.sim.grasp_primitive import GRIPPER_Q_RANGE, gripper_action, step_controller


def panda_state(env) -> dict:
    """qpos (9: 7 arm + 2 fingers), qvel (9), TCP pose ``[x, y, z, qw, qx, qy, qz]`` and base
    position (world), gripper opening (m)."""
    robot = env.agent.robot
    qpos = robot.get_qpos()[0].cpu().numpy().astype(np.float64)
    return dict(qpos=qpos, qvel=robot.get_qvel()[0].cpu().numpy().astype(np.float64),
                tcp_pose=env.agent.tcp.pose.raw_pose[0].cpu().numpy().astype(np.float64),
                base=robot.pose.p[0].cpu().numpy().astype(np.float64), opening_m=float(qpos[7] + qpos[8]))


def drive_joints(env, q_from: np.ndarray, q_to: np.ndarray, opening_m: float, seconds: float, squeeze: bool = False) -> int:
    """Move the arm's joint targets linearly from ``q_from`` to ``q_to`` (rad) over ``seconds``
    of simulated time (``pd_joint_pos``), gripper target ``opening_m``, or fully closed with the
    controller's force when ``squeeze`` (a grasp, as the env primitive closes); returns control ticks."""
    n = max(1, int(round(seconds * env.control_freq)))
    g = -1.0 if squeeze else float(gripper_action(np.array([opening_m]))[0])
    for i in range(n):
        q = q_from + (q_to - q_from) * (i + 1) / n
        step_controller(env, np.r_[q, g][None])
    return n


def object_heights(env) -> np.ndarray:
    """z (m) of every object slot of sub-scene 0, read from the physics (not the env's pose
    cache, which only env.step refreshes)."""
    return np.array([float(s.pose.p[0, 2]) for s in env.object_slots])


GRIPPER_OPENING_RANGE_M = (2 * GRIPPER_Q_RANGE[0], 2 * GRIPPER_Q_RANGE[1])
