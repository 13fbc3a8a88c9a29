"""Annotated RealVLG samples per second (320x240, single view): render + boxes + RLE masks
+ grasp/contact labels + PNG/JSON writing, with 1 and 2 worker processes. Target >= 20/s.

Reference in the same run: a bare SAPIEN render of the same scenes (RGB + depth +
segmentation, no labelling, no writing), i.e. the most a generator could do here.

    python benchmarks/bench_realvlg_data.py [--n 200]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from vlgsim.data.realvlg import DatasetConfig, generate
from vlgsim.envs.realvlg_ground import RealVLGGroundEnv


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200)
    args = ap.parse_args()
    out = {}
    env = RealVLGGroundEnv(n_views=1)
    env.sample(0)  # shader compile
    t = time.perf_counter()
    for i in range(50):
        env.sample(10_000 + i)
    out["bare_render_per_s"] = round(50 / (time.perf_counter() - t), 1)
    print(f"bare render (sample scene + render, no labels/writing): {out['bare_render_per_s']:.1f}/s")
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as d:
            stamps = []
            t = time.perf_counter()
            generate(DatasetConfig(n=args.n, seed=1000 * workers), Path(d) / "ds", workers=workers,
                     on_sample=lambda i: stamps.append(time.perf_counter()))
            total = time.perf_counter() - t
        steady = (len(stamps) - 1) / (stamps[-1] - stamps[0])
        out[f"annotated_per_s_{workers}w"] = round(steady, 1)
        out[f"annotated_per_s_{workers}w_with_startup"] = round(args.n / total, 1)
        print(f"annotated samples/s with {workers} worker(s): {steady:.1f} steady state "
              f"({args.n / total:.1f} including start-up) (target >= 20)")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
