"""Reinforcement learning with stable-baselines3 on closed-loop vlgsim tasks (state obs).

``train_sb3`` trains PPO or SAC in vectorised envs (``SubprocVecEnv``, one process each when
``n_envs > 1``) on the env's ``normalized_dense`` reward (PickCube-v1's staging: reach
``1 - tanh(5 d)``, grasped +1, lift +2 x grasped, 5 on success, divided by 5).

``obs="grasp"`` (default, the RL task): observation ``RealVLGGraspEnv.grasp_state`` (robot, TCP
pose, is_grasped, the instructed object's box centre relative to the TCP, its pose, size, jaw
features, its best collision-free grasp label relative to the TCP with the jaw-axis angle still to
turn and the opening, and its rise), top-down action [dx, dy, dz, (dyaw,) gripper] with the TCP held pointing down
(:class:`vlgsim.envs.wrappers.GraspStateTopDown`; ``control="dls"``: one damped-least-squares step on
the Jacobian sent to ``pd_joint_pos``, ``control="ee"``: ManiSkill's ``pd_ee_delta_pose`` IK, 4-D
only; ``yaw=True`` adds the yaw turn), the reach stage pulling to that grasp's TCP point
(``reach_point="grasp"``), no reset render (``ground_truth=False``), observations normalised by
``VecNormalize`` (``vecnormalize.pkl``). The envs run in one process (``DummyVecEnv``) unless
``subproc=True`` (``SubprocVecEnv``, one process each).
``obs="target"``: :func:`vlgsim.envs.wrappers.target_state` with the 7-D action; ``obs="state"``:
the raw state vector. Privileged state: the instruction is not an input.

Logs: every finished episode (return, success, length) to ``episodes.csv`` and ``log.jsonl``
as it goes; SB3's own logger to ``sb3/`` (``progress.csv`` and TensorBoard events).
Checkpoints ``model.zip`` (and ``vecnormalize.pkl``) every ``checkpoint_steps``, also kept as
``checkpoints/STEPS/`` (each loads as ``sb3:OUT/checkpoints/STEPS``); ``resume=True`` loads it and trains
the remaining ``total_steps - num_timesteps`` (the logs are appended to) with ``cfg``'s PPO settings (the
network stays the saved one). Writes
``train.json`` and ``curve.png`` (return and success against environment steps).
"""

from __future__ import annotations

import csv
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import gymnasium as gym
import numpy as np

from vlgsim.envs.wrappers import GraspStateTopDown, SeedEachReset, StateOnly, TargetState

ALGOS = ("ppo", "sac")
OBS_KINDS = ("grasp", "target", "state")
CONTROLS = {"dls": "pd_joint_pos", "ee": "pd_ee_delta_pose"}
"""``--obs grasp`` top-down control -> the env's control_mode."""
GRASP_ENV_KWARGS = {"reach_point": "grasp", "ground_truth": False}
"""What ``obs="grasp"`` adds to the env: reach reward to the target's grasp label, no reset render."""


@dataclass
class SB3Config:
    env_id: str = "RealVLG-Grasp-v0"
    algo: str = "ppo"
    total_steps: int = 20_000
    n_envs: int = 8
    subproc: bool = False
    seed: int = 0
    env_kwargs: dict = field(default_factory=lambda: {"n_objects": [1, 1]})
    max_episode_steps: int = 100
    obs: str = "grasp"
    control: str = "dls"
    yaw: bool = True
    checkpoint_steps: int = 10_000
    normalize_obs: bool = True
    normalize_reward: bool = False
    ppo_kwargs: dict = field(default_factory=lambda: dict(
        n_steps=250, batch_size=500, n_epochs=5, gamma=0.8, gae_lambda=0.9, learning_rate=3e-4, ent_coef=0.0,
        target_kl=0.1, policy_kwargs=dict(net_arch=[256, 256, 256], log_std_init=-0.5)))


def training_seed(seed: int, rank: int) -> int:
    """First scene seed of training env ``rank`` (then +1 per episode): 1e6 * (seed + 1) + 1e5 * rank, so no
    training episode uses a held-out seed (100000-100049) for 100k episodes per env."""
    return 1_000_000 * (seed + 1) + 100_000 * rank


def _make_env(cfg: SB3Config, rank: int):
    def thunk():
        import torch

        import vlgsim  # noqa: F401  (registers envs in worker processes)

        torch.set_num_threads(1)  # tiny tensors: threads only contend with the other env processes
        if cfg.obs == "grasp":
            kw = dict(obs_mode="grasp_state", control_mode=CONTROLS[cfg.control]) | GRASP_ENV_KWARGS | cfg.env_kwargs
        else:
            kw = dict(obs_mode="state", control_mode="pd_ee_delta_pose") | cfg.env_kwargs
        env = gym.make(cfg.env_id, max_episode_steps=cfg.max_episode_steps, **kw)
        env = GraspStateTopDown(env, yaw=cfg.yaw) if cfg.obs == "grasp" else {"target": TargetState, "state": StateOnly}[cfg.obs](env)
        if "scene" not in cfg.env_kwargs:  # a new scene every episode, far from the held-out seeds
            env = SeedEachReset(env, training_seed(cfg.seed, rank))
        env.reset(seed=cfg.seed + 10_000 * rank)
        return env

    return thunk


def train_sb3(cfg: SB3Config, out: Path, progress_bar: bool = True, resume: bool = False):
    """Train, save and plot; returns the trained model."""
    from stable_baselines3 import PPO, SAC
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.logger import configure
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecMonitor, VecNormalize

    if cfg.algo not in ALGOS:
        raise ValueError(f"algo {cfg.algo!r}; rule: one of {ALGOS}")
    if cfg.obs not in OBS_KINDS:
        raise ValueError(f"obs {cfg.obs!r}; rule: one of {OBS_KINDS}")
    if cfg.control not in CONTROLS:
        raise ValueError(f"control {cfg.control!r}; rule: one of {tuple(CONTROLS)}")
    if cfg.algo == "ppo":
        import inspect

        known = set(inspect.signature(PPO.__init__).parameters) - {"self", "policy", "env"}
        bad = sorted(set(cfg.ppo_kwargs) - known)
        if bad:
            raise ValueError(f"PPO settings {bad}; rule: arguments of stable_baselines3.PPO ({', '.join(sorted(known))})")
    import torch

    torch.set_num_threads(1)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    resume = resume and (out / "model.zip").exists()
    thunks = [_make_env(cfg, i) for i in range(cfg.n_envs)]
    venv = SubprocVecEnv(thunks, start_method="spawn") if cfg.subproc and cfg.n_envs > 1 else DummyVecEnv(thunks)
    venv = VecMonitor(venv)
    norm_path = out / "vecnormalize.pkl"
    normalize = cfg.normalize_obs or cfg.normalize_reward
    if normalize:
        venv = (VecNormalize.load(str(norm_path), venv) if resume and norm_path.exists()
                else VecNormalize(venv, norm_obs=cfg.normalize_obs, norm_reward=cfg.normalize_reward, clip_obs=10.0,
                                  gamma=cfg.ppo_kwargs.get("gamma", 0.99) if cfg.algo == "ppo" else 0.99))
    log_path, jsonl_path = out / "episodes.csv", out / "log.jsonl"

    class EpisodeLog(BaseCallback):
        def _on_training_start(self):
            new = not (resume and log_path.exists())
            self.f, self.j = open(log_path, "w" if new else "a", newline=""), open(jsonl_path, "w" if new else "a")
            self.w = csv.writer(self.f)
            if new:
                self.w.writerow(["step", "return", "length", "success"])

        def _on_step(self):
            for info, done in zip(self.locals["infos"], self.locals["dones"]):
                if done and "episode" in info:
                    row = [self.num_timesteps, info["episode"]["r"], info["episode"]["l"],
                           int(bool(info.get("success", False)))]
                    self.w.writerow(row)
                    self.j.write(json.dumps(dict(zip(["step", "return", "length", "success"], map(float, row)))) + "\n")
                    self.f.flush()
                    self.j.flush()
            if self.num_timesteps // cfg.checkpoint_steps != (self.num_timesteps - self.training_env.num_envs) // cfg.checkpoint_steps:
                save(keep=True)
            return True

        def _on_training_end(self):
            self.f.close()
            self.j.close()

    def save(keep: bool = False):
        model.save(out / "model.zip")
        if normalize:
            venv.save(str(norm_path))
        if keep:  # a loadable copy per checkpoint: sb3:OUT/checkpoints/STEPS
            import shutil

            ck = out / "checkpoints" / str(model.num_timesteps)
            ck.mkdir(parents=True, exist_ok=True)
            for f in ("model.zip", "vecnormalize.pkl", "train.json"):
                if (out / f).exists():
                    shutil.copy2(out / f, ck / f)

    Algo = PPO if cfg.algo == "ppo" else SAC
    if resume:
        # the settings given now (e.g. a lower learning rate for a second stage) replace the saved ones
        custom = {k: v for k, v in cfg.ppo_kwargs.items() if k != "policy_kwargs"} if cfg.algo == "ppo" else {}
        model = Algo.load(out / "model.zip", env=venv, device="cpu", custom_objects=custom)
    else:
        kwargs = dict(cfg.ppo_kwargs) if cfg.algo == "ppo" else dict(learning_starts=500)
        model = Algo("MlpPolicy", venv, seed=cfg.seed, verbose=0, device="cpu", **kwargs)
    model.set_logger(configure(str(out / "sb3"), ["csv", "tensorboard"]))
    t0, done_before = time.perf_counter(), model.num_timesteps
    meta_path = out / "train.json"
    prev_meta = json.loads(meta_path.read_text()) if resume and meta_path.exists() else {}
    if not resume:  # the checkpoints of a run stopped early still load as sb3:OUT (algo, obs, normalisation)
        meta_path.write_text(json.dumps(dict(asdict(cfg), status="running"), indent=1, default=str))
    model.learn(total_timesteps=max(cfg.total_steps - done_before, 0), callback=EpisodeLog(),
                progress_bar=progress_bar, reset_num_timesteps=not resume)
    wall = time.perf_counter() - t0
    save()
    venv.close()
    prev = prev_meta.get("wall_s_total", 0.0)
    meta_path.write_text(json.dumps(dict(asdict(cfg), wall_s=round(wall, 1), wall_s_total=round(prev + wall, 1),
                                                    num_timesteps=int(model.num_timesteps), resumed_at=done_before if resume else None),
                                               indent=1, default=str))
    plot_curve(log_path, out / "curve.png", title=f"{cfg.algo.upper()} on {cfg.env_id}")
    return model


HELDOUT_SEED = 100_000
"""First of the held-out seeds (training episodes use :func:`training_seed`'s ranges, from 1e6 up)."""


def checkpoint_eval_job(run: Path, max_steps: int | None = None):
    """The :class:`vlgsim.sim_eval.rollout.EvalJob` that evaluates checkpoint folder ``run`` (a
    ``vlgsim train sb3`` output or one of its ``checkpoints/STEPS``) as it was trained: same env,
    observation, control and object count (from ``train.json``), ``max_episode_steps`` steps."""
    from vlgsim.sim_eval.rollout import EvalJob

    run = Path(run)
    meta = run / "train.json"
    if not meta.exists():
        raise FileNotFoundError(f"{meta} not found; rule: a folder written by vlgsim train sb3")
    cfg = json.loads(meta.read_text())
    obs = cfg.get("obs", "state")
    kw = dict(obs_mode="grasp_state" if obs == "grasp" else "state",
              control_mode=CONTROLS[cfg.get("control", "ee")] if obs == "grasp" else "pd_ee_delta_pose")
    if obs == "grasp":
        kw |= GRASP_ENV_KWARGS  # no reset render (success does not depend on the reward's reach point)
    kw["n_objects"] = cfg.get("env_kwargs", {}).get("n_objects", [1, 1])
    return EvalJob(cfg.get("env_id", "RealVLG-Grasp-v0"), f"sb3:{run}", kw,
                   max_steps=max_steps or int(cfg.get("max_episode_steps", 100)))


def evaluate_checkpoints(out: Path, episodes: int = 50, seed: int = HELDOUT_SEED, max_steps: int | None = None,
                         workers: int = 1, every: int = 1) -> list[dict]:
    """Evaluate every ``out/checkpoints/STEPS`` (STEPS a multiple of ``every``; newest first) not yet in
    ``out/heldout.jsonl`` on seeds ``seed``..
    ``seed + episodes - 1`` (deterministic actions, the env's success), append one line per checkpoint
    (step, successes, episodes, success rate, failure modes, wall s) and return all lines so far."""
    from collections import Counter

    from vlgsim.sim_eval.rollout import evaluate

    out = Path(out)
    path = out / "heldout.jsonl"
    done = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    seen = {(d["step"], d["episodes"], d["seed"]) for d in done}
    cks = sorted((p for p in (out / "checkpoints").glob("*") if p.name.isdigit() and (p / "model.zip").exists()),
                 key=lambda p: -int(p.name))
    for ck in cks:
        if int(ck.name) % every:
            continue
        if (int(ck.name), episodes, seed) in seen:
            continue
        t0 = time.perf_counter()
        res = evaluate(checkpoint_eval_job(ck, max_steps), list(range(seed, seed + episodes)), workers=workers)
        k = sum(r.success for r in res)
        line = dict(step=int(ck.name), successes=int(k), episodes=len(res), seed=seed, success=k / max(len(res), 1),
                    failure_modes=dict(Counter(r.failure_mode for r in res)), wall_s=round(time.perf_counter() - t0, 1))
        with open(path, "a") as f:
            f.write(json.dumps(line) + "\n")
        done.append(line)
    return sorted(done, key=lambda d: d["step"])


def read_episodes(path: Path) -> dict[str, np.ndarray]:
    rows = list(csv.DictReader(open(path)))
    return {k: np.array([float(r[k]) for r in rows]) for k in ("step", "return", "length", "success")}


def plot_curve(log_path: Path, png: Path, title: str = "", window: int = 20, heldout: list[dict] | None = None) -> Path:
    """Episode return and success rate (moving averages) against environment steps; ``heldout``
    (lines of :func:`evaluate_checkpoints`) adds the checkpoints' held-out success rates."""
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
    if heldout:
        ax[1].plot([d["step"] for d in heldout], [d["success"] for d in heldout], "o-", color="k",
                   label=f"held-out ({heldout[0]['episodes']} seeds, deterministic)")
        ax[1].legend(loc="upper left", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)
    return png
