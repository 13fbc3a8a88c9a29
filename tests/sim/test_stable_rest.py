"""Every category rests still in its identity pose on a table (real PhysX)."""

import numpy as np
import pytest
import sapien

from vlgsim.assets import CATEGORIES, ObjectSpec, build_object
from vlgsim.sim.maniskill_scene import add_object_shapes
from vlgsim.sim.sapien_render import make_sapien_scene

pytestmark = pytest.mark.sim


@pytest.mark.parametrize("category", sorted(CATEGORIES))
@pytest.mark.parametrize("scale", [0.85, 1.12])
def test_object_rests_in_its_identity_pose(category, scale):
    scene = make_sapien_scene()
    scene.set_timestep(1 / 240)
    scene.add_ground(0.0)
    builder = scene.create_actor_builder()
    add_object_shapes(builder, build_object(ObjectSpec(category, "red", scale)))
    builder.set_initial_pose(sapien.Pose([0.0, 0.0, 0.0]))
    actor = builder.build(name=category)
    for _ in range(480):  # 2 s
        scene.step()
    p, q = actor.pose.p, actor.pose.q
    assert np.linalg.norm(p) < 0.003, f"{category} drifted to {p}"
    assert abs(abs(q[0]) - 1.0) < 1e-3, f"{category} tipped: quaternion {q}"
