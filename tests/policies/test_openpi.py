"""openpi interop with the real ``openpi-client`` (and ``openpi-server``) packages over local
websockets (127.0.0.1): their client drives our server, their server drives our evals."""

import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from openpi_client import base_policy, msgpack_numpy  # scripts/setup.sh installs it (--no-deps)
from openpi_client.websocket_client_policy import WebsocketClientPolicy

from vlgsim.policies.openpi import OpenPIPolicyServer, packb, resize_with_pad, unpackb
from vlgsim.sim_eval.rollout import EvalJob, evaluate


# ------------------------------------------------------------------ wire format
@settings(max_examples=60, deadline=None)
@given(hnp.arrays(st.sampled_from([np.uint8, np.int16, np.int64, np.float32, np.float64, np.bool_]),
                  hnp.array_shapes(min_dims=0, max_dims=4, max_side=5)))
def test_arrays_cross_the_wire_both_ways(a):
    msg = {"x": a, "nested": [{"y": a}, "text", 3], "scalar": np.float32(2.5)}
    theirs = msgpack_numpy.unpackb(packb(msg))
    ours = unpackb(msgpack_numpy.packb(msg))
    for out in (theirs, ours):
        assert out["x"].dtype == a.dtype and out["x"].shape == a.shape
        np.testing.assert_array_equal(out["x"], a)
        np.testing.assert_array_equal(out["nested"][0]["y"], a)
        assert out["nested"][1:] == ["text", 3] and out["scalar"] == np.float32(2.5)
    assert ours["x"].flags.writeable


def test_object_arrays_are_refused_with_the_rule():
    with pytest.raises(ValueError, match="dtype object"):
        packb({"x": np.array([object()], dtype=object)})


def test_resize_with_pad_matches_openpi_client():
    from openpi_client import image_tools

    img = np.random.default_rng(0).integers(0, 255, (48, 96, 3), dtype=np.uint8)
    np.testing.assert_array_equal(resize_with_pad(img), image_tools.resize_with_pad(img, 224, 224))


# ------------------------------------------------------------------ their client, our server
class _Chunk:
    name = "chunk"

    def __init__(self):
        self.resets = []

    def reset(self, instruction, info):
        self.resets.append((instruction, dict(info)))

    def act(self, obs):
        if obs.get("fail"):
            raise ValueError(f"bad observation: fail={obs['fail']}")
        s = float(np.asarray(obs["state"]).sum())
        return np.array([[s, i] for i in range(3)], np.float32)


@pytest.fixture()
def chunk_server():
    policies = []

    def make():
        policies.append(_Chunk())
        return policies[-1]

    server = OpenPIPolicyServer(make, port=0, metadata={"policy": "chunk", "action_dim": 2}).start()
    server.policies = policies
    yield server
    server.close()


def test_openpi_client_drives_our_server(chunk_server):
    client = WebsocketClientPolicy("127.0.0.1", chunk_server.port)
    assert client.get_server_metadata() == {"policy": "chunk", "action_dim": 2}
    out = client.infer({"state": np.ones(4, np.float32), "prompt": "grasp the mug"})
    assert out["actions"].shape == (3, 2) and out["actions"][:, 0].tolist() == [4, 4, 4]
    assert out["server_timing"]["infer_ms"] >= 0
    client.infer({"state": np.ones(2, np.float32), "prompt": "grasp the mug"})
    client.infer({"state": np.ones(2, np.float32), "prompt": "lift the can", "info": {"target_id": 3}})
    client.infer({"state": np.ones(2, np.float32), "prompt": "lift the can", "reset": True})
    assert [r[0] for r in chunk_server.policies[0].resets] == ["grasp the mug", "lift the can", "lift the can"]
    assert chunk_server.policies[0].resets[1][1] == {"target_id": 3}
    # a failing policy: the traceback as a text frame (their client raises it), then close 1011
    with pytest.raises(RuntimeError, match="ValueError: bad observation: fail=1"):
        client.infer({"state": np.ones(1), "prompt": "x", "fail": 1})
    from websockets.sync.client import connect

    with connect(f"ws://127.0.0.1:{chunk_server.port}") as ws:  # garbage gets the same treatment
        ws.recv()
        ws.send(b"\xc1\xff not msgpack")
        assert "not msgpack" in ws.recv()
        with pytest.raises(Exception) as closed:
            ws.recv(timeout=5)
        assert closed.value.rcvd.code == 1011
    assert WebsocketClientPolicy("127.0.0.1", chunk_server.port).infer(
        {"state": np.zeros(1), "prompt": "still up"})["actions"].shape == (3, 2)


def _serve_cli(*args):
    proc = subprocess.Popen([sys.executable, "-m", "vlgsim.cli", "serve-policy", "--port", "0", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = ""
    for _ in range(200):
        line = proc.stdout.readline()
        if "ws://" in line:
            break
    return proc, int(line.split("ws://")[1].split(":")[1].split()[0])


@pytest.mark.sim
def test_openpi_client_gets_the_in_process_actions(grasp_env):
    """``vlgsim serve-policy --protocol openpi`` driven by openpi's own client: the oracle's
    actions equal the in-process oracle's, and an eval through ``openpi:HOST:PORT`` matches."""
    from vlgsim.policies import make_policy

    proc, port = _serve_cli("--policy", "oracle", "--protocol", "openpi")
    try:
        client = WebsocketClientPolicy("127.0.0.1", port)
        assert client.get_server_metadata()["policy"] == "oracle"
        local = make_policy("oracle", grasp_env)
        for seed in (0, 1, 2):
            obs, info = grasp_env.reset(seed=seed)
            local.reset(obs["instruction"], info)
            req = {k: v for k, v in obs.items() if k != "instruction"}
            reply = client.infer(dict(req, prompt=obs["instruction"], reset=True, info=info))
            np.testing.assert_array_equal(reply["actions"][0], local.act(obs))
        seeds = [0, 1]
        here = evaluate(EvalJob("RealVLG-Grasp-v0", "oracle", {}), seeds)
        there = evaluate(EvalJob("RealVLG-Grasp-v0", f"openpi:127.0.0.1:{port}", {}), seeds)
        assert [(r.success, r.failure_mode, r.action) for r in here] == \
               [(r.success, r.failure_mode, r.action) for r in there]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# ------------------------------------------------------------------ their server, our evals
class _Probe(base_policy.BasePolicy):
    """An openpi policy that records requests and answers a fixed kind of chunk."""

    def __init__(self, answer):
        self.answer, self.requests = answer, []

    def infer(self, obs):
        self.requests.append(obs)
        return {"actions": self.answer(obs)}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _openpi_server(policy) -> int:
    """openpi-server's own WebsocketPolicyServer in a background thread; its port."""
    from openpi_server import WebsocketPolicyServer

    port = _free_port()
    server = WebsocketPolicyServer(policy, host="127.0.0.1", port=port, metadata={"policy": "probe"})
    threading.Thread(target=server.serve_forever, daemon=True).start()
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return port
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("openpi server did not start")


@pytest.mark.sim
def test_openpi_server_drives_realvlg_closed_loop_droid():
    def velocity_chunk(obs):
        return np.tile(np.r_[0.5, np.zeros(6), 0.0], (3, 1)).astype(np.float32)  # joint 1 at +0.5 rad/s, open

    probe = _Probe(velocity_chunk)
    port = _openpi_server(probe)
    kw = dict(obs_mode="rgbd+state", control_mode="pd_joint_vel", n_objects=[1, 1], image_size=[96, 72])
    (r,) = evaluate(EvalJob("RealVLG-Grasp-v0", f"openpi:127.0.0.1:{port}:droid", kw, max_steps=6), [0])
    assert r.failure_mode != "error", r.error
    assert r.steps == 6 and len(probe.requests) == 2  # two chunks of three
    first, second = probe.requests
    assert first["prompt"] == r.instruction
    assert first["observation/exterior_image_1_left"].shape == (224, 224, 3)
    assert first["observation/exterior_image_1_left"].dtype == np.uint8
    assert first["observation/exterior_image_1_left"].any()  # the rendered scene, not a blank
    assert first["observation/wrist_image_left"].shape == (224, 224, 3)
    assert first["observation/joint_position"].shape == (7,) and first["observation/gripper_position"].shape == (1,)
    moved = second["observation/joint_position"] - first["observation/joint_position"]
    assert moved[0] > 0.02 and np.abs(moved[1:]).max() < 0.02  # 3 steps of 0.5 rad/s at 20 Hz: ~0.075 rad
    assert 0.0 <= first["observation/gripper_position"][0] <= 0.1  # the gripper starts open (0 = open)


@pytest.mark.sim
def test_openpi_server_drives_a_bimanual_task_aloha():
    def hold(obs):  # ALOHA-style absolute joints: stay where you are, grippers open
        return np.tile(obs["state"], (2, 1)).astype(np.float32)

    probe = _Probe(hold)
    port = _openpi_server(probe)
    kw = dict(obs_mode="rgb+state", control_mode="pd_joint_pos", image_size=[64, 64])
    (r,) = evaluate(EvalJob("Bimanual-PickColor-v0", f"openpi:127.0.0.1:{port}", kw, max_steps=4), [1])
    assert r.failure_mode != "error", r.error
    assert r.steps == 4 and len(probe.requests) == 2
    req = probe.requests[0]
    assert sorted(req["images"]) == ["cam_high", "cam_left_wrist", "cam_low", "cam_right_wrist"]
    assert all(v.shape == (3, 224, 224) and v.dtype == np.uint8 for v in req["images"].values())
    assert req["images"]["cam_high"].any() and req["images"]["cam_low"].any()  # the ALOHA embodiment has cam_low
    assert req["state"].shape == (14,) and req["prompt"] == r.instruction
    drift = np.abs(probe.requests[1]["state"] - req["state"])
    assert drift.max() < 0.05  # held in place


@pytest.mark.sim
def test_openpi_server_errors_are_clear_episode_errors():
    def broken(obs):
        raise ValueError(f"cannot handle state of shape {obs['observation/state'].shape}")

    port = _openpi_server(_Probe(broken))
    kw = dict(obs_mode="rgbd+state", control_mode="pd_ee_delta_pose", n_objects=[1, 1], image_size=[96, 72])
    results = evaluate(EvalJob("RealVLG-Grasp-v0", f"openpi:127.0.0.1:{port}:libero", kw, max_steps=3), [0, 1])
    assert [r.failure_mode for r in results] == ["error", "error"]  # recorded, and the evaluation went on
    for r in results:
        assert "openpi server" in r.error and "ValueError: cannot handle state of shape (8,)" in r.error
    bad = evaluate(EvalJob("RealVLG-Grasp-v0", "openpi:127.0.0.1:1", kw, max_steps=3), [0])[0]
    assert bad.failure_mode == "error" and "unreachable" in bad.error
    with pytest.raises(ValueError, match="rule: openpi:HOST:PORT"):
        evaluate(EvalJob("RealVLG-Grasp-v0", "openpi:nohost", kw, max_steps=3), [0])


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64) | st.builds(packb, st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats() | st.text(max_size=8),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3), max_leaves=8)))
def test_hostile_requests_are_a_clear_error_or_an_observation(raw):
    try:
        obs = OpenPIPolicyServer._observation(raw)
    except ValueError as e:
        assert "rule:" in str(e)
    else:
        assert isinstance(obs, dict) and isinstance(obs["instruction"], str)
