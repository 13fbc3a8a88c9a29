import numpy as np
import pytest

from vlgsim.assets import CATEGORIES, COLORS, MAX_GRIPPER_OPENING_M, ObjectSpec, build_object, categories_in_split
from vlgsim.grasp import object_grasps


def test_library_has_twelve_categories_six_colours_and_both_splits():
    assert len(CATEGORIES) >= 12
    assert len(COLORS) >= 6
    seen, novel = set(categories_in_split("seen")), set(categories_in_split("novel"))
    assert seen and novel and not seen & novel
    assert seen | novel == set(CATEGORIES)


@pytest.mark.parametrize("category", sorted(CATEGORIES))
def test_parts_are_named_watertight_convex_and_rest_on_the_table(category):
    a = build_object(ObjectSpec(category, "red", 1.0))
    assert len(set(a.part_names)) == len(a.parts) >= 1
    for part in a.parts:
        for piece in part.pieces:
            assert piece.is_watertight and piece.is_convex and piece.volume > 0
    assert abs(a.bounds[0, 2]) < 1e-6  # resting on z = 0
    assert 0.01 < a.height_m < 0.25 and 0.01 < a.mass_kg < 1.0


@pytest.mark.parametrize("category", sorted(CATEGORIES))
@pytest.mark.parametrize("scale", [0.85, 1.12])
def test_every_category_is_graspable_by_a_panda_across_its_size_range(category, scale):
    grasps = object_grasps(ObjectSpec(category, "blue", scale))
    assert grasps, f"{category} at scale {scale} has no antipodal top-down grasp"
    assert all(g.opening_m <= MAX_GRIPPER_OPENING_M + 1e-9 and g.contact_width_m < g.opening_m for g in grasps)


def test_size_variation_changes_volume_and_build_is_deterministic():
    small, big = build_object(ObjectSpec("mug", "red", 0.85)), build_object(ObjectSpec("mug", "red", 1.12))
    assert big.volume_m3 > 1.5 * small.volume_m3
    again = build_object.__wrapped__(ObjectSpec("mug", "red", 0.85))
    np.testing.assert_allclose(again.mesh.vertices, small.mesh.vertices)


def test_bad_specs_are_refused_with_the_rule():
    with pytest.raises(ValueError, match="unknown category 'teapot'"):
        ObjectSpec("teapot", "red")
    with pytest.raises(ValueError, match="unknown colour"):
        ObjectSpec("mug", "mauve")
    with pytest.raises(ValueError, match="scale 3.0"):
        ObjectSpec("mug", "red", 3.0)
    with pytest.raises(KeyError, match="no part 'spout'"):
        build_object(ObjectSpec("mug", "red")).part("spout")
