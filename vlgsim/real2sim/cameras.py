"""RGB-D cameras for real runs: a ``Camera`` protocol, an Intel RealSense D435 through
``pyrealsense2`` (optional extra ``vlgsim[realsense]``), and a replay camera that plays
recorded frames from a folder (written by :func:`record_replay_from_sim` or by hand).

Frames (OpenCV conventions, as :mod:`vlgsim.scenes.camera`): ``rgb`` (H, W, 3) uint8,
``depth_m`` (H, W) float32 metres along the optical axis (0 = no reading), ``intrinsic``
3x3 pixels, ``extrinsic`` 4x4 **robot base -> camera** (the "world" of a real run is the
robot base frame: x forward, z up, table top at z = 0 for the RealVLG setup; on hardware it
comes from a hand-eye calibration), ``timestamp_s`` (``time.monotonic()`` when read, or the
recorded time).

Replay folder layout::

    frames.jsonl         one JSON object per frame: file, depth, intrinsic, extrinsic,
                         timestamp_s, episode, and optional labels (instruction, seed,
                         grasp_rects, contact_points, bbox, target_xyz)
    rgb/NNNNNN.png       colour images
    depth/NNNNNN.npy     float32 depth in metres
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Protocol, runtime_checkable

import numpy as np


@dataclass
class CameraFrame:
    rgb: np.ndarray
    depth_m: np.ndarray
    intrinsic: np.ndarray
    extrinsic: np.ndarray
    timestamp_s: float
    info: dict = field(default_factory=dict)
    """Labels that came with a recorded frame (instruction, grasp_rects, ...); empty live."""

    def __post_init__(self):
        H, W = self.depth_m.shape[:2]
        if self.rgb.shape != (H, W, 3) or self.rgb.dtype != np.uint8:
            raise ValueError(f"rgb of shape {self.rgb.shape} dtype {self.rgb.dtype}; rule: ({H}, {W}, 3) uint8 like depth")
        if np.shape(self.intrinsic) != (3, 3) or np.shape(self.extrinsic) != (4, 4):
            raise ValueError(f"intrinsic {np.shape(self.intrinsic)} / extrinsic {np.shape(self.extrinsic)}; rule: 3x3 / 4x4")


@runtime_checkable
class Camera(Protocol):
    name: str

    def start_episode(self, index: int) -> None: ...

    def read(self) -> CameraFrame: ...

    def close(self) -> None: ...


# ---------------------------------------------------------------------- replay
class ReplayCamera:
    """Plays a recorded folder. ``start_episode(i)`` jumps to recorded episode ``i`` (modulo
    the number recorded); ``read()`` returns that episode's frames in order and keeps
    returning its last frame once they are used up."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        index = self.root / "frames.jsonl"
        if not index.exists():
            raise FileNotFoundError(f"{index} missing; rule: a replay folder holds frames.jsonl, rgb/ and depth/ "
                                    "(see vlgsim.real2sim.cameras)")
        self.records = [json.loads(line) for line in index.read_text().splitlines() if line.strip()]
        if not self.records:
            raise ValueError(f"{index} lists no frames")
        self.episodes = sorted({int(r.get("episode", 0)) for r in self.records})
        self.name = f"replay:{self.root}"
        self._frames: list[dict] = []
        self._cursor = 0
        self.start_episode(0)

    def start_episode(self, index: int) -> None:
        ep = self.episodes[index % len(self.episodes)]
        self._frames = [r for r in self.records if int(r.get("episode", 0)) == ep]
        self._cursor = 0

    def read(self) -> CameraFrame:
        import imageio.v3 as iio

        r = self._frames[min(self._cursor, len(self._frames) - 1)]
        self._cursor += 1
        rgb = np.asarray(iio.imread(self.root / r["file"]))[..., :3].astype(np.uint8)
        depth = np.load(self.root / r["depth"]).astype(np.float32)
        labels = {k: v for k, v in r.items() if k not in ("file", "depth", "intrinsic", "extrinsic", "timestamp_s")}
        return CameraFrame(rgb, depth, np.array(r["intrinsic"], dtype=np.float64), np.array(r["extrinsic"], dtype=np.float64),
                           float(r.get("timestamp_s", time.monotonic())), labels)

    def close(self) -> None:
        pass


def write_replay_frame(root: Path, index: int, frame: CameraFrame) -> dict:
    """Append one frame to a replay folder (images first, then its line in frames.jsonl)."""
    import imageio.v3 as iio

    root = Path(root)
    (root / "rgb").mkdir(parents=True, exist_ok=True)
    (root / "depth").mkdir(parents=True, exist_ok=True)
    rec = {"file": f"rgb/{index:06d}.png", "depth": f"depth/{index:06d}.npy",
           "intrinsic": np.asarray(frame.intrinsic).tolist(), "extrinsic": np.asarray(frame.extrinsic).tolist(),
           "timestamp_s": float(frame.timestamp_s)} | frame.info
    iio.imwrite(root / rec["file"], frame.rgb)
    np.save(root / rec["depth"], frame.depth_m.astype(np.float32))
    with open(root / "frames.jsonl", "a") as f:
        f.write(json.dumps(rec) + "\n")
    return rec


def record_replay_from_sim(out: str | Path, seeds, image_size=(320, 240), env_kwargs: Optional[dict] = None) -> Path:
    """Render the reset frame of ``RealVLG-Grasp-v0`` for each seed into a replay folder, one
    recorded episode per seed, with the target's labels (so ``oracle`` can plan from it).
    The extrinsic is converted to the robot base frame (the env's Panda stands at
    ``ROBOT_BASE`` in the sim world); ``grasp_world`` labels likewise."""
    import gymnasium as gym

    import vlgsim  # noqa: F401  (registers the envs)
    from vlgsim.sim.maniskill_env import ROBOT_BASE

    out = Path(out)
    if (out / "frames.jsonl").exists():
        (out / "frames.jsonl").unlink()
    world_from_base = np.eye(4)
    world_from_base[:3, 3] = ROBOT_BASE
    env = gym.make("vlgsim:RealVLG-Grasp-v0", image_size=tuple(image_size), **(env_kwargs or {}))
    try:
        for i, seed in enumerate(seeds):
            obs, info = env.reset(seed=int(seed))
            gw = np.asarray(info["grasp_world"], dtype=np.float64).reshape(-1, 5).copy()
            gw[:, :3] -= np.asarray(ROBOT_BASE)
            labels = {"episode": i, "seed": int(seed), "instruction": str(obs["instruction"]),
                      "grasp_rects": np.asarray(info["grasp_rects"]).tolist(),
                      "contact_points": np.asarray(info["contact_points"]).tolist(),
                      "bbox": np.asarray(info["bbox"]).tolist(), "grasp_world_base": gw.tolist()}
            frame = CameraFrame(obs["rgb"], obs["depth"], obs["intrinsic"].astype(np.float64),
                                obs["extrinsic"].astype(np.float64) @ world_from_base, 0.0, labels)
            write_replay_frame(out, i, frame)
    finally:
        env.close()
    return out


# ---------------------------------------------------------------------- RealSense
class RealSenseCamera:
    """Intel RealSense D435/D435i through ``pyrealsense2``: colour and depth streams, depth
    aligned to colour, intrinsics read from the colour stream. ``extrinsic``: the 4x4 robot
    base -> camera transform from a hand-eye calibration (a ``.npy`` or ``.json`` file)."""

    def __init__(self, extrinsic, width: int = 640, height: int = 480, fps: int = 30, serial: Optional[str] = None):
        try:
            import pyrealsense2 as rs
        except ImportError as e:
            raise ImportError("the RealSense camera needs pyrealsense2; rule: pip install 'vlgsim[realsense]' "
                              f"(pyrealsense2 wheels exist for x86_64 Linux/Windows) ({e})") from e
        self._rs = rs
        self.extrinsic = _load_extrinsic(extrinsic)
        self.name = f"realsense:{serial or 'first'}"
        if len(rs.context().query_devices()) == 0:
            raise RuntimeError("no RealSense device is connected; rule: plug in a D435 (USB 3) or use --camera replay:DIR")
        self._pipe = rs.pipeline()
        cfg = rs.config()
        if serial:
            cfg.enable_device(serial)
        cfg.enable_stream(rs.stream.color, width, height, rs.format.rgb8, fps)
        cfg.enable_stream(rs.stream.depth, width, height, rs.format.z16, fps)
        profile = self._pipe.start(cfg)
        self._depth_scale = profile.get_device().first_depth_sensor().get_depth_scale()
        self._align = rs.align(rs.stream.color)
        intr = profile.get_stream(rs.stream.color).as_video_stream_profile().get_intrinsics()
        self.intrinsic = np.array([[intr.fx, 0, intr.ppx], [0, intr.fy, intr.ppy], [0, 0, 1]], dtype=np.float64)

    def start_episode(self, index: int) -> None:
        pass

    def read(self) -> CameraFrame:
        frames = self._align.process(self._pipe.wait_for_frames())
        color, depth = frames.get_color_frame(), frames.get_depth_frame()
        rgb = np.asanyarray(color.get_data()).copy()
        depth_m = np.asanyarray(depth.get_data()).astype(np.float32) * self._depth_scale
        return CameraFrame(rgb, depth_m, self.intrinsic.copy(), self.extrinsic.copy(), time.monotonic())

    def close(self) -> None:
        self._pipe.stop()


def _load_extrinsic(spec) -> np.ndarray:
    if spec is None:
        raise ValueError("the RealSense camera needs its robot base -> camera extrinsic; rule: "
                         "--camera realsense:EXTRINSIC.npy|.json (4x4, from a hand-eye calibration)")
    if isinstance(spec, (str, Path)):
        p = Path(spec)
        E = np.load(p) if p.suffix == ".npy" else np.array(json.loads(p.read_text()), dtype=np.float64)
    else:
        E = np.asarray(spec, dtype=np.float64)
    if E.shape != (4, 4) or not np.all(np.isfinite(E)) or not np.allclose(E[3], [0, 0, 0, 1]):
        raise ValueError(f"extrinsic of shape {E.shape}; rule: a finite 4x4 rigid transform (last row 0 0 0 1)")
    return E


def make_camera(spec: str) -> Camera:
    """``replay:DIR`` or ``realsense[:EXTRINSIC_FILE]``."""
    kind, _, arg = spec.partition(":")
    if kind == "replay":
        if not arg:
            raise ValueError("--camera replay needs a folder; rule: replay:DIR")
        return ReplayCamera(arg)
    if kind == "realsense":
        return RealSenseCamera(arg or None)
    raise ValueError(f"--camera {spec!r}; rule: realsense[:EXTRINSIC_FILE] or replay:DIR")
