"""RealVLG-Ground-v0: multi-view grounding on real SAPIEN rendering."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from vlgsim.sim_eval.metrics import box_iou

pytestmark = pytest.mark.sim


@pytest.fixture(scope="module")
def ground_env():
    env = gym.make("vlgsim:RealVLG-Ground-v0")
    yield env
    env.close()


def test_check_env(ground_env):
    check_env(ground_env.unwrapped, skip_render_check=True)


def test_views_boxes_and_masks_are_consistent(ground_env):
    seen_counts = set()
    for seed in range(6):
        obs, info = ground_env.reset(seed=seed)
        n = obs["n_views"]
        seen_counts.add(n)
        assert 1 <= n <= 4 and not obs["images"][n:].any() and obs["images"][0].any()
        t = info["target_id"]
        assert info["target_visible"][:n].any() and not info["target_visible"][n:].any()
        for v in range(n):
            m = info["segmentation"][v] == t
            if m.any():
                ys, xs = np.nonzero(m)
                assert info["target_boxes"][v].tolist() == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
        if n > 1:  # several views: no view-dependent words
            assert not any(w in obs["instruction"] for w in ("left", "right", "front", "behind", "nearest"))
    assert len(seen_counts) > 1


def test_reward_is_iou_in_the_chosen_view(ground_env):
    obs, info = ground_env.reset(seed=3)
    v = int(np.argmax(info["target_visible"]))
    box = info["target_boxes"][v]
    _, r, term, _, info2 = ground_env.step(np.r_[v + 0.4, box])
    assert term and r == pytest.approx(1.0) and info2["success"] and info2["view"] == v
    obs, info = ground_env.reset(seed=3)
    shifted = box + np.array([10, 0, 10, 0])
    _, r, _, _, info2 = ground_env.step(np.r_[v, shifted])
    assert r == pytest.approx(float(box_iou(shifted, box)[0])) and r < 1.0


@pytest.mark.parametrize("action, rule", [
    ([np.nan, 1, 1, 5, 5], "NaN"), ([0, 1, 1, 5], "shape"), ([3.5, 1, 1, 5, 5], "view"), ([0, 9, 1, 5, 5], "x1 < x2"),
])
def test_invalid_actions(action, rule):
    env = gym.make("vlgsim:RealVLG-Ground-v0", n_views=1)
    env.reset(seed=0)
    _, r, term, _, info = env.step(np.asarray(action, dtype=np.float32))
    assert term and r == 0.0 and info["failure_mode"] == "invalid_action" and rule in info["error"]
    env.close()


def test_single_view_same_camera_as_the_grasp_env_and_same_seed_same_images():
    env = gym.make("vlgsim:RealVLG-Ground-v0", n_views=1)
    a, _ = env.reset(seed=9)
    env.reset(seed=10)
    b, _ = env.reset(seed=9)
    assert np.array_equal(a["images"], b["images"]) and a["instruction"] == b["instruction"]
    assert a["intrinsics"][0][0, 0] == pytest.approx(307.5)
    env.close()
