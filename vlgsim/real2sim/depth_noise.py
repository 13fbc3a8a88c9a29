"""A D435-like depth (and colour) noise model, to make rendered frames look real.

Active stereo measures disparity ``d = f b / z``; a sub-pixel disparity error ``sigma_d``
gives a depth error growing with the square of the distance:
``sigma_z = z^2 sigma_d / (f b)`` (Intel's RMS-error formula for the D400 series; baseline
``b`` = 50 mm on a D435, ``sigma_d`` = 0.08 px, a typical subpixel RMS). At 0.55 m with the
320x240 RealVLG camera (f = 307.5 px) that is 1.6 mm. On top of it, as a D435 shows:

- invalid pixels (0) along depth discontinuities: pixels within ``edge_px`` of a jump
  larger than ``edge_jump_m`` are dropped with probability ``edge_drop`` (stereo shadow,
  the left imager sees what the right one cannot);
- holes: ``n_holes`` random blobs of 1-3 px radius per 320x240 (scaled with the image area)
  plus ``dropout`` of isolated pixels;
- quantisation to 1 mm (the z16 stream in its default 1 mm units);
- colour: Gaussian noise of ``rgb_sigma`` (8-bit levels).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class D435NoiseModel:
    baseline_m: float = 0.050
    subpixel_sigma_px: float = 0.08
    edge_jump_m: float = 0.02
    edge_px: int = 2
    edge_drop: float = 0.6
    n_holes: int = 12
    dropout: float = 0.01
    quantum_m: float = 0.001
    rgb_sigma: float = 2.0

    def depth_sigma_m(self, z_m, focal_px: float):
        """RMS depth error (m) at distance ``z_m`` for a focal length in pixels."""
        return np.asarray(z_m) ** 2 * self.subpixel_sigma_px / (focal_px * self.baseline_m)

    def apply(self, rgb: np.ndarray, depth_m: np.ndarray, intrinsic: np.ndarray,
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Noisy copies of ``rgb`` (H, W, 3) uint8 and ``depth_m`` (H, W) metres (0 = no reading)."""
        d = np.asarray(depth_m, dtype=np.float64).copy()
        H, W = d.shape
        valid = d > 0
        f = float(np.asarray(intrinsic)[0, 0])
        d[valid] += rng.normal(size=valid.sum()) * self.depth_sigma_m(d[valid], f)
        # stereo shadow along depth jumps
        big = np.where(valid, d, 10.0)
        jump = np.zeros_like(valid)
        jump[:, 1:] |= np.abs(np.diff(big, axis=1)) > self.edge_jump_m
        jump[1:, :] |= np.abs(np.diff(big, axis=0)) > self.edge_jump_m
        k = 2 * self.edge_px + 1
        near_edge = cv2.dilate(jump.astype(np.uint8), np.ones((k, k), np.uint8)).astype(bool)
        drop = near_edge & (rng.random((H, W)) < self.edge_drop)
        drop |= rng.random((H, W)) < self.dropout
        holes = np.zeros((H, W), np.uint8)
        for _ in range(int(round(self.n_holes * H * W / (320 * 240)))):
            cv2.circle(holes, (int(rng.integers(W)), int(rng.integers(H))), int(rng.integers(1, 4)), 1, -1)
        drop |= holes.astype(bool)
        d[drop] = 0.0
        d = np.round(d / self.quantum_m) * self.quantum_m
        noisy_rgb = np.clip(np.asarray(rgb, np.float64) + rng.normal(0, self.rgb_sigma, np.shape(rgb)), 0, 255)
        return noisy_rgb.round().astype(np.uint8), np.maximum(d, 0).astype(np.float32)
