"""Sim-vs-real agreement of paired results (policies x tasks): Pearson r and MMRV as SimplerEnv
defines them (``simpler_env/utils/metrics.py``, simpler-env/SimplerEnv ``4ab7178``).

Both take, per task, the success rates of the same policies in simulation and on the real
robot (in [0, 1], one value per policy, paired by position):

- ``pearson_correlation(sim, real)``: centred values; 1 if the centred vectors are equal,
  else ``sum(s r) / (sqrt(sum(s^2) sum(r^2)) + 1e-8)`` (so 0, not NaN, when one side is flat).
- ``mean_maximum_rank_violation(sim, real)``: for each policy i, the largest real-success gap
  ``|real_i - real_j|`` over the policies j that sim and real order differently
  (``(sim_i > sim_j) != (real_i > real_j)``), averaged over i. Lower is better; it is not
  symmetric: the gaps are measured on the second argument. SimplerEnv's function and
  ``tools/calc_metrics.py`` pass (sim, real); its README example passes (real, sim); this
  module keeps the function's (sim, real).

Inputs: a CSV (``policy,task,sim_success,real_success``) or JSON (a list of such objects, or
``{"pairs": [...]}``) file, or ``report.json`` files of ``vlgsim eval`` / real runs
(``policy``, ``env_id``, ``success_rate``). Bad input raises ValueError naming the value and
the rule. ``write_comparison`` writes ``report.json``, ``report.md`` and ``scatter.png``.
"""

from __future__ import annotations

import csv
import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

ALL_TASKS = "all pairs"


def pearson_correlation(perf_sim: Sequence[float], perf_real: Sequence[float]) -> float:
    """SimplerEnv's Pearson correlation of paired success rates (see the module docstring)."""
    s, r = _paired(perf_sim, perf_real)
    s, r = s - s.mean(), r - r.mean()
    if np.all(s == r):
        return 1.0
    return float(np.sum(s * r) / (np.sqrt(np.sum(s**2) * np.sum(r**2)) + 1e-8))


def mean_maximum_rank_violation(perf_sim: Sequence[float], perf_real: Sequence[float]) -> float:
    """SimplerEnv's MMRV of paired success rates (see the module docstring)."""
    s, r = _paired(perf_sim, perf_real)
    flipped = (s[:, None] > s[None, :]) != (r[:, None] > r[None, :])
    gap = np.abs(r[:, None] - r[None, :])
    return float(np.mean(np.max(np.where(flipped, gap, 0.0), axis=1)))


def _paired(a, b) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape or a.ndim != 1 or a.size == 0:
        raise ValueError(f"sim {a.shape} and real {b.shape}; rule: two equally long, non-empty 1-D vectors")
    return a, b


@dataclass(frozen=True)
class PairedResult:
    """One policy on one task: success rates (0-1) in simulation and on the real robot."""

    policy: str
    task: str
    sim_success: float
    real_success: float


@dataclass(frozen=True)
class Agreement:
    """Pearson r and MMRV over the policies of one task (or of all pairs pooled)."""

    task: str
    n_policies: int
    pearson_r: float | None
    mmrv: float | None
    note: str = ""


@dataclass
class SimRealComparison:
    pairs: list[PairedResult]
    per_task: list[Agreement]
    pooled: Agreement
    mean_pearson_r: float | None
    """Mean over tasks with >= 2 policies, as SimplerEnv averages its per-task values."""
    mean_mmrv: float | None


def _rate(value, what: str) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{what} = {value!r}; rule: a success rate, a number in [0, 1]")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} = {value!r} is not a number; rule: a success rate in [0, 1]") from None
    if not math.isfinite(v) or not 0.0 <= v <= 1.0:
        raise ValueError(f"{what} = {value!r}; rule: a finite success rate in [0, 1]")
    return v


def _name(value, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} = {value!r}; rule: a non-empty name")
    return value.strip()


def make_pairs(rows: Sequence[dict]) -> list[PairedResult]:
    """Rows ``{policy, task, sim_success, real_success}`` -> checked pairs. A missing field,
    a non-numeric / NaN / out-of-range rate or a repeated (policy, task) is a ValueError."""
    out, seen = [], set()
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise ValueError(f"row {i} = {row!r}; rule: an object with policy, task, sim_success, real_success")
        missing = [k for k in ("policy", "task", "sim_success", "real_success") if row.get(k) in (None, "")]
        if missing:
            raise ValueError(f"row {i} {row!r} lacks {missing}; rule: every pair has policy, task, "
                             f"sim_success and real_success (a missing sim or real result is not a pair)")
        p = PairedResult(_name(row["policy"], f"row {i} policy"), _name(row["task"], f"row {i} task"),
                         _rate(row["sim_success"], f"row {i} sim_success"),
                         _rate(row["real_success"], f"row {i} real_success"))
        if (p.policy, p.task) in seen:
            raise ValueError(f"row {i}: ({p.policy!r}, {p.task!r}) appears twice; rule: one pair per policy and task")
        seen.add((p.policy, p.task))
        out.append(p)
    if not out:
        raise ValueError("no paired results; rule: at least one policy x task pair")
    return out


def read_pairs(path: Path) -> list[PairedResult]:
    """Pairs from a ``.csv`` (header ``policy,task,sim_success,real_success``) or ``.json`` file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: cannot read ({type(e).__name__}: {e})") from e
    if path.suffix.lower() == ".csv":
        rows = list(csv.DictReader(text.splitlines()))
        need = {"policy", "task", "sim_success", "real_success"}
        if not rows or not need <= set(rows[0]):
            raise ValueError(f"{path}: columns {sorted(rows[0]) if rows else []}; rule: a header with {sorted(need)} "
                             f"and one row per pair")
        return make_pairs(rows)
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: not JSON ({e}); rule: a list of pairs or {{\"pairs\": [...]}}") from e
        rows = data.get("pairs") if isinstance(data, dict) else data
        if not isinstance(rows, list):
            raise ValueError(f"{path}: {type(data).__name__}; rule: a list of pairs or {{\"pairs\": [...]}}")
        return make_pairs(rows)
    raise ValueError(f"{path}: suffix {path.suffix!r}; rule: .csv or .json")


def _report_rate(folder: Path) -> tuple[str, str, float]:
    p = Path(folder) / "report.json" if Path(folder).is_dir() else Path(folder)
    try:
        r = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{p}: not a readable report.json ({type(e).__name__}: {e})") from e
    if not isinstance(r, dict) or "success_rate" not in r:
        raise ValueError(f"{p}: no success_rate; rule: a vlgsim eval or real-run report.json")
    return (str(r.get("policy") or ""), str(r.get("env_id") or r.get("task") or ""),
            _rate(r["success_rate"], f"{p} success_rate"))


def pairs_from_reports(runs: Sequence[tuple[Path, Path]]) -> list[PairedResult]:
    """(sim run folder, real run folder) per policy and task -> pairs. The policy and task come
    from the sim report; the real report must name the same policy when it names one."""
    rows = []
    for sim_dir, real_dir in runs:
        policy, task, s = _report_rate(sim_dir)
        r_policy, _, r = _report_rate(real_dir)
        if r_policy and policy and r_policy != policy:
            raise ValueError(f"sim run {sim_dir} is policy {policy!r} but real run {real_dir} is {r_policy!r}; "
                             f"rule: a pair compares one policy")
        rows.append(dict(policy=policy or Path(sim_dir).name, task=task or "task", sim_success=s, real_success=r))
    return make_pairs(rows)


def _agreement(task: str, pairs: list[PairedResult]) -> Agreement:
    n = len(pairs)
    if n < 2:
        return Agreement(task, n, None, None, "fewer than 2 policies: no ranking to compare")
    s = [p.sim_success for p in pairs]
    r = [p.real_success for p in pairs]
    return Agreement(task, n, pearson_correlation(s, r), mean_maximum_rank_violation(s, r))


def compare(pairs: Sequence[PairedResult]) -> SimRealComparison:
    """Per-task agreement (policies of each task), their means, and all pairs pooled."""
    pairs = list(pairs)
    tasks = list(dict.fromkeys(p.task for p in pairs))
    per_task = [_agreement(t, [p for p in pairs if p.task == t]) for t in tasks]
    ok = [a for a in per_task if a.pearson_r is not None]
    return SimRealComparison(
        pairs, per_task, _agreement(ALL_TASKS, pairs),
        float(np.mean([a.pearson_r for a in ok])) if ok else None,
        float(np.mean([a.mmrv for a in ok])) if ok else None)


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"


def write_comparison(comp: SimRealComparison, out_dir: Path) -> tuple[Path, Path, Path]:
    """``report.json``, ``report.md`` (table, per-task r and MMRV) and ``scatter.png``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = dict(metric_source="SimplerEnv simpler_env/utils/metrics.py (pearson_correlation, "
                                "mean_maximum_rank_violation), arguments (sim, real)",
                  pairs=[asdict(p) for p in comp.pairs], per_task=[asdict(a) for a in comp.per_task],
                  pooled=asdict(comp.pooled), mean_pearson_r=comp.mean_pearson_r, mean_mmrv=comp.mean_mmrv)
    jp = out_dir / "report.json"
    tmp = jp.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(report, indent=1))
    os.replace(tmp, jp)
    png = out_dir / "scatter.png"
    _scatter(comp, png)
    lines = ["# Sim vs real", "",
             "Pearson r and MMRV as SimplerEnv defines them (`simpler_env/utils/metrics.py`); per task over its "
             "policies, higher r and lower MMRV mean the simulator ranks policies as the real robot does.", "",
             f"- mean over tasks: **Pearson r {_fmt(comp.mean_pearson_r)}, MMRV {_fmt(comp.mean_mmrv)}**",
             f"- all {len(comp.pairs)} pairs pooled: Pearson r {_fmt(comp.pooled.pearson_r)}, "
             f"MMRV {_fmt(comp.pooled.mmrv)}", "",
             "| task | policies | Pearson r | MMRV | note |", "|---|---|---|---|---|",
             *[f"| {a.task} | {a.n_policies} | {_fmt(a.pearson_r)} | {_fmt(a.mmrv)} | {a.note} |"
               for a in comp.per_task],
             "", "| policy | task | sim success | real success |", "|---|---|---|---|",
             *[f"| {p.policy} | {p.task} | {p.sim_success:.3f} | {p.real_success:.3f} |" for p in comp.pairs],
             "", f"![sim vs real]({png.name})", ""]
    mp = out_dir / "report.md"
    mp.write_text("\n".join(lines))
    return jp, mp, png


def _scatter(comp: SimRealComparison, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5))
    for task in dict.fromkeys(p.task for p in comp.pairs):
        pts = [p for p in comp.pairs if p.task == task]
        ax.scatter([p.sim_success for p in pts], [p.real_success for p in pts], label=task)
        for p in pts:
            ax.annotate(p.policy, (p.sim_success, p.real_success), fontsize=7, xytext=(3, 3),
                        textcoords="offset points")
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--")
    ax.set(xlim=(-0.02, 1.02), ylim=(-0.02, 1.02), xlabel="sim success", ylabel="real success",
           title=f"r = {_fmt(comp.mean_pearson_r)}, MMRV = {_fmt(comp.mean_mmrv)} (mean over tasks)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
