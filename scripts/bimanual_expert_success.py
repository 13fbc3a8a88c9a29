"""Expert and random success of every Bimanual-* task over N seeds per split (the issue's
acceptance numbers). Usage: python scripts/bimanual_expert_success.py --seeds 20 --embodiment aloha
--control-mode pd_joint_pos --out runs/bimanual_success_aloha.json"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import gymnasium as gym

import vlgsim  # noqa: F401
from vlgsim.envs.bimanual import BIMANUAL_TASKS
from vlgsim.policies import make_policy
from vlgsim.sim_eval.rollout import run_episode


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--tasks", nargs="*", default=sorted(BIMANUAL_TASKS))
    ap.add_argument("--splits", nargs="*", default=["easy", "hard"])
    ap.add_argument("--policies", nargs="*", default=["bimanual_expert", "random"])
    ap.add_argument("--embodiment", default="aloha", choices=["aloha", "panda"])
    ap.add_argument("--control-mode", default="pd_joint_pos", choices=["pd_joint_pos", "pd_ee_delta_pose"],
                    help="pd_joint_pos: the mplib motion-planned expert; pd_ee_delta_pose: the delta-pose servo")
    ap.add_argument("--out", type=Path, default=Path("runs/bimanual_success.json"))
    a = ap.parse_args()
    rows = json.loads(a.out.read_text()) if a.out.exists() else []
    done = {(r["task"], r["split"], r["policy"]) for r in rows}
    for task in a.tasks:
        for split in a.splits:
            env = gym.make(task, split=split, embodiment=a.embodiment, control_mode=a.control_mode)
            for pol_name in a.policies:
                if (task, split, pol_name) in done:
                    continue
                pol = make_policy(pol_name, env, seed=0)
                t0 = time.perf_counter()
                res = [run_episode(env, pol, i, i)[0] for i in range(a.seeds)]
                row = dict(task=task, split=split, policy=pol_name, embodiment=a.embodiment, control_mode=a.control_mode, n=len(res), successes=sum(r.success for r in res),
                           violations=sum(r.extra.get("metrics", {}).get("violation", 0) for r in res),
                           mean_score=sum(r.extra.get("metrics", {}).get("score_0_100", 0) for r in res) / len(res),
                           errors=[r.error for r in res if r.error], failed_seeds=[r.seed for r in res if not r.success],
                           wall_s=round(time.perf_counter() - t0, 1))
                rows.append(row)
                a.out.parent.mkdir(parents=True, exist_ok=True)
                a.out.write_text(json.dumps(rows, indent=1))
                print(f"{task:32s} {split:5s} {pol_name:16s} {row['successes']}/{row['n']} "
                      f"violations {row['violations']:.0f} score {row['mean_score']:.1f} ({row['wall_s']} s)", flush=True)
            env.close()


if __name__ == "__main__":
    main()
