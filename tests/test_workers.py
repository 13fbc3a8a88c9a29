"""Batch commands on a real local Ray cluster (2 CPUs, loopback only): the same rows and files
as the local backend, a Ray worker SIGKILLed mid-run loses nothing, and a run whose driver
was killed resumes. One Ray instance serves the whole module (starting Ray is slow here)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from vlgsim.cli import app
from vlgsim.sim_eval.rollout import EvalJob, evaluate
from vlgsim.workers import Backend, WorkerSetupError, WorkerSpec, ray_init, ray_shutdown, run_units

pytestmark = pytest.mark.sim
RAY = Backend("ray", 2)
SEEDS = [0, 1, 2, 3]
JOB = EvalJob("RealVLG-Grasp-v0", "oracle", {})


def _row(r) -> tuple:
    return (r.episode, r.seed, r.instruction, r.action, r.success, r.failure_mode, r.reward, r.steps, r.error,
            json.dumps(r.extra, sort_keys=True))


def _json_row(d: dict) -> dict:
    return {k: v for k, v in d.items() if k != "wall_s"}


@pytest.fixture(scope="module")
def ray_cluster():
    import ray

    started = ray_init(RAY)
    yield ray.get_runtime_context().gcs_address
    ray_shutdown(started)


@pytest.fixture(scope="module")
def local_rows():
    return evaluate(JOB, SEEDS, workers=1)


def _ray_worker_pids() -> list[int]:
    """Processes of our Ray actors (Ray titles them ``ray::VlgsimWorker``)."""
    pids = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if (p / "cmdline").read_bytes().startswith(b"ray::VlgsimWorker"):
                    pids.append(int(p.name))
            except OSError:
                continue
    return pids


def test_backend_rules():
    with pytest.raises(ValueError, match="rule: one of"):
        Backend("dask", 2)
    with pytest.raises(ValueError, match="needs --backend ray"):
        Backend("local", 2, "auto")
    with pytest.raises(ValueError, match="integer >= 1"):
        Backend("ray", 0)


def _descendants(root: int) -> set[int]:
    parent = {}
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                parent[int(p.name)] = int((p / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, grew = {root}, True
    while grew:
        new = {c for c, pp in parent.items() if pp in found} - found
        found |= new
        grew = bool(new)
    return found


LOOPBACK_HEX = {"0100007F", "00000000000000000000000001000000", "0000000000000000FFFF00000100007F"}
"""127.0.0.1, ::1 and ::ffff:127.0.0.1 as /proc/net/tcp{,6} write them."""


def _listening(pids: set[int]) -> list[tuple[str, int]]:
    """(address in /proc/net hex, port) of every TCP socket in LISTEN held by ``pids``."""
    inodes = set()
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    out = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            f = line.split()
            if f[3] == "0A" and f[9] in inodes:  # 0A: LISTEN
                addr, port = f[1].split(":")
                out.append((addr, int(port, 16)))
    return out


def test_private_ray_listens_on_loopback_only(ray_cluster):
    assert ray_cluster.rsplit(":", 1)[0] == "127.0.0.1", ray_cluster
    listening = _listening(_descendants(os.getpid()))
    assert len(listening) >= 3, listening  # GCS, raylet, workers ...
    assert all(addr in LOOPBACK_HEX for addr, _ in listening), listening


def test_ray_eval_rows_match_local_even_when_a_worker_is_sigkilled(ray_cluster, local_rows):
    killed = []

    def on_result(r, frames):
        if not killed:  # mid-run: other episodes are still running or queued
            pids = _ray_worker_pids()
            assert pids
            os.kill(pids[0], signal.SIGKILL)
            killed.append(pids[0])

    rows = evaluate(JOB, SEEDS, on_result=on_result, backend=RAY)
    assert killed
    assert [_row(r) for r in rows] == [_row(r) for r in local_rows]
    assert sum(r.success for r in rows) >= 3 and all(r.failure_mode != "error" for r in rows)


def test_eval_resumes_after_the_driver_is_killed(ray_cluster, local_rows, tmp_path):
    out = tmp_path / "run"
    n = 3 * len(SEEDS)  # enough episodes that some are still to run when the first row appears
    args = ["eval", "--policy", "oracle", "--episodes", str(n), "--seed", "0", "--video-episodes", "0",
            "--backend", "ray", "--workers", "2", "--address", ray_cluster, "--out", str(out)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(__file__).resolve().parents[1]),
                                                       os.environ.get("PYTHONPATH", "")]),
               RAY_AUTH_MODE="token")  # Ray: a driver joining an explicit address sends this machine's token
    driver = subprocess.Popen([sys.executable, "-m", "vlgsim.cli", *args], env=env, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log = out / "episodes.jsonl"
    for _ in range(12_000):  # poll every 50 ms for the first row (a bound, not a timing assertion)
        if driver.poll() is not None or (log.exists() and len(log.read_text().splitlines()) >= 1):
            break
        time.sleep(0.05)
    assert driver.poll() is None, "the driver finished before it could be killed"
    os.killpg(driver.pid, signal.SIGKILL)  # the driver and anything it started; the cluster is the fixture's
    driver.wait()
    before = [json.loads(x) for x in log.read_text().splitlines() if x.strip()]
    assert 1 <= len(before) < n
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert f"resuming: {len(before)} of {n}" in res.output
    rows = sorted((json.loads(x) for x in log.read_text().splitlines()), key=lambda d: d["episode"])
    assert [d["episode"] for d in rows] == list(range(n))  # nothing lost, nothing twice
    assert [_json_row(d) for d in rows[:len(SEEDS)]] == [_json_row(r.to_json()) for r in local_rows]
    report = json.loads((out / "report.json").read_text())
    assert report["backend"] == "ray" and report["n_episodes"] == n


def test_ray_generate_realvlg_writes_the_files_local_writes(ray_cluster, tmp_path):
    from vlgsim.data.realvlg import DatasetConfig, generate

    cfg = DatasetConfig(n=3, seed=5, image_size=(160, 120))
    generate(cfg, tmp_path / "local")
    generate(cfg, tmp_path / "ray", backend=RAY)
    files = lambda root: sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())  # noqa: E731
    names = files(tmp_path / "local")
    assert names == files(tmp_path / "ray") and len([n for n in names if n.startswith("samples/")]) == 3
    for n in names:
        if n != "manifest.json":
            assert (tmp_path / "local" / n).read_bytes() == (tmp_path / "ray" / n).read_bytes(), n


def test_ray_synth_grasps_match_local(ray_cluster):
    from vlgsim.grasp.dex_pipeline import synthesize_grasp_sets
    from vlgsim.grasp.dex_synthesis import SynthesisConfig

    kw = dict(per_part=2, device="cpu", cfg=SynthesisConfig(iterations=5))
    local = {gs.category: gs for gs in synthesize_grasp_sets(["mug", "block"], **kw)}
    ray_sets = {gs.category: gs for gs in synthesize_grasp_sets(["mug", "block"], backend=RAY, **kw)}
    assert set(ray_sets) == {"mug", "block"} and len(set(local["mug"].part)) == 2  # mug: 2 parts, 2 units
    for c, gs in local.items():
        other = ray_sets[c]
        assert np.array_equal(gs.grasps, other.grasps) and np.array_equal(gs.valid, other.valid)
        assert list(gs.part) == list(other.part) and list(gs.caption) == list(other.caption)


def _square(state, u):
    if u == "boom":
        raise ValueError("unit 'boom' is not a number")
    return state["k"] * u * u


def _state():
    return {"k": 2}


def _bad_setup():
    raise ValueError("policy 'telepathy' is unknown")


def test_ray_units_stream_results_and_raise_unit_errors(ray_cluster):
    from ray import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # Ray workers cannot import this test module
    spec = WorkerSpec(_state, _square)
    got = dict(run_units(spec, [1, 2, 3, 4, 5], RAY))
    assert got == {0: 2, 1: 8, 2: 18, 3: 32, 4: 50}
    with pytest.raises(ValueError, match="unit 'boom'"):
        list(run_units(spec, [1, "boom"], RAY))
    with pytest.raises(WorkerSetupError, match="policy 'telepathy' is unknown"):
        list(run_units(WorkerSpec(_bad_setup, _square), [1, 2, 3], RAY))


def _thread_settings(state, u):
    import torch

    from vlgsim.workers import ONE_THREAD_ENV

    return {k: os.environ.get(k) for k in ONE_THREAD_ENV} | {"torch_threads": torch.get_num_threads(), "pid": os.getpid()}


def test_local_workers_run_one_thread_each_and_the_driver_keeps_its_settings(monkeypatch):
    from vlgsim.workers import ONE_THREAD_ENV

    for k in ONE_THREAD_ENV:
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # a user's own setting is passed on, not overridden
    got = dict(run_units(WorkerSpec(_state, _thread_settings), list(range(6)), Backend("local", 2)))
    assert sorted(got) == list(range(6)) and os.getpid() not in {g["pid"] for g in got.values()}  # spawned workers
    for g in got.values():
        assert (g["LP_NUM_THREADS"], g["OPENBLAS_NUM_THREADS"], g["MKL_NUM_THREADS"]) == ("1", "1", "1")
        assert g["OMP_NUM_THREADS"] == "3" and g["torch_threads"] == 1
    assert os.environ["OMP_NUM_THREADS"] == "3"
    assert all(k not in os.environ for k in ONE_THREAD_ENV if k != "OMP_NUM_THREADS")


def _state_with_exit_marker(marker: str):
    """A worker state whose process writes ``marker`` in an exit handler (as libraries'
    exit-time clean-up does), unless the worker ends without the interpreter's teardown."""
    import atexit

    atexit.register(lambda: Path(marker).write_text(str(os.getpid())))
    return {"k": 2}


def _square_pid(state, u):
    return state["k"] * u * u, os.getpid()


def test_local_workers_end_without_teardown_after_the_last_result(tmp_path):
    """The pool returns once every result is in, and its workers end with os._exit: every
    result arrives (written to the pool's pipe before the exit), the exit handlers registered
    during set-up do not run, and the worker processes are gone soon after."""
    import functools

    marker = tmp_path / "teardown-ran.txt"
    spec = WorkerSpec(functools.partial(_state_with_exit_marker, str(marker)), _square_pid)
    got = dict(run_units(spec, list(range(8)), Backend("local", 2)))
    assert {i: r[0] for i, r in got.items()} == {i: 2 * i * i for i in range(8)}
    pids = {r[1] for r in got.values()}
    assert 1 <= len(pids) <= 2 and os.getpid() not in pids  # on a busy machine one worker may run them all
    for _ in range(600):  # bounded poll: the workers exit on their own (shutdown without waiting)
        if not any(Path(f"/proc/{p}").exists() and "zombie" not in Path(f"/proc/{p}/status").read_text().lower()
                   for p in pids):
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"worker processes {pids} still running after the run")
    assert not marker.exists(), "a worker ran the interpreter's exit handlers (teardown not skipped)"
