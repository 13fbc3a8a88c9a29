"""Reinforcement learning with stable-baselines3 on closed-loop vlgsim tasks (state obs).

``train_sb3`` trains PPO or SAC on ``obs_mode="state"`` with a ``control_mode`` (default
``pd_ee_delta_pose``) in vectorised envs (one process each when ``n_envs > 1``), logs
every finished episode (return, success, length) to ``episodes.csv`` as it goes, saves
``model.zip`` and ``train.json``, and plots ``curve.png`` (return and success against
environment steps). The policy acts on the flat ``state`` vector; the instruction is not
an input (the target is marked in the state), so this is a privileged-state baseline.
"""

from __future__ import annotations

import csv
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import gymnasium as gym
import numpy as np

from vlgsim.envs.wrappers import StateOnly  # noqa: F401  (here since the first SB3 runs)

ALGOS = ("ppo", "sac")


@dataclass
class SB3Config:
    env_id: str = "RealVLG-Grasp-v0"
    algo: str = "ppo"
    total_steps: int = 20_000
    n_envs: int = 2
    seed: int = 0
    env_kwargs: dict = field(default_factory=lambda: {"n_objects": [1, 1]})
    max_episode_steps: int = 100


def _make_env(cfg: SB3Config, rank: int):
    def thunk():
        import vlgsim  # noqa: F401  (registers envs in worker processes)

        kw = dict(obs_mode="state", control_mode="pd_ee_delta_pose") | cfg.env_kwargs
        env = gym.make(cfg.env_id, max_episode_steps=cfg.max_episode_steps, **kw)
        env = StateOnly(env)
        env.reset(seed=cfg.seed + 10_000 * rank)
        return env

    return thunk


def train_sb3(cfg: SB3Config, out: Path, progress_bar: bool = True):
    """Train, save and plot; returns the trained model."""
    from stable_baselines3 import PPO, SAC
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecMonitor

    if cfg.algo not in ALGOS:
        raise ValueError(f"algo {cfg.algo!r}; rule: one of {ALGOS}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    thunks = [_make_env(cfg, i) for i in range(cfg.n_envs)]
    venv = SubprocVecEnv(thunks, start_method="spawn") if cfg.n_envs > 1 else DummyVecEnv(thunks)
    venv = VecMonitor(venv)
    log_path = out / "episodes.csv"

    class EpisodeLog(BaseCallback):
        def _on_training_start(self):
            self.f = open(log_path, "w", newline="")
            self.w = csv.writer(self.f)
            self.w.writerow(["step", "return", "length", "success"])

        def _on_step(self):
            for info, done in zip(self.locals["infos"], self.locals["dones"]):
                if done and "episode" in info:
                    self.w.writerow([self.num_timesteps, info["episode"]["r"], info["episode"]["l"],
                                     int(bool(info.get("success", False)))])
                    self.f.flush()
            return True

        def _on_training_end(self):
            self.f.close()

    Algo = PPO if cfg.algo == "ppo" else SAC
    kwargs = dict(n_steps=256, batch_size=256, n_epochs=5, gamma=0.95) if cfg.algo == "ppo" else dict(learning_starts=500)
    model = Algo("MlpPolicy", venv, seed=cfg.seed, verbose=0, device="cpu", **kwargs)
    t0 = time.perf_counter()
    model.learn(total_timesteps=cfg.total_steps, callback=EpisodeLog(), progress_bar=progress_bar)
    wall = time.perf_counter() - t0
    model.save(out / "model.zip")
    venv.close()
    (out / "train.json").write_text(json.dumps(dict(asdict(cfg), wall_s=round(wall, 1)), indent=1))
    plot_curve(log_path, out / "curve.png", title=f"{cfg.algo.upper()} on {cfg.env_id}")
    return model


def read_episodes(path: Path) -> dict[str, np.ndarray]:
    rows = list(csv.DictReader(open(path)))
    return {k: np.array([float(r[k]) for r in rows]) for k in ("step", "return", "length", "success")}


def plot_curve(log_path: Path, png: Path, title: str = "", window: int = 20) -> Path:
    """Episode return and success rate (moving averages) against environment steps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ep = read_episodes(log_path)
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.2))
    for a, key in zip(ax, ("return", "success")):
        y = ep[key]
        if len(y):
            k = max(1, min(window, len(y)))
            smooth = np.convolve(y, np.ones(k) / k, mode="valid")
            a.plot(ep["step"], y, ".", alpha=0.25)
            a.plot(ep["step"][k - 1:], smooth)
        a.set_xlabel("environment steps")
        a.set_ylabel(f"episode {key}")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)
    return png
