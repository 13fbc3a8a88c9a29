"""End to end: the `vlgsim eval` command with worker processes, on real physics."""

import json

import imageio.v2 as imageio
import pytest
from typer.testing import CliRunner

from vlgsim.cli import app
from vlgsim.sim_eval.rollout import EvalJob, evaluate

pytestmark = pytest.mark.sim


def test_two_workers_give_the_rows_one_worker_gives():
    job = EvalJob("RealVLG-Grasp-v0", "random", {})
    seeds = [40, 41, 42, 43]
    one = evaluate(job, seeds, workers=1)
    two = evaluate(job, seeds, workers=2)
    key = lambda r: (r.episode, r.seed, r.instruction, r.action, r.success, r.failure_mode, r.reward)  # noqa: E731
    assert [key(r) for r in one] == [key(r) for r in two]
    assert len({r.instruction for r in one}) > 1


def test_eval_cli_writes_report_and_video(tmp_path):
    out = tmp_path / "run"
    res = CliRunner().invoke(app, ["eval", "--env", "RealVLG-Grasp-v0", "--policy", "oracle", "--episodes", "3",
                                   "--workers", "1", "--seed", "0", "--out", str(out), "--video-episodes", "1"])
    assert res.exit_code == 0, res.output
    rep = json.loads((out / "report.json").read_text())
    assert rep["n_episodes"] == 3 and rep["successes"] == 3 and rep["failure_modes"]["none"] == 3
    lo, hi = rep["success_ci95"]
    assert 0.3 < lo < 1.0 and hi == 1.0
    row = rep["episodes"][0]
    assert row["seed"] == 0 and row["instruction"] and len(row["action"]) == 4 and row["failure_mode"] == "none"
    assert (out / "report.md").read_text().startswith("# RealVLG-Grasp-v0")
    assert len((out / "episodes.jsonl").read_text().splitlines()) == 3
    frames = imageio.mimread(out / rep["videos"][0])
    assert len(frames) > 10 and frames[0].shape == (240, 320, 3)


def test_unknown_policy_is_reported_not_crashed(tmp_path):
    res = CliRunner().invoke(app, ["eval", "--policy", "telepathy", "--episodes", "1", "--out", str(tmp_path)])
    assert res.exit_code != 0 and "unknown policy 'telepathy'" in str(res.exception or res.output)


def test_rerun_resumes_and_other_settings_keep_old_results(tmp_path):
    out = tmp_path / "run"
    args = ["eval", "--policy", "random", "--seed", "7", "--out", str(out), "--video-episodes", "0"]
    assert CliRunner().invoke(app, args + ["--episodes", "2"]).exit_code == 0
    first = (out / "episodes.jsonl").read_text().splitlines()
    res = CliRunner().invoke(app, args + ["--episodes", "3"])
    assert res.exit_code == 0 and "resuming: 2 of 3" in res.output
    lines = (out / "episodes.jsonl").read_text().splitlines()
    assert lines[:2] == first and len(lines) == 3
    assert json.loads((out / "report.json").read_text())["n_episodes"] == 3
    res = CliRunner().invoke(app, ["eval", "--policy", "random", "--seed", "8", "--out", str(out),
                                   "--video-episodes", "0", "--episodes", "1"])
    assert res.exit_code == 0 and len(list(out.glob("episodes.*.jsonl"))) == 1  # old log kept aside


def test_a_dying_worker_is_recorded_and_the_evaluation_finishes():
    # an env that cannot be built kills every worker at start: no hang, one error row per episode
    job = EvalJob("RealVLG-Grasp-v0", "oracle", {"obs_mode": "telepathic"})
    results = evaluate(job, [0, 1], workers=2)
    assert [r.episode for r in results] == [0, 1]
    assert all(r.failure_mode == "error" and "worker process died" in r.error for r in results)
