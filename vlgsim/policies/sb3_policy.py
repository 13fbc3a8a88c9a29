"""A trained stable-baselines3 model as a vlgsim policy (``sb3:PATH``, PATH = model.zip or
the folder ``vlgsim train sb3`` wrote). It acts on the observation's ``state`` vector."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from vlgsim.policies.base import register_policy


class SB3Policy:
    name = "sb3"

    def __init__(self, path: str | Path, deterministic: bool = True):
        from stable_baselines3 import PPO, SAC

        path = Path(path)
        if path.is_dir():
            path = path / "model.zip"
        if not path.exists():
            raise FileNotFoundError(f"sb3 model {path} not found; rule: sb3:PATH with PATH a model.zip or its folder")
        meta = path.parent / "train.json"
        cfg = json.loads(meta.read_text()) if meta.exists() else {}
        algo, self.obs = cfg.get("algo", "ppo"), cfg.get("obs", "state")  # runs before the obs option: raw state
        self.model = (SAC if algo == "sac" else PPO).load(path, device="cpu")
        self.deterministic = deterministic

    def reset(self, instruction: str, info: dict) -> None:
        pass

    def act(self, observation: dict) -> np.ndarray:
        if "state" not in observation:
            raise ValueError("sb3 policies act on the 'state' observation; rule: make the env with obs_mode='state'")
        x = np.asarray(observation["state"], np.float32)
        if self.obs == "target":
            from vlgsim.envs.wrappers import target_state

            x = target_state(x)
        action, _ = self.model.predict(x, deterministic=self.deterministic)
        return action


@register_policy("sb3")
def _make_sb3(env, arg=None, seed=0):
    if not arg:
        raise ValueError("sb3 needs a path; rule: sb3:PATH")
    return SB3Policy(arg)
