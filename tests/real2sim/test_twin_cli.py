"""`vlgsim real calibrate` and `vlgsim real twin`: a simulated calibration end to end, and the
errors a bad request gets."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from vlgsim.cli import app

pytestmark = pytest.mark.sim


def test_calibrate_sim_writes_extrinsic(tmp_path):
    out = tmp_path / "calib.json"
    r = CliRunner().invoke(app, ["real", "calibrate", "--robot", "sim-views", "--views", "8", "--out", str(out)])
    assert r.exit_code == 0, r.output
    d = json.loads(out.read_text())
    assert d["setup"] == "eye_to_hand" and d["n_views"] == 8 and d["reprojection_rms_px"] < 1.5
    np.testing.assert_allclose(np.load(tmp_path / "calib.base2cam.npy"), d["base2cam"])
    mm = float(r.output.split("error vs the simulated truth ")[1].split(" mm")[0])
    assert mm < 2.0


def test_calibrate_and_twin_errors_name_the_rule(tmp_path):
    r = CliRunner().invoke(app, ["real", "calibrate", "--robot", "franka", "--out", str(tmp_path / "c.json")])
    assert r.exit_code == 2 and "rule: franka:HOST" in r.output
    r = CliRunner().invoke(app, ["real", "calibrate", "--board", "aruco", "--out", str(tmp_path / "c.json")])
    assert r.exit_code == 2 and "board 'aruco'; rule: one of" in r.output
    (tmp_path / "frame").mkdir()
    r = CliRunner().invoke(app, ["real", "twin", "--frame", str(tmp_path / "frame"), "--out", str(tmp_path / "t")])
    assert r.exit_code == 2 and "rgb.png is missing" in r.output
    r = CliRunner().invoke(app, ["real", "twin", "--out", str(tmp_path / "t")])
    assert r.exit_code == 2 and "--frame DIR or --from-sim SEED" in r.output
