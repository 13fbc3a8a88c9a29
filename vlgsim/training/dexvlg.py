"""Training the DexVLG-style model (:mod:`vlgsim.policies.dexvlg`) on grasp sets with captions.

**Data** (:func:`collect_dexvlg_data`): ``DexVLG-PartGrasp-v0`` resets (``cloud="object"``) over
seeds ``seed .. seed + scenes - 1`` give the observation cloud (1024 x ``[xyz, rgb]``, world), the
instruction and the object pose; the targets of a scene come from the grasp set (default: the
shipped grasp library) of the object: its valid grasps of the instructed part (with the instructed
fingers up to one finger when any have them), of which the ``targets_per_scene`` lowest-energy
ones are kept, each turned by the object's rotation symmetry about its z axis
(:func:`z_symmetry_order`) to the copy facing the camera (or the cloud's signed principal axis for
a ``canonical_yaw`` model: :func:`facing_point`), in the world frame. Scenes whose part has no valid
grasp are skipped. Saved as ``data.npz``.

**Loss** (:func:`train_dexvlg`): per scene in a batch, one target grasp X_1 drawn among its
targets and a fresh resampling of its object points; flow matching
``|| v(X_t, t, c) - (X_1 - X_0) ||^2`` with X_0 ~ N(0, I), t ~ U(0, 1) (DexVLG eq. 4), plus the
score head's logistic loss: the target is positive; the same target perturbed (2 cm, 0.3 rad,
0.3 of each joint's half range, times a factor ~ U(0.3, 1.5)) and a target of another scene in
the batch are negatives. AdamW, cosine learning-rate decay.

Writes ``dexvlg.pt`` (weights + config), ``log.jsonl`` (one line per logged step), ``train.json``
and ``curve.png`` (losses against steps) into OUT. CPU at the default size, ``--device cuda``
for the same code on a GPU.
"""

from __future__ import annotations

import json
import time
from functools import lru_cache
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from vlgsim.grasp.dexterous import GRASP_DIM, rot6d_to_matrix, transform_grasp
from vlgsim.policies.dexvlg import (TABLE_CUT_M, DexVLGModelConfig, DexVLGNet, GraspCoder, canonical_yaw,
                                    object_points, rot_z, save_dexvlg, token_batch)


@dataclass
class DexVLGTrainConfig:
    grasp_dir: str = ""
    """Grasp sets written by ``vlgsim synth-grasps``; empty: the grasp library shipped with the
    package (:func:`vlgsim.data.grasp_sets.load_library_set`)."""
    categories: tuple[str, ...] = ()
    """Objects to train on (default: every object of the library, or with a grasp-set file in ``grasp_dir``)."""
    scenes: int = 1000
    targets_per_scene: int = 1
    """Keep this many of a scene's valid grasps of the part: the lowest-energy ones, each turned
    by the object's rotation symmetry (:func:`z_symmetry_order`) to the copy whose wrist lies most
    towards the camera (:func:`camera_side`). One target per scene makes the target a function of
    the observation (the object's pose up to its symmetry, the instruction): a small model
    trained briefly averages far-apart modes into a grasp of none (0 = keep all, unturned)."""
    seed: int = 0
    steps: int = 3000
    batch: int = 128
    lr: float = 1e-3
    weight_decay: float = 1e-4
    score_weight: float = 0.2
    device: str = "cpu"
    cpu_threads: int = 1
    """torch threads on the CPU (more threads than free cores make every step many times slower)."""
    log_every: int = 50
    model: DexVLGModelConfig = field(default_factory=DexVLGModelConfig)


@dataclass
class DexVLGData:
    """``clouds`` (S, 1024, 6) observation clouds; ``instructions`` (S,); ``grasps`` (G, 31) world
    targets with ``scene`` (G,) their scene row; ``seeds`` (S,) the env seeds."""

    clouds: np.ndarray
    instructions: np.ndarray
    grasps: np.ndarray
    scene: np.ndarray
    seeds: np.ndarray

    def save(self, path: Path) -> None:
        np.savez_compressed(path, **asdict(self))

    @classmethod
    def load(cls, path: Path) -> "DexVLGData":
        with np.load(path, allow_pickle=False) as z:
            return cls(**{k: z[k] for k in ("clouds", "instructions", "grasps", "scene", "seeds")})


def available_categories(grasp_dir: str | Path = "") -> tuple[str, ...]:
    """Objects with a grasp-set file in ``grasp_dir`` (empty: in the shipped library)."""
    from vlgsim.data.grasp_sets import library_dir

    d = Path(grasp_dir) if grasp_dir else library_dir()
    return tuple(sorted({p.name.split("_s")[0] for p in d.glob("*_s*.npz") if ".tmp" not in p.name}))


SYMMETRY_STEPS = 72
"""Rotation order standing for "round" (5 degree steps): :func:`z_symmetry_order`."""


@lru_cache(maxsize=64)
def z_symmetry_order(category: str, scale: float = 1.0, tol_m: float = 0.001) -> int:
    """Order n of the object's rotation symmetry about its own z axis: every part's mesh, turned by
    2 pi / n, lies within ``tol_m`` (m) of itself. ``SYMMETRY_STEPS`` (72) for round objects (can,
    cup, bowl, bottle, apple), 4 for the block, 2 for the box, 1 for none (mug, hammer, ...)."""
    import trimesh

    from vlgsim.assets.objects import object_geometry

    parts = object_geometry(category, float(scale))
    for n in (SYMMETRY_STEPS, 4, 2):
        R = rot_z(2 * np.pi / n)
        if all(trimesh.proximity.closest_point(p.mesh, p.mesh.vertices @ R.T)[1].max() <= tol_m for p in parts):
            return n
    return 1


def symmetric_copies(grasps: np.ndarray, order: int) -> np.ndarray:
    """Grasps (G, 31) in the object frame -> (order, G, 31): each turned about the object's z axis
    by k 2 pi / order, k = 0 .. order - 1 (the same grasps of an object with that symmetry)."""
    out = []
    for k in range(order):
        T = np.eye(4)
        T[:3, :3] = rot_z(2 * np.pi * k / order)
        out.append(transform_grasp(grasps, T))
    return np.stack(out)


def load_training_set(grasp_dir: str, category: str, scale: float):
    """The grasp set of an object from ``grasp_dir`` (empty: the shipped library)."""
    from vlgsim.data.grasp_sets import grasp_set_path, load_grasp_set, load_library_set

    if not grasp_dir:
        return load_library_set(category, scale)
    path = grasp_set_path(Path(grasp_dir), category, scale)
    if not path.exists():
        raise FileNotFoundError(f"{path} missing; rule: a grasp set for every training object")
    return load_grasp_set(path)


def facing_point(cloud: np.ndarray, camera_xyz: np.ndarray, canonical: bool) -> np.ndarray:
    """The point (world, m) the targets are turned towards (:func:`choose_targets`): the camera;
    with ``canonical`` (the model's ``canonical_yaw``), 1 m from the object points' centroid along
    their signed principal axis (:func:`vlgsim.policies.dexvlg.canonical_yaw`), so a target is
    the same grasp in the cloud's canonical frame whichever way the object is turned."""
    if not canonical:
        return np.asarray(camera_xyz, np.float64)
    obj = cloud[cloud[:, 2] > TABLE_CUT_M, :3].astype(np.float64)
    yaw = canonical_yaw(obj[:, :2])
    return obj.mean(0) + [np.cos(yaw), np.sin(yaw), 0.0]


def choose_targets(gs, idx: np.ndarray, object_pose: np.ndarray, cloud: np.ndarray, camera_xyz: np.ndarray,
                   k: int) -> np.ndarray:
    """World-frame targets (k, 31) of a scene from the grasp-set rows ``idx`` (see
    ``DexVLGTrainConfig.targets_per_scene``), each the symmetric copy whose wrist lies most
    towards ``camera_xyz`` (:func:`facing_point`); k = 0: all of them, unturned."""
    if not k:
        return transform_grasp(gs.grasps[idx], object_pose)
    best = idx[np.argsort(gs.energy[idx], kind="stable")[:k]]
    copies = symmetric_copies(gs.grasps[best], z_symmetry_order(gs.category, gs.scale))  # (n, k, 31)
    world = transform_grasp(copies, object_pose)
    out = []
    for j in range(len(best)):
        out.append(world[camera_side(world[:, j], cloud, camera_xyz)[0], j])
    return np.stack(out)


def scene_targets(gs, part: str, fingers: tuple[str, ...] | None) -> np.ndarray:
    """Indices of the valid grasps of ``part``; those whose contacts match ``fingers`` up to one
    finger when there are any."""
    idx = np.nonzero((gs.part == part) & gs.valid)[0]
    if fingers and len(idx):
        want = set(fingers)
        match = np.array([len(want ^ set(filter(None, str(c).split(",")))) <= 1 for c in gs.contact_fingers[idx]])
        if match.any():
            idx = idx[match]
    return idx


def camera_side(grasps_world: np.ndarray, cloud: np.ndarray, camera_xyz: np.ndarray) -> np.ndarray:
    """Indices of ``grasps_world`` ordered by how far towards the camera their wrist lies: the
    cosine between (wrist - centroid) and (camera - centroid) in the table plane, largest first
    (centroid of the cloud's points above the table)."""
    obj = cloud[cloud[:, 2] > 0.003, :3]
    c = obj.mean(0) if len(obj) else grasps_world[:, :3].mean(0)
    a = grasps_world[:, :2] - c[:2]
    b = camera_xyz[:2] - c[:2]
    cos = a @ b / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b), 1e-9)
    return np.argsort(-cos, kind="stable")


def collect_dexvlg_data(cfg: DexVLGTrainConfig, progress=None) -> DexVLGData:
    from vlgsim.envs.dexvlg_part_grasp import DexVLGPartGraspEnv

    cats = tuple(cfg.categories) or available_categories(cfg.grasp_dir)
    if not cats:
        raise ValueError(f"no grasp sets in {cfg.grasp_dir}; rule: run `vlgsim synth-grasps --out {cfg.grasp_dir}` first")
    env = DexVLGPartGraspEnv(categories=cats, cloud="object")
    sets = {}
    clouds, texts, grasps, scene, seeds = [], [], [], [], []
    for i in range(cfg.scenes):
        seed = cfg.seed + i
        obs, info = env.reset(seed=seed)
        key = (info["category"], float(info["scale"]))
        if key not in sets:
            sets[key] = load_training_set(cfg.grasp_dir, *key)
        gs = sets[key]
        idx = scene_targets(gs, info["part"], tuple(info["fingers"]) or None)
        if progress:
            progress(i)
        if not len(idx):
            continue
        world = choose_targets(gs, idx, np.asarray(info["object_pose"]), obs["pointcloud"],
                               facing_point(obs["pointcloud"], np.asarray(env.camera.eye), cfg.model.canonical_yaw),
                               cfg.targets_per_scene)
        grasps.append(world)
        scene += [len(clouds)] * len(world)
        clouds.append(obs["pointcloud"])
        texts.append(obs["instruction"])
        seeds.append(seed)
    env.close()
    if not clouds:
        raise ValueError(f"no scene over {cfg.scenes} seeds has a valid grasp of its part in {cfg.grasp_dir}")
    return DexVLGData(np.stack(clouds).astype(np.float32), np.array(texts), np.concatenate(grasps).astype(np.float32),
                      np.array(scene, np.int64), np.array(seeds, np.int64))


def _perturb(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Negatives for the score head: model-coordinate grasps moved by random amounts."""
    B = x.shape[0]
    f = 0.3 + 1.2 * torch.rand(B, 1, generator=gen, device=x.device)
    d = torch.randn(B, 3, generator=gen, device=x.device)
    pos = x[:, :3] + f * 0.2 * d / d.norm(dim=1, keepdim=True)  # 2 cm (model units: decimetres)
    r6 = x[:, 3:9] + f * 0.3 * torch.randn(B, 6, generator=gen, device=x.device)
    q = x[:, 9:] + f * 0.3 * torch.randn(B, x.shape[1] - 9, generator=gen, device=x.device)
    return torch.cat([pos, r6, q], 1)


def dexvlg_batch(data: DexVLGData, rows: np.ndarray, coder: GraspCoder, n_points: int, rng: np.random.Generator,
                 device: str = "cpu", canonical: bool = False) -> tuple[torch.Tensor, list[str], torch.Tensor]:
    """(points (B, N, 6) centred, instructions, target grasps (B, 31) in model coordinates)."""
    pts, targets = [], []
    for r in rows:
        p, c, yaw = object_points(data.clouds[r], n_points, rng, canonical)
        pts.append(p)
        options = np.flatnonzero(data.scene == r)
        targets.append(coder.encode(data.grasps[rng.choice(options)], c, yaw))
    x1 = torch.tensor(np.array(targets), dtype=torch.float32, device=device)
    return torch.tensor(np.array(pts), device=device), [str(data.instructions[r]) for r in rows], x1


def dexvlg_losses(model: DexVLGNet, points: torch.Tensor, texts: list[str], x1: torch.Tensor,
                  gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(flow-matching loss, score loss) of one batch."""
    dev = points.device
    tok, off = token_batch(texts, model.cfg.text_buckets, dev)
    c = model.condition(points, tok, off)
    B = x1.shape[0]
    x0 = torch.randn(x1.shape, generator=gen, device=dev)
    t = torch.rand(B, generator=gen, device=dev)
    xt = (1 - t[:, None]) * x0 + t[:, None] * x1
    flow = ((model.flow(xt, t, c) - (x1 - x0)) ** 2).mean()
    neg = torch.cat([_perturb(x1, gen), x1.roll(1, 0)], 0)
    logits = model.grasp_score(torch.cat([x1, neg], 0), torch.cat([c, c, c], 0))
    labels = torch.cat([torch.ones(B, device=dev), torch.zeros(2 * B, device=dev)])
    weight = torch.cat([torch.full((B,), 2.0, device=dev), torch.ones(2 * B, device=dev)])
    score = nn.functional.binary_cross_entropy_with_logits(logits, labels, weight=weight)
    return flow, score


def train_dexvlg(cfg: DexVLGTrainConfig, data: DexVLGData, out: Path, progress=None,
                 model: DexVLGNet | None = None) -> DexVLGNet:
    """Train ``model`` (default: a new one from ``cfg.model``) in place; returns it (on the CPU)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    if cfg.device == "cpu" and cfg.cpu_threads > 0:
        torch.set_num_threads(cfg.cpu_threads)
    rng = np.random.default_rng(cfg.seed)
    gen = torch.Generator(device=cfg.device).manual_seed(cfg.seed)
    model = (model or DexVLGNet(cfg.model)).to(cfg.device).train()
    coder = GraspCoder()
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.steps, eta_min=cfg.lr * 0.05)
    log, t0 = [], time.perf_counter()
    n_scenes = len(data.clouds)
    with open(out / "log.jsonl", "w") as f:
        for step in range(1, cfg.steps + 1):
            rows = rng.choice(n_scenes, cfg.batch, replace=n_scenes < cfg.batch)
            points, texts, x1 = dexvlg_batch(data, rows, coder, cfg.model.n_points, rng, cfg.device,
                                             cfg.model.canonical_yaw)
            flow, score = dexvlg_losses(model, points, texts, x1, gen)
            loss = flow + cfg.score_weight * score
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            if step % cfg.log_every == 0 or step == 1 or step == cfg.steps:
                rec = dict(step=step, loss=loss.item(), flow=flow.item(), score=score.item(),
                           lr=float(sched.get_last_lr()[0]), wall_s=round(time.perf_counter() - t0, 2))
                log.append(rec)
                f.write(json.dumps(rec) + "\n")
                f.flush()
            if progress:
                progress(step)
    model = model.cpu().eval()
    save_dexvlg(model, out / "dexvlg.pt", {"train_config": _jsonable(asdict(cfg))})
    (out / "train.json").write_text(json.dumps(dict(config=_jsonable(asdict(cfg)), scenes=n_scenes,
                                                    grasps=len(data.grasps), final=log[-1]), indent=2))
    plot_curve(log, out / "curve.png")
    return model


def _jsonable(d):
    return json.loads(json.dumps(d, default=lambda o: list(o) if isinstance(o, tuple) else str(o)))


def plot_curve(log: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [r["step"] for r in log]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(steps, [r["flow"] for r in log], label="flow matching (MSE)")
    ax.plot(steps, [r["score"] for r in log], label="score head (BCE)")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_yscale("log")
    ax.set_title("DexVLG-style model training")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def grasp_errors(pred: np.ndarray, targets: np.ndarray) -> tuple[float, float, float]:
    """Distance (m), rotation angle (rad) and mean absolute joint difference (rad) from a world
    grasp to the nearest of ``targets`` (nearest by wrist position); a diagnostic for held-out scenes."""
    d = np.linalg.norm(targets[:, :3] - pred[:3], axis=1)
    k = int(np.argmin(d))
    R = rot6d_to_matrix(pred[3:9]).T @ rot6d_to_matrix(targets[k, 3:9])
    return (float(d[k]), float(np.arccos(np.clip((np.trace(R) - 1) / 2, -1, 1))),
            float(np.abs(pred[9:] - targets[k, 9:]).mean()))


@dataclass
class HeldOutError:
    """A predicted grasp against the nearest valid grasp of the instructed part (the grasp set's
    grasps and their copies under the object's symmetry, world frame)."""

    seed: int
    category: str
    part: str
    position_m: float
    rotation_rad: float
    joints_rad: float


def held_out_errors(policy, seeds, categories=(), grasp_dir: str = "") -> list[HeldOutError]:
    """:class:`HeldOutError` of ``policy`` (reset/act) on ``DexVLG-PartGrasp-v0`` scenes
    (``cloud="object"``) over ``seeds``; no physics is stepped."""
    from vlgsim.envs.dexvlg_part_grasp import DexVLGPartGraspEnv

    env = DexVLGPartGraspEnv(categories=tuple(categories) or available_categories(grasp_dir), cloud="object")
    sets, out = {}, []
    try:
        for seed in seeds:
            obs, info = env.reset(seed=int(seed))
            key = (info["category"], float(info["scale"]))
            if key not in sets:
                sets[key] = load_training_set(grasp_dir, *key)
            gs = sets[key]
            idx = np.nonzero((gs.part == info["part"]) & gs.valid)[0]
            if not len(idx):
                continue
            policy.reset(obs["instruction"], info)
            g = policy.act(obs)
            copies = symmetric_copies(gs.grasps[idx], z_symmetry_order(*key)).reshape(-1, GRASP_DIM)
            e = grasp_errors(g, transform_grasp(copies, np.asarray(info["object_pose"])))
            out.append(HeldOutError(int(seed), info["category"], info["part"], *e))
    finally:
        env.close()
    return out


__all__ = ["DexVLGData", "DexVLGTrainConfig", "GRASP_DIM", "HeldOutError", "collect_dexvlg_data", "dexvlg_batch",
           "dexvlg_losses", "held_out_errors", "symmetric_copies", "train_dexvlg", "z_symmetry_order"]
