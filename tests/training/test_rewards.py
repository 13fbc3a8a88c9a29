import json
import math

import numpy as np
import pytest

from vlgsim.training import (RewardBreakdown, bbox_accuracy, completion_text, contact_accuracy, difficulty_weight,
                             grasp_accuracy, grasp_vector, group_advantages, huber, make_reward_func, mask_accuracy,
                             score_completion)

THINK = "<think>looking at the scene</think>"


def tagged(answer: str) -> str:
    return f"{THINK}<answer>{answer}</answer>"


# ----------------------------------------------------------------------------- accuracies


def test_huber_is_quadratic_then_linear():
    np.testing.assert_allclose(huber([0.0, 0.5, -0.5, 1.0, 2.0, -3.0]), [0, 0.125, 0.125, 0.5, 1.5, 2.5])


def test_grasp_accuracy_hand_worked_huber():
    # W = H = 100: s = [0.5, 0.5, cos 0, sin 0, 2.1], g = [0.0, 0.5, 1, 0, 0.1]
    # s - g = [0.5, 0, 0, 0, 2] -> Huber 0.125 + 1.5 = 1.625 -> accuracy 1 / 2.625
    pred = [50, 50, 0, 210]
    gt = [[0, 50, 0, 10, 20]]
    assert grasp_accuracy(pred, gt, (100, 100)) == pytest.approx(1 / 2.625)
    # the best ground truth counts, not the first
    assert grasp_accuracy(pred, [[90, 90, 45, 5, 20]] + gt, (100, 100)) == pytest.approx(1 / 2.625)


def test_grasp_vector_normalises_width_by_image_width_and_folds_theta():
    np.testing.assert_allclose(grasp_vector([320, 120, 0, 64], (640, 480)), [0.5, 0.25, 1, 0, 0.1])
    np.testing.assert_allclose(grasp_vector([0, 0, 270, 10, 99], (100, 50)), [0, 0, 0, 1, 0.1], atol=1e-12)
    np.testing.assert_allclose(grasp_vector([0, 0, 150, 10], (100, 50))[2:4],
                               [math.cos(math.radians(-30)), math.sin(math.radians(-30))])


def test_perfect_grasp_and_angle_terms():
    gt = [[100, 80, 30, 40, 20]]
    assert grasp_accuracy([100, 80, 30, 40], gt, (320, 240)) == pytest.approx(1.0)
    assert grasp_accuracy([100, 80, 210, 40], gt, (320, 240)) == pytest.approx(1.0)  # same axis
    # 90 deg vs 0 deg: cos 0 - 1 = -1 -> 0.5, sin 1 - 0 = 1 -> 0.5: accuracy 1 / 2
    assert grasp_accuracy([100, 80, 90, 40], [[100, 80, 0, 40, 20]], (320, 240)) == pytest.approx(0.5)


def test_accuracies_are_zero_without_ground_truth_or_prediction():
    assert grasp_accuracy([1, 2, 3, 4], [], (100, 100)) == 0.0
    assert grasp_accuracy(None, [[1, 2, 3, 4, 5]], (100, 100)) == 0.0
    assert bbox_accuracy([0, 0, 1, 1], []) == 0.0
    assert bbox_accuracy(None, [0, 0, 1, 1]) == 0.0
    assert contact_accuracy([0, 0, 10, 0], [], 640) == 0.0
    assert mask_accuracy(np.zeros((4, 4), bool), np.zeros((4, 4), bool)) == 0.0


def test_bbox_accuracy_is_iou():
    assert bbox_accuracy([0, 0, 10, 10], [0, 0, 10, 20]) == pytest.approx(0.5)
    assert bbox_accuracy([0, 0, 10, 10], [[50, 50, 60, 60], [0, 0, 10, 20]]) == pytest.approx(0.5)
    assert bbox_accuracy([0, 0, 10, 10], [20, 20, 30, 30]) == 0.0


def test_contact_accuracy_is_rotated_rect_iou():
    # at width 640 a pair 40 px apart on a row is the box x 10..50, y -20..60 (jaw 80 px)
    assert contact_accuracy([10, 20, 50, 20], [[10, 20, 50, 20]], 640) == pytest.approx(1.0)
    # shifted by 20 px: overlap 20 x 80 = 1600 over union 4800
    assert contact_accuracy([10, 20, 50, 20], [[30, 20, 70, 20]], 640) == pytest.approx(1 / 3)
    assert contact_accuracy([10, 20, 50, 20], [[500, 400, 540, 400], [30, 20, 70, 20]], 640) == pytest.approx(1 / 3)
    # the swapped order of the two points is the same rectangle
    assert contact_accuracy([50, 20, 10, 20], [[10, 20, 50, 20]], 640) == pytest.approx(1.0)


def test_mask_accuracy():
    gt = np.zeros((4, 4), bool)
    gt[:2] = True
    pred = np.zeros((4, 4), bool)
    pred[:, :2] = True
    assert mask_accuracy(pred, gt) == pytest.approx(4 / 12)
    assert mask_accuracy(gt, gt) == 1.0
    assert mask_accuracy(np.ones((3, 3), bool), gt) == 0.0


# ----------------------------------------------------------------------------- GRPO helpers


def test_difficulty_weights_at_half():
    assert difficulty_weight(0.5) == pytest.approx(math.exp(0.5))
    assert difficulty_weight(0.5, "exp") == pytest.approx(1.6487212707)
    assert difficulty_weight(0.5, "linear") == pytest.approx(0.55)
    assert difficulty_weight(0.5, "linear", k=2) == pytest.approx(0.3025)
    assert difficulty_weight(0.5, "log") == pytest.approx(-math.log(0.52))
    np.testing.assert_allclose(difficulty_weight(np.array([0.0, 1.0]), "linear"), [1.05, 0.05])
    assert difficulty_weight(0.2) > difficulty_weight(0.8)  # harder batches weigh more
    with pytest.raises(ValueError, match="exp"):
        difficulty_weight(0.5, "cubic")


def test_group_advantages():
    a = group_advantages([1, 0, 1, 0], 2)
    np.testing.assert_allclose(a, np.array([1, -1, 1, -1]) * 0.5 / (0.5 + 1e-4))
    np.testing.assert_array_equal(group_advantages([0.3, 0.3, 0.3, 1.0, 0.0, 0.5], 3)[:3], [0, 0, 0])
    np.testing.assert_allclose(group_advantages([0.0, 1.0, 2.0], 3), np.array([-1, 0, 1]) * 1 / (math.sqrt(2 / 3) + 1e-4))
    with pytest.raises(ValueError, match=r"5.*2"):
        group_advantages([1, 2, 3, 4, 5], 2)
    with pytest.raises(ValueError):
        group_advantages([1, 2], 0)


# ----------------------------------------------------------------------------- completions


def test_bbox_reward_weights_accuracy_and_format():
    sol = [0, 0, 10, 20]
    r = score_completion(tagged("[0, 0, 10, 10]"), "bbox", sol)
    assert isinstance(r, RewardBreakdown)
    assert (r.accuracy, r.format, r.parsed_ok, r.failure_reason) == (pytest.approx(0.5), 1.0, True, "")
    assert r.reward == pytest.approx(0.9 * 0.5 + 0.1)
    assert score_completion("[0, 0, 10, 10]", "bbox", sol).reward == pytest.approx(0.45)
    assert score_completion(tagged("[0, 0, 10, 10]"), "bbox", sol, use_format=False).reward == pytest.approx(0.5)
    assert score_completion(tagged("[0, 0, 10, 10]"), "bbox", sol, accuracy_weight=0.5,
                            format_weight=0.5).reward == pytest.approx(0.75)


def test_unparsable_answer_keeps_its_format_score():
    r = score_completion(tagged("I cannot find it"), "bbox", [0, 0, 10, 20])
    assert (r.accuracy, r.format, r.parsed_ok) == (0.0, 1.0, False)
    assert r.reward == pytest.approx(0.1) and "no JSON" in r.failure_reason


def test_completion_text_shapes():
    assert completion_text("abc") == "abc"
    assert completion_text([{"role": "assistant", "content": "abc"}]) == "abc"
    assert completion_text([{"role": "user", "content": "q"}, {"role": "assistant", "content": "abc"}]) == "abc"
    parts = [{"type": "text", "text": "a"}, {"type": "image"}, {"type": "text", "text": "bc"}]
    assert completion_text([{"role": "assistant", "content": parts}]) == "abc"
    assert completion_text(None) is None and completion_text([]) is None and completion_text([3]) is None


def test_reward_func_trl_style_conversational_and_per_sample_task():
    f = make_reward_func()
    assert f.__name__ == "realvlg_reward"
    completions = [
        [{"role": "assistant", "content": tagged('{"bbox_2d": [0, 0, 10, 10], "label": "cup"}')}],
        [{"role": "assistant", "content": [{"type": "text", "text": tagged("(100, 80, 30, 40)")}]}],
        [{"role": "assistant", "content": "[[10, 20], [30, 20]]"}],
    ]
    out = f(prompts=["p"] * 3, completions=completions,
            task=["bbox", "grasp", "contact"],
            solution=[json.dumps([0, 0, 10, 20]), [[100, 80, 30, 40, 20]], json.dumps([[10, 20, 50, 20]])],
            image_size=[[640, 480], [320, 240], [640, 480]],
            completion_ids=[[1], [2], [3]], trainer_state=None)
    assert isinstance(out, list) and all(isinstance(x, float) for x in out)
    # contact: pred box x 10..30 inside gt x 10..50 (both 80 px tall) -> IoU 0.5, no tags
    np.testing.assert_allclose(out, [0.9 * 0.5 + 0.1, 1.0, 0.9 * 0.5])


def test_reward_func_fixed_task_with_string_completions():
    f = make_reward_func("grasp", use_format=False)
    assert f.__name__ == "realvlg_grasp_reward"
    sol = json.dumps([[50, 50, 0, 10, 20], [0, 50, 0, 10, 20]])
    out = f(completions=["(50, 50, 0, 10)", tagged("(50, 50, 0, 210)"), tagged("(50, 50, 0, 210)"), "no idea", "",
                         None],
            solution=[sol, json.dumps([[0, 50, 0, 10, 20]]), sol, sol, sol, sol], image_size=[(100, 100)] * 6)
    # 2nd: the hand-worked 1 / 2.625; 3rd: the first gt is nearer, s - g = [0, 0, 0, 0, 2] -> 1 / 2.5
    np.testing.assert_allclose(out, [1.0, 1 / 2.625, 1 / 2.5, 0.0, 0.0, 0.0])
    assert make_reward_func("bbox", format_weight=0.2).__name__ == "realvlg_bbox_reward"


@pytest.mark.parametrize("junk", [None, 42, b"\x00", "{", "x" * 1_000_000, "[" * 5000, [{"role": "assistant"}],
                                  [{"role": "assistant", "content": None}], {"content": [1, 2]}, [[[]]]])
def test_garbage_completion_scores_zero_without_raising(junk):
    for task, sol, size in [("bbox", [0, 0, 10, 10], None), ("grasp", [[1, 2, 3, 4, 5]], [64, 48]),
                            ("contact", [[1, 2, 3, 4]], [64, 48])]:
        f = make_reward_func(task)
        assert f(completions=[junk], solution=[sol], image_size=[size]) == [0.0]


def test_reward_func_config_errors_are_loud():
    with pytest.raises(ValueError, match="bbox"):
        make_reward_func("segment")
    with pytest.raises(ValueError, match="task"):
        make_reward_func()(completions=["[1, 2, 3, 4]"], solution=[[1, 2, 3, 4]])
    with pytest.raises(ValueError, match="solution"):
        make_reward_func("bbox")(completions=["[1, 2, 3, 4]"])
    with pytest.raises(ValueError, match="image_size"):
        make_reward_func("grasp")(completions=["(1, 2, 3, 4)"], solution=[[[1, 2, 3, 4, 5]]])
    assert make_reward_func("bbox")(prompts=[], completions=[], solution=[]) == []
