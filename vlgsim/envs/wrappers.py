"""Wrappers between batched ManiSkill tensors and the plain Gymnasium API."""

from __future__ import annotations

import copy
import string

import gymnasium as gym
import numpy as np
import torch

INSTRUCTION_CHARSET = string.ascii_letters + string.digits + string.punctuation + " "
INSTRUCTION_MAX_LEN = 256


def _np(x):
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return x


class NumpySingleEnv(gym.Wrapper):
    """One sub-scene, numpy in and out. Observations: the task's arrays unbatched plus
    ``instruction`` (text). Info: plain python/numpy, ground truth of the target at top level."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 20}
    """Only what works headless (ManiSkill's ``human`` viewer needs a display)."""

    def __init__(self, env):
        super().__init__(env)
        base = env.unwrapped
        self.metadata = dict(self.metadata, render_fps=int(getattr(base, "control_freq", 20) or 20))
        if base.num_envs != 1:
            raise ValueError(f"NumpySingleEnv needs num_envs == 1, got {base.num_envs}")
        self.action_space = base.single_action_space
        spaces = {}
        H, W = base.camera_spec.height, base.camera_spec.width
        mode = base.vlg_obs_mode
        if "rgbd" in mode:
            spaces["rgb"] = gym.spaces.Box(0, 255, (H, W, 3), np.uint8)
            spaces["depth"] = gym.spaces.Box(0.0, np.float32(base.camera_spec.far_m), (H, W), np.float32)
            spaces["intrinsic"] = gym.spaces.Box(-np.inf, np.inf, (3, 3), np.float32)
            spaces["extrinsic"] = gym.spaces.Box(-np.inf, np.inf, (4, 4), np.float32)
        if "state" in mode:
            n = base.state_vector().shape[-1]
            spaces["state"] = gym.spaces.Box(-np.inf, np.inf, (n,), np.float32)
        spaces["instruction"] = gym.spaces.Text(INSTRUCTION_MAX_LEN, charset=INSTRUCTION_CHARSET)
        self.observation_space = gym.spaces.Dict(spaces)

    def _obs(self, obs):
        out = {k: _np(v)[0] for k, v in obs.items()}
        if "depth" in out:
            out["depth"] = np.clip(out["depth"], 0.0, self.observation_space["depth"].high[0, 0]).astype(np.float32)
        out["instruction"] = self.env.unwrapped.scenes[0].instruction
        return out

    def _info(self, info):
        out = {}
        for k, v in info.items():
            if k == "ground_truth":
                out.update(copy.deepcopy(v[0]))  # every call returns fresh data
            elif isinstance(v, list):
                out[k] = v[0]
            else:
                v = _np(v)
                out[k] = v[0].item() if isinstance(v, np.ndarray) and v.ndim == 1 else v
        return out

    def reset(self, *, seed=None, options=None):
        obs, info = self.env.reset(seed=seed, options=options)
        return self._obs(obs), self._info(info)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return (self._obs(obs), float(_np(reward)[0]), bool(_np(terminated)[0]), bool(_np(truncated)[0]),
                self._info(info))

    def render(self):
        return _np(self.env.unwrapped.capture()[0])[0]

    @property
    def render_mode(self):
        return "rgb_array"


class StateOnly(gym.ObservationWrapper):
    """Only the flat privileged ``state`` vector of a vlgsim observation (a plain ``Box``, as
    stable-baselines3's ``check_env`` and MLP policies want): wrap an env made with
    ``obs_mode="state"``, e.g. ``StateOnly(gym.make("vlgsim:RealVLG-Grasp-v0", obs_mode="state",
    control_mode="pd_ee_delta_pose"))``. The instruction text is dropped (the state marks the target)."""

    def __init__(self, env):
        super().__init__(env)
        space = env.observation_space
        if not isinstance(space, gym.spaces.Dict) or "state" not in space.spaces:
            raise ValueError(f"StateOnly needs a Dict observation with 'state', got {space}; rule: make the env "
                             "with obs_mode='state'")
        self.observation_space = space["state"]

    def observation(self, obs):
        return obs["state"]
