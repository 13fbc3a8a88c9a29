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


def test_carried_physx_gpu_library_is_installed_where_sapien_looks(tmp_path, monkeypatch):
    import zipfile

    import sapien

    gc = _load()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # SAPIEN's place is under Path.home()
    expected = tmp_path / "home" / ".sapien" / "physx" / sapien.physx.version() / "libPhysXGpu_64.so"
    assert gc._physx_gpu_library() == dict(present=False, path=str(expected), physx_version=sapien.physx.version(),
                                           bytes=None)
    so = tmp_path / "libPhysXGpu_64.so"
    so.write_bytes(b"\x7fELF" + b"\0" * 60)
    assert gc.install_physx_gpu_library(so) == expected and expected.read_bytes() == so.read_bytes()
    expected.unlink()
    with zipfile.ZipFile(tmp_path / "linux-so.zip", "w") as z:  # SAPIEN's release asset holds the library
        z.writestr("linux-so/libPhysXGpu_64.so", b"\x7fELF zipped")
    gc.install_physx_gpu_library(tmp_path / "linux-so.zip")
    assert expected.read_bytes() == b"\x7fELF zipped" and gc._physx_gpu_library()["present"]
    (tmp_path / "notes.txt").write_text("not a library")
    with pytest.raises(ValueError, match="no ELF header"):
        gc.install_physx_gpu_library(tmp_path / "notes.txt")
    with zipfile.ZipFile(tmp_path / "empty.zip", "w") as z:
        z.writestr("readme.md", "nothing")
    with pytest.raises(ValueError, match="holds no libPhysXGpu_64.so"):
        gc.install_physx_gpu_library(tmp_path / "empty.zip")
    with pytest.raises(FileNotFoundError, match="no such file"):
        gc.install_physx_gpu_library(tmp_path / "missing.so")
