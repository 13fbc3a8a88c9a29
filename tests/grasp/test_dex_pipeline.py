"""Grasp sets: a part short of valid grasps gets more batches, and every batch is kept."""

import numpy as np
import pytest

from vlgsim.grasp.dex_pipeline import synthesize_grasp_set
from vlgsim.grasp.dex_synthesis import SynthesisConfig

pytestmark = pytest.mark.sim


def test_parts_short_of_valid_grasps_get_more_batches():
    cfg = SynthesisConfig(iterations=10)
    seen = []
    one = synthesize_grasp_set("block", per_part=3, device="cpu", cfg=cfg)
    more = synthesize_grasp_set("block", per_part=3, device="cpu", cfg=cfg, min_valid=99, max_rounds=3,
                                on_part=lambda part, valid, n: seen.append((part, valid, n)))
    assert len(one) == 3 and len(more) == 9 and seen == [("body", int(more.valid.sum()), 9)]
    assert (more.grasps[:3] == one.grasps).all()  # the first batch does not depend on the top-up
    assert more.meta["max_rounds"] == 3 and more.summary()["body"]["grasps"] == 9


def test_synth_grasps_cli_resumes_and_keeps_the_library_summary(tmp_path):
    import json

    from typer.testing import CliRunner

    from vlgsim.cli import app

    args = ["synth-grasps", "--per-part", "2", "--iterations", "5", "--device", "cpu", "--out", str(tmp_path)]
    res = CliRunner().invoke(app, args + ["--objects", "block"])
    assert res.exit_code == 0, res.output
    block = tmp_path / "block_s1.00.npz"
    stamp = block.stat().st_mtime_ns
    res = CliRunner().invoke(app, args + ["--objects", "apple,block"])
    assert res.exit_code == 0, res.output
    assert block.stat().st_mtime_ns == stamp  # finished objects are skipped
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert set(summary) == {"apple", "block"} and summary["block"]["parts"]["body"]["grasps"] == 2
    res = CliRunner().invoke(app, args + ["--objects", "spoon"])
    assert res.exit_code != 0 and "spoon" in res.output
    assert set(json.loads((tmp_path / "summary.json").read_text())) == {"apple", "block"}


def test_worker_processes_give_the_same_grasp_sets():
    from vlgsim.grasp.dex_pipeline import synthesize_grasp_sets

    kw = dict(per_part=2, device="cpu", cfg=SynthesisConfig(iterations=5))
    serial = {gs.category: gs for gs in synthesize_grasp_sets(["block", "apple"], workers=1, **kw)}
    parallel = {gs.category: gs for gs in synthesize_grasp_sets(["block", "apple"], workers=2, **kw)}
    assert set(parallel) == {"block", "apple"}
    for c, gs in serial.items():
        assert np.array_equal(gs.grasps, parallel[c].grasps) and np.array_equal(gs.valid, parallel[c].valid)
    # parts split into one-grasp batches (units of work): same sets whichever worker ran a batch
    split1 = {gs.category: gs for gs in synthesize_grasp_sets(["block"], workers=1, batch=1, **kw)}
    split2 = {gs.category: gs for gs in synthesize_grasp_sets(["block"], workers=2, batch=1, **kw)}
    assert len(split1["block"]) == 2 and np.array_equal(split1["block"].grasps, split2["block"].grasps)
    assert split1["block"].meta["first_round"] == {"body": {"valid": int(split1["block"].valid.sum()), "attempts": 2}}
