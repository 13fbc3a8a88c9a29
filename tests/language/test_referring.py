import numpy as np

from vlgsim.language import ReferentView, make_instruction, referring_expressions

W = 320


def v(cat, color, u, dist=0.6, vol=1e-4):
    return ReferentView(cat, color, vol, u, dist)


def test_colour_disambiguates_two_mugs_and_bare_category_is_not_said():
    objs = [v("mug", "red", 100), v("mug", "blue", 200), v("bowl", "green", 150)]
    e = referring_expressions(objs, 0, W)
    assert "the red mug" in e and "the mug" not in e
    assert "the bowl" in referring_expressions(objs, 2, W)


def test_leftmost_and_relations_need_a_clear_margin():
    objs = [v("can", "red", 50), v("can", "red", 200), v("bowl", "blue", 120)]
    e0 = referring_expressions(objs, 0, W)
    assert "the leftmost can" in e0 and "the can left of the bowl" in e0
    assert "the rightmost can" in referring_expressions(objs, 1, W)
    # two identical cans at nearly the same column: no left/right words for either
    close = [v("can", "red", 100), v("can", "red", 105), v("bowl", "blue", 250)]
    for t in (0, 1):
        assert not any("left" in s or "right" in s for s in referring_expressions(close, t, W))


def test_between_in_front_and_size():
    objs = [v("block", "red", 40), v("cup", "white", 160), v("block", "red", 280), v("mug", "green", 160, dist=0.9)]
    e = referring_expressions(objs, 1, W)
    assert "the cup" in e
    objs2 = [v("bowl", "red", 40), v("block", "red", 160), v("bottle", "blue", 280), v("block", "red", 10)]
    assert "the block between the bowl and the bottle" in referring_expressions(objs2, 1, W)
    near = [v("apple", "red", 100, dist=0.5), v("apple", "red", 110, dist=0.7)]
    assert "the nearest apple" in referring_expressions(near, 0, W)
    assert "the farthest apple" in referring_expressions(near, 1, W)
    sizes = [v("box", "red", 100, vol=1e-4), v("box", "red", 110, vol=3e-4)]
    assert "the bigger box" in referring_expressions(sizes, 1, W)
    assert "the smaller box" in referring_expressions(sizes, 0, W)


def test_indistinguishable_target_gets_no_expression():
    twins = [v("block", "red", 100), v("block", "red", 104)]
    assert referring_expressions(twins, 0, W) == []


def test_instruction_phrasings_vary_and_are_seeded():
    a = {make_instruction("the red mug", np.random.default_rng(s)) for s in range(30)}
    assert len(a) >= 3 and all("the red mug" in s for s in a)
    assert make_instruction("x", np.random.default_rng(1)) == make_instruction("x", np.random.default_rng(1))
