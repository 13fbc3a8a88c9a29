"""Remote policies over a real local websocket server (127.0.0.1)."""

import subprocess
import sys

import numpy as np
import pytest
from websockets.sync.client import connect

from vlgsim.policies.remote import PolicyServer, RemotePolicy, RemotePolicyError, pack, unpack
from vlgsim.sim_eval.rollout import EvalJob, evaluate


class _ChunkPolicy:
    """Answers a (4, 2) chunk [[n, 0], [n, 1], ...] where n counts its queries."""

    name = "chunk"

    def __init__(self):
        self.n = 0
        self.instruction = None

    def reset(self, instruction, info):
        self.instruction, self.n = instruction, 0

    def act(self, obs):
        self.n += 1
        return np.array([[self.n, i] for i in range(4)], np.float32)


@pytest.fixture()
def chunk_server():
    server = PolicyServer(_ChunkPolicy, port=0, name="chunk").start()
    yield server
    server.close()


def test_wire_format_round_trips_arrays_and_nesting():
    msg = {"a": np.arange(6, dtype=np.int16).reshape(2, 3), "b": [np.float32(1.5), "x", {"m": np.ones(2, bool)}]}
    out = unpack(pack(msg))
    assert out["a"].dtype == np.int16 and out["a"].tolist() == [[0, 1, 2], [3, 4, 5]]
    assert out["b"][0] == 1.5 and out["b"][2]["m"].tolist() == [True, True]


def test_chunks_execute_k_steps_then_requery(chunk_server):
    p = RemotePolicy("127.0.0.1", chunk_server.port, execute_steps=3)
    p.reset("grasp the mug", {"mask": np.zeros((4, 4), bool)})
    got = [p.act({"state": np.zeros(3, np.float32)}).tolist() for _ in range(7)]
    assert got == [[1, 0], [1, 1], [1, 2], [2, 0], [2, 1], [2, 2], [3, 0]] and p.queries == 3
    assert p.server_info["server"] == "vlgsim"
    p.close()


def test_malformed_requests_get_errors_and_the_server_lives(chunk_server):
    with connect(f"ws://127.0.0.1:{chunk_server.port}") as ws:
        unpack(ws.recv())  # greeting
        for bad in (b"\xc1\xff garbage", pack({"type": "fly"}), pack([1, 2]), "text frame", pack({"type": "act"})):
            ws.send(bad)
            assert "error" in unpack(ws.recv())
        ws.send(pack({"type": "act", "observation": {}}))  # a well-formed act, but no episode yet
        reply = unpack(ws.recv())
        assert "action" not in reply and "before 'reset'" in reply["error"]
        ws.send(pack({"type": "reset", "instruction": "pick", "info": {}}))
        assert unpack(ws.recv()) == {"ok": True}
        ws.send(pack({"type": "act", "observation": {}}))
        assert unpack(ws.recv())["action"].shape == (4, 2)


def test_reconnects_and_restores_the_episode(chunk_server):
    p = RemotePolicy("127.0.0.1", chunk_server.port, execute_steps=1)
    p.reset("pick the can", {})
    p.act({})
    p._ws.close()  # the connection drops
    assert p.act({}).tolist() == [1, 0]  # a fresh server-side policy, reset again with the same episode
    p.close()


def test_unreachable_server_is_a_clear_error():
    p = RemotePolicy("127.0.0.1", 1, timeout_s=0.5, retries=1)
    with pytest.raises(RemotePolicyError, match="unreachable after 2 tries"):
        p.reset("x", {})


@pytest.mark.sim
def test_remote_oracle_matches_the_in_process_oracle(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "vlgsim.cli", "serve-policy", "--policy", "oracle", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = ""
        for _ in range(200):  # wait for "serving ... on ws://127.0.0.1:PORT"
            line = proc.stdout.readline()
            if "ws://" in line:
                break
        port = int(line.rsplit(":", 1)[1].split()[0])
        seeds = [0, 1, 2]
        local = evaluate(EvalJob("RealVLG-Grasp-v0", "oracle", {}), seeds)
        remote = evaluate(EvalJob("RealVLG-Grasp-v0", f"remote:127.0.0.1:{port}", {}), seeds)
        assert [(r.success, r.failure_mode, r.action) for r in local] == \
               [(r.success, r.failure_mode, r.action) for r in remote]
        assert all(r.success for r in remote)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
