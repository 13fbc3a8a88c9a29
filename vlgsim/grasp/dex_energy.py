"""Host side of the dexterous grasp energy: device arrays, kernel launches, gradients.

``E = w_fc E_fc + w_dis (E_dis + w_palm E_palm) + w_bar E_bar + w_pen E_pen + w_spen E_spen
+ w_joints E_joints + w_table E_table`` (SPEC section 4). The weights are re-tuned from
DexGraspNet's (1, 100, 100, 10, 1) for our units and terms (see :class:`EnergyWeights`).
E_dis measures each finger's distal capsule, so the contact may slide along the fingertip.
The object sits in its own frame with the table plane at z = 0; ``E_table`` (hand spheres
below the table) is our addition for tabletop grasps.
The device is chosen at run time: ``"cpu"`` or ``"cuda"`` (:func:`pick_device`), same code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import trimesh
import warp as wp

from vlgsim.assets.objects import ObjectPart
from vlgsim.assets.shadow_hand import HandModel
from vlgsim.grasp import dex_kernels as K

wp.config.quiet = True
TERMS = ("fc", "dis", "palm", "bar", "pen", "spen", "joints", "table")


@dataclass(frozen=True)
class EnergyWeights:
    fc: float = 10.0
    dis: float = 1000.0
    palm: float = 0.1
    """w_dis * w_palm multiplies |d(palm, O) - d0|; a strong palm term holds the palm 1 cm off
    the surface and keeps the thumb from wrapping round the part."""
    bar: float = 3.0e4
    """The barrier is in metres squared (about 1e-4 at 5 mm): a large weight makes it bite."""
    pen: float = 1000.0
    spen: float = 300.0
    joints: float = 1.0
    table: float = 1000.0
    palm_d0_m: float = 0.01
    bar_threshold_m: float = 0.015
    link_bar_threshold_m: float = 0.01
    """E_bar also keeps the surface of every hand sphere this far from non-target parts (part
    alignment asks that no touching link be nearer another part)."""
    normal_h_m: float = 0.004
    """Central-difference step of the contact normals (the SDF gradient) in E_fc."""
    radial: float = 0.0
    """Blend (0..1) of each E_fc contact normal towards the direction from the target part's
    axis to the contact; :class:`~vlgsim.grasp.dex_synthesis.SynthesisConfig` anneals it to 0."""

    def vector(self) -> np.ndarray:
        return np.array([self.fc, self.dis, self.dis * self.palm, self.bar, self.pen, self.spen, self.joints,
                         self.table], np.float32)


def pick_device(device: str = "auto") -> str:
    """``auto`` -> ``cuda`` when Warp sees a GPU, else ``cpu``."""
    wp.init()
    if device == "auto":
        return "cuda" if wp.is_cuda_available() else "cpu"
    if device.startswith("cuda") and not wp.is_cuda_available():
        raise ValueError(f"device {device!r} requested but Warp sees no CUDA device; rule: cpu, cuda or auto")
    return device


def _vec3(a, device) -> wp.array:
    return wp.array(np.asarray(a, np.float32).reshape(-1, 3), dtype=wp.vec3, device=device)


def _quat_to_matrix(q: np.ndarray) -> np.ndarray:
    w, x, y, z = q
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


class HandArrays:
    """The hand model on a Warp device."""

    def __init__(self, hand: HandModel, device: str):
        self.hand, self.device = hand, device
        depth = hand.depth()
        self.levels = [wp.array(np.nonzero(depth == d)[0].astype(np.int32), dtype=int, device=device)
                       for d in range(1, depth.max() + 1)]
        self.parent = wp.array(hand.parent.astype(np.int32), dtype=int, device=device)
        self.joint = wp.array(hand.link_joint.astype(np.int32), dtype=int, device=device)
        self.origin_p = _vec3(hand.origin_pos, device)
        self.origin_R = wp.array(np.stack([_quat_to_matrix(q) for q in hand.origin_quat]).astype(np.float32),
                                 dtype=wp.mat33, device=device)
        self.axis = _vec3(hand.axis, device)
        self.lower = wp.array(hand.lower.astype(np.float32), device=device)
        self.upper = wp.array(hand.upper.astype(np.float32), device=device)
        self.couple = wp.array(np.array(hand.couplings, np.float32), dtype=float, device=device)
        self.tip_link = wp.array(hand.tip_link.astype(np.int32), dtype=int, device=device)
        self.tip_local = _vec3(hand.tip_point, device)
        self.palm_link = wp.array(np.zeros(1, np.int32), dtype=int, device=device)
        self.palm_local = _vec3(hand.palm_point, device)
        caps = hand.capsules
        self.cap_link = wp.array(np.array([c.link for c in caps], np.int32), dtype=int, device=device)
        self.cap_p0 = _vec3([c.p0 for c in caps], device)
        self.cap_p1 = _vec3([c.p1 for c in caps], device)
        self.cap_r = wp.array(np.array([c.radius for c in caps], np.float32), device=device)
        self.tip_cap = wp.array(hand.tip_capsule.astype(np.int32), dtype=int, device=device)
        self.box_link = wp.array(np.array([b.link for b in hand.boxes], np.int32), dtype=int, device=device)
        self.box_center = _vec3([b.center for b in hand.boxes], device)
        self.box_half = _vec3([b.half for b in hand.boxes], device)
        s_link, s_centre, s_r = hand.spheres()
        self.sphere_link = wp.array(s_link.astype(np.int32), dtype=int, device=device)
        self.sphere_local = _vec3(s_centre, device)
        self.sphere_r = wp.array(s_r.astype(np.float32), device=device)
        self.pairs = wp.array(hand.self_collision_pairs(), dtype=int, device=device)


@dataclass
class ObjectField:
    """An object for the energy: its mesh (SDF queries), surface points, and per target part
    the surface points of the other parts (for E_bar). Object frame, metres."""

    mesh: trimesh.Trimesh
    part_names: tuple[str, ...]
    surface_points: np.ndarray  # (N, 3) over the whole object
    surface_normals: np.ndarray  # (N, 3)
    surface_part: np.ndarray  # (N,) part index
    part_meshes: tuple[trimesh.Trimesh, ...] = ()
    center: np.ndarray = field(default_factory=lambda: np.zeros(3))

    @classmethod
    def from_parts(cls, parts: tuple[ObjectPart, ...], n_points: int = 1024, seed: int = 0) -> ObjectField:
        mesh = trimesh.util.concatenate([p.mesh for p in parts])
        pts, nrm, lab = [], [], []
        areas = np.array([p.mesh.area for p in parts])
        counts = np.maximum(32, np.round(n_points * areas / areas.sum()).astype(int))
        for i, (p, n) in enumerate(zip(parts, counts)):
            x, face = trimesh.sample.sample_surface_even(p.mesh, int(n), seed=seed + i)
            pts.append(x)
            nrm.append(p.mesh.face_normals[face])
            lab.append(np.full(len(x), i))
        return cls(mesh, tuple(p.name for p in parts), np.concatenate(pts), np.concatenate(nrm), np.concatenate(lab),
                   tuple(p.mesh for p in parts), mesh.centroid.copy())

    def part_index(self, name: str) -> int:
        if name not in self.part_names:
            raise KeyError(f"part {name!r} not in {self.part_names}")
        return self.part_names.index(name)

    def part_distances(self, x: np.ndarray) -> np.ndarray:
        """(M, P) distance (metres) from each point to the surface of each part (exact, on the
        part's mesh, unsigned: contact points lie on or just inside the surface)."""
        x = np.asarray(x, np.float64).reshape(-1, 3)
        out = np.zeros((len(x), len(self.part_names)))
        if not len(x):
            return out
        for i, m in enumerate(self.part_meshes):
            out[:, i] = trimesh.proximity.closest_point(m, x)[1]
        return out

    def near_part(self, x: np.ndarray, part: str, within_m: float = np.inf) -> np.ndarray:
        """(M,) bool: point within ``within_m`` of ``part`` and nearer it than any other part."""
        d = self.part_distances(x)
        t = self.part_index(part)
        return (d[:, t] <= within_m) & (d[:, t] <= d.min(axis=1) + 1e-9)


def part_axis(mesh: trimesh.Trimesh) -> tuple[np.ndarray, np.ndarray]:
    """The part's axis as a segment (two points, object frame): along its oriented bounding
    box's longest side, through the box centre, as long as that side exceeds the middle
    side (a point for a cube, the core of a handle)."""
    box = mesh.bounding_box_oriented.primitive
    T, ext = box.transform, np.sort(box.extents)
    k = int(np.argmax(box.extents))
    half = 0.5 * (ext[2] - ext[1]) * T[:3, k]
    return T[:3, 3] - half, T[:3, 3] + half


class GraspEnergy:
    """Batched energy of B hands on one object and one target part, differentiable with ``wp.Tape``."""

    def __init__(self, hand: HandModel, obj: ObjectField, target_part: str, batch: int, device: str = "cpu",
                 weights: EnergyWeights = EnergyWeights(), table_z: float | None = 0.0, max_dist_m: float = 1.0,
                 contacts_on_part: bool = True):
        """``contacts_on_part``: E_dis and E_fc measure the fingertips against the target part's
        own mesh (so the fingers are drawn onto that part, not onto whichever part is nearest:
        a bottle's neck lies 1 cm from its cap and its shoulder); False: the whole object."""
        self.h = HandArrays(hand, device)
        self.obj, self.B, self.device, self.weights = obj, batch, device, weights
        self.table_z = -1e3 if table_z is None else float(table_z)
        self.max_dist = float(max_dist_m)
        self.wp_mesh = wp.Mesh(points=_vec3(obj.mesh.vertices, device),
                               indices=wp.array(obj.mesh.faces.astype(np.int32).ravel(), dtype=int, device=device),
                               support_winding_number=True)
        t = obj.part_index(target_part)
        self.contact_mesh = self.wp_mesh
        if contacts_on_part and len(obj.part_meshes) > 1:
            pm = obj.part_meshes[t]
            self.contact_mesh = wp.Mesh(points=_vec3(pm.vertices, device),
                                        indices=wp.array(pm.faces.astype(np.int32).ravel(), dtype=int, device=device),
                                        support_winding_number=True)
        others = obj.surface_points[obj.surface_part != t]
        self.other_points = _vec3(others if len(others) else np.full((1, 3), 1e3), device)
        self.obj_points = _vec3(obj.surface_points, device)
        self.center = wp.vec3(*obj.center.astype(np.float32))
        a, b = part_axis(obj.part_meshes[t]) if obj.part_meshes else (obj.center, obj.center)
        self.axis_a, self.axis_b = wp.vec3(*np.float32(a)), wp.vec3(*np.float32(b))
        self.w = wp.array(weights.vector(), device=device)
        L, B = hand.n_links, batch
        z = lambda *shape, dtype=float: wp.zeros(shape, dtype=dtype, device=device, requires_grad=True)  # noqa: E731
        self.link_R, self.link_p = z(B, L, dtype=wp.mat33), z(B, L, dtype=wp.vec3)
        self.tips, self.palm = z(B, 5, dtype=wp.vec3), z(B, 1, dtype=wp.vec3)
        self.cap_a, self.cap_b = z(B, len(hand.capsules), dtype=wp.vec3), z(B, len(hand.capsules), dtype=wp.vec3)
        self.spheres = z(B, self.h.sphere_r.shape[0], dtype=wp.vec3)
        self.force, self.torque = z(B, dtype=wp.vec3), z(B, dtype=wp.vec3)
        self.terms = z(len(TERMS), B)
        self.total, self.loss = z(B), z(1)
        self.pen_depth, self.spen_depth, self.table_depth = (wp.zeros(B, device=device) for _ in range(3))
        self.tip_r = wp.zeros(5, device=device)
        self.all_spheres = wp.array(np.ones((B, self.h.sphere_r.shape[0]), np.float32), dtype=float, device=device)
        S, O, P, N = self.h.sphere_r.shape[0], self.obj_points.shape[0], len(hand.capsules) + len(hand.boxes), \
            self.other_points.shape[0]
        self._count = wp.zeros(1, dtype=int, device=device)
        self._pen_pairs = wp.zeros(B * O * P, dtype=wp.vec3i, device=device)
        self._in_obj_pairs = wp.zeros(B * S, dtype=wp.vec2i, device=device)
        self._tip_bar_pairs = wp.zeros(B * 5 * N, dtype=wp.vec3i, device=device)
        self._link_bar_pairs = wp.zeros(B * S * N, dtype=wp.vec3i, device=device)

    def set_weights(self, weights: EnergyWeights) -> None:
        self.weights = weights
        self.w.assign(weights.vector())

    def _compact(self, finder, dim, inputs, pairs) -> wp.array:
        """Run ``finder`` (no gradient) to list the few elements of a contact term that are
        active (inside the barrier range, penetrating), and return them: the taped kernel then
        runs over those only, so the adjoint pass does not replay the many inactive ones. The
        energy and its gradient are those of the dense launch (up to float summation order)."""
        self._count.zero_()
        wp.launch(finder, dim=dim, inputs=inputs + [self._count, pairs], device=self.device, record_tape=False)
        return pairs[: min(int(self._count.numpy()[0]), pairs.shape[0])]

    def _points(self, link, local, out):
        wp.launch(K.link_points, dim=out.shape, inputs=[self.link_R, self.link_p, link, local, out], device=self.device)

    def forward(self, x: wp.array, active: wp.array) -> None:
        """Fill ``terms`` (T, B), ``total`` (B,) and ``loss`` for grasps ``x`` (B, 31)."""
        h, d, B = self.h, self.device, self.B
        for a in (self.terms, self.total, self.loss, self.force, self.torque, self.pen_depth, self.spen_depth,
                  self.table_depth):
            a.zero_()
        wp.launch(K.fk_root, dim=B, inputs=[x, self.link_R, self.link_p], device=d)
        for level in h.levels:
            wp.launch(K.fk_level, dim=(B, level.shape[0]), inputs=[x, level, h.parent, h.joint, h.origin_p,
                                                                   h.origin_R, h.axis, self.link_R, self.link_p],
                      device=d)
        self._points(h.tip_link, h.tip_local, self.tips)
        self._points(h.palm_link, h.palm_local, self.palm)
        self._points(h.cap_link, h.cap_p0, self.cap_a)
        self._points(h.cap_link, h.cap_p1, self.cap_b)
        self._points(h.sphere_link, h.sphere_local, self.spheres)
        T = {name: self.terms[i] for i, name in enumerate(TERMS)}
        wp.launch(K.contact_distance, dim=(B, 5), inputs=[self.contact_mesh.id, self.cap_a, self.cap_b, h.cap_r, h.tip_cap,
                                                          active, self.center, self.axis_a, self.axis_b,
                                                          self.weights.radial, self.max_dist, self.weights.normal_h_m, T["dis"], self.force,
                                                          self.torque], device=d)
        wp.launch(K.force_closure, dim=B, inputs=[self.force, self.torque, T["fc"]], device=d)
        wp.launch(K.palm_distance, dim=B, inputs=[self.wp_mesh.id, self.palm, self.weights.palm_d0_m, self.max_dist,
                                                  T["palm"]], device=d)
        for points, radius, act, thr, pairs in ((self.tips, self.tip_r, active, self.weights.bar_threshold_m,
                                                 self._tip_bar_pairs),  # fingertips, then every link
                                                (self.spheres, h.sphere_r, self.all_spheres,
                                                 self.weights.link_bar_threshold_m, self._link_bar_pairs)):
            args = [points, radius, act, self.other_points, thr]
            found = self._compact(K.find_barrier_pairs, (B, points.shape[1]), args, pairs)
            if found.shape[0]:
                wp.launch(K.part_barrier, dim=found.shape[0], inputs=args + [found, T["bar"]], device=d)
        args = [self.obj_points, self.cap_a, self.cap_b, h.cap_r, self.link_R, self.link_p, h.box_link, h.box_center,
                h.box_half]
        found = self._compact(K.find_object_in_hand, (B, self.obj_points.shape[0]), args, self._pen_pairs)
        if found.shape[0]:
            wp.launch(K.object_in_hand, dim=found.shape[0], inputs=args + [found, T["pen"], self.pen_depth], device=d)
        args = [self.wp_mesh.id, self.spheres, h.sphere_r, self.max_dist]
        found = self._compact(K.find_hand_in_object, (B, h.sphere_r.shape[0]), args, self._in_obj_pairs)
        if found.shape[0]:
            wp.launch(K.hand_in_object, dim=found.shape[0], inputs=args + [found, T["pen"], self.pen_depth], device=d)
        wp.launch(K.self_penetration, dim=(B, h.pairs.shape[0]),
                  inputs=[self.spheres, h.sphere_r, h.pairs, T["spen"], self.spen_depth], device=d)
        wp.launch(K.below_table, dim=(B, h.sphere_r.shape[0]), inputs=[self.spheres, h.sphere_r, self.table_z,
                                                                       T["table"], self.table_depth], device=d)
        wp.launch(K.joint_limits, dim=(B, h.lower.shape[0]), inputs=[x, h.lower, h.upper, h.couple, T["joints"]],
                  device=d)
        wp.launch(K.weighted_sum, dim=(len(TERMS), B), inputs=[self.terms, self.w, self.total, self.loss], device=d)

    def evaluate(self, x: np.ndarray, active: np.ndarray, grad: bool = False) -> dict:
        """Energies (and, with ``grad``, dE/dx) of grasps ``x`` (B, 31) with fingertip masks ``active`` (B, 5)."""
        xa = wp.array(np.asarray(x, np.float32), dtype=float, device=self.device, requires_grad=grad)
        aa = wp.array(np.asarray(active, np.float32), dtype=float, device=self.device)
        tape = wp.Tape() if grad else None
        if grad:
            with tape:
                self.forward(xa, aa)
            tape.backward(self.loss)
        else:
            self.forward(xa, aa)
        out = {name: self.terms.numpy()[i].copy() for i, name in enumerate(TERMS)}
        out["total"] = self.total.numpy().copy()
        for name in ("pen_depth", "spen_depth", "table_depth"):
            out[name] = getattr(self, name).numpy().copy()
        out["tips"] = self.tips.numpy().copy()
        if grad:
            out["grad"] = xa.grad.numpy().copy()
            tape.zero()
        return out

