import numpy as np
import pytest

from vlgsim.language.fine_grained import (DIMENSIONS, choose_instruction_type, fine_grained_instruction,
                                          parse_fg_raw)
from vlgsim.scenes.bimanual import PlanStep, TaskPlan, add_body, new_scene


def _scene(variant="red"):
    sc, rng = new_scene("Bimanual-PickColor-v0", 0, "easy", "color", variant)
    add_body(sc, rng, "red block", "block", (0.02, 0.02, 0.02), "red", (0.0, 0.08))
    add_body(sc, rng, "blue block", "block", (0.02, 0.02, 0.02), "blue", (0.0, -0.08))
    return sc


def test_ten_dimensions_from_scene_and_plan():
    sc = _scene()
    fi = fine_grained_instruction(sc, TaskPlan([PlanStep("left", "pick", "red block")]), "pick up a block",
                                  "the red block is held")
    assert list(fi.dimensions) == list(DIMENSIONS) and len(DIMENSIONS) == 10
    t = fi.text
    assert "the left arm" in t and "red block" in t and "do not move the blue block" in t
    assert "from directly above" in t and "right arm stays at rest" in t
    assert "left side of the table" in t  # initial configuration from the privileged state
    side = fine_grained_instruction(sc, TaskPlan([PlanStep("right", "pick", "blue block", approach="side")]),
                                    "pick up a block", "x")
    assert "slides in horizontally" in side.text and side.text != t
    assert all(32 <= ord(c) < 127 for c in t)


def test_fg_raw_ratio():
    assert parse_fg_raw("1:1") == 0.5 and parse_fg_raw("1:2") == pytest.approx(1 / 3) and parse_fg_raw("1:0") == 1
    for bad in ("1", "a:b", "0:0", "-1:2"):
        with pytest.raises(ValueError, match="FG:Raw"):
            parse_fg_raw(bad)
    rng = np.random.default_rng(0)
    draws = [choose_instruction_type("mixed", "1:3", rng) for _ in range(4000)]
    assert abs(draws.count("fine") / 4000 - 0.25) < 0.03
    assert choose_instruction_type("raw", "1:1", rng) == "raw"
    with pytest.raises(ValueError, match="instruction_type"):
        choose_instruction_type("both", "1:1", rng)
