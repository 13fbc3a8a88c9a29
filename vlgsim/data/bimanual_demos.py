"""Expert demonstrations of the Bimanual-* tasks as one LeRobot v3.0 dataset.

Episode ``e`` runs task ``tasks[e % len(tasks)]`` with env seed ``seed + e`` (if the expert
fails, ``seed + e + 100000 * attempt``, up to ``attempts`` tries: only successful demos are
kept). Every episode stores both instructions (``instruction_raw``, ``instruction_fine``
in meta/episodes); its frames carry the one drawn with the FG:Raw ratio (``task``).
Features on ``embodiment="aloha"`` (default; ALOHA's LeRobot convention, robot_type ``aloha``):
``observation.state`` (14: per arm, left then right, 6 joint angles in rad + gripper open
fraction 0 closed .. 1 open), ``action`` (14, same layout: ``pd_joint_pos`` targets of the
motion-planned expert), ``observation.tcp_pose`` (2 x 7, world frame, m, wxyz),
``observation.images.{cam_high,cam_low,cam_left_wrist,cam_right_wrist}``. On ``"panda"``
(robot_type ``bimanual_panda``): ``observation.state`` (both arms' qpos and TCP poses, 32),
``action`` (14, pd_ee_delta_pose), ``observation.images.{head,left_wrist,right_wrist}``. Both:
``observation.environment_state`` (task bodies' poses, padded to 4 x 7); videos are MP4, many
episodes per file. Resumable and crash-safe
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
ALOHA_CAMERAS = {"cam_high": "head", "cam_low": "low", "cam_left_wrist": "left_wrist", "cam_right_wrist": "right_wrist"}
"""LeRobot ALOHA camera name -> the env's observation name (``<name>_rgb``)."""
ALOHA_JOINTS = ("waist", "shoulder", "elbow", "forearm_roll", "wrist_angle", "wrist_rotate", "gripper")
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
    embodiment: str = "aloha"

    @property
    def control_mode(self) -> str:
        """ALOHA records joint targets (its 14-D action convention); Panda delta poses (as before)."""
        return "pd_joint_pos" if self.embodiment == "aloha" else "pd_ee_delta_pose"

    @property
    def cameras(self) -> dict[str, str]:
        """Dataset camera name -> env observation name."""
        return ALOHA_CAMERAS if self.embodiment == "aloha" else {c: c for c in CAMERAS}


def demo_features(image_size, embodiment: str = "panda") -> dict:
    w, h = image_size
    if embodiment == "aloha":
        joints = [f"{a}_{j}" for a in ("left", "right") for j in ALOHA_JOINTS]
        tcp = [f"{a}_tcp_{c}" for a in ("left", "right") for c in ("x", "y", "z", "qw", "qx", "qy", "qz")]
        env_state = [f"body{k}_{c}" for k in range(MAX_BODIES) for c in ("x", "y", "z", "qw", "qx", "qy", "qz")]
        f = {"observation.state": vector_feature(joints), "observation.tcp_pose": vector_feature(tcp),
             "observation.environment_state": vector_feature(env_state), "action": vector_feature(joints)}
        for cam in ALOHA_CAMERAS:
            f[f"observation.images.{cam}"] = video_feature(h, w, FPS)
        return f
    arm = [f"{a}_{j}" for a in ("left", "right") for j in [*(f"joint{i}" for i in range(1, 8)), "finger1", "finger2"]]
    tcp = [f"{a}_tcp_{c}" for a in ("left", "right") for c in ("x", "y", "z", "qw", "qx", "qy", "qz")]
    env_state = [f"body{k}_{c}" for k in range(MAX_BODIES) for c in ("x", "y", "z", "qw", "qx", "qy", "qz")]
    act = [f"{a}_{c}" for a in ("left", "right") for c in ("dx", "dy", "dz", "drx", "dry", "drz", "gripper")]
    f = {"observation.state": vector_feature(arm + tcp), "observation.environment_state": vector_feature(env_state),
         "action": vector_feature(act)}
    for cam in CAMERAS:
        f[f"observation.images.{cam}"] = video_feature(h, w, FPS)
    return f


def record_episode(env, policy, seed: int, cameras: Optional[dict[str, str]] = None) -> Optional[dict]:
    """Roll out the expert; the episode's arrays and instructions if it succeeded, else None.
    ``cameras``: dataset camera name -> env observation name (default: the Panda cameras)."""
    cameras = cameras or {c: c for c in CAMERAS}
    aloha = getattr(env.unwrapped, "embodiment", "panda") == "aloha"
    n_state = 14 if aloha else 32  # aloha: 14 joint state, then 2 x 7 TCP poses; panda: qpos + TCP poses
    obs, info = env.reset(seed=seed)
    policy.reset(obs["instruction"], dict(info, episode_seed=seed))
    states, tcps, env_states, actions, images = [], [], [], [], {c: [] for c in cameras}
    done = False
    while not done:
        action = policy.act(obs)
        s = obs["state"]
        states.append(s[:n_state])
        body0 = n_state + (14 if aloha else 0)
        tcps.append(s[14:28])
        pad = np.zeros(MAX_BODIES * 7, np.float32)
        pad[: len(s) - body0] = s[body0:]
        env_states.append(pad)
        actions.append(np.asarray(action, np.float32))
        for c, name in cameras.items():
            images[c].append(obs[f"{name}_rgb"])
        obs, _, terminated, truncated, info = env.step(action)
        done = terminated or truncated
    if not info["success"]:
        return None
    vectors = {"observation.state": np.stack(states), "observation.environment_state": np.stack(env_states),
               "action": np.stack(actions)}
    if aloha:
        vectors["observation.tcp_pose"] = np.stack(tcps)
    return dict(vectors=vectors,
                videos={f"observation.images.{c}": np.stack(images[c]) for c in cameras},
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
                           image_size=cfg.image_size, embodiment=cfg.embodiment, control_mode=cfg.control_mode)
            self.envs[task] = (env, make_policy("bimanual_expert", env, seed=cfg.seed))
        env, policy = self.envs[task]
        for attempt in range(cfg.attempts):
            ep = record_episode(env, policy, cfg.seed + e + 100000 * attempt, cfg.cameras)
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
    writer = LeRobotWriter(out, FPS, demo_features(cfg.image_size, cfg.embodiment),
                           robot_type="aloha" if cfg.embodiment == "aloha" else "bimanual_panda")
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
