import json

import pytest

from vlgsim.sim_eval.report import EpisodeLog, summarize, wilson_interval, write_report
from vlgsim.sim_eval.rollout import EpisodeResult


def test_wilson_interval_hand_values():
    lo, hi = wilson_interval(95, 100)
    assert lo == pytest.approx(0.8882, abs=1e-3) and hi == pytest.approx(0.9785, abs=1e-3)
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == 1.0
    assert wilson_interval(0, 0) == (0.0, 1.0)


def _r(i, ok, mode):
    return EpisodeResult(i, 100 + i, f"Grasp the mug {i}.", ok, mode, float(ok), 1, [1.0, 2.0, 0.0, 30.0])


def test_report_counts_modes_and_log_survives_partial_runs(tmp_path):
    results = [_r(0, True, "none"), _r(1, False, "missed"), _r(2, False, "invalid_action")]
    log = EpisodeLog(tmp_path / "episodes.jsonl")
    for r in results[:2]:
        log.write(r)
    # a crash here would leave two complete, parseable lines
    lines = (tmp_path / "episodes.jsonl").read_text().splitlines()
    assert [json.loads(x)["seed"] for x in lines] == [100, 101]
    log.close()
    s = summarize(results)
    assert s.successes == 1 and s.failure_modes["missed"] == 1 and s.failure_modes["invalid_action"] == 1
    jp, mp = write_report(tmp_path, dict(env_id="E", policy="p", seed=100, workers=1), results, [])
    rep = json.loads(jp.read_text())
    assert rep["success_rate"] == pytest.approx(1 / 3) and len(rep["episodes"]) == 3
    assert rep["episodes"][1]["instruction"] == "Grasp the mug 1." and "| missed | 1 |" in mp.read_text()


def test_a_torn_last_line_is_skipped(tmp_path):
    from vlgsim.sim_eval.report import read_episode_log

    log = EpisodeLog(tmp_path / "e.jsonl")
    log.write(_r(0, True, "none"))
    log.close()
    with open(tmp_path / "e.jsonl", "a") as f:
        f.write('{"episode": 1, "seed": 10')  # killed mid-write
    assert [r.episode for r in read_episode_log(tmp_path / "e.jsonl")] == [0]
