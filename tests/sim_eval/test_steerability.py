import numpy as np
import pytest

from vlgsim.sim_eval.steerability import (TrialRecord, approach_direction, first_arm_touching, moved_object,
                                          ordered_subgoals_met, rotation_sense, score_trial, yaw_change_deg)


def _rec(T=20, K=2):
    pose = np.zeros((T, K, 7))
    pose[..., 3] = 1
    pose[:, 1, 1] = 0.1
    return TrialRecord(["a", "b"], 0.0, pose, np.zeros((T, 2, 7)), np.zeros((T, 2, K), bool), np.zeros((T, 2, K), bool))


def test_ordered_subgoals_need_their_order():
    f = np.array([[0, 1, 0], [1, 0, 0], [0, 1, 1]], bool)
    assert ordered_subgoals_met(f) == 3
    assert ordered_subgoals_met(np.array([[0, 1, 1], [0, 1, 1]], bool)) == 0
    with pytest.raises(ValueError):
        ordered_subgoals_met(np.zeros(3, bool))


def test_score_partial_credit_and_violation():
    flags = np.array([[1, 1, 0]], bool)
    s = score_trial(flags, False)
    assert s.score_0_100 == pytest.approx(200 / 3) and not s.violation
    ok = score_trial(np.ones((1, 3), bool), True, "arm", "left", "left")
    assert ok.score_0_100 == 100 and not ok.violation and ok.factor_compliant
    bad = score_trial(np.ones((1, 3), bool), True, "arm", "left", "right")
    assert bad.score_0_100 == 75 and bad.violation and not bad.factor_compliant
    failed_wrong = score_trial(np.array([[1, 0, 0]], bool), False, "arm", "left", "right")
    assert not failed_wrong.violation  # no goal, no violation: just a failure


def test_first_arm_and_approach_from_path():
    r = _rec()
    r.touch[8, 1, 0] = True
    r.touch[12, 0, 0] = True
    assert first_arm_touching(r, "a") == "right" and first_arm_touching(r, "b") == ""
    # right TCP comes straight down onto the object: above
    r.tcp_pose[:9, 1, 2] = np.linspace(0.2, 0.02, 9)
    assert approach_direction(r, "a") == "above"
    # the same arm comes in horizontally over its last 10 cm: side
    r.tcp_pose[:9, 1, 2] = 0.05
    r.tcp_pose[:9, 1, 1] = np.linspace(-0.2, -0.01, 9)
    assert approach_direction(r, "a") == "side"


def test_rotation_sense_and_moved_object():
    r = _rec()
    yaw = np.linspace(0, np.deg2rad(-200), 20)  # wraps past -180: unwrapped
    r.body_pose[:, 0, 3], r.body_pose[:, 0, 6] = np.cos(yaw / 2), np.sin(yaw / 2)
    assert yaw_change_deg(r, "a") == pytest.approx(-200, abs=1e-3)
    assert rotation_sense(r, "a") == "clockwise"
    r.body_pose[:, 0, 6] *= -1
    assert rotation_sense(r, "a") == "counter-clockwise"
    assert moved_object(r, ["a", "b"]) == ""
    r.body_pose[10:, 1, 2] = 0.08
    assert moved_object(r, ["a", "b"]) == "b"
