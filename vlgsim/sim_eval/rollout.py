"""Seeded episode rollouts, in one process or spread over worker processes.

Episode ``i`` of an evaluation with base seed ``S`` uses env seed ``S + i``; every
episode resets (and, for RealVLG, rebuilds) its scene from that seed alone, so results
do not depend on which worker ran it: ``--workers 4`` gives the rows ``--workers 1`` gives.
A failing episode (an exception in the env or the policy) is recorded with
``failure_mode="error"`` and the message, and the evaluation goes on.
"""

from __future__ import annotations

import multiprocessing as mp
import time
import traceback
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterator, Optional

import numpy as np


@dataclass
class EpisodeResult:
    episode: int
    seed: int
    instruction: str
    success: bool
    failure_mode: str
    reward: float
    steps: int
    action: Optional[list] = None
    """The first action the policy took (the whole answer for one-step grasp tasks)."""
    error: str = ""
    extra: dict = field(default_factory=dict)
    wall_s: float = 0.0

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class EvalJob:
    env_id: str
    policy: str
    env_kwargs: dict
    max_steps: Optional[int] = None


def _to_list(a) -> list:
    return np.asarray(a, dtype=np.float64).round(4).tolist()


def _frames_of(obs) -> list[np.ndarray]:
    """Video frames of an observation: its ``rgb`` image, or the first of its ``images``."""
    if isinstance(obs, dict) and "rgb" in obs:
        return [obs["rgb"]]
    if isinstance(obs, dict) and "images" in obs:
        return [obs["images"][0]]
    return []


def run_episode(env, policy, episode: int, seed: int, max_steps: Optional[int] = None,
                record: bool = False) -> tuple[EpisodeResult, list[np.ndarray]]:
    """Roll out one seeded episode; returns the result and, if ``record``, video frames."""
    t0 = time.perf_counter()
    base = env.unwrapped
    if record and hasattr(base, "record_frames"):
        base.record_frames = True
    frames: list[np.ndarray] = []
    instruction, first_action, steps, total = "", None, 0, 0.0
    try:
        obs, info = env.reset(seed=seed)
        instruction = str(obs.get("instruction", "")) if isinstance(obs, dict) else ""
        policy.reset(instruction, dict(info, episode_seed=seed))
        if record:
            frames.extend(_frames_of(obs))
        limit = max_steps or getattr(getattr(env, "spec", None), "max_episode_steps", None) or 1000
        done = False
        while not done and steps < limit:
            action = policy.act(obs)
            chunk = np.asarray(action)
            chunk = chunk if chunk.ndim == 2 and chunk.shape[1:] == env.action_space.shape else chunk[None]
            for a in chunk:
                if first_action is None:
                    first_action = _to_list(a)
                obs, reward, terminated, truncated, info = env.step(a)
                total += float(reward)
                steps += 1
                if record:
                    frames.extend(getattr(base, "last_frames", []) or [])
                    frames.extend(_frames_of(obs))
                done = bool(terminated or truncated)
                if done or steps >= limit:
                    break
        mode = str(info.get("failure_mode", "none" if info.get("success") else "missed"))
        error = str(info.get("error", ""))
        policy_error = getattr(policy, "last_error", "")
        if policy_error and mode == "invalid_action":  # the model's text did not parse
            mode, error = "parse_failure", policy_error
        extra = {"target_id": info.get("target_id")} if "target_id" in info else {}
        if info.get("metrics"):  # task metrics of the episode (DexVLG PTA/PGA/CMA, steerability ...)
            extra["metrics"] = {k: float(v) for k, v in info["metrics"].items()}
        if getattr(policy, "last_text", ""):
            extra["model_text"] = policy.last_text[:500]
        result = EpisodeResult(episode, seed, instruction, bool(info.get("success", False)), mode, total, steps,
                               first_action, error, extra)
    except Exception as e:  # noqa: BLE001 - an evaluation records the failure and continues
        result = EpisodeResult(episode, seed, instruction, False, "error", total, steps, first_action,
                               f"{type(e).__name__}: {e}", {"traceback": traceback.format_exc(limit=5)})
    finally:
        if record and hasattr(base, "record_frames"):
            base.record_frames = False
    result.wall_s = round(time.perf_counter() - t0, 3)
    return result, frames


# ---------------------------------------------------------------- worker processes
_WORKER: dict[str, Any] = {}


def _make(job: EvalJob, seed: int):
    import gymnasium as gym

    import vlgsim  # noqa: F401  (registers envs)
    from vlgsim.policies import make_policy

    env = gym.make(job.env_id, **job.env_kwargs)
    return env, make_policy(job.policy, env, seed=seed)


def _worker_init(job: EvalJob, single_thread: bool = False):
    if single_thread:  # one process per core: keep torch and lavapipe from oversubscribing the cores
        import os

        import torch

        os.environ.setdefault("LP_NUM_THREADS", "1")
        torch.set_num_threads(1)
    _WORKER["job"] = job
    _WORKER["env"], _WORKER["policy"] = _make(job, 0)


def _worker_run(task: tuple[int, int, bool]):
    episode, seed, record = task
    job = _WORKER["job"]
    result, frames = run_episode(_WORKER["env"], _WORKER["policy"], episode, seed, job.max_steps, record)
    if result.failure_mode == "error":  # rebuild a possibly broken env for the next episode
        try:
            _WORKER["env"].close()
        except Exception:  # noqa: BLE001
            pass
        _WORKER["env"], _WORKER["policy"] = _make(job, 0)
    return result, frames


def _crashed(task: tuple[int, int, bool], job: EvalJob) -> EpisodeResult:
    episode, seed, _ = task
    return EpisodeResult(episode, seed, "", False, "error", 0.0, 0, None,
                         "worker process died while running this episode (alone); see its stderr")


def iter_episodes(job: EvalJob, seeds: list[int], workers: int = 1, record_first: int = 0,
                  skip: frozenset = frozenset()) -> Iterator[tuple[EpisodeResult, list[np.ndarray]]]:
    """Yield (result, frames) as episodes finish (any order with several workers).

    With workers, a process that dies (a segfault in a simulator, an out-of-memory kill)
    does not stop the evaluation: the episodes that were running then are re-run one at a
    time in a fresh pool, and one that kills its worker alone is recorded as an error."""
    tasks = [(i, s, i < record_first) for i, s in enumerate(seeds) if i not in skip]
    if not tasks:
        return
    if workers <= 1:
        _worker_init(job)
        try:
            for t in tasks:
                yield _worker_run(t)
        finally:
            _WORKER["env"].close()
            _WORKER.clear()
        return
    pending, suspects = deque(tasks), deque()
    ctx = mp.get_context("spawn")
    while pending or suspects:
        with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_worker_init, initargs=(job, True)) as pool:
            inflight: dict = {}
            broken = False
            while (pending or suspects or inflight) and not broken:
                if suspects:  # isolate each suspect: nothing else runs beside it
                    if not inflight:
                        t = suspects.popleft()
                        inflight[pool.submit(_worker_run, t)] = (t, True)
                else:
                    while pending and len(inflight) < 2 * workers:
                        t = pending.popleft()
                        inflight[pool.submit(_worker_run, t)] = (t, False)
                done, _ = wait(inflight, return_when=FIRST_COMPLETED)
                for f in done:
                    t, isolated = inflight.pop(f)
                    try:
                        yield f.result()
                    except BrokenProcessPool:
                        broken = True
                        if isolated:
                            yield _crashed(t, job), []
                        else:
                            suspects.append(t)
            for t, isolated in inflight.values():  # the pool is gone: these must run again
                (suspects.append if not isolated else suspects.appendleft)(t)


def evaluate(job: EvalJob, seeds: list[int], workers: int = 1, record_first: int = 0,
             on_result: Optional[Callable[[EpisodeResult, list], None]] = None,
             skip: frozenset = frozenset()) -> list[EpisodeResult]:
    """Run every seed (episode i uses ``seeds[i]``) except the episode indices in ``skip``;
    ``on_result`` sees each episode as it finishes. Results sorted by episode."""
    results = []
    for result, frames in iter_episodes(job, seeds, workers, record_first, skip):
        if on_result:
            on_result(result, frames)
        results.append(result)
    return sorted(results, key=lambda r: r.episode)
