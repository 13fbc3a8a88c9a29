"""VLG policies: a tiny random Qwen2-VL built from a config, saved, and loaded the way a real
checkpoint is (transformers), driven through the env and the evaluator."""

import numpy as np
import pytest

from vlgsim.policies import make_policy
from vlgsim.policies.vlg import VLGPolicy, make_tiny_qwen2vl, rescale_answer
from vlgsim.sim_eval.rollout import EvalJob, evaluate


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory):
    return make_tiny_qwen2vl(tmp_path_factory.mktemp("tiny-qwen2vl"))


def test_rescale_from_the_model_grid_to_the_image():
    assert rescale_answer("bbox", np.array([10, 20, 30, 40]), (112, 84), (224, 252)).tolist() == [0, 20, 60, 60, 120]
    assert rescale_answer("contact", np.array([10, 20, 30, 40]), (100, 100), (200, 100)).tolist() == [20, 20, 60, 40]
    g = rescale_answer("grasp", np.array([50, 50, 45, 20]), (100, 100), (200, 100))  # x stretched twice
    assert g[:2].tolist() == [100, 50] and g[2] == pytest.approx(np.rad2deg(np.arctan2(1, 2)))
    assert g[3] == pytest.approx(np.hypot(20 * np.cos(np.pi / 4) * 2, 20 * np.sin(np.pi / 4)))


def test_checkpoint_loads_and_generates_text(tiny_ckpt):
    p = VLGPolicy(tiny_ckpt, task="grasp", max_new_tokens=8)
    p.reset("Grasp the red mug.", {})
    text, (gw, gh) = p.generate_text(np.zeros((240, 320, 3), np.uint8))
    assert isinstance(text, str) and gw % 28 == 0 and gh % 28 == 0 and gw > gh
    with pytest.raises(FileNotFoundError, match="vlg:PATH"):
        VLGPolicy(tiny_ckpt / "nope")


def test_a_parsable_answer_becomes_the_rescaled_action(tiny_ckpt, monkeypatch):
    p = VLGPolicy(tiny_ckpt, task="grasp")
    p.reset("Grasp the mug.", {})
    monkeypatch.setattr(p, "generate_text", lambda image: ("<answer>(56, 42, 0, 28)</answer>", (112, 84)))
    a = p.act({"rgb": np.zeros((240, 320, 3), np.uint8)})
    assert a.tolist() == pytest.approx([160, 120, 0, 80]) and p.last_error == ""
    monkeypatch.setattr(p, "generate_text", lambda image: ("I would grab it gently", (112, 84)))
    assert np.isnan(p.act({"rgb": np.zeros((240, 320, 3), np.uint8)})).all() and "parse_failure" in p.last_error


@pytest.mark.sim
def test_tiny_model_runs_through_the_evaluator_without_crashing(tiny_ckpt):
    res = evaluate(EvalJob("RealVLG-Grasp-v0", f"vlg:{tiny_ckpt}", {}), [0, 1])
    assert all(r.failure_mode != "error" for r in res), [r.error for r in res]
    assert all(r.failure_mode == "parse_failure" or r.action is not None for r in res)
    assert all("model_text" in r.extra for r in res)


@pytest.mark.sim
def test_grounding_env_gets_box_answers(tiny_ckpt):
    import gymnasium as gym

    env = gym.make("vlgsim:RealVLG-Ground-v0", n_views=1)
    p = make_policy(f"vlg:{tiny_ckpt}", env)
    assert p.task == "bbox"
    env.close()


def test_realvlg_r1_protocol_prompts_parses_and_mirrors_theta(tiny_ckpt, monkeypatch):
    from vlgsim.language.realvlg_r1 import PROMPTS as R1_PROMPTS

    p = VLGPolicy(tiny_ckpt, task="grasp", protocol="realvlg-r1")
    p.reset("Grasp the mug.", {})
    seen = {}

    def fake(image):
        seen["text"] = p.tokenizer.decode(p._inputs(image)[0]["input_ids"][0])
        return "<think>mug</think>\n<answer>(56, 42, -30, 28)</answer>", (112, 84)

    monkeypatch.setattr(p, "generate_text", fake)
    a = p.act({"rgb": np.zeros((84, 112, 3), np.uint8)})
    assert R1_PROMPTS["grasp"].format(instruction="Grasp the mug.") in seen["text"]
    assert a.tolist() == pytest.approx([56, 42, 30, 28], abs=1e-4)  # image-axes -30 is 30 counter-clockwise
    with pytest.raises(ValueError, match="protocol"):
        VLGPolicy(tiny_ckpt, protocol="paper")
