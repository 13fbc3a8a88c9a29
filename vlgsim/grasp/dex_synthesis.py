"""Part-aware dexterous grasp synthesis: initialise on the target part, optimise the energy.

Initialisation (DexVLG): a point on a face of the target part's oriented bounding box that
points neither down into the table nor into another part (the best of a few draws for
clearance from the other parts), the palm placed 2-6 cm out along
that face's normal and facing it, the fingers along the face's shorter side, joints in a
slightly closed pose with the thumb opposed, all jittered. Optimisation: Adam on
``[xyz, rot6d, q]`` with per-dimension step sizes and a decaying learning rate, joints
projected into their limits, gradients from :class:`~vlgsim.grasp.dex_energy.GraspEnergy`
(Warp tape); the collision weights ramp up over the second half (``late_gain``), and over the
first half E_fc's contact normals fade from a blend with the radial direction from the part's
axis to the true surface normals (``radial_start``: on flat faces the true normals give no
gradient that moves a contact to the opposite face).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import trimesh
import warp as wp

from vlgsim.assets.shadow_hand import FINGERS, JOINT_NAMES, HandModel
from vlgsim.grasp import dex_kernels as K
from vlgsim.grasp.dex_energy import TERMS, EnergyWeights, GraspEnergy
from vlgsim.grasp.dexterous import GRASP_DIM, fingertips, forward_kinematics, make_grasp
from vlgsim.scenes.part_grasp import FINGER_SETS



@dataclass(frozen=True)
class SynthesisConfig:
    iterations: int = 400
    lr_pos_m: float = 0.004
    lr_rot: float = 0.04
    lr_joint_rad: float = 0.05
    lr_final_fraction: float = 0.1
    palm_distance_m: tuple[float, float] = (0.02, 0.06)
    weights: EnergyWeights = EnergyWeights()
    late_gain: float = 3.0
    """The penetration, self-penetration and table weights ramp linearly from 1x at ``late_start``
    (fraction of the iterations) to this factor at the end: force closure shapes the grasp
    first, then the hand is pushed out of collisions (annealing, as DexGraspNet's schedule)."""
    late_start: float = 0.5
    face_draws: int = 4
    """Points drawn on the chosen OBB face; the initial grasp aims at the one farthest from the
    object's other parts (1: a uniform point)."""
    radial_start: float = 0.5
    """E_fc's radial blend (:attr:`EnergyWeights.radial`) at the first iteration; it falls
    linearly to 0 at ``late_start``, so the end of the run scores true surface normals."""

    pinch_share: float = 0.0
    """Share of the hands on a small part (:attr:`pinch_max_width_m`) initialised as a precision
    pinch (:func:`pinch_grasp`) instead of the palm-on-face pose."""
    pinch_max_width_m: float = 0.035
    """A part is small when its oriented bounding box's middle side is at most this (a bottle's
    neck and cap, a mug's handle, a hammer's handle and head, a screwdriver, a marker)."""
    pinch_sets: tuple[tuple[str, ...], ...] = (("thumb", "index", "middle"),)
    """Finger sets of the pinch initialisation (the other fingers start curled into the palm)."""
    pinch_wrap: float = 0.0
    """Share of the pinch initialisations that are wraps instead: the pinching fingers curled
    round the part (the centre of their phalanges, not of their tips, on the part), so the
    proximal, middle and distal phalanges touch it at different angles round it."""

    contacts_on_part: bool = True
    """E_dis and E_fc against the target part's own mesh (:class:`GraspEnergy`)."""
    annealing: bool = False
    """DexGraspNet's annealed MCMC on top of Adam (``utils/optimizer.py`` ``Annealing``): every
    step is a proposal, accepted with probability min(1, exp((E - E') / T)); a rejected hand
    returns to its last accepted grasp, finger set and gradient. T starts at
    ``anneal_t0`` and decays by ``anneal_decay`` every ``anneal_period`` iterations."""
    anneal_t0: float = 1.0
    anneal_decay: float = 0.9
    anneal_period: int = 20
    switch_p: float = 0.01
    """Contact switching: per step and hand, the chance that its finger set (the fingertips E_dis
    and E_fc use) is redrawn from FINGER_SETS, over the first ``late_start`` of the run; the
    accept test keeps a switch only when the energy allows it (DexGraspNet resamples its
    contact points the same way, with probability 0.5 per point)."""

    def temperature(self, it: int) -> float:
        return self.anneal_t0 * self.anneal_decay ** (it // max(self.anneal_period, 1))

    def weights_at(self, it: int) -> EnergyWeights:
        frac = it / max(self.iterations - 1, 1)
        g = 1.0 + (self.late_gain - 1.0) * max(0.0, (frac - self.late_start) / max(1.0 - self.late_start, 1e-9))
        w = self.weights
        radial = self.radial_start * max(0.0, 1.0 - frac / max(self.late_start, 1e-9))
        return replace(w, pen=w.pen * g, spen=w.spen * g, table=w.table * g, radial=radial)


@dataclass
class SynthesisResult:
    grasps: np.ndarray  # (B, 31) object frame
    active: np.ndarray  # (B, 5) fingertip mask the energy used
    energy: np.ndarray  # (B,) final total
    terms: dict[str, np.ndarray]  # final per-term energies (B,)
    initial_energy: np.ndarray  # (B,)
    energy_trace: np.ndarray  # (iterations + 1,) mean total energy


def _obb_faces(part_mesh: trimesh.Trimesh, other_points: np.ndarray | None) -> list[tuple]:
    """Faces of the part's oriented bounding box a hand can approach: ``(centre, normal, axis,
    extents)`` for each face not pointing down into the table and not covered by another part
    (another part's surface within 3 cm in front of the face, over the face). When every face
    is covered, all faces not pointing down are kept."""
    box = part_mesh.bounding_box_oriented
    T, ext = box.primitive.transform, box.primitive.extents
    faces, free = [], []
    for axis in range(3):
        for sign in (-1.0, 1.0):
            normal = T[:3, :3][:, axis] * sign
            if normal[2] <= -0.7:
                continue
            centre = T[:3, 3] + normal * ext[axis] / 2
            face = (centre, normal, axis, ext)
            faces.append(face)
            if other_points is None or not len(other_points):
                free.append(face)
                continue
            local = (other_points - centre) @ T[:3, :3]
            lateral = np.delete(np.abs(local), axis, axis=1) <= np.delete(ext, axis) / 2
            ahead = (local[:, axis] * sign > -0.005) & (local[:, axis] * sign < 0.03)
            if not np.any(ahead & lateral.all(axis=1)):
                free.append(face)
    return free or faces


def _clearance(x: np.ndarray, other_points: np.ndarray | None) -> float:
    """Distance (metres) from ``x`` to the nearest surface point of the other parts."""
    if other_points is None or not len(other_points):
        return 0.0
    return float(np.min(np.linalg.norm(other_points - x, axis=1)))


def initial_grasps(hand: HandModel, part_mesh: trimesh.Trimesh, n: int, rng: np.random.Generator,
                   cfg: SynthesisConfig = SynthesisConfig(),
                   other_points: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(n, 31) part-aware initial grasps and (n, 5) fingertip masks, object frame.

    A free face of the target part's OBB (see :func:`_obb_faces`; ``other_points`` are the
    surface points of the object's other parts), a point on it (of ``face_draws`` uniform
    draws, the one farthest from the other parts), the palm ``palm_distance_m``
    out along its normal and facing it; the fingers point along the face's shorter side (3 in
    4 draws; otherwise the longer side), so they can wrap across the part, turned by a little
    jitter; joints slightly closed with the thumb opposed. On a small part, a share
    ``cfg.pinch_share`` of the hands (default none) starts as a pinch or wrap instead
    (:func:`pinch_grasp`, same face and orientation)."""
    J = {name: i for i, name in enumerate(JOINT_NAMES)}
    faces = _obb_faces(part_mesh, other_points)
    T = part_mesh.bounding_box_oriented.primitive.transform
    small = np.sort(part_mesh.bounding_box_oriented.primitive.extents)[1] <= cfg.pinch_max_width_m
    grasps, active = [], []
    for _ in range(n):
        centre, nv, axis, ext = faces[rng.integers(len(faces))]
        in_plane = [k for k in range(3) if k != axis]
        in_plane.sort(key=lambda k: ext[k])
        along = in_plane[0] if rng.random() < 0.75 else in_plane[1]
        offsets = [sum(rng.uniform(-0.5, 0.5) * ext[k] * T[:3, k] for k in in_plane) for _ in range(cfg.face_draws)]
        offset = max(offsets, key=lambda o: _clearance(centre + o, other_points))
        z = T[:3, along] * rng.choice([-1.0, 1.0])
        y = nv  # the palm faces -y: -y points into the part
        R = np.stack([np.cross(y, z), y, z], axis=1)
        R = R @ trimesh.transformations.rotation_matrix(rng.normal(0, 0.25), [0, 1, 0])[:3, :3]
        if small and cfg.pinch_share > 0 and rng.random() < cfg.pinch_share:
            fs = cfg.pinch_sets[rng.integers(len(cfg.pinch_sets))]
            target = T[:3, 3] + 0.5 * offset  # near the part's centre, towards the chosen point
            wrap = cfg.pinch_wrap > 0 and rng.random() < cfg.pinch_wrap  # no draw when off
            grasps.append(pinch_grasp(hand, target, R, fs, rng, wrap=bool(wrap)))
            active.append(_finger_mask(fs))
            continue
        palm_world = centre + offset + nv * rng.uniform(*cfg.palm_distance_m)
        q = np.zeros(len(JOINT_NAMES))
        for f in ("FF", "MF", "RF", "LF"):
            q[J[f + "J3"]] = rng.normal(0, 0.1)
            for k in (2, 1, 0):
                q[J[f"{f}J{k}"]] = rng.uniform(0.1, 0.4)
        q[J["LFJ4"]] = rng.uniform(0, 0.2)
        q[J["THJ4"]], q[J["THJ3"]] = rng.uniform(0.6, 1.0), rng.uniform(0.6, 1.1)
        q[J["THJ2"]], q[J["THJ1"]], q[J["THJ0"]] = rng.normal(0, 0.05), rng.normal(0, 0.1), rng.uniform(-0.4, 0.0)
        q = np.clip(q, hand.lower, hand.upper)
        grasps.append(make_grasp(palm_world - R @ hand.palm_point, R, q))
        active.append(_finger_mask(FINGER_SETS[rng.integers(len(FINGER_SETS))]))
    return np.array(grasps), np.array(active)


def pinch_grasp(hand: HandModel, target: np.ndarray, R: np.ndarray, fingers: tuple[str, ...],
                rng: np.random.Generator, wrap: bool = False) -> np.ndarray:
    """(31,) a precision-pinch initial grasp, object frame: ``fingers`` half closed with the
    thumb opposed, the others curled into the palm (out of the way of neighbouring parts), and
    the hand (rotation ``R``, palm facing ``-R[:, 1]``) placed so that the mean of the pinching
    fingertips lies at ``target`` (metres, object frame): the part sits between the fingertips
    rather than against the palm, so the tips can close around a part narrower than the hand
    and spread round it (contacts round a thin neck resist a turn about it). ``wrap``: the
    fingers (not the thumb) curled further and the mean of their joints and tips (the centre of
    the ring they make) at ``target``: a hook round a handle or neck."""
    J = {name: i for i, name in enumerate(JOINT_NAMES)}
    q = np.zeros(len(JOINT_NAMES))
    for f, name in zip(("FF", "MF", "RF", "LF"), ("index", "middle", "ring", "little")):
        curl = ((0.6, 0.9), (0.8, 1.2), (0.6, 1.0)) if wrap else ((0.3, 0.7), (0.2, 0.5), (0.1, 0.4))
        ranges = curl if name in fingers else ((1.2, 1.5),) * 3
        for k, (a, b) in zip((2, 1, 0), ranges):
            q[J[f"{f}J{k}"]] = rng.uniform(a, b)
        q[J[f + "J3"]] = rng.normal(0, 0.05)
    q[J["THJ4"]], q[J["THJ3"]] = rng.uniform(0.8, 1.1), rng.uniform(0.8, 1.2)
    q[J["THJ2"]], q[J["THJ1"]], q[J["THJ0"]] = rng.normal(0, 0.05), rng.uniform(0.0, 0.3), rng.uniform(-0.5, -0.1)
    q = np.clip(q, hand.lower, hand.upper)
    g0 = make_grasp(np.zeros(3), np.eye(3), q)
    tips = fingertips(hand, g0)[0]
    centre = tips[[FINGERS.index(f) for f in fingers]].mean(axis=0)  # hand frame
    if wrap:
        X = forward_kinematics(hand, g0)
        ring = [X[k, :3, 3] for k in range(hand.n_links) if hand.link_finger[k] >= 0
                and FINGERS[hand.link_finger[k]] in fingers and FINGERS[hand.link_finger[k]] != "thumb"]
        ring += [tips[FINGERS.index(f)] for f in fingers if f != "thumb"]
        centre = np.mean(ring, axis=0)
    return make_grasp(np.asarray(target, float) - R @ centre, R, q)


def _finger_mask(fs: tuple[str, ...]) -> list[float]:
    return [1.0 if f in fs else 0.0 for f in FINGERS]


def optimize(energy: GraspEnergy, x0: np.ndarray, active: np.ndarray,
             cfg: SynthesisConfig = SynthesisConfig(), rng: np.random.Generator | None = None) -> SynthesisResult:
    """Adam on the batched energy, with DexGraspNet's annealed accept/reject and contact
    switching when ``cfg.annealing`` (``rng`` draws them); returns the optimised grasps, their
    final finger sets and energies."""
    d, B = energy.device, x0.shape[0]
    if x0.shape != (energy.B, GRASP_DIM):
        raise ValueError(f"initial grasps have shape {x0.shape}; rule: ({energy.B}, {GRASP_DIM})")
    x = wp.array(x0.astype(np.float32), dtype=float, device=d, requires_grad=True)
    act = wp.array(active.astype(np.float32), dtype=float, device=d)
    m, v = wp.zeros_like(x), wp.zeros_like(x)
    lr0 = np.concatenate([np.full(3, cfg.lr_pos_m), np.full(6, cfg.lr_rot), np.full(GRASP_DIM - 9, cfg.lr_joint_rad)])
    lr = wp.array(lr0.astype(np.float32), device=d)
    trace, initial = [], None
    rng = rng if rng is not None else np.random.default_rng(0)
    masks = np.array([_finger_mask(fs) for fs in FINGER_SETS], np.float32)
    prev = None  # last accepted (x, grad, active, energy)
    tape = wp.Tape()
    for it in range(cfg.iterations):
        energy.set_weights(cfg.weights_at(it))
        with tape:
            energy.forward(x, act)
        tape.backward(energy.loss)
        total = energy.total.numpy().copy()
        if initial is None:
            initial = total.copy()
        if cfg.annealing:
            terms = energy.terms.numpy().copy()
            if prev is not None:
                # the last accepted grasp's energy under this step's weights (they ramp)
                before = energy.weights.vector() @ prev[3]
                with np.errstate(over="ignore"):
                    accept = rng.random(B) < np.exp(np.minimum((before - total) / cfg.temperature(it), 50.0))
                reject = ~accept & np.isfinite(before)
                if reject.any():
                    for arr, old in ((x, prev[0]), (x.grad, prev[1]), (act, prev[2])):
                        a = arr.numpy()
                        a[reject] = old[reject]
                        arr.assign(a)
                    total[reject] = before[reject]
                    terms[:, reject] = prev[3][:, reject]
            prev = (x.numpy().copy(), x.grad.numpy().copy(), act.numpy().copy(), terms)
        trace.append(float(total.mean()))
        decay = cfg.lr_final_fraction ** (it / max(cfg.iterations - 1, 1))
        lr.assign((lr0 * decay).astype(np.float32))
        wp.launch(K.adam_step, dim=(B, GRASP_DIM), inputs=[x, x.grad, m, v, lr, float(it + 1), energy.h.lower,
                                                            energy.h.upper], device=d)
        tape.reset()
        if cfg.annealing and cfg.switch_p > 0 and it < cfg.late_start * cfg.iterations:
            switch = rng.random(B) < cfg.switch_p
            if switch.any():
                a = act.numpy()
                a[switch] = masks[rng.integers(len(masks), size=int(switch.sum()))]
                act.assign(a)
    energy.set_weights(cfg.weights)
    energy.forward(x, act)
    final = energy.total.numpy().copy()
    trace.append(float(final.mean()))
    terms = {name: energy.terms.numpy()[i].copy() for i, name in enumerate(TERMS)}
    return SynthesisResult(x.numpy().astype(np.float64), act.numpy().astype(np.float64), final, terms,
                           initial if initial is not None else final, np.array(trace))
