"""Dexterous grasps optimised (Warp energy) + validated (SAPIEN) per minute, on the best
Warp device (``--device auto``: cuda where present, else cpu). Target >= 60/min on CPU.

Reference in the same run: the same batch with 1 Adam iteration instead of the full
optimisation (set-up, kernel launches and validation only), i.e. the fixed cost per grasp.
``--workers`` processes take one object each (Warp's CPU kernels use one core per process).

    python benchmarks/bench_dex_synthesis.py [--objects can,mug,bottle] [--per-part 32] [--device auto] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import time

from vlgsim.grasp.dex_energy import pick_device
from vlgsim.grasp.dex_pipeline import synthesize_grasp_set, synthesize_grasp_sets
from vlgsim.grasp.dex_synthesis import SynthesisConfig


def run(objects, per_part, device, iterations, workers):
    n = valid = 0
    t = time.perf_counter()
    opt = val = 0.0
    for gs in synthesize_grasp_sets(objects, workers=workers, per_part=per_part, device=device,
                                    cfg=SynthesisConfig(iterations=iterations)):
        n, valid = n + len(gs), valid + int(gs.valid.sum())
        opt, val = opt + gs.meta["optimise_s"], val + gs.meta["validate_s"]
    wall = time.perf_counter() - t
    return {"grasps": n, "valid": valid, "wall_s": round(wall, 1), "optimise_s": round(opt, 1),
            "validate_s": round(val, 1), "grasps_per_min": round(60 * n / wall, 1)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--objects", default="can,mug,bottle")
    ap.add_argument("--per-part", type=int, default=32)
    ap.add_argument("--iterations", type=int, default=SynthesisConfig.iterations)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    device = pick_device(args.device)
    objects = args.objects.split(",")
    synthesize_grasp_set("can", per_part=2, device=device, cfg=SynthesisConfig(iterations=2))  # kernel compile
    ref = run(objects, args.per_part, device, 1, args.workers)
    full = run(objects, args.per_part, device, args.iterations, args.workers)
    out = {"device": device, "workers": args.workers, "objects": objects, "per_part": args.per_part,
           "iterations": args.iterations,
           "reference_1_iteration": ref, "full": full,
           "ratio_to_target_60_per_min": round(full["grasps_per_min"] / 60, 2),
           "ratio_full_to_reference": round(full["grasps_per_min"] / ref["grasps_per_min"], 3)}
    print(json.dumps(out, indent=1))
    print(f"{full['grasps_per_min']:.0f} grasps/min optimised+validated on {device}, {args.workers} workers "
          f"({out['ratio_to_target_60_per_min']:.2f}x the 60/min target); valid {full['valid']}/{full['grasps']}")


if __name__ == "__main__":
    main()
