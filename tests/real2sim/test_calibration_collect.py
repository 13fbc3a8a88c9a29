"""`vlgsim real calibrate --robot franka:HOST`: the safe preset through the safety layer on
franky-sim (a MuJoCo FR3 speaking libfranka), one image per pose rendered in SAPIEN from the
arm's measured TCP pose; dry run by default. ChArUco boards rendered and detected like the
chessboard."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from typer.testing import CliRunner

from vlgsim.cli import app
from vlgsim.real2sim.calibration import CalibrationError, CharucoBoard, HandEyeResult, make_board
from vlgsim.real2sim.calibration_collect import plan_preset, preset_tcp_poses
from vlgsim.real2sim.franka import FrankaRobot
from vlgsim.real2sim.franka_kinematics import fk
from vlgsim.real2sim.limits.franka import franka_limits
from vlgsim.real2sim.run import OBSERVE_Q

pytestmark = pytest.mark.sim


def _calibrate(args):
    return CliRunner().invoke(app, ["real", "calibrate", *args])


def _error(text: str) -> tuple[float, float]:
    m = re.search(r"error vs the simulated truth ([\d.]+) mm / ([\d.]+) deg", text)
    assert m, text
    return float(m.group(1)), float(m.group(2))


def test_preset_is_reachable_and_turns_about_many_axes():
    L = franka_limits("fr3")
    poses = preset_tcp_poses(12)
    moves = plan_preset(OBSERVE_Q, poses, L.safe_lower, L.safe_upper)
    for T, move in zip(poses, moves):
        q = move[-1].positions
        assert np.all(q >= L.safe_lower) and np.all(q <= L.safe_upper)
        assert np.linalg.norm(fk(q)[:3, 3] - T[:3, 3]) < 1e-3
        steps = np.diff(np.stack([fk(c.positions)[:3, 3] for c in move]), axis=0)
        assert np.linalg.norm(steps, axis=1).max() < 0.035  # small steps, far inside the 7.5 cm safety cap
    axes = []
    for a, b in zip(poses, poses[1:]):
        from scipy.spatial.transform import Rotation

        rv = Rotation.from_matrix(a[:3, :3].T @ b[:3, :3]).as_rotvec()
        assert np.degrees(np.linalg.norm(rv)) > 20  # Tsai's rule: large relative rotations ...
        axes.append(rv / np.linalg.norm(rv))
    assert np.linalg.svd(np.stack(axes), compute_uv=False)[-1] > 0.2  # ... about axes spanning 3-D
    with pytest.raises(CalibrationError, match="rule: 3 <= views <= 64"):
        preset_tcp_poses(2)


def test_dry_run_is_the_default_on_franky_sim(franky_sim_host, tmp_path):
    with FrankaRobot(franky_sim_host) as robot:
        q0 = robot.observe().joint_positions
    res = _calibrate(["--robot", f"franka:{franky_sim_host}", "--setup", "eye_in_hand", "--views", "5",
                      "--out", str(tmp_path / "calib.json")])
    assert res.exit_code == 0, res.output + repr(res.exception)
    assert "DRY RUN" in res.output and "passed the safety checks" in res.output
    assert not (tmp_path / "calib.json").exists()
    with FrankaRobot(franky_sim_host) as robot:
        assert np.abs(robot.observe().joint_positions - q0).max() < 1e-3, "franky-sim moved during a dry run"


def test_collect_on_franky_sim_recovers_the_wrist_camera(franky_sim_host, tmp_path):
    """--execute: franky-sim's arm moves through the preset; the camera image at each pose is
    the board rendered from the arm's measured TCP pose; the wrist camera comes back within
    2 mm / 0.5 deg, and the views are kept as a --from folder that calibrates the same."""
    out = tmp_path / "calib.json"
    res = _calibrate(["--robot", f"franka:{franky_sim_host}", "--setup", "eye_in_hand", "--views", "5", "--execute",
                      "--out", str(out)])
    assert res.exit_code == 0, res.output + repr(res.exception)
    t_mm, r_deg = _error(res.output)
    assert t_mm <= 2.0 and r_deg <= 0.5, res.output
    poses = np.array(json.loads((tmp_path / "calib_views" / "poses.json").read_text()))
    assert len(poses) == 5 and len(list((tmp_path / "calib_views" / "images").glob("*.png"))) == 5
    assert np.ptp(poses[:, :3, 3], axis=0).max() > 0.1  # the arm really went around the preset
    planned = preset_tcp_poses(5)
    assert max(np.linalg.norm(p[:3, 3] - T[:3, 3]) for p, T in zip(poses, planned)) < 0.03  # measured ~ planned
    r = HandEyeResult.load(out)
    assert r.n_views == 5 and r.reprojection_rms_px < 1.0
    again = _calibrate(["--from", str(tmp_path / "calib_views"), "--setup", "eye_in_hand", "--out", str(tmp_path / "c2.json")])
    assert again.exit_code == 0, again.output
    np.testing.assert_allclose(HandEyeResult.load(tmp_path / "c2.json").X, r.X, atol=1e-6)


def test_charuco_round_trip_through_the_cli(tmp_path):
    res = _calibrate(["--robot", "sim-views", "--board", "charuco", "--setup", "eye_to_hand", "--views", "10",
                      "--noise-px", "0.5", "--seed", "1", "--out", str(tmp_path / "calib.json")])
    assert res.exit_code == 0, res.output + repr(res.exception)
    t_mm, r_deg = _error(res.output)
    assert t_mm <= 2.0 and r_deg <= 0.5, res.output
    back = HandEyeResult.load(tmp_path / "calib.json")
    assert isinstance(back.board, CharucoBoard) and back.board == make_board("charuco")


def test_charuco_rules():
    b = make_board("charuco", 7, 5, 0.03)
    assert b.object_points().shape == (24, 3) and len(b.black_rects()) > 24
    with pytest.raises(CalibrationError, match=r"0 of 24 ChArUco corners found; rule: at least 12"):
        b.detect(np.full((480, 640, 3), 255, np.uint8), view=4)
    with pytest.raises(CalibrationError, match="board 'aruco'; rule: one of"):
        make_board("aruco")
    with pytest.raises(CalibrationError, match="marker_m < square_m"):
        CharucoBoard(7, 5, 0.03, 0.04)
    with pytest.raises(CalibrationError, match="no more than DICT_4X4_50"):
        CharucoBoard(15, 11, 0.02, 0.012)


def test_sim_panda_dry_run(tmp_path):
    """--robot sim: the SAPIEN Panda stand-in behind the same safety layer; dry run by default."""
    res = _calibrate(["--robot", "sim", "--setup", "eye_to_hand", "--views", "5", "--out", str(tmp_path / "calib.json")])
    assert res.exit_code == 0, res.output + repr(res.exception)
    assert "DRY RUN" in res.output and "sim-panda" in res.output and not (tmp_path / "calib.json").exists()
