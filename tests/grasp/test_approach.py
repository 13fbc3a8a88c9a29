"""Approach planning for dexterous grasps: pre-grasp, opened fingers, swept-hand collision check."""

import numpy as np
import trimesh

from vlgsim.assets.shadow_hand import JOINT_NAMES, load_shadow_hand
from vlgsim.grasp.approach import OPENING_JOINTS, open_fingers, plan_approach, swept_clearance
from vlgsim.grasp.dexterous import forward_kinematics, make_grasp, rot6d_to_matrix, transform_grasp

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
