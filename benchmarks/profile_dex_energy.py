"""Time one Adam step of the Warp grasp energy (forward, forward + tape backward) and each
kernel's share (forward and adjoint launches together), for a batch of hands on an object part.

    python benchmarks/profile_dex_energy.py [--batch 32] [--object mug] [--part body] [--repeats 6]

An A/B against an older commit in the same shell (its ``vlgsim`` first on PYTHONPATH)::

    git archive 34831a2 vlgsim | tar -x -C /tmp/dexold   # before the compacted contact terms
    PYTHONPATH=/tmp/dexold python benchmarks/profile_dex_energy.py; python benchmarks/profile_dex_energy.py

The machine's load average is printed beside the times: other processes on the core slow them down.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import warp as wp

from vlgsim.grasp.dex_energy import GraspEnergy
from vlgsim.grasp.dex_pipeline import ObjectSetup
from vlgsim.grasp.dex_synthesis import SynthesisConfig, initial_grasps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--object", default="mug")
    ap.add_argument("--part", default="body")
    ap.add_argument("--repeats", type=int, default=6)
    args = ap.parse_args()
    s = ObjectSetup(args.object, 1.0, 0, "cpu")
    k = s.obj.part_index(args.part)
    e = GraspEnergy(s.hand, s.obj, args.part, args.batch)
    x0, act = initial_grasps(s.hand, s.asset.part(args.part).mesh, args.batch, np.random.default_rng(0),
                             SynthesisConfig(), s.obj.surface_points[s.obj.surface_part != k])
    x = wp.array(x0.astype(np.float32), dtype=float, requires_grad=True)
    a = wp.array(act.astype(np.float32), dtype=float)
    launch, per_kernel = wp.launch, {}

    def timed(kernel, *largs, **kw):  # the tape's adjoint launches go through wp.launch too
        t = time.perf_counter()
        launch(kernel, *largs, **kw)
        per_kernel[kernel.key] = per_kernel.get(kernel.key, 0.0) + time.perf_counter() - t

    wp.launch = timed
    tape = wp.Tape()
    for _ in range(2):  # compile / warm up
        with tape:
            e.forward(x, a)
        tape.backward(e.loss)
        tape.reset()
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    for _ in range(args.repeats):
        with tape:
            e.forward(x, a)
        tape.reset()
    t1 = time.perf_counter()
    per_kernel.clear()  # the kernels' shares of a full step (forward + adjoint)
    for _ in range(args.repeats):
        with tape:
            e.forward(x, a)
        tape.backward(e.loss)
        tape.reset()
    t2 = time.perf_counter()
    wp.launch = launch
    n = args.repeats
    print(json.dumps({"batch": args.batch, "object": args.object, "part": args.part,
                      "per_kernel_ms_per_step": {kk: round(1000 * v / n, 2) for kk, v in
                                                 sorted(per_kernel.items(), key=lambda kv: -kv[1])},
                      "load_average_1min_before_after": [round(load0, 2), round(os.getloadavg()[0], 2)],
                      "forward_ms": round(1000 * (t1 - t0) / n, 1),
                      "forward_backward_ms": round(1000 * (t2 - t1) / n, 1)}, indent=1))


if __name__ == "__main__":
    main()
