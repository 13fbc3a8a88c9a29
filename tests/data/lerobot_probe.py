"""Run by ``test_lerobot_compat.py`` in the lerobot side venv (``.venv-lerobot``, see
``scripts/setup_lerobot_venv.sh``): lerobot 0.4.4's own ``LeRobotDataset`` reads a vlgsim
dataset and appends an episode to it. Prints one JSON line with what it saw.

Two substitutions, and nothing else, because two pieces cannot run on this machine:
* ``torchvision``: its PyPI wheels are CUDA builds that do not load on our CPU torch. The
  dataset code imports it only for ``transforms.ToTensor`` on *image* (not video) features
  and for its video reader (``torchvision.io.VideoReader``, which torchvision 0.28 removed).
  An empty module named torchvision is registered so the imports succeed.
* the video decoder: lerobot decodes with torchcodec (PyPI wheels need CUDA torch) or
  torchvision's reader (gone). ``decode_video_frames`` is replaced by a PyAV decoder that
  does what ``decode_video_frames_torchvision`` does: decode up to the last query time,
  take the frame nearest each (episode-shifted) query timestamp, and raise lerobot's
  ``FrameTimestampError`` past ``tolerance_s``; float32 (N, C, H, W) in [0, 1].
Reading metadata, tasks, stats and parquet data, ``__getitem__``, ``add_frame``,
``save_episode`` (PNG frames, PyAV video encoding, episode stats, metadata append) and
``finalize`` are lerobot's own code.
"""

import importlib.machinery
import json
import sys
import types


def _stub(name):
    m = types.ModuleType(name)
    m.__spec__ = importlib.machinery.ModuleSpec(name, None)
    sys.modules[name] = m
    return m


tv = _stub("torchvision")
tv.transforms, tv.io = _stub("torchvision.transforms"), _stub("torchvision.io")

import av  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import lerobot.datasets.lerobot_dataset as lrd  # noqa: E402
from lerobot.datasets.compute_stats import compute_episode_stats  # noqa: E402
from lerobot.datasets.video_utils import FrameTimestampError  # noqa: E402


def decode_video_frames_pyav(video_path, timestamps, tolerance_s, backend=None):
    frames, times = [], []
    with av.open(str(video_path)) as c:
        for f in c.decode(video=0):
            frames.append(torch.from_numpy(f.to_ndarray(format="rgb24")).permute(2, 0, 1))
            times.append(float(f.time))
            if f.time >= max(timestamps):
                break
    dist = torch.cdist(torch.tensor(timestamps)[:, None], torch.tensor(times)[:, None], p=1)
    min_, argmin_ = dist.min(1)
    if not (min_ < tolerance_s).all():
        raise FrameTimestampError(f"query {timestamps} vs loaded {times} in {video_path} (tolerance {tolerance_s})")
    return torch.stack([frames[i] for i in argmin_]).type(torch.float32) / 255


lrd.decode_video_frames = decode_video_frames_pyav


def main(root: str) -> dict:
    out = {}
    ds = lrd.LeRobotDataset("vlgsim/demos", root=root, vcodec="h264")
    out["total_episodes"], out["num_frames"] = ds.meta.total_episodes, ds.num_frames
    out["video_keys"] = ds.meta.video_keys
    items = []
    for e in range(ds.meta.total_episodes):
        ep = ds.meta.episodes[e]
        for idx in (ep["dataset_from_index"], ep["dataset_to_index"] - 1):
            item = ds[idx]
            items.append({"episode_index": int(item["episode_index"]), "frame_index": int(item["frame_index"]),
                          "task": item["task"], "task_type": type(item["task"]).__name__,
                          "state": item["observation.state"].tolist(),
                          "image_shape": list(item[ds.meta.video_keys[0]].shape),
                          "image_mean": [float(item[k].mean()) for k in ds.meta.video_keys]})
    out["items"] = items
    out["stats_keys"] = {k: sorted(v) for k, v in ds.meta.stats.items()}
    out["image_stat_shape"] = list(np.shape(ds.meta.stats[ds.meta.video_keys[0]]["mean"]))
    # lerobot's own episode stats of episode 0's numbers, to compare with the stats/* columns we wrote
    ep0 = ds.hf_dataset.with_format("numpy")[ds.meta.episodes[0]["dataset_from_index"]:ds.meta.episodes[0]["dataset_to_index"]]
    numeric = {k: np.asarray(ep0[k]) for k in ("observation.state", "action", "timestamp", "index")}
    theirs = compute_episode_stats(numeric, ds.features)
    out["lerobot_episode0_stats"] = {k: {s: np.asarray(v).tolist() for s, v in fs.items()} for k, fs in theirs.items()}
    # append one episode with lerobot's recording API
    rng = np.random.default_rng(0)
    task = "Hand the bar to the other arm (appended by lerobot)."
    for _ in range(4):
        frame = {"task": task}
        for k, ft in ds.features.items():
            if k in ("timestamp", "frame_index", "episode_index", "index", "task_index"):
                continue
            if ft["dtype"] == "video":
                frame[k] = rng.integers(0, 255, tuple(ft["shape"]), dtype=np.uint8)
            else:
                frame[k] = rng.normal(size=tuple(ft["shape"])).astype(np.float32)
        ds.add_frame(frame)
    ds.save_episode(parallel_encoding=False)
    ds.finalize()
    again = lrd.LeRobotDataset("vlgsim/demos", root=root)
    last = again[again.num_frames - 1]
    first = again[0]
    out["appended"] = {"total_episodes": again.meta.total_episodes, "num_frames": again.num_frames,
                       "last_task": last["task"], "last_episode_index": int(last["episode_index"]),
                       "first_task": first["task"], "total_tasks": again.meta.total_tasks,
                       "stats_has_q99": "q99" in again.meta.stats["observation.state"]}
    return out


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
