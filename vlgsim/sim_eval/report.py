"""Evaluation reports: ``episodes.jsonl`` written as episodes finish (nothing lost on a
crash), then ``report.json`` and a human ``report.md``; videos as MP4.

Crash safety: a log line is flushed and fsynced whole; a log whose last line was torn by a
kill is cut back to its last complete line before anything is appended
(:func:`repair_torn_tail`); videos are written to a hidden temp file and renamed when
complete, and a resumed run keeps only the videos of episodes already in the log
(:func:`finished_videos`: the others are deleted and re-rendered when their episode runs
again); temp files left by a killed writer are removed at the next start
(:func:`clean_temp_files`)."""

from __future__ import annotations

import json
import math
import os
import re
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
    """Results in a JSONL log; a torn last line (a crash mid-write) or any other unreadable
    line is skipped. Lines are split on ``\n`` only."""
    out = []
    if not Path(path).exists():
        return out
    for line in Path(path).read_bytes().split(b"\n"):
        try:
            out.append(EpisodeResult(**json.loads(line.decode("utf-8"))))
        except (ValueError, TypeError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            continue
    return out


def repair_torn_tail(path: Path) -> int:
    """Cut a JSONL file back to its last complete line (one ending in a newline), so that
    appending does not glue a new line onto a line torn by a kill. Returns the bytes removed."""
    path = Path(path)
    if not path.exists():
        return 0
    size = path.stat().st_size
    if size == 0:
        return 0
    with open(path, "rb+") as f:
        f.seek(-1, os.SEEK_END)
        if f.read(1) == b"\n":
            return 0
        keep, pos, chunk = 0, size, 1 << 16
        while pos > 0:  # search backwards for the last newline
            start = max(0, pos - chunk)
            f.seek(start)
            i = f.read(pos - start).rfind(b"\n")
            if i >= 0:
                keep = start + i + 1
                break
            pos = start
        f.truncate(keep)
        f.flush()
        os.fsync(f.fileno())
    return size - keep


TEMP_PATTERNS = ("videos/.*.tmp.mp4", ".*.tmp", "*.json.tmp")
"""Temp files a killed writer may leave in an eval folder (see :func:`clean_temp_files`)."""


def clean_temp_files(out_dir: Path) -> list[Path]:
    """Delete temp files left in ``out_dir`` by a killed writer; returns what was removed."""
    removed = []
    for pattern in TEMP_PATTERNS:
        for p in Path(out_dir).glob(pattern):
            if p.is_file():
                p.unlink(missing_ok=True)
                removed.append(p)
    return removed


_VIDEO_RE = re.compile(r"episode_(\d+)_seed_(-?\d+)\.mp4$")


def finished_videos(out_dir: Path, results: list[EpisodeResult]) -> list[str]:
    """Videos (paths relative to ``out_dir``) of episodes whose result is in the log; any
    other ``episode_*.mp4`` is deleted (its episode runs again and re-renders it)."""
    done = {(r.episode, r.seed) for r in results}
    keep = []
    for p in sorted((Path(out_dir) / "videos").glob("episode_*.mp4")):
        m = _VIDEO_RE.search(p.name)
        if m and (int(m.group(1)), int(m.group(2))) in done:
            keep.append(str(p.relative_to(out_dir)))
        else:
            p.unlink(missing_ok=True)
    return keep


class EpisodeLog:
    """Append-only JSONL of episode results, flushed and fsynced line by line (a torn last
    line left by a kill is cut off first: :func:`repair_torn_tail`)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        repair_torn_tail(self.path)
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
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.mp4")  # renamed only once complete
    try:
        imageio.mimwrite(tmp, frames, fps=fps, codec="libx264", macro_block_size=1, quality=7)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
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
