"""Seeded episode rollouts, in one process or spread over worker processes.

Episode ``i`` of an evaluation with base seed ``S`` uses env seed ``S + i``; every
episode resets (and, for RealVLG, rebuilds) its scene from that seed alone, so results
do not depend on which worker ran it: ``--workers 4`` (or ``--backend ray``) gives the rows
``--workers 1`` gives.
A failing episode (an exception in the env or the policy) is recorded with
``failure_mode="error"`` and the message, and the evaluation goes on.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any, Callable, Iterator, Optional

import numpy as np

from vlgsim.workers import Backend, WorkerSpec, run_units


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


# ---------------------------------------------------------------- workers (local processes or Ray actors)
@dataclass
class EpisodeWorker:
    """A worker's env and policy, built once and kept for the whole run (imports and shader
    warm-up once per worker); rebuilt after an episode that ended in an error."""

    job: EvalJob
    env: Any = None
    policy: Any = None

    def build(self) -> "EpisodeWorker":
        import gymnasium as gym

        import vlgsim  # noqa: F401  (registers envs)
        from vlgsim.policies import make_policy

        self.env = gym.make(self.job.env_id, **self.job.env_kwargs)
        self.policy = make_policy(self.job.policy, self.env, seed=0)
        return self

    def close(self) -> None:
        if self.env is not None:
            try:
                self.env.close()
            except Exception:  # noqa: BLE001
                pass
            self.env = None


def _episode_worker(job: EvalJob) -> EpisodeWorker:
    return EpisodeWorker(job).build()


def _episode_unit(worker: EpisodeWorker, task: tuple[int, int, bool]):
    episode, seed, record = task
    result, frames = run_episode(worker.env, worker.policy, episode, seed, worker.job.max_steps, record)
    if result.failure_mode == "error":  # rebuild a possibly broken env for the next episode
        worker.close()
        worker.build()
    return result, frames


def _episode_crashed(task: tuple[int, int, bool], message: str):
    episode, seed, _ = task
    return EpisodeResult(episode, seed, "", False, "error", 0.0, 0, None, message), []


def episode_worker_spec(job: EvalJob) -> WorkerSpec:
    return WorkerSpec(partial(_episode_worker, job), _episode_unit, _episode_crashed)


def iter_episodes(job: EvalJob, seeds: list[int], workers: int = 1, record_first: int = 0,
                  skip: frozenset = frozenset(),
                  backend: Optional[Backend] = None) -> Iterator[tuple[EpisodeResult, list[np.ndarray]]]:
    """Yield (result, frames) as episodes finish (any order with several workers).

    ``backend`` (default: ``workers`` local processes) may be Ray (:mod:`vlgsim.workers`). A
    worker that dies (a segfault in a simulator, an out-of-memory kill, a killed Ray worker)
    does not stop the evaluation: its episodes run again on a fresh worker, and one that
    kills its worker every time is recorded as an error."""
    tasks = [(i, s, i < record_first) for i, s in enumerate(seeds) if i not in skip]
    backend = backend or Backend("local", workers)
    for _, (result, frames) in run_units(episode_worker_spec(job), tasks, backend):
        yield result, frames


def evaluate(job: EvalJob, seeds: list[int], workers: int = 1, record_first: int = 0,
             on_result: Optional[Callable[[EpisodeResult, list], None]] = None,
             skip: frozenset = frozenset(), backend: Optional[Backend] = None) -> list[EpisodeResult]:
    """Run every seed (episode i uses ``seeds[i]``) except the episode indices in ``skip``;
    ``on_result`` sees each episode as it finishes. Results sorted by episode."""
    results = []
    for result, frames in iter_episodes(job, seeds, workers, record_first, skip, backend):
        if on_result:
            on_result(result, frames)
        results.append(result)
    return sorted(results, key=lambda r: r.episode)
