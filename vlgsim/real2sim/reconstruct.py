"""RGB-D frame + object masks -> a simulated tabletop scene spec (a digital twin).

Per mask: back-project the pixels with depth to world points (``deproject``), then fit every
asset category of the procedural library that is about as tall as the points: a planar
ICP (x, y, yaw about z: objects rest on the table top, z = 0) of the observed points onto
the model's surface, for a few sizes and starting yaws; each candidate is scored by
``fit RMS + MISS_WEIGHT_M * miss``, ``miss`` being the share of the model's camera-facing
surface that projects outside the mask (onto bare table: where another object is nearer,
the model is occluded, not missing). The best (category, size, x, y, yaw) wins, refined
over sizes in 0.01 steps. The colour is the library colour nearest the masked pixels.

Unknown shapes: a mask whose best fit is poor, fit RMS > ``UNKNOWN_RMS_M`` (7 mm), or more
than ``UNKNOWN_MISS`` (35 %) of the model's visible surface outside the mask with an RMS
above ``UNKNOWN_MISS_RMS_M`` (2 mm; a tight fit with much outside is a known object the mask
cuts short), fits no category. (In the 100-scene round trip library objects reach 6.5 mm
RMS on D435-noisy frames; slabs outside the library 7.5-9 mm.) It becomes a convex-hull object (``hull_fallback=True``, the default): the hull of
its points and of their drop onto the table (it rests there; a single view cannot see the
back, so the hull is the visible side swept down), registered as a category
(:func:`vlgsim.assets.objects.register_hull`, convex collision + visual mesh in every
RealVLG env) and saved with its vertices in the scene JSON; a warning names it. With
``hull_fallback=False`` it keeps its best-fitting category (also warned).

Frames: world z up, metres, table top z = 0 (the RealVLG world; for a real robot run the
robot-base frame translated by the sim's ``ROBOT_BASE``). ``extrinsic`` is world -> camera
(OpenCV), ``depth_m`` metres along the optical axis, 0 = no reading.
"""

from __future__ import annotations

import colorsys
import json
import warnings as _warnings
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from scipy.spatial import cKDTree

from vlgsim.assets import COLORS, ObjectSpec, build_object, categories_in_split
from vlgsim.assets.objects import HULL_VERTICES, is_hull, object_geometry, register_hull
from vlgsim.language import make_instruction, referring_expressions
from vlgsim.scenes import CameraSpec, Lighting, PlacedObject, TabletopScene, deproject
from vlgsim.scenes.tabletop import referent_views

SCALES = tuple(np.round(np.arange(0.85, 1.125, 0.01), 2))
"""Sizes the fit may choose (the sampler draws from these)."""
COARSE_SCALES = (0.87, 0.93, 1.05, 1.11)
MISS_WEIGHT_M = 0.01
UNKNOWN_RMS_M = 0.007
UNKNOWN_MISS = 0.35
UNKNOWN_MISS_RMS_M = 0.002
MIN_POINTS = 30
MAX_FIT_POINTS = 300
SCORE_CAP_M = 0.01
"""Distances above this (flying pixels, a mask that leaks) count as this much in a fit's RMS."""
ROTATIONAL = {"can", "cup", "bowl", "apple", "bottle"}
"""Categories whose shape does not change with yaw (no yaw to estimate)."""
YAW_SYMMETRY_RAD = {"block": np.pi / 2, "box": np.pi, "sponge": np.pi}
"""Other categories look the same after this turn; the rest only after a full turn."""


class ReconstructionError(ValueError):
    """An input frame or mask that breaks a named rule."""


@dataclass(frozen=True)
class RGBDFrame:
    """One RGB-D frame: rgb (H, W, 3) uint8, depth_m (H, W) float metres (0 = no reading),
    intrinsic 3x3 pixels, extrinsic 4x4 world -> camera."""

    rgb: np.ndarray
    depth_m: np.ndarray
    intrinsic: np.ndarray
    extrinsic: np.ndarray

    def __post_init__(self):
        d = np.asarray(self.depth_m)
        if d.ndim != 2:
            raise ReconstructionError(f"depth of shape {d.shape}; rule: (H, W) metres")
        H, W = d.shape
        rgb = np.asarray(self.rgb)
        if rgb.shape != (H, W, 3) or rgb.dtype != np.uint8:
            raise ReconstructionError(f"rgb {rgb.shape} {rgb.dtype}; rule: ({H}, {W}, 3) uint8 like the depth")
        if np.any(~np.isfinite(d)) or np.any(d < 0) or np.any(d > 20):
            raise ReconstructionError("depth has NaN/inf, negative or > 20 m values; rule: finite metres in [0, 20], "
                                      "0 = no reading (a depth in mm must be divided by 1000)")
        K, E = np.asarray(self.intrinsic, float), np.asarray(self.extrinsic, float)
        if K.shape != (3, 3) or E.shape != (4, 4) or not (np.all(np.isfinite(K)) and np.all(np.isfinite(E))):
            raise ReconstructionError(f"intrinsic {K.shape} / extrinsic {E.shape}; rule: finite 3x3 / 4x4")
        if K[0, 0] <= 0 or K[1, 1] <= 0:
            raise ReconstructionError(f"focal lengths {K[0, 0]}, {K[1, 1]}; rule: positive pixels")


@dataclass(frozen=True)
class ObjectFit:
    """The fit for one mask. ``rms_m``: trimmed RMS distance of the observed points to the
    model surface; ``miss``: share of the model's visible surface outside the mask."""

    category: str
    scale: float
    color: str
    xy: tuple[float, float]
    yaw_rad: float
    rms_m: float
    miss: float
    n_points: int
    unknown: bool = False
    library_category: str = ""
    """For a convex-hull fallback (``category`` is ``hull_...``): the best, rejected, library fit."""


@dataclass
class Reconstruction:
    scene: TabletopScene
    fits: list[ObjectFit]
    warnings: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------- models
class _SurfaceTree(cKDTree):
    """A KD-tree over surface samples that also knows their spacing (m)."""

    spacing: float = 0.0


@lru_cache(maxsize=512)
def _model(category: str, scale: float, n: int = 3000):
    """Surface samples (n, 3), their normals (n, 3), a KD-tree over their xyz (object frame),
    the height (m) and per sample whether it is on a part in the object's own colour."""
    import trimesh

    parts = object_geometry(category, scale)
    mesh = trimesh.util.concatenate([p.mesh for p in parts])
    own = np.concatenate([np.full(len(p.mesh.faces), p.rgb is None) for p in parts])
    pts, face = trimesh.sample.sample_surface(mesh, n, seed=0)
    tree = _SurfaceTree(pts)
    tree.spacing = float(np.sqrt(mesh.area / n / np.pi))  # radius of the disc each sample stands for
    return pts, mesh.face_normals[face], tree, float(mesh.bounds[1, 2]), own[face]


def _transform(xy, yaw):
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([[c, -s], [s, c]]), np.asarray(xy, float)


def _icp_planar(obs: np.ndarray, tree: cKDTree, model: np.ndarray, normals: np.ndarray, xy0, yaw0, iters: int = 40, trim: float = 0.97):
    """Fit (x, y, yaw) so that observed world points lie on the model surface (z unchanged)."""
    xy, yaw = np.asarray(xy0, float), float(yaw0)
    keep = max(3, int(trim * len(obs)))
    for _ in range(iters):
        R, t = _transform(xy, yaw)
        q = obs.copy()
        q[:, :2] = (obs[:, :2] - t) @ R  # world -> object frame (R^T (p - t))
        d, k = tree.query(q)
        sel = np.argsort(d)[:keep]
        P, M = obs[sel, :2], model[k[sel], :2]
        pc, mc = P.mean(0), M.mean(0)
        S = (M - mc).T @ (P - pc)
        new_yaw = float(np.arctan2(S[0, 1] - S[1, 0], S[0, 0] + S[1, 1]))
        Rn, _ = _transform((0.0, 0.0), new_yaw)
        new_xy = pc - Rn @ mc
        done = np.linalg.norm(new_xy - xy) < 1e-5 and abs(new_yaw - yaw) < 1e-5
        xy, yaw = new_xy, new_yaw
        if done:
            break
    R, t = _transform(xy, yaw)
    q = obs.copy()
    q[:, :2] = (obs[:, :2] - t) @ R
    d = np.minimum(_surfel_distance(q, tree, model, normals), SCORE_CAP_M)  # every point counts, capped
    return xy, yaw, float(np.sqrt(np.mean(d ** 2)))


def _surfel_distance(q: np.ndarray, tree: cKDTree, model: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """Distance of points ``q`` to the model surface, each sample taken as a small disc
    (radius = sample spacing): point-to-plane near a sample, point-to-edge beyond it."""
    d, k = tree.query(q)
    r = tree.spacing
    diff = q - model[k]
    along = np.abs(np.einsum("ij,ij->i", diff, normals[k]))
    across = np.sqrt(np.maximum(d ** 2 - along ** 2, 0.0))
    return np.hypot(along, np.maximum(across - r, 0.0))


class _Visibility:
    """Per frame: which pixels a candidate model may cover without contradiction."""

    def __init__(self, frame: RGBDFrame, masks: Sequence[np.ndarray]):
        self.K, self.E = np.asarray(frame.intrinsic, float), np.asarray(frame.extrinsic, float)
        self.depth = np.asarray(frame.depth_m, float)
        self.cam_center = np.linalg.inv(self.E)[:3, 3]
        self.H, self.W = self.depth.shape

    def miss(self, pts_w: np.ndarray, normals_w: np.ndarray, mask: np.ndarray) -> float:
        facing = np.einsum("ij,ij->i", normals_w, self.cam_center - pts_w) > 0
        p = pts_w[facing]
        if len(p) == 0:
            return 1.0
        pc = p @ self.E[:3, :3].T + self.E[:3, 3]
        z = pc[:, 2]
        uv = pc[:, :2] / z[:, None] * [self.K[0, 0], self.K[1, 1]] + [self.K[0, 2], self.K[1, 2]]
        u, v = np.round(uv[:, 0]).astype(int), np.round(uv[:, 1]).astype(int)
        inside = (u >= 0) & (u < self.W) & (v >= 0) & (v < self.H) & (z > 0)
        u, v, z = u[inside], v[inside], z[inside]
        if len(u) == 0:
            return 1.0
        in_mask = mask[v, u]
        d = self.depth[v, u]
        occluded = (d > 0) & (d < z - 0.01)  # something nearer hides the model there
        unknown = d == 0
        counted = in_mask | ~(occluded | unknown)
        if counted.sum() == 0:
            return 0.0
        return float((~in_mask & counted).sum() / counted.sum())


def _fit_candidate(obs, vis: _Visibility, mask, category, scale, inits):
    model, normals, tree, _, _ = _model(category, scale)
    if len(inits) > 2:  # a few steps from every start, then converge from the best two
        starts = sorted((_icp_planar(obs, tree, model, normals, xy0, yaw0, iters=10) for xy0, yaw0 in inits),
                        key=lambda r: r[2])
        inits = [r[:2] for r in starts[:2]]
    xy, yaw, rms = min((_icp_planar(obs, tree, model, normals, *i) for i in inits), key=lambda r: r[2])
    R, t = _transform(xy, yaw)
    pw = np.c_[model[:, :2] @ R.T + t, model[:, 2]]
    nw = np.c_[normals[:, :2] @ R.T, normals[:, 2]]
    miss = vis.miss(pw, nw, mask)
    return rms + MISS_WEIGHT_M * miss, xy, yaw, rms, miss


def _nearest_color(rgb_pixels: np.ndarray) -> str:
    """Library colour nearest the masked pixels: hue direction for coloured pixels, brightness for greys."""
    c = np.median(rgb_pixels.reshape(-1, 3).astype(float) / 255.0, axis=0)
    names = sorted(COLORS)
    sat = (c.max() - c.min()) / max(c.max(), 1e-6)
    if sat < 0.2:
        return "white" if c.mean() > 0.3 else "black"
    chroma = [n for n in names if (max(COLORS[n]) - min(COLORS[n])) / max(COLORS[n]) >= 0.2]
    hue = colorsys.rgb_to_hsv(*c)[0]
    def hue_distance(n):
        d = abs(hue - colorsys.rgb_to_hsv(*COLORS[n])[0]) % 1.0
        return min(d, 1.0 - d)
    return min(chroma, key=hue_distance)  # shading changes brightness and saturation, hardly hue


HULL_VOXEL_M = 0.004
"""Points are thinned to one per voxel of this size before the hull is taken."""


def hull_from_points(points_w: np.ndarray, grow_m: float = 0.0) -> tuple[str, tuple[float, float]]:
    """A convex-hull category for an unknown object seen as ``points_w`` (world, metres, above
    the table): the hull of the points and their drop onto the table, grown by ``grow_m`` in
    x and y (the pixels an eroded mask lost at its edge), centred on its footprint.
    Returns (registered category name, footprint centre xy in the world)."""
    p = np.asarray(points_w, dtype=np.float64)
    p = p[np.unique(np.floor(p / HULL_VOXEL_M).astype(np.int64), axis=0, return_index=True)[1]]
    if grow_m > 0:
        p = np.concatenate([p + [dx, dy, 0.0] for dx, dy in ((grow_m, 0), (-grow_m, 0), (0, grow_m), (0, -grow_m))])
    p = np.r_[p, p * [1.0, 1.0, 0.0]]
    lo, hi = p[:, :2].min(0), p[:, :2].max(0)
    c = (lo + hi) / 2
    return register_hull(p - [c[0], c[1], 0.0]), (float(c[0]), float(c[1]))


def fit_object(frame: RGBDFrame, mask: np.ndarray, vis: _Visibility | None = None,
               categories: Sequence[str] | None = None, hull_fallback: bool = True) -> ObjectFit:
    """Fit one masked object (see the module docstring)."""
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != np.shape(frame.depth_m):
        raise ReconstructionError(f"mask of shape {mask.shape}; rule: the depth's shape {np.shape(frame.depth_m)}")
    vis = vis or _Visibility(frame, [mask])
    import cv2

    inner = cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)  # edge pixels mix surfaces
    use = inner if (inner & (frame.depth_m > 0)).sum() >= MIN_POINTS else mask
    v, u = np.nonzero(use & (frame.depth_m > 0))
    if len(u) < MIN_POINTS:
        raise ReconstructionError(f"mask with {len(u)} pixels of valid depth; rule: at least {MIN_POINTS}")
    obs = deproject(np.c_[u, v], frame.depth_m[v, u], frame.intrinsic, frame.extrinsic)
    rgb = np.asarray(frame.rgb)[v, u]
    above = obs[:, 2] > 0.002  # table pixels inside a loose mask
    obs, rgb = obs[above], rgb[above]
    full_obs = obs
    if len(obs) > MAX_FIT_POINTS:  # an even subsample keeps the fit fast
        sub = np.random.default_rng(0).choice(len(obs), MAX_FIT_POINTS, replace=False)
        obs = obs[sub]
    if len(obs) < MIN_POINTS:
        raise ReconstructionError(f"mask with {len(obs)} points above the table; rule: at least {MIN_POINTS}")
    top = float(np.percentile(obs[:, 2], 98))
    c = obs[:, :2].mean(0)
    w, V = np.linalg.eigh(np.cov((obs[:, :2] - c).T))
    a = float(np.arctan2(V[1, 1], V[0, 1]))
    cats = list(categories or categories_in_split("all"))
    results = []
    for cat in cats:
        h_lo, h_hi = _model(cat, SCALES[0])[3], _model(cat, SCALES[-1])[3]
        if not (min(h_lo, h_hi) - max(0.012, 0.2 * top) <= top <= max(h_lo, h_hi) + max(0.012, 0.2 * top)):
            continue
        yaws = [a] if cat in ROTATIONAL else [a + k * np.pi / 4 for k in range(8)]
        heights = np.array([_model(cat, s)[3] for s in SCALES])
        s_top = SCALES[int(np.argmin(np.abs(heights - top)))] if np.ptp(heights) > 0.004 else 0.99  # size from height
        first = _fit_candidate(obs, vis, mask, cat, s_top, [(c, y) for y in yaws])
        results.append((first[0], cat, s_top, *first[1:]))
        for s in COARSE_SCALES:  # each size starts from the pose found at the first size
            score, xy, yaw, rms, miss = _fit_candidate(obs, vis, mask, cat, s, [(first[1], first[2])])
            results.append((score, cat, s, xy, yaw, rms, miss))
    if not results:  # nothing of this height in the library: try everything
        for cat in cats:
            score, xy, yaw, rms, miss = _fit_candidate(obs, vis, mask, cat, 1.0, [(c, a + k * np.pi / 2) for k in range(4)])
            results.append((score, cat, 1.0, xy, yaw, rms, miss))
    results.sort(key=lambda r: r[0])
    _, cat, s0, xy, yaw, rms, miss = results[0]
    best = results[0]
    for s in SCALES:
        if abs(s - s0) <= 0.035 and s != s0:
            r = _fit_candidate(obs, vis, mask, cat, s, [(xy, yaw)])
            if r[0] < best[0]:
                best = (r[0], cat, s, r[1], r[2], r[3], r[4])
    _, cat, s, xy, yaw, rms, miss = best
    yaw = float((yaw + np.pi) % (2 * np.pi) - np.pi)
    model, _, tree, _, own = _model(cat, s)
    R, t = _transform(xy, yaw)
    q = full_obs.copy()
    q[:, :2] = (full_obs[:, :2] - t) @ R
    on_own = own[tree.query(q)[1]]  # pixels on the parts that carry the object's colour (not caps, blades)
    unknown = rms > UNKNOWN_RMS_M or (miss > UNKNOWN_MISS and rms > UNKNOWN_MISS_RMS_M)
    if unknown and hull_fallback:
        eroded_px = 1.0 if use is inner else 0.0  # the mask's edge pixels were left out
        z_cam = np.median((full_obs @ np.asarray(frame.extrinsic)[:3, :3].T + np.asarray(frame.extrinsic)[:3, 3])[:, 2])
        name, c_xy = hull_from_points(full_obs, eroded_px * z_cam / float(np.asarray(frame.intrinsic)[0, 0]))
        return ObjectFit(name, 1.0, _nearest_color(rgb), c_xy, 0.0, rms, miss, int(len(full_obs)), True, cat)
    return ObjectFit(cat, float(s), _nearest_color(rgb[on_own] if on_own.sum() >= 10 else rgb),
                     (float(xy[0]), float(xy[1])), yaw, rms, miss, int(len(full_obs)), unknown)


def camera_from_matrices(intrinsic: np.ndarray, extrinsic: np.ndarray, width: int, height: int) -> tuple[CameraSpec, list[str]]:
    """The nearest :class:`CameraSpec` (eye, look-at target, focal lengths) to a calibrated camera,
    with warnings for what a spec cannot hold (roll about the optical axis, an off-centre
    principal point)."""
    K, E = np.asarray(intrinsic, float), np.asarray(extrinsic, float)
    c2w = np.linalg.inv(E)
    eye, z = c2w[:3, 3], c2w[:3, 2]
    t = -eye[2] / z[2] if z[2] < -1e-6 else 1.0  # where the optical axis meets the table
    spec = CameraSpec(width=width, height=height, fx=float(K[0, 0]), fy=float(K[1, 1]), eye=tuple(map(float, eye)),
                      target=tuple(map(float, eye + t * z)))
    notes = []
    R_err = spec.cam2world[:3, :3].T @ c2w[:3, :3]
    roll = float(np.degrees(np.arccos(np.clip((np.trace(R_err) - 1) / 2, -1, 1))))
    if roll > 0.5:
        notes.append(f"camera roll of {roll:.1f} deg about the optical axis dropped (a CameraSpec looks at a target, z up)")
    off = np.hypot(K[0, 2] - width / 2, K[1, 2] - height / 2)
    if off > 1.0:
        notes.append(f"principal point {off:.1f} px off the image centre dropped (a CameraSpec centres it)")
    return spec, notes


def reconstruct_scene(frame: RGBDFrame, masks: Sequence[np.ndarray] | Callable[[np.ndarray, np.ndarray], Sequence[np.ndarray]],
                      target_index: int = 0, instruction: str | None = None, camera: CameraSpec | None = None,
                      categories: Sequence[str] | None = None, seed: int = 0, split: str = "all",
                      lighting: Lighting | None = None, hull_fallback: bool = True) -> Reconstruction:
    """Build a :class:`TabletopScene` from one frame. ``masks``: per object (H, W) bool, or a
    function ``(rgb, depth_m) -> masks``. ``target_index``: which mask the instruction is
    about; without ``instruction`` one is phrased from the reconstructed scene."""
    if callable(masks):
        masks = masks(frame.rgb, frame.depth_m)
    masks = [np.asarray(m, dtype=bool) for m in masks]
    if not masks:
        raise ReconstructionError("no object masks; rule: at least one (H, W) bool mask")
    if not 0 <= target_index < len(masks):
        raise ReconstructionError(f"target_index {target_index}; rule: 0 <= target_index < {len(masks)} masks")
    H, W = np.shape(frame.depth_m)
    notes = []
    if camera is None:
        camera, notes = camera_from_matrices(frame.intrinsic, frame.extrinsic, W, H)
    vis = _Visibility(frame, masks)
    fits = [fit_object(frame, m, vis, categories, hull_fallback) for m in masks]
    for i, f in enumerate(fits):
        if f.unknown and is_hull(f.category):
            notes.append(f"object {i}: unknown shape (best fit {f.library_category}: RMS {f.rms_m * 1000:.1f} mm, "
                         f"{f.miss:.0%} of its surface outside the mask; rule: RMS <= {UNKNOWN_RMS_M * 1000:.0f} mm, and "
                         f"<= {UNKNOWN_MISS:.0%} outside unless RMS <= {UNKNOWN_MISS_RMS_M * 1000:.0f} mm); a convex "
                         f"hull object {f.category} stands in")
        elif f.unknown:
            notes.append(f"object {i}: unknown shape (best fit {f.category} x{f.scale}: RMS {f.rms_m * 1000:.1f} mm, "
                         f"{f.miss:.0%} of its surface outside the mask); kept as {f.category}")
    objects = tuple(PlacedObject(ObjectSpec(f.category, f.color, f.scale), f.xy, f.yaw_rad) for f in fits)
    exprs = tuple(referring_expressions(referent_views(objects, camera), target_index, camera.width))
    if instruction is None:
        base = exprs[0] if exprs else f"the {objects[target_index].spec.color} {objects[target_index].spec.category}"
        instruction = make_instruction(base, np.random.default_rng(seed))
    scene = TabletopScene(seed, split, objects, camera, target_index, exprs, instruction, lighting or Lighting())
    for n in notes:
        _warnings.warn(n, stacklevel=2)
    return Reconstruction(scene, fits, notes)


# ---------------------------------------------------------------------------- JSON
def scene_to_json(scene: TabletopScene) -> dict:
    """A plain-JSON dict of a scene spec (objects by category, colour, size and pose)."""
    return dict(seed=scene.seed, split=scene.split, target_index=scene.target_index, instruction=scene.instruction,
                expressions=list(scene.expressions), camera=asdict(scene.camera), lighting=asdict(scene.lighting),
                objects=[dict(category=o.spec.category, color=o.spec.color, scale=o.spec.scale, xy=list(o.xy),
                              yaw_rad=o.yaw_rad,
                              **({"hull_vertices": HULL_VERTICES[o.spec.category].tolist()} if is_hull(o.spec.category) else {}))
                         for o in scene.objects])


def scene_from_json(d: dict) -> TabletopScene:
    """Inverse of :func:`scene_to_json`; a malformed file gives an error naming the field."""
    try:
        for o in d["objects"]:
            if "hull_vertices" in o:
                register_hull(o["hull_vertices"], name=o["category"])
        objects = tuple(PlacedObject(ObjectSpec(o["category"], o["color"], float(o["scale"])),
                                     (float(o["xy"][0]), float(o["xy"][1])), float(o["yaw_rad"])) for o in d["objects"])
        cam = d["camera"]
        camera = CameraSpec(**{**cam, "eye": tuple(cam["eye"]), "target": tuple(cam["target"])})
        light = d.get("lighting") or {}
        lighting = Lighting(**{**light, "direction": tuple(light.get("direction", Lighting().direction))})
        scene = TabletopScene(int(d["seed"]), str(d["split"]), objects, camera, int(d["target_index"]),
                              tuple(d["expressions"]), str(d["instruction"]), lighting)
    except (KeyError, TypeError, IndexError, AttributeError, ValueError) as e:
        raise ReconstructionError(f"scene JSON is missing or mistypes a field ({type(e).__name__}: {e}); "
                                  "rule: the fields scene_to_json writes") from e
    if not objects or not 0 <= scene.target_index < len(objects):
        raise ReconstructionError(f"scene JSON target_index {scene.target_index} with {len(objects)} objects; "
                                  "rule: 0 <= target_index < number of objects")
    for o in objects:
        if not all(np.isfinite([*o.xy, o.yaw_rad])):
            raise ReconstructionError(f"object pose {o.xy}, {o.yaw_rad}; rule: finite metres and radians")
    return scene


def save_scene(scene: TabletopScene, path: str | Path) -> None:
    Path(path).write_text(json.dumps(scene_to_json(scene), indent=1))


def load_scene(path: str | Path) -> TabletopScene:
    try:
        d = json.loads(Path(path).read_text())
    except json.JSONDecodeError as e:
        raise ReconstructionError(f"{path}: not JSON ({e}); rule: a file written by save_scene") from e
    return scene_from_json(d)


def yaw_error_rad(category: str, yaw_est: float, yaw_true: float) -> float | None:
    """Yaw error modulo the category's symmetry; None for rotationally symmetric categories."""
    if category in ROTATIONAL:
        return None
    period = YAW_SYMMETRY_RAD.get(category, 2 * np.pi)
    d = (yaw_est - yaw_true) % period
    return float(min(d, period - d))
