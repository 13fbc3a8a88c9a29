"""Grasp sets: a part short of valid grasps gets more batches, and every batch is kept."""

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
