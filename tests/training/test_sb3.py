"""stable-baselines3 training on the closed-loop task (real physics), and sb3:PATH policies."""

import csv

import pytest

from vlgsim.sim_eval.rollout import EvalJob, evaluate
from vlgsim.training.sb3 import SB3Config, train_sb3

pytestmark = pytest.mark.sim


def test_short_ppo_run_saves_a_model_log_and_curve_that_evaluates(tmp_path):
    cfg = SB3Config(total_steps=600, n_envs=1, max_episode_steps=50)
    train_sb3(cfg, tmp_path, progress_bar=False)
    rows = list(csv.DictReader(open(tmp_path / "episodes.csv")))
    assert len(rows) >= 10 and all(int(r["length"]) == 50 for r in rows)
    assert (tmp_path / "curve.png").stat().st_size > 5000 and (tmp_path / "model.zip").exists()
    job = EvalJob("RealVLG-Grasp-v0", f"sb3:{tmp_path}",
                  {"obs_mode": "state", "control_mode": "pd_ee_delta_pose", "n_objects": [1, 1]}, max_steps=20)
    res = evaluate(job, [0, 1])
    assert [r.failure_mode for r in res] != ["error", "error"] and all(r.steps == 20 for r in res)
    assert all(len(r.action) == 7 for r in res)


def test_bad_algo_and_missing_model_are_named():
    with pytest.raises(ValueError, match="algo 'dqn'"):
        train_sb3(SB3Config(algo="dqn"), "/tmp/unused-vlgsim")
    from vlgsim.policies import make_policy

    with pytest.raises(FileNotFoundError, match="sb3:PATH"):
        make_policy("sb3:/no/such/model", env=None)
