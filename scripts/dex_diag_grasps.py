"""The diagnostics' grasps of one part (shared by scripts/dex_hold_diag.py and dex_hold_rules.py): the
pipeline's first batch of N optimised grasps (seed [0, k], ``SynthesisConfig`` overrides from the CFG
environment variable as JSON), kept in runs/hold_diag_{object}_{part}.npz and reused while it holds at
least N (REOPT=1 optimises again); scripts/dex_contact_probe.py reads the same file."""

import json
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from vlgsim.assets.objects import GRASPABLE_PARTS
from vlgsim.grasp.dex_energy import GraspEnergy
from vlgsim.grasp.dex_pipeline import ObjectSetup
from vlgsim.grasp.dex_synthesis import SynthesisConfig, initial_grasps, optimize


def first_batch(s: ObjectSetup, cat: str, part: str, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(N, 31) grasps (object frame), (N,) hand-object and (N,) self-penetration depths (m)."""
    k = GRASPABLE_PARTS[cat].index(part)
    path = Path(f"runs/hold_diag_{cat}_{part}.npz")
    if path.exists() and not os.environ.get("REOPT") and len(np.load(path)["grasps"]) >= n:
        z = np.load(path)
        return z["grasps"][:n], z["pen"][:n], z["spen"][:n] if "spen" in z else np.zeros(n)
    cfg = replace(SynthesisConfig(), **json.loads(os.environ.get("CFG", "{}")))
    e = GraspEnergy(s.hand, s.obj, part, n, contacts_on_part=cfg.contacts_on_part)
    rng = np.random.default_rng([0, k])
    t = time.time()
    x0, act = initial_grasps(s.hand, s.asset.part(part).mesh, n, rng, cfg, s.obj.surface_points[s.obj.surface_part != k])
    res = optimize(e, x0, act, cfg, rng)
    ev = e.evaluate(res.grasps, res.active)
    print(f"optimised {n} grasps in {time.time() - t:.0f} s", flush=True)
    path.parent.mkdir(exist_ok=True)
    np.savez(path, grasps=res.grasps, pen=ev["pen_depth"], spen=ev["spen_depth"])
    return res.grasps, ev["pen_depth"], ev["spen_depth"]
