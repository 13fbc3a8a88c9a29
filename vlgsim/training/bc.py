"""Behaviour cloning with action chunking on expert demonstrations of RealVLG-Grasp-v0.

``collect_demos`` rolls out an expert (``scripted`` by default) with ``obs_mode="state"`` and
``pd_ee_delta_pose`` and writes its successful episodes as a LeRobot v3.0 dataset
(``OUT/demos``: ``observation.state`` = the task's state vector's robot part, qpos 9, qvel 9,
TCP pose 7; ``observation.target`` = the instructed object's position relative to the TCP and
its rise; ``observation.target_grasp`` = its first ground-truth grasp [x, y, z, axis_angle_rad,
opening_m]; ``observation.features`` = the policy input of :func:`vlgsim.policies.bc_policy.bc_features`;
``action`` 7; the instruction as the task). Collection resumes where it stopped (the writer's
committed episodes are skipped). With ``action_noise`` > 0 the executed action is the
expert's plus Gaussian noise while the recorded label stays the expert's (DART, Laskey et al.
2017): the demos then show how to recover from the small errors a cloned policy makes.

``train_bc`` fits :class:`vlgsim.policies.bc_policy.ChunkedMLP` (next ``chunk`` actions, L1
loss, as ACT), logging each epoch to ``log.jsonl`` and TensorBoard (``tb/``), checkpointing
to ``checkpoint.pt`` (``resume=True`` continues from it), and writes ``bc.pt``,
``train.json`` and ``loss.png``.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

from vlgsim.policies.bc_policy import ChunkedMLP, bc_features, embed_instruction, target_of_state  # noqa: F401
from vlgsim.policies.scripted import target_grasps

FPS = 20
"""Control rate of RealVLG-Grasp-v0's closed loop (steps per second)."""


@dataclass
class BCConfig:
    env_id: str = "RealVLG-Grasp-v0"
    env_kwargs: dict = field(default_factory=lambda: {"n_objects": [1, 1]})
    expert: str = "scripted"
    episodes: int = 200
    max_episode_steps: int = 100
    action_noise: float = 0.0
    """Std of the Gaussian noise added to the executed action's position/rotation parts (DART)."""
    chunk: int = 8
    hidden: int = 512
    layers: int = 3
    epochs: int = 60
    batch_size: int = 256
    lr: float = 1e-3
    seed: int = 0


def _env(cfg: BCConfig):
    import vlgsim  # noqa: F401

    kw = dict(obs_mode="state", control_mode="pd_ee_delta_pose") | cfg.env_kwargs
    return gym.make(cfg.env_id, max_episode_steps=cfg.max_episode_steps, **kw)


def demo_features() -> dict:
    from vlgsim.data.lerobot import vector_feature
    from vlgsim.policies.bc_policy import FEATURE_DIM

    return {"observation.state": vector_feature([f"qpos_{i}" for i in range(9)] + [f"qvel_{i}" for i in range(9)]
                                                + ["tcp_x", "tcp_y", "tcp_z", "tcp_qw", "tcp_qx", "tcp_qy", "tcp_qz"]),
            "observation.target": vector_feature(["dx", "dy", "dz", "rise_m"]),
            "observation.target_grasp": vector_feature(["x", "y", "z", "axis_angle_rad", "opening_m"]),
            "observation.features": vector_feature([f"f{i}" for i in range(FEATURE_DIM)]),
            "action": vector_feature(["dx", "dy", "dz", "drx", "dry", "drz", "gripper"])}


def collect_demos(cfg: BCConfig, out: Path, progress=None, seed_offset: int = 0) -> Path:
    """Roll out the expert on seeds ``seed + seed_offset + (0 .. episodes - 1)``; append the
    successful ones to the LeRobot dataset ``out/demos``. Returns its root."""
    from vlgsim.data.lerobot import LeRobotWriter
    from vlgsim.policies import make_policy

    root = Path(out) / "demos"
    writer = LeRobotWriter(root, FPS, demo_features(), robot_type="panda")
    done = writer.finished()
    env = _env(cfg)
    expert = make_policy(cfg.expert, env)
    rng = np.random.default_rng(cfg.seed + seed_offset)
    for ep in range(cfg.episodes):
        seed = cfg.seed + seed_offset + ep
        if seed in done or -seed - 1 in done:
            continue
        obs, info = env.reset(seed=seed)
        instruction = str(obs["instruction"])
        grasps = target_grasps(info, env)
        try:
            expert.reset(instruction, info)
        except ValueError:  # no ground-truth grasp for this scene
            continue
        text, cols, done_ep = embed_instruction(instruction), {k: [] for k in demo_features()}, False
        while not done_ep:
            a = np.asarray(expert.act(obs), np.float32)
            s = np.asarray(obs["state"], np.float64)
            target, rise = target_of_state(s)
            cols["observation.state"].append(s[:25])
            cols["observation.target"].append(np.r_[target - s[18:21], rise])
            cols["observation.target_grasp"].append(grasps[0])
            cols["observation.features"].append(bc_features(s, grasps[0], text))
            cols["action"].append(a)
            executed = a.copy()
            if cfg.action_noise > 0:
                executed[:6] = np.clip(executed[:6] + rng.normal(0, cfg.action_noise, 6), -1, 1)
            obs, _, term, trunc, info = env.step(executed)
            done_ep = bool(term or trunc)
        if info.get("success"):
            writer.add_episode(seed, {k: np.asarray(v, np.float32) for k, v in cols.items()}, {}, instruction,
                               extra={"seed": seed, "n_objects": int(len(env.unwrapped.scenes[0].objects))})
        if progress:
            progress(ep)
    env.close()
    return root


def load_demos(root: Path) -> dict:
    """Frames of a demo dataset: ``features`` (N, F), ``action`` (N, A), ``episode`` (N,) contiguous."""
    from vlgsim.data.lerobot import LeRobotDataset

    ds = LeRobotDataset(root)
    X, A, E = [], [], []
    for k, meta in enumerate(ds.episodes):
        ep = ds.episode(meta["episode_index"])
        X.append(ep.frames["observation.features"])
        A.append(ep.frames["action"])
        E.append(np.full(len(ep), k))
    if not X:
        raise ValueError(f"{root} holds no episodes; rule: at least one successful expert demonstration")
    return dict(features=np.concatenate(X), action=np.concatenate(A), episode=np.concatenate(E))


def _chunks(demos: dict, chunk: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and target chunks; a chunk past an episode's end repeats its last action."""
    S, A, E = demos["features"], demos["action"], demos["episode"]
    last = np.searchsorted(E, E, side="right") - 1  # episodes are contiguous and in order
    idx = np.minimum(np.arange(len(S))[:, None] + np.arange(chunk)[None], last[:, None])
    return S, A[idx]


def train_bc(cfg: BCConfig, out: Path, demos: dict | None = None, resume: bool = False) -> Path:
    from torch.utils.tensorboard import SummaryWriter

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    demos = demos or load_demos(out / "demos")
    X, Y = _chunks(demos, cfg.chunk)
    mu, sd = X.mean(0), X.std(0) + 1e-3
    torch.manual_seed(cfg.seed)
    model = ChunkedMLP(X.shape[1], Y.shape[2], cfg.chunk, cfg.hidden, cfg.layers)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs)
    g = torch.Generator().manual_seed(cfg.seed)
    start, ck_path, log_path = 0, out / "checkpoint.pt", out / "log.jsonl"
    if resume and ck_path.exists():
        ck = torch.load(ck_path, map_location="cpu", weights_only=False)
        model.load_state_dict(ck["model"]), opt.load_state_dict(ck["opt"]), sched.load_state_dict(ck["sched"])
        g.set_state(ck["rng"])
        start, mu, sd = ck["epoch"], ck["mu"], ck["sd"]
    elif log_path.exists():
        log_path.unlink()
    xt, yt = torch.as_tensor((X - mu) / sd, dtype=torch.float32), torch.as_tensor(Y)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small matrices: one thread is fastest, and spinning threads stall a busy CPU
    tb = SummaryWriter(str(out / "tb"), purge_step=start)
    t0 = time.perf_counter()
    with open(log_path, "a") as log:
        for epoch in range(start, cfg.epochs):
            perm, total = torch.randperm(len(xt), generator=g), 0.0
            model.train()
            for b in perm.split(cfg.batch_size):
                loss = (model(xt[b]) - yt[b]).abs().mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(b)
            sched.step()
            row = dict(epoch=epoch + 1, loss=total / len(xt), lr=sched.get_last_lr()[0])
            log.write(json.dumps(row) + "\n")
            log.flush()
            tb.add_scalar("train/loss", row["loss"], epoch + 1)
            torch.save(dict(model=model.state_dict(), opt=opt.state_dict(), sched=sched.state_dict(), rng=g.get_state(),
                            epoch=epoch + 1, mu=mu, sd=sd), ck_path)
    tb.close()
    torch.set_num_threads(threads)
    torch.save(dict(state_dict=model.state_dict(), mu=mu, sd=sd, config=asdict(cfg), in_dim=X.shape[1],
                    action_dim=Y.shape[2]), out / "bc.pt")
    losses = [json.loads(line)["loss"] for line in open(log_path)]
    (out / "train.json").write_text(json.dumps(dict(asdict(cfg), samples=len(X), episodes=int(demos["episode"].max()) + 1,
                                                    final_loss=losses[-1] if losses else None,
                                                    wall_s=round(time.perf_counter() - t0, 1)), indent=1))
    _plot_loss(losses, out / "loss.png")
    return out / "bc.pt"


def _plot_loss(losses, png):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 3))
    ax.semilogy(np.arange(1, len(losses) + 1), losses)
    ax.set_xlabel("epoch")
    ax.set_ylabel("L1 (action chunk)")
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)
