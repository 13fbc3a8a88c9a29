"""Grasp-set files: one compressed ``.npz`` per object (SPEC section 6).

``{category}_s{scale:.2f}.npz`` holds ``grasps`` (N, 31) ``[xyz, rot6d, q22]`` in the object
frame (metres, radians), ``part``, ``energy`` and ``energy_<term>``, the validation flags
(``valid``, ``penetration_ok``, ``self_penetration_ok``, ``held`` (N, 6), ``part_aligned``),
``contact_fingers``, ``caption``, ``part_touch`` (fingertips on the target part), and ``meta`` (JSON). Files are written to a temporary
name and renamed, so a crash never leaves a half-written set; a folder is resumable.
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
                caption=z["caption"], part_touch=z["part_touch"], meta=meta)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: not a readable vlgsim grasp-set file ({type(e).__name__}: {e})") from e
