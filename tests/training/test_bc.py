"""Scripted expert -> demos -> behaviour cloning -> bc:PATH policy, on real physics."""

import numpy as np
import pytest

from vlgsim.policies import make_policy
from vlgsim.sim_eval.rollout import EvalJob, evaluate
from vlgsim.training.bc import BCConfig, _chunks, collect_demos, embed_instruction, train_bc

pytestmark = pytest.mark.sim
STATE_TASK = {"obs_mode": "state", "control_mode": "pd_ee_delta_pose", "n_objects": [1, 1]}


def test_scripted_expert_grasps_in_closed_loop():
    res = evaluate(EvalJob("RealVLG-Grasp-v0", "scripted", STATE_TASK, max_steps=100), [0, 1, 2])
    assert sum(r.success for r in res) >= 2 and all(r.steps < 100 for r in res if r.success)


def test_demos_train_a_chunked_policy_that_runs(tmp_path):
    cfg = BCConfig(episodes=3, epochs=3, chunk=4)
    demos = collect_demos(cfg, tmp_path)
    assert demos["state"].shape[0] == demos["action"].shape[0] > 50 and demos["action"].shape[1] == 7
    assert np.all(np.abs(demos["action"]) <= 1.0)
    train_bc(cfg, tmp_path, demos)
    assert (tmp_path / "bc.pt").exists() and (tmp_path / "loss.png").exists()
    res = evaluate(EvalJob("RealVLG-Grasp-v0", f"bc:{tmp_path}", STATE_TASK, max_steps=12), [50])
    assert res[0].failure_mode != "error" and res[0].steps == 12, res[0].error
    p = make_policy(f"bc:{tmp_path}@2", env=None)
    p.reset("Grasp the mug.", {})
    assert p.act({"state": demos["state"][0]}).shape == (2, 7)


def test_chunks_repeat_the_last_action_at_episode_ends_and_text_embedding():
    demos = dict(state=np.zeros((5, 2), np.float32), action=np.arange(5, dtype=np.float32)[:, None].repeat(7, 1),
                 episode=np.array([0, 0, 0, 1, 1]), instruction=np.array(["grasp the mug", "lift the can"]))
    X, Y = _chunks(demos, 3)
    assert Y[:, :, 0].tolist() == [[0, 1, 2], [1, 2, 2], [2, 2, 2], [3, 4, 4], [4, 4, 4]]
    assert X.shape == (5, 2 + 64) and not np.array_equal(X[0, 2:], X[3, 2:])
    assert np.linalg.norm(embed_instruction("Grasp the MUG!")) == pytest.approx(1.0)
