"""Collect a hand-eye calibration on a robot: a safe preset of poses, driven through the
safety layer, one camera image per pose.

Frames: the robot base frame (x forward, z up, metres; the RealVLG table top is z = 0).
Robot poses are the measured TCP pose (``RobotState.ee_pose``) at each view, so the
calibration is of the camera against the TCP (``gripper2base``).

The preset (:func:`preset_tcp_poses`) puts the TCP on a cap of radius ``PRESET_DISTANCE_M``
around a point on the table (``PRESET_LOOK_AT_BASE``), pointing at it: azimuths spread by the
golden angle, tilts 15-30 deg off vertical, rolls +-(20-60) deg about the TCP axis (Tsai's
rule: large relative rotations about many axes). Every pose is solved by IK inside the
safety layer's joint limits; the robot moves there along a straight, eased TCP path in small
steps (``MAX_TCP_STEP_M``, ``MAX_TCP_TURN_RAD`` per command at ``CONTROL_HZ``) sent through
:class:`~vlgsim.real2sim.safety.SafeRobot`, rests ``SETTLE_S``, then the pose is read and an
image grabbed. Dry run (``execute=False``, the default) checks every command of the whole
plan against the limits and moves nothing; a rejected command stops the collection with the
safety rule named.

:class:`SimBoardCamera` is a camera for rehearsals (SAPIEN stand-in or franky-sim): it renders
the chessboard with SAPIEN from the robot's *measured* pose, eye-in-hand (camera on the TCP,
board on the table) or eye-to-hand (board on the TCP, camera fixed above the table).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np
from scipy.spatial.transform import Rotation

from vlgsim.real2sim.calibration import SETUPS, CalibrationError, Chessboard, _rt
from vlgsim.real2sim.franka_kinematics import IKError, ik, pose7_to_matrix
from vlgsim.real2sim.robot import JointCommand
from vlgsim.real2sim.safety import SafeRobot

PRESET_LOOK_AT_BASE = (0.45, 0.0, 0.0)
"""Point on the table (base frame, m) the preset's TCP points at: where the board lies
(eye-in-hand) or below which the board is held (eye-to-hand)."""
PRESET_DISTANCE_M = 0.40
DOWN_TCP = np.diag([1.0, -1.0, -1.0])
"""The TCP pointing straight down, its x forward (Franka's home orientation)."""
CONTROL_HZ = 15.0
MAX_TCP_STEP_M = 0.02
MAX_TCP_TURN_RAD = 0.06
"""Largest TCP move per command: 30 cm/s and 0.9 rad/s at 15 Hz, inside the safety layer's
caps (7.5 cm and 0.15 rad per command)."""
SETTLE_S = 0.5
SETTLE_TOL_RAD = 0.003

# Rehearsal truths (what a calibration must recover), base frame, metres.
def _wrist_camera() -> np.ndarray:
    from vlgsim.scenes.camera import look_at

    return look_at([0.05, -0.03, -0.06], [0.0, 0.0, PRESET_DISTANCE_M], up=(0.0, 1.0, 0.0))


SIM_CAM2TCP = _wrist_camera()
"""Eye-in-hand: a wrist camera 5-6 cm beside and 6 cm behind the TCP, aimed at the point of the
TCP's axis ``PRESET_DISTANCE_M`` ahead (where the preset puts the board)."""
SIM_BOARD2TCP = _rt(Rotation.from_euler("xyz", [180, 0, 90], degrees=True).as_matrix(), [-0.11, -0.07, 0.05])
"""Eye-to-hand: the board's corner 0 held 5 cm beyond the TCP, its face toward -z of the TCP."""


def _fixed_camera() -> np.ndarray:
    from vlgsim.scenes.camera import look_at

    target = np.asarray(PRESET_LOOK_AT_BASE) + [0.0, 0.0, 0.35]
    return look_at(target + [0.15, 0.0, 0.75], target, up=(1.0, 0.0, 0.0))


SIM_FIXED_CAM2BASE = _fixed_camera()
"""Eye-to-hand: a camera 75 cm above the held board's region, looking down."""


def preset_tcp_poses(n_views: int = 12, look_at=PRESET_LOOK_AT_BASE, distance_m: float = PRESET_DISTANCE_M) -> list[np.ndarray]:
    """``n_views`` TCP poses (4x4, base frame) of the preset (see the module doc). Deterministic."""
    if not 3 <= n_views <= 64:
        raise CalibrationError(f"{n_views} preset views; rule: 3 <= views <= 64")
    c = np.asarray(look_at, dtype=np.float64)
    out = []
    for k in range(n_views):
        az = np.radians(137.5 * k)
        tilt = np.radians(15 + 15 * ((0.618 * k) % 1.0))
        d = np.array([np.sin(tilt) * np.cos(az), np.sin(tilt) * np.sin(az), np.cos(tilt)])
        # the straight-down TCP (x forward, as Franka's home pose), tilted so that its z points
        # at the look-at point, then rolled about that axis
        tilt_R = Rotation.from_rotvec(np.cross([0.0, 0.0, -1.0], -d) / np.sin(tilt) * tilt).as_matrix() if tilt > 0 else np.eye(3)
        roll = (-1) ** k * (20 + 40 * ((0.382 * k) % 1.0))
        R = tilt_R @ DOWN_TCP @ Rotation.from_euler("z", roll, degrees=True).as_matrix()
        out.append(_rt(R, c + distance_m * d))
    return out


def _ease(s: float) -> float:
    return 0.5 - 0.5 * np.cos(np.pi * s)


def _tcp_path(q: np.ndarray, T_to: np.ndarray, lower, upper, step_m: float, step_rad: float) -> list[np.ndarray]:
    """Joint waypoints moving the TCP from ``fk(q)`` to ``T_to`` along a straight, eased
    Cartesian path (position lerp, rotation slerp), each solved by IK seeded with the last."""
    from scipy.spatial.transform import Slerp

    from vlgsim.real2sim.franka_kinematics import fk

    T_from = fk(q)
    turn = Slerp([0.0, 1.0], Rotation.from_matrix(np.stack([T_from[:3, :3], T_to[:3, :3]])))
    angle = np.linalg.norm((Rotation.from_matrix(T_to[:3, :3]) * Rotation.from_matrix(T_from[:3, :3]).inv()).as_rotvec())
    dist = np.linalg.norm(T_to[:3, 3] - T_from[:3, 3])
    n = max(2, int(np.ceil(1.6 * max(dist / step_m, angle / step_rad))))  # the eased profile peaks at 1.57x
    out = []
    for j in range(n):
        s = _ease((j + 1) / n)
        T = _rt(turn(s).as_matrix(), T_from[:3, 3] + s * (T_to[:3, 3] - T_from[:3, 3]))
        last = j + 1 == n  # the path between poses need not be exact, the poses themselves are
        q = ik(T, q, lower, upper, pos_tol_m=1e-4 if last else 1e-3, rot_tol_rad=1e-3 if last else 1e-2)
        out.append(q.copy())
    return out


def plan_preset(q_start, poses: list[np.ndarray], lower=None, upper=None, control_hz: float = CONTROL_HZ,
                look_at=PRESET_LOOK_AT_BASE, distance_m: float = PRESET_DISTANCE_M,
                step_m: float = MAX_TCP_STEP_M, step_rad: float = MAX_TCP_TURN_RAD) -> list[list[JointCommand]]:
    """Per pose, the joint commands that reach it: from the previous pose back to the home pose
    (TCP straight down, ``distance_m`` above ``look_at``), then out to the pose, both along
    straight eased TCP paths (at most ``step_m`` / ``step_rad`` per command). Going through
    home keeps the arm's elbow from drifting toward a joint limit over many poses."""
    dt = 1.0 / control_hz
    home = _rt(DOWN_TCP, np.asarray(look_at, dtype=np.float64) + [0.0, 0.0, distance_m])
    try:
        back = _tcp_path(np.asarray(q_start, dtype=np.float64).reshape(7), home, lower, upper, step_m, step_rad)
    except IKError as e:
        raise CalibrationError(f"preset home pose ({home[:3, 3].round(3).tolist()} m): {e}") from e
    q_home = back[-1]
    moves = []
    for i, T in enumerate(poses):
        try:
            out = _tcp_path(q_home, T, lower, upper, step_m, step_rad)
        except IKError as e:
            raise CalibrationError(f"preset pose {i} ({T[:3, 3].round(3).tolist()} m): {e}") from e
        moves.append([JointCommand(q, dt) for q in back + out])
        back = out[::-1][1:] + [q_home]
    return moves


@dataclass
class CollectedViews:
    """What a collection gathered: per view the measured TCP pose and the image."""

    gripper2base: list = field(default_factory=list)
    images: list = field(default_factory=list)
    joint_positions: list = field(default_factory=list)
    commands_checked: int = 0
    executed: bool = False


def _settle(safe: SafeRobot, q_target: np.ndarray, timeout_s: float) -> None:
    wait = getattr(safe.robot, "wait", None)
    for _ in range(3 if wait is not None else 0):
        try:  # franky: joining a streamed motion may first report the preempted one before it
            wait(timeout_s)
            break
        except Exception:  # noqa: BLE001 - libfranka's "Move command preempted" of the previous target
            continue
    t_end = time.monotonic() + timeout_s
    while time.monotonic() < t_end:
        if np.abs(safe.observe().joint_positions[:7] - q_target).max() < SETTLE_TOL_RAD:
            break
        time.sleep(0.05)
    time.sleep(SETTLE_S)


def collect_views(safe: SafeRobot, grab: Callable[[], np.ndarray], n_views: int = 12,
                  poses: Optional[list[np.ndarray]] = None, settle_timeout_s: float = 10.0,
                  on_view: Optional[Callable[[int, np.ndarray], None]] = None) -> CollectedViews:
    """Drive the preset through ``safe`` and grab one image (``grab()`` -> (H, W, 3) uint8) per
    pose. Dry run (``safe.execute`` False): every command is checked, nothing moves, no images."""
    poses = poses if poses is not None else preset_tcp_poses(n_views)
    L = safe.limits
    q0 = np.asarray(safe.observe().joint_positions, dtype=np.float64)[:7]
    moves = plan_preset(q0, poses, L.safe_lower, L.safe_upper)
    out = CollectedViews(executed=safe.execute)
    paced = safe.execute and getattr(safe.robot, "paced", True)
    for i, move in enumerate(moves):
        for cmd in move:
            t0 = time.monotonic()
            res = safe.command(cmd)
            out.commands_checked += 1
            if res.rejected:
                ev = res.events[-1]
                raise CalibrationError(f"preset pose {i}: the safety layer rejected a command ({ev.rule}: {ev.message}); "
                                       "rule: every preset command must pass the safety limits")
            if paced:
                time.sleep(max(0.0, t0 + cmd.duration_s - time.monotonic()))
        if not safe.execute:
            continue
        _settle(safe, move[-1].positions, settle_timeout_s)
        state = safe.observe()
        if state.ee_pose is None:
            raise CalibrationError(f"{safe.robot.name} reports no TCP pose; rule: ee_pose [x, y, z, qw, qx, qy, qz]")
        T = pose7_to_matrix(np.asarray(state.ee_pose, dtype=np.float64))
        out.gripper2base.append(T)
        out.joint_positions.append(np.asarray(state.joint_positions, dtype=np.float64)[:7].copy())
        out.images.append(np.asarray(grab()))
        if on_view is not None:
            on_view(i, T)
    safe.stop(reason="calibration_end")
    return out


class SimBoardCamera:
    """A rehearsal camera: the chessboard rendered in SAPIEN from the robot's measured TCP pose
    (``observe()`` -> RobotState). ``setup`` eye_in_hand: camera at TCP @ ``SIM_CAM2TCP``, board
    flat on the table centred under the preset's look-at point; eye_to_hand: board at TCP @
    ``SIM_BOARD2TCP``, camera fixed at ``SIM_FIXED_CAM2BASE``. ``X_true`` is what a calibration
    must recover (cam2gripper, or cam2base)."""

    name = "sim-board"

    def __init__(self, setup: str, observe: Callable, board: Chessboard = Chessboard(), width: int = 640,
                 height: int = 480):
        from vlgsim.scenes.camera import CameraSpec
        from vlgsim.sim.board_render import BoardRenderer

        if setup not in SETUPS:
            raise CalibrationError(f"setup {setup!r}; rule: one of {SETUPS}")
        self.setup, self.observe, self.board = setup, observe, board
        self.intrinsic = CameraSpec.d435(width, height).intrinsic
        self.renderer = BoardRenderer(board, width, height, self.intrinsic)
        centre = board.center()
        self.board2base = _rt(np.eye(3), np.asarray(PRESET_LOOK_AT_BASE) + [0, 0, 0.001] - centre)
        self.X_true = SIM_CAM2TCP.copy() if setup == "eye_in_hand" else SIM_FIXED_CAM2BASE.copy()

    def grab(self) -> np.ndarray:
        T = pose7_to_matrix(np.asarray(self.observe().ee_pose, dtype=np.float64))
        if self.setup == "eye_in_hand":
            return self.renderer.render(self.board2base, T @ SIM_CAM2TCP)
        return self.renderer.render(T @ SIM_BOARD2TCP, SIM_FIXED_CAM2BASE)

    def close(self) -> None:
        pass


__all__ = ["CollectedViews", "SimBoardCamera", "collect_views", "plan_preset", "preset_tcp_poses"]
