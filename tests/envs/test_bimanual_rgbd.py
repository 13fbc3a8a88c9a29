"""RGB-D observations of the bimanual tasks on the ALOHA embodiment (real SAPIEN rendering):
shapes, dtypes and units (depth uint16 mm along the camera axis), depth consistent with the
scene (the table top seen at the depth its plane gives), the ``cameras=`` subset (same pixels,
fewer cameras), and the decimated ViperX visual meshes (the images barely change)."""

import re
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import vlgsim  # noqa: F401
from vlgsim.assets.viperx import VISUAL_CELL_M, cluster_vertices, viperx_urdf
from vlgsim.scenes.bimanual import TABLE_HALF_XY

TASK = "Bimanual-PickColor-v0"
SIZE = (64, 48)  # width, height
ALOHA_CAMS = ("head", "low", "left_wrist", "right_wrist")


def _obs_after_steps(env, n: int = 4):
    """Seed 0, then ``n`` steps of a fixed small action (arms away from home)."""
    obs, _ = env.reset(seed=0)
    a = np.zeros(env.action_space.shape, np.float32)
    a[[2, 9]] = -0.5  # both TCPs down
    for _ in range(n):
        obs = env.step(a)[0]
    return obs


@pytest.fixture(scope="module")
def aloha4():
    env = gym.make(TASK, obs_mode="rgbd+state", image_size=SIZE)
    yield env, _obs_after_steps(env)
    env.close()


@pytest.mark.sim
def test_rgbd_shapes_dtypes_and_millimetres(aloha4):
    env, obs = aloha4
    assert env.unwrapped.embodiment == "aloha" and env.observation_space.contains(obs)
    for cam in ALOHA_CAMS:
        rgb, d = obs[f"{cam}_rgb"], obs[f"{cam}_depth"]
        assert rgb.shape == (48, 64, 3) and rgb.dtype == np.uint8
        assert d.shape == (48, 64, 1) and d.dtype == np.uint16
        assert rgb.std() > 5  # not a blank image
        seen = d[d > 0]
        # millimetres: everything a camera sees on the 0.84 x 0.8 m table lies 2 cm .. 2 m away
        assert seen.size > 0.3 * d.size and seen.min() >= 20 and seen.max() <= 2000


@pytest.mark.sim
def test_depth_of_the_table_top_matches_its_plane(aloha4):
    """Every pixel whose ray hits the table top sees it at the depth of the plane z = table_z
    (along the optical axis, mm), or something in front of it, never behind it."""
    env, obs = aloha4
    be = env.unwrapped.backend
    table_z = be.spec.table_z
    for uid, name in (("cam_high", "head"), ("cam_low", "low")):
        rc = be.scene.sensors[uid].camera._render_cameras[0]
        E, K = np.asarray(rc.get_extrinsic_matrix(), float), np.asarray(rc.get_intrinsic_matrix(), float)
        R, t = E[:, :3], E[:, 3]  # world -> OpenCV camera
        u, v = np.meshgrid(np.arange(SIZE[0]) + 0.5, np.arange(SIZE[1]) + 0.5)
        ray_cam = np.stack([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], np.ones_like(u)], -1)  # z = 1
        eye = -R.T @ t
        ray_w = ray_cam @ R  # R.T @ ray per pixel
        s = (table_z - eye[2]) / ray_w[..., 2]  # camera-z depth of the plane (m), the ray has z_cam = 1
        hit = eye + s[..., None] * ray_w
        hx, hy = TABLE_HALF_XY[0] - 0.01, TABLE_HALF_XY[1] - 0.01
        on_top = (s > 0) & (np.abs(hit[..., 0]) < hx) & (np.abs(hit[..., 1]) < hy)
        plane_mm = s * 1000.0
        d = obs[f"{name}_depth"][..., 0].astype(float)
        assert on_top.mean() > 0.2
        err = d[on_top] - plane_mm[on_top]
        assert (np.abs(err) <= 3).mean() > 0.8, name  # most of the top is bare table (97 % here)
        assert (err <= 3).all(), name  # nothing behind the table top
        assert (d[on_top] > 0).all()


@pytest.mark.sim
def test_camera_subset_renders_the_same_pixels(aloha4):
    env4, obs4 = aloha4
    env3 = gym.make(TASK, obs_mode="rgbd+state", image_size=SIZE, cameras=["right_wrist", "head", "left_wrist"])
    try:
        obs3 = _obs_after_steps(env3)
        assert env3.unwrapped.camera_names == ("head", "left_wrist", "right_wrist")
        assert sorted(env3.unwrapped.backend.scene.sensors) == ["cam_high", "cam_left_wrist", "cam_right_wrist"]
        assert env3.observation_space.contains(obs3) and "low_rgb" not in obs3 and "low_depth" not in obs3
        np.testing.assert_array_equal(obs3["state"], obs4["state"])
        for cam in ("head", "left_wrist", "right_wrist"):
            np.testing.assert_array_equal(obs3[f"{cam}_rgb"], obs4[f"{cam}_rgb"])
            np.testing.assert_array_equal(obs3[f"{cam}_depth"], obs4[f"{cam}_depth"])
        assert env3.render().shape == (48, 64, 3)
    finally:
        env3.close()


@settings(max_examples=40, deadline=None)
@given(st.one_of(st.text(max_size=12), st.integers(), st.floats(allow_nan=True), st.none().map(lambda _: ()),
                 st.lists(st.one_of(st.sampled_from(ALOHA_CAMS + ("cam_high", "top", "")), st.integers()),
                          min_size=1, max_size=5)))
def test_hostile_camera_lists_are_refused(cameras):
    if isinstance(cameras, list) and all(isinstance(c, str) for c in cameras) and set(cameras) <= set(ALOHA_CAMS) \
            and len(set(cameras)) == len(cameras):
        return  # a valid subset
    with pytest.raises(ValueError, match=r"cameras .*rule: distinct names among"):
        gym.make(TASK, obs_mode="rgbd", cameras=cameras)


def _mesh(path: Path) -> tuple[np.ndarray, np.ndarray]:
    txt = path.read_text()
    v = np.array(re.findall(r"^v (\S+) (\S+) (\S+)$", txt, re.M), float)
    f = np.array(re.findall(r"^f (\d+) (\d+) (\d+)$", txt, re.M), int) - 1
    return v, f


def _area(v, f) -> float:
    return float(np.linalg.norm(np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]]), axis=1).sum() / 2)


def test_clustered_visual_mesh_stays_on_the_surface():
    """The gripper's visual mesh: far fewer triangles, no degenerate face, every vertex within
    a cell diagonal of the original ones, about the same area."""
    full = Path(viperx_urdf()).parent / "vx300s_7_gripper.obj"
    v, f = _mesh(full)
    cv, cf = cluster_vertices(v, f, VISUAL_CELL_M)
    assert len(cf) < 0.3 * len(f)
    assert ((cf[:, 0] != cf[:, 1]) & (cf[:, 1] != cf[:, 2]) & (cf[:, 0] != cf[:, 2])).all()
    from scipy.spatial import cKDTree

    diag = np.sqrt(3) * VISUAL_CELL_M
    assert cKDTree(v).query(cv)[0].max() <= diag and cKDTree(cv).query(v)[0].max() <= diag
    assert _area(cv, cf) == pytest.approx(_area(v, f), rel=0.1)
    vis, vf = _mesh(full.with_suffix(".visual.obj"))  # what the URDF's <visual> loads
    np.testing.assert_allclose(vis, cv, atol=1e-6)
    np.testing.assert_array_equal(vf, cf)


@pytest.mark.sim
def test_decimated_meshes_barely_change_the_images(aloha4, monkeypatch):
    """The same state rendered with gym-aloha's full visual meshes: < 2 % of the pixels of
    any camera differ by more than 8 levels of rgb or 3 mm of depth (silhouette edges)."""
    import vlgsim.sim.viperx_agent as viperx_agent

    urdf = Path(viperx_urdf())
    full = urdf.with_name("vx300s_fullvisual.urdf")
    full.write_text(urdf.read_text().replace(".visual.obj", ".obj"))
    monkeypatch.setattr(viperx_agent, "viperx_urdf", lambda: str(full))
    _, obs = aloha4
    env = gym.make(TASK, obs_mode="rgbd", image_size=SIZE)
    try:
        ref = _obs_after_steps(env)
    finally:
        env.close()
    any_change = 0
    for cam in ALOHA_CAMS:
        rgb = np.abs(obs[f"{cam}_rgb"].astype(int) - ref[f"{cam}_rgb"].astype(int)).max(-1)
        d0, d1 = obs[f"{cam}_depth"][..., 0].astype(int), ref[f"{cam}_depth"][..., 0].astype(int)
        changed = (rgb > 8) | (np.abs(d0 - d1) > 3)
        assert changed.mean() < 0.02, cam
        any_change += int(((rgb > 0) | (d0 != d1)).sum())
    assert any_change > 0  # the other meshes were drawn
