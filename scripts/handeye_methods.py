"""Hand-eye methods compared on SAPIEN board views (both setups, seeds 0-4, 12 views, 0.5 px
corner noise): camera pose error (mm / deg) against the simulated truth, per method.

Usage: python scripts/handeye_methods.py [--seeds 5] [--views 12]
The opencv_* methods need a cv2 with calibrateHandEye (not opencv-python 5.0.0.93): e.g.
pip install --target /tmp/cv4 opencv-python-headless==4.12.0.88, then PYTHONPATH=/tmp/cv4:$PWD.
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np

from vlgsim.real2sim.calibration import (METHODS, CalibrationError, calibrate_hand_eye, opencv_hand_eye_available,
                                         pose_error)
from vlgsim.real2sim.calibration_sim import simulate_board_views


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--views", type=int, default=12)
    a = ap.parse_args()
    methods = [m for m in METHODS if opencv_hand_eye_available() or not m.startswith("opencv")]
    print(f"cv2 {cv2.__version__}; methods {methods}")
    for setup in ("eye_to_hand", "eye_in_hand"):
        errs = {m: [] for m in methods}
        for seed in range(a.seeds):
            s = simulate_board_views(setup, a.views, seed)
            rng = np.random.default_rng(seed)
            pts = [s.board.detect(im, i) + rng.normal(0, 0.5, (len(s.board.object_points()), 2))
                   for i, im in enumerate(s.images)]
            for m in methods:
                try:
                    r = calibrate_hand_eye(s.gripper2base, pts, s.board, s.intrinsic, setup, m)
                    errs[m].append(pose_error(r.X, s.X_true))
                except CalibrationError as e:
                    errs[m].append((np.nan, np.nan))
                    print(setup, seed, m, e)
        for m, e in errs.items():
            e = np.array(e)
            print(f"{setup:12s} {m:18s} max {np.nanmax(e[:, 0]):6.2f} mm {np.nanmax(e[:, 1]):6.3f} deg | "
                  f"median {np.nanmedian(e[:, 0]):6.2f} mm {np.nanmedian(e[:, 1]):6.3f} deg")


if __name__ == "__main__":
    main()
