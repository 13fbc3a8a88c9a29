"""Approach planning for dexterous grasps: pre-grasp, opened fingers, swept-hand collision check."""

import numpy as np
import trimesh

from vlgsim.assets.shadow_hand import JOINT_NAMES, load_shadow_hand
from vlgsim.grasp.approach import OPENING_JOINTS, backed_off_shape, open_fingers, plan_approach, swept_clearance
from vlgsim.grasp.dexterous import distal_contacts, forward_kinematics, make_grasp, rot6d_to_matrix, transform_grasp

HAND = load_shadow_hand()


def side_grasp(gap_m: float = 0.02):
    """A 6 cm box standing on the table at the origin (object frame = world), and a flat open
    hand whose palm faces it from +x, ``gap_m`` off its face, fingers pointing up."""
    box = trimesh.creation.box([0.06, 0.06, 0.06])
    box.apply_translation([0, 0, 0.03])
    # palm frame: z along the fingers (world +z), -y out of the palm (world -x): y = +x
    R = np.column_stack([[0, -1.0, 0], [1.0, 0, 0], [0, 0, 1.0]])
    palm_world = R @ HAND.palm_point
    pos = np.array([0.03 + gap_m, 0, 0.065]) - palm_world
    return box, make_grasp(pos, R, np.zeros(len(JOINT_NAMES)))


def test_straight_approach_backs_off_along_the_palm_normal():
    box, g = side_grasp()
    plan = plan_approach(HAND, g, np.eye(4), box)
    assert plan.kind == "palm_normal" and plan.clear and plan.standoff_m == 0.05
    normal = rot6d_to_matrix(g[3:9]) @ HAND.palm_normal
    np.testing.assert_allclose(plan.direction, normal, atol=1e-9)
    np.testing.assert_allclose(plan.pregrasp[:3], g[:3] - 0.05 * normal, atol=1e-9)
    np.testing.assert_allclose(plan.palm_at(1.0), g[:3], atol=1e-12)
    # the same plan for the object anywhere: the pre-grasp moves with it
    T = np.eye(4)
    T[:3, :3] = trimesh.transformations.rotation_matrix(0.7, [0, 0, 1])[:3, :3]
    T[:3, 3] = [0.05, -0.02, 0.0]
    moved = plan_approach(HAND, transform_grasp(g, T), T, box)
    np.testing.assert_allclose(moved.pregrasp[:3], T[:3, :3] @ plan.pregrasp[:3] + T[:3, 3], atol=1e-9)


def test_blocked_approach_comes_from_above():
    """A wall behind the hand blocks every sideways approach; the plan comes down from above."""
    box, g = side_grasp()
    wall = trimesh.creation.box([0.01, 0.3, 0.15])
    wall.apply_translation([0.03 + 0.02 + 0.045, 0, 0.075])
    scene = trimesh.util.concatenate([box, wall])
    normal = rot6d_to_matrix(g[3:9]) @ HAND.palm_normal
    assert swept_clearance(HAND, g, normal, 0.05, scene, 0.0) < 0  # the straight sweep hits the wall
    plan = plan_approach(HAND, g, np.eye(4), scene)
    assert plan.kind == "above" and plan.clear, plan
    np.testing.assert_allclose(plan.direction, [0, 0, -1], atol=1e-9)
    assert plan.pregrasp[2] - g[2] >= 0.08 - 1e-9


def test_nothing_clear_takes_the_least_bad_path_and_says_so():
    box, g = side_grasp(gap_m=-0.02)  # the hand already 2 cm inside the box
    plan = plan_approach(HAND, g, np.eye(4), box)
    assert not plan.clear and plan.clearance_m < 0


def test_open_fingers_zeroes_flexion_of_the_named_fingers_only():
    q = np.full(len(JOINT_NAMES), 0.5)
    opened = open_fingers(q, np.array([True, False, False, False, True]))
    for finger, names in OPENING_JOINTS.items():
        idx = [JOINT_NAMES.index(n) for n in names]
        assert np.all(opened[idx] == (0.0 if finger in ("thumb", "little") else 0.5)), finger
    # the abduction joints (J3 of the fingers, THJ4/THJ2 of the thumb) are kept
    for n in ("FFJ3", "THJ4", "THJ2", "LFJ4"):
        assert opened[JOINT_NAMES.index(n)] == 0.5
    X = forward_kinematics(HAND, make_grasp(np.zeros(3), np.eye(3), opened))
    assert np.all(np.isfinite(X))


def test_backed_off_shape_moves_each_closing_pad_back_along_its_own_closing_direction():
    from vlgsim.assets import build_object
    from vlgsim.assets.objects import ObjectSpec
    from vlgsim.data.grasp_sets import load_library_set

    gs = load_library_set("block", 1.0)  # a library grasp of the block (object frame)
    g = np.asarray(gs.grasps[gs.select("body")[0]], np.float64)
    box = trimesh.util.concatenate([p.mesh for p in build_object(ObjectSpec("block", "red", 1.0)).parts])
    gaps = distal_contacts(HAND, g, box)[1]
    closing = gaps <= 0.01
    assert closing.any()
    pads, gaps, towards = distal_contacts(HAND, g, box)
    q, moved = backed_off_shape(HAND, g, box, 0.015)
    np.testing.assert_array_equal(moved, closing)
    g2 = g.copy()
    g2[9:] = q
    X0, X1 = forward_kinematics(HAND, g), forward_kinematics(HAND, g2)
    back = []
    for i in np.flatnonzero(closing):  # each pad point (fixed to its distal link) moves back along -closing direction
        lk = HAND.tip_link[i]
        local = np.linalg.solve(X0[lk], np.r_[pads[i], 1.0])
        back.append(-float(((X1[lk] @ local)[:3] - pads[i]) @ towards[i]))
    back = np.array(back)
    assert np.all(back >= 0) and back.max() > 0.014 and np.mean(back) > 0.007, back  # joint limits stop some short
    _, gaps2, _ = distal_contacts(HAND, g2, box)
    assert gaps2[closing].mean() > gaps[closing].mean() + 0.005, (gaps, gaps2)
    # the other fingers keep their joints; the limits hold
    q0 = g[9:]
    for f in np.flatnonzero(~closing):
        idx = [JOINT_NAMES.index(n) for n in JOINT_NAMES if n[:2] == ("TH", "FF", "MF", "RF", "LF")[f]]
        np.testing.assert_array_equal(q[idx], q0[idx])
    assert np.all(q >= HAND.lower - 1e-12) and np.all(q <= HAND.upper + 1e-12)


def test_collision_check_rejects_a_path_through_the_object():
    """Coming at the grasp from behind the box sweeps the hand through it: negative clearance,
    and the planner takes the clear path along the palm normal instead."""
    box, g = side_grasp()
    normal = rot6d_to_matrix(g[3:9]) @ HAND.palm_normal
    through = swept_clearance(HAND, g, -normal, 0.12, box, 0.0)  # from the far side, through the box
    clear = swept_clearance(HAND, g, normal, 0.05, box, 0.0)
    assert through < -0.01 < 0 <= clear, (through, clear)
    plan = plan_approach(HAND, g, np.eye(4), box)
    assert plan.clear and plan.kind == "palm_normal" and np.dot(plan.direction, normal) > 0.99
    assert plan.shape == "backed_1.5cm" and plan.clearance_m >= 0
