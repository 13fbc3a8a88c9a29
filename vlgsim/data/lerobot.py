"""LeRobot v3.0 dataset writer and loader (the documented layout, written with pyarrow and
PyAV; the ``lerobot`` library itself is not needed).

Layout under ``root``::

    meta/info.json                              codebase_version v3.0, fps, features, totals, paths
    meta/tasks.parquet                          task_index <-> task (instruction text)
    meta/episodes/chunk-000/file-000.parquet    one row per episode: length, tasks, index range,
                                                data/video file and time range, and both
                                                instructions (instruction_raw, instruction_fine)
    meta/stats.json                             min / max / mean / std of the numeric features
    data/chunk-000/file-000.parquet             one row per frame, all episodes
    videos/<video_key>/chunk-000/file-EEE.mp4   H.264, one file per episode (from_timestamp 0)

**Crash-safe and resumable**: an episode is committed in order videos -> data -> tasks ->
episodes -> info, each file written to a temporary name and renamed atomically. The
episodes table is the commit record: data rows or videos of an episode missing from it
(a crash mid-commit) are dropped or overwritten when the writer opens the folder again,
and :meth:`LeRobotWriter.finished` tells a generator which episodes to skip.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

CODEBASE_VERSION = "v3.0"
DATA_FILE = "data/chunk-000/file-000.parquet"
EPISODES_FILE = "meta/episodes/chunk-000/file-000.parquet"
TASKS_FILE = "meta/tasks.parquet"
VIDEO_PATH = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
DATA_PATH = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
FRAME_KEYS = ("timestamp", "frame_index", "episode_index", "index", "task_index")


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _atomic_write_table(path: Path, table: pa.Table) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)


def write_mp4(path: Path, frames: np.ndarray, fps: int) -> None:
    """Encode (T, H, W, 3) uint8 RGB frames as H.264 (yuv420p), atomically."""
    import av

    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"video frames of shape {frames.shape} dtype {frames.dtype}; rule: (T, H, W, 3) uint8")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with av.open(str(tmp), "w", format="mp4") as c:
        s = c.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        s.options = {"crf": "18", "g": "10"}
        for f in frames:
            c.mux(s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")))
        c.mux(s.encode())
    os.replace(tmp, path)


def read_mp4(path: Path) -> np.ndarray:
    """Decode every frame of an MP4 to (T, H, W, 3) uint8 RGB."""
    import av

    with av.open(str(path)) as c:
        return np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])


def video_feature(h: int, w: int, fps: int) -> dict:
    return {"dtype": "video", "shape": [h, w, 3], "names": ["height", "width", "channels"],
            "info": {"video.height": h, "video.width": w, "video.codec": "h264", "video.pix_fmt": "yuv420p",
                     "video.is_depth_map": False, "video.fps": fps, "video.channels": 3, "has_audio": False}}


def vector_feature(names: list[str], dtype: str = "float32") -> dict:
    return {"dtype": dtype, "shape": [len(names)], "names": list(names)}


FRAME_FEATURES = {"timestamp": {"dtype": "float32", "shape": [1], "names": None},
                  "frame_index": {"dtype": "int64", "shape": [1], "names": None},
                  "episode_index": {"dtype": "int64", "shape": [1], "names": None},
                  "index": {"dtype": "int64", "shape": [1], "names": None},
                  "task_index": {"dtype": "int64", "shape": [1], "names": None}}


class LeRobotWriter:
    """Append episodes to a LeRobot v3.0 dataset at ``root`` (creating or resuming it).

    ``features``: the dataset's own features (vectors and videos, LeRobot's ``features``
    dict); the per-frame bookkeeping features are added. Re-opening an existing dataset
    requires the same features and fps."""

    def __init__(self, root: Path, fps: int, features: dict, robot_type: str = ""):
        self.root, self.fps, self.robot_type = Path(root), int(fps), robot_type
        self.features = dict(features) | FRAME_FEATURES
        self.video_keys = [k for k, v in features.items() if v["dtype"] == "video"]
        self.vector_keys = [k for k, v in features.items() if v["dtype"] != "video"]
        info_path = self.root / "meta/info.json"
        if info_path.exists():
            info = json.loads(info_path.read_text())
            if info["features"] != json.loads(json.dumps(self.features)) or info["fps"] != self.fps:
                raise ValueError(f"{self.root} holds a dataset with other features or fps; rule: resume with the same "
                                 "settings, or write to a new --out")
        self.episodes = pq.read_table(self.root / EPISODES_FILE).to_pylist() if (self.root / EPISODES_FILE).exists() else []
        self.episodes.sort(key=lambda e: e["episode_index"])
        self.tasks: list[str] = (pq.read_table(self.root / TASKS_FILE).sort_by("task_index").column("task").to_pylist()
                                 if (self.root / TASKS_FILE).exists() else [])

    def finished(self) -> set[int]:
        return {e["episode_index"] for e in self.episodes}

    @property
    def total_frames(self) -> int:
        return sum(e["length"] for e in self.episodes)

    def add_episode(self, episode_index: int, vectors: dict[str, np.ndarray], videos: dict[str, np.ndarray],
                    task: str, extra: Optional[dict] = None) -> None:
        """Commit one episode: ``vectors`` {feature: (T, D)}, ``videos`` {key: (T, H, W, 3)},
        ``task`` the instruction of its frames, ``extra`` scalar/str columns for meta/episodes."""
        if episode_index in self.finished():
            raise ValueError(f"episode {episode_index} is already in {self.root}; rule: each episode index once")
        if set(vectors) != set(self.vector_keys) or set(videos) != set(self.video_keys):
            raise ValueError(f"episode features {sorted(vectors) + sorted(videos)}; rule: exactly "
                             f"{sorted(self.vector_keys) + sorted(self.video_keys)}")
        T = len(next(iter(vectors.values())))
        for k, v in list(vectors.items()) + list(videos.items()):
            if len(v) != T:
                raise ValueError(f"feature {k} has {len(v)} frames, others {T}; rule: one row per frame")
            if k in vectors and tuple(np.shape(v)[1:]) != tuple(self.features[k]["shape"]):
                raise ValueError(f"feature {k} of shape {np.shape(v)[1:]}; rule: {self.features[k]['shape']}")
        # 1. videos
        for key, frames in videos.items():
            write_mp4(self.root / VIDEO_PATH.format(video_key=key, chunk_index=0, file_index=episode_index), frames, self.fps)
        # 2. data (rows of uncommitted episodes, e.g. from a crash, are dropped)
        if task not in self.tasks:
            self.tasks.append(task)
        start = self.total_frames
        cols = {k: pa.array(list(np.asarray(v, np.float32)), type=pa.list_(pa.float32())) for k, v in vectors.items()}
        cols.update(timestamp=pa.array(np.arange(T, dtype=np.float32) / self.fps),
                    frame_index=pa.array(np.arange(T, dtype=np.int64)),
                    episode_index=pa.array(np.full(T, episode_index, np.int64)),
                    index=pa.array(np.arange(start, start + T, dtype=np.int64)),
                    task_index=pa.array(np.full(T, self.tasks.index(task), np.int64)))
        new = pa.table(cols)
        data_path = self.root / DATA_FILE
        if data_path.exists():
            old = pq.read_table(data_path)
            keep = np.isin(old.column("episode_index").to_numpy(), list(self.finished()))
            new = pa.concat_tables([old.filter(pa.array(keep)), new.select(old.column_names)])
        _atomic_write_table(data_path, new)
        # 3. tasks
        _atomic_write_table(self.root / TASKS_FILE, pa.table({"task_index": pa.array(range(len(self.tasks)), pa.int64()),
                                                              "task": pa.array(self.tasks, pa.string())}))
        # 4. episodes (the commit record)
        row = {"episode_index": episode_index, "tasks": [task], "length": T, "data/chunk_index": 0, "data/file_index": 0,
               "dataset_from_index": start, "dataset_to_index": start + T}
        for key in self.video_keys:
            row |= {f"videos/{key}/chunk_index": 0, f"videos/{key}/file_index": episode_index,
                    f"videos/{key}/from_timestamp": 0.0, f"videos/{key}/to_timestamp": T / self.fps}
        row |= dict(extra or {})
        self.episodes.append(row)
        _atomic_write_table(self.root / EPISODES_FILE, pa.Table.from_pylist(self.episodes))
        # 5. info + stats
        self._write_info(new)

    def _write_info(self, data: pa.Table) -> None:
        n = len(self.episodes)
        info = {"codebase_version": CODEBASE_VERSION, "robot_type": self.robot_type, "total_episodes": n,
                "total_frames": self.total_frames, "total_tasks": len(self.tasks), "chunks_size": 1000,
                "data_files_size_in_mb": 100, "video_files_size_in_mb": 500, "fps": self.fps,
                "splits": {"train": f"0:{n}"}, "data_path": DATA_PATH, "video_path": VIDEO_PATH,
                "features": self.features}
        stats = {}
        for k in self.vector_keys:
            a = np.stack(data.column(k).to_numpy(zero_copy_only=False)).astype(np.float64)
            stats[k] = {"min": a.min(0).tolist(), "max": a.max(0).tolist(), "mean": a.mean(0).tolist(),
                        "std": a.std(0).tolist(), "count": [len(a)]}
        _atomic_write_bytes(self.root / "meta/stats.json", json.dumps(stats).encode())
        _atomic_write_bytes(self.root / "meta/info.json", json.dumps(info, indent=2).encode())


@dataclass
class Episode:
    index: int
    meta: dict
    frames: dict[str, np.ndarray]
    """Vector features (T, D) plus timestamp, frame_index, index, task_index (T,)."""
    task: str

    def __len__(self) -> int:
        return int(self.meta["length"])


class LeRobotDataset:
    """Read a LeRobot v3.0 dataset written by :class:`LeRobotWriter` (or any with the same
    layout): ``info``, ``tasks``, ``episodes`` (meta rows), ``episode(i)``, ``video(i, key)``."""

    def __init__(self, root: Path):
        self.root = Path(root)
        info_path = self.root / "meta/info.json"
        if not info_path.exists():
            raise FileNotFoundError(f"{info_path} missing; rule: a LeRobot v3.0 dataset root holds meta/info.json")
        self.info = json.loads(info_path.read_text())
        if self.info.get("codebase_version") != CODEBASE_VERSION:
            raise ValueError(f"codebase_version {self.info.get('codebase_version')!r}; rule: {CODEBASE_VERSION}")
        self.features = self.info["features"]
        self.tasks = pq.read_table(self.root / TASKS_FILE).sort_by("task_index").column("task").to_pylist()
        self.episodes = sorted(pq.read_table(self.root / EPISODES_FILE).to_pylist(), key=lambda e: e["episode_index"])
        self._data = None

    @property
    def video_keys(self) -> list[str]:
        return [k for k, v in self.features.items() if v["dtype"] == "video"]

    def __len__(self) -> int:
        return len(self.episodes)

    def _meta(self, i: int) -> dict:
        for e in self.episodes:
            if e["episode_index"] == i:
                return e
        raise KeyError(f"episode {i} not in {self.root}; episodes: {[e['episode_index'] for e in self.episodes]}")

    def episode(self, i: int) -> Episode:
        m = self._meta(i)
        if self._data is None:
            self._data = {}
        path = self.root / self.info["data_path"].format(chunk_index=m["data/chunk_index"], file_index=m["data/file_index"])
        if path not in self._data:
            self._data[path] = pq.read_table(path)
        t = self._data[path]
        rows = t.filter(pc.equal(t.column("episode_index"), i))
        frames = {}
        for k in rows.column_names:
            col = rows.column(k)
            frames[k] = (np.stack(col.to_numpy(zero_copy_only=False)).astype(np.float32)
                         if pa.types.is_list(col.type) else col.to_numpy())
        order = np.argsort(frames["frame_index"])
        frames = {k: v[order] for k, v in frames.items()}
        task_idx = int(frames["task_index"][0]) if len(order) else 0
        return Episode(i, m, frames, self.tasks[task_idx])

    def video(self, i: int, key: str) -> np.ndarray:
        """The frames of episode ``i`` in video ``key``, (T, H, W, 3) uint8."""
        m = self._meta(i)
        path = self.root / self.info["video_path"].format(video_key=key, chunk_index=m[f"videos/{key}/chunk_index"],
                                                          file_index=m[f"videos/{key}/file_index"])
        frames = read_mp4(path)
        t0, t1 = m[f"videos/{key}/from_timestamp"], m[f"videos/{key}/to_timestamp"]
        a, b = int(round(t0 * self.info["fps"])), int(round(t1 * self.info["fps"]))
        return frames[a:b]
