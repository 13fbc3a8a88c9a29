"""Evaluation reports: ``episodes.jsonl`` written as episodes finish (nothing lost on a
crash), then ``report.json`` and a human ``report.md``; videos as MP4."""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from vlgsim.sim_eval.rollout import EpisodeResult

FAILURE_MODES = ("none", "wrong_object", "missed", "dropped", "collision", "invalid_action", "parse_failure", "error")


def wilson_interval(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """95 % Wilson score interval for a binomial proportion (exact at the 0 and n ends)."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    lo, hi = max(0.0, centre - half), min(1.0, centre + half)
    return (0.0 if successes == 0 else lo, 1.0 if successes == n else hi)


def read_episode_log(path: Path) -> list[EpisodeResult]:
    """Results in a JSONL log; a torn last line (a crash mid-write) is skipped."""
    out = []
    if not Path(path).exists():
        return out
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            out.append(EpisodeResult(**json.loads(line)))
        except (json.JSONDecodeError, TypeError):
            continue
    return out


class EpisodeLog:
    """Append-only JSONL of episode results, flushed and fsynced line by line."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._f = open(self.path, "a", encoding="utf-8")

    def write(self, result: EpisodeResult) -> None:
        self._f.write(json.dumps(result.to_json()) + "\n")
        self._f.flush()
        os.fsync(self._f.fileno())

    def close(self) -> None:
        self._f.close()


def write_video(path: Path, frames: list[np.ndarray], fps: int = 10) -> Optional[Path]:
    if not frames:
        return None
    import imageio.v2 as imageio

    path.parent.mkdir(parents=True, exist_ok=True)
    h, w = frames[0].shape[:2]
    frames = [f for f in frames if f.shape[:2] == (h, w)]
    imageio.mimwrite(path, frames, fps=fps, codec="libx264", macro_block_size=1, quality=7)
    return path


@dataclass
class Summary:
    n: int
    successes: int
    success_rate: float
    ci95: tuple[float, float]
    failure_modes: dict[str, int]
    mean_episode_wall_s: float
    metrics: dict[str, float]
    """Mean over episodes of each task metric the env reported in ``info["metrics"]``."""


def summarize(results: list[EpisodeResult]) -> Summary:
    n = len(results)
    k = sum(r.success for r in results)
    modes = Counter(r.failure_mode for r in results)
    return Summary(n, k, k / n if n else 0.0, wilson_interval(k, n),
                   {m: modes.get(m, 0) for m in FAILURE_MODES} | {m: c for m, c in modes.items() if m not in FAILURE_MODES},
                   float(np.mean([r.wall_s for r in results])) if n else 0.0, mean_metrics(results))


def mean_metrics(results: list[EpisodeResult]) -> dict[str, float]:
    """Mean of each ``extra["metrics"]`` entry over the episodes that report it."""
    values: dict[str, list[float]] = {}
    for r in results:
        for k, v in (r.extra.get("metrics") or {}).items():
            values.setdefault(k, []).append(float(v))
    return {k: float(np.mean(v)) for k, v in values.items()}


def write_report(out_dir: Path, meta: dict, results: list[EpisodeResult], videos: list[str]) -> tuple[Path, Path]:
    """Write ``report.json`` and ``report.md`` (atomically) into ``out_dir``."""
    out_dir = Path(out_dir)
    s = summarize(results)
    report = dict(meta, n_episodes=s.n, successes=s.successes, success_rate=s.success_rate,
                  success_ci95=list(s.ci95), failure_modes=s.failure_modes, metrics=s.metrics,
                  mean_episode_wall_s=s.mean_episode_wall_s, videos=videos,
                  episodes=[r.to_json() for r in results])
    jp = out_dir / "report.json"
    tmp = jp.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(report, indent=1))
    os.replace(tmp, jp)
    lines = [
        f"# {meta.get('env_id')} / policy `{meta.get('policy')}`", "",
        f"- episodes: {s.n} (seeds {meta.get('seed')}..{meta.get('seed', 0) + s.n - 1}), workers: {meta.get('workers')}",
        f"- **success rate: {100 * s.success_rate:.1f} %** (95 % Wilson interval "
        f"{100 * s.ci95[0]:.1f}-{100 * s.ci95[1]:.1f} %)",
        f"- wall time: {meta.get('wall_s', 0):.1f} s ({s.mean_episode_wall_s:.2f} s per episode in a worker)", "",
        *([ "| metric | mean |", "|---|---|", *[f"| {k} | {v:.3f} |" for k, v in s.metrics.items()], ""]
          if s.metrics else []),
        "| failure mode | episodes |", "|---|---|",
        *[f"| {m} | {c} |" for m, c in s.failure_modes.items()], "",
        *(["Videos: " + ", ".join(f"[{Path(v).name}]({v})" for v in videos), ""] if videos else []),
        "| episode | seed | instruction | action | success | failure mode | error |", "|---|---|---|---|---|---|---|",
        *[f"| {r.episode} | {r.seed} | {r.instruction} | {r.action} | {r.success} | {r.failure_mode} | "
          f"{r.error.replace('|', '/')[:120]} |" for r in results],
    ]
    mp = out_dir / "report.md"
    mp.write_text("\n".join(lines) + "\n")
    return jp, mp
