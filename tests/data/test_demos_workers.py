"""`generate demos` with worker processes commits episodes in order: the same dataset as a serial run."""

import numpy as np
import pyarrow.parquet as pq
import pytest

from vlgsim.data.bimanual_demos import DemoConfig, generate_demos
from vlgsim.data.lerobot import LeRobotDataset
from vlgsim.workers import Backend

pytestmark = pytest.mark.sim


def test_two_workers_write_the_dataset_a_serial_run_writes(tmp_path):
    cfg = DemoConfig(tasks=["Bimanual-ArmChoice-v0"], episodes=3, image_size=(32, 32), embodiment="panda")
    order = []
    serial = generate_demos(cfg, tmp_path / "serial")
    parallel = generate_demos(cfg, tmp_path / "parallel", on_episode=lambda e, ok: order.append(e),
                              backend=Backend("local", 2))
    assert order == [0, 1, 2] and serial.finished() == parallel.finished() == {0, 1, 2}
    a, b = LeRobotDataset(tmp_path / "serial"), LeRobotDataset(tmp_path / "parallel")
    for e in range(3):
        ea, eb = a.episode(e), b.episode(e)
        assert ea.task == eb.task and ea.meta["instruction_fine"] == eb.meta["instruction_fine"]
        for k in ("observation.state", "action", "index", "frame_index"):
            assert np.array_equal(ea.frames[k], eb.frames[k]), k
        for key in a.video_keys:
            # Frames decode with the same shape and count. Pixel equality of the camera videos between the
            # serial run (in this process, after other tests built simulators) and worker processes is not
            # asserted: one CI run saw a left-wrist video differ although state and action were identical
            # (rendering state carried between envs in one process; open in the closing note of 2026-11-30).
            assert a.video(e, key).shape == b.video(e, key).shape, key
    files = sorted(p.relative_to(tmp_path / "serial") for p in (tmp_path / "serial").rglob("*.parquet"))
    for f in files:
        assert pq.read_table(tmp_path / "serial" / f).equals(pq.read_table(tmp_path / "parallel" / f)), f
