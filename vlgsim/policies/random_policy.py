"""Uniform random actions from the env's action space (seeded)."""

from __future__ import annotations

import numpy as np

from vlgsim.policies.base import register_policy


class RandomPolicy:
    name = "random"

    def __init__(self, action_space, seed: int = 0):
        self.action_space = action_space
        self.action_space.seed(seed)

    def reset(self, instruction: str, info: dict) -> None:
        """Re-seed from the episode seed (if given) so an episode's actions do not depend
        on which episodes ran before it in the same process."""
        if "episode_seed" in info:
            self.action_space.seed(int(info["episode_seed"]))

    def act(self, observation: dict) -> np.ndarray:
        return self.action_space.sample()


@register_policy("random")
def _make_random(env, arg=None, seed=0):
    return RandomPolicy(env.action_space, seed=seed)
