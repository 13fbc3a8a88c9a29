"""Crash-safe eval outputs: a torn log line, a video cut by a kill and stale temp files."""

import json

import imageio.v2 as imageio
import pytest
from typer.testing import CliRunner

from vlgsim.cli import app
from vlgsim.sim_eval.report import EpisodeLog, read_episode_log, repair_torn_tail
from vlgsim.sim_eval.rollout import EpisodeResult


def _r(i):
    return EpisodeResult(i, 10 + i, f"Grasp the mug {i}.", True, "none", 1.0, 1)


@pytest.mark.parametrize("torn", [b'{"episode": 2, "seed": 1', b"\xff\xfe partial", b"{"])
def test_resume_repairs_a_torn_last_line_before_appending(tmp_path, torn):
    path = tmp_path / "e.jsonl"
    log = EpisodeLog(path)
    log.write(_r(0))
    log.write(_r(1))
    log.close()
    with open(path, "ab") as f:
        f.write(torn)  # killed mid-write
    log = EpisodeLog(path)  # a resumed run appends
    log.write(_r(2))
    log.close()
    assert [r.episode for r in read_episode_log(path)] == [0, 1, 2]
    data = path.read_bytes()
    assert data.endswith(b"\n") and data.count(b"\n") == 3 and all(json.loads(x) for x in data.split(b"\n")[:-1])


def test_a_file_torn_inside_its_first_line_is_emptied(tmp_path):
    p = tmp_path / "e.jsonl"
    p.write_bytes(b'{"episode": 0, "se')
    assert repair_torn_tail(p) == 18 and p.read_bytes() == b""
    p.write_bytes(b"{}\n")
    assert repair_torn_tail(p) == 0 and p.read_bytes() == b"{}\n"


@pytest.mark.sim
def test_a_killed_eval_resumes_with_whole_lines_rerendered_videos_and_no_temp_files(tmp_path):
    out = tmp_path / "run"
    args = ["eval", "--policy", "oracle", "--seed", "3", "--out", str(out), "--video-episodes", "3"]
    assert CliRunner().invoke(app, args + ["--episodes", "2"]).exit_code == 0
    # what a kill during episode 2 leaves: a torn log line, a cut video and temp files
    with open(out / "episodes.jsonl", "ab") as f:
        f.write(b'{"episode": 2, "seed": 5, "instr')
    (out / "videos" / "episode_002_seed_5.mp4").write_bytes(b"\x00\x00\x00 ftypisom cut here")
    (out / "videos" / ".episode_002_seed_5.4242.tmp.mp4").write_bytes(b"partial")
    (out / "report.json.tmp").write_text('{"n_episodes": ')
    res = CliRunner().invoke(app, args + ["--episodes", "3"])
    assert res.exit_code == 0 and "resuming: 2 of 3" in res.output, res.output
    lines = (out / "episodes.jsonl").read_bytes().split(b"\n")
    assert lines[-1] == b"" and [json.loads(x)["episode"] for x in lines[:-1]] == [0, 1, 2]
    rep = json.loads((out / "report.json").read_text())
    assert rep["n_episodes"] == 3 and rep["videos"] == [f"videos/episode_{i:03d}_seed_{3 + i}.mp4" for i in range(3)]
    assert len(imageio.mimread(out / rep["videos"][2])) > 10  # re-rendered whole
    assert not list(out.glob("**/.*.tmp*")) and not (out / "report.json.tmp").exists()
