"""Our LeRobot v3.0 demos read and appended to by lerobot 0.4.4's own ``LeRobotDataset``.

lerobot 0.4.x pins torch<2.11 (a multi-GB CUDA download here), so it runs in a side venv
(``<venv>-lerobot`` beside the running venv, made by ``scripts/setup_lerobot_venv.sh`` from
``make setup``, or here on first use): ``pip install --no-deps lerobot==0.4.4``, everything else (torch, datasets, pandas,
pyarrow, av, huggingface_hub) from the main venv through a ``.pth`` file. The probe
(``lerobot_probe.py``) documents the two pieces it substitutes (torchvision and the video
decoder, which have no CPU-torch build on PyPI)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from vlgsim.data.lerobot import LeRobotDataset

pytestmark = pytest.mark.sim

REPO = Path(__file__).resolve().parents[2]
PROBE = Path(__file__).with_name("lerobot_probe.py")


@pytest.fixture(scope="module")
def lerobot_python() -> Path:
    venv = Path(os.environ.get("VLGSIM_LEROBOT_VENV", sys.prefix + "-lerobot"))  # scripts/setup.sh: ${VENV}-lerobot
    if not (venv / ".lerobot-ready").exists():
        subprocess.run(["bash", str(REPO / "scripts/setup_lerobot_venv.sh"), sys.executable, str(venv)], check=True,
                       timeout=900)
    return venv / "bin/python"


@pytest.fixture(scope="module")
def demos(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demos")
    subprocess.run([sys.executable, "-m", "vlgsim.cli", "generate", "demos", "--tasks",
                    "Bimanual-PickColor-v0,Bimanual-ArmChoice-v0", "--episodes", "2", "--width", "64", "--height", "64",
                    "--embodiment", "panda",
                    "--out", str(out)], check=True, timeout=900, env=dict(os.environ, PYTHONPATH=str(REPO)))
    return out


def test_lerobot_reads_and_appends_our_demos(lerobot_python, demos):
    ours = LeRobotDataset(demos)
    before = {e["episode_index"]: ours.episode(e["episode_index"]) for e in ours.episodes}
    videos = {(e, k): ours.video(e, k) for e in before for k in ours.video_keys}
    stats_rows = pq.read_table(demos / "meta/episodes/chunk-000/file-000.parquet").to_pylist()

    run = subprocess.run([str(lerobot_python), str(PROBE), str(demos)], capture_output=True, text=True, timeout=900,
                         env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert run.returncode == 0, run.stderr[-3000:]
    seen = json.loads(run.stdout.strip().splitlines()[-1])

    assert seen["total_episodes"] == len(before) == 2
    assert seen["num_frames"] == sum(len(ep) for ep in before.values())
    for item in seen["items"]:  # first and last frame of every episode
        ep = before[item["episode_index"]]
        assert item["task_type"] == "str" and item["task"] == ep.task  # the instruction, not an int
        assert item["task"] in (ep.meta["instruction_raw"], ep.meta["instruction_fine"])
        np.testing.assert_allclose(item["state"], ep.frames["observation.state"][item["frame_index"]], rtol=1e-6)
        assert item["image_shape"] == [3, 64, 64]
        for k, mean in zip(ours.video_keys, item["image_mean"]):  # lerobot found the episode's own frame
            np.testing.assert_allclose(mean, videos[(item["episode_index"], k)][item["frame_index"]].mean() / 255,
                                       atol=1e-6)
    for key, stat_names in seen["stats_keys"].items():
        assert {"min", "max", "mean", "std", "count", "q01", "q10", "q50", "q90", "q99"} <= set(stat_names), key
    assert set(seen["stats_keys"]) >= {"observation.state", "action", *ours.video_keys}
    assert seen["image_stat_shape"] == [3, 1, 1]
    # our per-episode stats columns agree with lerobot's compute_episode_stats on the same numbers
    for key, theirs in seen["lerobot_episode0_stats"].items():
        lo, hi = np.asarray(theirs["min"]), np.asarray(theirs["max"])
        for stat, value in theirs.items():
            mine = np.asarray(stats_rows[0][f"stats/{key}/{stat}"], np.float64)
            # quantiles: lerobot's 5000-bin histogram estimate of the same order statistic; std: lerobot's
            # one-pass sqrt(E[x^2] - E[x]^2) in float32 loses ~sqrt(eps32 * E[x^2]) (ours is two-pass, float64)
            mean_sq = np.asarray(theirs["mean"]) ** 2 + np.asarray(theirs["std"]) ** 2
            tol = {"std": np.sqrt(8 * np.finfo(np.float32).eps * mean_sq) + 1e-6}.get(
                stat, (hi - lo) / 2500 + 1e-6 if stat.startswith("q") else 1e-5 * (1 + np.abs(value)))
            np.testing.assert_array_less(np.abs(mine - np.asarray(value)), tol + 1e-12, err_msg=f"{key}/{stat}")

    app = seen["appended"]
    assert app["total_episodes"] == 3 and app["num_frames"] == seen["num_frames"] + 4
    assert app["last_task"] == "Hand the bar to the other arm (appended by lerobot)." and app["last_episode_index"] == 2
    assert app["first_task"] == seen["items"][0]["task"] and app["stats_has_q99"]
    # and our reader reads the dataset lerobot appended to
    after = LeRobotDataset(demos)
    assert len(after) == 3 and after.episode(2).task == app["last_task"] and len(after.episode(2)) == 4
    assert after.video(2, after.video_keys[0]).shape == (4, 64, 64, 3)
    assert after.episode(0).meta["instruction_fine"] == before[0].meta["instruction_fine"]
