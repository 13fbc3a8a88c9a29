"""stable-baselines3 training on the closed-loop task (real physics), and sb3:PATH policies."""

import csv
import json

import gymnasium as gym
import numpy as np
import pytest

from vlgsim.envs.realvlg_grasp import GRASP_STATE_DIM
from vlgsim.envs.wrappers import TOPDOWN_QUAT, GraspStateTopDown, TargetState, topdown_action
from vlgsim.scenes import sample_tabletop_scene
from vlgsim.sim_eval.rollout import EvalJob, evaluate
from vlgsim.training.sb3 import SB3Config, evaluate_checkpoints, train_sb3

pytestmark = pytest.mark.sim


def test_short_ppo_run_logs_checkpoints_resumes_and_evaluates(tmp_path):
    cfg = SB3Config(total_steps=256, n_envs=1, max_episode_steps=32, checkpoint_steps=128,
                    ppo_kwargs=dict(n_steps=128, batch_size=64, n_epochs=2))
    train_sb3(cfg, tmp_path, progress_bar=False)
    rows = list(csv.DictReader(open(tmp_path / "episodes.csv")))
    assert len(rows) == 8 and all(int(r["length"]) == 32 for r in rows)
    assert len((tmp_path / "log.jsonl").read_text().splitlines()) == 8
    assert list((tmp_path / "sb3").glob("events.out.tfevents.*")) and (tmp_path / "sb3" / "progress.csv").exists()
    cfg2 = SB3Config(**{**cfg.__dict__, "total_steps": 384, "ppo_kwargs": {**cfg.ppo_kwargs, "learning_rate": 1e-4}})
    model = train_sb3(cfg2, tmp_path, progress_bar=False, resume=True)  # a second stage at a lower learning rate
    assert model.learning_rate == 1e-4 and model.lr_schedule(1.0) == 1e-4 and model.n_epochs == 2
    meta = json.loads((tmp_path / "train.json").read_text())
    assert meta["resumed_at"] == 256 and meta["num_timesteps"] == 384
    rows = list(csv.DictReader(open(tmp_path / "episodes.csv")))
    assert len(rows) == 12 and [int(r["step"]) for r in rows] == sorted(int(r["step"]) for r in rows)
    assert (tmp_path / "curve.png").stat().st_size > 5000
    assert (tmp_path / "vecnormalize.pkl").exists()
    ck = sorted((tmp_path / "checkpoints").iterdir(), key=lambda p: int(p.name))
    assert [p.name for p in ck] == ["128", "256", "384"] and all((p / "vecnormalize.pkl").exists() for p in ck)
    job = EvalJob("RealVLG-Grasp-v0", f"sb3:{ck[0]}",
                  {"obs_mode": "grasp_state", "control_mode": "pd_joint_pos", "n_objects": [1, 1]}, max_steps=10)
    res = evaluate(job, [0])
    assert res[0].failure_mode != "error" and res[0].steps == 10 and len(res[0].action) == 8, res[0].error
    lines = evaluate_checkpoints(tmp_path, episodes=1, max_steps=3)  # every checkpoint once, as trained
    assert [d["step"] for d in lines] == [128, 256, 384] and all(d["episodes"] == 1 for d in lines)
    assert all(sum(d["failure_modes"].values()) == 1 and "error" not in d["failure_modes"] for d in lines), lines
    assert evaluate_checkpoints(tmp_path, episodes=1, max_steps=3) == lines  # nothing re-run
    assert len((tmp_path / "heldout.jsonl").read_text().splitlines()) == 3
    job = EvalJob("RealVLG-Grasp-v0", f"sb3:{tmp_path}",  # an env with the wrong control is named
                  {"obs_mode": "grasp_state", "control_mode": "pd_ee_delta_pose", "n_objects": [1, 1]}, max_steps=10)
    with pytest.raises(ValueError, match="control_mode='pd_joint_pos'"):
        evaluate(job, [0])


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
    with pytest.raises(ValueError, match="control 'ik'"):
        train_sb3(SB3Config(control="ik"), "/tmp/unused-vlgsim")
    with pytest.raises(ValueError, match=r"PPO settings \['n_step'\]"):
        train_sb3(SB3Config(ppo_kwargs={"n_step": 10}), "/tmp/unused-vlgsim")
    from vlgsim.policies import make_policy

    with pytest.raises(FileNotFoundError, match="sb3:PATH"):
        make_policy("sb3:/no/such/model", env=None)


def _grasp_env(control_mode="pd_ee_delta_pose", yaw=False, **kw):
    return GraspStateTopDown(gym.make("RealVLG-Grasp-v0", obs_mode="grasp_state", control_mode=control_mode,
                                      n_objects=[1, 1], reach_point="center", ground_truth=False, **kw), yaw=yaw)


@pytest.mark.parametrize("control_mode", ["pd_ee_delta_pose", "pd_joint_pos"])
def test_grasp_state_topdown_task_reach_grasp_lift_stages_raise_the_reward(control_mode):
    """A scripted top-down grasp through the 4-D action (ManiSkill's IK, or one DLS Jacobian step to joint
    targets): the TCP keeps pointing down, the reward climbs through the stages (reach < grasped < lifted)
    and the grasp succeeds."""
    env = _grasp_env(control_mode, max_episode_steps=60)
    obs, info = env.reset(seed=100009)  # a block
    assert obs.shape == (GRASP_STATE_DIM,) and env.observation_space.contains(obs) and "bbox" not in info
    stage_r = {"far": None, "reach": None, "grasp": None, "lift": None}
    for k in range(60):
        rel, grasped = obs[26:29], obs[25] > 0.5
        a = np.array([0, 0, 0, 1.0])
        if not grasped and np.linalg.norm(rel[:2]) > 0.01 and k < 30:
            a[:2], a[2] = np.clip(rel[:2] / 0.1, -1, 1), np.clip((rel[2] + 0.1) / 0.1, -1, 1)
        elif not grasped and rel[2] < -0.005 and k < 30:
            a[:3] = np.clip(rel / 0.1, -1, 1)
        else:
            a[3], a[2] = -1, (1.0 if grasped else 0.0)
        obs, r, term, trunc, info = env.step(a)
        stage = "lift" if obs[-1] > 0.02 else "grasp" if obs[25] > 0.5 else "reach" if np.linalg.norm(obs[26:29]) < 0.03 else "far"
        stage_r[stage] = r if stage_r[stage] is None else max(stage_r[stage], r)
        if obs[20] < 0.55:  # still pointing down (above, joints at their limits, DLS tilts the TCP by ~0.2 rad)
            assert np.abs(np.abs(obs[21:25] @ TOPDOWN_QUAT) - 1) < 2e-3, obs[21:25]
        if term or trunc:
            break
    assert info["success"], stage_r
    assert stage_r["far"] < stage_r["reach"] < stage_r["grasp"] < stage_r["lift"] <= 1.0, stage_r
    env.close()


def test_topdown_action_names_bad_input():
    q = np.array([0.0, 0.96, 0.28, 0.0])  # turned about world z: the correction turns about z only
    a = topdown_action([0.5, 0, 0, 1], q)
    assert a.shape == (7,) and a[0] == 0.5 and a[6] == 1 and abs(a[5]) > 0 and np.allclose(a[3:5], 0, atol=1e-6)
    with pytest.raises(ValueError, match="4 finite numbers"):
        topdown_action([np.nan, 0, 0, 1], q)
    with pytest.raises(ValueError, match="shape"):
        topdown_action([0, 0, 1], q)
    with pytest.raises(ValueError, match="TCP quaternion"):
        topdown_action([0, 0, 0, 1], [0, 0, 0, 0])
    with pytest.raises(ValueError, match="reach_point 'top'"):
        gym.make("RealVLG-Grasp-v0", obs_mode="state", control_mode="pd_ee_delta_pose", reach_point="top")


def test_ppo_on_one_fixed_scene_learns_to_move_toward_the_object(tmp_path):
    """A thousand PPO steps on one fixed one-object scene with 4-step episodes (every state near the
    start, so the advantage is mostly the action's reach reward): the trained deterministic policy
    brings the TCP closer to the object and earns more than the untrained one."""
    scene = sample_tabletop_scene(100009, n_objects=(1, 1))
    T = 4
    cfg = SB3Config(total_steps=1024, n_envs=1, max_episode_steps=T, checkpoint_steps=100_000, normalize_obs=False,
                    normalize_reward=True,
                    env_kwargs={"n_objects": [1, 1], "scene": scene},
                    ppo_kwargs=dict(n_steps=256, batch_size=64, n_epochs=10, gamma=0.8, gae_lambda=0.9,
                                    learning_rate=1e-3, policy_kwargs=dict(net_arch=[64, 64], log_std_init=-0.5)))
    from vlgsim.policies.sb3_policy import SB3Policy

    env = gym.make("RealVLG-Grasp-v0", obs_mode="grasp_state", control_mode="pd_joint_pos", scene=scene,
                   n_objects=[1, 1], reach_point="center", ground_truth=False, max_episode_steps=T)

    def rollout(policy):
        obs, _ = env.reset(seed=0)
        total = 0.0
        for _ in range(T):
            obs, r, *_ = env.step(policy.act(obs))
            total += r
        return total, float(np.linalg.norm(obs["grasp_state"][26:29]))

    train_sb3(SB3Config(**{**cfg.__dict__, "total_steps": 0}), tmp_path / "before", progress_bar=False)  # untrained
    train_sb3(cfg, tmp_path / "after", progress_bar=False)
    (r0, d0), (r1, d1) = rollout(SB3Policy(tmp_path / "before", env=env)), rollout(SB3Policy(tmp_path / "after", env=env))
    env.close()
    assert d1 < d0 - 0.05 and r1 > r0, (d0, d1, r0, r1)


from hypothesis import given, settings, strategies as st  # noqa: E402

_floats = st.floats(allow_nan=True, allow_infinity=True, width=32)


@settings(max_examples=200, deadline=None)
@given(st.lists(_floats, min_size=4, max_size=4), st.lists(st.floats(-1, 1), min_size=4, max_size=4))
def test_topdown_action_is_bounded_or_names_the_rule(action, quat):
    """Any 4 numbers and any orientation: a 7-D action inside [-1, 1] with the rotation part of norm <= 1,
    or (non-finite / zero quaternion) a ValueError naming the rule."""
    try:
        a = topdown_action(action, quat)
    except ValueError as e:
        assert "rule:" in str(e)
        assert not np.all(np.isfinite(action)) or np.linalg.norm(quat) < 1e-6
        return
    assert a.shape == (7,) and np.all(np.abs(a) <= 1) and np.linalg.norm(a[3:6]) <= 1 + 1e-6
