"""Gymnasium vector envs: every env family in ``gym.make_vec`` with 2 envs, async (the
default ``fork`` start method) and sync; ragged infos batch."""

import gymnasium as gym
import numpy as np
import pytest

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

    env = SubprocessEnv("Bimanual-PickColor-v0", dict(obs_mode="state"))
    try:
        with pytest.raises(RuntimeError, match="call reset"):
            env.step(np.zeros(14, np.float32))
        with pytest.raises(ValueError):  # a bad action is a clear error, raised here with its type
            env.reset(seed=2)
            env.step(np.full(14, np.nan, np.float32))
        obs, info = env.reset(seed=2)
        assert env.observation_space.contains(obs) and obs["instruction"] == info["instruction"]
    finally:
        env.close()
    with pytest.raises(RuntimeError, match="closed"):
        env.reset()


