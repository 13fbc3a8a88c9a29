"""Ground-truth grasp labels of one object in a rendered scene (pure numpy + trimesh).

A label is an antipodal top-down grasp of the object (see :mod:`vlgsim.grasp.antipodal`)
placed in the scene, kept only if the open gripper clears every other object, its top
point is visible in the depth image, and its jaw ends and contact points project inside
the image; it is given as a rectangle and a contact pair.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vlgsim.assets import build_object
from vlgsim.grasp.antipodal import (FINGER_THICKNESS_M, PALM_HALF_LENGTH_M, TopDownGrasp, convex_pieces,
                                    gripper_collides, object_grasps)
from vlgsim.grasp.image_grasp import label_rect
from vlgsim.grasp.rect import GraspRect
from vlgsim.scenes import PlacedObject

VISIBILITY_TOL_M = 0.01


@dataclass(frozen=True)
class GraspLabel:
    grasp: TopDownGrasp
    rect: GraspRect
    contact_points: np.ndarray
    """[x1, y1, x2, y2] pixels."""


def grasp_labels(objects: tuple[PlacedObject, ...], index: int, depth: np.ndarray, intrinsic: np.ndarray,
                 extrinsic: np.ndarray, max_labels: int = 64) -> list[GraspLabel]:
    """Executable, visible grasp labels for ``objects[index]``, best quality first."""
    obj = objects[index]
    H, W = depth.shape
    others = _others(objects, index)
    out = []
    for g0 in object_grasps(obj.spec):
        g = g0.transformed(obj.pose)
        uv = _project1(g.top_point, intrinsic, extrinsic)
        if not (0 <= uv[0] < W and 0 <= uv[1] < H):
            continue
        z_cam = (extrinsic[:3, :3] @ g.top_point + extrinsic[:3, 3])[2]
        if abs(depth[int(uv[1]), int(uv[0])] - z_cam) > VISIBILITY_TOL_M:
            continue
        if _collides_with_others(g, others):
            continue
        rect, cp = label_rect(g, intrinsic, extrinsic)
        pts = np.vstack([rect.jaw_endpoints(), cp.reshape(2, 2)])
        if not np.all((pts >= 0) & (pts < [W, H])):
            continue  # a label must lie in the image
        out.append(GraspLabel(g, rect, cp))
        if len(out) >= max_labels:
            break
    return out


def collision_free_grasps(objects: tuple[PlacedObject, ...], index: int) -> list[TopDownGrasp]:
    """World-frame top-down grasps of ``objects[index]`` whose open gripper clears every other
    object, best quality first: the labels without the camera's visibility and image rules
    (for privileged experts when no label is visible)."""
    obj = objects[index]
    others = _others(objects, index)
    out = []
    for g0 in object_grasps(obj.spec):
        g = g0.transformed(obj.pose)
        if not _collides_with_others(g, others):
            out.append(g)
    return out


@dataclass(frozen=True)
class _Other:
    """An object other than the grasped one, as the gripper check reads it: (x, y) origin,
    the distance within which a grasp centre may reach it (m), the inverse of its pose."""

    xy: np.ndarray
    reach_m: float
    pose_inverse: np.ndarray
    pieces: tuple


def _others(objects: tuple[PlacedObject, ...], index: int) -> list[_Other]:
    reach = PALM_HALF_LENGTH_M + FINGER_THICKNESS_M
    out = []
    for i, o in enumerate(objects):
        if i != index:
            out.append(_Other(np.asarray(o.xy), reach + build_object(o.spec).footprint_radius_m,
                              np.linalg.inv(o.pose), convex_pieces(o.spec.category, o.spec.scale)))
    return out


def _collides_with_others(g: TopDownGrasp, others: list[_Other]) -> bool:
    """The open gripper of ``g`` (world frame) would hit an object of ``others`` near it."""
    return any(gripper_collides(g, o.pieces, pieces_pose_inverse=o.pose_inverse) for o in others
               if np.hypot(*(o.xy - g.center[:2])) < o.reach_m)


def _project1(p, K, E):
    pc = E[:3, :3] @ p + E[:3, 3]
    return (K @ pc)[:2] / pc[2]
