"""Cameras: the replay camera recorded from the sim env, the RealSense import guard."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

from vlgsim.real2sim.cameras import CameraFrame, RealSenseCamera, ReplayCamera, make_camera, write_replay_frame
from vlgsim.scenes import CameraSpec
from vlgsim.scenes.camera import deproject

pytestmark = pytest.mark.sim


def test_replay_plays_the_recorded_frames_in_the_robot_base_frame(replay_dir):
    cam = make_camera(f"replay:{replay_dir}")
    assert isinstance(cam, ReplayCamera) and cam.episodes == [0, 1]
    f0 = cam.read()
    assert f0.rgb.shape == (240, 320, 3) and f0.rgb.dtype == np.uint8 and f0.depth_m.dtype == np.float32
    assert np.allclose(f0.intrinsic, CameraSpec.d435(320, 240).intrinsic, atol=1e-3)
    assert f0.info["seed"] == 0 and f0.info["instruction"] and len(f0.info["grasp_rects"]) > 0
    # the labelled grasp centre, deprojected with the recorded depth and base-frame extrinsic, lands
    # on the labelled grasp (base frame: the env's world shifted by the robot base, -0.615 m in x)
    x, y = f0.info["grasp_rects"][0][:2]
    p = deproject([[x, y]], [f0.depth_m[int(y), int(x)]], f0.intrinsic, f0.extrinsic)[0]
    g = np.array(f0.info["grasp_world_base"][0][:3])
    assert np.linalg.norm(p[:2] - g[:2]) < 0.01 and 0.3 < g[0] < 0.9
    # a single-frame episode keeps returning its frame; start_episode jumps and wraps around
    assert np.array_equal(cam.read().rgb, f0.rgb)
    cam.start_episode(1)
    f1 = cam.read()
    assert f1.info["seed"] == 1 and not np.array_equal(f1.rgb, f0.rgb)
    cam.start_episode(2)
    assert cam.read().info["seed"] == 0


def test_replay_folder_written_by_hand(tmp_path):
    rgb = np.zeros((4, 6, 3), np.uint8)
    for i in range(3):
        write_replay_frame(tmp_path, i, CameraFrame(rgb + i, np.full((4, 6), 0.5, np.float32), np.eye(3), np.eye(4),
                                                    float(i), {"episode": 0}))
    cam = ReplayCamera(tmp_path)
    assert [int(cam.read().rgb[0, 0, 0]) for _ in range(5)] == [0, 1, 2, 2, 2]
    assert json.loads((tmp_path / "frames.jsonl").read_text().splitlines()[1])["timestamp_s"] == 1.0


def test_bad_camera_input_has_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="frames.jsonl"):
        ReplayCamera(tmp_path)
    with pytest.raises(ValueError, match="rule"):
        make_camera("webcam:0")
    with pytest.raises(ValueError, match="uint8"):
        CameraFrame(np.zeros((4, 6, 3), np.float32), np.zeros((4, 6), np.float32), np.eye(3), np.eye(4), 0.0)


@pytest.mark.skipif(importlib.util.find_spec("pyrealsense2") is not None, reason="pyrealsense2 is installed here")
def test_realsense_without_pyrealsense2_says_how_to_install():
    with pytest.raises(ImportError, match=r"vlgsim\[realsense\]"):
        RealSenseCamera(np.eye(4))
