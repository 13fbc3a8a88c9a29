"""Dexterous grasps optimised (Warp energy) + validated (SAPIEN) per minute, on the best
Warp device (``--device auto``: cuda where present, else cpu). Target >= 90/min on 2 CPU cores.

Reference in the same run: the same batch with 1 Adam iteration instead of the full
optimisation (set-up, kernel launches and validation only), i.e. the fixed cost per grasp.
The units of work are batches of at most ``--batch`` grasps of one object part, largest first
(:func:`vlgsim.grasp.dex_pipeline.part_units`), shared by ``--workers`` processes (Warp's CPU
kernels use one core per process). The machine's load average is printed beside the rate:
other processes on the same cores slow it down.

    python benchmarks/bench_dex_synthesis.py [--objects can,mug,bottle] [--per-part 32] [--batch 16] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import time

from vlgsim.grasp.dex_energy import pick_device
from vlgsim.grasp.dex_pipeline import synthesize_grasp_set, synthesize_grasp_sets
from vlgsim.grasp.dex_synthesis import SynthesisConfig

TARGET_PER_MIN = 90.0


def run(objects, per_part, device, iterations, workers, batch):
    n = valid = 0
    t = time.perf_counter()
    opt = val = 0.0
    for gs in synthesize_grasp_sets(objects, workers=workers, per_part=per_part, device=device,
                                    cfg=SynthesisConfig(iterations=iterations), batch=batch):
        n, valid = n + len(gs), valid + int(gs.valid.sum())
        opt, val = opt + gs.meta["optimise_s"], val + gs.meta["validate_s"]
    wall = time.perf_counter() - t
    return {"grasps": n, "valid": valid, "wall_s": round(wall, 1), "optimise_s": round(opt, 1),
            "validate_s": round(val, 1), "grasps_per_min": round(60 * n / wall, 1)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--objects", default="can,mug,bottle")
    ap.add_argument("--per-part", type=int, default=32)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--iterations", type=int, default=SynthesisConfig.iterations)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--workers", type=int, default=min(os.cpu_count() or 1, 2))
    ap.add_argument("--skip-reference", action="store_true", help="only the full run")
    args = ap.parse_args()
    device = pick_device(args.device)
    objects = args.objects.split(",")
    synthesize_grasp_set("can", per_part=2, device=device, cfg=SynthesisConfig(iterations=2))  # kernel compile
    load0 = os.getloadavg()
    ref = None if args.skip_reference else run(objects, args.per_part, device, 1, args.workers, args.batch)
    full = run(objects, args.per_part, device, args.iterations, args.workers, args.batch)
    load1 = os.getloadavg()
    out = {"device": device, "workers": args.workers, "objects": objects, "per_part": args.per_part,
           "batch": args.batch, "iterations": args.iterations, "reference_1_iteration": ref, "full": full,
           "ratio_to_target_90_per_min": round(full["grasps_per_min"] / TARGET_PER_MIN, 2),
           "load_average_1min_before_after": [round(load0[0], 2), round(load1[0], 2)],
           "cpu_count": os.cpu_count()}
    if ref:
        out["ratio_full_to_reference"] = round(full["grasps_per_min"] / ref["grasps_per_min"], 3)
    print(json.dumps(out, indent=1))
    print(f"{full['grasps_per_min']:.0f} grasps/min optimised+validated on {device}, {args.workers} workers "
          f"({out['ratio_to_target_90_per_min']:.2f}x the 90/min target); valid {full['valid']}/{full['grasps']}; "
          f"load average {load0[0]:.1f} -> {load1[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
