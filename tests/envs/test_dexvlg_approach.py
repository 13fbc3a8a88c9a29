"""DexVLG-PartGrasp-v0 executes grasps from a pre-grasp (approach path) and draws the meshed hand."""

import gymnasium as gym
import numpy as np
import pytest

from vlgsim.assets.shadow_hand import load_shadow_hand, load_shadow_hand_visuals
from vlgsim.data.grasp_sets import save_grasp_set
from vlgsim.grasp.dex_pipeline import synthesize_grasp_set
from vlgsim.grasp.dexterous import transform_grasp
from vlgsim.policies import make_policy

pytestmark = pytest.mark.sim


@pytest.fixture(scope="module")
def block_grasps(tmp_path_factory):
    out = tmp_path_factory.mktemp("grasp_sets")
    gs = synthesize_grasp_set("block", 1.0, per_part=8, device="cpu", seed=0)
    assert gs.valid.any()
    save_grasp_set(gs, out)
    return out, gs


def test_grasp_is_approached_from_the_pregrasp_and_lifts(block_grasps):
    out, gs = block_grasps
    env = gym.make("vlgsim:DexVLG-PartGrasp-v0", categories=["block"], execute="approach")
    try:
        base = env.unwrapped
        assert base.execute == "approach"
        oracle = make_policy(f"oracle:{out}", env)
        obs, info = env.reset(seed=2)
        oracle.reset(obs["instruction"], info)
        g = oracle.act(obs)
        base.record_frames = True
        _, r, _, _, info2 = env.step(g)
        assert r == 1.0 and info2["metrics"]["Suc"] == 1.0, info2
        plan = base.last_approach
        assert info2["approach"] == plan.kind and plan.clear and plan.standoff_m >= 0.05
        # the pre-grasp is backed off from the grasp; the palm ended at the grasp (lifted 4 cm)
        assert np.linalg.norm(plan.pregrasp[:3] - g[:3]) >= 0.05 - 1e-6
        wrist = base.sim.qpos[:3]
        np.testing.assert_allclose(wrist, g[:3] + [0, 0, 0.04], atol=0.01)
        # frames run from the pre-grasp through the lift: the first and the last differ
        frames = base.last_frames
        assert len(frames) > 20 and np.abs(frames[0].astype(int) - frames[-1].astype(int)).sum() > 0
        # teleport (the old execution) on the same scene for comparison
        tele = gym.make("vlgsim:DexVLG-PartGrasp-v0", categories=["block"], execute="teleport", hand_visual="capsules")
        try:
            tele.reset(seed=2)
            _, r_t, _, _, info_t = tele.step(g)
            assert r_t == 1.0 and "approach" not in info_t
        finally:
            tele.close()
    finally:
        env.close()
    with pytest.raises(ValueError, match="rule: 'approach' or 'teleport'"):
        gym.make("vlgsim:DexVLG-PartGrasp-v0", execute="fly")
    with pytest.raises(ValueError, match="rule: 'scene' or 'object'"):
        gym.make("vlgsim:DexVLG-PartGrasp-v0", cloud="table")


def test_hand_meshes_sit_on_their_links_and_are_drawn(block_grasps):
    _, gs = block_grasps
    hand = load_shadow_hand()
    visuals = load_shadow_hand_visuals()
    assert {v.link for v in visuals} <= set(hand.link_names) and len(visuals) == 21
    for v in visuals:  # each STL lies around its link's origin (metres, not millimetres)
        assert len(v.faces) > 50 and np.abs(v.vertices).max() < 0.12, v.link
    # the meshed hand covers other pixels than the capsule hand, at the same grasp
    images = []
    for visual in ("mesh", "capsules"):
        env = gym.make("vlgsim:DexVLG-PartGrasp-v0", categories=["block"], hand_visual=visual)
        try:
            _, info = env.reset(seed=2)
            g = transform_grasp(gs.grasps[gs.select("body")[0]], np.asarray(info["object_pose"]))
            empty = env.unwrapped.render()
            from vlgsim.sim.dex_hand import grasp_to_qpos

            env.unwrapped.sim.set_hand(grasp_to_qpos(g))
            images.append((empty, env.unwrapped.render()))
        finally:
            env.close()
    (e_mesh, mesh), (e_caps, caps) = images
    hand_mesh = np.abs(mesh.astype(int) - e_mesh).sum(-1) > 30
    hand_caps = np.abs(caps.astype(int) - e_caps).sum(-1) > 30
    assert hand_mesh.sum() > 200 and hand_caps.sum() > 200
    assert (hand_mesh ^ hand_caps).sum() > 0.05 * hand_mesh.sum()
