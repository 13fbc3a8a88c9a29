"""Gymnasium's ``check_env`` on every registered id as ``gym.make`` returns it, and
stable-baselines3's ``check_env`` on the state-only closed-loop env (``StateOnly``)."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from vlgsim.envs import TASKS
from vlgsim.envs.wrappers import StateOnly

pytestmark = pytest.mark.sim


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
