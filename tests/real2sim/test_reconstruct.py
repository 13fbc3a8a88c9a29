"""RGB-D + masks -> scene spec: a small scene round trip (clean and D435-noisy), JSON save/load,
the twin loading in the RealVLG envs, the grasp round trip on one scene, hostile inputs."""

import json
import warnings

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import vlgsim.envs  # noqa: F401
from vlgsim.real2sim.depth_noise import D435NoiseModel
from vlgsim.real2sim.reconstruct import (RGBDFrame, ReconstructionError, camera_from_matrices, load_scene,
                                         reconstruct_scene, save_scene, scene_from_json, scene_to_json, yaw_error_rad)
from vlgsim.real2sim.roundtrip import GraspRoundTrip, scene_round_trip, summarize
from vlgsim.scenes import CameraSpec, sample_tabletop_scene

pytestmark = pytest.mark.sim
SEEDS = (11, 12)


@pytest.fixture(scope="module")
def renderer():
    from vlgsim.sim.sapien_render import TabletopRenderer

    r = TabletopRenderer()
    s = sample_tabletop_scene(0)
    r.render(s, [s.camera])  # its camera before any ManiSkill env in this process (see the round-trip script)
    return r


@pytest.fixture(scope="module")
def round_trips(renderer):
    return {noisy: [scene_round_trip(s, renderer, D435NoiseModel() if noisy else None, split="all") for s in SEEDS]
            for noisy in (False, True)}


@pytest.mark.parametrize("noisy", [False, True])
def test_scene_round_trip(round_trips, noisy):
    s = summarize(round_trips[noisy])
    assert s["objects"] >= 8 and s["errors"] == 0
    assert s["category_accuracy"] >= 0.85, s
    assert s["position_error_median_m"] <= 0.01, s
    assert s["yaw_error_median_deg"] <= 10, s
    assert s["color_accuracy"] >= 0.85, s


def test_twin_json_round_trip_and_envs(round_trips, tmp_path):
    twin = round_trips[False][0].twin
    save_scene(twin, tmp_path / "scene.json")
    back = load_scene(tmp_path / "scene.json")
    assert back == twin
    env = gym.make("vlgsim:RealVLG-Ground-v0", scene=back, n_views=1)
    obs, info = env.reset(seed=3)
    assert obs["instruction"] == twin.instruction and info["target_id"] == twin.target_index
    assert info["target_visible"][0]
    env.close()


def test_grasp_round_trip_one_scene(round_trips):
    r = round_trips[False][0]
    original = sample_tabletop_scene(r.seed, split="all")
    g = GraspRoundTrip()
    try:
        env = g.env.unwrapped
        g.oracle_action(r.twin)
        assert [o.spec for o in env.scenes[0].objects] == [o.spec for o in r.twin.objects]  # the twin is what loaded
        success, mode = g.run(original, r.twin)
    finally:
        g.close()
    assert success, mode


def test_noise_model_makes_holes_and_grows_with_distance():
    m = D435NoiseModel()
    assert m.depth_sigma_m(1.0, 307.5) == pytest.approx(4 * m.depth_sigma_m(0.5, 307.5))
    depth = np.full((240, 320), 0.55, np.float32)
    depth[100:140, 150:200] = 0.45  # an object: a depth edge
    rgb = np.full((240, 320, 3), 128, np.uint8)
    K = CameraSpec.d435().intrinsic
    nrgb, nd = m.apply(rgb, depth, K, np.random.default_rng(0))
    holes = nd == 0
    assert 0.005 < holes.mean() < 0.1
    assert holes[98:142, 148:202].mean() > 3 * holes.mean() / 2  # holes gather at the edge
    err = (nd - depth)[~holes & (depth == 0.55)]
    assert abs(err.std() - m.depth_sigma_m(0.55, K[0, 0])) < 0.6e-3  # plus 1 mm quantisation
    assert nrgb.dtype == np.uint8 and nrgb.std() > 0


def test_yaw_error_respects_symmetry():
    assert yaw_error_rad("can", 1.0, 0.0) is None
    assert yaw_error_rad("box", np.pi + 0.1, 0.0) == pytest.approx(0.1)
    assert yaw_error_rad("block", np.pi / 2 - 0.05, 0.0) == pytest.approx(0.05)
    assert yaw_error_rad("mug", np.pi, 0.0) == pytest.approx(np.pi)


def test_camera_from_matrices_is_exact_for_a_look_at_camera():
    cam = CameraSpec.d435()
    spec, notes = camera_from_matrices(cam.intrinsic, cam.extrinsic, cam.width, cam.height)
    np.testing.assert_allclose(spec.extrinsic, cam.extrinsic, atol=1e-9)
    assert notes == []
    K = cam.intrinsic.copy()
    K[0, 2] += 6
    _, notes = camera_from_matrices(K, cam.extrinsic, cam.width, cam.height)
    assert any("principal point 6.0 px" in n for n in notes)


# ------------------------------------------------------------------ hostile input
def _frame(**kw):
    cam = CameraSpec.d435()
    d = dict(rgb=np.zeros((240, 320, 3), np.uint8), depth_m=np.full((240, 320), 0.5, np.float32),
             intrinsic=cam.intrinsic, extrinsic=cam.extrinsic)
    d.update(kw)
    return RGBDFrame(**d)


def test_bad_frames_and_masks_name_the_rule():
    with pytest.raises(ReconstructionError, match="mm must be divided by 1000"):
        _frame(depth_m=np.full((240, 320), 550.0))
    with pytest.raises(ReconstructionError, match="rule: finite metres"):
        _frame(depth_m=np.full((240, 320), np.nan))
    with pytest.raises(ReconstructionError, match=r"rgb \(240, 320\) uint8"):
        _frame(rgb=np.zeros((240, 320), np.uint8))
    f = _frame()
    with pytest.raises(ReconstructionError, match="no object masks"):
        reconstruct_scene(f, [])
    with pytest.raises(ReconstructionError, match="mask of shape"):
        reconstruct_scene(f, [np.ones((10, 10), bool)])
    with pytest.raises(ReconstructionError, match="target_index 3"):
        reconstruct_scene(f, [np.ones((240, 320), bool)], target_index=3)
    tiny = np.zeros((240, 320), bool)
    tiny[5, 5] = True
    with pytest.raises(ReconstructionError, match="rule: at least 30"):
        reconstruct_scene(f, [tiny])


def test_segmentation_function_and_unknown_shape_warning():
    """A 20 x 20 cm slab 3 cm high (no library object looks like it) still gives a scene,
    with a warning naming the unknown shape."""
    cam = CameraSpec.d435()
    v, u = np.mgrid[0:240, 0:320]
    o, d = cam.pixel_ray(np.c_[u.ravel(), v.ravel()])
    t = -o[:, 2] / d[:, 2]  # the table plane z = 0 everywhere ...
    depth = (t * (d @ cam.cam2world[:3, 2])).reshape(240, 320).astype(np.float32)
    t_slab = (0.03 - o[:, 2]) / d[:, 2]  # ... and the top of a slab 3 cm high, 20 cm square
    p = o + t_slab[:, None] * d
    mask = ((np.abs(p[:, 0]) < 0.1) & (np.abs(p[:, 1]) < 0.1)).reshape(240, 320)
    depth[mask] = (t_slab * (d @ cam.cam2world[:3, 2])).reshape(240, 320)[mask]
    rgb = np.zeros((240, 320, 3), np.uint8)
    rgb[mask] = (200, 30, 30)
    f = _frame(rgb=rgb, depth_m=depth)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        rec = reconstruct_scene(f, lambda rgb, depth: [mask])
    assert rec.fits[0].unknown and any("unknown shape" in w for w in rec.warnings)
    assert rec.fits[0].color == "red"


@settings(max_examples=30, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.floats() | st.text(max_size=5) | st.integers(),
                    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=4),
                    max_leaves=12))
def test_garbage_scene_json_is_rejected_with_a_rule(garbage):
    with pytest.raises((ReconstructionError, ValueError)):
        scene_from_json(garbage if isinstance(garbage, dict) else {"objects": garbage})


def test_scene_json_field_errors():
    d = scene_to_json(sample_tabletop_scene(4))
    d["objects"][0]["category"] = "spaceship"
    with pytest.raises(ValueError, match="unknown category 'spaceship'"):
        scene_from_json(d)
    d = scene_to_json(sample_tabletop_scene(4))
    d["objects"][0]["xy"] = [float("nan"), 0.0]
    with pytest.raises(ReconstructionError, match="rule: finite metres"):
        scene_from_json(json.loads(json.dumps(d)))
