"""Between image grasps (pixels) and top-down 3D grasps (world metres), with depth.

Execution rule (the inverse of :func:`label_rect`): the rectangle centre pixel is
deprojected with the depth image to a surface point; the jaw endpoints' pixel rays are
intersected with the horizontal plane through that point, giving the jaw axis and the
opening in metres; the TCP goes ``GRASP_DEPTH_M`` below the surface point, but no lower
than ``MIN_TCP_Z_M`` above the table.

Invalid actions (:class:`InvalidAction`, naming the value and the rule): a wrong shape,
NaN/inf, an entry beyond +-1e6, a centre outside the image or without depth, a width <= 0
or wider than the image, and a ``grasp_rect`` whose opening at the grasp depth exceeds the
gripper's (``MAX_GRIPPER_OPENING_M`` + ``OPENING_TOLERANCE_M``) instead of being clipped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vlgsim.assets import MAX_GRIPPER_OPENING_M
from vlgsim.grasp.antipodal import FINGER_WIDTH_M, GRASP_DEPTH_M, MIN_TCP_Z_M, OPENING_MARGIN_M, TopDownGrasp
from vlgsim.grasp.rect import GraspRect, contact_points_to_rect, rect_from_endpoints
from vlgsim.scenes.camera import deproject, pixel_rays, project


OPENING_TOLERANCE_M = 0.005
"""A ``grasp_rect`` whose width deprojects wider than the gripper's opening plus this is
invalid (labels project at the top point's height, the action at the centre pixel's depth:
a few mm apart); contact pairs, which get a margin added, are clipped instead."""


class InvalidAction(ValueError):
    """An action that breaks a documented rule; the message names the value and the rule."""


@dataclass(frozen=True)
class WorldGrasp:
    tcp_xyz: np.ndarray
    axis_angle_rad: float
    opening_m: float


def _ray_plane_z(uv: np.ndarray, z: float, intrinsic, extrinsic) -> np.ndarray:
    """Where the rays through pixels ``uv`` meet the horizontal plane at height ``z`` (world)."""
    o, d = pixel_rays(uv, intrinsic, extrinsic)
    return o + ((z - o[:, 2]) / d[:, 2])[:, None] * d


def check_action(action, size: int, name: str) -> np.ndarray:
    a = np.asarray(action, dtype=np.float64)
    if a.shape != (size,):
        raise InvalidAction(f"{name} action {np.asarray(action).tolist()!r} has shape {a.shape}; rule: shape ({size},)")
    if not np.all(np.isfinite(a)):
        raise InvalidAction(f"{name} action {a.tolist()} has NaN or inf; rule: all values finite")
    if np.any(np.abs(a) > 1e6):
        raise InvalidAction(f"{name} action {a.tolist()} has an entry beyond +-1e6; rule: pixels and degrees "
                            "of a real grasp")
    return a


def _pixel_in_image(uv, width, height, name):
    if not (0 <= uv[0] < width and 0 <= uv[1] < height):
        raise InvalidAction(f"{name} pixel ({uv[0]:.1f}, {uv[1]:.1f}) outside the image; rule: 0 <= x < {width}, 0 <= y < {height}")


def rect_to_world(rect: GraspRect, depth: np.ndarray, intrinsic, extrinsic, opening_margin_m: float = 0.0) -> WorldGrasp:
    """Deproject an image grasp rectangle to a top-down world grasp (see module doc)."""
    H, W = depth.shape
    _pixel_in_image((rect.x_px, rect.y_px), W, H, "grasp centre")
    if not rect.width_px > 0:
        raise InvalidAction(f"grasp width {rect.width_px} px; rule: width_px > 0")
    if rect.width_px > W:
        raise InvalidAction(f"grasp width {rect.width_px:.4g} px; rule: width_px <= the image width {W} px")
    d = float(depth[int(rect.y_px), int(rect.x_px)])
    if not d > 0:
        raise InvalidAction(f"no depth at grasp centre ({rect.x_px:.1f}, {rect.y_px:.1f}); rule: centre on a surface")
    surface = deproject([[rect.x_px, rect.y_px]], [d], intrinsic, extrinsic)[0]
    ends = _ray_plane_z(rect.jaw_endpoints(), surface[2], intrinsic, extrinsic)
    axis = ends[1] - ends[0]
    opening = float(np.linalg.norm(axis[:2])) + opening_margin_m
    if opening_margin_m == 0.0 and opening > MAX_GRIPPER_OPENING_M + OPENING_TOLERANCE_M:
        raise InvalidAction(f"grasp width {rect.width_px:.4g} px is {100 * opening:.1f} cm at the grasp depth; rule: "
                            f"<= the gripper's opening {100 * MAX_GRIPPER_OPENING_M:.1f} cm "
                            f"(+{100 * OPENING_TOLERANCE_M:.1f} cm tolerance)")
    tcp = np.array([surface[0], surface[1], max(surface[2] - GRASP_DEPTH_M, MIN_TCP_Z_M)])
    return WorldGrasp(tcp, float(np.arctan2(axis[1], axis[0])), float(np.clip(opening, 0.0, MAX_GRIPPER_OPENING_M)))


def action_to_world(action, action_mode: str, depth: np.ndarray, intrinsic, extrinsic) -> WorldGrasp:
    """Validate and convert a ``grasp_rect`` ``[x, y, theta_deg, width_px]`` or
    ``contact_points`` ``[x1, y1, x2, y2]`` action. Raises :class:`InvalidAction`."""
    H, W = depth.shape
    if action_mode == "grasp_rect":
        a = check_action(action, 4, "grasp_rect")
        rect = GraspRect(a[0], a[1], a[2], a[3], 0.0)
        return rect_to_world(rect, depth, intrinsic, extrinsic)
    if action_mode == "contact_points":
        a = check_action(action, 4, "contact_points")
        _pixel_in_image(a[:2], W, H, "first contact")
        _pixel_in_image(a[2:], W, H, "second contact")
        return rect_to_world(contact_points_to_rect(a, W), depth, intrinsic, extrinsic, OPENING_MARGIN_M)
    raise ValueError(f"action_mode {action_mode!r}; rule: one of 'grasp_rect', 'contact_points'")


def label_rect(grasp: TopDownGrasp, intrinsic, extrinsic) -> tuple[GraspRect, np.ndarray]:
    """Image label of a world grasp: the rectangle (centre = the top point's pixel, long
    side = the opening at top-point height, short side = the finger width) and the two
    contact points at top-point height, ``[x1, y1, x2, y2]`` pixels."""
    top = grasp.top_point
    a = grasp.axis
    n = np.array([-a[1], a[0], 0.0])
    ends = project(np.stack([top - a * grasp.opening_m / 2, top + a * grasp.opening_m / 2]), intrinsic, extrinsic)
    side = project(np.stack([top - n * FINGER_WIDTH_M / 2, top + n * FINGER_WIDTH_M / 2]), intrinsic, extrinsic)
    rect = rect_from_endpoints(ends[0], ends[1], float(np.linalg.norm(side[1] - side[0])))
    contacts = grasp.contacts.copy()
    contacts[:, 2] = top[2]
    cp = project(contacts, intrinsic, extrinsic).reshape(-1)
    return rect, cp
