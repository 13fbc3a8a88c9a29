"""Simulated calibration sessions: known robot poses, chessboard views rendered in SAPIEN.

The truth (``cam2base`` or ``cam2gripper``) is known, so a calibration can be checked by a
round trip. Robot poses are gripper poses in the Panda's base frame (base at
``ROBOT_BASE`` in the world, as in the RealVLG envs); the arm itself is not drawn (it
would only hide parts of the board). Eye-to-hand: the fixed camera is the RealVLG
camera (D435-like, 640x480); the board is held 5 cm beyond the flange, facing the camera
within +-25 deg. Eye-in-hand: the board lies on the table; the gripper camera looks at it
from 38-50 cm, spread around it (golden-angle azimuths), tilted 15-40 deg off vertical and
rolled +-(20-70) deg (Tsai's rule: large relative rotations about many axes; with tilts
<= 25 deg and rolls <= 40 deg seed 0 was 0.60 deg off, now all of seeds 0-4 are within 0.22 deg).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from vlgsim.real2sim.calibration import Chessboard, _inv, _rt
from vlgsim.scenes.camera import CameraSpec, look_at
from vlgsim.sim.board_render import BoardRenderer
from vlgsim.sim.maniskill_env import ROBOT_BASE

BASE2WORLD = _rt(np.eye(3), ROBOT_BASE)
BOARD2GRIPPER = _rt(Rotation.from_euler("xyz", [180, 0, 90], degrees=True).as_matrix(), [-0.11, -0.07, 0.05])
"""Eye-to-hand truth: where the board sits on the flange (its corner 0), metres."""
CAM2GRIPPER = _rt(Rotation.from_euler("xyz", [0, 0, 90], degrees=True).as_matrix(), [0.05, -0.03, 0.04])
"""Eye-in-hand truth: where the camera sits on the flange, metres."""


@dataclass
class SimCalibrationSet:
    setup: str
    gripper2base: list
    images: list
    intrinsic: np.ndarray
    board: Chessboard
    X_true: np.ndarray
    """cam2base (eye-to-hand) or cam2gripper (eye-in-hand)."""


def _random_tilt(rng, max_deg: float) -> np.ndarray:
    axis = rng.normal(size=3)
    return Rotation.from_rotvec(axis / np.linalg.norm(axis) * np.radians(rng.uniform(0, max_deg))).as_matrix()


def simulate_board_views(setup: str = "eye_to_hand", n_views: int = 12, seed: int = 0,
                         board: Chessboard = Chessboard(), camera: CameraSpec | None = None,
                         max_tilt_deg: float = 25.0, renderer: BoardRenderer | None = None) -> SimCalibrationSet:
    """Render ``n_views`` board views at seeded robot poses. Rotations are random about every
    axis, so the set is well conditioned (tests make degenerate sets on purpose)."""
    camera = camera or CameraSpec.d435(640, 480)
    rng = np.random.default_rng(seed)
    renderer = renderer or BoardRenderer(board, camera.width, camera.height, camera.intrinsic)
    centre_in_board = board.center()
    G, images = [], []
    if setup == "eye_to_hand":
        cam2world = camera.cam2world
        for _ in range(n_views):
            c = np.array([0.03, 0.0, 0.07]) + rng.uniform([-0.04, -0.06, -0.04], [0.04, 0.06, 0.04])
            z = cam2world[:3, 3] - c
            z /= np.linalg.norm(z)
            x = np.cross([0.0, 1.0, 0.0], z)
            x /= np.linalg.norm(x)
            R = np.c_[x, np.cross(z, x), z] @ _random_tilt(rng, max_tilt_deg)
            board2world = _rt(R, c - R @ centre_in_board)
            G.append(_inv(BASE2WORLD) @ board2world @ _inv(BOARD2GRIPPER))
            images.append(renderer.render(board2world, cam2world))
        X_true = _inv(BASE2WORLD) @ cam2world
    elif setup == "eye_in_hand":
        board2world = _rt(np.eye(3), [-0.05, -0.08, 0.001])
        centre = board2world[:3, 3] + centre_in_board
        for k in range(n_views):
            # Tsai's rule: views spread around the board (golden-angle azimuths), tilted 15-40 deg
            # off vertical and rolled +-(20-70) deg about the optical axis, so that the relative
            # rotations are large and turn about many different axes.
            azimuth = np.radians(137.5 * k + rng.uniform(-15, 15))
            tilt = np.radians(15 + 25 * ((0.618 * k + rng.uniform(0, 0.2)) % 1.0))
            d = rng.uniform(0.38, 0.5)
            direction = np.array([np.sin(tilt) * np.cos(azimuth), np.sin(tilt) * np.sin(azimuth), np.cos(tilt)])
            eye = centre + d * direction
            roll = (-1) ** k * rng.uniform(20, 70)
            cam2world = look_at(eye, centre, up=(1.0, 0.0, 0.0)) @ _rt(
                Rotation.from_euler("z", roll, degrees=True).as_matrix(), np.zeros(3))
            G.append(_inv(BASE2WORLD) @ cam2world @ _inv(CAM2GRIPPER))
            images.append(renderer.render(board2world, cam2world))
        X_true = CAM2GRIPPER.copy()
    else:
        raise ValueError(f"setup {setup!r}; rule: eye_to_hand or eye_in_hand")
    return SimCalibrationSet(setup, G, images, camera.intrinsic, board, X_true)
