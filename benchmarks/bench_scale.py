"""Scaling of grasp episodes (RealVLG-Grasp-v0, oracle), as ratios measured in the same run.

1. ``per_core_ratio``: grasp episodes per core-minute (CPU time of the process) with
   ``scene_reuse=True`` divided by the implementation before issue 15's work (git revision
   5268f48, run from its own extracted tree); ``per_core_ratio_vs_rebuild``: divided by today's
   ``scene_reuse=False`` (rebuild the scene at every reset). Both from
   ``benchmarks/bench_reset_reuse.py --episodes N --warmup 5`` (one-thread processes on the same
   seeds, rows compared). ``null`` when the env does not take the ``scene_reuse`` keyword (then
   only the rebuild rate is reported). Target >= 3.0.
2. ``two_worker_ratio``: episodes/min with 2 local workers / 1 worker in steady state
   (episodes finished after each worker's first one, over the time since then); target >= 1.8.
   ``two_worker_ratio_with_startup``: the same over the whole run of ``--episodes`` episodes
   (default 60), each run a fresh process timed from its launch (imports, worker start,
   shader warm-up included) to the return of ``evaluate`` (``after_last_result_s``: from the
   last result to that return; worker processes end after it, as the one-worker run's own
   process does); target >= 1.5.
3. ``ray_vs_local``: steady-state episodes/min with ``--backend ray`` on a private 2-CPU
   Ray instance / 2 local workers; target >= 0.9 (``ray_vs_local_with_startup`` beside it,
   Ray's own start included).

The worker runs use ``scene_reuse=True`` where the env takes it (the fast path), else the
default env. Needs >= 2 free cores (``load_average`` before and after is in the JSON: ratios
taken beside other work are no scaling numbers); the last line printed is one JSON object.
The default run should take about 3 minutes on 2 quiet cores (estimated from CPU times; not run quiet here).

    python benchmarks/bench_scale.py [--episodes 60] [--per-core-episodes 100]
"""

from __future__ import annotations

import os

os.environ.setdefault("LP_NUM_THREADS", "1")

import argparse
import json
import subprocess
import sys
import time

SEED0 = 1000


def env_takes_scene_reuse() -> bool:
    import inspect

    import vlgsim  # noqa: F401
    from vlgsim.envs import TASKS

    cls = TASKS["RealVLG-Grasp-v0"].cls
    return any("scene_reuse" in inspect.signature(c.__init__).parameters for c in cls.__mro__ if "__init__" in vars(c))


def per_core_rate(env_kwargs: dict, episodes: int, warmup: int = 2) -> dict:
    """Oracle grasp episodes/min in this process (one core), after ``warmup`` episodes."""
    import gymnasium as gym
    import torch

    import vlgsim  # noqa: F401
    from vlgsim.policies import make_policy
    from vlgsim.sim_eval.rollout import run_episode

    torch.set_num_threads(1)
    env = gym.make("RealVLG-Grasp-v0", **env_kwargs)
    policy = make_policy("oracle", env)
    for i in range(warmup):
        run_episode(env, policy, i, SEED0 + 10_000 + i)
    t = time.perf_counter()
    results = [run_episode(env, policy, i, SEED0 + i)[0] for i in range(episodes)]
    dt = time.perf_counter() - t
    env.close()
    return dict(env_kwargs=env_kwargs, episodes=episodes, per_min=round(60 * episodes / dt, 1),
                successes=sum(r.success for r in results), rows=[(r.seed, r.success, r.failure_mode) for r in results])


def per_core_ratio(episodes: int, warmup: int = 5) -> dict:
    """``bench_reset_reuse.py``'s JSON (per-core rates of both modes, their ratio, same rows)."""
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench_reset_reuse.py")
    p = subprocess.run([sys.executable, script, "--episodes", str(episodes), "--warmup", str(warmup)],
                       capture_output=True, text=True)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if p.returncode or not lines:
        return dict(error=f"bench_reset_reuse.py exit {p.returncode}: {p.stderr[-1500:]}")
    return json.loads(lines[-1])


def child_eval(workers: int, backend: str, episodes: int, env_kwargs: dict, launched: float) -> dict:
    """One cold run (this process was launched at ``launched``, epoch seconds)."""
    from vlgsim.sim_eval.rollout import EvalJob, evaluate
    from vlgsim.workers import Backend

    stamps = []
    res = evaluate(EvalJob("RealVLG-Grasp-v0", "oracle", env_kwargs), [SEED0 + i for i in range(episodes)],
                   on_result=lambda r, f: stamps.append(time.time()), backend=Backend(backend, workers))
    end = time.time()
    steady = (len(stamps) - workers) / ((stamps[-1] - stamps[workers - 1]) / 60) if len(stamps) > workers else None
    return dict(workers=workers, backend=backend, episodes=len(res), successes=sum(r.success for r in res),
                errors=sum(r.failure_mode == "error" for r in res), steady_per_min=round(steady, 1) if steady else None,
                with_startup_per_min=round(60 * len(res) / (end - launched), 1), wall_s=round(end - launched, 1),
                first_result_s=round(stamps[0] - launched, 1) if stamps else None,
                after_last_result_s=round(end - stamps[-1], 2) if stamps else None)


def cold_run(workers: int, backend: str, episodes: int, env_kwargs: dict) -> dict:
    launched = time.time()
    p = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", json.dumps(
        dict(workers=workers, backend=backend, episodes=episodes, env_kwargs=env_kwargs, launched=launched))],
        capture_output=True, text=True)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if p.returncode or not lines:
        return dict(workers=workers, backend=backend, error=f"exit {p.returncode}: {p.stderr[-1500:]}")
    out = json.loads(lines[-1])
    print(f"{backend} x{workers}: {out}", file=sys.stderr, flush=True)
    return out


def _ratio(a, b):
    return round(a / b, 3) if a and b else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--episodes", type=int, default=60, help="episodes of each worker run")
    ap.add_argument("--per-core-episodes", type=int, default=100)
    ap.add_argument("--skip-ray", action="store_true")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child_eval(**json.loads(args.child))))
        return
    out: dict = dict(load_average_before=[round(x, 2) for x in os.getloadavg()])
    reuse = env_takes_scene_reuse()
    out["scene_reuse_keyword"] = reuse
    if reuse:
        out["per_core"] = per_core_ratio(args.per_core_episodes)
        out["per_core_ratio"] = out["per_core"].get("per_core_ratio")
        out["per_core_ratio_vs_rebuild"] = out["per_core"].get("per_core_ratio_vs_rebuild")
    else:
        rebuild = per_core_rate({}, args.per_core_episodes)
        out["per_core_rebuild"] = {k: v for k, v in rebuild.items() if k != "rows"}
        out["per_core_ratio"] = None
    print(f"per core: {out}", file=sys.stderr, flush=True)
    kw = {"scene_reuse": True} if reuse else {}
    one = cold_run(1, "local", args.episodes, kw)
    two = cold_run(2, "local", args.episodes, kw)
    out["local_1"], out["local_2"] = one, two
    out["two_worker_ratio"] = _ratio(two.get("steady_per_min"), one.get("steady_per_min"))
    out["two_worker_ratio_with_startup"] = _ratio(two.get("with_startup_per_min"), one.get("with_startup_per_min"))
    if args.skip_ray:
        out["ray_vs_local"] = out["ray_vs_local_with_startup"] = None
    else:
        ray2 = cold_run(2, "ray", args.episodes, kw)
        out["ray_2"] = ray2
        out["ray_vs_local"] = _ratio(ray2.get("steady_per_min"), two.get("steady_per_min"))
        out["ray_vs_local_with_startup"] = _ratio(ray2.get("with_startup_per_min"), two.get("with_startup_per_min"))
    out["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
