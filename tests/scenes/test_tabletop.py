import numpy as np
import pytest

from vlgsim.assets import COLORS, build_object, categories_in_split
from vlgsim.scenes import CameraSpec, deproject, project, sample_tabletop_scene
from vlgsim.scenes.tabletop import MIN_GAP_M, WORKSPACE_X, WORKSPACE_Y


def test_same_seed_same_scene_and_seeds_differ():
    a, b = sample_tabletop_scene(7), sample_tabletop_scene(7)
    assert a == b
    assert any(sample_tabletop_scene(s).objects != a.objects for s in range(8, 12))


@pytest.mark.parametrize("seed", range(25))
def test_objects_fit_the_workspace_without_overlap(seed):
    sc = sample_tabletop_scene(seed)
    assert 3 <= len(sc.objects) <= 8
    for i, o in enumerate(sc.objects):
        assert WORKSPACE_X[0] <= o.xy[0] <= WORKSPACE_X[1] and WORKSPACE_Y[0] <= o.xy[1] <= WORKSPACE_Y[1]
        for p in sc.objects[i + 1:]:
            gap = np.hypot(o.xy[0] - p.xy[0], o.xy[1] - p.xy[1])
            assert gap > build_object(o.spec).footprint_radius_m + build_object(p.spec).footprint_radius_m + MIN_GAP_M - 1e-9
    assert any(e in sc.instruction for e in sc.expressions)


@pytest.mark.parametrize("seed", range(40))
def test_plain_expressions_name_exactly_one_object(seed):
    """Independent re-check of the simple forms 'the {cat}' and 'the {colour} {cat}'."""
    sc = sample_tabletop_scene(seed)
    for e in sc.expressions:
        words = e.split()
        if len(words) == 2 and words[1] in categories_in_split("all"):
            assert sum(o.spec.category == words[1] for o in sc.objects) == 1
        if len(words) == 3 and words[1] in COLORS and words[2] in categories_in_split("all"):
            match = [i for i, o in enumerate(sc.objects) if (o.spec.color, o.spec.category) == (words[1], words[2])]
            assert match == [sc.target_index]


def test_split_controls_categories():
    novel = set(categories_in_split("novel"))
    for s in range(10):
        assert {o.spec.category for o in sample_tabletop_scene(s, split="novel").objects} <= novel


def test_camera_d435_intrinsics_scale_and_projection_round_trips():
    c320, c640 = CameraSpec.d435(320, 240), CameraSpec.d435(640, 480)
    assert c640.fx == pytest.approx(615.0) and c320.fx == pytest.approx(307.5)
    np.testing.assert_allclose(c320.intrinsic[:2, 2], [160, 120])
    pts = np.array([[0.0, 0.0, 0.0], [0.1, -0.15, 0.05], [-0.1, 0.2, 0.1]])
    uv = c320.project(pts)
    z = (pts @ c320.extrinsic[:3, :3].T + c320.extrinsic[:3, 3])[:, 2]
    np.testing.assert_allclose(deproject(uv, z, c320.intrinsic, c320.extrinsic), pts, atol=1e-9)
    assert np.all((uv >= 0) & (uv < [320, 240]))  # the workspace is in view
    np.testing.assert_allclose(project(pts, c320.intrinsic, c320.extrinsic), uv)


def test_bad_arguments_name_the_rule():
    with pytest.raises(ValueError, match="n_objects"):
        sample_tabletop_scene(0, n_objects=(5, 2))
    with pytest.raises(ValueError, match="split"):
        sample_tabletop_scene(0, split="train")
    with pytest.raises(ValueError, match="image size"):
        CameraSpec.d435(0, 240)
