"""Evaluate the checkpoints of a ``vlgsim train sb3`` run on the held-out seeds while (or after) it trains,
and redraw its curve with them. Each new ``OUT/checkpoints/STEPS`` is run on seeds 100000.. (50 by default), newest first,
as ``vlgsim eval --policy sb3:OUT/checkpoints/STEPS`` would, results appended to ``OUT/heldout.jsonl``;
``OUT/curve.png`` gets the held-out points.

    nice -n 10 python scripts/eval_sb3_checkpoints.py runs/ppo_long            # once
    nice -n 10 python scripts/eval_sb3_checkpoints.py runs/ppo_long --watch 600 --every 50000  # poll every 10 min
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from vlgsim.training.sb3 import HELDOUT_SEED, evaluate_checkpoints, plot_curve


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("--episodes", type=int, default=50)
    ap.add_argument("--seed", type=int, default=HELDOUT_SEED)
    ap.add_argument("--max-steps", type=int, default=None, help="default: the run's max_episode_steps")
    ap.add_argument("--watch", type=float, default=0, help="poll for new checkpoints every this many s (0: once)")
    ap.add_argument("--every", type=int, default=1, help="only checkpoints whose step is a multiple of this")
    ap.add_argument("--png", type=Path, default=None, help="default OUT/curve.png")
    args = ap.parse_args()
    while True:
        lines = evaluate_checkpoints(args.out, args.episodes, args.seed, args.max_steps, every=args.every)
        for d in lines:
            print(json.dumps(d), flush=True)
        cfg = json.loads((args.out / "train.json").read_text())
        plot_curve(args.out / "episodes.csv", args.png or args.out / "curve.png",
                   title=f"{cfg.get('algo', 'ppo').upper()} on {cfg.get('env_id')}", heldout=lines)
        if not args.watch:
            break
        time.sleep(args.watch)


if __name__ == "__main__":
    main()
