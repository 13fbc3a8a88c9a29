import gymnasium as gym
import numpy as np
import pytest

from vlgsim.policies import POLICIES, OraclePolicy, RandomPolicy, make_policy


class _Env:
    def __init__(self):
        self.action_space = gym.spaces.Box(0, 1, (4,), np.float32)
        self.unwrapped = self


def test_registry_and_errors():
    assert {"oracle", "random"} <= set(POLICIES)
    with pytest.raises(ValueError, match="unknown policy 'nope'"):
        make_policy("nope", _Env())


def test_random_policy_is_seeded_per_episode():
    p = make_policy("random", _Env(), seed=0)
    assert isinstance(p, RandomPolicy)
    p.reset("x", {"episode_seed": 5})
    a = p.act({})
    p.reset("x", {"episode_seed": 5})
    assert np.array_equal(a, p.act({}))


def test_oracle_answers_the_best_label_or_the_box_centre():
    o = OraclePolicy()
    o.reset("x", {"grasp_rects": np.array([[10, 20, 30, 40, 8], [0, 0, 0, 0, 0]]), "bbox": [0, 0, 4, 4]})
    assert o.act({}).tolist() == [10, 20, 30, 40]
    o.reset("x", {"grasp_rects": np.zeros((0, 5)), "bbox": [10, 20, 30, 40]})
    assert o.act({}).tolist()[:2] == [20, 30]


def test_oracle_any_is_seeded_and_grounding_answers_the_visible_box():
    rects = np.array([[i, i, 0, 20, 8] for i in range(50)], float)
    o = make_policy("oracle:any", _Env())
    picks = set()
    for s in range(10):
        o.reset("x", {"grasp_rects": rects, "bbox": [0, 0, 1, 1], "episode_seed": s})
        picks.add(o.act({})[0])
        o.reset("x", {"grasp_rects": rects, "bbox": [0, 0, 1, 1], "episode_seed": s})
        assert o.act({})[0] in picks
    assert len(picks) > 3
    o = OraclePolicy()
    o.reset("x", {"target_boxes": np.array([[0, 0, 0, 0], [5, 6, 7, 8]]), "target_visible": np.array([False, True])})
    assert o.act({}).tolist() == [1, 5, 6, 7, 8]
    with pytest.raises(ValueError, match="oracle:any"):
        make_policy("oracle:worst", _Env())
