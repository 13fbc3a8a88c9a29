"""Cached geometry shortcuts give exactly the numbers of the meshes they stand for."""

import numpy as np
import pytest

from vlgsim.assets import CATEGORIES, ObjectSpec, build_object
from vlgsim.grasp.antipodal import ConvexPiece, convex_pieces, gripper_collides, object_grasps


@pytest.mark.parametrize("category", sorted(CATEGORIES))
def test_bounds_and_footprint_equal_the_concatenated_mesh(category):
    for scale in (0.85, 1.0, 1.12):
        asset = build_object(ObjectSpec(category, "red", scale))
        mesh = asset.mesh
        assert np.array_equal(asset.bounds, mesh.bounds)
        assert asset.footprint_radius_m == float(np.max(np.linalg.norm(mesh.vertices[:, :2], axis=1)))


def test_convex_pieces_answer_collisions_like_the_meshes():
    rng = np.random.default_rng(0)
    grasps = object_grasps(ObjectSpec("block", "red", 1.0))
    assert len(grasps) > 10
    for category in ("bottle", "can", "mug"):
        meshes = [q for p in build_object(ObjectSpec(category, "blue", 0.95)).parts for q in p.pieces]
        pieces = convex_pieces(category, 0.95)
        assert len(pieces) == len(meshes) and all(isinstance(p, ConvexPiece) for p in pieces)
        answers = []
        for _ in range(60):
            T = np.eye(4)
            yaw = rng.uniform(-np.pi, np.pi)
            T[:2, :2] = [[np.cos(yaw), -np.sin(yaw)], [np.sin(yaw), np.cos(yaw)]]
            T[:2, 3] = rng.uniform(-0.05, 0.05, 2)
            g = grasps[int(rng.integers(len(grasps)))]
            a, b = gripper_collides(g, meshes, T), gripper_collides(g, pieces, T)
            assert a == b
            answers.append(a)
        assert any(answers) and not all(answers)  # both outcomes were exercised


def test_gripper_check_with_a_given_pose_inverse_is_the_same():
    from vlgsim.scenes import sample_tabletop_scene

    hits = []
    for seed in range(70, 76):
        sc = sample_tabletop_scene(seed)
        target = sc.objects[0]
        for other in sc.objects[1:]:
            pieces = convex_pieces(other.spec.category, other.spec.scale)
            moved = np.array(other.pose)
            moved[:2, 3] = np.asarray(target.xy) + 0.04  # beside the target: some grasps hit it
            for pose in (other.pose, moved):
                for g0 in object_grasps(target.spec)[:20]:
                    g = g0.transformed(target.pose)
                    a = gripper_collides(g, pieces, pose)
                    assert a == gripper_collides(g, pieces, None, np.linalg.inv(pose))
                    hits.append(a)
    assert any(hits) and not all(hits)
