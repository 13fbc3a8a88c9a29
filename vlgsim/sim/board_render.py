"""Render a printed calibration board (chessboard or ChArUco) with SAPIEN, for hand-eye round trips.

The board is a white plate with black rectangles (squares, marker bits) built from box
visuals, laid out by the board itself (``black_rects()``, see
:mod:`vlgsim.real2sim.calibration`). Board frame: z out of the printed face (the camera must
see the face from +z).
"""

from __future__ import annotations

import numpy as np
import sapien

from vlgsim.sim.sapien_render import make_sapien_scene, sapien_camera_pose

PLATE_THICKNESS_M = 0.004


class BoardRenderer:
    """One SAPIEN scene holding a calibration board and a camera; ``render(board2world, cam2world)``
    moves both and returns an (H, W, 3) uint8 image. ``board``: anything with ``plate_bounds()``
    and ``black_rects()`` in its board frame (metres; a Chessboard or a CharucoBoard of
    :mod:`vlgsim.real2sim.calibration`), printed on the plate's +z face."""

    def __init__(self, board, width: int, height: int, intrinsic: np.ndarray):
        self.scene = make_sapien_scene()
        self.scene.set_ambient_light([1.0, 1.0, 1.0])
        b = self.scene.create_actor_builder()
        white = sapien.render.RenderMaterial(base_color=[1, 1, 1, 1])
        black = sapien.render.RenderMaterial(base_color=[0, 0, 0, 1])
        x0, x1, y0, y1 = board.plate_bounds()
        b.add_box_visual(sapien.Pose([(x0 + x1) / 2, (y0 + y1) / 2, -PLATE_THICKNESS_M / 2]),
                         [(x1 - x0) / 2, (y1 - y0) / 2, PLATE_THICKNESS_M / 2], material=white)
        for rx0, rx1, ry0, ry1 in board.black_rects():
            b.add_box_visual(sapien.Pose([(rx0 + rx1) / 2, (ry0 + ry1) / 2, 5e-5]),
                             [(rx1 - rx0) / 2, (ry1 - ry0) / 2, 5e-5], material=black)
        self.board = b.build_kinematic(name="board")
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
