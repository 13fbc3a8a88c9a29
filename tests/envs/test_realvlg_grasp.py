"""RealVLG-Grasp-v0 on real SAPIEN physics and lavapipe rendering."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from vlgsim.envs.realvlg_grasp import MAX_GRASP_LABELS

pytestmark = pytest.mark.sim


def test_check_env_passes(grasp_env):
    check_env(grasp_env, skip_render_check=True)


def test_observation_matches_its_space_and_camera(grasp_env):
    obs, info = grasp_env.reset(seed=3)
    assert grasp_env.observation_space.contains(obs)
    assert obs["rgb"].shape == (240, 320, 3) and obs["rgb"].dtype == np.uint8
    assert obs["depth"].dtype == np.float32 and 0.2 < np.median(obs["depth"]) < 1.5
    K = obs["intrinsic"]
    assert K[0, 0] == pytest.approx(307.5) and K[0, 2] == pytest.approx(160)
    assert np.allclose(obs["extrinsic"][3], [0, 0, 0, 1])
    assert obs["instruction"] == info["instruction"] and len(obs["instruction"]) > 5


def test_ground_truth_is_consistent_with_the_image(grasp_env):
    obs, info = grasp_env.reset(seed=5)
    mask, (x1, y1, x2, y2) = info["mask"], info["bbox"]
    assert mask.shape == (240, 320) and mask.sum() > 30
    ys, xs = np.nonzero(mask)
    assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == (x1, y1, x2, y2)
    assert info["grasp_rects"].shape == (MAX_GRASP_LABELS, 5) and info["contact_points"].shape == (MAX_GRASP_LABELS, 4)
    assert (info["grasp_rects"][info["n_grasps"]:] == -1).all()  # padding, so that vector-env infos batch
    rects = info["grasp_rects"][: info["n_grasps"]]
    assert len(rects) >= 1
    for x, y, *_ in rects:  # every label's centre lies on the target
        assert mask[int(y), int(x)] or (x1 - 3 <= x <= x2 + 3 and y1 - 3 <= y <= y2 + 3)
    assert info["instruction"].lower().rstrip(".").endswith(tuple(info["expressions"]))


def test_same_seed_same_episode(grasp_env):
    runs = []
    for _ in range(2):
        obs, info = grasp_env.reset(seed=11)
        obs2, r, term, trunc, info2 = grasp_env.step(info["grasp_rects"][0][:4])
        runs.append((obs["rgb"], obs["depth"], obs["instruction"], obs2["rgb"], r, info2["failure_mode"]))
    a, b = runs
    for x, y in zip(a, b):
        assert np.array_equal(x, y) if isinstance(x, np.ndarray) else x == y
    obs3, _ = grasp_env.reset(seed=12)
    assert not np.array_equal(obs3["rgb"], a[0])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_oracle_ground_truth_grasp_lifts_the_target(grasp_env, seed):
    obs, info = grasp_env.reset(seed=seed)
    _, reward, terminated, truncated, info = grasp_env.step(info["grasp_rects"][0][:4])
    assert terminated and not truncated
    assert info["success"] and info["failure_mode"] == "none" and reward == 1.0


def test_grasping_another_object_is_wrong_object_or_a_miss(grasp_env):
    env = grasp_env.unwrapped
    for seed in range(20):
        obs, info = grasp_env.reset(seed=seed)
        other = next((i for i in range(len(env.scenes[0].objects)) if i != info["target_id"]), None)
        from vlgsim.grasp import grasp_labels
        K, E = env.camera_matrices()
        labels = grasp_labels(env.scenes[0].objects, other, obs["depth"], K[0], E[0])
        if labels:
            break
    _, reward, _, _, info = grasp_env.step(labels[0].rect.as_action())
    assert not info["success"] and reward == 0.0
    assert info["failure_mode"] in ("wrong_object", "missed", "dropped")


@pytest.mark.parametrize("action, rule", [
    (np.array([np.nan, 10, 0, 20], np.float32), "NaN or inf"),
    (np.array([np.inf, 10, 0, 20], np.float32), "NaN or inf"),
    (np.array([1.0, 2.0, 3.0], np.float32), "shape"),
    (np.array([900, 10, 0, 20], np.float32), "outside the image"),
    ("grasp the mug", "shape"),
    ([object()] * 4, "not numeric"),
    ([10 ** 400, 10, 0, 20], "not numeric"),
    (np.array([160, 120, 0, 1e30]), "beyond +-1e6"),
    (np.array([160, 120, 1e30, 20]), "beyond +-1e6"),
    (np.array([160, 120, 0, 330.0]), "width_px <= the image width"),
    (np.array([160, 120, 0, 300.0]), "gripper's opening"),
])
def test_invalid_action_ends_the_episode_with_a_message(grasp_env, action, rule):
    grasp_env.reset(seed=2)
    obs, reward, terminated, truncated, info = grasp_env.step(action)
    assert terminated and reward == 0.0
    assert info["failure_mode"] == "invalid_action" and rule in info["error"]
    obs, info = grasp_env.reset(seed=2)  # the simulator is still fine
    _, _, _, _, info = grasp_env.step(info["grasp_rects"][0][:4])
    assert info["failure_mode"] != "invalid_action"


def test_contact_points_mode_and_state_obs():
    env = gym.make("vlgsim:RealVLG-Grasp-v0", action_mode="contact_points", obs_mode="rgbd+state")
    try:
        obs, info = env.reset(seed=1)
        assert env.observation_space.contains(obs) and obs["state"].shape == (9 + 9 + 7 + 56 + 8 + 1,)
        assert obs["state"][25 + 56 + info["target_id"]] == 1.0  # one-hot target slot
        _, reward, _, _, info = env.step(info["contact_points"][0])
        assert info["success"] and reward == 1.0
    finally:
        env.close()


def test_closed_loop_control_mode_passes_check_env_and_has_dense_reward():
    env = gym.make("vlgsim:RealVLG-Grasp-v0", obs_mode="state", control_mode="pd_ee_delta_pose")
    try:
        check_env(env, skip_render_check=True)
        obs, info = env.reset(seed=4)
        assert env.action_space.shape == (7,)
        rewards = [env.step(env.action_space.sample() * 0)[1] for _ in range(3)]
        assert all(0.0 <= r <= 1.0 for r in rewards) and not info["success"]
    finally:
        env.close()


def test_640x480_camera_scales_d435_intrinsics():
    env = gym.make("vlgsim:RealVLG-Grasp-v0", image_size=(640, 480))
    try:
        obs, info = env.reset(seed=0)
        assert obs["rgb"].shape == (480, 640, 3) and obs["intrinsic"][0, 0] == pytest.approx(615.0)
        assert env.action_space.high[0] > 639 and info["mask"].shape == (480, 640)
        _, _, _, _, info = env.step(info["grasp_rects"][0][:4])
        assert info["success"]
    finally:
        env.close()
