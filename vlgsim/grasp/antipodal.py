"""Top-down antipodal parallel-jaw grasps from an object's geometry.

A :class:`TopDownGrasp` is a Panda-style grasp approached from above: the gripper TCP at
``center`` (metres), jaws closing along the horizontal direction at ``axis_angle_rad``
(about z, from +x), opened to ``opening_m``. ``top_point`` is the object's surface point
straight above the centre: what a camera sees and what a 4-DoF image grasp points at.

Sampling (object frame, cached per object spec): centres on a 1 cm grid over the
footprint, 12 jaw angles; for each, rays cast down find the top surface, horizontal rays
from both sides find the two contacts at grasp height; a candidate is kept if the contact
normals lie within the friction cone of the jaw axis (antipodal), the object fits the
gripper, and the descending gripper (fingers and palm) clears the object itself.
Quality (for ranking) = worst contact-normal alignment - 5 x centre-to-COM distance (m) - width (m).
"""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
import trimesh

from vlgsim.assets.cache import cache_dir
from vlgsim.assets import MAX_GRIPPER_OPENING_M, ObjectSpec, build_object
from vlgsim.assets.objects import object_geometry

GRASP_DEPTH_M = 0.03
"""The TCP goes this far below the top surface it aims at ..."""
MIN_TCP_Z_M = 0.016
"""... but never below this height above the table (Panda fingertips touch the table at ~1.05 cm)."""
OPENING_MARGIN_M = 0.02
"""Opening = contact distance + this, capped at the gripper's 8 cm."""
FRICTION_CONE_DEG = 20.0
MAX_CONTACT_WIDTH_M = 0.066
"""Widest object cross-section the Panda grasps reliably (jaws open to 8 cm)."""
FINGER_WIDTH_M = 0.022
"""Panda finger pad size across the jaw axis."""
FINGER_THICKNESS_M = 0.012
FINGER_BELOW_TCP_M = 0.011
PALM_ABOVE_TCP_M = 0.055
"""The Panda hand (palm) starts this far above the TCP and spans PALM_HALF_LENGTH_M along the jaw axis."""
PALM_HALF_LENGTH_M = 0.105
PALM_HALF_WIDTH_M = 0.032


@dataclass(frozen=True)
class TopDownGrasp:
    center: np.ndarray
    top_point: np.ndarray
    axis_angle_rad: float
    contact_width_m: float
    opening_m: float
    contacts: np.ndarray
    quality: float

    @property
    def axis(self) -> np.ndarray:
        return np.array([np.cos(self.axis_angle_rad), np.sin(self.axis_angle_rad), 0.0])

    def transformed(self, T: np.ndarray) -> "TopDownGrasp":
        """The grasp under a 4x4 rigid transform that rotates about z only (table poses)."""
        R, t = T[:3, :3], T[:3, 3]
        yaw = float(np.arctan2(R[1, 0], R[0, 0]))
        return replace(self, center=R @ self.center + t, top_point=R @ self.top_point + t,
                       contacts=self.contacts @ R.T + t, axis_angle_rad=self.axis_angle_rad + yaw)

    def gripper_boxes(self) -> list[np.ndarray]:
        """(8, 3) corner sets of the volumes the open gripper sweeps while descending:
        the two fingers and the palm above them."""
        a = self.axis
        n = np.array([-a[1], a[0], 0.0])
        zc = self.center[2]

        def box(r0, r1, w, z0, z1):  # corners r-major, then v, then z (the same sums as one corner at a time)
            r = np.repeat([r0, r1], 4)[:, None]
            v = np.tile(np.repeat([-w, w], 2), 2)[:, None]
            return np.c_[self.center[:2] + r * a[:2] + v * n[:2], np.tile([z0, z1], 4)]

        half = self.opening_m / 2
        fingers = [box(s * half, s * (half + FINGER_THICKNESS_M), FINGER_WIDTH_M / 2, zc - FINGER_BELOW_TCP_M,
                       zc + PALM_ABOVE_TCP_M) for s in (-1, 1)]
        palm = box(-PALM_HALF_LENGTH_M, PALM_HALF_LENGTH_M, PALM_HALF_WIDTH_M, zc + PALM_ABOVE_TCP_M, zc + 0.2)
        return fingers + [palm]


@dataclass(frozen=True)
class ConvexPiece:
    """A convex watertight piece as plain arrays: bounds (2, 3) and face planes (n . x <= d)."""

    bounds: np.ndarray
    normals: np.ndarray
    offsets: np.ndarray

    @staticmethod
    def of(piece: "trimesh.Trimesh | ConvexPiece") -> "ConvexPiece":
        if isinstance(piece, ConvexPiece):
            return piece
        n = piece.face_normals
        return ConvexPiece(piece.bounds, n, np.einsum("ij,ij->i", n, piece.triangles[:, 0]))


@lru_cache(maxsize=1024)
def convex_pieces(category: str, scale: float) -> tuple[ConvexPiece, ...]:
    """Every convex piece of an object, as :class:`ConvexPiece` (cached per category and size)."""
    return tuple(ConvexPiece.of(q) for p in object_geometry(category, scale) for q in p.pieces)


def _points_in_convex(points: np.ndarray, piece: "trimesh.Trimesh | ConvexPiece", tol: float = 1e-4) -> np.ndarray:
    """Boolean mask of points inside a convex watertight piece."""
    piece = ConvexPiece.of(piece)
    return np.all(points @ piece.normals.T - piece.offsets <= tol, axis=1)


def _box_samples(corners: np.ndarray, spacing_m: float = 0.01) -> np.ndarray:
    """Points filling an oriented box given by its 8 corners (ordered i, j, k over its
    three edges), about ``spacing_m`` apart along each edge."""
    c = corners.reshape(2, 2, 2, 3)
    o, e = c[0, 0, 0], [c[1, 0, 0] - c[0, 0, 0], c[0, 1, 0] - c[0, 0, 0], c[0, 0, 1] - c[0, 0, 0]]
    g = _unit_grid(*(max(2, int(np.ceil(np.linalg.norm(v) / spacing_m)) + 1) for v in e))
    return o + g @ np.stack(e)


@lru_cache(maxsize=256)
def _unit_grid(n0: int, n1: int, n2: int) -> np.ndarray:
    """(n0 n1 n2, 3) fractions in [0, 1]^3 on an n0 x n1 x n2 grid, i-major (read-only, shared)."""
    t = [np.linspace(0, 1, n) for n in (n0, n1, n2)]
    g = np.stack(np.meshgrid(*t, indexing="ij"), -1).reshape(-1, 3)
    g.flags.writeable = False
    return g


def gripper_collides(grasp: TopDownGrasp, pieces: "list[trimesh.Trimesh | ConvexPiece]",
                     pieces_pose: np.ndarray | None = None, pieces_pose_inverse: np.ndarray | None = None) -> bool:
    """Whether the descending open gripper (fingers and palm) would intersect any convex piece
    (given in their own frame, placed in the grasp's frame by the 4x4 ``pieces_pose``;
    ``pieces_pose_inverse``: its ``np.linalg.inv``, when the caller has it already)."""
    boxes = grasp.gripper_boxes()
    if pieces_pose is not None or pieces_pose_inverse is not None:
        inv = np.linalg.inv(pieces_pose) if pieces_pose_inverse is None else pieces_pose_inverse
        boxes = [b @ inv[:3, :3].T + inv[:3, 3] for b in boxes]
    corners = np.concatenate(boxes)
    g_lo, g_hi = corners.min(0) - 1e-3, corners.max(0) + 1e-3
    pieces = [p for p in map(ConvexPiece.of, pieces) if np.all(p.bounds[0] <= g_hi) and np.all(p.bounds[1] >= g_lo)]
    if not pieces:
        return False
    pts = np.concatenate([_box_samples(b) for b in boxes])
    for piece in pieces:
        lo, hi = piece.bounds
        near = np.all((pts >= lo - 1e-3) & (pts <= hi + 1e-3), axis=1)
        if near.any() and _points_in_convex(pts[near], piece).any():
            return True
    return False


CACHE_VERSION = 3
"""Bump when the sampler or the objects change: on-disk grasp caches of other versions are ignored."""


def object_grasps(spec: ObjectSpec, grid_m: float = 0.01, n_angles: int = 12) -> tuple[TopDownGrasp, ...]:
    """Antipodal top-down grasps of an object in its own frame, best quality first
    (cached per category and size, in memory and on disk: colour does not change geometry)."""
    return _cached_grasps(spec.category, spec.scale, grid_m, n_angles)


@lru_cache(maxsize=1024)
def _cached_grasps(category: str, scale: float, grid_m: float, n_angles: int) -> tuple[TopDownGrasp, ...]:
    d = cache_dir("grasps")
    path = d / f"v{CACHE_VERSION}_{category}_{scale:.4f}_{grid_m:.4f}_{n_angles}.pkl"
    try:
        with open(path, "rb") as f:
            return pickle.load(f)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError):
        pass
    grasps = _object_grasps(category, scale, grid_m, n_angles)
    d.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        pickle.dump(grasps, f)
    os.replace(tmp, path)
    return grasps


def _object_grasps(category: str, scale: float, grid_m: float, n_angles: int) -> tuple[TopDownGrasp, ...]:
    asset = build_object(ObjectSpec(category, "white", scale))
    mesh = asset.mesh
    pieces = [p for part in asset.parts for p in part.pieces]
    lo, hi = mesh.bounds
    xs = np.arange(lo[0] + grid_m / 2, hi[0], grid_m)
    ys = np.arange(lo[1] + grid_m / 2, hi[1], grid_m)
    cxy = np.stack(np.meshgrid(xs, ys, indexing="ij"), -1).reshape(-1, 2)
    # top surface above each centre
    origins = np.c_[cxy, np.full(len(cxy), hi[2] + 0.05)]
    locs, ray_idx, _ = mesh.ray.intersects_location(origins, np.tile([0, 0, -1.0], (len(cxy), 1)), multiple_hits=False)
    top_z = np.full(len(cxy), np.nan)
    top_z[ray_idx] = locs[:, 2]
    keep = ~np.isnan(top_z)
    cxy, top_z = cxy[keep], top_z[keep]
    com = mesh.center_mass if mesh.is_volume else mesh.centroid
    z_g = np.maximum(top_z - GRASP_DEPTH_M, MIN_TCP_Z_M)
    angles = np.arange(n_angles) * np.pi / n_angles
    cand_c = np.repeat(np.c_[cxy, z_g], n_angles, axis=0)
    cand_top = np.repeat(np.c_[cxy, top_z], n_angles, axis=0)
    cand_a = np.tile(angles, len(cxy))
    axis = np.c_[np.cos(cand_a), np.sin(cand_a), np.zeros(len(cand_a))]
    reach = 0.25
    hits = []
    for s in (-1.0, 1.0):  # rays from the -axis side travelling +axis, then the reverse
        o = cand_c + s * reach * axis
        d = -s * axis
        loc, ridx, tri = mesh.ray.intersects_location(o, d, multiple_hits=False)
        p = np.full((len(cand_c), 3), np.nan)
        nrm = np.full((len(cand_c), 3), np.nan)
        p[ridx], nrm[ridx] = loc, mesh.face_normals[tri]
        hits.append((p, nrm, d))
    (p1, n1, d1), (p2, n2, d2) = hits
    ok = ~np.isnan(p1[:, 0]) & ~np.isnan(p2[:, 0])
    width = np.linalg.norm(p1 - p2, axis=1)
    cos_cone = np.cos(np.deg2rad(FRICTION_CONE_DEG))
    cos1 = np.einsum("ij,ij->i", np.nan_to_num(n1), -d1)
    cos2 = np.einsum("ij,ij->i", np.nan_to_num(n2), -d2)
    ok &= (cos1 > cos_cone) & (cos2 > cos_cone) & (width <= MAX_CONTACT_WIDTH_M) & (width > 0.004)
    out = []
    for i in np.flatnonzero(ok):
        opening = min(width[i] + OPENING_MARGIN_M, MAX_GRIPPER_OPENING_M)
        g = TopDownGrasp(center=cand_c[i], top_point=cand_top[i], axis_angle_rad=float(cand_a[i]),
                         contact_width_m=float(width[i]), opening_m=float(opening),
                         contacts=np.stack([p1[i], p2[i]]), quality=0.0)
        if gripper_collides(g, pieces):
            continue
        q = min(cos1[i], cos2[i]) - 5.0 * float(np.linalg.norm(cand_c[i, :2] - com[:2])) - 1.0 * width[i]
        out.append(replace(g, quality=float(q)))
    out.sort(key=lambda g: -g.quality)
    return tuple(out)
