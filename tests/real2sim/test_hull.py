"""Unknown shapes: an object outside the library becomes a convex-hull object (with a
warning), saved in the scene JSON, loaded by the RealVLG envs, and graspable there."""

import warnings

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import vlgsim.envs  # noqa: F401
from vlgsim.assets.objects import CATEGORIES, HULL_VERTICES, build_object, categories_in_split, is_hull, register_hull
from vlgsim.real2sim.reconstruct import RGBDFrame, load_scene, reconstruct_scene, save_scene
from vlgsim.real2sim.roundtrip import GraspRoundTrip
from vlgsim.scenes import CameraSpec

pytestmark = pytest.mark.sim
SLAB = (0.18, 0.05, 0.03)
"""An 18 x 5 cm slab, 3 cm high: longer than any library object of that height."""


def slab_frame(size=SLAB, centre=(0.02, -0.03)):
    """A depth frame of the bare table with a slab on it (analytic depth, no renderer) and its mask."""
    cam = CameraSpec.d435()
    v, u = np.mgrid[0:240, 0:320]
    o, d = cam.pixel_ray(np.c_[u.ravel(), v.ravel()])
    along = d @ cam.cam2world[:3, 2]
    depth = (-o[:, 2] / d[:, 2] * along).reshape(240, 320).astype(np.float32)  # the table z = 0 ...
    t_top = (size[2] - o[:, 2]) / d[:, 2]
    p = o + t_top[:, None] * d  # ... and the slab's top face
    mask = ((np.abs(p[:, 0] - centre[0]) < size[0] / 2) & (np.abs(p[:, 1] - centre[1]) < size[1] / 2)).reshape(240, 320)
    depth[mask] = (t_top * along).reshape(240, 320)[mask]
    rgb = np.full((240, 320, 3), 90, np.uint8)
    rgb[mask] = (30, 40, 200)
    return RGBDFrame(rgb, depth, cam.intrinsic, cam.extrinsic), mask


@pytest.fixture(scope="module", autouse=True)
def forget_hulls():
    """Hulls registered here are removed afterwards (other tests iterate CATEGORIES)."""
    before = set(CATEGORIES)
    yield
    for name in set(CATEGORIES) - before:
        CATEGORIES.pop(name)
        HULL_VERTICES.pop(name, None)


@pytest.fixture(scope="module")
def hull_twin():
    frame, mask = slab_frame()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rec = reconstruct_scene(frame, [mask], instruction="pick up the blue object")
    return rec, [str(w.message) for w in caught]


def test_unknown_shape_becomes_a_convex_hull(hull_twin):
    rec, caught = hull_twin
    f = rec.fits[0]
    assert f.unknown and is_hull(f.category) and f.library_category in categories_in_split("all")
    assert any("unknown shape" in w and "convex hull object" in w and "rule: RMS <=" in w for w in caught)
    assert f.color == "blue"
    assert np.allclose(f.xy, (0.02, -0.03), atol=0.005)  # the footprint's centre
    asset = build_object(rec.scene.objects[0].spec)
    ext = np.ptp(asset.bounds, axis=0)
    assert np.allclose(ext, SLAB, atol=0.006), ext  # the hull is the slab (top seen, swept down to the table)
    assert len(HULL_VERTICES[f.category]) <= 64 and asset.mesh.is_watertight
    assert f.category not in categories_in_split("all")  # a hull is never sampled into new scenes
    assert "object" in rec.scene.expressions[0] and "hull_" not in " ".join(rec.scene.expressions)
    # without the fallback the shape keeps its best library category (still warned)
    frame, mask = slab_frame()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kept = reconstruct_scene(frame, [mask], hull_fallback=False)
    assert kept.fits[0].category == f.library_category and any("kept as" in w for w in kept.warnings)


def test_hull_twin_json_env_and_grasp(hull_twin, tmp_path):
    rec, _ = hull_twin
    twin = rec.scene
    name = twin.objects[0].spec.category
    save_scene(twin, tmp_path / "scene.json")
    CATEGORIES.pop(name)  # as in a fresh process: the JSON alone must bring the hull back
    HULL_VERTICES.pop(name)
    back = load_scene(tmp_path / "scene.json")
    assert back == twin and name in CATEGORIES
    g = GraspRoundTrip()
    try:
        env = g.env.unwrapped
        a = g.oracle_action(back)
        assert a is not None  # grasp labels on the hull (5 cm across fits the 8 cm gripper)
        pose = env.object_poses()[0, 0].cpu().numpy()
        assert np.allclose(pose[:2], twin.objects[0].xy, atol=0.005) and abs(pose[2]) < 0.005  # rests on the table
        success, mode = g.execute(back, a)
    finally:
        g.close()
    assert success, mode


@settings(max_examples=30, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(0, 3), st.integers(1, 4)) | st.tuples(st.integers(4, 9), st.sampled_from([1, 2, 4])),
              elements=st.floats(allow_nan=True, allow_infinity=True, width=64)),
       arrays(np.float64, (6, 3), elements=st.floats(0, 0.2)), st.integers(0, 17), st.sampled_from([np.nan, np.inf, -1.0, 1e9]))
def test_garbage_hull_points_name_the_rule(bad_shape, points, k, bad):
    with pytest.raises(ValueError, match="rule"):
        register_hull(bad_shape)
    points.flat[k] = bad  # one NaN / inf / below-the-table / huge coordinate
    with pytest.raises(ValueError, match="rule"):
        register_hull(points)


def test_flat_or_huge_hulls_are_rejected():
    square = np.array([[0, 0, 0], [0.1, 0, 0], [0, 0.1, 0], [0.1, 0.1, 0]], float)
    with pytest.raises(ValueError, match="a solid, not a sheet"):
        register_hull(square)
    with pytest.raises(ValueError, match=r"rule: <= 0.5 m"):
        register_hull(np.r_[square, square + [0, 0, 0.1]] * 10)
    with pytest.raises(ValueError, match="hull name"):
        register_hull(np.r_[square, square + [0, 0, 0.1]], name="mug")
