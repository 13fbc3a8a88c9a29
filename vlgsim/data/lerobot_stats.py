"""Feature statistics exactly as LeRobot (0.4.x, ``lerobot/datasets/compute_stats.py``)
writes them, so that normalisers that read ``meta/stats.json`` (pi0.5's quantile
normalisation, LeRobot's mean/std) accept our datasets.

Per feature: ``min``, ``max``, ``mean``, ``std`` (population), ``count`` (shape (1,)) and
the quantiles ``q01, q10, q50, q90, q99``. Vectors (T, D) -> arrays of shape (D,); scalar
columns (T,) -> shape (1,). Videos: per channel over the sampled frames' pixels, scaled
to [0, 1], shape (3, 1, 1), ``count`` = frames sampled (all frames up to 100, then
``T ** 0.75`` spread evenly; frames of 300 px or more are strided down to ~150 px).
Quantiles are the inverted-CDF order statistic (LeRobot estimates the same one from a
5000-bin histogram, so the two agree within 1/5000 of the feature's range). Dataset stats
aggregate episode stats as LeRobot does: count-weighted means, pooled variances,
min of mins, max of maxes, count-weighted quantiles.
"""

from __future__ import annotations

import numpy as np

QUANTILES = (0.01, 0.10, 0.50, 0.90, 0.99)
QUANTILE_KEYS = tuple(f"q{int(q * 100):02d}" for q in QUANTILES)


def vector_stats(values: np.ndarray) -> dict[str, np.ndarray]:
    """Stats of a (T,) or (T, D) numeric column over its T rows."""
    a = np.asarray(values, dtype=np.float64)
    flat = a.reshape(len(a), -1)
    out = {"min": flat.min(0), "max": flat.max(0), "mean": flat.mean(0), "std": flat.std(0),
           "count": np.array([len(a)], np.int64)}
    for key, q in zip(QUANTILE_KEYS, QUANTILES):
        out[key] = np.quantile(flat, q, axis=0, method="inverted_cdf") if len(a) >= 2 else out["mean"].copy()
    return out


def sample_indices(n: int) -> list[int]:
    """Frames LeRobot samples from an episode of ``n`` for image stats."""
    k = n if n < 100 else max(100, min(int(n**0.75), 10_000))
    return np.round(np.linspace(0, n - 1, k)).astype(int).tolist()


def video_stats(frames: np.ndarray) -> dict[str, np.ndarray]:
    """Per-channel stats of (T, H, W, 3) uint8 frames in [0, 1], each of shape (3, 1, 1)."""
    frames = np.asarray(frames)
    picked = frames[sample_indices(len(frames))]
    h, w = picked.shape[1:3]
    if max(h, w) >= 300:
        step = int(w / 150) if w > h else int(h / 150)
        picked = picked[:, ::step, ::step]
    s = vector_stats(picked.reshape(-1, picked.shape[-1]))
    out = {k: (v / 255.0).reshape(-1, 1, 1) for k, v in s.items() if k != "count"}
    out["count"] = np.array([len(picked)], np.int64)
    return out


def aggregate_stats(stats_list: list[dict[str, dict[str, np.ndarray]]]) -> dict[str, dict[str, np.ndarray]]:
    """Dataset stats from episode stats (LeRobot's ``aggregate_stats``)."""
    out = {}
    for key in sorted({k for s in stats_list for k in s}):
        fs = [s[key] for s in stats_list if key in s]
        means = np.stack([np.asarray(f["mean"], np.float64) for f in fs])
        variances = np.stack([np.asarray(f["std"], np.float64) ** 2 for f in fs])
        counts = np.stack([np.asarray(f["count"], np.float64) for f in fs])
        total = counts.sum(axis=0)
        while counts.ndim < means.ndim:
            counts = counts[..., None]
        mean = (means * counts).sum(0) / total
        var = ((variances + (means - mean) ** 2) * counts).sum(0) / total
        agg = {"min": np.min(np.stack([f["min"] for f in fs]), 0), "max": np.max(np.stack([f["max"] for f in fs]), 0),
               "mean": mean, "std": np.sqrt(var), "count": total.astype(np.int64)}
        for q in QUANTILE_KEYS:
            if all(q in f for f in fs):
                agg[q] = (np.stack([np.asarray(f[q], np.float64) for f in fs]) * counts).sum(0) / total
        out[key] = agg
    return out


def flatten_stats(stats: dict[str, dict[str, np.ndarray]]) -> dict[str, list]:
    """``{"stats/<feature>/<stat>": nested list}``: the per-episode columns of meta/episodes."""
    return {f"stats/{k}/{s}": np.asarray(v).tolist() for k, fs in stats.items() for s, v in fs.items()}


def unflatten_stats(row: dict) -> dict[str, dict[str, np.ndarray]]:
    """Inverse of :func:`flatten_stats` for one episodes-table row."""
    out: dict[str, dict[str, np.ndarray]] = {}
    for col, v in row.items():
        if col.startswith("stats/") and v is not None:
            feature, stat = col[len("stats/"):].rsplit("/", 1)
            out.setdefault(feature, {})[stat] = np.asarray(v)
    return out
