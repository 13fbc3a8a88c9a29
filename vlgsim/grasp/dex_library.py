"""Versioning of the shipped grasp library: hashes of what a grasp set depends on.

A grasp set is only valid for the object geometry and the hand it was synthesised and
validated with. :func:`object_hash` digests an object's parts (names and the vertices and
faces of every convex piece, metres, rounded to 1e-6 m); :func:`hand_hash` digests the hand's
kinematic and collision model (tree, joint axes and limits, tendon couplings, capsules,
boxes, fingertip pads, palm point, self-collision spheres). Visual meshes are not part of
either: a new look does not make a grasp stale. The hashes go into each set's ``meta`` and
:func:`check_versions` compares them with the current code.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

import numpy as np

from vlgsim.assets import ObjectSpec, build_object
from vlgsim.assets.shadow_hand import HandModel, load_shadow_hand

LIBRARY_FORMAT = 1
"""Bumped when the library's file layout changes."""


def _digest(arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        if isinstance(a, str):
            h.update(a.encode())
        else:
            a = np.asarray(a)
            a = np.round(a.astype(np.float64), 6) if a.dtype.kind == "f" else a.astype(np.int64)
            h.update(str(a.shape).encode())
            h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


@lru_cache(maxsize=64)
def object_hash(category: str, scale: float = 1.0) -> str:
    """16 hex digits over the object's part names and convex pieces (object frame); colour-free."""
    asset = build_object(ObjectSpec(category, "white", float(scale)))
    items: list = [category, f"{float(scale):.4f}", f"density {asset.density:.6g}"]
    for part in asset.parts:
        items.append(part.name)
        for piece in part.pieces:
            items += [piece.vertices, piece.faces]
    return _digest(items)


def _hand_items(hand: HandModel) -> list:
    s_link, s_centre, s_r = hand.spheres()
    items = [hand.parent, hand.link_joint, hand.origin_pos, hand.origin_quat, hand.axis, hand.lower, hand.upper,
             np.array(hand.couplings, float), hand.tip_link, hand.tip_point, hand.tip_capsule, hand.palm_point,
             s_link, s_centre, s_r, hand.self_collision_pairs()]
    for c in hand.capsules:
        items += [np.array([c.link]), c.p0, c.p1, np.array([c.radius])]
    for b in hand.boxes:
        items += [np.array([b.link]), b.center, b.half]
    return items


@lru_cache(maxsize=1)
def hand_hash() -> str:
    """16 hex digits over the Shadow Hand's kinematic and collision model."""
    return _digest(_hand_items(load_shadow_hand()))


def version_meta(category: str, scale: float) -> dict:
    """What a grasp set records so that a stale one can be told apart."""
    return {"library_format": LIBRARY_FORMAT, "object_hash": object_hash(category, round(float(scale), 2)),
            "hand_hash": hand_hash()}


def check_versions(meta: dict, category: str, scale: float) -> list[str]:
    """Reasons a grasp set with ``meta`` no longer fits the current object and hand (empty: fits)."""
    now = version_meta(category, scale)
    return [f"{k} {meta.get(k)!r} != current {v!r}" for k, v in now.items() if meta.get(k) != v]


def extend_grasp_set(library_set, source, i: int, validation, part_touch: int, source_name: str = ""):
    """``library_set`` (a compacted library :class:`~vlgsim.grasp.dex_pipeline.GraspSet`) with
    grasp ``i`` of ``source`` (same object) appended, float32 like the rest, carrying the current
    validator's ``validation`` (:class:`~vlgsim.grasp.dex_validate.GraspValidation`) and
    ``part_touch`` (fingertips on its part) instead of the stored verdict. Nothing is dropped;
    ``meta["parts"]`` counts the grasp as one more valid attempt of its part and
    ``meta["top_ups"]`` names where it came from."""
    from vlgsim.grasp.dex_pipeline import GraspSet

    gs, part = library_set, str(source.part[i])
    if source.category != gs.category or round(float(source.scale), 2) != round(float(gs.scale), 2):
        raise ValueError(f"grasp of {source.category} at scale {source.scale}; rule: the library set's object "
                         f"({gs.category} at {gs.scale})")
    add = lambda a, x, dtype=None: np.concatenate([a, np.asarray([x], dtype or a.dtype)])  # noqa: E731
    parts = {p: dict(c) for p, c in gs.meta.get("parts", {}).items()}
    c = parts.setdefault(part, {"attempts": 0, "valid": 0})
    c["attempts"] += 1
    c["valid"] += int(validation.valid)
    meta = dict(gs.meta, parts=parts, top_ups=list(gs.meta.get("top_ups", [])) + [
        {"part": part, "source": source_name, "index": int(i)}])
    fc = gs.force_closure
    return GraspSet(
        category=gs.category, scale=gs.scale, grasps=add(gs.grasps, source.grasps[i].astype(np.float32)),
        part=np.concatenate([gs.part.astype(str), [part]]), energy=add(gs.energy, source.energy[i]),
        terms={k: add(v, source.terms[k][i]) for k, v in gs.terms.items()},
        valid=add(gs.valid, validation.valid), penetration_ok=add(gs.penetration_ok, validation.penetration_ok),
        self_penetration_ok=add(gs.self_penetration_ok, validation.self_penetration_ok),
        held=np.concatenate([gs.held, np.asarray(validation.held, bool)[None]]),
        part_aligned=add(gs.part_aligned, validation.part_aligned),
        contact_fingers=np.concatenate([gs.contact_fingers.astype(str), [",".join(validation.contact_fingers)]]),
        caption=np.concatenate([gs.caption.astype(str), [validation.caption]]),
        part_touch=add(gs.part_touch, part_touch), meta=meta,
        force_closure=None if fc is None else add(fc, validation.force_closure))
