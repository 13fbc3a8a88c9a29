"""Task registry: one decorator registers a task with Gymnasium under its id.

``gym.make("vlgsim:RealVLG-Grasp-v0", **kwargs)`` builds the task class with ``kwargs``.
With one sub-scene on the CPU backend (the default) the env is wrapped in
:class:`~vlgsim.envs.wrappers.NumpySingleEnv`: numpy observations with the instruction
as text, plain-python info, the Gymnasium API exactly (passes ``check_env``). With
``num_envs > 1`` (GPU simulation) the batched ManiSkill env is returned as it is. Tasks
with ``batched = False`` are plain Gymnasium envs and are returned as they are.

One-step tasks (``max_episode_steps=1``: they terminate on their first step) get no
``TimeLimit``: a time limit of one step would also truncate that step.

**Vector envs.** ``gym.make_vec(id, n, vectorization_mode="sync"|"async")`` works for every
task. Simulators and renderers do not survive ``fork`` (Python's default start method
on Linux; SAPIEN's renderer hangs in a child forked from a process that rendered): a task
created in a process forked from one that had already created a vlgsim env runs in a
fresh subprocess behind :class:`~vlgsim.envs.subprocess_env.SubprocessEnv` instead.
Infos batch: ragged ground truth is padded to a fixed size with a count (``n_grasps``,
``n_objects``). Gymnasium 1.4's ``AsyncVectorEnv`` with shared memory (its default) reads
``Text`` observations once at creation (Farama-Foundation/Gymnasium#1164): read the
instruction from ``info["instruction"]``, or pass ``vector_kwargs={"shared_memory": False}``.
"""

from __future__ import annotations

import functools
import importlib
import os
from dataclasses import dataclass
from typing import Optional

import gymnasium as gym

from vlgsim.envs.index import ENV_INDEX


@dataclass(frozen=True)
class TaskEntry:
    env_id: str
    cls: type
    max_episode_steps: int


TASKS: dict[str, TaskEntry] = {}
_CREATOR_PIDS: set[int] = set()
"""Processes that built a vlgsim env; a forked copy of the set tells a child it was forked."""


def register_task(env_id: str, max_episode_steps: int):
    """Class decorator: register a task class under ``env_id`` (also as ``vlgsim:<env_id>``)."""

    def deco(cls):
        TASKS[env_id] = TaskEntry(env_id, cls, max_episode_steps)
        _gym_register(env_id, max_episode_steps)
        return cls

    return deco


def register_index() -> None:
    """Register every id of :data:`~vlgsim.envs.index.ENV_INDEX` with Gymnasium (no task module imported)."""
    for env_id, entry in ENV_INDEX.items():
        _gym_register(env_id, entry.max_episode_steps)


def _gym_register(env_id: str, max_episode_steps: int) -> None:
    if env_id not in gym.registry:
        # a partial of a module-level function pickles by reference: spawned and
        # forkserver vector-env workers can rebuild it
        gym.register(id=env_id, entry_point=functools.partial(make_task, env_id),
                     max_episode_steps=_time_limit(max_episode_steps), disable_env_checker=True)


def task_entry(env_id: str) -> TaskEntry:
    """The registered task ``env_id``, importing only its module (from the index) when needed."""
    if env_id not in TASKS and env_id in ENV_INDEX:
        importlib.import_module(ENV_INDEX[env_id].module)
    if env_id not in TASKS:
        raise KeyError(f"unknown env id {env_id!r}; registered: {sorted(set(TASKS) | set(ENV_INDEX))}")
    return TASKS[env_id]


def _time_limit(max_episode_steps: int) -> Optional[int]:
    return None if max_episode_steps == 1 else max_episode_steps


def forked_from_a_simulator() -> bool:
    """True in a process forked from one that had built a vlgsim env (its renderer would hang here)."""
    return bool(_CREATOR_PIDS) and os.getpid() not in _CREATOR_PIDS


def make_task(env_id: str, num_envs: int = 1, **kwargs):
    """Build a registered task. One CPU sub-scene -> numpy single env; else batched."""
    from vlgsim.envs.wrappers import NumpySingleEnv

    cls = task_entry(env_id).cls
    if forked_from_a_simulator():
        from vlgsim.envs.subprocess_env import SubprocessEnv

        return SubprocessEnv(env_id, dict(kwargs, num_envs=num_envs))
    _CREATOR_PIDS.add(os.getpid())
    if not getattr(cls, "batched", True):  # a plain Gymnasium env (e.g. render-only grounding)
        if num_envs != 1:
            raise ValueError(f"{env_id} runs one env per process; num_envs={num_envs}: use a vector env")
        return cls(**kwargs)
    env = cls(num_envs=num_envs, **kwargs)
    if num_envs == 1 and not env.gpu_sim_enabled:
        return NumpySingleEnv(env)
    return env
