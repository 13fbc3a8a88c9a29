"""Grasp sets: synthesise, validate and caption dexterous grasps for one object, per part.

:func:`synthesize_grasp_set` runs, for every graspable part of an object, part-aware
initialisation + Warp energy optimisation (:mod:`dex_synthesis`) and SAPIEN validation
(:mod:`dex_validate`), and returns a :class:`GraspSet`; :mod:`vlgsim.data.grasp_sets`
writes and reads them (one compressed ``.npz`` per object, SPEC section 6).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context

import numpy as np

from vlgsim.assets import ObjectSpec, build_object
from vlgsim.assets.objects import GRASPABLE_PARTS
from vlgsim.assets.shadow_hand import load_shadow_hand
from vlgsim.grasp.dex_energy import TERMS, GraspEnergy, ObjectField, pick_device
from vlgsim.grasp.dex_synthesis import SynthesisConfig, initial_grasps, optimize
from vlgsim.grasp.dex_validate import GraspValidator
from vlgsim.grasp.dexterous import fingertips

PART_TOUCH_M = 0.01


@dataclass
class GraspSet:
    """Grasps of one object (object frame: origin at the footprint centre, table at z = 0)."""

    category: str
    scale: float
    grasps: np.ndarray  # (N, 31)
    part: np.ndarray  # (N,) str
    energy: np.ndarray  # (N,)
    terms: dict[str, np.ndarray]  # each (N,)
    valid: np.ndarray  # (N,) bool
    penetration_ok: np.ndarray
    self_penetration_ok: np.ndarray
    held: np.ndarray  # (N, 6) bool
    part_aligned: np.ndarray
    contact_fingers: np.ndarray  # (N,) str, comma-separated FINGERS
    caption: np.ndarray  # (N,) str
    part_touch: np.ndarray  # (N,) int: fingertips within 1 cm of the target part and nearest it (PGA: >= 3)
    meta: dict = field(default_factory=dict)

    def summary(self) -> dict:
        """Per part: grasps, share valid, and PGA (>= 3 fingertips on the part) of the valid ones."""
        out = {}
        for p in dict.fromkeys(self.part.tolist()):
            m = self.part == p
            v = m & self.valid
            out[p] = {"grasps": int(m.sum()), "valid_share": float(v.sum() / max(m.sum(), 1)),
                      "pga_of_valid": float((self.part_touch[v] >= 3).mean()) if v.any() else float("nan")}
        return out

    def __len__(self) -> int:
        return len(self.grasps)

    def select(self, part: str, fingers: tuple[str, ...] | None = None, valid_only: bool = True) -> np.ndarray:
        """Indices of grasps on ``part``, best first: valid ones; with ``fingers``, those whose
        contact set differs from it by at most one finger; those with >= 3 fingertips on the
        part (PGA); then more gravity directions held; then lower energy."""
        idx = np.nonzero(self.part == part)[0]
        if valid_only and self.valid[idx].any():
            idx = idx[self.valid[idx]]
        key = self.energy[idx].copy()
        key += 1e6 * (~self.valid[idx]) + 1e3 * (6 - self.held[idx].sum(axis=1)) + 5e2 * (self.part_touch[idx] < 3)
        if fingers is not None:
            want = set(fingers)
            key += 1e4 * np.array([len(want ^ set(filter(None, c.split(",")))) > 1 for c in self.contact_fingers[idx]])
        return idx[np.argsort(key, kind="stable")]


def synthesize_grasp_set(category: str, scale: float = 1.0, per_part: int = 32, parts: tuple[str, ...] | None = None,
                         device: str = "auto", seed: int = 0, cfg: SynthesisConfig = SynthesisConfig(),
                         on_part=None, min_valid: int = 0, max_rounds: int = 1) -> GraspSet:
    """Optimise ``per_part`` grasps on each graspable part of the object, validate, caption.
    A part with fewer than ``min_valid`` valid grasps gets another batch of ``per_part`` (new
    initialisations), up to ``max_rounds`` batches in all; every batch is kept in the set."""
    device = pick_device(device)
    hand = load_shadow_hand()
    asset = build_object(ObjectSpec(category, "white", scale))
    obj = ObjectField.from_parts(asset.parts, seed=seed)
    parts = parts or GRASPABLE_PARTS[category]
    from vlgsim.sim.sapien_render import make_sapien_scene

    validator = GraspValidator(hand, asset, obj, make_sapien_scene)
    rows: dict[str, list] = {k: [] for k in ("grasps", "part", "energy", "valid", "pen", "spen", "held", "aligned",
                                             "fingers", "caption", "touch")}
    terms: dict[str, list] = {t: [] for t in TERMS}
    t_opt = t_val = 0.0
    for k, part in enumerate(parts):
        energy = GraspEnergy(hand, obj, part, per_part, device=device, weights=cfg.weights)
        others = obj.surface_points[obj.surface_part != obj.part_index(part)]
        n_valid = 0
        for rnd in range(max(1, max_rounds)):
            if rnd and n_valid >= min_valid:
                break
            rng = np.random.default_rng([seed, k] + ([rnd] if rnd else []))
            t0 = time.perf_counter()
            x0, active = initial_grasps(hand, asset.part(part).mesh, per_part, rng, cfg, others)
            res = optimize(energy, x0, active, cfg)
            depth = energy.evaluate(res.grasps, active)
            t1 = time.perf_counter()
            for i in range(per_part):
                v = validator.validate(res.grasps[i], part, float(depth["pen_depth"][i]),
                                       float(depth["spen_depth"][i]), float(depth["table_depth"][i]))
                rows["valid"].append(v.valid)
                rows["pen"].append(v.penetration_ok)
                rows["spen"].append(v.self_penetration_ok)
                rows["held"].append(v.held)
                rows["aligned"].append(v.part_aligned)
                rows["fingers"].append(",".join(v.contact_fingers))
                rows["caption"].append(v.caption)
                rows["touch"].append(int(obj.near_part(fingertips(hand, res.grasps[i])[0], part, PART_TOUCH_M).sum()))
            t_opt += t1 - t0
            t_val += time.perf_counter() - t1
            rows["grasps"].append(res.grasps)
            rows["part"] += [part] * per_part
            rows["energy"].append(res.energy)
            for t in TERMS:
                terms[t].append(res.terms[t])
            n_valid += int(np.sum(rows["valid"][-per_part:]))
        if on_part is not None:
            on_part(part, n_valid, rows["part"].count(part))
    return GraspSet(
        category=category, scale=scale, grasps=np.concatenate(rows["grasps"]), part=np.array(rows["part"]),
        energy=np.concatenate(rows["energy"]), terms={t: np.concatenate(v) for t, v in terms.items()},
        valid=np.array(rows["valid"]), penetration_ok=np.array(rows["pen"]), self_penetration_ok=np.array(rows["spen"]),
        held=np.array(rows["held"]), part_aligned=np.array(rows["aligned"]), contact_fingers=np.array(rows["fingers"]),
        caption=np.array(rows["caption"]), part_touch=np.array(rows["touch"]),
        meta={"device": device, "iterations": cfg.iterations, "per_part": per_part, "seed": seed,
              "min_valid": min_valid, "max_rounds": max_rounds,
              "optimise_s": round(t_opt, 2), "validate_s": round(t_val, 2)},
    )


def synthesize_grasp_sets(categories: list[str], workers: int = 1, **kwargs) -> Iterator[GraspSet]:
    """:func:`synthesize_grasp_set` for each category (same keyword arguments, no ``on_part``),
    yielded as each finishes. ``workers`` > 1 runs objects in that many processes (Warp's CPU
    kernels use one core each); one object's grasps do not depend on the others or on ``workers``."""
    if workers <= 1 or len(categories) <= 1:
        for c in categories:
            yield synthesize_grasp_set(c, **kwargs)
        return
    with ProcessPoolExecutor(min(workers, len(categories)), mp_context=get_context("spawn")) as pool:
        for fut in as_completed([pool.submit(synthesize_grasp_set, c, **kwargs) for c in categories]):
            yield fut.result()
