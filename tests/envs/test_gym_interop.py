"""Gymnasium and stable-baselines3 interop: every env family in ``gym.make_vec`` (async with
the default ``fork`` start method, and sync), Gymnasium's ``check_env`` on every registered
id as ``gym.make`` returns it, and SB3's ``check_env`` on the state-only closed-loop env."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from vlgsim.envs import TASKS
from vlgsim.envs.wrappers import StateOnly

pytestmark = pytest.mark.sim

FAMILIES = {  # one small configuration per env family
    "RealVLG-Grasp-v0": dict(n_objects=[2, 4], image_size=[96, 72]),
    "RealVLG-Ground-v0": dict(n_views=[1, 2], n_objects=[3, 6], image_size=[96, 72]),
    "DexVLG-PartGrasp-v0": dict(categories=["can"], obs_mode="state"),
    "Bimanual-PickColor-v0": dict(obs_mode="state"),
}


@pytest.mark.parametrize("mode", ["async", "sync"])
@pytest.mark.parametrize("env_id", sorted(FAMILIES))
def test_make_vec_batches_every_family(env_id, mode):
    """Async uses the default ``fork`` start method after the parent built a dummy env (so the
    workers run their envs in fresh subprocesses). Gymnasium's shared memory hands back
    ``Text`` observations as read once at creation (its AsyncVectorEnv reads non-array
    spaces once, Farama-Foundation/Gymnasium#1164): the instruction is also in ``info``,
    and ``shared_memory=False`` batches it in the observation."""
    vector_kwargs = {"shared_memory": False} if mode == "async" and env_id != "Bimanual-PickColor-v0" else {}
    envs = gym.make_vec(env_id, num_envs=2, vectorization_mode=mode, vector_kwargs=vector_kwargs,
                        **FAMILIES[env_id])
    try:
        obs, info = envs.reset(seed=[3, 4])
        assert len(info["instruction"]) == 2 and all(isinstance(t, str) and t for t in info["instruction"])
        if vector_kwargs or mode == "sync":
            assert tuple(obs["instruction"]) == tuple(info["instruction"])
        if env_id == "RealVLG-Grasp-v0":  # ragged ground truth arrives padded, with its count
            assert info["grasp_rects"].shape == (2, 64, 5) and info["n_grasps"].min() >= 1
            assert info["grasp_world"].shape == (2, 64, 5) and info["contact_points"].shape == (2, 64, 4)
            single = gym.make(env_id, **FAMILIES[env_id])
            single_obs, single_info = single.reset(seed=4)
            single.close()
            np.testing.assert_array_equal(obs["rgb"][1], single_obs["rgb"])  # same seed, same picture
            assert info["n_grasps"][1] == single_info["n_grasps"]
        if env_id == "RealVLG-Ground-v0":
            assert info["boxes"].shape[:3] == (2, 2, 6) and set(info["n_objects"]) <= set(range(3, 7))
        envs.action_space.seed(0)
        obs, reward, terminated, truncated, info = envs.step(envs.action_space.sample())
        assert reward.shape == (2,) and terminated.dtype == bool and "success" in info
        if env_id != "Bimanual-PickColor-v0":  # the one-step families end here
            assert terminated.all()
    finally:
        envs.close()


def test_subprocess_env_passes_exceptions_with_their_type():
    from vlgsim.envs.subprocess_env import SubprocessEnv

    env = SubprocessEnv("RealVLG-Ground-v0", dict(image_size=[64, 48]))
    try:
        with pytest.raises(RuntimeError, match="call reset"):
            env.step(np.zeros(5, np.float32))
        obs, info = env.reset(seed=2)
        assert obs["images"].shape[1:] == (48, 64, 3) and env.observation_space.contains(obs)
    finally:
        env.close()
    with pytest.raises(RuntimeError, match="closed"):
        env.reset()


@pytest.mark.parametrize("env_id", sorted(TASKS))
def test_check_env_on_every_registered_id(env_id):
    kwargs = {"DexVLG-PartGrasp-v0": dict(categories=["can"], image_size=[64, 48], n_points=256),
              "RealVLG-Grasp-v0": dict(n_objects=[2, 3], image_size=[96, 72]),
              "RealVLG-Ground-v0": dict(image_size=[96, 72])}.get(env_id, {})
    env = gym.make(env_id, **kwargs)
    try:
        check_env(env)  # raises on any violation
        assert "human" not in env.metadata["render_modes"]
    finally:
        env.close()


def test_sb3_check_env_accepts_the_state_env():
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    env = StateOnly(gym.make("RealVLG-Grasp-v0", obs_mode="state", control_mode="pd_ee_delta_pose",
                             n_objects=[1, 1], image_size=[64, 48]))
    try:
        assert isinstance(env.observation_space, gym.spaces.Box)
        sb3_check_env(env, warn=True)
        obs, _ = env.reset(seed=0)
        assert obs.dtype == np.float32 and obs.shape == env.observation_space.shape
    finally:
        env.close()
    bimanual = StateOnly(gym.make("Bimanual-PickColor-v0", obs_mode="state"))
    sb3_check_env(bimanual, warn=True)
    bimanual.close()
    with pytest.raises(ValueError, match="obs_mode='state'"):
        StateOnly(gym.make("RealVLG-Ground-v0", image_size=[96, 72]))
