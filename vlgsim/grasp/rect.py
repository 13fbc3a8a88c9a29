"""4-DoF image grasp rectangles and contact-point pairs (pixels, origin top-left).

``theta_deg`` is the angle of the jaw-opening axis in the image, counter-clockwise as
seen on screen (v up), from the +u axis, folded to (-90, 90]. ``width_px`` is the jaw
opening along that axis; ``height_px`` the jaw (finger) size across it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CONTACT_JAW_PX_AT_640 = 80.0
"""vlgsim: a contact pair becomes a rectangle whose jaw size is 80 px at image width 640, scaled
with the image width (RealVLG-R1's ``compute_grasp_bbox`` uses 80 px at any image size)."""


def fold_angle_deg(theta_deg: float) -> float:
    """Fold an axis angle to (-90, 90] (a grasp axis has no direction)."""
    t = (float(theta_deg) + 90.0) % 180.0 - 90.0
    return 90.0 if t == -90.0 else t


@dataclass(frozen=True)
class GraspRect:
    x_px: float
    y_px: float
    theta_deg: float
    width_px: float
    height_px: float

    @property
    def axis(self) -> np.ndarray:
        """Unit jaw axis in pixel coordinates (du, dv)."""
        t = np.deg2rad(self.theta_deg)
        return np.array([np.cos(t), -np.sin(t)])

    def corners(self) -> np.ndarray:
        """(4, 2) corners in pixels, going round the rectangle."""
        a = self.axis
        n = np.array([-a[1], a[0]])
        c = np.array([self.x_px, self.y_px])
        w, h = self.width_px / 2, self.height_px / 2
        return np.stack([c + a * w + n * h, c - a * w + n * h, c - a * w - n * h, c + a * w - n * h])

    def jaw_endpoints(self) -> np.ndarray:
        """(2, 2) pixels of the two jaw centres."""
        c = np.array([self.x_px, self.y_px])
        return np.stack([c - self.axis * self.width_px / 2, c + self.axis * self.width_px / 2])

    def as_action(self) -> np.ndarray:
        """``[x_px, y_px, theta_deg, width_px]`` float32, the grasp_rect action."""
        return np.array([self.x_px, self.y_px, self.theta_deg, self.width_px], dtype=np.float32)

    def to_list(self) -> list[float]:
        return [float(self.x_px), float(self.y_px), float(self.theta_deg), float(self.width_px), float(self.height_px)]


def rect_from_endpoints(p1, p2, height_px: float) -> GraspRect:
    """Rectangle whose long side joins pixels p1 and p2 (e.g. two contact points)."""
    p1, p2 = np.asarray(p1, dtype=np.float64), np.asarray(p2, dtype=np.float64)
    d = p2 - p1
    theta = fold_angle_deg(np.rad2deg(np.arctan2(-d[1], d[0])))
    c = (p1 + p2) / 2
    return GraspRect(float(c[0]), float(c[1]), theta, float(np.linalg.norm(d)), float(height_px))


def contact_points_to_rect(contacts, image_width: int) -> GraspRect:
    """The contact-pair rectangle: centred on the midpoint, long side along the segment (as
    RealVLG-R1's ``compute_grasp_bbox``), jaw size 80 px scaled to image width 640 (vlgsim's
    rule; RealVLG-R1 keeps 80 px at any size). ``contacts`` = [x1, y1, x2, y2]."""
    c = np.asarray(contacts, dtype=np.float64).reshape(-1)
    if c.shape != (4,):
        raise ValueError(f"contact points {contacts!r} must be 4 numbers [x1, y1, x2, y2]")
    return rect_from_endpoints(c[:2], c[2:], CONTACT_JAW_PX_AT_640 * image_width / 640.0)


def rects_to_corners(rects) -> np.ndarray:
    """Vectorised :meth:`GraspRect.corners`: ``rects`` (N, 5) rows of
    ``[x_px, y_px, theta_deg, width_px, height_px]`` -> (N, 4, 2) corners in pixels, in the
    same order as ``GraspRect.corners()`` (going round each rectangle)."""
    r = np.asarray(rects, dtype=np.float64)
    if r.ndim != 2 or r.shape[1] != 5:
        raise ValueError(f"rects of shape {r.shape} must have shape (N, 5) "
                         "(rows of [x_px, y_px, theta_deg, width_px, height_px])")
    t = np.deg2rad(r[:, 2])
    a = np.stack([np.cos(t), -np.sin(t)], axis=-1)  # jaw axis (du, dv)
    n = np.stack([-a[:, 1], a[:, 0]], axis=-1)  # across the jaw axis
    c = r[:, :2]
    w, h = (r[:, 3] / 2)[:, None], (r[:, 4] / 2)[:, None]
    return np.stack([c + a * w + n * h, c - a * w + n * h, c - a * w - n * h, c + a * w - n * h], axis=1)
