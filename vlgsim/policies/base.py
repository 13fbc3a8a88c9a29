"""The policy protocol (LeRobot-like): ``reset(instruction, info)`` then ``act(obs)``.

``act`` returns one action, or an action chunk of shape (T, action_dim) that the caller
executes step by step. Policies are built by name through :func:`make_policy`
(``"oracle"``, ``"random"``, ... and ``NAME:ARG`` forms as more policies land).
"""

from __future__ import annotations

from typing import Any, Callable, Protocol, runtime_checkable

import gymnasium as gym
import numpy as np


@runtime_checkable
class Policy(Protocol):
    name: str

    def reset(self, instruction: str, info: dict[str, Any]) -> None: ...

    def act(self, observation: dict[str, Any]) -> np.ndarray: ...


POLICIES: dict[str, Callable[..., Policy]] = {}


def register_policy(name: str):
    def deco(factory):
        POLICIES[name] = factory
        return factory

    return deco


def make_policy(spec: str, env: gym.Env, seed: int = 0) -> Policy:
    """Build a policy from ``NAME`` or ``NAME:ARG`` for ``env`` (its action space)."""
    name, _, arg = spec.partition(":")
    if name not in POLICIES:
        raise ValueError(f"unknown policy {spec!r}; rule: NAME[:ARG] with NAME in {sorted(POLICIES)}")
    return POLICIES[name](env=env, arg=arg or None, seed=seed)
