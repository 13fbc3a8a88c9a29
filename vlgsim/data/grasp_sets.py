"""Grasp-set files: one compressed ``.npz`` per object (SPEC section 6).

``{category}_s{scale:.2f}.npz`` holds ``grasps`` (N, 31) ``[xyz, rot6d, q22]`` in the object
frame (metres, radians), ``part``, ``energy`` and ``energy_<term>``, the validation flags
(``valid``, ``penetration_ok``, ``self_penetration_ok``, ``held`` (N, 6), ``part_aligned``),
``contact_fingers``, ``caption``, ``part_touch`` (fingertips on the target part), and ``meta`` (JSON). Files are written to a temporary
name and renamed, so a crash never leaves a half-written set; a folder is resumable.

The grasp library (package data, :func:`library_dir`: ``vlgsim/data/grasp_library/``) holds the
same files, compacted by :func:`compact_grasp_set`: the valid grasps (a part without any keeps
its 4 best invalid ones, flagged ``valid`` False), ``grasps`` and the
energies as float32, and in ``meta`` the attempts and valid grasps per part
(``meta["parts"][part] = {"attempts": n, "valid": k}``) and the versions (``object_hash``,
``hand_hash``, ``library_format``, :mod:`vlgsim.grasp.dex_library`). :func:`load_library_set`
refuses a missing or stale set with :class:`GraspLibraryError`.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np

from vlgsim.grasp.dex_pipeline import GraspSet


def grasp_set_path(out_dir: Path, category: str, scale: float) -> Path:
    return Path(out_dir) / f"{category}_s{scale:.2f}.npz"


def save_grasp_set(gs: GraspSet, out_dir: Path) -> Path:
    path = grasp_set_path(out_dir, gs.category, gs.scale)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + f".{os.getpid()}.tmp.npz")
    np.savez_compressed(
        tmp, grasps=gs.grasps, part=gs.part, energy=gs.energy, valid=gs.valid, penetration_ok=gs.penetration_ok,
        self_penetration_ok=gs.self_penetration_ok, held=gs.held, part_aligned=gs.part_aligned,
        contact_fingers=gs.contact_fingers, caption=gs.caption, part_touch=gs.part_touch,
        meta=np.array(json.dumps(dict(gs.meta, category=gs.category, scale=gs.scale))),
        **({} if gs.force_closure is None else {"force_closure": gs.force_closure}),
        **{f"energy_{k}": v for k, v in gs.terms.items()})
    os.replace(tmp, path)
    return path


def load_grasp_set(path: Path) -> GraspSet:
    """Read a grasp-set file; a corrupt or foreign file raises ValueError naming it."""
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            return GraspSet(
                category=meta["category"], scale=float(meta["scale"]), grasps=z["grasps"], part=z["part"],
                energy=z["energy"], terms={k[len("energy_"):]: z[k] for k in z.files if k.startswith("energy_")},
                valid=z["valid"], penetration_ok=z["penetration_ok"], self_penetration_ok=z["self_penetration_ok"],
                held=z["held"], part_aligned=z["part_aligned"], contact_fingers=z["contact_fingers"],
                caption=z["caption"], part_touch=z["part_touch"], meta=meta,
                force_closure=z["force_closure"] if "force_closure" in z.files else None)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: not a readable vlgsim grasp-set file ({type(e).__name__}: {e})") from e


class GraspLibraryError(LookupError):
    """The library has no grasp set for an object, or the one it has is stale (object or hand changed)."""


def library_dir() -> Path:
    """The grasp library shipped with the package."""
    return Path(__file__).resolve().parent / "grasp_library"


FALLBACK_PER_PART = 4
"""A part with no valid grasp keeps this many of its best invalid ones (``valid`` False), so the
oracle still has a grasp to try (:meth:`GraspSet.select` puts valid ones first)."""


def compact_grasp_set(gs: GraspSet) -> GraspSet:
    """The library form of a grasp set: its valid grasps (float32 poses and energies; a part with
    none keeps its ``FALLBACK_PER_PART`` best invalid ones), with per-part attempts and valid
    counts and the version hashes in ``meta``."""
    from vlgsim.grasp.dex_library import version_meta

    keep = np.asarray(gs.valid, bool).copy()
    for p in dict.fromkeys(gs.part.tolist()):
        if not keep[gs.part == p].any():
            keep[gs.select(p, valid_only=False)[:FALLBACK_PER_PART]] = True
    parts = {p: {"attempts": int((gs.part == p).sum()), "valid": int((gs.valid & (gs.part == p)).sum())}
             for p in dict.fromkeys(gs.part.tolist())}
    meta = dict(gs.meta, parts=parts, **version_meta(gs.category, gs.scale))
    return GraspSet(
        category=gs.category, scale=gs.scale, grasps=gs.grasps[keep].astype(np.float32), part=gs.part[keep],
        energy=gs.energy[keep].astype(np.float32), terms={k: v[keep].astype(np.float32) for k, v in gs.terms.items()},
        valid=gs.valid[keep], penetration_ok=gs.penetration_ok[keep], self_penetration_ok=gs.self_penetration_ok[keep],
        held=gs.held[keep], part_aligned=gs.part_aligned[keep], contact_fingers=gs.contact_fingers[keep],
        caption=gs.caption[keep], part_touch=gs.part_touch[keep].astype(np.int8), meta=meta,
        force_closure=None if gs.force_closure is None else gs.force_closure[keep].astype(np.float32))


def load_library_set(category: str, scale: float, directory: Path | None = None) -> GraspSet:
    """The library's grasp set of ``category`` at ``scale``; :class:`GraspLibraryError` when there
    is none or when its ``object_hash``/``hand_hash`` differ from the current object and hand."""
    from vlgsim.grasp.dex_library import check_versions

    path = grasp_set_path(directory or library_dir(), category, scale)
    if not path.exists():
        raise GraspLibraryError(f"the grasp library has no set for {category!r} at scale {scale:.2f} ({path})")
    gs = load_grasp_set(path)
    stale = check_versions(gs.meta, category, scale)
    if stale:
        raise GraspLibraryError(f"grasp library set {path} is stale: {'; '.join(stale)}; "
                                f"rule: re-run `vlgsim synth-grasps --library` after changing objects or the hand")
    return gs
