"""benchmarks/gpu_check.py on CPU with tiny counts (``--smoke``): every section runs for real
(physx_cpu RealVLG and PickCube stepping, the batched oracle grasp, Warp synthesis on cpu),
and a failing section is recorded while the others still run."""

import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_check.py"


def _load():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.sim
def test_smoke_runs_every_section_and_records_a_failing_one(tmp_path, capsys):
    gc = _load()
    out = tmp_path / "gpu_check.json"
    report = gc.main(["--smoke", "--no-isolate", "--warp-devices", "cpu,no_such_device", "--out", str(out)])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert json.loads(last) == json.loads(out.read_text()) == json.loads(json.dumps(report))
    row = report["closed_loop"]["1"]
    for name in ("realvlg_grasp", "pickcube_v1"):
        assert "error" not in row[name], row[name]
        assert row[name]["env_steps_per_s"] > 0 and row[name]["finite"] and row[name]["device"] == "cpu"
    assert row["ratio"] > 0
    oracle = report["oracle_batched"]
    assert "error" not in oracle, oracle
    assert oracle["num_envs"] == 1 and oracle["all_terminated"] and sum(oracle["failure_modes"].values()) == 1
    assert oracle["success_rate"] in (0.0, 1.0) and oracle["successes"] == round(oracle["success_rate"])
    warp = report["warp_synthesis"]["cpu"]
    assert warp["finite"] and warp["grasps_per_s"] > 0 and warp["energy_decreased"]
    bad = report["warp_synthesis"]["no_such_device"]
    assert "no_such_device" in bad["error"]
    assert report["errors"] == [f"warp_synthesis[no_such_device]: {bad['error']}"]


def test_child_process_reports_errors_and_timeouts():
    gc = _load()
    bad = gc.run_child("warp", dict(device="cuda:99", grasps=2, iterations=2), timeout_s=120, isolate=True)
    assert "cuda:99" in bad["error"] and bad["wall_s"] > 0
    slow = gc.run_child("warp", dict(device="cpu", grasps=2, iterations=100000), timeout_s=1, isolate=True)
    assert slow["error"].startswith("timed out after 1 s")
    unknown = gc.run_child("nonsense", {}, timeout_s=120, isolate=True)
    assert "rule: realvlg, pickcube, oracle or warp" in unknown["error"]
