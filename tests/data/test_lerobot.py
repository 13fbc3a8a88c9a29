"""LeRobot v3.0 writer/loader: synthetic round trip, crash recovery, and real expert demos."""

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from vlgsim.data.lerobot import DATA_FILE, LeRobotDataset, LeRobotWriter, vector_feature, video_feature


def _features():
    return {"observation.state": vector_feature(["a", "b", "c"]), "action": vector_feature(["x", "y"]),
            "observation.images.head": video_feature(32, 48, 10)}


def _episode(T, k):
    rng = np.random.default_rng(k)
    vid = np.zeros((T, 32, 48, 3), np.uint8)
    for t in range(T):
        vid[t, :, : 4 * (t + 1)] = (200, 40 * k % 255, 30)  # a bar that grows: frames differ
    return {"observation.state": rng.normal(size=(T, 3)), "action": rng.normal(size=(T, 2))}, \
        {"observation.images.head": vid}


def test_round_trip_and_resume(tmp_path):
    w = LeRobotWriter(tmp_path, 10, _features(), robot_type="test")
    for e, T in enumerate((5, 7)):
        v, vid = _episode(T, e)
        w.add_episode(e, v, vid, f"task {e}", {"instruction_raw": f"raw {e}", "instruction_fine": f"fine {e}"})
    info = json.loads((tmp_path / "meta/info.json").read_text())
    assert info["codebase_version"] == "v3.0" and info["total_frames"] == 12 and info["total_episodes"] == 2
    assert info["features"]["observation.images.head"]["dtype"] == "video"
    assert (tmp_path / DATA_FILE).exists() and (tmp_path / "meta/stats.json").exists()
    ds = LeRobotDataset(tmp_path)
    ep = ds.episode(1)
    v, vid = _episode(7, 1)
    np.testing.assert_allclose(ep.frames["observation.state"], v["observation.state"], rtol=1e-6)
    np.testing.assert_array_equal(ep.frames["index"], np.arange(5, 12))
    assert ep.task == "task 1" and ep.meta["instruction_fine"] == "fine 1"
    frames = ds.video(1, "observation.images.head")
    assert frames.shape == (7, 32, 48, 3)
    assert np.abs(frames.astype(int) - vid["observation.images.head"].astype(int)).mean() < 6  # lossy, same picture
    # resuming: the same episodes are known as finished, and re-adding one is refused
    w2 = LeRobotWriter(tmp_path, 10, _features())
    assert w2.finished() == {0, 1}
    with pytest.raises(ValueError, match="already"):
        w2.add_episode(1, *_episode(3, 1), "t")
    with pytest.raises(ValueError, match="other features"):
        LeRobotWriter(tmp_path, 15, _features())


def test_crash_between_data_and_commit_is_repaired(tmp_path):
    w = LeRobotWriter(tmp_path, 10, _features())
    w.add_episode(0, *_episode(4, 0), "t")
    # simulate a crash: episode 1's rows reached the data file, its episodes row never did
    t = pq.read_table(tmp_path / DATA_FILE)
    orphan = t.slice(0, 2).set_column(t.column_names.index("episode_index"), "episode_index",
                                      pa.array([1, 1], pa.int64()))
    pq.write_table(pa.concat_tables([t, orphan]), tmp_path / DATA_FILE)
    w = LeRobotWriter(tmp_path, 10, _features())
    assert w.finished() == {0}
    w.add_episode(1, *_episode(6, 1), "t")
    ds = LeRobotDataset(tmp_path)
    assert len(ds.episode(1)) == 6 and len(ds.episode(1).frames["index"]) == 6
    assert pq.read_table(tmp_path / DATA_FILE).num_rows == 10


def test_expert_demos_round_trip(tmp_path):
    from vlgsim.data.bimanual_demos import DemoConfig, generate_demos

    cfg = DemoConfig(tasks=["Bimanual-ArmChoice-v0", "Bimanual-PickColor-v0"], episodes=2, image_size=(64, 64),
                     embodiment="panda")
    w = generate_demos(cfg, tmp_path)
    assert w.finished() == {0, 1}
    ds = LeRobotDataset(tmp_path)
    for e in (0, 1):
        ep = ds.episode(e)
        T = len(ep)
        assert ep.frames["observation.state"].shape == (T, 32) and ep.frames["action"].shape == (T, 14)
        assert ep.meta["instruction_raw"] and len(ep.meta["instruction_fine"]) > len(ep.meta["instruction_raw"])
        assert ep.task in (ep.meta["instruction_raw"], ep.meta["instruction_fine"])
        for key in ds.video_keys:
            assert ds.video(e, key).shape == (T, 64, 64, 3)
    # rerunning with more episodes only adds the new one
    cfg.episodes = 3
    assert generate_demos(cfg, tmp_path).finished() == {0, 1, 2}


def test_many_episodes_share_a_video_file_at_their_timestamps(tmp_path):
    w = LeRobotWriter(tmp_path, 10, _features())
    lengths = (5, 7, 4)
    for e, T in enumerate(lengths):
        w.add_episode(e, *_episode(T, e + 1), f"task {e % 2}")
    ds = LeRobotDataset(tmp_path)
    files = {(m["videos/observation.images.head/chunk_index"], m["videos/observation.images.head/file_index"])
             for m in ds.episodes}
    assert files == {(0, 0)} and len(list(tmp_path.glob("videos/*/*/*.mp4"))) == 1
    starts = [m["videos/observation.images.head/from_timestamp"] for m in ds.episodes]
    np.testing.assert_allclose(starts, [0.0, 0.5, 1.2], atol=1e-6)  # previous lengths / fps
    for e, T in enumerate(lengths):
        got = ds.video(e, "observation.images.head")
        want = _episode(T, e + 1)[1]["observation.images.head"]
        assert got.shape == want.shape
        assert np.abs(got.astype(int) - want.astype(int)).mean() < 6
    # tasks are indexed by their string, as lerobot reads them
    import pandas as pd

    tasks = pd.read_parquet(tmp_path / "meta/tasks.parquet")
    assert list(tasks.index) == ["task 0", "task 1"] and tasks.loc["task 1", "task_index"] == 1
    stats = json.loads((tmp_path / "meta/stats.json").read_text())
    for key in ("observation.state", "action", "observation.images.head", "timestamp", "index"):
        assert {"min", "max", "mean", "std", "count", "q01", "q10", "q50", "q90", "q99"} <= set(stats[key])
    assert stats["observation.state"]["count"] == [16] and np.shape(stats["observation.images.head"]["mean"]) == (3, 1, 1)
    allstate = np.concatenate([_episode(T, e + 1)[0]["observation.state"] for e, T in enumerate(lengths)])
    np.testing.assert_allclose(stats["observation.state"]["mean"], allstate.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(stats["observation.state"]["std"], allstate.std(0), rtol=1e-4, atol=1e-6)
    assert stats["observation.state"]["min"] == allstate.min(0).astype(np.float32).tolist()
    row = pq.read_table(tmp_path / "meta/episodes/chunk-000/file-000.parquet").to_pylist()[1]
    assert row["stats/action/count"] == [7] and row["meta/episodes/file_index"] == 0


def test_rollover_to_a_new_file_past_the_size_limit(tmp_path):
    w = LeRobotWriter(tmp_path, 10, _features(), data_files_size_in_mb=1e-9, video_files_size_in_mb=1e-9)
    for e in range(3):
        w.add_episode(e, *_episode(4, e), "t")
    ds = LeRobotDataset(tmp_path)
    assert [m["data/file_index"] for m in ds.episodes] == [0, 1, 2]
    assert [m["videos/observation.images.head/file_index"] for m in ds.episodes] == [0, 1, 2]
    assert all(m["videos/observation.images.head/from_timestamp"] == 0 for m in ds.episodes)
    np.testing.assert_array_equal(ds.episode(2).frames["index"], np.arange(8, 12))


@pytest.mark.parametrize("bad, rule", [
    ({"observation.state": np.full((3, 3), np.nan)}, "NaN"),
    ({"observation.state": np.zeros((3, 4))}, r"rule: \[3\]"),
    ({"observation.state": np.zeros((2, 3))}, "one row per frame"),
])
def test_hostile_episodes_are_refused_with_the_rule(tmp_path, bad, rule):
    w = LeRobotWriter(tmp_path, 10, _features())
    v, vid = _episode(3, 0)
    with pytest.raises(ValueError, match=rule):
        w.add_episode(0, v | bad, vid, "t")
    with pytest.raises(ValueError, match="non-empty instruction"):
        w.add_episode(0, v, vid, "")
    assert w.finished() == set() and not (tmp_path / "meta/info.json").exists()
