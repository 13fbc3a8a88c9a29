"""Our own SAPIEN scenes get SAPIEN's PhysX defaults even after a ManiSkill env changed the
process-global settings, and those settings are restored afterwards."""

import gymnasium as gym
import numpy as np
import pytest
import sapien

import vlgsim  # noqa: F401
from vlgsim.sim.physx_config import DEFAULT_CONTACT_OFFSET_M, DEFAULT_POSITION_ITERATIONS

pytestmark = pytest.mark.sim


def test_validation_after_a_maniskill_env_gives_the_stored_verdict():
    from vlgsim.data.grasp_sets import load_library_set
    from vlgsim.grasp.dex_energy import GraspEnergy
    from vlgsim.grasp.dex_pipeline import ObjectSetup

    env = gym.make("vlgsim:RealVLG-Grasp-v0", obs_mode="state")
    env.reset(seed=0)
    px = sapien.physx
    maniskill = px.get_shape_config().contact_offset, px.get_body_config().solver_position_iterations
    assert maniskill != (pytest.approx(DEFAULT_CONTACT_OFFSET_M), DEFAULT_POSITION_ITERATIONS)
    gs = load_library_set("can", 1.0)  # its first body grasp was judged "not held" here before the fix
    setup = ObjectSetup("can", 1.0, 0, "cpu")
    i = gs.select("body")[0]
    g = gs.grasps[i].astype(np.float64)
    d = GraspEnergy(setup.hand, setup.obj, "body", 1).evaluate(g[None], np.ones((1, 5)))
    v = setup.validator.validate(g, "body", float(d["pen_depth"][0]), float(d["spen_depth"][0]),
                                 float(d["table_depth"][0]))
    assert v.valid == bool(gs.valid[i]) and v.valid
    # ManiSkill's settings are back for the envs built after
    assert (px.get_shape_config().contact_offset, px.get_body_config().solver_position_iterations) == maniskill
    env.close()
