"""A vlgsim env run in a fresh Python process, behind the plain Gymnasium API.

:func:`~vlgsim.envs.registration.make_task` returns one when it is called in a process
forked from one that had already built a simulator (``gym.make_vec(...,
vectorization_mode="async")`` with the default ``fork`` start method): SAPIEN's renderer
hangs in such a child. The env itself is built with ``subprocess`` (allowed inside
daemonic vector-env workers, unlike ``multiprocessing``) and driven over a socket pair
with pickled ``(method, args, kwargs)`` calls; exceptions come back with their type.
"""

from __future__ import annotations

import os
import pickle
import socket
import subprocess
import sys
from multiprocessing.connection import Connection
from pathlib import Path

import gymnasium as gym


class SubprocessEnv(gym.Env):
    """``make_task(env_id, **kwargs)`` built in a child process; spaces, metadata and
    ``render_mode`` are the child env's."""

    def __init__(self, env_id: str, kwargs: dict):
        parent, child = socket.socketpair()
        pkg_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([pkg_root, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
        self._proc = subprocess.Popen([sys.executable, "-c", f"from vlgsim.envs.subprocess_env import _serve; _serve({child.fileno()})"],
                                      pass_fds=[child.fileno()], env=env, stdin=subprocess.DEVNULL)
        child.close()
        self._conn = Connection(parent.detach())
        self._closed = False
        self.env_id = env_id
        obs_space, act_space, self.metadata, self.render_mode = self._call("__init__", env_id, kwargs)
        self.observation_space, self.action_space = _local_space(obs_space), _local_space(act_space)

    def _call(self, method: str, *args, **kwargs):
        if self._closed:
            raise RuntimeError(f"{self.env_id} subprocess env is closed; rule: no calls after close()")
        try:
            self._conn.send((method, args, kwargs))
            ok, payload = self._conn.recv()
        except (EOFError, OSError) as e:
            self._closed = True
            raise RuntimeError(f"{self.env_id} subprocess (pid {self._proc.pid}) died during {method}(): "
                               f"exit code {self._proc.poll()}; see its stderr") from e
        if not ok:
            raise payload
        return payload

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return self._call("reset", seed=seed, options=options)

    def step(self, action):
        return self._call("step", action)

    def render(self):
        return self._call("render")

    def close(self):
        if self._closed:
            return
        try:
            self._call("close")
        except RuntimeError:
            pass
        self._closed = True
        self._conn.close()
        try:
            self._proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._proc.kill()


def _local_space(space: gym.Space) -> gym.Space:
    """The space rebuilt in this process: a ``Text`` space orders its charset by string hash,
    which differs between processes, and vector envs share text as character indices."""
    if isinstance(space, gym.spaces.Text):
        return gym.spaces.Text(space.max_length, min_length=space.min_length, charset=space.character_set)
    if isinstance(space, gym.spaces.Dict):
        return gym.spaces.Dict({k: _local_space(v) for k, v in space.spaces.items()})
    return space


def _serve(fd: int) -> None:
    conn = Connection(fd)
    env = None
    while True:
        try:
            method, args, kwargs = conn.recv()
        except EOFError:
            break
        try:
            if method == "__init__":
                from vlgsim.envs.registration import make_task

                env = make_task(args[0], **args[1])
                result = (env.observation_space, env.action_space, dict(env.metadata), env.render_mode)
            else:
                result = getattr(env, method)(*args, **kwargs)
            reply = (True, result)
        except Exception as e:  # noqa: BLE001 - the caller re-raises it
            reply = (False, e)
        try:
            conn.send(reply)
        except (pickle.PicklingError, TypeError, AttributeError):
            conn.send((False, RuntimeError(f"{type(reply[1]).__name__}: {reply[1]}")))
        if method == "close":
            break
    conn.close()

