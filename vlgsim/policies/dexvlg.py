"""A small DexVLG-style model (point cloud + instruction -> 31-D dexterous grasp) and its policy.

Model (:class:`DexVLGNet`, torch), after DexVLG (He et al. 2025, section 5) at a toy size:

- **Point cloud**: the observation's ``pointcloud`` (N, 6) ``[x, y, z, r, g, b]`` (world frame,
  metres; colours 0-1) without the table (points above ``TABLE_CUT_M``), resampled to
  ``n_points`` and centred on its centroid; with ``canonical_yaw`` also turned about z so that the
  points' signed principal axis in the table plane is x (:func:`canonical_yaw`). The grasp is
  predicted in this frame. A PointNet (shared MLP + max pool) encodes it.
- **Instruction**: a hashed-token embedding (words and word pairs, crc32 into ``text_buckets``
  rows of a learned ``EmbeddingBag``, mean), no download.
- **Generative head**: conditional flow matching (DexVLG's eq. 4 with the linear path
  X_t = (1 - t) X_0 + t X_1, X_0 ~ N(0, I)): an MLP predicts the velocity X_1 - X_0 from X_t, t and
  the condition; sampling integrates the ODE with ``flow_steps`` Euler steps.
- **Ranking**: a score head (logit) on (grasp, condition), trained to tell the data's grasps from
  perturbed ones (translation, rotation, joints) and from grasps of other scenes; the policy draws
  ``samples`` grasps and executes the best-scored one (DexVLG leaves ranking as future work).
- **Post-processing** (optional, ``refine``): :func:`refine_grasp` translates the wrist until the
  hand's collision spheres clear the observed points and the table (DexVLG's pipeline ends with a
  collision-aware step too).

Grasp coordinates inside the model: position minus the cloud's centroid in decimetres and
rotation, both in the canonical frame; joints scaled to [-1, 1] over their limits. ``dexvlg:PATH`` loads ``dexvlg.pt`` (or its
folder) written by ``vlgsim train dexvlg`` (:mod:`vlgsim.training.dexvlg`).
"""

from __future__ import annotations

import math
import re
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from vlgsim.assets.shadow_hand import load_shadow_hand
from vlgsim.grasp.dexterous import GRASP_DIM, forward_kinematics, rot6d_to_matrix, matrix_to_rot6d
from vlgsim.policies.base import register_policy

TABLE_CUT_M = 0.003
"""Points at or below this height (world z, metres) are the table and are dropped."""
MIN_OBJECT_POINTS = 8
POSITION_SCALE_M = 0.1


@dataclass
class DexVLGModelConfig:
    n_points: int = 256
    pc_dim: int = 192
    text_buckets: int = 1024
    text_dim: int = 64
    hidden: int = 256
    flow_steps: int = 16
    samples: int = 32
    temperature: float = 1.0
    canonical_yaw: bool = True
    """Turn the cloud (and the grasp) about z by the points' signed principal axis
    (:func:`canonical_yaw`); the training targets of symmetric objects are turned to face that
    axis (:func:`vlgsim.training.dexvlg.facing_point`). False: world axes (targets turned to the
    camera): on the 11 library objects Suc 48 % against 70 % (README)."""


def instruction_tokens(text: str, buckets: int) -> list[int]:
    """Hashed tokens of an instruction: its words and adjacent word pairs (crc32 mod ``buckets``)."""
    words = re.findall(r"[a-z]+", str(text).lower())
    grams = words + [f"{a}_{b}" for a, b in zip(words, words[1:])]
    return [zlib.crc32(w.encode()) % buckets for w in grams]


def canonical_yaw(xy: np.ndarray) -> float:
    """Yaw (rad) of the object points' principal axis in the table plane, its sign chosen so the
    points' third moment along it is >= 0 (a partial view of an object looks much the same in
    this frame wherever the object is turned). Signing the axis along world +y instead gave
    held-out grasps further from the data (0 of 30 within 2 cm and 0.3 rad against 5 of 30)."""
    d = xy - xy.mean(0)
    w, v = np.linalg.eigh(d.T @ d)
    axis = v[:, 1]
    if np.sum((d @ axis) ** 3) < 0:
        axis = -axis
    return float(np.arctan2(axis[1], axis[0]))


def rot_z(yaw: float) -> np.ndarray:
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def object_points(cloud, n_points: int, rng: np.random.Generator,
                  canonical: bool = True) -> tuple[np.ndarray, np.ndarray, float]:
    """The object's part of an observation cloud in its canonical frame: ((n_points, 6) points,
    (3,) centroid (m, world), yaw (rad)); the points are centred on the centroid and turned by
    -yaw about z (:func:`canonical_yaw`; yaw 0 when ``canonical`` is False). Raises ValueError naming the rule for a malformed cloud
    (shape, NaN/inf) or one with fewer than MIN_OBJECT_POINTS points above the table."""
    try:
        c = np.asarray(cloud, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise ValueError(f"pointcloud is not numeric ({e}); rule: an (N, 6) float array") from e
    if c.ndim != 2 or c.shape[1] != 6:
        raise ValueError(f"pointcloud has shape {c.shape}; rule: (N, 6) [x, y, z, r, g, b]")
    bad = ~np.isfinite(c).all(axis=1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"pointcloud row {i} is {c[i].round(4).tolist()}; rule: finite values "
                         f"({int(bad.sum())} of {len(c)} rows are not)")
    obj = c[c[:, 2] > TABLE_CUT_M]
    if len(obj) < MIN_OBJECT_POINTS:
        raise ValueError(f"pointcloud has {len(obj)} points above the table (z > {TABLE_CUT_M} m); "
                         f"rule: at least {MIN_OBJECT_POINTS}")
    centre = obj[:, :3].mean(0)
    yaw = canonical_yaw(obj[:, :2]) if canonical else 0.0
    pick = rng.choice(len(obj), n_points, replace=len(obj) < n_points)
    pts = obj[pick].copy()
    pts[:, :3] = (pts[:, :3] - centre) @ rot_z(yaw)  # rows: R(-yaw) p
    return pts.astype(np.float32), centre, yaw


class GraspCoder:
    """World-frame 31-D grasps <-> the model's coordinates (see the module text)."""

    def __init__(self):
        hand = load_shadow_hand()
        self.mid = torch.tensor((hand.upper + hand.lower) / 2, dtype=torch.float32)
        self.half = torch.tensor(np.maximum((hand.upper - hand.lower) / 2, 1e-6), dtype=torch.float32)
        self.lower, self.upper = hand.lower, hand.upper

    def encode(self, g: np.ndarray, centre: np.ndarray, yaw: float) -> np.ndarray:
        """World grasp(s) (..., 31) -> model coordinates in the cloud's canonical frame."""
        g = np.asarray(g, np.float64)
        Rz = rot_z(yaw)
        pos = (g[..., :3] - centre) @ Rz / POSITION_SCALE_M
        R = Rz.T @ rot6d_to_matrix(g[..., 3:9])
        q = (g[..., 9:] - self.mid.numpy()) / self.half.numpy()
        return np.concatenate([pos, matrix_to_rot6d(R), q], -1).astype(np.float32)

    def decode(self, x: np.ndarray, centre: np.ndarray, yaw: float) -> np.ndarray:
        """Model coordinates (..., 31) -> valid world grasps: rot6d orthonormalised, joints clipped."""
        x = np.asarray(x, np.float64)
        Rz = rot_z(yaw)
        pos = x[..., :3] * POSITION_SCALE_M @ Rz.T + centre
        r6 = matrix_to_rot6d(Rz @ rot6d_to_matrix(x[..., 3:9]))
        q = np.clip(x[..., 9:] * self.half.numpy() + self.mid.numpy(), self.lower, self.upper)
        return np.concatenate([pos, r6, q], -1)


REFINE_MARGIN_M = 0.002
"""Post-hoc refinement: a hand collision sphere may reach this far into the observed points."""


def refine_grasp(hand, g: np.ndarray, object_xyz: np.ndarray, iterations: int = 8,
                 max_shift_m: float = 0.02) -> np.ndarray:
    """Collision-aware post-processing of a world grasp against the observed object points (m,
    world): the wrist is translated (not turned; joints kept) so that the hand's collision
    spheres (:meth:`HandModel.spheres`) reach at most ``REFINE_MARGIN_M`` into the points and stay
    above the table (z = 0); each iteration moves it by the mean push-out of the penetrating
    spheres, in all by at most ``max_shift_m``. The back of the object is unseen: only the
    visible side is cleared."""
    from scipy.spatial import cKDTree

    links, centres, radii = hand.spheres()
    X = forward_kinematics(hand, g)
    local = np.einsum("sij,sj->si", X[links, :3, :3], centres) + X[links, :3, 3] - g[:3]  # offsets from the wrist
    tree = cKDTree(object_xyz)
    shift = np.zeros(3)
    for _ in range(iterations):
        c = local + g[:3] + shift
        d, j = tree.query(c)
        depth = radii - d - REFINE_MARGIN_M
        push = np.zeros(3)
        hit = depth > 0
        if hit.any():
            n = (c[hit] - object_xyz[j[hit]]) / np.maximum(d[hit], 1e-9)[:, None]
            push += (depth[hit, None] * n).sum(0) / hit.sum()
        below = radii - c[:, 2]
        if (below > 0).any():
            push[2] = max(push[2], below.max())
        if not push.any():
            break
        shift = shift + push
        norm = np.linalg.norm(shift)
        if norm > max_shift_m:
            shift *= max_shift_m / norm
    out = np.array(g, np.float64)
    out[:3] += shift
    return out


def _mlp(sizes: list[int], last_act: bool = False) -> nn.Sequential:
    layers = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2 or last_act:
            layers.append(nn.SiLU())
    return nn.Sequential(*layers)


class DexVLGNet(nn.Module):
    """PointNet + hashed-token text -> condition; flow-matching velocity head; score head."""

    def __init__(self, cfg: DexVLGModelConfig):
        super().__init__()
        self.cfg = cfg
        self.point_mlp = _mlp([6, 64, 128, cfg.pc_dim], last_act=False)
        self.text = nn.EmbeddingBag(cfg.text_buckets, cfg.text_dim, mode="mean")
        self.cond = _mlp([cfg.pc_dim + cfg.text_dim, cfg.hidden, cfg.hidden], last_act=True)
        self.velocity = _mlp([GRASP_DIM + 32 + cfg.hidden, cfg.hidden, cfg.hidden, cfg.hidden, GRASP_DIM])
        self.score = _mlp([GRASP_DIM + cfg.hidden, cfg.hidden, cfg.hidden // 2, 1])

    def condition(self, points: torch.Tensor, tokens: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        """points (B, N, 6) centred (x, y, z in decimetres inside), token bag -> (B, hidden)."""
        p = torch.cat([points[..., :3] / POSITION_SCALE_M, points[..., 3:]], -1)
        pc = self.point_mlp(p).max(dim=1).values
        return self.cond(torch.cat([pc, self.text(tokens, offsets)], -1))

    @staticmethod
    def time_features(t: torch.Tensor) -> torch.Tensor:
        freqs = torch.exp(torch.linspace(0, math.log(100.0), 16, device=t.device))
        a = t[:, None] * freqs[None] * 2 * math.pi
        return torch.cat([a.sin(), a.cos()], -1)

    def flow(self, x: torch.Tensor, t: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return self.velocity(torch.cat([x, self.time_features(t), c], -1))

    def grasp_score(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return self.score(torch.cat([x, c], -1))[..., 0]

    @torch.no_grad()
    def sample(self, c: torch.Tensor, k: int, generator: torch.Generator | None = None,
               temperature: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
        """``k`` grasps per condition row: (B, k, 31) model coordinates and (B, k) scores. The ODE
        starts from N(0, temperature^2 I) (temperature < 1: draws nearer the modes)."""
        B = c.shape[0]
        cc = c.repeat_interleave(k, 0)
        x = temperature * torch.randn(B * k, GRASP_DIM, generator=generator, device=c.device)
        n = self.cfg.flow_steps
        for i in range(n):
            t = torch.full((B * k,), i / n, device=c.device)
            x = x + self.flow(x, t, cc) / n
        return x.view(B, k, -1), self.grasp_score(x, cc).view(B, k)


def token_batch(texts: list[str], buckets: int, device="cpu") -> tuple[torch.Tensor, torch.Tensor]:
    toks = [instruction_tokens(t, buckets) or [0] for t in texts]
    offsets = torch.tensor(np.cumsum([0] + [len(t) for t in toks[:-1]]), dtype=torch.long, device=device)
    return torch.tensor([i for t in toks for i in t], dtype=torch.long, device=device), offsets


def save_dexvlg(model: DexVLGNet, path: Path, extra: dict | None = None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"config": asdict(model.cfg), "state_dict": model.state_dict(), **(extra or {})}, path)
    return path


def load_dexvlg(path: str | Path, device: str = "cpu") -> DexVLGNet:
    path = Path(path)
    path = path / "dexvlg.pt" if path.is_dir() else path
    if not path.exists():
        raise FileNotFoundError(f"dexvlg model {path} not found; rule: dexvlg:PATH with PATH a dexvlg.pt or its folder")
    ck = torch.load(path, map_location=device, weights_only=False)
    model = DexVLGNet(DexVLGModelConfig(**ck["config"]))
    model.load_state_dict(ck["state_dict"])
    return model.to(device).eval()


class DexVLGPolicy:
    """``reset(instruction, info)`` then ``act(obs)`` -> one 31-D world-frame grasp: the best-scored
    of ``samples`` flow-matching draws. A cloud that breaks the rules (NaN, wrong shape, no object
    points) or an empty instruction raises ValueError naming the value and the rule (an evaluation
    records it as the episode's error and continues)."""

    name = "dexvlg"

    def __init__(self, path: str | Path, device: str = "cpu", samples: int | None = None, seed: int = 0,
                 temperature: float | None = None, refine: bool = False):
        self.model = load_dexvlg(path, device)
        self.refine = bool(refine)
        self.hand = load_shadow_hand() if refine else None
        self.temperature = float(self.model.cfg.temperature if temperature is None else temperature)
        self.device = device
        self.samples = int(samples or self.model.cfg.samples)
        self.coder = GraspCoder()
        self.rng = np.random.default_rng(seed)
        self.gen = torch.Generator(device=device).manual_seed(seed)
        self.instruction = ""
        self.last_scores: np.ndarray | None = None

    def reset(self, instruction: str, info: dict | None = None) -> None:
        if not isinstance(instruction, str) or not instruction_tokens(instruction, self.model.cfg.text_buckets):
            raise ValueError(f"instruction {instruction!r}; rule: text with at least one word")
        self.instruction = instruction

    def act(self, observation: dict) -> np.ndarray:
        if "pointcloud" not in observation:
            raise ValueError(f"observation has keys {sorted(observation)}; rule: a 'pointcloud' (obs_mode='rgbd+pointcloud')")
        text = observation.get("instruction") or self.instruction
        if not isinstance(text, str) or not instruction_tokens(text, self.model.cfg.text_buckets):
            raise ValueError(f"instruction {text!r}; rule: text with at least one word")
        pts, centre, yaw = object_points(observation["pointcloud"], self.model.cfg.n_points, self.rng,
                                         self.model.cfg.canonical_yaw)
        tok, off = token_batch([text], self.model.cfg.text_buckets, self.device)
        with torch.no_grad():
            c = self.model.condition(torch.as_tensor(pts[None], device=self.device), tok, off)
            x, score = self.model.sample(c, self.samples, self.gen, self.temperature)
        x, score = x[0].cpu().numpy(), score[0].cpu().numpy()
        self.last_scores = score
        g = self.coder.decode(x[int(np.argmax(score))], centre, yaw)
        if self.refine:
            cloud = np.asarray(observation["pointcloud"], np.float64)
            g = refine_grasp(self.hand, g, cloud[cloud[:, 2] > TABLE_CUT_M, :3])
        return g.astype(np.float32)


@register_policy("dexvlg")
def _make_dexvlg(env=None, arg=None, seed=0):
    """``dexvlg:PATH[@K[@T[@refine]]]``: K samples ranked by the score head, ODE start temperature
    T, ``refine``: :func:`refine_grasp` against the observed points."""
    if not arg:
        raise ValueError("dexvlg needs a path; rule: dexvlg:PATH[@K[@T[@refine]]] (PATH a dexvlg.pt or its folder)")
    path, *rest = arg.split("@")
    try:
        k = int(rest[0]) if rest and rest[0] else None
        t = float(rest[1]) if len(rest) > 1 and rest[1] else None
        if len(rest) > 2 and rest[2] != "refine" or len(rest) > 3:
            raise ValueError(f"unknown option {rest[2:]}")
    except ValueError as e:
        raise ValueError(f"dexvlg:{arg}; rule: dexvlg:PATH[@K[@T[@refine]]] with K an integer, T a number") from e
    return DexVLGPolicy(path, samples=k, seed=seed, temperature=t, refine=len(rest) > 2)
