"""``vlgsim eval --suite bimanual``: every Bimanual-* task on one split, one report with
success, steerability score, factor compliance and violation rate per task and per
instructed factor value (FineVLA Table 5 style).

Each task's episodes go to ``OUT/<env_id>/episodes.jsonl`` as they finish (a rerun with
the same settings skips them), then ``OUT/report.json`` and ``OUT/report.md``.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from vlgsim.sim_eval.report import EpisodeLog, read_episode_log, wilson_interval
from vlgsim.sim_eval.rollout import EpisodeResult, EvalJob, evaluate
from vlgsim.workers import Backend


@dataclass
class SuiteRow:
    task: str
    factor: str
    variant: str
    """Instructed factor value ('all' for the task's total row)."""
    n: int
    success_rate: float
    success_ci95: tuple[float, float]
    mean_score_0_100: float
    factor_compliance: float
    violation_rate: float
    errors: int


def variant_of(task_cls, seed: int, fixed: Optional[str]) -> str:
    """The instructed variant of an episode seed (tasks alternate variants with the seed)."""
    return fixed if fixed is not None else task_cls.variants[seed % len(task_cls.variants)]


def summarize_rows(task: str, factor: str, results: list[EpisodeResult], variants: list[str]) -> list[SuiteRow]:
    rows = []
    groups = [("all", results)] + ([(v, [r for r, rv in zip(results, variants) if rv == v]) for v in sorted(set(variants))]
                                   if factor else [])
    for name, rs in groups:
        n = len(rs)
        m = lambda k: float(np.mean([r.extra.get("metrics", {}).get(k, 0.0) for r in rs])) if n else 0.0  # noqa: E731
        k = sum(r.success for r in rs)
        rows.append(SuiteRow(task, factor, name, n, k / n if n else 0.0, wilson_interval(k, n), m("score_0_100"),
                             m("factor_compliant"), m("violation"), sum(r.failure_mode == "error" for r in rs)))
    return rows


def run_suite(policy: str, split: str, episodes: int, seed: int, out: Path, workers: int = 1,
              env_kwargs: Optional[dict] = None, tasks: Optional[list[str]] = None,
              on_result: Optional[Callable[[str, EpisodeResult], None]] = None,
              backend: Optional[Backend] = None) -> dict:
    """Every task's episodes (``backend``: default ``workers`` local processes, or Ray), logged
    per task as they finish; then the suite report."""
    from vlgsim.envs.bimanual import BIMANUAL_TASKS

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    env_kwargs = dict(env_kwargs or {})
    rows: list[SuiteRow] = []
    per_task = {}
    for env_id in tasks or sorted(BIMANUAL_TASKS):
        cls = BIMANUAL_TASKS[env_id]
        task_dir = out / env_id
        task_dir.mkdir(parents=True, exist_ok=True)
        meta = dict(env_id=env_id, policy=policy, split=split, seed=seed, env_kwargs=env_kwargs)
        meta_path, log_path = task_dir / "run.json", task_dir / "episodes.jsonl"
        previous = read_episode_log(log_path) if meta_path.exists() and json.loads(meta_path.read_text()) == meta else []
        if not previous and log_path.exists():
            os.replace(log_path, log_path.with_suffix(".old.jsonl"))
        previous = [r for r in previous if r.episode < episodes]
        meta_path.write_text(json.dumps(meta))
        log = EpisodeLog(log_path)
        seeds = [seed + i for i in range(episodes)]

        def _on(r, frames, env_id=env_id):
            log.write(r)
            if on_result:
                on_result(env_id, r)

        fresh = evaluate(EvalJob(env_id, policy, dict(env_kwargs, split=split)), seeds, workers=workers,
                         on_result=_on, skip=frozenset(r.episode for r in previous), backend=backend)
        log.close()
        results = sorted(previous + fresh, key=lambda r: r.episode)
        variants = [variant_of(cls, r.seed, env_kwargs.get("variant")) for r in results]
        task_rows = summarize_rows(env_id, cls.factor, results, variants)
        rows += task_rows
        per_task[env_id] = [r.to_json() for r in results]
    report = dict(suite="bimanual", policy=policy, split=split, seed=seed, episodes_per_task=episodes,
                  env_kwargs=env_kwargs, rows=[asdict(r) for r in rows],
                  mean_success=float(np.mean([r.success_rate for r in rows if r.variant == "all"])),
                  mean_score_0_100=float(np.mean([r.mean_score_0_100 for r in rows if r.variant == "all"])),
                  episodes=per_task)
    tmp = out / ".report.json.tmp"
    tmp.write_text(json.dumps(report, indent=1))
    os.replace(tmp, out / "report.json")
    (out / "report.md").write_text(suite_markdown(report))
    return report


def suite_markdown(report: dict) -> str:
    lines = [f"# Bimanual suite, split `{report['split']}`, policy `{report['policy']}`", "",
             f"{report['episodes_per_task']} episodes per task (seeds {report['seed']}..); mean success "
             f"{100 * report['mean_success']:.1f} %, mean score {report['mean_score_0_100']:.1f}/100.", "",
             "| task | factor | instructed | n | success % (95 % CI) | score /100 | compliance % | violations % | errors |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in report["rows"]:
        lo, hi = r["success_ci95"]
        lines.append(f"| {r['task']} | {r['factor'] or '-'} | {r['variant']} | {r['n']} | {100 * r['success_rate']:.0f} "
                     f"({100 * lo:.0f}-{100 * hi:.0f}) | {r['mean_score_0_100']:.1f} | {100 * r['factor_compliance']:.0f} "
                     f"| {100 * r['violation_rate']:.0f} | {r['errors']} |")
    return "\n".join(lines) + "\n"
