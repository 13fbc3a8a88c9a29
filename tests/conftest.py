import gymnasium as gym
import pytest

import vlgsim  # noqa: F401  (registers the envs)


@pytest.fixture(scope="session")
def grasp_env():
    """One RealVLG-Grasp-v0 env shared by the session (building one compiles shaders once)."""
    env = gym.make("vlgsim:RealVLG-Grasp-v0")
    yield env
    env.close()
