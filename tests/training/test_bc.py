"""Scripted expert -> LeRobot demos -> action-chunking BC -> bc:PATH policy, on real physics."""

import json

import numpy as np
import pytest

from vlgsim.data.lerobot import LeRobotDataset
from vlgsim.envs.wrappers import target_of_state, target_state
from vlgsim.policies import make_policy
from vlgsim.policies.bc_policy import FEATURE_DIM, bc_features, embed_instruction
from vlgsim.sim_eval.rollout import EvalJob, evaluate
from vlgsim.training.bc import BCConfig, _chunks, collect_demos, load_demos, train_bc

pytestmark = pytest.mark.sim
STATE_TASK = {"obs_mode": "state", "control_mode": "pd_ee_delta_pose", "n_objects": [1, 1]}


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """Two expert episodes as a LeRobot dataset and a BC model trained on them for 4 epochs."""
    out = tmp_path_factory.mktemp("bc")
    cfg = BCConfig(episodes=2, epochs=4, chunk=4, hidden=64)
    root = collect_demos(cfg, out)
    train_bc(cfg, out)
    return cfg, out, root


def test_scripted_expert_grasps_in_closed_loop_with_one_and_several_objects():
    res = evaluate(EvalJob("RealVLG-Grasp-v0", "scripted", STATE_TASK, max_steps=100), [0, 1])
    many = evaluate(EvalJob("RealVLG-Grasp-v0", "scripted", STATE_TASK | {"n_objects": [3, 8]}, max_steps=100), [0])
    assert all(r.success for r in res + many), [(r.seed, r.failure_mode, r.error) for r in res + many]
    assert all(r.steps < 100 for r in res + many)


def test_demos_are_a_lerobot_dataset_that_trains_a_chunked_policy(demo_run):
    cfg, out, root = demo_run
    ds = LeRobotDataset(root)
    assert len(ds) == 2 and ds.info["fps"] == 20 and ds.features["action"]["shape"] == [7]
    ep = ds.episode(0)
    assert ep.task and ep.frames["observation.features"].shape == (len(ep), FEATURE_DIM)
    demos = load_demos(root)
    assert np.all(np.abs(demos["action"]) <= 1.0) and len(demos["action"]) > 50
    losses = [json.loads(line)["loss"] for line in open(out / "log.jsonl")]
    assert len(losses) == 4 and losses[-1] < losses[0]
    assert (out / "loss.png").exists() and list((out / "tb").glob("events.out.tfevents.*"))
    res = evaluate(EvalJob("RealVLG-Grasp-v0", f"bc:{out}", STATE_TASK, max_steps=12), [50])
    assert res[0].failure_mode != "error" and res[0].steps == 12, res[0].error


def test_resume_continues_from_the_checkpoint(demo_run):
    cfg, out, _ = demo_run
    before = [json.loads(line) for line in open(out / "log.jsonl")]
    train_bc(BCConfig(**{**cfg.__dict__, "epochs": 6}), out, resume=True)
    after = [json.loads(line) for line in open(out / "log.jsonl")]
    assert [r["epoch"] for r in after] == [1, 2, 3, 4, 5, 6] and after[:4] == before


def test_temporal_ensemble_and_open_loop_chunks(demo_run):
    _, out, root = demo_run
    demos = load_demos(root)
    info = {"grasp_world": np.array([[0.0, 0.0, 0.02, 0.3, 0.05]]), "n_grasps": 1}
    p = make_policy(f"bc:{out}", env=None)
    p.reset("Grasp the mug.", info)
    state = {"state": np.r_[demos["features"][0][:25], np.zeros(7), 1.0, 0.0].astype(np.float32)}
    first = p.act(state)
    chunk0 = p.predict_chunk(state)
    assert first.shape == (7,) and np.allclose(first[:6], chunk0[0, :6], atol=1e-6)
    assert first[6] == (1.0 if chunk0[0, 6] >= 0 else -1.0)  # the gripper command is binary, as demonstrated
    second = p.act(state)  # ensemble of row 1 of the first chunk and row 0 of the second, oldest weighted more
    w = np.exp(-0.01 * np.arange(2))
    assert np.allclose(second[:6], ((w[0] * chunk0[1] + w[1] * chunk0[0]) / w.sum())[:6], atol=1e-5)
    q = make_policy(f"bc:{out}@2", env=None)
    q.reset("Grasp the mug.", info)
    chunk = q.act(state)
    assert chunk.shape == (2, 7) and set(np.unique(chunk[:, 6])) <= {-1.0, 1.0}


def test_features_name_bad_states_and_depend_on_target_and_instruction():
    robot = np.zeros(25)
    robot[18:25] = [0.1, 0.0, 0.3, 0, 1, 0, 0]
    poses = np.zeros((3, 7))
    poses[:, :3] = [[0.2, 0.0, 0.0], [-0.1, 0.1, 0.0], [0.0, -0.2, 0.0]]
    s1 = np.r_[robot, poses.ravel(), [1, 0, 0], 0.0]
    s2 = np.r_[robot, poses.ravel(), [0, 0, 1], 0.0]
    assert np.allclose(target_of_state(s2)[0], [0.0, -0.2, 0.0]) and target_state(s1).shape == (29,)
    g, t = np.array([0.2, 0.0, 0.02, 0.0, 0.05]), embed_instruction("the red mug")
    assert not np.allclose(bc_features(s1, g, t), bc_features(s2, g, t))
    assert not np.allclose(bc_features(s1, g, t), bc_features(s1, g, embed_instruction("the blue can")))
    with pytest.raises(ValueError, match="length 30"):
        target_of_state(np.zeros(30))
    with pytest.raises(ValueError, match="finite"):
        target_state(np.r_[s1[:-1], np.nan])


def test_chunks_repeat_the_last_action_at_episode_ends():
    demos = dict(features=np.zeros((5, 2), np.float32), action=np.arange(5, dtype=np.float32)[:, None].repeat(7, 1),
                 episode=np.array([0, 0, 0, 1, 1]))
    X, Y = _chunks(demos, 3)
    assert Y[:, :, 0].tolist() == [[0, 1, 2], [1, 2, 2], [2, 2, 2], [3, 4, 4], [4, 4, 4]]
    assert X.shape == (5, 2) and np.linalg.norm(embed_instruction("Grasp the MUG!")) == pytest.approx(1.0)
