"""DexVLG-PartGrasp-v0 with grasps synthesised by Warp and validated in SAPIEN."""

import re

import gymnasium as gym

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from vlgsim.data.grasp_sets import grasp_set_path, load_grasp_set, save_grasp_set
from vlgsim.grasp.dex_pipeline import synthesize_grasp_set
from vlgsim.grasp.dexterous import transform_grasp
from vlgsim.policies import make_policy
from vlgsim.sim_eval.rollout import run_episode

pytestmark = pytest.mark.sim


@pytest.fixture(scope="module")
def can_grasps(tmp_path_factory):
    out = tmp_path_factory.mktemp("grasp_sets")
    gs = synthesize_grasp_set("can", 1.0, per_part=32, device="cpu", seed=0)
    save_grasp_set(gs, out)
    return out, gs


@pytest.fixture(scope="module")
def env():
    e = gym.make("vlgsim:DexVLG-PartGrasp-v0", categories=["can"])
    yield e
    e.close()


def test_check_env_and_observation(env):
    check_env(env.unwrapped, skip_render_check=True)
    obs, info = env.reset(seed=3)
    assert obs["instruction"].startswith("Grasp the body of the can, with contacts on thumb")
    cloud = obs["pointcloud"]
    assert cloud.shape == (1024, 6) and obs["depth"].max() > 0
    # the object is in the point cloud: points above the table, around the object's position
    pose = np.asarray(info["object_pose"])
    above = cloud[cloud[:, 2] > 0.02]
    assert len(above) > 20 and np.linalg.norm(above[:, :2].mean(0) - pose[:2, 3]) < 0.03
    o2, i2 = env.reset(seed=3)
    assert i2["object_pose"] == info["object_pose"] and np.array_equal(o2["pointcloud"], cloud)


def test_grasp_set_has_valid_captioned_grasps(can_grasps):
    out, gs = can_grasps
    assert gs.grasps.shape == (32, 31) and gs.valid.any()
    v = np.nonzero(gs.valid)[0][0]
    assert gs.penetration_ok[v] and gs.self_penetration_ok[v] and gs.held[v].all() and gs.part_aligned[v]
    assert gs.caption[v].startswith("Grasp the body of the can object, with contacts on ")
    assert "thumb" in gs.contact_fingers[v]
    back = load_grasp_set(grasp_set_path(out, "can", 1.0))
    assert np.array_equal(back.grasps, gs.grasps) and back.caption.tolist() == gs.caption.tolist()
    assert back.summary()["body"]["valid_share"] == pytest.approx(gs.valid.mean())


def test_corrupt_grasp_set_is_a_clear_error(tmp_path):
    bad = tmp_path / "can_s1.00.npz"
    bad.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="not a readable vlgsim grasp-set file"):
        load_grasp_set(bad)


def test_oracle_lifts_and_random_fails(env, can_grasps):
    out, _ = can_grasps
    oracle = make_policy(f"oracle:{out}", env)
    results = [run_episode(env, oracle, k, seed)[0] for k, seed in enumerate(range(3))]
    assert sum(r.success for r in results) >= 2, [r.failure_mode for r in results]
    assert all(r.extra["metrics"]["PTA"] == 1.0 for r in results if r.success)
    rnd = make_policy("random", env, seed=0)
    assert not any(run_episode(env, rnd, k, seed)[0].success for k, seed in enumerate(range(3)))


def test_world_frame_action_and_bad_actions(env, can_grasps):
    _, gs = can_grasps
    obs, info = env.reset(seed=1)
    g = transform_grasp(gs.grasps[gs.select("body")[0]], np.asarray(info["object_pose"]))
    g_shifted = g.copy()
    g_shifted[:3] += [0.0, 0.0, 0.15]  # 15 cm above the right grasp: nothing to hold
    _, r, term, _, info2 = env.step(g_shifted)
    assert term and r == 0.0 and info2["failure_mode"] == "no_contact" and info2["metrics"]["Suc"] == 0.0
    env.reset(seed=1)
    nan = g.copy()
    nan[5] = np.nan
    _, _, term, _, info3 = env.step(nan)
    assert term and info3["failure_mode"] == "invalid_action" and "NaN" in info3["error"]
    huge = g.copy()
    huge[0] = 1e30
    far_joint = g.copy()
    far_joint[12] = 40.0
    for action, words in ((np.zeros(7), r"shape \(31,\)"), (huge, r"<= 1e\+06"), (far_joint, "joint"),
                          ("grasp", "not numeric"), ({"xyz": 1}, "not numeric"), ([None] * 31, "NaN"),
                          (np.r_[g[:3] + 5.0, g[3:]], "wrist position")):
        env.reset(seed=1)
        _, r, term, _, info = env.step(action)
        assert term and r == 0.0 and info["failure_mode"] == "invalid_action", action
        assert re.search(words, info["error"]), info["error"]
