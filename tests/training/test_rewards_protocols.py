"""Reward protocols and mask rewards; the VLG wrapper and GRPO prompts under ``realvlg-r1``."""

import json

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from vlgsim.language.realvlg_r1 import PROMPTS, format_reward
from vlgsim.policies.vlg import prompt_for, read_answer
from vlgsim.training.grpo import GRPORunConfig, oracle_answer
from vlgsim.training.rewards import make_reward_func, score_completion


def _rle(mask):
    r = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": list(r["size"]), "counts": r["counts"].decode()}


GT = np.zeros((30, 40), bool)
GT[5:20, 10:30] = True  # 15 x 20 px


def test_mask_reward_reads_rle_and_polygon_answers():
    sol = json.dumps(_rle(GT))
    f = make_reward_func("mask", use_format=False)
    half = GT.copy()
    half[:, 20:] = False  # half of the mask
    poly = [[10, 5, 30, 5, 30, 20, 10, 20]]  # the same box as a COCO polygon (pixel corners)
    answers = [json.dumps(_rle(GT)), f"<think>x</think><answer>{json.dumps(_rle(half))}</answer>",
               json.dumps(poly), json.dumps({"polygon": poly}), "a mask", json.dumps({"size": [3, 3], "counts": "0"}),
               json.dumps({"size": [30, 40], "counts": "zzzz"}), json.dumps({"size": [30, 40], "counts": [1, 2]})]
    r = f(completions=answers, solution=[sol] * len(answers))
    assert r[0] == 1.0 and r[1] == pytest.approx(0.5) and r[2] > 0.9 and r[3] == r[2]
    assert r[4:] == [0.0] * 4
    b = score_completion(answers[6], "mask", sol)
    assert not b.parsed_ok and "alphabet" in b.failure_reason
    assert "sum to 3" in score_completion(answers[7], "mask", sol).failure_reason


def test_mask_under_realvlg_r1_says_what_is_supported():
    with pytest.raises(ValueError, match="SAM2"):
        make_reward_func("mask", protocol="realvlg-r1")
    with pytest.raises(ValueError, match="protocol"):
        make_reward_func("bbox", protocol="paper")


def test_realvlg_r1_rewards_grade_their_own_format():
    gt_box = [10.0, 20.0, 50.0, 60.0]
    f = make_reward_func("bbox", protocol="realvlg-r1")
    theirs = "<think>the mug</think>\n<answer>(10,20),(50,60)</answer>"
    ours = '<think>the mug</think><answer>{"bbox_2d": [10, 20, 50, 60]}</answer>'
    assert f(completions=[theirs, ours], solution=[json.dumps(gt_box)] * 2) == [pytest.approx(1.0), pytest.approx(0.0)]
    g = make_reward_func("bbox")  # vlgsim reads both, and its format rule ignores the numbers
    assert g(completions=[theirs, ours], solution=[json.dumps(gt_box)] * 2) == [pytest.approx(1.0)] * 2
    # grasp: raw pixels and theta in image axes; a mirrored theta loses accuracy under realvlg-r1 only
    rect = [[100.0, 80.0, 30.0, 60.0, 20.0]]
    right, mirrored = "<think>a</think><answer>(100, 80, -30, 60)</answer>", \
        "<think>a</think><answer>(100, 80, 30, 60)</answer>"
    r1 = [score_completion(t, "grasp", json.dumps(rect), [640, 480], protocol="realvlg-r1") for t in (right, mirrored)]
    assert r1[0].accuracy == pytest.approx(1.0) and r1[1].accuracy < 0.7 and r1[0].format == 1.0
    v = [score_completion(t, "grasp", json.dumps(rect), [640, 480]) for t in (right, mirrored)]
    assert v[1].accuracy == pytest.approx(1.0) and v[0].accuracy < v[1].accuracy


def test_vlg_wrapper_speaks_realvlg_r1():
    p = prompt_for("grasp", " Grasp the mug. ", protocol="realvlg-r1")
    assert p == PROMPTS["grasp"].format(instruction="Grasp the mug.") and "(x, y, theta, width)" in p
    v, why = read_answer("<think>a</think><answer>(100, 80, -30, 60)</answer>", "grasp", "realvlg-r1")
    assert why == "" and v.tolist() == [100, 80, 30, 60]  # image-axes theta negated into vlgsim's
    assert read_answer("(100, 80, -30, 60)", "grasp")[0].tolist() == [100, 80, -30, 60]
    v, _ = read_answer("<answer>(50,60),(10,20)</answer>", "bbox", "realvlg-r1")
    assert v.tolist() == [10, 20, 50, 60]
    assert read_answer("(1e155, 2, 3, 4)", "grasp", "realvlg-r1")[0] is None
    assert read_answer("(1, 2, 3, 0)", "grasp", "realvlg-r1")[0] is None
    assert read_answer('{"bbox_2d": [1, 2, 3, 4]}', "contact", "realvlg-r1")[0] is None  # needs (x1,y1),(x2,y2)


@pytest.mark.parametrize("task,solution", [("bbox", [10.4, 20, 50, 60.6]), ("grasp", [[100, 80, 30, 60, 20]]),
                                           ("contact", [[70, 80, 130, 80]])])
def test_grpo_ground_truth_answers_earn_full_realvlg_r1_reward(task, solution):
    text = oracle_answer(task, json.dumps(solution), protocol="realvlg-r1")
    assert format_reward(text, task) == 1.0
    b = score_completion(text, task, json.dumps(solution), [640, 480], protocol="realvlg-r1")
    assert b.reward > 0.95 and b.parsed_ok
    with pytest.raises(ValueError, match="protocol"):
        GRPORunConfig(protocol="realvlg-r1-faithful-ish")
