"""Expert demonstrations of the Bimanual-* tasks as one LeRobot v3.0 dataset.

Episode ``e`` runs task ``tasks[e % len(tasks)]`` with env seed ``seed + e`` (if the expert
fails, ``seed + e + 100000 * attempt``, up to ``attempts`` tries: only successful demos are
kept). Every episode stores both instructions (``instruction_raw``, ``instruction_fine``
in meta/episodes); its frames carry the one drawn with the FG:Raw ratio (``task``).
Features: ``observation.state`` (both arms' qpos and TCP poses, 32), ``observation.
environment_state`` (task bodies' poses, padded to 4 x 7), ``action`` (14, pd_ee_delta_pose),
``observation.images.{head,left_wrist,right_wrist}`` (MP4, many episodes per file). Resumable and crash-safe
(see :mod:`vlgsim.data.lerobot`); lerobot 0.4.x reads it and appends to it. Episodes may be recorded by
parallel workers or Ray actors (:mod:`vlgsim.workers`) and are committed in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Callable, Optional

import gymnasium as gym
import numpy as np

from vlgsim.data.lerobot import LeRobotWriter, vector_feature, video_feature
from vlgsim.workers import Backend, WorkerSpec, run_units

MAX_BODIES = 4
CAMERAS = ("head", "left_wrist", "right_wrist")
FPS = 20


@dataclass
class DemoConfig:
    tasks: list[str]
    episodes: int
    fg_raw: str = "1:1"
    split: str = "easy"
    seed: int = 0
    image_size: tuple[int, int] = (128, 128)
    attempts: int = 3


def demo_features(image_size) -> dict:
    w, h = image_size
    arm = [f"{a}_{j}" for a in ("left", "right") for j in [*(f"joint{i}" for i in range(1, 8)), "finger1", "finger2"]]
    tcp = [f"{a}_tcp_{c}" for a in ("left", "right") for c in ("x", "y", "z", "qw", "qx", "qy", "qz")]
    env_state = [f"body{k}_{c}" for k in range(MAX_BODIES) for c in ("x", "y", "z", "qw", "qx", "qy", "qz")]
    act = [f"{a}_{c}" for a in ("left", "right") for c in ("dx", "dy", "dz", "drx", "dry", "drz", "gripper")]
    f = {"observation.state": vector_feature(arm + tcp), "observation.environment_state": vector_feature(env_state),
         "action": vector_feature(act)}
    for cam in CAMERAS:
        f[f"observation.images.{cam}"] = video_feature(h, w, FPS)
    return f


def record_episode(env, policy, seed: int) -> Optional[dict]:
    """Roll out the expert; the episode's arrays and instructions if it succeeded, else None."""
    obs, info = env.reset(seed=seed)
    policy.reset(obs["instruction"], dict(info, episode_seed=seed))
    states, env_states, actions, images = [], [], [], {c: [] for c in CAMERAS}
    done = False
    while not done:
        action = policy.act(obs)
        s = obs["state"]
        states.append(s[:32])
        pad = np.zeros(MAX_BODIES * 7, np.float32)
        pad[: len(s) - 32] = s[32:]
        env_states.append(pad)
        actions.append(np.asarray(action, np.float32))
        for c in CAMERAS:
            images[c].append(obs[f"{c}_rgb"])
        obs, _, terminated, truncated, info = env.step(action)
        done = terminated or truncated
    if not info["success"]:
        return None
    return dict(vectors={"observation.state": np.stack(states), "observation.environment_state": np.stack(env_states),
                         "action": np.stack(actions)},
                videos={f"observation.images.{c}": np.stack(images[c]) for c in CAMERAS},
                task=obs["instruction"],
                extra=dict(instruction_raw=info["instruction_raw"], instruction_fine=info["instruction_fine"],
                           instruction_type=info["instruction_type"], env_id=info["task"], split=info["split"],
                           variant=info["variant"], seed=seed, score_0_100=info["metrics"]["score_0_100"]))


@dataclass
class DemoWorker:
    """A worker's envs (one per task, built when first needed) and experts, kept for the run."""

    cfg: DemoConfig
    envs: dict = field(default_factory=dict)

    def episode(self, e: int) -> Optional[dict]:
        """Episode ``e``: the expert's demo on task ``tasks[e % len(tasks)]`` (seed ``seed + e``,
        then ``+ 100000 * attempt``), or None if every attempt failed."""
        import vlgsim  # noqa: F401  (registers the envs)
        from vlgsim.policies import make_policy

        cfg = self.cfg
        task = cfg.tasks[e % len(cfg.tasks)]
        if task not in self.envs:
            env = gym.make(task, split=cfg.split, obs_mode="rgb+state", instruction_type="mixed", fg_raw=cfg.fg_raw,
                           image_size=cfg.image_size)
            self.envs[task] = (env, make_policy("bimanual_expert", env, seed=cfg.seed))
        env, policy = self.envs[task]
        for attempt in range(cfg.attempts):
            ep = record_episode(env, policy, cfg.seed + e + 100000 * attempt)
            if ep is not None:
                return ep
        return None

    def close(self) -> None:
        for env, _ in self.envs.values():
            env.close()
        self.envs.clear()


def _demo_unit(worker: DemoWorker, e: int) -> Optional[dict]:
    return worker.episode(e)


def generate_demos(cfg: DemoConfig, out: Path, on_episode: Optional[Callable[[int, bool], None]] = None,
                   backend: Optional[Backend] = None) -> LeRobotWriter:
    """Write (or finish) the dataset in ``out``. Episodes are recorded by ``backend`` (default:
    in this process; or local worker processes, or Ray actors) and committed here in episode
    order, so the files match a serial run's."""
    writer = LeRobotWriter(out, FPS, demo_features(cfg.image_size), robot_type="bimanual_panda")
    done = writer.finished()
    todo = [e for e in range(cfg.episodes) if e not in done]
    ready: dict[int, Optional[dict]] = {}
    nxt = 0
    for k, ep in run_units(WorkerSpec(partial(DemoWorker, cfg), _demo_unit), todo, backend or Backend()):
        ready[k] = ep
        while nxt < len(todo) and nxt in ready:  # commit in order: same rows and indices as a serial run
            e, ep = todo[nxt], ready.pop(nxt)
            if ep is not None:
                writer.add_episode(e, ep["vectors"], ep["videos"], ep["task"], ep["extra"])
            if on_episode:
                on_episode(e, ep is not None)
            nxt += 1
    return writer
