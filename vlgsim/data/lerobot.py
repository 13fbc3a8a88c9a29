"""LeRobot v3.0 dataset writer and loader, in the layout lerobot 0.4.x writes (checked with
lerobot's own ``LeRobotDataset`` in ``tests/data/test_lerobot_compat.py``; the ``lerobot``
library itself is not needed here).

Layout under ``root``::

    meta/info.json                              codebase_version v3.0, fps, features, totals, paths
    meta/tasks.parquet                          index = the task string, column task_index
    meta/stats.json                             per feature: min, max, mean, std, count,
                                                q01/q10/q50/q90/q99 (videos per channel, in [0, 1])
    meta/episodes/chunk-CCC/file-FFF.parquet    one row per episode: tasks, length, data file and
                                                frame range, per video its file and from/to
                                                timestamps, meta/episodes file, stats/<feature>/<stat>
    meta/vlgsim/episodes.parquet                our extra per-episode columns (instruction_raw,
                                                instruction_fine, ...), keyed by episode_index
    data/chunk-CCC/file-FFF.parquet             one row per frame, many episodes per file
    videos/<video_key>/chunk-CCC/file-FFF.mp4   H.264, many episodes per file, each at its own
                                                [from_timestamp, to_timestamp)

Files roll over to the next index past ``data_files_size_in_mb`` / ``video_files_size_in_mb``
(1000 files per chunk), as lerobot does. Our extra columns live beside the episodes table
because lerobot appends episodes as new ``meta/episodes`` files with its own columns, and
its reader concatenates those files: they must have the same columns.

**Crash-safe and resumable**: an episode is committed in order videos -> data -> tasks ->
extras -> episodes -> stats/info, each file written to a temporary name and renamed
atomically. The episodes table is the commit record: data rows of an episode missing from
it (a crash mid-commit) are dropped when the writer next writes that file, and frames of
such an episode at the end of a video file are never referenced (the next episode starts
after them); :meth:`LeRobotWriter.finished` tells a generator which episodes to skip.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from vlgsim.data.lerobot_stats import aggregate_stats, flatten_stats, unflatten_stats, vector_stats, video_stats

CODEBASE_VERSION = "v3.0"
CHUNK_FILE = "chunk-{chunk_index:03d}/file-{file_index:03d}"
DATA_PATH = "data/" + CHUNK_FILE + ".parquet"
VIDEO_PATH = "videos/{video_key}/" + CHUNK_FILE + ".mp4"
EPISODES_PATH = "meta/episodes/" + CHUNK_FILE + ".parquet"
DATA_FILE = DATA_PATH.format(chunk_index=0, file_index=0)
EPISODES_FILE = EPISODES_PATH.format(chunk_index=0, file_index=0)
TASKS_FILE = "meta/tasks.parquet"
EXTRAS_FILE = "meta/vlgsim/episodes.parquet"
CHUNKS_SIZE = 1000
DATA_FILES_SIZE_IN_MB = 100
VIDEO_FILES_SIZE_IN_MB = 200
FRAME_KEYS = ("timestamp", "frame_index", "episode_index", "index", "task_index")


def _tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(path)
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _atomic_write_table(path: Path, table: pa.Table) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(path)
    pq.write_table(table, tmp)
    os.replace(tmp, path)


def _next_file(chunk: int, file: int) -> tuple[int, int]:
    return (chunk + 1, 0) if file + 1 >= CHUNKS_SIZE else (chunk, file + 1)


def _size_mb(path: Path) -> float:
    return path.stat().st_size / 1024**2 if path.exists() else 0.0


# ------------------------------------------------------------------ video
def write_mp4(path: Path, frames: np.ndarray, fps: int) -> None:
    """Encode (T, H, W, 3) uint8 RGB frames as H.264 (yuv420p, no B-frames), atomically."""
    import av

    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"video frames of shape {frames.shape} dtype {frames.dtype}; rule: (T, H, W, 3) uint8")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(path)
    with av.open(str(tmp), "w", format="mp4") as c:
        s = c.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        s.options = {"crf": "18", "g": "10", "bf": "0"}
        for f in frames:
            c.mux(s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")))
        c.mux(s.encode())
    os.replace(tmp, path)


def video_duration_s(path: Path) -> float:
    """Duration of a video file's first video stream, s (lerobot's ``get_video_duration_in_s``)."""
    import av

    with av.open(str(path)) as c:
        st = c.streams.video[0]
        return float(st.duration * st.time_base) if st.duration is not None else float(c.duration / av.time_base)


def concatenate_mp4(paths: list[Path], out: Path) -> None:
    """Join MP4 files of one codec and size without re-encoding (ffmpeg's concat demuxer, as
    lerobot's ``concatenate_video_files``); ``out`` is replaced atomically."""
    import av

    with tempfile.TemporaryDirectory() as d:
        listing = Path(d) / "list.ffconcat"
        listing.write_text("ffconcat version 1.0\n" + "".join(f"file '{Path(p).resolve()}'\n" for p in paths))
        tmp = _tmp_name(out)
        with av.open(str(listing), "r", format="concat", options={"safe": "0"}) as src, \
                av.open(str(tmp), "w", format="mp4", options={"movflags": "faststart"}) as dst:
            vin = src.streams.video[0]
            vout = dst.add_stream_from_template(template=vin, opaque=True)
            vout.time_base = vin.time_base
            for packet in src.demux(vin):
                if packet.dts is None:
                    continue
                packet.stream = vout
                dst.mux(packet)
        os.replace(tmp, out)


def read_mp4(path: Path, from_s: float = 0.0, to_s: float = float("inf")) -> np.ndarray:
    """Decode the frames of an MP4 whose time is in [from_s, to_s) to (T, H, W, 3) uint8 RGB."""
    import av

    eps = 1e-4
    with av.open(str(path)) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0) if from_s - eps <= f.time < to_s - eps]
    if not frames:
        raise ValueError(f"{path} has no frame in [{from_s}, {to_s}) s")
    return np.stack(frames)


# ------------------------------------------------------------------ features
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


def _read_tasks(root: Path) -> list[str]:
    """Task strings in task_index order (meta/tasks.parquet: index = task, column task_index)."""
    import pandas as pd

    path = root / TASKS_FILE
    if not path.exists():
        return []
    df = pd.read_parquet(path)
    return [str(t) for t in df.sort_values("task_index").index]


def _write_tasks(root: Path, tasks: list[str]) -> None:
    import pandas as pd

    df = pd.DataFrame({"task_index": np.arange(len(tasks), dtype=np.int64)}, index=pd.Index(tasks))
    path = root / TASKS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(path)
    df.to_parquet(tmp)
    os.replace(tmp, path)


def _read_episode_rows(root: Path) -> list[dict]:
    rows = []
    for p in sorted((root / "meta/episodes").glob("*/*.parquet")):
        rows.extend(pq.read_table(p).to_pylist())
    return sorted(rows, key=lambda e: e["episode_index"])


def _read_extras(root: Path) -> dict[int, dict]:
    path = root / EXTRAS_FILE
    return {r["episode_index"]: r for r in pq.read_table(path).to_pylist()} if path.exists() else {}


class LeRobotWriter:
    """Append episodes to a LeRobot v3.0 dataset at ``root`` (creating or resuming it).

    ``features``: the dataset's own features (vectors and videos, LeRobot's ``features``
    dict); the per-frame bookkeeping features are added. Re-opening an existing dataset
    requires the same features and fps."""

    def __init__(self, root: Path, fps: int, features: dict, robot_type: str = "",
                 data_files_size_in_mb: float = DATA_FILES_SIZE_IN_MB,
                 video_files_size_in_mb: float = VIDEO_FILES_SIZE_IN_MB):
        self.root, self.fps, self.robot_type = Path(root), int(fps), robot_type
        self.data_files_size_in_mb, self.video_files_size_in_mb = data_files_size_in_mb, video_files_size_in_mb
        self.features = dict(features) | FRAME_FEATURES
        self.video_keys = [k for k, v in features.items() if v["dtype"] == "video"]
        self.vector_keys = [k for k, v in features.items() if v["dtype"] != "video"]
        info_path = self.root / "meta/info.json"
        if info_path.exists():
            info = json.loads(info_path.read_text())
            if _plain(info["features"]) != _plain(self.features) or info["fps"] != self.fps:
                raise ValueError(f"{self.root} holds a dataset with other features or fps; rule: resume with the same "
                                 "settings, or write to a new --out")
        self.episodes = _read_episode_rows(self.root)
        self._extras = _read_extras(self.root)
        self.tasks: list[str] = _read_tasks(self.root)

    def finished(self) -> set[int]:
        """The caller's ids of the committed episodes (``episode_id`` of :meth:`add_episode`)."""
        return {int(self._extras.get(e["episode_index"], {}).get("episode_id", e["episode_index"])) for e in self.episodes}

    @property
    def total_frames(self) -> int:
        return sum(e["length"] for e in self.episodes)

    def _last(self, key: str, default=(0, 0)) -> tuple[tuple[int, int], bool]:
        """(chunk, file) of the last committed episode's ``key`` file, and whether there is one."""
        if not self.episodes or f"{key}/chunk_index" not in self.episodes[-1]:
            return default, False
        e = self.episodes[-1]
        return (int(e[f"{key}/chunk_index"]), int(e[f"{key}/file_index"])), True

    def add_episode(self, episode_id: int, vectors: dict[str, np.ndarray], videos: dict[str, np.ndarray],
                    task: str, extra: Optional[dict] = None) -> int:
        """Commit one episode: ``vectors`` {feature: (T, D)}, ``videos`` {key: (T, H, W, 3)},
        ``task`` the instruction of its frames, ``extra`` scalar/str columns kept per episode.
        ``episode_id`` is the caller's id (e.g. a generator's episode slot, kept as the extra
        column ``episode_id``); the dataset's ``episode_index`` is the next one (LeRobot
        numbers episodes 0..N-1 in commit order). Returns that index."""
        if episode_id in self.finished():
            raise ValueError(f"episode {episode_id} is already in {self.root}; rule: each episode id once")
        episode_index = len(self.episodes)
        if set(vectors) != set(self.vector_keys) or set(videos) != set(self.video_keys):
            raise ValueError(f"episode features {sorted(vectors) + sorted(videos)}; rule: exactly "
                             f"{sorted(self.vector_keys) + sorted(self.video_keys)}")
        if not isinstance(task, str) or not task:
            raise ValueError(f"task {task!r}; rule: a non-empty instruction string")
        T = len(next(iter(vectors.values())))
        if T < 1:
            raise ValueError("an episode of 0 frames; rule: at least one frame")
        for k, v in list(vectors.items()) + list(videos.items()):
            if len(v) != T:
                raise ValueError(f"feature {k} has {len(v)} frames, others {T}; rule: one row per frame")
            if k in vectors and tuple(np.shape(v)[1:]) != tuple(self.features[k]["shape"]):
                raise ValueError(f"feature {k} of shape {np.shape(v)[1:]}; rule: {self.features[k]['shape']}")
            if k in vectors and not np.all(np.isfinite(np.asarray(v, np.float64))):
                raise ValueError(f"feature {k} has NaN/inf values; rule: finite numbers")
        row: dict = {"episode_index": episode_index, "tasks": [task], "length": T}
        # 1. videos: appended to the current file of each camera, or a new file past the size limit
        for key, frames in videos.items():
            row |= self._commit_video(key, episode_index, np.asarray(frames))
        # 2. data (rows of uncommitted episodes in the file, e.g. from a crash, are dropped)
        task_index = self.tasks.index(task) if task in self.tasks else len(self.tasks)
        start = self.total_frames
        frame_cols = dict(timestamp=np.arange(T, dtype=np.float32) / self.fps, frame_index=np.arange(T, dtype=np.int64),
                          episode_index=np.full(T, episode_index, np.int64),
                          index=np.arange(start, start + T, dtype=np.int64),
                          task_index=np.full(T, task_index, np.int64))
        row |= self._commit_data(vectors, frame_cols)
        row |= {"dataset_from_index": start, "dataset_to_index": start + T}
        # 3. tasks
        if task_index == len(self.tasks):
            self.tasks.append(task)
            _write_tasks(self.root, self.tasks)
        # 4. our extra columns
        self._extras[episode_index] = {"episode_index": episode_index, "episode_id": int(episode_id), **(extra or {})}
        _atomic_write_table(self.root / EXTRAS_FILE, pa.Table.from_pylist([self._extras[k] for k in sorted(self._extras)]))
        # 5. episodes (the commit record), with the episode's stats
        stats = {k: vector_stats(np.asarray(v, np.float32)) for k, v in vectors.items()}  # the values stored
        stats |= {k: vector_stats(v) for k, v in frame_cols.items()}
        stats |= {k: video_stats(np.asarray(v)) for k, v in videos.items()}
        (mc, mf), _ = self._last("meta/episodes")
        row |= flatten_stats(stats) | {"meta/episodes/chunk_index": mc, "meta/episodes/file_index": mf}
        self.episodes.append(row)
        same_file = [e for e in self.episodes if (e["meta/episodes/chunk_index"], e["meta/episodes/file_index"]) == (mc, mf)]
        _atomic_write_table(self.root / EPISODES_PATH.format(chunk_index=mc, file_index=mf),
                            pa.Table.from_pylist(same_file))
        # 6. stats + info
        self._write_stats_and_info()
        return episode_index

    def _commit_video(self, key: str, episode_index: int, frames: np.ndarray) -> dict:
        (c, f), has = self._last(f"videos/{key}")
        path = self.root / VIDEO_PATH.format(video_key=key, chunk_index=c, file_index=f)
        self.root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.root, prefix=".episode-") as d:
            ep_path = Path(d) / "episode.mp4"
            write_mp4(ep_path, frames, self.fps)
            duration = video_duration_s(ep_path)
            if has and path.exists() and _size_mb(path) + _size_mb(ep_path) < self.video_files_size_in_mb:
                from_s = video_duration_s(path)  # after any frames of an uncommitted episode
                concatenate_mp4([path, ep_path], path)
            else:
                if has:
                    c, f = _next_file(c, f)
                path = self.root / VIDEO_PATH.format(video_key=key, chunk_index=c, file_index=f)
                path.parent.mkdir(parents=True, exist_ok=True)
                from_s = 0.0
                shutil.move(str(ep_path), str(path))
        return {f"videos/{key}/chunk_index": c, f"videos/{key}/file_index": f,
                f"videos/{key}/from_timestamp": from_s, f"videos/{key}/to_timestamp": from_s + duration}

    def _commit_data(self, vectors: dict, frame_cols: dict) -> dict:
        cols = {}
        for k in self.vector_keys:
            v = np.asarray(vectors[k], np.float32)
            cols[k] = pa.FixedSizeListArray.from_arrays(pa.array(v.reshape(-1)), v.shape[1])
        cols |= {k: pa.array(v) for k, v in frame_cols.items()}
        new = pa.table(cols)
        (c, f), has = self._last("data")
        path = self.root / DATA_PATH.format(chunk_index=c, file_index=f)
        if has and path.exists() and _size_mb(path) < self.data_files_size_in_mb:
            old = pq.read_table(path)
            keep = np.isin(old.column("episode_index").to_numpy(), [e["episode_index"] for e in self.episodes])
            new = pa.concat_tables([old.filter(pa.array(keep)), new.select(old.column_names).cast(old.schema)])
        elif has:
            c, f = _next_file(c, f)
            path = self.root / DATA_PATH.format(chunk_index=c, file_index=f)
        _atomic_write_table(path, new)
        return {"data/chunk_index": c, "data/file_index": f}

    def _write_stats_and_info(self) -> None:
        stats = aggregate_stats([unflatten_stats(e) for e in self.episodes])
        _atomic_write_bytes(self.root / "meta/stats.json",
                            json.dumps({k: {s: np.asarray(v).tolist() for s, v in fs.items()} for k, fs in stats.items()},
                                       indent=4).encode())
        n = len(self.episodes)
        info = {"codebase_version": CODEBASE_VERSION, "robot_type": self.robot_type, "total_episodes": n,
                "total_frames": self.total_frames, "total_tasks": len(self.tasks), "chunks_size": CHUNKS_SIZE,
                "data_files_size_in_mb": self.data_files_size_in_mb,
                "video_files_size_in_mb": self.video_files_size_in_mb, "fps": self.fps,
                "splits": {"train": f"0:{n}"}, "data_path": DATA_PATH,
                "video_path": VIDEO_PATH if self.video_keys else None, "features": self.features}
        _atomic_write_bytes(self.root / "meta/info.json", json.dumps(info, indent=4).encode())


def _plain(x):
    return json.loads(json.dumps(x))


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
    """Read a LeRobot v3.0 dataset (ours, or one lerobot wrote or appended to): ``info``,
    ``tasks``, ``stats``, ``episodes`` (meta rows without stats, with our extra columns),
    ``episode(i)``, ``video(i, key)``."""

    def __init__(self, root: Path):
        self.root = Path(root)
        info_path = self.root / "meta/info.json"
        if not info_path.exists():
            raise FileNotFoundError(f"{info_path} missing; rule: a LeRobot v3.0 dataset root holds meta/info.json")
        self.info = json.loads(info_path.read_text())
        if self.info.get("codebase_version") != CODEBASE_VERSION:
            raise ValueError(f"codebase_version {self.info.get('codebase_version')!r}; rule: {CODEBASE_VERSION}")
        self.features = self.info["features"]
        self.tasks = _read_tasks(self.root)
        stats_path = self.root / "meta/stats.json"
        self.stats = json.loads(stats_path.read_text()) if stats_path.exists() else {}
        extras = _read_extras(self.root)
        self.episodes = [{k: v for k, v in e.items() if not k.startswith("stats/")} | extras.get(e["episode_index"], {})
                         for e in _read_episode_rows(self.root)]
        self._data: dict = {}

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
        path = self.root / self.info["data_path"].format(chunk_index=m["data/chunk_index"], file_index=m["data/file_index"])
        if path not in self._data:
            self._data[path] = pq.read_table(path)
        t = self._data[path]
        rows = t.filter(pc.equal(t.column("episode_index"), i))
        frames = {}
        for k in rows.column_names:
            col = rows.column(k)
            if pa.types.is_list(col.type) or pa.types.is_fixed_size_list(col.type):
                frames[k] = np.stack(col.to_numpy(zero_copy_only=False)).astype(np.float32)
            else:
                frames[k] = col.to_numpy()
        order = np.argsort(frames["frame_index"])
        frames = {k: v[order] for k, v in frames.items()}
        task_idx = int(frames["task_index"][0]) if len(order) else 0
        return Episode(i, m, frames, self.tasks[task_idx])

    def video(self, i: int, key: str) -> np.ndarray:
        """The frames of episode ``i`` in video ``key``, (T, H, W, 3) uint8."""
        m = self._meta(i)
        path = self.root / self.info["video_path"].format(video_key=key, chunk_index=m[f"videos/{key}/chunk_index"],
                                                          file_index=m[f"videos/{key}/file_index"])
        return read_mp4(path, m[f"videos/{key}/from_timestamp"], m[f"videos/{key}/to_timestamp"])
