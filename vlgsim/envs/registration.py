"""Task registry: one decorator registers a task with Gymnasium under its id.

``gym.make("vlgsim:RealVLG-Grasp-v0", **kwargs)`` builds the task class with ``kwargs``.
With one sub-scene on the CPU backend (the default) the env is wrapped in
:class:`~vlgsim.envs.wrappers.NumpySingleEnv`: numpy observations with the instruction
as text, plain-python info, the Gymnasium API exactly (passes ``check_env``). With
``num_envs > 1`` (GPU simulation) the batched ManiSkill env is returned as it is. Tasks
with ``batched = False`` are plain Gymnasium envs and are returned as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym


@dataclass(frozen=True)
class TaskEntry:
    env_id: str
    cls: type
    max_episode_steps: int


TASKS: dict[str, TaskEntry] = {}


def register_task(env_id: str, max_episode_steps: int):
    """Class decorator: register a task class under ``env_id`` (also as ``vlgsim:<env_id>``)."""

    def deco(cls):
        TASKS[env_id] = TaskEntry(env_id, cls, max_episode_steps)
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=lambda **kw: make_task(env_id, **kw),
                         max_episode_steps=max_episode_steps, disable_env_checker=True)
        return cls

    return deco


def make_task(env_id: str, num_envs: int = 1, **kwargs):
    """Build a registered task. One CPU sub-scene -> numpy single env; else batched."""
    from vlgsim.envs.wrappers import NumpySingleEnv

    if env_id not in TASKS:
        raise KeyError(f"unknown env id {env_id!r}; registered: {sorted(TASKS)}")
    cls = TASKS[env_id].cls
    if not getattr(cls, "batched", True):  # a plain Gymnasium env (e.g. render-only grounding)
        if num_envs != 1:
            raise ValueError(f"{env_id} runs one env per process; num_envs={num_envs}: use a vector env")
        return cls(**kwargs)
    env = cls(num_envs=num_envs, **kwargs)
    if num_envs == 1 and not env.gpu_sim_enabled:
        return NumpySingleEnv(env)
    return env
