"""Pinhole RGB-D camera: intrinsics, pose, projection and deprojection (pure numpy).

Conventions (OpenCV): pixel (u, v) with origin at the image's top-left, u to the right,
v down; camera frame x right, y down, z forward (optical axis). ``extrinsic`` is the
4x4 world -> camera transform; ``cam2world`` its inverse. World frame: z up, metres,
table top at z = 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

D435_FX_AT_640 = 615.0
"""Intel RealSense D435 colour stream focal length (pixels) at 640x480."""


def look_at(eye, target, up=(0.0, 0.0, 1.0)) -> np.ndarray:
    """4x4 camera-to-world transform (OpenCV axes) for a camera at ``eye`` looking at ``target``."""
    eye, target, up = (np.asarray(a, dtype=np.float64) for a in (eye, target, up))
    z = target - eye
    z /= np.linalg.norm(z)
    x = np.cross(z, up)
    if np.linalg.norm(x) < 1e-9:
        raise ValueError(f"camera looks along up={up.tolist()}: choose another up vector")
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    T = np.eye(4)
    T[:3, 0], T[:3, 1], T[:3, 2], T[:3, 3] = x, y, z, eye
    return T


@dataclass(frozen=True)
class CameraSpec:
    """A fixed RGB-D camera. ``eye``/``target`` in world metres; image size in pixels."""

    width: int = 320
    height: int = 240
    fx: float = D435_FX_AT_640 * 320 / 640
    fy: float = D435_FX_AT_640 * 320 / 640
    eye: tuple[float, float, float] = (0.32, 0.0, 0.48)
    target: tuple[float, float, float] = (-0.02, 0.0, 0.0)
    near_m: float = 0.01
    far_m: float = 10.0

    @classmethod
    def d435(cls, width: int = 320, height: int = 240, **kwargs) -> "CameraSpec":
        """D435-like intrinsics scaled to the requested resolution (default 320x240)."""
        if width <= 0 or height <= 0:
            raise ValueError(f"image size {width}x{height} must be positive")
        f = D435_FX_AT_640 * width / 640
        return cls(width=width, height=height, fx=f, fy=f, **kwargs)

    @property
    def intrinsic(self) -> np.ndarray:
        """3x3 K, pixels."""
        return np.array([[self.fx, 0, self.width / 2], [0, self.fy, self.height / 2], [0, 0, 1]], dtype=np.float64)

    @property
    def cam2world(self) -> np.ndarray:
        return look_at(self.eye, self.target)

    @property
    def extrinsic(self) -> np.ndarray:
        """4x4 world -> camera (OpenCV)."""
        return np.linalg.inv(self.cam2world)

    @property
    def fovy_rad(self) -> float:
        return float(2 * np.arctan(self.height / (2 * self.fy)))

    def project(self, points_world: np.ndarray) -> np.ndarray:
        """(N, 3) world points -> (N, 2) pixel coordinates (u, v)."""
        return project(points_world, self.intrinsic, self.extrinsic)

    def pixel_ray(self, uv) -> tuple[np.ndarray, np.ndarray]:
        """World-frame origin and unit direction of the ray through pixel(s) ``uv`` (N, 2)."""
        return pixel_rays(uv, self.intrinsic, self.extrinsic)


def pixel_rays(uv, intrinsic: np.ndarray, extrinsic: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World-frame origins (N, 3) and unit directions (N, 3) of the rays through pixels ``uv`` (N, 2)."""
    uv = np.atleast_2d(np.asarray(uv, dtype=np.float64))
    K = np.asarray(intrinsic)
    d_cam = np.c_[(uv[:, 0] - K[0, 2]) / K[0, 0], (uv[:, 1] - K[1, 2]) / K[1, 1], np.ones(len(uv))]
    T = np.linalg.inv(extrinsic)
    d = d_cam @ T[:3, :3].T
    return np.broadcast_to(T[:3, 3], d.shape).copy(), d / np.linalg.norm(d, axis=1, keepdims=True)


def project(points_world: np.ndarray, intrinsic: np.ndarray, extrinsic: np.ndarray) -> np.ndarray:
    """(N, 3) world points -> (N, 2) pixels with a 3x3 K and a 4x4 world->camera transform."""
    p = np.atleast_2d(np.asarray(points_world, dtype=np.float64))
    pc = p @ extrinsic[:3, :3].T + extrinsic[:3, 3]
    uv = pc @ np.asarray(intrinsic).T
    return uv[:, :2] / uv[:, 2:3]


def deproject(uv, depth_m, intrinsic: np.ndarray, extrinsic: np.ndarray) -> np.ndarray:
    """Pixels (N, 2) with depths (N,) along the optical axis (metres) -> (N, 3) world points."""
    uv = np.atleast_2d(np.asarray(uv, dtype=np.float64))
    z = np.asarray(depth_m, dtype=np.float64).reshape(-1)
    K = np.asarray(intrinsic)
    pc = np.c_[(uv[:, 0] - K[0, 2]) / K[0, 0] * z, (uv[:, 1] - K[1, 2]) / K[1, 1] * z, z]
    cam2world = np.linalg.inv(extrinsic)
    return pc @ cam2world[:3, :3].T + cam2world[:3, 3]
