"""Warp grasp energy: forward kinematics, hand-computed values, gradients, optimisation."""

from dataclasses import replace

import numpy as np
import pytest
import trimesh

from vlgsim.assets.objects import ObjectPart, object_geometry
from vlgsim.assets.shadow_hand import JOINT_NAMES, load_shadow_hand
from vlgsim.grasp.dex_energy import TERMS, EnergyWeights, GraspEnergy, ObjectField, part_axis
from vlgsim.grasp.dex_synthesis import SynthesisConfig, initial_grasps, optimize
from vlgsim.grasp.dexterous import DISTAL_SAMPLES, fingertips, forward_kinematics, make_grasp, rot6d_to_matrix, transform_grasp

HAND = load_shadow_hand()


def _sphere_field(radius=0.03):
    body = trimesh.creation.icosphere(subdivisions=3, radius=radius)
    body.apply_translation([0, 0, radius])
    return ObjectField.from_parts((ObjectPart("body", (body,), None),), n_points=512)


def _far_open_grasp(pos=(0.0, 0.3, 0.3)):
    return make_grasp(pos, np.eye(3), np.zeros(22))


def test_rot6d_round_trip_and_frame_change():
    rng = np.random.default_rng(0)
    R = trimesh.transformations.random_rotation_matrix(rng.random(3))[:3, :3]
    g = make_grasp([0.1, 0.2, 0.3], R, rng.uniform(HAND.lower, HAND.upper))
    assert np.allclose(rot6d_to_matrix(g[3:9]), R)
    T = trimesh.transformations.random_rotation_matrix(rng.random(3))
    T[:3, 3] = [0.5, -0.2, 0.1]
    moved = transform_grasp(g, T)
    assert np.allclose(forward_kinematics(HAND, moved)[:, :3, 3],
                       forward_kinematics(HAND, g)[:, :3, 3] @ T[:3, :3].T + T[:3, 3])


def test_warp_kinematics_match_numpy_and_joint_energy_is_hand_computed():
    field = _sphere_field()
    E = GraspEnergy(HAND, field, "body", batch=2)
    rng = np.random.default_rng(1)
    g = np.stack([make_grasp([0, 0.1, 0.2], np.eye(3), rng.uniform(HAND.lower, HAND.upper)) for _ in range(2)])
    g[1, 9 + JOINT_NAMES.index("FFJ2")] = HAND.upper[JOINT_NAMES.index("FFJ2")] + 0.3  # 0.3 rad past the limit
    out = E.evaluate(g, np.ones((2, 5)))
    for b in range(2):
        assert np.allclose(out["tips"][b], fingertips(HAND, g[b])[0], atol=1e-5)
    coupling = sum(max(abs(g[1, 9 + j0] - r * g[1, 9 + j1]) - t, 0) for j0, j1, r, t in HAND.couplings)
    assert out["joints"][1] == pytest.approx(0.3 + coupling, abs=1e-4)


def test_distance_and_force_closure_on_a_sphere_by_hand():
    """The thumb's pad 5 mm outside a sphere on its +x side (the flat hand's thumb tip then
    reaches 2.5 mm into it): E_dis is |gap| between the thumb's distal capsule and the sphere
    (nearest of the 5 axis samples, by hand), and
    E_fc = |n|^2 = 1 (a unit normal through the centre has no moment about it)."""
    field = _sphere_field(0.03)
    field.center = np.array([0, 0, 0.03])
    E = GraspEnergy(HAND, field, "body", batch=1, table_z=None)
    g = _far_open_grasp()
    tips = fingertips(HAND, g)[0]
    # move the hand so the thumb pad sits 5 mm outside the sphere on the +x side
    target = np.array([0.035, 0.0, 0.03])
    g[:3] += target - tips[0]
    out = E.evaluate(g[None], np.array([[1.0, 0, 0, 0, 0]]))
    cap = HAND.capsules[HAND.tip_capsule[0]]
    X = forward_kinematics(HAND, g)[cap.link]
    axis = [X[:3, :3] @ (cap.p0 + t * (cap.p1 - cap.p0)) + X[:3, 3] for t in DISTAL_SAMPLES]
    gap = min(np.linalg.norm(a - field.center) - 0.03 for a in axis) - cap.radius
    assert gap < 0.005
    assert out["dis"][0] == pytest.approx(abs(gap), abs=6e-4)  # mesh sphere is slightly inside the true one
    assert out["fc"][0] == pytest.approx(1.0, abs=0.05)  # one unit normal, no moment about the centre
    assert out["bar"][0] == 0.0  # one part: no barrier


def test_penetration_barrier_and_table_terms_by_hand(body_and_cap):
    field = body_and_cap
    g = _far_open_grasp((0.0, 0.0, -0.3))  # the hand hangs 30 cm below the table plane
    E = GraspEnergy(HAND, field, "body", batch=1)
    out = E.evaluate(g[None], np.ones((1, 5)))
    assert out["table"][0] > 0.3 and out["pen"][0] == 0.0
    assert out["table_depth"][0] > 0.25  # the deepest hand sphere, metres below the table
    # a fingertip 5 mm from the cap (a non-target part): barrier -(d - thr)^2 ln(d / thr) for the cap points
    g = _far_open_grasp()
    tips = fingertips(HAND, g)[0]
    g[:3] += np.array([0.015, 0.0, 0.06]) - tips[1]
    out = E.evaluate(g[None], np.array([[0.0, 1, 0, 0, 0]]))
    tip = fingertips(HAND, g)[0][1]
    cap = field.surface_points[field.surface_part == 1]
    d = np.maximum(np.linalg.norm(cap - tip, axis=1), 1e-4)
    thr = EnergyWeights().bar_threshold_m
    expected_tip = np.sum(np.where(d < thr, -(d - thr) ** 2 * np.log(d / thr), 0.0))
    # every hand sphere: the same barrier on the gap between its surface and the cap points
    link, centre, radius = HAND.spheres()
    X = forward_kinematics(HAND, g)
    world = np.einsum("sij,sj->si", X[link, :3, :3], centre) + X[link, :3, 3]
    gap = np.maximum(np.linalg.norm(world[:, None] - cap[None], axis=2) - radius[:, None], 1e-4)
    lthr = EnergyWeights().link_bar_threshold_m
    expected_links = np.sum(np.where(gap < lthr, -(gap - lthr) ** 2 * np.log(gap / lthr), 0.0))
    assert expected_tip > 0 and expected_links > 0
    assert out["bar"][0] == pytest.approx(expected_tip + expected_links, rel=1e-3)


def test_radial_blend_turns_face_normals_towards_the_part_axis():
    """Index and middle pads 3 mm off one face of a 4 cm cube. With surface normals both
    contacts have the face's normal n: E_fc = |2 n|^2 + |sum (x_i - c) x n|^2, about 4. With
    the radial blend at 1 each normal runs from the cube's axis (a point: its centre c) through
    the contact, r_i = (x_i - c) / |x_i - c|, with no moment: E_fc = |r_1 + r_2|^2 < 4."""
    g = _far_open_grasp()
    tips, normals = fingertips(HAND, g)
    n = normals[1]
    u = tips[2] - tips[1]
    u -= (u @ n) * n
    u /= np.linalg.norm(u)
    c = (tips[1] + tips[2]) / 2 + n * (0.02 + 0.003)
    T = np.eye(4)
    T[:3, :3], T[:3, 3] = np.stack([n, u, np.cross(n, u)], axis=1), c
    cube = trimesh.creation.box([0.04, 0.04, 0.04], transform=T)
    field = ObjectField.from_parts((ObjectPart("body", (cube,), None),), n_points=512)
    field.center = c
    a, b = part_axis(cube)
    assert np.allclose(a, c) and np.allclose(b, c)
    a, b = part_axis(trimesh.creation.box([0.02, 0.02, 0.10]))  # a handle: its core, 8 cm along z
    assert abs((a - b)[2]) == pytest.approx(0.08) and np.allclose((a - b)[:2], 0)
    x = []
    for f in (1, 2):  # the contact: nearest of the distal capsule's axis samples
        cap = HAND.capsules[HAND.tip_capsule[f]]
        X = forward_kinematics(HAND, g)[cap.link]
        axis = np.array([X[:3, :3] @ (cap.p0 + t * (cap.p1 - cap.p0)) + X[:3, 3] for t in DISTAL_SAMPLES])
        x.append(axis[np.argmax(trimesh.proximity.signed_distance(cube, axis))])
    E = GraspEnergy(HAND, field, "body", batch=1, table_z=None)
    active = np.array([[0.0, 1, 1, 0, 0]])
    flat = 4.0 + np.sum(sum(np.cross(xi - c, -n) for xi in x) ** 2)
    assert E.evaluate(g[None], active)["fc"][0] == pytest.approx(flat, rel=0.01)
    E.set_weights(replace(EnergyWeights(), radial=1.0))
    radial = np.sum(sum((xi - c) / np.linalg.norm(xi - c) for xi in x) ** 2)
    assert radial < 3.7
    assert E.evaluate(g[None], active)["fc"][0] == pytest.approx(radial, rel=0.01)


def test_gradients_match_finite_differences():
    field = ObjectField.from_parts(object_geometry("can", 1.0), n_points=256)
    E = GraspEnergy(HAND, field, "body", batch=1)
    # a uniform face point (face_draws=1): an initial hand clear of the can, where E is smooth
    x0, active = initial_grasps(HAND, field.mesh, 1, np.random.default_rng(0), SynthesisConfig(face_draws=1))
    x0 = x0.astype(np.float32).astype(np.float64)  # the kernels run in float32
    out = E.evaluate(x0, active, grad=True)
    for i in (0, 1, 2, 9 + JOINT_NAMES.index("FFJ2"), 9 + JOINT_NAMES.index("THJ3")):
        h = 1e-3
        xp, xm = x0.copy(), x0.copy()
        xp[0, i] += h
        xm[0, i] -= h
        fd = float(E.evaluate(xp, active)["total"][0] - E.evaluate(xm, active)["total"][0]) / (2 * h)
        assert float(out["grad"][0, i]) == pytest.approx(fd, rel=0.02, abs=0.5)


def test_optimisation_lowers_the_energy_on_every_object():
    hand = HAND
    for category, part in (("mug", "handle"), ("bottle", "neck"), ("box", "body")):
        field = ObjectField.from_parts(object_geometry(category, 1.0), n_points=384)
        E = GraspEnergy(hand, field, part, batch=4)
        x0, active = initial_grasps(hand, [p for p in object_geometry(category, 1.0) if p.name == part][0].mesh, 4,
                                    np.random.default_rng(0))
        res = optimize(E, x0, active, SynthesisConfig(iterations=60))
        assert res.energy.mean() < 0.5 * res.initial_energy.mean(), category
        assert set(res.terms) == set(TERMS) and np.all(np.isfinite(res.grasps))
        assert np.all(res.grasps[:, 9:] >= hand.lower - 1e-6) and np.all(res.grasps[:, 9:] <= hand.upper + 1e-6)
