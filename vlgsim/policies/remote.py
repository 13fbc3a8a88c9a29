"""Policies over the network: any vlgsim policy behind a websocket + msgpack server, and a
client policy (``remote:HOST:PORT``) that drives it, close to openpi's policy servers.

Wire format: msgpack; numpy arrays travel as ``{"__ndarray__": raw bytes, "dtype": str,
"shape": list}``. The server greets each connection with ``{"server": "vlgsim", "version",
"policy"}``. Requests and replies:

* ``{"type": "reset", "instruction": str, "info": dict}`` -> ``{"ok": true}``
* ``{"type": "act", "observation": dict}`` -> ``{"action": array}``: one action (A,) or an
  action chunk (T, A). Observation keys are the env's (``rgb`` HxWx3 uint8, ``depth``,
  ``state`` vector, ``instruction`` text as the prompt, ...).
* anything malformed, and an ``act`` before the connection's first ``reset`` ->
  ``{"error": "..."}``; the connection and the server stay up.

Every connection gets its own policy instance. The server binds to 127.0.0.1 unless told
otherwise. The client has a per-request timeout, reconnects (re-sending the last reset so
the server-side policy is in the same state) and executes ``execute_steps`` actions of
each chunk before asking again.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any, Callable, Optional

import msgpack
import numpy as np

from vlgsim.policies.base import Policy, register_policy

PROTOCOL_VERSION = 1


# ------------------------------------------------------------------ wire format
def _default(obj):
    if isinstance(obj, np.ndarray):
        return {"__ndarray__": np.ascontiguousarray(obj).tobytes(), "dtype": obj.dtype.str, "shape": list(obj.shape)}
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"cannot send {type(obj).__name__} over the wire")


def _hook(d):
    if "__ndarray__" in d:
        return np.frombuffer(d["__ndarray__"], dtype=np.dtype(d["dtype"])).reshape(d["shape"])
    return d


def pack(obj) -> bytes:
    return msgpack.packb(obj, default=_default, use_bin_type=True)


def unpack(data: bytes):
    return msgpack.unpackb(data, object_hook=_hook, raw=False, strict_map_key=False)


# ------------------------------------------------------------------ server
class PolicyServer:
    """Serve policies made by ``make_policy()`` (one per connection) over websockets."""

    def __init__(self, make_policy: Callable[[], Policy], host: str = "127.0.0.1", port: int = 8000,
                 name: str = "policy"):
        from websockets.sync.server import serve

        self._make_policy, self.name = make_policy, name
        self._server = serve(self._handle, host, port, max_size=2**27, compression=None)
        self.host, self.port = self._server.socket.getsockname()[:2]
        self._thread: Optional[threading.Thread] = None

    def _handle(self, ws):
        from websockets.exceptions import ConnectionClosed

        policy = self._make_policy()
        episode = {"reset": False}  # 'act' is refused until this connection has sent a 'reset'
        ws.send(pack({"server": "vlgsim", "version": PROTOCOL_VERSION, "policy": self.name}))
        while True:
            try:
                raw = ws.recv()
            except ConnectionClosed:
                return
            try:
                reply = self._answer(policy, raw, episode)
            except Exception as e:  # noqa: BLE001 - a bad request gets an error reply, never a dead server
                reply = {"error": f"{type(e).__name__}: {e}"}
            try:
                ws.send(pack(reply))
            except ConnectionClosed:
                return

    @staticmethod
    def _answer(policy: Policy, raw, episode: dict) -> dict:
        if not isinstance(raw, bytes):
            raise ValueError("request is text; rule: a msgpack map sent as a binary message")
        try:
            msg = unpack(raw)
        except Exception as e:  # noqa: BLE001
            raise ValueError(f"request is not msgpack ({e})") from None
        if not isinstance(msg, dict) or msg.get("type") not in ("reset", "act"):
            raise ValueError("request needs 'type': 'reset' or 'act'")
        if msg["type"] == "reset":
            policy.reset(str(msg.get("instruction", "")), dict(msg.get("info") or {}))
            episode["reset"] = True
            return {"ok": True}
        if not episode["reset"]:
            raise ValueError("'act' before 'reset'; rule: send {'type': 'reset', 'instruction', 'info'} first on "
                             "each connection")
        obs = msg.get("observation")
        if not isinstance(obs, dict):
            raise ValueError("'act' needs an 'observation' map")
        return {"action": np.asarray(policy.act(obs), dtype=np.float32)}

    def serve_forever(self):
        self._server.serve_forever()

    def start(self) -> "PolicyServer":
        """Serve in a background thread (tests, notebooks)."""
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def close(self):
        self._server.shutdown()
        if self._thread:
            self._thread.join(timeout=5)


# ------------------------------------------------------------------ client
class RemotePolicyError(RuntimeError):
    """The server could not be reached or answered with an error."""


class RemotePolicy:
    """Client policy for a :class:`PolicyServer` (``remote:HOST:PORT``)."""

    name = "remote"

    def __init__(self, host: str, port: int, timeout_s: float = 30.0, retries: int = 3, execute_steps: int = 0):
        """``execute_steps``: actions of a chunk to run before re-querying (0 = the whole chunk)."""
        self.host, self.port = host, int(port)
        self.timeout_s, self.retries, self.execute_steps = timeout_s, retries, execute_steps
        self._ws = None
        self._last_reset: Optional[dict] = None
        self._queue: deque = deque()
        self.server_info: dict = {}
        self.queries = 0

    def _connect(self):
        from websockets.sync.client import connect

        self._ws = connect(f"ws://{self.host}:{self.port}", open_timeout=self.timeout_s, max_size=2**27,
                           compression=None)
        self.server_info = unpack(self._ws.recv(timeout=self.timeout_s))

    def _request(self, msg: dict) -> dict:
        from websockets.exceptions import WebSocketException

        err: Exception | None = None
        for attempt in range(self.retries + 1):
            try:
                if self._ws is None:
                    self._connect()
                    if self._last_reset is not None and msg is not self._last_reset:
                        self._ws.send(pack(self._last_reset))  # restore the server-side episode
                        unpack(self._ws.recv(timeout=self.timeout_s))
                self._ws.send(pack(msg))
                reply = unpack(self._ws.recv(timeout=self.timeout_s))
                break
            except (OSError, TimeoutError, EOFError, WebSocketException) as e:
                err = e
                self.close()
                time.sleep(min(0.2 * 2**attempt, 2.0))
        else:
            raise RemotePolicyError(f"policy server ws://{self.host}:{self.port} unreachable after "
                                    f"{self.retries + 1} tries: {type(err).__name__}: {err}")
        if "error" in reply:
            raise RemotePolicyError(f"policy server error: {reply['error']}")
        return reply

    def reset(self, instruction: str, info: dict[str, Any]) -> None:
        self._queue.clear()
        self._last_reset = {"type": "reset", "instruction": instruction, "info": dict(info)}
        self._request(self._last_reset)

    def act(self, observation: dict[str, Any]) -> np.ndarray:
        if not self._queue:
            action = np.asarray(self._request({"type": "act", "observation": dict(observation)})["action"])
            self.queries += 1
            chunk = action if action.ndim == 2 else action[None]
            k = self.execute_steps or len(chunk)
            self._queue.extend(chunk[:k])
        return self._queue.popleft()

    def close(self):
        if self._ws is not None:
            try:
                self._ws.close()
            except Exception:  # noqa: BLE001
                pass
        self._ws = None


@register_policy("remote")
def _make_remote(env, arg=None, seed=0):
    host, _, port = (arg or "").rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"remote:{arg}; rule: remote:HOST:PORT, e.g. remote:127.0.0.1:8000")
    return RemotePolicy(host, int(port))
