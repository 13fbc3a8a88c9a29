"""NVIDIA Warp kernels for dexterous grasp synthesis: forward kinematics and energy terms.

One job per kernel, float32, launched over (hand, element). The contact terms (E_pen, E_bar)
are sparse: a ``find_*`` kernel (not taped) lists the few active elements and the taped kernel
runs over those only, so the tape's adjoint pass does not replay the inactive ones (3x less
time per Adam step; energies and gradients bitwise equal to the dense launch on CPU). Energies are accumulated per
hand with ``wp.atomic_add`` so ``wp.Tape`` differentiates every term with respect to the
31-D grasp parameters ``x[b] = [xyz, rot6d, q22]``. Everything is in the object frame
(metres, the table plane is z = 0). The host code that launches these is
:mod:`vlgsim.grasp.dex_energy`.
"""

from __future__ import annotations

import warp as wp


@wp.func
def rot6d_matrix(a: wp.vec3, c: wp.vec3) -> wp.mat33:
    """Columns: a normalised, c made orthogonal to it and normalised, their cross product."""
    e0 = wp.normalize(a)
    e1 = wp.normalize(c - wp.dot(e0, c) * e0)
    e2 = wp.cross(e0, e1)
    return wp.mat33(e0[0], e1[0], e2[0], e0[1], e1[1], e2[1], e0[2], e1[2], e2[2])


@wp.kernel
def fk_root(x: wp.array2d(dtype=float), link_R: wp.array2d(dtype=wp.mat33), link_p: wp.array2d(dtype=wp.vec3)):
    b = wp.tid()
    link_R[b, 0] = rot6d_matrix(wp.vec3(x[b, 3], x[b, 4], x[b, 5]), wp.vec3(x[b, 6], x[b, 7], x[b, 8]))
    link_p[b, 0] = wp.vec3(x[b, 0], x[b, 1], x[b, 2])


@wp.kernel
def fk_level(x: wp.array2d(dtype=float), links: wp.array(dtype=int), parent: wp.array(dtype=int),
             joint: wp.array(dtype=int), origin_p: wp.array(dtype=wp.vec3), origin_R: wp.array(dtype=wp.mat33),
             axis: wp.array(dtype=wp.vec3), link_R: wp.array2d(dtype=wp.mat33), link_p: wp.array2d(dtype=wp.vec3)):
    """Links of one tree depth: pose = parent pose * joint origin * rotation(axis, q)."""
    b, k = wp.tid()
    lk = links[k]
    pa = parent[lk]
    Rp = link_R[b, pa]
    Rj = wp.quat_to_matrix(wp.quat_from_axis_angle(axis[lk], x[b, 9 + joint[lk]]))
    link_R[b, lk] = Rp * origin_R[lk] * Rj
    link_p[b, lk] = link_p[b, pa] + Rp * origin_p[lk]


@wp.kernel
def link_points(link_R: wp.array2d(dtype=wp.mat33), link_p: wp.array2d(dtype=wp.vec3), link: wp.array(dtype=int),
                local: wp.array(dtype=wp.vec3), out: wp.array2d(dtype=wp.vec3)):
    """Points given in their link's frame -> object frame."""
    b, i = wp.tid()
    lk = link[i]
    out[b, i] = link_p[b, lk] + link_R[b, lk] * local[i]


@wp.func
def object_distance(mesh: wp.uint64, x: wp.vec3, max_dist: float) -> float:
    """Signed distance (negative inside, winding-number test) of ``x`` to the object surface.
    Differentiable in ``x``: the closest point is held fixed (envelope theorem)."""
    q = wp.mesh_query_point_sign_winding_number(mesh, x, max_dist)
    if q.result:
        return q.sign * wp.length(x - wp.mesh_eval_position(mesh, q.face, q.u, q.v))
    return max_dist


@wp.func
def object_normal(mesh: wp.uint64, x: wp.vec3, max_dist: float, h: float) -> wp.vec3:
    """Outward surface normal at ``x`` as the central-difference gradient of the signed
    distance over ``h``: smooth across edges and differentiable on curved surfaces."""
    gx = object_distance(mesh, x + wp.vec3(h, 0.0, 0.0), max_dist) - object_distance(mesh, x - wp.vec3(h, 0.0, 0.0), max_dist)
    gy = object_distance(mesh, x + wp.vec3(0.0, h, 0.0), max_dist) - object_distance(mesh, x - wp.vec3(0.0, h, 0.0), max_dist)
    gz = object_distance(mesh, x + wp.vec3(0.0, 0.0, h), max_dist) - object_distance(mesh, x - wp.vec3(0.0, 0.0, h), max_dist)
    return wp.normalize(wp.vec3(gx, gy, gz) + wp.vec3(0.0, 0.0, 1.0e-9))


@wp.kernel
def contact_distance(mesh: wp.uint64, cap_a: wp.array2d(dtype=wp.vec3), cap_b: wp.array2d(dtype=wp.vec3),
                     cap_r: wp.array(dtype=float), tip_cap: wp.array(dtype=int), active: wp.array2d(dtype=float),
                     center: wp.vec3, axis_a: wp.vec3, axis_b: wp.vec3, radial: float, max_dist: float,
                     normal_h: float, e_dis: wp.array(dtype=float), force: wp.array(dtype=wp.vec3),
                     torque: wp.array(dtype=wp.vec3)):
    """E_dis: |gap| between each active finger's distal phalanx (its capsule) and the object,
    the gap measured at the nearest of 5 points along the capsule's outer 80 % (a contact that
    slides along the fingertip, DexGraspNet's contact switching restricted to the distal
    link); and the sums of the contact normals and of their torques about ``center`` that
    E_fc squares. With ``radial`` > 0 each normal is blended with the direction from the
    target part's axis (segment ``axis_a``-``axis_b``) out to the contact, a smooth field
    that lets force closure move contacts across flat faces (a continuation, annealed to 0)."""
    b, f = wp.tid()
    w = active[b, f]
    if w == 0.0:
        return
    c = tip_cap[f]
    a = cap_a[b, c]
    e = cap_b[b, c]
    best = float(1.0e9)
    x = e
    for k in range(5):
        p = a + (0.2 + 0.2 * float(k)) * (e - a)
        d = object_distance(mesh, p, max_dist)
        if d < best:
            best = d
            x = p
    wp.atomic_add(e_dis, b, w * wp.abs(best - cap_r[c]))
    n = object_normal(mesh, x, max_dist, normal_h)
    if radial > 0.0:
        ab = axis_b - axis_a
        t = wp.clamp(wp.dot(x - axis_a, ab) / wp.max(wp.dot(ab, ab), 1.0e-12), 0.0, 1.0)
        n = wp.normalize((1.0 - radial) * n + radial * wp.normalize(x - (axis_a + t * ab)))
    wp.atomic_add(force, b, w * n)
    wp.atomic_add(torque, b, w * wp.cross(x - center, n))


@wp.kernel
def palm_distance(mesh: wp.uint64, palm: wp.array2d(dtype=wp.vec3), d0: float, max_dist: float,
                  e_palm: wp.array(dtype=float)):
    """| d(palm, O) - d0 |: the palm rests ``d0`` from the surface."""
    b = wp.tid()
    wp.atomic_add(e_palm, b, wp.abs(object_distance(mesh, palm[b, 0], max_dist) - d0))


@wp.kernel
def force_closure(force: wp.array(dtype=wp.vec3), torque: wp.array(dtype=wp.vec3), e_fc: wp.array(dtype=float)):
    """E_fc = ||G c||^2 = |sum n_i|^2 + |sum x_i x n_i|^2 (DexGraspNet's frictionless form)."""
    b = wp.tid()
    e_fc[b] = wp.dot(force[b], force[b]) + wp.dot(torque[b], torque[b])


@wp.func
def barrier(d: float, d_thr: float) -> float:
    """-(d - thr)^2 ln(d / thr) for d < thr, else 0."""
    if d < d_thr:
        return -(d - d_thr) * (d - d_thr) * wp.log(d / d_thr)
    return 0.0


@wp.kernel
def find_barrier_pairs(points: wp.array2d(dtype=wp.vec3), radius: wp.array(dtype=float),
                       active: wp.array2d(dtype=float), other_points: wp.array(dtype=wp.vec3), d_thr: float,
                       count: wp.array(dtype=int), pairs: wp.array(dtype=wp.vec3i)):
    """The (hand, hand point, other-part point) triples inside the barrier's range, compacted
    into ``pairs`` (``count[0]`` of them): :func:`part_barrier` runs on these only, so the
    tape's adjoint pass skips the far pairs (nearly all of them). No gradient flows here."""
    b, f = wp.tid()
    if active[b, f] == 0.0:
        return
    x = points[b, f]
    for k in range(other_points.shape[0]):  # a loop, not a launch dimension: less per-thread overhead on CPU
        if wp.length(x - other_points[k]) - radius[f] < d_thr:
            slot = wp.atomic_add(count, 0, 1)
            if slot < pairs.shape[0]:
                pairs[slot] = wp.vec3i(b, f, k)


@wp.kernel
def part_barrier(points: wp.array2d(dtype=wp.vec3), radius: wp.array(dtype=float), active: wp.array2d(dtype=float),
                 other_points: wp.array(dtype=wp.vec3), d_thr: float, pairs: wp.array(dtype=wp.vec3i),
                 e_bar: wp.array(dtype=float)):
    """E_bar: sum over hand points (fingertips: radius 0; link spheres: their surface) and points
    p of non-target parts of -(d - thr)^2 ln(d / thr) for d < thr, d the gap to p; over the
    triples :func:`find_barrier_pairs` found."""
    i = wp.tid()
    t = pairs[i]
    b = t[0]
    f = t[1]
    d = wp.max(wp.length(points[b, f] - other_points[t[2]]) - radius[f], 1.0e-4)
    wp.atomic_add(e_bar, b, active[b, f] * barrier(d, d_thr))


@wp.func
def segment_sdf(x: wp.vec3, a: wp.vec3, c: wp.vec3, r: float) -> float:
    ab = c - a
    t = wp.clamp(wp.dot(x - a, ab) / wp.dot(ab, ab), 0.0, 1.0)
    return wp.length(x - (a + t * ab)) - r


@wp.func
def box_sdf(x_local: wp.vec3, half: wp.vec3) -> float:
    qx = wp.abs(x_local[0]) - half[0]
    qy = wp.abs(x_local[1]) - half[1]
    qz = wp.abs(x_local[2]) - half[2]
    outside = wp.length(wp.vec3(wp.max(qx, 0.0), wp.max(qy, 0.0), wp.max(qz, 0.0)))
    return outside + wp.min(wp.max(qx, wp.max(qy, qz)), 0.0)


@wp.func
def primitive_sdf(x: wp.vec3, b: int, p: int, cap_a: wp.array2d(dtype=wp.vec3), cap_b: wp.array2d(dtype=wp.vec3),
                  cap_r: wp.array(dtype=float), link_R: wp.array2d(dtype=wp.mat33), link_p: wp.array2d(dtype=wp.vec3),
                  box_link: wp.array(dtype=int), box_center: wp.array(dtype=wp.vec3),
                  box_half: wp.array(dtype=wp.vec3)) -> float:
    """Signed distance of ``x`` to hand primitive ``p`` of hand ``b``: capsules first, then boxes."""
    nc = cap_r.shape[0]
    if p < nc:
        return segment_sdf(x, cap_a[b, p], cap_b[b, p], cap_r[p])
    k = p - nc
    lk = box_link[k]
    xl = wp.transpose(link_R[b, lk]) * (x - link_p[b, lk]) - box_center[k]
    return box_sdf(xl, box_half[k])


@wp.kernel
def find_object_in_hand(obj_points: wp.array(dtype=wp.vec3), cap_a: wp.array2d(dtype=wp.vec3),
                        cap_b: wp.array2d(dtype=wp.vec3), cap_r: wp.array(dtype=float),
                        link_R: wp.array2d(dtype=wp.mat33), link_p: wp.array2d(dtype=wp.vec3),
                        box_link: wp.array(dtype=int), box_center: wp.array(dtype=wp.vec3),
                        box_half: wp.array(dtype=wp.vec3), count: wp.array(dtype=int), pairs: wp.array(dtype=wp.vec3i)):
    """The (hand, object point, hand primitive) triples with the point inside the primitive,
    compacted into ``pairs`` for :func:`object_in_hand` (no gradient flows here)."""
    b, o = wp.tid()
    x = obj_points[o]
    for p in range(cap_r.shape[0] + box_link.shape[0]):
        if primitive_sdf(x, b, p, cap_a, cap_b, cap_r, link_R, link_p, box_link, box_center, box_half) < 0.0:
            slot = wp.atomic_add(count, 0, 1)
            if slot < pairs.shape[0]:
                pairs[slot] = wp.vec3i(b, o, p)


@wp.kernel
def object_in_hand(obj_points: wp.array(dtype=wp.vec3), cap_a: wp.array2d(dtype=wp.vec3),
                   cap_b: wp.array2d(dtype=wp.vec3), cap_r: wp.array(dtype=float),
                   link_R: wp.array2d(dtype=wp.mat33), link_p: wp.array2d(dtype=wp.vec3),
                   box_link: wp.array(dtype=int), box_center: wp.array(dtype=wp.vec3),
                   box_half: wp.array(dtype=wp.vec3), pairs: wp.array(dtype=wp.vec3i),
                   e_pen: wp.array(dtype=float), depth: wp.array(dtype=float)):
    """E_pen: depth of each object surface point inside any hand capsule or box (summed), over
    the triples :func:`find_object_in_hand` found; ``depth[b]`` keeps the largest single depth
    (validation reads it, no gradient)."""
    i = wp.tid()
    t = pairs[i]
    b = t[0]
    sd = primitive_sdf(obj_points[t[1]], b, t[2], cap_a, cap_b, cap_r, link_R, link_p, box_link, box_center, box_half)
    if sd < 0.0:
        wp.atomic_add(e_pen, b, -sd)
        wp.atomic_max(depth, b, -sd)


@wp.kernel
def find_hand_in_object(mesh: wp.uint64, points: wp.array2d(dtype=wp.vec3), radius: wp.array(dtype=float),
                        max_dist: float, count: wp.array(dtype=int), pairs: wp.array(dtype=wp.vec2i)):
    """The (hand, sphere) pairs reaching into the object, compacted for :func:`hand_in_object`."""
    b, i = wp.tid()
    if object_distance(mesh, points[b, i], max_dist) - radius[i] < 0.0:
        slot = wp.atomic_add(count, 0, 1)
        if slot < pairs.shape[0]:
            pairs[slot] = wp.vec2i(b, i)


@wp.kernel
def hand_in_object(mesh: wp.uint64, points: wp.array2d(dtype=wp.vec3), radius: wp.array(dtype=float),
                   max_dist: float, pairs: wp.array(dtype=wp.vec2i), e_pen: wp.array(dtype=float),
                   depth: wp.array(dtype=float)):
    """Hand spheres reaching into the object (winding-number inside test): adds to E_pen; over
    the pairs :func:`find_hand_in_object` found."""
    t = pairs[wp.tid()]
    b = t[0]
    i = t[1]
    sd = object_distance(mesh, points[b, i], max_dist) - radius[i]
    if sd < 0.0:
        wp.atomic_add(e_pen, b, -sd)
        wp.atomic_max(depth, b, -sd)


@wp.kernel
def self_penetration(spheres: wp.array2d(dtype=wp.vec3), radius: wp.array(dtype=float),
                     pairs: wp.array2d(dtype=int), e_spen: wp.array(dtype=float), depth: wp.array(dtype=float)):
    """E_spen: overlap r_i + r_j - d_ij of hand sphere pairs that may not touch."""
    b, k = wp.tid()
    i = pairs[k, 0]
    j = pairs[k, 1]
    overlap = radius[i] + radius[j] - wp.length(spheres[b, i] - spheres[b, j])
    if overlap > 0.0:
        wp.atomic_add(e_spen, b, overlap)
        wp.atomic_max(depth, b, overlap)


@wp.kernel
def below_table(spheres: wp.array2d(dtype=wp.vec3), radius: wp.array(dtype=float), table_z: float,
                e_table: wp.array(dtype=float), depth: wp.array(dtype=float)):
    """Hand spheres below the table plane z = table_z (object frame)."""
    b, i = wp.tid()
    d = radius[i] - (spheres[b, i][2] - table_z)
    if d > 0.0:
        wp.atomic_add(e_table, b, d)
        wp.atomic_max(depth, b, d)


@wp.kernel
def joint_limits(x: wp.array2d(dtype=float), lower: wp.array(dtype=float), upper: wp.array(dtype=float),
                 couple: wp.array2d(dtype=float), e_joints: wp.array(dtype=float)):
    """E_joints: distance outside the joint limits, plus the MJCF distal couplings
    |q_distal - ratio q_middle| beyond their tolerance."""
    b, j = wp.tid()
    q = x[b, 9 + j]
    e = wp.max(q - upper[j], 0.0) + wp.max(lower[j] - q, 0.0)
    if j < couple.shape[0]:
        dq = wp.abs(x[b, 9 + int(couple[j, 0])] - couple[j, 2] * x[b, 9 + int(couple[j, 1])])
        e = e + wp.max(dq - couple[j, 3], 0.0)
    wp.atomic_add(e_joints, b, e)


@wp.kernel
def weighted_sum(terms: wp.array2d(dtype=float), weights: wp.array(dtype=float), total: wp.array(dtype=float),
                 loss: wp.array(dtype=float)):
    """total[b] = sum_t w_t terms[t, b]; loss = sum_b total[b] (what the tape differentiates)."""
    t, b = wp.tid()
    v = weights[t] * terms[t, b]
    wp.atomic_add(total, b, v)
    wp.atomic_add(loss, 0, v)


@wp.kernel
def adam_step(x: wp.array2d(dtype=float), grad: wp.array2d(dtype=float), m: wp.array2d(dtype=float),
              v: wp.array2d(dtype=float), lr: wp.array(dtype=float), t: float, lower: wp.array(dtype=float),
              upper: wp.array(dtype=float)):
    """One Adam step per parameter (``lr`` per dimension); joints are projected into their limits."""
    b, i = wp.tid()
    g = grad[b, i]
    if not wp.isfinite(g):
        g = 0.0
    m[b, i] = 0.9 * m[b, i] + 0.1 * g
    v[b, i] = 0.999 * v[b, i] + 0.001 * g * g
    mh = m[b, i] / (1.0 - wp.pow(0.9, t))
    vh = v[b, i] / (1.0 - wp.pow(0.999, t))
    val = x[b, i] - lr[i] * mh / (wp.sqrt(vh) + 1.0e-8)
    if i >= 9:
        val = wp.clamp(val, lower[i - 9], upper[i - 9])
    x[b, i] = val
