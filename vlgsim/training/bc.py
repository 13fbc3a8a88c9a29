"""Behaviour cloning on expert demonstrations of closed-loop vlgsim tasks.

``collect_demos`` rolls out an expert (``scripted`` by default) with ``obs_mode="state"``
and ``pd_ee_delta_pose`` and keeps successful episodes in ``demos.npz`` (state (N, D),
action (N, A), episode index, per-episode instruction). ``train_bc`` fits a chunked MLP
policy: input = state + a hashed bag-of-words embedding of the instruction (no download),
output = the next ``chunk`` actions (OFT-style action chunking), MSE loss. It saves
``bc.pt`` (weights, normalisation, config), ``train.json`` and ``loss.png``. The policy
``bc:PATH`` runs it, executing each predicted chunk before predicting again.
"""

from __future__ import annotations

import json
import re
import time
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from torch import nn

TEXT_DIM = 64


def embed_instruction(text: str, dim: int = TEXT_DIM) -> np.ndarray:
    """Hashed bag of words (crc32 buckets), L2-normalised: a download-free text feature."""
    v = np.zeros(dim, np.float32)
    for w in re.findall(r"[a-z]+", text.lower()):
        v[zlib.crc32(w.encode()) % dim] += 1.0
    n = np.linalg.norm(v)
    return v / n if n else v


@dataclass
class BCConfig:
    env_id: str = "RealVLG-Grasp-v0"
    env_kwargs: dict = field(default_factory=lambda: {"n_objects": [1, 1]})
    expert: str = "scripted"
    episodes: int = 200
    max_episode_steps: int = 100
    chunk: int = 4
    hidden: int = 256
    epochs: int = 60
    lr: float = 1e-3
    seed: int = 0


def _env(cfg: BCConfig):
    import vlgsim  # noqa: F401

    kw = dict(obs_mode="state", control_mode="pd_ee_delta_pose") | cfg.env_kwargs
    return gym.make(cfg.env_id, max_episode_steps=cfg.max_episode_steps, **kw)


def collect_demos(cfg: BCConfig, out: Path, progress=None) -> dict:
    """Roll out the expert on seeds ``seed .. seed + episodes - 1``; keep successes."""
    from vlgsim.policies import make_policy

    env = _env(cfg)
    expert = make_policy(cfg.expert, env)
    states, actions, index, instructions, kept = [], [], [], [], 0
    for ep in range(cfg.episodes):
        obs, info = env.reset(seed=cfg.seed + ep)
        try:
            expert.reset(obs["instruction"], info)
        except ValueError:  # no ground-truth grasp for this scene
            continue
        ep_s, ep_a, done = [], [], False
        while not done:
            a = expert.act(obs)
            ep_s.append(obs["state"])
            ep_a.append(a)
            obs, _, term, trunc, info = env.step(a)
            done = term or trunc
        if info.get("success"):
            states += ep_s
            actions += ep_a
            index += [kept] * len(ep_s)
            instructions.append(obs["instruction"])
            kept += 1
        if progress:
            progress(ep)
    env.close()
    demos = dict(state=np.asarray(states, np.float32), action=np.asarray(actions, np.float32),
                 episode=np.asarray(index, np.int64), instruction=np.asarray(instructions))
    out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out / "demos.npz", **demos)
    return demos


class ChunkedMLP(nn.Module):
    def __init__(self, in_dim: int, action_dim: int, chunk: int, hidden: int):
        super().__init__()
        self.action_dim, self.chunk = action_dim, chunk
        self.net = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, action_dim * chunk))

    def forward(self, x):
        return torch.tanh(self.net(x)).view(-1, self.chunk, self.action_dim)


def _chunks(demos: dict, chunk: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs (state + text) and target chunks; a chunk past an episode's end repeats its last action."""
    S, A, E = demos["state"], demos["action"], demos["episode"]
    text = np.stack([embed_instruction(str(t)) for t in demos["instruction"]])
    last = np.searchsorted(E, E, side="right") - 1  # episodes are contiguous and in order
    idx = np.minimum(np.arange(len(S))[:, None] + np.arange(chunk)[None], last[:, None])
    return np.concatenate([S, text[E]], axis=1), A[idx]


def train_bc(cfg: BCConfig, out: Path, demos: dict | None = None) -> Path:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    demos = demos or dict(np.load(out / "demos.npz"))
    if len(demos["state"]) == 0:
        raise ValueError("no successful demonstrations to learn from; rule: at least one expert success")
    X, Y = _chunks(demos, cfg.chunk)
    mu, sd = X.mean(0), X.std(0) + 1e-6
    torch.manual_seed(cfg.seed)
    model = ChunkedMLP(X.shape[1], Y.shape[2], cfg.chunk, cfg.hidden)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    xt, yt = torch.as_tensor((X - mu) / sd), torch.as_tensor(Y)
    losses, t0 = [], time.perf_counter()
    g = torch.Generator().manual_seed(cfg.seed)
    for _ in range(cfg.epochs):
        perm, total = torch.randperm(len(xt), generator=g), 0.0
        for b in perm.split(256):
            loss = ((model(xt[b]) - yt[b]) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(b)
        losses.append(total / len(xt))
    torch.save(dict(state_dict=model.state_dict(), mu=mu, sd=sd, config=asdict(cfg), in_dim=X.shape[1],
                    action_dim=Y.shape[2]), out / "bc.pt")
    (out / "train.json").write_text(json.dumps(dict(asdict(cfg), samples=len(X), episodes=int(demos["episode"].max()) + 1,
                                                    final_loss=losses[-1], wall_s=round(time.perf_counter() - t0, 1)),
                                               indent=1))
    _plot_loss(losses, out / "loss.png")
    return out / "bc.pt"


def _plot_loss(losses, png):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 3))
    ax.semilogy(losses)
    ax.set_xlabel("epoch")
    ax.set_ylabel("MSE (action chunk)")
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)
