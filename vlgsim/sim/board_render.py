"""Render a printed chessboard calibration target with SAPIEN, for hand-eye round trips.

The board is a white plate with black squares, built from box visuals. Board frame
(OpenCV's object-point convention): origin at the first inner corner, x along the
``cols`` inner corners, y along the ``rows``, z out of the printed face (the camera must
see the face from +z). Square ``(i, j)`` (column i, row j, from -1 at the border) is black
when ``i + j`` is even, so the square just outside inner corner 0 is black.
"""

from __future__ import annotations

import numpy as np
import sapien

from vlgsim.sim.sapien_render import make_sapien_scene, sapien_camera_pose

PLATE_THICKNESS_M = 0.004


class ChessboardRenderer:
    """One SAPIEN scene holding a chessboard and a camera; ``render(board2world, cam2world)``
    moves both and returns an (H, W, 3) uint8 image."""

    def __init__(self, cols: int, rows: int, square_m: float, width: int, height: int, intrinsic: np.ndarray):
        self.scene = make_sapien_scene()
        self.scene.set_ambient_light([1.0, 1.0, 1.0])
        b = self.scene.create_actor_builder()
        white = sapien.render.RenderMaterial(base_color=[1, 1, 1, 1])
        black = sapien.render.RenderMaterial(base_color=[0, 0, 0, 1])
        margin = square_m  # one extra white square of border outside the black/white pattern
        x0, x1 = -square_m - margin, cols * square_m + margin
        y0, y1 = -square_m - margin, rows * square_m + margin
        b.add_box_visual(sapien.Pose([(x0 + x1) / 2, (y0 + y1) / 2, -PLATE_THICKNESS_M / 2]),
                         [(x1 - x0) / 2, (y1 - y0) / 2, PLATE_THICKNESS_M / 2], material=white)
        for i in range(-1, cols):
            for j in range(-1, rows):
                if (i + j) % 2 == 0:
                    b.add_box_visual(sapien.Pose([(i + 0.5) * square_m, (j + 0.5) * square_m, 5e-5]),
                                     [square_m / 2, square_m / 2, 5e-5], material=black)
        self.board = b.build_kinematic(name="chessboard")
        previous = sapien.render.get_camera_shader_dir()
        sapien.render.set_camera_shader_dir("minimal")
        try:
            e = sapien.Entity()
            self.camera = sapien.render.RenderCameraComponent(width, height)
            e.add_component(self.camera)
            self.scene.add_entity(e)
        finally:
            sapien.render.set_camera_shader_dir(previous)
        K = np.asarray(intrinsic, dtype=np.float64)
        self.camera.set_focal_lengths(K[0, 0], K[1, 1])
        self.camera.set_principal_point(K[0, 2], K[1, 2])
        self.camera.near, self.camera.far = 0.01, 10.0

    def render(self, board2world: np.ndarray, cam2world: np.ndarray) -> np.ndarray:
        """Image (H, W, 3) uint8 of the board at ``board2world`` seen from ``cam2world`` (OpenCV axes)."""
        self.board.set_pose(sapien.Pose(np.asarray(board2world, dtype=np.float64)))
        self.camera.entity.set_pose(sapien_camera_pose(cam2world))
        self.scene.update_render()
        self.camera.take_picture()
        return (np.clip(self.camera.get_picture("Color")[..., :3], 0, 1) * 255).round().astype(np.uint8)
