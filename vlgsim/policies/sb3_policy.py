"""A trained stable-baselines3 model as a vlgsim policy (``sb3:PATH``, PATH = model.zip or
the folder ``vlgsim train sb3`` wrote). It acts on the observation's ``state`` vector, or, for
models trained with ``--obs grasp``, on ``grasp_state`` (env made with ``obs_mode="grasp_state"``),
normalised with the run's ``vecnormalize.pkl``, its top-down action sent as the run's control: joint targets
of one DLS step (``control="dls"``, env made with ``control_mode="pd_joint_pos"``) or ``pd_ee_delta_pose``
(``control="ee"``, and runs written before the option)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from vlgsim.policies.base import register_policy


class SB3Policy:
    name = "sb3"

    def __init__(self, path: str | Path, deterministic: bool = True, env=None):
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
        self.control, self.controller = cfg.get("control", "ee"), None
        if self.obs == "grasp" and self.control == "dls":
            from vlgsim.sim.topdown_control import TopDownDLSController

            if env is None:
                raise ValueError(f"sb3 model {path} sends joint targets of the env's robot; rule: give the env "
                                 "(made with obs_mode='grasp_state', control_mode='pd_joint_pos')")
            self.controller = TopDownDLSController.for_env(env)
        self.obs_rms = None
        norm = path.parent / "vecnormalize.pkl"
        if cfg.get("normalize_obs") and norm.exists():
            import pickle

            vn = pickle.loads(norm.read_bytes())  # SB3's VecNormalize (without its envs): the running obs statistics
            self.obs_rms, self.clip_obs, self.epsilon = vn.obs_rms, vn.clip_obs, vn.epsilon

    def reset(self, instruction: str, info: dict) -> None:
        pass

    def act(self, observation: dict) -> np.ndarray:
        if self.obs == "grasp":
            return self._act_grasp(observation)
        if "state" not in observation:
            raise ValueError("sb3 policies act on the 'state' observation; rule: make the env with obs_mode='state'")
        x = np.asarray(observation["state"], np.float32)
        if self.obs == "target":
            from vlgsim.envs.wrappers import target_state

            x = target_state(x)
        action, _ = self.model.predict(x, deterministic=self.deterministic)
        return action

    def _act_grasp(self, observation: dict) -> np.ndarray:
        from vlgsim.envs.wrappers import topdown_env_action

        if "grasp_state" not in observation:
            mode = "pd_joint_pos" if self.controller is not None else "pd_ee_delta_pose"
            raise ValueError("this sb3 model acts on the 'grasp_state' observation; rule: make the env with "
                             f"obs_mode='grasp_state' and control_mode='{mode}'")
        x = np.asarray(observation["grasp_state"], np.float32).reshape(-1)
        if not np.all(np.isfinite(x)):
            raise ValueError(f"grasp_state has non-finite values {x[~np.isfinite(x)][:4]}; rule: finite numbers")
        z = x
        if self.obs_rms is not None:
            z = np.clip((x - self.obs_rms.mean) / np.sqrt(self.obs_rms.var + self.epsilon), -self.clip_obs, self.clip_obs)
        action, _ = self.model.predict(z.astype(np.float32), deterministic=self.deterministic)
        return topdown_env_action(self.controller, action, x)


@register_policy("sb3")
def _make_sb3(env, arg=None, seed=0):
    if not arg:
        raise ValueError("sb3 needs a path; rule: sb3:PATH")
    return SB3Policy(arg, env=env)
