"""Grasp sets: synthesise, validate and caption dexterous grasps for one object, per part.

:func:`synthesize_grasp_set` runs, for every graspable part of an object, part-aware
initialisation + Warp energy optimisation (:mod:`dex_synthesis`) and SAPIEN validation
(:mod:`dex_validate`), and returns a :class:`GraspSet`; :mod:`vlgsim.data.grasp_sets`
writes and reads them (one compressed ``.npz`` per object, SPEC section 6).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from vlgsim.assets import ObjectSpec, build_object
from vlgsim.assets.objects import GRASPABLE_PARTS
from vlgsim.assets.shadow_hand import load_shadow_hand
from vlgsim.grasp.dex_energy import TERMS, GraspEnergy, ObjectField, pick_device
from vlgsim.grasp.dex_library import version_meta
from vlgsim.grasp.dex_synthesis import SynthesisConfig, initial_grasps, optimize
from vlgsim.grasp.dex_validate import GraspValidator
from vlgsim.grasp.dexterous import fingertips
from vlgsim.workers import Backend, WorkerSpec, run_units

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
    force_closure: np.ndarray | None = None
    """(N,) LP force-closure margin of the settled contacts (> 0: closure); None in older files."""

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


@dataclass
class ObjectSetup:
    """What synthesising any part of one object needs: hand, asset, object field, validator."""

    category: str
    scale: float
    seed: int
    device: str

    def __post_init__(self):
        from vlgsim.sim.sapien_render import make_sapien_scene

        self.device = pick_device(self.device)
        self.hand = load_shadow_hand()
        self.asset = build_object(ObjectSpec(self.category, "white", self.scale))
        self.obj = ObjectField.from_parts(self.asset.parts, seed=self.seed)
        self.validator = GraspValidator(self.hand, self.asset, self.obj, make_sapien_scene)


@dataclass
class PartGrasps:
    """The grasps of one part of one object (one or more batches), in a :class:`GraspSet`'s columns."""

    part: str
    rows: dict
    terms: dict
    optimise_s: float
    validate_s: float
    device: str
    """The Warp device the worker used (``auto`` resolved there)."""
    first_round: tuple[int, int] = (0, 0)
    """(valid, attempts) of the first batch alone, before any top-up round."""


def synthesize_part(setup: ObjectSetup, k: int, part: str, per_part: int = 32,
                    cfg: SynthesisConfig = SynthesisConfig(), min_valid: int = 0, max_rounds: int = 1,
                    batch: int = 0) -> PartGrasps:
    """Optimise, validate and caption ``per_part`` grasps of ``part`` (the object's ``k``-th part in
    the synthesis order: it seeds the part's initialisations with ``[seed, k]``, and batch
    ``batch`` > 0 of a part split into several with ``[seed, k, 0, batch]``)."""
    hand, asset, obj, validator, seed = setup.hand, setup.asset, setup.obj, setup.validator, setup.seed
    rows: dict[str, list] = {key: [] for key in ("grasps", "energy", "valid", "pen", "spen", "held", "aligned",
                                                 "fingers", "caption", "touch", "fc")}
    terms: dict[str, list] = {t: [] for t in TERMS}
    t_opt = t_val = 0.0
    energy = GraspEnergy(hand, obj, part, per_part, device=setup.device, weights=cfg.weights,
                         contacts_on_part=cfg.contacts_on_part)
    others = obj.surface_points[obj.surface_part != obj.part_index(part)]
    n_valid = 0
    for rnd in range(max(1, max_rounds)):
        if rnd and n_valid >= min_valid:
            break
        rng = np.random.default_rng([seed, k] + ([rnd] if rnd or batch else []) + ([batch] if batch else []))
        t0 = time.perf_counter()
        x0, active = initial_grasps(hand, asset.part(part).mesh, per_part, rng, cfg, others)
        res = optimize(energy, x0, active, cfg, rng)
        depth = energy.evaluate(res.grasps, res.active)
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
            rows["fc"].append(v.force_closure)
            rows["touch"].append(int(obj.near_part(fingertips(hand, res.grasps[i])[0], part, PART_TOUCH_M).sum()))
        t_opt += t1 - t0
        t_val += time.perf_counter() - t1
        rows["grasps"].append(res.grasps)
        rows["energy"].append(res.energy)
        for t in TERMS:
            terms[t].append(res.terms[t])
        n_valid += int(np.sum(rows["valid"][-per_part:]))
        if rnd == 0:
            first = (n_valid, per_part)
    return PartGrasps(part, rows, terms, t_opt, t_val, setup.device, first)


def assemble_grasp_set(category: str, scale: float, parts: list[PartGrasps], seed: int, cfg: SynthesisConfig,
                       per_part: int, min_valid: int, max_rounds: int) -> GraspSet:
    """One object's :class:`GraspSet` from its parts' grasps, in part order."""
    cat = lambda key: [x for p in parts for x in p.rows[key]]  # noqa: E731
    return GraspSet(
        category=category, scale=scale, grasps=np.concatenate(cat("grasps")),
        part=np.array([p.part for p in parts for _ in range(sum(len(g) for g in p.rows["grasps"]))]),
        energy=np.concatenate(cat("energy")), terms={t: np.concatenate([x for p in parts for x in p.terms[t]])
                                                     for t in TERMS},
        valid=np.array(cat("valid")), penetration_ok=np.array(cat("pen")), self_penetration_ok=np.array(cat("spen")),
        held=np.array(cat("held")), part_aligned=np.array(cat("aligned")), contact_fingers=np.array(cat("fingers")),
        caption=np.array(cat("caption")), part_touch=np.array(cat("touch")), force_closure=np.array(cat("fc")),
        meta={**version_meta(category, scale), "device": parts[0].device, "iterations": cfg.iterations,
              "per_part": per_part, "seed": seed, "min_valid": min_valid, "max_rounds": max_rounds,
              "optimise_s": round(sum(p.optimise_s for p in parts), 2),
              "validate_s": round(sum(p.validate_s for p in parts), 2),
              "first_round": {p.part: {"valid": p.first_round[0], "attempts": p.first_round[1]} for p in parts}},
    )


def synthesize_grasp_set(category: str, scale: float = 1.0, per_part: int = 32, parts: tuple[str, ...] | None = None,
                         device: str = "auto", seed: int = 0, cfg: SynthesisConfig = SynthesisConfig(),
                         on_part=None, min_valid: int = 0, max_rounds: int = 1) -> GraspSet:
    """Optimise ``per_part`` grasps on each graspable part of the object, validate, caption.
    A part with fewer than ``min_valid`` valid grasps gets another batch of ``per_part`` (new
    initialisations), up to ``max_rounds`` batches in all; every batch is kept in the set."""
    setup = ObjectSetup(category, scale, seed, device)
    done = []
    for k, part in enumerate(parts or GRASPABLE_PARTS[category]):
        done.append(synthesize_part(setup, k, part, per_part, cfg, min_valid, max_rounds))
        if on_part is not None:
            on_part(part, int(np.sum(done[-1].rows["valid"])), len(done[-1].rows["valid"]))
    return assemble_grasp_set(category, scale, done, seed, cfg, per_part, min_valid, max_rounds)


@dataclass
class PartWorker:
    """A worker's :class:`ObjectSetup` of every object it has worked on (kept between units)."""

    options: dict
    setups: dict[str, ObjectSetup] = field(default_factory=dict)

    def run(self, unit: tuple[str, int, str, int, int]) -> PartGrasps:
        category, k, part, b, n = unit
        o = self.options
        if category not in self.setups:
            self.setups[category] = ObjectSetup(category, o["scale"], o["seed"], o["device"])
        return synthesize_part(self.setups[category], k, part, n, o["cfg"], o["unit_min_valid"], o["max_rounds"], b)


def _part_worker(options: dict) -> PartWorker:
    return PartWorker(options)


def _part_unit(worker: PartWorker, unit: tuple) -> PartGrasps:
    return worker.run(unit)


def part_units(categories: list[str], per_part: int, batch: int) -> list[tuple[str, int, str, int, int]]:
    """The units of work: ``(category, k, part, batch index, grasps)``, each part split into
    batches of at most ``batch`` grasps, largest first across objects (longest-processing-time
    order), so that the last units to finish are small and no worker idles while another
    still has a whole object's parts to do."""
    sizes = [min(batch, per_part - i) for i in range(0, per_part, max(batch, 1))]
    units = [(c, k, p, b, n) for c in categories for k, p in enumerate(GRASPABLE_PARTS[c])
             for b, n in enumerate(sizes)]
    return sorted(units, key=lambda u: -u[4])


def merge_batches(batches: list[PartGrasps]) -> PartGrasps:
    """One part's :class:`PartGrasps` from its batches, in batch order."""
    if len(batches) == 1:
        return batches[0]
    rows = {key: [x for pg in batches for x in pg.rows[key]] for key in batches[0].rows}
    terms = {t: [x for pg in batches for x in pg.terms[t]] for t in batches[0].terms}
    return PartGrasps(batches[0].part, rows, terms, sum(pg.optimise_s for pg in batches),
                      sum(pg.validate_s for pg in batches), batches[0].device,
                      tuple(int(sum(pg.first_round[i] for pg in batches)) for i in range(2)))


def synthesize_grasp_sets(categories: list[str], workers: int = 1, backend: Backend | None = None, scale: float = 1.0,
                          per_part: int = 32, device: str = "auto", seed: int = 0,
                          cfg: SynthesisConfig = SynthesisConfig(), min_valid: int = 0,
                          max_rounds: int = 1, batch: int = 32) -> Iterator[GraspSet]:
    """:func:`synthesize_grasp_set` for each category, yielded as each object finishes. The
    units of work are batches of at most ``batch`` grasps of one object part
    (:func:`part_units`), run by ``backend`` (default: ``workers`` local processes; or Ray
    actors); a batch's grasps do not depend on which worker ran it (Warp's CPU kernels use one
    core per process). With ``per_part <= batch`` the grasps are those of
    :func:`synthesize_grasp_set`. A part split into B batches tops up each batch that has fewer
    than ``ceil(min_valid / B)`` valid grasps."""
    units = part_units(categories, per_part, batch)
    n_batches = -(-per_part // max(batch, 1))
    options = dict(scale=scale, device=device, seed=seed, cfg=cfg, max_rounds=max_rounds,
                   unit_min_valid=-(-min_valid // n_batches))
    got: dict[str, dict[tuple[int, int], PartGrasps]] = {c: {} for c in categories}
    for i, pg in run_units(WorkerSpec(partial(_part_worker, options), _part_unit), units,
                           backend or Backend("local", workers)):
        c, k, _, b, _ = units[i]
        got[c][k, b] = pg
        if len(got[c]) == len(GRASPABLE_PARTS[c]) * n_batches:
            parts = [merge_batches([got[c][j, b] for b in range(n_batches)]) for j in range(len(GRASPABLE_PARTS[c]))]
            yield assemble_grasp_set(c, scale, parts, seed, cfg, per_part, min_valid, max_rounds)
