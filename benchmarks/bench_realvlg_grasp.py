"""RealVLG-Grasp-v0 speed, as ratios against references measured in the same run.

1. Closed-loop env steps/s (``pd_ee_delta_pose``, random actions) with state and with
   RGB-D observations, divided by ManiSkill3 ``PickCube-v1`` steps/s under the same
   settings (one CPU env, same control mode, same camera size). Target >= 1.0.
2. Grasp episodes/min (oracle, one-step grasp primitive) with 2 worker processes divided
   by 1 worker. Target >= 1.8 (needs >= 2 free cores).

    python benchmarks/bench_realvlg_grasp.py [--steps 300] [--episodes 12]
"""

from __future__ import annotations

import os

os.environ.setdefault("LP_NUM_THREADS", "1")  # one core per process for every measurement, as in eval workers

import argparse
import json
import time

import gymnasium as gym
import mani_skill.envs  # noqa: F401  (registers PickCube-v1)
import numpy as np
import torch

import vlgsim  # noqa: F401
from vlgsim.sim_eval.rollout import EvalJob, evaluate


def steps_per_s(env, n: int) -> tuple[float, float]:
    """(steps/s counting only step() calls, steps/s including the resets between episodes)."""
    env.reset(seed=0)
    env.action_space.seed(0)
    for _ in range(10):  # warm-up
        env.step(env.action_space.sample())
    stepping = 0.0
    t = time.perf_counter()
    for _ in range(n):
        a = env.action_space.sample()
        t0 = time.perf_counter()
        _, _, term, trunc, _ = env.step(a)
        stepping += time.perf_counter() - t0
        if bool(np.any(np.asarray(term))) or bool(np.any(np.asarray(trunc))):
            env.reset()
    return n / stepping, n / (time.perf_counter() - t)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--episodes", type=int, default=30)
    args = ap.parse_args()
    out = {}
    torch.set_num_threads(1)  # one core per env, as each evaluation worker runs
    for label, obs_mode in [("state", "state"), ("rgbd", "rgbd")]:
        ours = gym.make("vlgsim:RealVLG-Grasp-v0", obs_mode=obs_mode, control_mode="pd_ee_delta_pose")
        ref = gym.make("PickCube-v1", obs_mode=obs_mode, control_mode="pd_ee_delta_pose", render_backend="cpu",
                       sensor_configs=dict(width=320, height=240))
        (a, a_r), (b, b_r) = steps_per_s(ours, args.steps), steps_per_s(ref, args.steps)
        ours.close()
        ref.close()
        out[f"closed_loop_{label}"] = dict(vlgsim_steps_per_s=round(a, 1), pickcube_steps_per_s=round(b, 1),
                                           ratio=round(a / b, 3), vlgsim_with_resets=round(a_r, 1),
                                           pickcube_with_resets=round(b_r, 1), ratio_with_resets=round(a_r / b_r, 3))
        print(f"closed-loop {label:5s}: vlgsim {a:6.1f} steps/s, PickCube-v1 {b:6.1f}, ratio {a / b:.2f} (target >= 1.0); "
              f"with resets (vlgsim rebuilds its scene, 200-step episodes; PickCube 50): {a_r:.1f} vs {b_r:.1f}, "
              f"ratio {a_r / b_r:.2f}")
    job = EvalJob("RealVLG-Grasp-v0", "oracle", {})
    seeds = list(range(1000, 1000 + args.episodes))
    rates = {}
    total = {}
    for w in (1, 2):
        stamps = []
        t = time.perf_counter()
        res = evaluate(job, seeds, workers=w, on_result=lambda r, f: stamps.append(time.perf_counter()))
        total[w] = len(res) / ((time.perf_counter() - t) / 60)
        # steady state: episodes finished after each worker's first one, over the time since then
        rates[w] = (len(stamps) - w) / ((stamps[-1] - stamps[w - 1]) / 60)
        print(f"grasp episodes/min with {w} worker(s): {rates[w]:.1f} steady state, {total[w]:.1f} including "
              f"start-up (success {sum(r.success for r in res)}/{len(res)})")
    out["grasp_episodes_per_min"] = {"1": round(rates[1], 1), "2": round(rates[2], 1), "ratio": round(rates[2] / rates[1], 3),
                                     "with_startup": {"1": round(total[1], 1), "2": round(total[2], 1)}}
    print(f"grasp episodes/min 2 workers / 1 worker: {rates[2] / rates[1]:.2f} steady state "
          f"({total[2] / total[1]:.2f} including start-up; target >= 1.8)")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
