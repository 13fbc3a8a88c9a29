"""Procedural, part-annotated everyday objects built with trimesh.

Every object is described by an :class:`ObjectSpec` (category, colour, scale) and built
deterministically by :func:`build_object`. Units are metres and kilograms. The object
frame has its origin at the centre of the object's footprint on the table, z up: the
identity pose placed at table height is a stable resting pose.

Each part is a tuple of convex, watertight pieces; the pieces are at once the collision
geometry (one convex shape each) and, concatenated, the part's visual mesh.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Callable

import numpy as np
import trimesh

from vlgsim.assets import colors as _colors
from vlgsim.assets.cache import cache_dir
from vlgsim.assets.colors import COLORS, METAL_RGB, DARK_RGB

SPLITS = ("seen", "novel")
MAX_GRIPPER_OPENING_M = 0.08
"""Franka Panda parallel gripper: fingers open to 8 cm in total."""


@dataclass(frozen=True)
class ObjectSpec:
    """What to build: category, colour name and a uniform size factor (1.0 = nominal)."""

    category: str
    color: str
    scale: float = 1.0

    def __post_init__(self):
        if self.category not in CATEGORIES:
            raise ValueError(f"unknown category {self.category!r}; known: {sorted(CATEGORIES)}")
        if self.color not in COLORS:
            raise ValueError(f"unknown colour {self.color!r}; known: {sorted(COLORS)}")
        if not 0.5 <= self.scale <= 1.5:
            raise ValueError(f"scale {self.scale} outside the rule 0.5 <= scale <= 1.5")


@dataclass(frozen=True)
class ObjectPart:
    """A named part (``handle``, ``body``, ``cap`` ...) made of convex watertight pieces.
    ``rgb`` None means "the object's colour" (filled in by :func:`build_object`)."""

    name: str
    pieces: tuple[trimesh.Trimesh, ...]
    rgb: tuple[float, float, float] | None

    @cached_property
    def mesh(self) -> trimesh.Trimesh:
        return trimesh.util.concatenate(list(self.pieces))


@dataclass(frozen=True)
class ObjectAsset:
    """A built object: parts in the object frame (metres), density (kg/m^3), colour."""

    spec: ObjectSpec
    parts: tuple[ObjectPart, ...]
    density: float

    @property
    def category(self) -> str:
        return self.spec.category

    @property
    def color(self) -> str:
        return self.spec.color

    @cached_property
    def mesh(self) -> trimesh.Trimesh:
        return trimesh.util.concatenate([p.mesh for p in self.parts])

    @property
    def part_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parts)

    def part(self, name: str) -> ObjectPart:
        for p in self.parts:
            if p.name == name:
                return p
        raise KeyError(f"{self.category} has no part {name!r}; parts: {self.part_names}")

    @cached_property
    def _vertices(self) -> np.ndarray:
        """Every piece's vertices stacked: the rows of ``self.mesh.vertices``, without building it."""
        return np.concatenate([np.asarray(piece.vertices) for p in self.parts for piece in p.pieces])

    @property
    def bounds(self) -> np.ndarray:
        """(2, 3) axis-aligned bounds in the object frame, metres."""
        v = self._vertices
        return np.array([v.min(axis=0), v.max(axis=0)])

    @property
    def height_m(self) -> float:
        return float(self.bounds[1, 2])

    @property
    def footprint_radius_m(self) -> float:
        """Radius of the smallest origin-centred circle holding the xy footprint."""
        return float(np.max(np.linalg.norm(self._vertices[:, :2], axis=1)))

    @property
    def volume_m3(self) -> float:
        return float(sum(piece.volume for p in self.parts for piece in p.pieces))

    @property
    def mass_kg(self) -> float:
        return self.volume_m3 * self.density


@dataclass(frozen=True)
class Category:
    name: str
    split: str
    density: float
    build: Callable[[float, tuple], tuple[ObjectPart, ...]]
    """build(scale, rgb) -> parts."""


# --------------------------------------------------------------------------- primitives
def _cylinder(radius: float, height: float, z0: float = 0.0, sections: int = 24) -> trimesh.Trimesh:
    """Vertical cylinder standing on z = z0."""
    m = trimesh.creation.cylinder(radius=radius, height=height, sections=sections)
    m.apply_translation([0, 0, z0 + height / 2])
    return m


def _frustum(r_bottom: float, r_top: float, height: float, z0: float = 0.0, sections: int = 24) -> trimesh.Trimesh:
    a = np.linspace(0, 2 * np.pi, sections, endpoint=False)
    ring = np.stack([np.cos(a), np.sin(a)], axis=1)
    pts = np.concatenate(
        [np.c_[ring * r_bottom, np.full(sections, z0)], np.c_[ring * r_top, np.full(sections, z0 + height)]]
    )
    return trimesh.convex.convex_hull(pts)


def _box(extents, center) -> trimesh.Trimesh:
    m = trimesh.creation.box(extents=extents)
    m.apply_translation(center)
    return m


def _lying_cylinder(radius: float, length: float, x0: float, sections: int = 12) -> trimesh.Trimesh:
    """Prism cylinder along +x from x0 to x0 + length, resting on a flat facet on z = 0."""
    a = (2 * np.arange(sections) + 1) * np.pi / sections  # a facet, not a vertex, at the bottom
    y, z = radius * np.sin(a), -radius * np.cos(a)
    z = z - z.min()
    ring = np.c_[y, z]
    pts = np.concatenate([np.c_[np.full(sections, x0), ring], np.c_[np.full(sections, x0 + length), ring]])
    return trimesh.convex.convex_hull(pts)


def _ring_sectors(r_in: float, r_out: float, z0: float, z1: float, n: int = 12) -> tuple[trimesh.Trimesh, ...]:
    """A hollow cylindrical wall split into n convex sectors."""
    pieces = []
    for i in range(n):
        a = np.linspace(2 * np.pi * i / n, 2 * np.pi * (i + 1) / n, 3)
        pts = []
        for r in (r_in, r_out):
            for z in (z0, z1):
                pts.extend([[r * np.cos(t), r * np.sin(t), z] for t in a])
        pieces.append(trimesh.convex.convex_hull(np.array(pts)))
    return tuple(pieces)


def _arc_handle(radius: float, thickness: float, z_mid: float, x_attach: float, n: int = 5) -> tuple[trimesh.Trimesh, ...]:
    """A C-shaped handle in the xz plane on the +x side, made of n convex links."""
    pieces = []
    angles = np.linspace(-np.pi / 2, np.pi / 2, n + 1)
    for a0, a1 in zip(angles[:-1], angles[1:]):
        pts = []
        for t in (a0, a1):
            cx, cz = x_attach + radius * np.cos(t), z_mid + radius * np.sin(t)
            for dx in (-thickness / 2, thickness / 2):
                for dy in (-thickness / 2, thickness / 2):
                    pts.append([cx + dx * np.cos(t), dy, cz + dx * np.sin(t)])
        pieces.append(trimesh.convex.convex_hull(np.array(pts)))
    return tuple(pieces)


def _part(name, pieces, rgb) -> ObjectPart:
    if isinstance(pieces, trimesh.Trimesh):
        pieces = (pieces,)
    return ObjectPart(name, tuple(pieces), None if rgb is None else tuple(float(c) for c in rgb))


# --------------------------------------------------------------------------- categories
def _mug(s, rgb):
    r, h = 0.029 * s, 0.085 * s
    return (_part("body", _cylinder(r, h), rgb), _part("handle", _arc_handle(0.025 * s, 0.009, h / 2, r), rgb))


def _bowl(s, rgb):
    r_out, h, wall, base = 0.029 * s, 0.042 * s, 0.006, 0.008
    return (_part("bottom", _cylinder(r_out, base), rgb), _part("wall", _ring_sectors(r_out - wall, r_out, base - 1e-4, h), rgb))


def _bottle(s, rgb):
    r, h_body = 0.029 * s, 0.11 * s
    shoulder = _frustum(r, 0.013, 0.025 * s, z0=h_body - 1e-4)
    neck_z = h_body + 0.025 * s
    return (
        _part("body", (_cylinder(r, h_body), shoulder), rgb),
        _part("neck", _cylinder(0.012, 0.025 * s, z0=neck_z - 1e-4), rgb),
        _part("cap", _cylinder(0.0135, 0.018, z0=neck_z + 0.025 * s - 2e-4), DARK_RGB),
    )


def _can(s, rgb):
    r, h = 0.028 * s, 0.10 * s
    return (_part("body", _cylinder(r, h), rgb), _part("lid", _cylinder(r * 0.92, 0.01, z0=h - 0.007), METAL_RGB))


def _cup(s, rgb):
    return (_part("body", _frustum(0.023 * s, 0.031 * s, 0.08 * s), rgb),)


def _block(s, rgb):
    a = 0.045 * s
    return (_part("body", _box([a, a, a], [0, 0, a / 2]), rgb),)


def _box_obj(s, rgb):
    ex = np.array([0.05, 0.09, 0.10]) * s
    ex[0] = min(ex[0], 0.06)
    return (_part("body", _box(ex, [0, 0, ex[2] / 2]), rgb),)


def _marker(s, rgb):
    r, body_len, cap_len = 0.014, 0.10 * s, 0.035
    x0 = -(body_len + cap_len) / 2
    return (
        _part("body", _lying_cylinder(r, body_len, x0), rgb),
        _part("cap", _lying_cylinder(r, cap_len, x0 + body_len - 1e-4), DARK_RGB),
    )


def _screwdriver(s, rgb):
    r_handle, handle_len, shaft_len = 0.015, 0.09 * s, 0.09 * s
    x0 = -(handle_len + shaft_len) / 2
    shaft = _lying_cylinder(0.005, shaft_len, x0 + handle_len - 1e-4)  # on the table too: a stable rest
    return (_part("handle", _lying_cylinder(r_handle, handle_len, x0), rgb), _part("shaft", shaft, METAL_RGB))


def _hammer(s, rgb):
    L = 0.19 * s
    handle = _box([L, 0.026, 0.024], [0, 0, 0.012])
    head = _box([0.032, 0.10 * s, 0.032], [L / 2 + 0.016 - 1e-4, 0, 0.016])
    return (_part("handle", handle, rgb), _part("head", head, METAL_RGB))


def _spatula(s, rgb):
    L = 0.14 * s
    handle = _box([L, 0.024, 0.022], [-L / 2, 0, 0.011])
    blade = _box([0.08 * s, 0.065 * s, 0.008], [0.04 * s - 1e-4, 0, 0.004])
    return (_part("handle", handle, rgb), _part("blade", blade, METAL_RGB))


def _knife(s, rgb):
    L = 0.10 * s
    handle = _box([L, 0.024, 0.022], [-L / 2, 0, 0.011])
    blade = _box([0.11 * s, 0.026, 0.008], [0.055 * s - 1e-4, 0, 0.004])
    return (_part("handle", handle, rgb), _part("blade", blade, METAL_RGB))


def _apple(s, rgb):
    r = 0.029 * s
    v = trimesh.creation.icosphere(subdivisions=2, radius=r).vertices * [1.0, 1.0, 0.92]
    v[:, 2] = np.maximum(v[:, 2], -0.75 * r)  # a flat base, as apples sit
    body = trimesh.convex.convex_hull(v)
    body.apply_translation([0, 0, 0.75 * r])
    stem = _cylinder(0.003, 0.015, z0=body.bounds[1, 2] - 0.004, sections=8)
    return (_part("body", body, rgb), _part("stem", stem, (0.35, 0.22, 0.1)))


def _sponge(s, rgb):
    ex = np.array([0.09, 0.055, 0.03]) * s
    return (_part("body", _box(ex, [0, 0, ex[2] / 2]), rgb),)


CATEGORIES: dict[str, Category] = {
    c.name: c
    for c in [
        Category("mug", "seen", 350.0, _mug),
        Category("bowl", "seen", 500.0, _bowl),
        Category("bottle", "seen", 250.0, _bottle),
        Category("can", "seen", 300.0, _can),
        Category("block", "seen", 400.0, _block),
        Category("marker", "seen", 500.0, _marker),
        Category("hammer", "seen", 500.0, _hammer),
        Category("box", "seen", 200.0, _box_obj),
        Category("apple", "seen", 500.0, _apple),
        Category("cup", "novel", 300.0, _cup),
        Category("screwdriver", "novel", 500.0, _screwdriver),
        Category("spatula", "novel", 400.0, _spatula),
        Category("knife", "novel", 500.0, _knife),
        Category("sponge", "novel", 150.0, _sponge),
    ]
}


GRASPABLE_PARTS: dict[str, tuple[str, ...]] = {
    "mug": ("body", "handle"),
    "bottle": ("body", "neck", "cap"),
    "can": ("body",),
    "cup": ("body",),
    "box": ("body",),
    "block": ("body",),
    "apple": ("body",),
    "hammer": ("handle", "head"),
    "screwdriver": ("handle",),
    "marker": ("body", "cap"),
    "bowl": ("wall",),
}
"""Parts a dexterous hand can grasp with the object resting on the table (DexVLG tasks).
Thin parts lying flat (knife and spatula blades, the apple's stem, the can's lid) are left out."""


def categories_in_split(split: str) -> tuple[str, ...]:
    """The library's categories of a split (``all``: both splits; never registered hulls)."""
    if split not in SPLITS + ("all",):
        raise ValueError(f"split {split!r} must be one of {SPLITS + ('all',)}")
    return tuple(n for n, c in CATEGORIES.items() if c.split in SPLITS and (split == "all" or c.split == split))


# --------------------------------------------------------------------------- convex hulls
HULL_PREFIX = "hull_"
HULL_SPLIT = "hull"
"""Registered hulls sit in no sampling split: scenes get them only from a reconstruction."""
HULL_MAX_VERTICES = 64
"""PhysX cooks at most 255 vertices per convex shape; fewer keep contacts cheap."""
HULL_DENSITY = 300.0
HULL_VERTICES: dict[str, np.ndarray] = {}
"""Registered hull name -> its (N, 3) vertices (object frame, metres, scale 1)."""


def is_hull(category: str) -> bool:
    return category.startswith(HULL_PREFIX)


def category_noun(category: str) -> str:
    """The word language uses for a category (a hull is just an "object")."""
    return "object" if is_hull(category) else category


def register_hull(points, name: str | None = None) -> str:
    """Register the convex hull of ``points`` ((N, 3), object frame: metres, z up, resting on
    z = 0, origin at the footprint's centre) as a category; returns its name, ``hull_`` + a
    digest of the vertices (the same points give the same name in every process), or ``name``
    (a saved scene re-registering its hull). The hull keeps at most :data:`HULL_MAX_VERTICES`
    vertices (farthest-point subset)."""
    if name is not None and (not isinstance(name, str) or not is_hull(name) or len(name) > 64):
        raise ValueError(f"hull name {name!r}; rule: a string starting with {HULL_PREFIX!r}, at most 64 characters")
    p = np.asarray(points, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 3 or len(p) < 4 or not np.all(np.isfinite(p)):
        raise ValueError(f"hull points of shape {p.shape}; rule: (N >= 4, 3) finite metres")
    ext = np.ptp(p, axis=0)
    if ext.max() > 0.5 or p[:, 2].min() < -1e-3:
        raise ValueError(f"hull extents {ext.round(3).tolist()} m, lowest z {p[:, 2].min():.3f}; rule: <= 0.5 m, "
                         "resting on z = 0 (metres, object frame)")
    if np.any(ext < 0.002):
        raise ValueError(f"hull extents {ext.round(4).tolist()} m; rule: >= 2 mm in x, y and z (a solid, not a sheet)")
    v = trimesh.convex.convex_hull(p).vertices
    if len(v) > HULL_MAX_VERTICES:
        keep = [int(np.argmax(v[:, 2]))]
        d = np.linalg.norm(v - v[keep[0]], axis=1)
        while len(keep) < HULL_MAX_VERTICES:
            keep.append(int(np.argmax(d)))
            d = np.minimum(d, np.linalg.norm(v - v[keep[-1]], axis=1))
        v = trimesh.convex.convex_hull(v[keep]).vertices
    v = np.round(np.asarray(v, dtype=np.float64), 5)
    v[:, 2] -= v[:, 2].min()
    v = v[np.lexsort(v.T[::-1])]
    name = name or HULL_PREFIX + hashlib.sha1(v.tobytes()).hexdigest()[:12]
    if name not in CATEGORIES:
        HULL_VERTICES[name] = v
        CATEGORIES[name] = Category(name, HULL_SPLIT, HULL_DENSITY,
                                    lambda s, rgb, v=v: (_part("body", trimesh.convex.convex_hull(v * s), rgb),))
    return name


@lru_cache(maxsize=1)
def geometry_version() -> str:
    """Hash of what a geometry depends on (this module, the colours, trimesh and numpy):
    on-disk geometry of other versions is never read."""
    h = hashlib.sha1()
    for f in (__file__, _colors.__file__):
        h.update(Path(f).read_bytes())
    h.update(f"{trimesh.__version__} {np.__version__}".encode())
    return h.hexdigest()[:16]


def _geometry_file(category: str, scale: float) -> Path:
    return cache_dir("geometry") / f"{geometry_version()}-{category}-{scale!r}.pkl"


@lru_cache(maxsize=1024)
def object_geometry(category: str, scale: float) -> tuple[ObjectPart, ...]:
    """Parts of a category at a size (colour-free: main parts have ``rgb=None``). Cached in
    memory and on disk, so every process on a machine builds a geometry once (the pickled
    meshes are the same arrays: same files, shapes and labels). Registered hulls are built in
    memory only (their vertices live in this process)."""
    if is_hull(category):
        return CATEGORIES[category].build(scale, None)
    path = _geometry_file(category, scale)
    try:
        with open(path, "rb") as f:
            parts = pickle.load(f)
        if isinstance(parts, tuple) and all(isinstance(p, ObjectPart) for p in parts):
            return parts
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ValueError, TypeError):
        pass
    parts = CATEGORIES[category].build(scale, None)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        pickle.dump(parts, f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)
    return parts


@lru_cache(maxsize=2048)
def build_object(spec: ObjectSpec) -> ObjectAsset:
    """Build (and cache) the object for a spec. Deterministic: same spec, same meshes."""
    rgb = COLORS[spec.color]
    parts = tuple(p if p.rgb is not None else replace(p, rgb=rgb) for p in object_geometry(spec.category, spec.scale))
    return ObjectAsset(spec=spec, parts=parts, density=CATEGORIES[spec.category].density)
