"""GRPO / GSPO smoke runs with TRL's GRPOTrainer on a tiny Qwen2-VL (built from a config) and
rendered RealVLG prompts, scored by vlgsim's verifiable rewards."""

import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

from vlgsim.cli import app
from vlgsim.training.grpo import (
    GRPORunConfig,
    build_prompt_rows,
    grpo_config,
    load_processor,
    oracle_answer,
    read_log,
    train_grpo,
)
from vlgsim.training.rewards import make_reward_func

pytestmark = pytest.mark.sim
FAST = dict(steps=3, warm_start_steps=300, torch_threads=1)
GRPO_RISE_STEPS, GRPO_RISE_WARM, GRPO_RISE_MIN = 20, 600, 0.05


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    """A tiny random Qwen2-VL checkpoint and a 3-scene RealVLG dataset, shared by the module."""
    from vlgsim.data.realvlg import DatasetConfig, generate
    from vlgsim.policies.vlg import make_tiny_qwen2vl

    root = tmp_path_factory.mktemp("grpo")
    model = make_tiny_qwen2vl(root / "tiny")
    data = generate(DatasetConfig(n=3, seed=0, image_size=(160, 120), n_objects=(2, 4)), root / "data")
    return model, data


def test_prompts_carry_ground_truth_in_the_pixels_the_model_sees(assets):
    model, data = assets
    proc = load_processor(model)
    rows = build_prompt_rows(data, proc.image_processor)
    assert {r["task"] for r in rows} == {"bbox", "grasp", "contact"}
    reward = make_reward_func(None)
    for r in rows:
        w, h = r["image_size"]
        assert r["image"].size == (w, h) and w % 28 == 0 and h % 28 == 0
        assert "<think>" in r["prompt"][0]["content"] and r["prompt"][0]["role"] == "user"
    # the ground truth, written as the model should answer, earns (nearly) the full reward
    scores = reward(completions=[oracle_answer(r["task"], r["solution"]) for r in rows], task=[r["task"] for r in rows],
                    solution=[r["solution"] for r in rows], image_size=[r["image_size"] for r in rows])
    assert min(scores) > 0.75, scores
    # the processor TRL gets handles images without torchvision: image tokens match the grid
    enc = proc.apply_chat_template([[{"role": "user", "content": [{"type": "image", "image": rows[0]["image"]},
                                                                  {"type": "text", "text": "hi"}]}]],
                                   add_generation_prompt=True, tokenize=True, return_dict=True, return_tensors="pt")
    n_img = int((enc["input_ids"] == proc.image_token_id).sum())
    assert n_img == int(enc["image_grid_thw"].prod()) // 4 and enc["pixel_values"].shape[0] == n_img * 4


def test_gspo_config_sets_sequence_level_importance_sampling(tmp_path):
    gspo = grpo_config(GRPORunConfig(algo="gspo"), tmp_path)
    grpo = grpo_config(GRPORunConfig(algo="grpo"), tmp_path)
    assert gspo.importance_sampling_level == "sequence" and grpo.importance_sampling_level == "token"
    assert gspo.epsilon == pytest.approx(3e-4) and gspo.epsilon_high == pytest.approx(4e-4)
    assert gspo.use_cpu and not gspo.bf16 and not gspo.fp16 and gspo.logging_steps == 1
    with pytest.raises(ValueError, match="algo"):
        GRPORunConfig(algo="ppo")
    with pytest.raises(ValueError, match="tasks"):
        GRPORunConfig(tasks=("mask",))


def _check_run(out, steps):
    rows = read_log(out / "log.jsonl")
    assert [r["step"] for r in rows] == list(range(1, steps + 1))
    for r in rows:
        for k in ("reward", "reward_std", "rewards/realvlg_reward/mean", "rewards/accuracy/mean",
                  "rewards/format/mean", "loss", "difficulty_weight"):
            assert isinstance(r[k], float) and math.isfinite(r[k]), (k, r)
        assert 0.0 <= r["reward"] <= 1.0 and 1.0 <= r["difficulty_weight"] <= math.e + 1e-6
        assert r["reward"] == pytest.approx(r["rewards/realvlg_reward/mean"])  # components have weight 0
    # after the warm start the completions differ in reward, so the policy gradient is not zero
    assert any(r["reward_std"] > 0 and r["grad_norm"] > 0 for r in rows), rows
    comps = [json.loads(line) for line in (out / "completions.jsonl").read_text().splitlines()]
    assert len(comps) == steps * 4 and {c["step"] for c in comps} == set(range(1, steps + 1))
    assert (out / "reward.png").stat().st_size > 0


def _check_model_loads(path):
    from transformers import AutoModelForImageTextToText

    from vlgsim.policies.vlg import VLGPolicy

    assert AutoModelForImageTextToText.from_pretrained(path).config.model_type == "qwen2_vl"
    assert load_processor(path).image_processor.merge_size == 2
    policy = VLGPolicy(path, task="grasp", max_new_tokens=8)
    policy.reset("Grasp the mug.", {})
    assert policy.act({"rgb": np.zeros((120, 160, 3), np.uint8)}).shape == (4,)


def test_grpo_smoke_run_logs_per_step_reward_and_saves_the_model(assets, tmp_path):
    model, data = assets
    s = train_grpo(GRPORunConfig(algo="grpo", model=str(model), data=str(data), **FAST), tmp_path)
    assert s["importance_sampling_level"] == "token" and len(s["rewards"]) == FAST["steps"]
    _check_run(tmp_path, FAST["steps"])
    _check_model_loads(tmp_path / "model")


def test_gspo_smoke_run_from_the_cli(assets, tmp_path):
    model, data = assets
    res = CliRunner().invoke(app, ["train", "grpo", "--algo", "gspo", "--steps", str(FAST["steps"]), "--model",
                                   str(model), "--data", str(data), "--out", str(tmp_path), "--warm-start",
                                   str(FAST["warm_start_steps"]), "--threads", "1"])
    assert res.exit_code == 0, res.output
    assert "step 3: reward" in res.output and "sequence-level ratio" in res.output
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["importance_sampling_level"] == "sequence" and summary["algo"] == "gspo"
    _check_run(tmp_path, FAST["steps"])
    _check_model_loads(tmp_path / "model")


def test_format_tag_score_is_graded_and_full_only_for_the_exact_format():
    from vlgsim.language.answers import format_tag_score

    assert format_tag_score("<think>a</think><answer>[1, 2]</answer>") == pytest.approx(1.0)
    assert format_tag_score("<think>a</think><answer>[1, 2]") == pytest.approx(0.6)
    assert format_tag_score("<think><think>") == 0.0 and format_tag_score(None) == 0.0
    assert format_tag_score("x" * 100_000) == 0.0
    assert 0 < format_tag_score("<answer>1</answer> trailing <think>") < 1


def test_format_reward_run_writes_tensorboard_checkpoints_and_resumes(assets, tmp_path):
    model, data = assets
    base = dict(model=str(model), data=str(data), warm_start_steps=0, torch_threads=1, tasks=("bbox",),
                reward="format_tags", num_generations=2, max_completion_length=12, save_steps=1)
    train_grpo(GRPORunConfig(steps=2, **base), tmp_path)
    assert (tmp_path / "trainer" / "checkpoint-2").is_dir() and list((tmp_path / "tb").glob("events.out.tfevents.*"))
    s = train_grpo(GRPORunConfig(steps=3, resume=True, **base), tmp_path)
    rows = read_log(tmp_path / "log.jsonl")
    assert [r["step"] for r in rows] == [1, 2, 3] and s["resumed_from"].endswith("checkpoint-2")
    assert all(r["reward"] == pytest.approx(r["rewards/format_tags/mean"]) for r in rows)
    with pytest.raises(ValueError, match="reward 'length'"):
        GRPORunConfig(reward="length")


def test_format_reward_rises_from_a_partly_formatted_warm_start(assets, tmp_path):
    """The tiny fixed problem of scripts/grpo_format_seeds.py, shortened: a warm start where a quarter of the
    targets carry the think/answer format, then GRPO on the graded format reward raises it."""
    model, data = assets
    cfg = GRPORunConfig(model=str(model), data=str(data), tasks=("grasp",), warm_start_steps=GRPO_RISE_WARM,
                        warm_start_format_rate=0.25, reward="format_tags", difficulty=None, steps=GRPO_RISE_STEPS,
                        num_generations=16, max_completion_length=36, learning_rate=1e-3, torch_threads=1,
                        save_steps=GRPO_RISE_STEPS, extra=dict(lr_scheduler_type="constant"))
    s = train_grpo(cfg, tmp_path)
    tags = [r["format_tags"] for r in s["rewards"]]
    assert [r["reward"] for r in s["rewards"]] == pytest.approx(tags)  # the graded format is the one optimised
    assert 0.0 < np.mean(tags[:5]) < 0.5, tags  # the warm start leaves the format present but rare
    assert np.mean(tags[-5:]) > np.mean(tags[:5]) + GRPO_RISE_MIN, tags
    with pytest.raises(ValueError, match="warm_start_format_rate"):
        GRPORunConfig(warm_start_format_rate=1.5)
    with pytest.raises(ValueError, match="protocol"):
        GRPORunConfig(warm_start_format_rate=0.5, protocol="realvlg-r1")


def test_two_prompts_per_step_of_different_lengths_and_a_kl_term(assets, tmp_path):
    """Two prompts of different lengths per step (TRL left-pads them; Qwen2-VL's 3-D rope index must follow)
    with a KL term to the starting model, which is 0 at the first step (the policy is still that model)."""
    model, data = assets
    proc = load_processor(model)
    rows = build_prompt_rows(data, proc.image_processor, ("bbox", "grasp"))
    lengths = {r["task"]: len(proc.tokenizer(r["prompt"][0]["content"])["input_ids"]) for r in rows}
    assert lengths["bbox"] != lengths["grasp"], lengths  # so a mixed pair really is padded
    cfg = GRPORunConfig(model=str(model), data=str(data), tasks=("bbox", "grasp"), warm_start_steps=0, steps=2,
                        prompts_per_step=2, num_generations=2, max_completion_length=8, beta=0.04, difficulty=None,
                        torch_threads=1, save_steps=2)
    s = train_grpo(cfg, tmp_path)
    assert len(s["rewards"]) == 2 and s["config"]["beta"] == pytest.approx(0.04)
    comps = [json.loads(line) for line in (tmp_path / "completions.jsonl").read_text().splitlines()]
    for step in (1, 2):
        assert len({(c["sample"], c["task"]) for c in comps if c["step"] == step}) == 2  # two prompts x 2 generations
    log = read_log(tmp_path / "log.jsonl")
    assert log[0]["kl"] == pytest.approx(0.0, abs=1e-6) and all(math.isfinite(r["kl"]) and r["kl"] >= 0 for r in log)
    for bad in (-0.1, float("nan")):
        with pytest.raises(ValueError, match="beta"):
            GRPORunConfig(beta=bad)
