"""stable-baselines3 training on the closed-loop task (real physics), and sb3:PATH policies."""

import csv
import json

import gymnasium as gym
import numpy as np
import pytest

from vlgsim.envs.wrappers import TargetState
from vlgsim.sim_eval.rollout import EvalJob, evaluate
from vlgsim.training.sb3 import SB3Config, train_sb3

pytestmark = pytest.mark.sim


def test_short_ppo_run_logs_checkpoints_resumes_and_evaluates(tmp_path):
    cfg = SB3Config(total_steps=256, n_envs=1, max_episode_steps=32, checkpoint_steps=128,
                    ppo_kwargs=dict(n_steps=128, batch_size=64, n_epochs=2))
    train_sb3(cfg, tmp_path, progress_bar=False)
    rows = list(csv.DictReader(open(tmp_path / "episodes.csv")))
    assert len(rows) == 8 and all(int(r["length"]) == 32 for r in rows)
    assert len((tmp_path / "log.jsonl").read_text().splitlines()) == 8
    assert list((tmp_path / "sb3").glob("events.out.tfevents.*")) and (tmp_path / "sb3" / "progress.csv").exists()
    train_sb3(SB3Config(**{**cfg.__dict__, "total_steps": 384}), tmp_path, progress_bar=False, resume=True)
    meta = json.loads((tmp_path / "train.json").read_text())
    assert meta["resumed_at"] == 256 and meta["num_timesteps"] == 384
    rows = list(csv.DictReader(open(tmp_path / "episodes.csv")))
    assert len(rows) == 12 and [int(r["step"]) for r in rows] == sorted(int(r["step"]) for r in rows)
    assert (tmp_path / "curve.png").stat().st_size > 5000
    job = EvalJob("RealVLG-Grasp-v0", f"sb3:{tmp_path}",
                  {"obs_mode": "state", "control_mode": "pd_ee_delta_pose", "n_objects": [1, 1]}, max_steps=10)
    res = evaluate(job, [0])
    assert res[0].failure_mode != "error" and res[0].steps == 10 and len(res[0].action) == 7, res[0].error


def test_target_state_wrapper_and_dense_reward_grow_as_the_gripper_nears_the_target():
    env = TargetState(gym.make("RealVLG-Grasp-v0", obs_mode="state", control_mode="pd_ee_delta_pose",
                               n_objects=[3, 3], reward_mode="normalized_dense"))
    obs, _ = env.reset(seed=3)
    assert env.observation_space.contains(obs)
    rewards, dists = [], []
    for _ in range(6):  # move the TCP straight at the instructed object
        a = np.zeros(7, np.float32)
        a[:3] = np.clip(obs[25:28] / 0.1, -1, 1)
        a[6] = 1
        obs, r, *_ = env.step(a)
        rewards.append(r)
        dists.append(np.linalg.norm(obs[25:28]))
    assert dists[-1] < dists[0] and rewards[-1] > rewards[0]
    env.close()


def test_bad_algo_obs_and_missing_model_are_named():
    with pytest.raises(ValueError, match="algo 'dqn'"):
        train_sb3(SB3Config(algo="dqn"), "/tmp/unused-vlgsim")
    with pytest.raises(ValueError, match="obs 'pixels'"):
        train_sb3(SB3Config(obs="pixels"), "/tmp/unused-vlgsim")
    from vlgsim.policies import make_policy

    with pytest.raises(FileNotFoundError, match="sb3:PATH"):
        make_policy("sb3:/no/such/model", env=None)
