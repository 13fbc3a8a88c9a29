"""openpi's websocket policy protocol, both ways: serve any vlgsim policy to openpi clients
(``vlgsim serve-policy --protocol openpi``) and drive any openpi server, e.g. a served
pi0 / pi0.5, from vlgsim envs (``--policy openpi:HOST:PORT[:LAYOUT]``).

**Wire protocol** (openpi-client 0.1.x, ``openpi_client.websocket_client_policy`` and
``openpi_server.websocket_policy_server``): msgpack; numpy arrays travel as
``{b"__ndarray__": True, b"data": raw bytes, b"dtype": str, b"shape": [...]}`` and numpy
scalars as ``{b"__npgeneric__": True, b"data", b"dtype"}`` (bytes keys). On connect the
server sends its metadata (a map). Each request is the bare observation map (no reset
message); each reply is ``{"actions": (T, A) array, "server_timing": {"infer_ms", ...}}``.
A failure is a text frame (the server's traceback) followed by a close with code 1011.

**Observation layouts** (built from our sim observations; images resized with padding to
224 x 224 as openpi's clients do; the instruction goes in ``prompt``):

* ``droid`` (single arm, ``obs_mode="rgbd+state"``): ``observation/exterior_image_1_left``
  (224, 224, 3) uint8 from the fixed camera, ``observation/wrist_image_left`` (zeros: the
  RealVLG Panda has no wrist camera), ``observation/joint_position`` (7) rad,
  ``observation/gripper_position`` (1) in [0, 1], 1 = closed.
  Actions (T, 8): joint velocities (7, rad/s) + gripper position (1 = closed).
* ``aloha`` (two arms, ``obs_mode="rgb+state"``): ``images`` {``cam_high`` (head),
  ``cam_low`` (zeros: no low camera), ``cam_left_wrist``, ``cam_right_wrist``} each
  (3, 224, 224) uint8, ``state`` (14) = per arm (left, right) joints 1-6 (rad; the
  Panda's 7th joint has no ALOHA counterpart) and the gripper opening in [0, 1], 1 = open.
  Actions (T, 14): per arm 6 absolute joint positions + gripper opening (1 = open).
* ``libero`` (single arm): ``observation/image``, ``observation/wrist_image`` (224, 224, 3),
  ``observation/state`` (8) = TCP position (3, m, world), TCP axis-angle (3, rad), finger
  positions (2, m). Actions (T, 7): end-effector delta [dxyz, drot, gripper] with the
  gripper -1 open / +1 closed (LIBERO's sign).
* ``vlgsim``: our own observation keys as they are (any env family, e.g. the one-step
  RealVLG, grounding and DexVLG tasks), ``prompt``, ``reset`` (true on an episode's first
  request) and, on that request, ``info`` (the reset info, for privileged policies served
  by ``vlgsim serve-policy --protocol openpi``). Actions are the env's own actions.

**Action mapping back.** Joint-space layouts are converted for the env's controller
(ManiSkill ``pd_joint_vel``, ``pd_joint_delta_pos``, ``pd_joint_pos``; velocities are
integrated over the chunk at the env's control rate, normalised action spaces are
respected); with an end-effector control mode (``pd_ee_delta_pose``) a server's actions are
taken as end-effector deltas in the env's own layout (same width required; libero flips
the gripper sign). A chunk of T actions is executed for ``execute_steps`` steps (0 = all)
before the next request. Anything that does not fit raises a clear error, which an
evaluation records for that episode.
"""

from __future__ import annotations

import time
import traceback
from collections import deque
from typing import Any, Callable, Optional

import msgpack
import numpy as np

from vlgsim.policies.base import Policy, register_policy

LAYOUTS = ("droid", "aloha", "libero", "vlgsim")
IMAGE_SIZE = 224
CLOSE_INTERNAL_ERROR = 1011
PANDA_FINGER_OPEN_M = 0.04
"""Each Panda finger's travel: the gripper is fully open at 2 x 0.04 m."""


# ------------------------------------------------------------------ wire format (openpi's msgpack_numpy)
def _pack_default(obj):
    if isinstance(obj, (np.ndarray, np.generic)) and obj.dtype.kind in ("V", "O", "c"):
        raise ValueError(f"cannot send a numpy array of dtype {obj.dtype}; rule: numeric, bool or fixed-width "
                         "string arrays (openpi's msgpack_numpy)")
    if isinstance(obj, np.ndarray):
        return {b"__ndarray__": True, b"data": obj.tobytes(order="C"), b"dtype": obj.dtype.str, b"shape": obj.shape}
    if isinstance(obj, np.generic):
        return {b"__npgeneric__": True, b"data": obj.item(), b"dtype": obj.dtype.str}
    if isinstance(obj, (tuple, set)):
        return list(obj)
    raise TypeError(f"cannot send {type(obj).__name__} over the openpi wire; rule: maps, lists, numbers, "
                    "strings, bytes and numpy arrays")


def _unpack_hook(obj):
    if b"__ndarray__" in obj:
        return np.frombuffer(obj[b"data"], dtype=np.dtype(obj[b"dtype"])).reshape(obj[b"shape"]).copy()
    if b"__npgeneric__" in obj:
        return np.dtype(obj[b"dtype"]).type(obj[b"data"])
    return obj


def packb(obj) -> bytes:
    """msgpack bytes that ``openpi_client.msgpack_numpy.unpackb`` reads."""
    return msgpack.packb(obj, default=_pack_default, use_bin_type=True)


def unpackb(data: bytes):
    """Read what ``openpi_client.msgpack_numpy.packb`` wrote (arrays come back writable)."""
    return msgpack.unpackb(data, object_hook=_unpack_hook, raw=False, strict_map_key=False)


# ------------------------------------------------------------------ server
class OpenPIPolicyServer:
    """Serve policies made by ``make_policy()`` (one per connection) with openpi's protocol.

    Episodes: openpi has no reset message, so the policy is reset on a connection's first
    request, whenever ``prompt`` changes, and when a request carries ``reset: true`` (our
    ``openpi`` client sends it, with the episode's ``info``). The observation handed to the
    policy is the request minus ``reset``/``info``, plus ``instruction`` = ``prompt``. A
    policy answer of shape (A,) is sent as a (1, A) chunk."""

    def __init__(self, make_policy: Callable[[], Policy], host: str = "127.0.0.1", port: int = 8000,
                 metadata: Optional[dict] = None):
        from websockets.sync.server import serve

        self._make_policy = make_policy
        self.metadata = dict(metadata or {})
        self._server = serve(self._handle, host, port, max_size=None, compression=None,
                             process_request=self._health_check)
        self.host, self.port = self._server.socket.getsockname()[:2]
        self._thread = None

    @staticmethod
    def _health_check(connection, request):
        if request.path == "/healthz":
            import http

            return connection.respond(http.HTTPStatus.OK, "OK\n")
        return None

    def _handle(self, ws):
        from websockets.exceptions import ConnectionClosed

        policy = self._make_policy()
        ws.send(packb(self.metadata))
        prompt, prev_total_s = None, None
        while True:
            try:
                raw = ws.recv()
            except ConnectionClosed:
                return
            t0 = time.monotonic()
            try:
                obs = self._observation(raw)
                if obs.pop("reset", False) or prompt is None or obs["instruction"] != prompt:
                    policy.reset(obs["instruction"], dict(obs.get("info") or {}))
                    prompt = obs["instruction"]
                obs.pop("info", None)
                t1 = time.monotonic()
                action = np.asarray(policy.act(obs), dtype=np.float32)
                timing = {"infer_ms": 1000 * (time.monotonic() - t1)}
                if prev_total_s is not None:
                    timing["prev_total_ms"] = 1000 * prev_total_s
                reply = packb({"actions": action if action.ndim == 2 else action.reshape(1, -1),
                               "server_timing": timing})
            except Exception:  # noqa: BLE001 - openpi: the traceback as text, then close 1011
                try:
                    ws.send(traceback.format_exc())
                    ws.close(code=CLOSE_INTERNAL_ERROR, reason="Internal server error. Traceback included in previous frame.")
                except ConnectionClosed:
                    pass
                return
            try:
                ws.send(reply)
            except ConnectionClosed:
                return
            prev_total_s = time.monotonic() - t0

    @staticmethod
    def _observation(raw) -> dict:
        if not isinstance(raw, bytes):
            raise ValueError("request is a text frame; rule: a msgpack map (the observation) in a binary frame")
        try:
            obs = unpackb(raw)
        except Exception as e:  # noqa: BLE001
            raise ValueError(f"request is not msgpack ({e}); rule: a msgpack map (the observation)") from None
        if not isinstance(obs, dict):
            raise ValueError(f"request is a msgpack {type(obs).__name__}; rule: a map (the observation)")
        prompt = obs.get("prompt", obs.get("instruction", ""))
        if not isinstance(prompt, str):
            raise ValueError(f"prompt {prompt!r}; rule: a string (the instruction)")
        obs["instruction"] = prompt
        return obs

    def serve_forever(self):
        self._server.serve_forever()

    def start(self) -> "OpenPIPolicyServer":
        """Serve in a background thread (tests, notebooks)."""
        import threading

        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def close(self):
        self._server.shutdown()
        if self._thread:
            self._thread.join(timeout=5)


# ------------------------------------------------------------------ layouts
def resize_with_pad(image: np.ndarray, size: int = IMAGE_SIZE) -> np.ndarray:
    """(H, W, 3) uint8 -> (size, size, 3) uint8, aspect kept, zero padding (openpi-client's
    ``image_tools.resize_with_pad``, bilinear)."""
    from PIL import Image

    image = np.asarray(image)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"image of shape {image.shape}; rule: (H, W, 3)")
    if np.issubdtype(image.dtype, np.floating):
        image = (255 * image).astype(np.uint8)
    h, w = image.shape[:2]
    if (h, w) == (size, size):
        return image.astype(np.uint8)
    ratio = max(w / size, h / size)
    rh, rw = int(h / ratio), int(w / ratio)
    resized = Image.fromarray(image.astype(np.uint8)).resize((rw, rh), resample=Image.BILINEAR)
    out = Image.new(resized.mode, (size, size), 0)
    out.paste(resized, (max(0, int((size - rw) / 2)), max(0, int((size - rh) / 2))))
    return np.asarray(out)


def _need(obs: dict, key: str, layout: str, hint: str):
    if key not in obs:
        raise ValueError(f"the {layout} layout needs observation key {key!r} (got {sorted(obs)}); rule: {hint}")
    return np.asarray(obs[key])


class _ArmControl:
    """One arm's ManiSkill controllers: converts physical joint/gripper targets to the env's action."""

    def __init__(self, controller, control_freq: float):
        self.arm, self.gripper = controller.controllers["arm"], controller.controllers["gripper"]
        self.dt = 1.0 / float(control_freq)
        cfg = self.arm.config
        kind = type(self.arm).__name__
        if kind.startswith("PDJointVel"):
            self.mode = "vel"
        elif kind.startswith("PDJointPos"):
            self.mode = "delta" if cfg.use_delta else "abs"
        else:
            self.mode = "ee"
        self.arm_dim = self.arm.single_action_space.shape[0]
        self.dim = self.arm_dim + self.gripper.single_action_space.shape[0]

    @staticmethod
    def _to_action(ctrl, physical: np.ndarray) -> np.ndarray:
        if getattr(ctrl, "_normalize_action", False):
            space = ctrl._original_single_action_space
            physical = 2 * (physical - space.low) / (space.high - space.low) - 1
        space = ctrl.single_action_space
        return np.clip(physical, space.low, space.high)

    def joints(self, q0: np.ndarray, positions: Optional[np.ndarray] = None,
               velocities: Optional[np.ndarray] = None) -> np.ndarray:
        """(T, 7) arm actions from absolute joint ``positions`` or joint ``velocities`` (rad/s)."""
        if self.mode == "ee":
            raise ValueError("joint-space actions for an end-effector controller; rule: make the env with a joint "
                             "control_mode (pd_joint_vel, pd_joint_delta_pos or pd_joint_pos) for this layout")
        if positions is None:
            positions = q0 + np.cumsum(velocities * self.dt, axis=0)
        prev = np.vstack([q0[None], positions[:-1]])
        physical = {"abs": positions, "delta": positions - prev, "vel": (positions - prev) / self.dt}[self.mode]
        return self._to_action(self.arm, physical)

    def gripper_opening(self, opening_01: np.ndarray) -> np.ndarray:
        """(T, 1) gripper actions from an opening in [0, 1] (1 = open)."""
        cfg = self.gripper.config
        lo, hi = float(np.min(cfg.lower)), float(np.max(cfg.upper))
        return self._to_action(self.gripper, (lo + np.clip(opening_01, 0, 1) * (hi - lo))[:, None])


def _arm_controls(env) -> list[_ArmControl]:
    """The env's arms (left, right for bimanual) as :class:`_ArmControl`."""
    base = env.unwrapped
    if hasattr(base, "backend") and hasattr(base.backend, "arms"):  # bimanual tasks
        return [_ArmControl(base.backend.arms[a].controller, base.backend.control_freq) for a in ("left", "right")]
    if hasattr(base, "agent") and hasattr(base.agent, "controller"):
        return [_ArmControl(base.agent.controller, base.control_freq)]
    return []


def _opening(finger_qpos: np.ndarray) -> float:
    """Panda gripper opening in [0, 1] (1 = open) from its two finger positions (m)."""
    return float(np.clip(np.sum(finger_qpos) / (2 * PANDA_FINGER_OPEN_M), 0.0, 1.0))


class Layout:
    """Observation -> openpi request, and openpi actions -> env actions, for one env."""

    name = "vlgsim"

    def __init__(self, env):
        self.env = env
        self.action_dim = int(np.prod(env.action_space.shape))
        self.arms = _arm_controls(env)

    def request(self, obs: dict, instruction: str, new_episode: bool, info: dict) -> dict:
        raise NotImplementedError

    def actions(self, actions: np.ndarray, obs: dict) -> np.ndarray:
        raise NotImplementedError

    def _passthrough(self, actions: np.ndarray) -> np.ndarray:
        if actions.shape[1] != self.action_dim:
            raise ValueError(f"server actions of shape {actions.shape}; rule: (T, {self.action_dim}) for this env's "
                             f"action space under the {self.name} layout")
        return actions

    def _ee(self) -> bool:
        return not self.arms or self.arms[0].mode == "ee"


class VlgsimLayout(Layout):
    name = "vlgsim"

    def request(self, obs, instruction, new_episode, info):
        req = {k: v for k, v in obs.items() if k != "instruction"}
        req.update(prompt=instruction, reset=bool(new_episode))
        if new_episode:
            req["info"] = info
        return req

    def actions(self, actions, obs):
        return self._passthrough(actions)


def _single_arm_state(obs: dict, layout: str) -> np.ndarray:
    s = _need(obs, "state", layout, "make the env with a state observation, e.g. obs_mode='rgbd+state'")
    if s.shape[-1] < 25:
        raise ValueError(f"state of length {s.shape[-1]}; rule: a single-arm vlgsim state (qpos 9, qvel 9, TCP 7, ...)")
    return s.astype(np.float64)


class DroidLayout(Layout):
    name = "droid"

    def request(self, obs, instruction, new_episode, info):
        s = _single_arm_state(obs, self.name)
        rgb = _need(obs, "rgb", self.name, "make the env with images, e.g. obs_mode='rgbd+state'")
        return {"observation/exterior_image_1_left": resize_with_pad(rgb),
                "observation/wrist_image_left": np.zeros((IMAGE_SIZE, IMAGE_SIZE, 3), np.uint8),
                "observation/joint_position": s[:7].astype(np.float32),
                "observation/gripper_position": np.array([1.0 - _opening(s[7:9])], np.float32),
                "prompt": instruction}

    def actions(self, actions, obs):
        if self._ee() or len(self.arms) != 1:
            return self._passthrough(actions)
        if actions.shape[1] != 8:
            raise ValueError(f"droid actions of shape {actions.shape}; rule: (T, 8) = 7 joint velocities (rad/s) + "
                             "gripper position (1 = closed)")
        arm = self.arms[0]
        q0 = _single_arm_state(obs, self.name)[:7]
        return np.hstack([arm.joints(q0, velocities=actions[:, :7]), arm.gripper_opening(1.0 - actions[:, 7])])


class LiberoLayout(Layout):
    name = "libero"

    def request(self, obs, instruction, new_episode, info):
        from scipy.spatial.transform import Rotation

        s = _single_arm_state(obs, self.name)
        rgb = _need(obs, "rgb", self.name, "make the env with images, e.g. obs_mode='rgbd+state'")
        tcp = s[18:25]  # [x, y, z, qw, qx, qy, qz]
        axis_angle = Rotation.from_quat([*tcp[4:7], tcp[3]]).as_rotvec()
        return {"observation/image": resize_with_pad(rgb),
                "observation/wrist_image": np.zeros((IMAGE_SIZE, IMAGE_SIZE, 3), np.uint8),
                "observation/state": np.r_[tcp[:3], axis_angle, s[7:9]].astype(np.float32),
                "prompt": instruction}

    def actions(self, actions, obs):
        if not self._ee():
            raise ValueError("libero actions are end-effector deltas; rule: make the env with "
                             "control_mode='pd_ee_delta_pose'")
        if actions.shape[1] != 7 or self.action_dim != 7:
            raise ValueError(f"libero actions of shape {actions.shape} for an env action of {self.action_dim}; "
                             "rule: (T, 7) [dxyz, drot, gripper] for a single-arm pd_ee_delta_pose env")
        out = actions.copy()
        out[:, 6] = -out[:, 6]  # LIBERO: +1 closes; ManiSkill: +1 opens
        return out


class AlohaLayout(Layout):
    name = "aloha"

    def _on_aloha(self) -> bool:
        """The env's own arms are ALOHA's ViperX: state and joint actions are already in ALOHA's
        14-D convention (per arm 6 joints + gripper open fraction), images include cam_low."""
        return getattr(self.env.unwrapped, "embodiment", "panda") == "aloha"

    def _state(self, obs) -> tuple[np.ndarray, np.ndarray]:
        s = _need(obs, "state", self.name, "make the bimanual env with obs_mode='rgb+state'").astype(np.float64)
        if self._on_aloha():
            return s[:14].reshape(2, 7), s[:14].astype(np.float32)
        if s.shape[-1] < 18:
            raise ValueError(f"state of length {s.shape[-1]}; rule: a bimanual vlgsim state (2 x qpos 9, ...)")
        q = s[:18].reshape(2, 9)  # per arm: 7 joints, 2 fingers
        return q, np.r_[q[0, :6], _opening(q[0, 7:9]), q[1, :6], _opening(q[1, 7:9])].astype(np.float32)

    def request(self, obs, instruction, new_episode, info):
        _, state = self._state(obs)
        hint = "make the bimanual env with obs_mode='rgb+state'"
        images = {"cam_high": _need(obs, "head_rgb", self.name, hint),
                  "cam_left_wrist": _need(obs, "left_wrist_rgb", self.name, hint),
                  "cam_right_wrist": _need(obs, "right_wrist_rgb", self.name, hint)}
        if self._on_aloha():
            images["cam_low"] = _need(obs, "low_rgb", self.name, hint)
        images = {k: resize_with_pad(v).transpose(2, 0, 1).copy() for k, v in images.items()}
        images.setdefault("cam_low", np.zeros((3, IMAGE_SIZE, IMAGE_SIZE), np.uint8))
        return {"images": images, "state": state, "prompt": instruction}

    def actions(self, actions, obs):
        if self._on_aloha() and not self._ee():  # ALOHA's joints as they are; the gripper on the state's scale
            from vlgsim.sim.viperx_agent import gripper_action_fraction

            out = self._passthrough(actions).astype(np.float32).copy()
            out[:, [6, 13]] = gripper_action_fraction(out[:, [6, 13]])
            return out
        if self._ee() or len(self.arms) != 2:
            return self._passthrough(actions)
        if actions.shape[1] != 14:
            raise ValueError(f"aloha actions of shape {actions.shape}; rule: (T, 14) = per arm 6 joint positions "
                             "(rad) + gripper opening (1 = open)")
        q, _ = self._state(obs)
        out = []
        for i, arm in enumerate(self.arms):
            a = actions[:, 7 * i: 7 * i + 7]
            positions = np.hstack([a[:, :6], np.full((len(a), 1), q[i, 6])])  # the 7th joint holds
            out += [arm.joints(q[i, :7], positions=positions), arm.gripper_opening(a[:, 6])]
        return np.hstack(out)


LAYOUT_CLASSES = {c.name: c for c in (DroidLayout, AlohaLayout, LiberoLayout, VlgsimLayout)}


def default_layout(env) -> str:
    """aloha for two arms, droid for one arm under closed-loop control, else vlgsim."""
    arms = _arm_controls(env)
    if len(arms) == 2:
        return "aloha"
    if len(arms) == 1 and getattr(env.unwrapped, "action_mode", "control") == "control":
        return "droid"
    return "vlgsim"


# ------------------------------------------------------------------ client
class OpenPIServerError(RuntimeError):
    """The openpi server could not be reached, failed, or answered something unusable."""


class OpenPIPolicy:
    """Client policy for an openpi policy server (``openpi:HOST:PORT[:LAYOUT]``)."""

    name = "openpi"

    def __init__(self, env, host: str, port: int, layout: Optional[str] = None, timeout_s: float = 60.0,
                 retries: int = 2, execute_steps: int = 0):
        layout = layout or default_layout(env)
        if layout not in LAYOUT_CLASSES:
            raise ValueError(f"openpi layout {layout!r}; rule: one of {LAYOUTS}")
        self.layout = LAYOUT_CLASSES[layout](env)
        self.host, self.port = host, int(port)
        self.timeout_s, self.retries, self.execute_steps = timeout_s, retries, execute_steps
        self._ws = None
        self.server_metadata: dict = {}
        self._queue: deque = deque()
        self._instruction, self._info, self._new_episode = "", {}, True
        self.queries = 0

    @property
    def uri(self) -> str:
        return f"ws://{self.host}:{self.port}"

    def _connect(self):
        from websockets.sync.client import connect

        self._ws = connect(self.uri, open_timeout=self.timeout_s, max_size=None, compression=None)
        meta = self._ws.recv(timeout=self.timeout_s)
        self.server_metadata = unpackb(meta) if isinstance(meta, bytes) else {"text": meta}

    def infer(self, request: dict) -> dict:
        """One openpi request -> the server's reply map (with ``actions``)."""
        from websockets.exceptions import ConnectionClosed, WebSocketException

        data = packb(request)
        err: Exception | None = None
        for attempt in range(self.retries + 1):
            try:
                if self._ws is None:
                    self._connect()
                self._ws.send(data)
                reply = self._ws.recv(timeout=self.timeout_s)
                break
            except ConnectionClosed as e:
                err = e
                if e.rcvd is not None and e.rcvd.code == CLOSE_INTERNAL_ERROR:  # failed without its text frame
                    self.close()
                    raise OpenPIServerError(f"openpi server {self.uri} closed with 1011 (internal error): "
                                            f"{e.rcvd.reason}") from None
                self.close()
            except (OSError, TimeoutError, EOFError, WebSocketException) as e:
                err = e
                self.close()
            time.sleep(min(0.2 * 2**attempt, 2.0))
        else:
            raise OpenPIServerError(f"openpi server {self.uri} unreachable after {self.retries + 1} tries: "
                                    f"{type(err).__name__}: {err}")
        if isinstance(reply, str):  # openpi: a failure is the traceback as text, then a close (1011)
            self.close()
            lines = [ln for ln in reply.strip().splitlines() if ln.strip()]
            raise OpenPIServerError(f"openpi server {self.uri} failed: {lines[-1] if lines else '(empty)'}"
                                    + ("\n" + "\n".join(lines[-8:]) if len(lines) > 1 else ""))
        msg = unpackb(reply)
        if not isinstance(msg, dict) or "actions" not in msg:
            raise OpenPIServerError(f"openpi server {self.uri} replied {type(msg).__name__} without 'actions'; "
                                    "rule: a map with 'actions' (T, A)")
        return msg

    def reset(self, instruction: str, info: dict[str, Any]) -> None:
        self._queue.clear()
        self._instruction, self._info, self._new_episode = instruction, dict(info), True

    def act(self, observation: dict[str, Any]) -> np.ndarray:
        if not self._queue:
            req = self.layout.request(observation, self._instruction, self._new_episode, self._info)
            msg = self.infer(req)
            self._new_episode = False
            self.queries += 1
            actions = np.asarray(msg["actions"], dtype=np.float64)
            if actions.ndim == 1:
                actions = actions[None]
            if actions.ndim != 2 or not len(actions) or not np.all(np.isfinite(actions)):
                raise OpenPIServerError(f"openpi server {self.uri} sent actions of shape {actions.shape} "
                                        f"(finite: {bool(np.all(np.isfinite(actions)))}); rule: finite (T, A), T >= 1")
            chunk = self.layout.actions(actions, observation).astype(np.float32)
            self._queue.extend(chunk[: self.execute_steps or len(chunk)])
        return self._queue.popleft()

    def close(self):
        if self._ws is not None:
            try:
                self._ws.close()
            except Exception:  # noqa: BLE001
                pass
        self._ws = None


@register_policy("openpi")
def _make_openpi(env, arg=None, seed=0):
    parts = (arg or "").split(":")
    layout = None
    if len(parts) == 3:
        *parts, layout = parts
    if len(parts) != 2 or not parts[0] or not parts[1].isdigit():
        raise ValueError(f"openpi:{arg}; rule: openpi:HOST:PORT[:LAYOUT], LAYOUT one of {LAYOUTS}, "
                         "e.g. openpi:127.0.0.1:8000:droid")
    return OpenPIPolicy(env, parts[0], int(parts[1]), layout)
