"""RealVLG-Grasp-v0 grasp episodes per core: ``scene_reuse=True`` / ``scene_reuse=False``.

Both modes run the oracle on the same seeds (episode ``i`` uses seed ``S + i``), each in
its own process pinned to one thread (``torch.set_num_threads(1)``, ``LP_NUM_THREADS=1``),
started together so they see the same machine load. A core-minute is CPU time of the
process (all its threads, lavapipe's included), so the rate does not depend on how busy
the machine is; wall-clock rates are printed beside. Each process first runs
``--warmup`` episodes on other seeds (start-up, shader compilation and the first builds of
object meshes are not counted) and checks that both modes give the same rows. The on-disk
caches shared by every process on a machine (antipodal grasps, object geometry, mesh files,
and the render arrays that only scene reuse reads, saved beside the mesh files at the first
load on a machine) are filled before either starts.

A third process, after those two, runs the implementation the issue measured against
(``--baseline-rev``, default ``5268f48``: main before the scale work of issue 15, which rebuilt
the scene at every reset and had none of the caches), extracted with ``git archive`` into a
temporary folder and imported from there, with its own on-disk cache: it first runs the same
seeds once untimed (its caches and shaders warm), then the timed pass; its rows are compared
too. Skipped (ratio ``null``) where the git history is missing.

    python benchmarks/bench_reset_reuse.py [--episodes 40] [--warmup 10] [--seed 1000] [--baseline-rev REV]

``per_core_ratio`` = reuse / the baseline revision (issue 15's "current implementation");
``per_core_ratio_vs_rebuild`` = reuse / today's ``scene_reuse=False`` (it shares every other
speed-up). Target: per-core ratio >= 3.0. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

BASELINE_REV = "5268f48"
"""main before issue 15's scale work: a rebuild at every reset, no shared caches."""


def worker(reuse: bool, seeds: list[int], warmup_seeds: list[int]) -> dict:
    os.environ.setdefault("LP_NUM_THREADS", "1")
    import gymnasium as gym
    import torch

    torch.set_num_threads(1)
    import vlgsim  # noqa: F401
    from vlgsim.policies import make_policy
    from vlgsim.sim_eval.rollout import run_episode

    t0 = time.perf_counter()
    kw = {} if os.environ.get("VLGSIM_BENCH_BASELINE") else dict(scene_reuse=reuse)  # the baseline predates it
    env = gym.make("vlgsim:RealVLG-Grasp-v0", **kw)
    policy = make_policy("oracle", env, seed=0)
    for i, s in enumerate(warmup_seeds):
        run_episode(env, policy, i, s)
    startup_s = time.perf_counter() - t0
    rows = []
    c0, t0 = time.process_time(), time.perf_counter()
    for i, s in enumerate(seeds):
        r, _ = run_episode(env, policy, i, s)
        rows.append([r.seed, r.instruction, r.extra.get("target_id"), r.action, r.success, r.failure_mode])
    cpu_s, wall_s = time.process_time() - c0, time.perf_counter() - t0
    env.close()
    return dict(scene_reuse=reuse, episodes=len(seeds), cpu_s=round(cpu_s, 3), wall_s=round(wall_s, 3),
                startup_s=round(startup_s, 2), per_core_per_min=round(len(seeds) / cpu_s * 60, 1),
                wall_per_min=round(len(seeds) / wall_s * 60, 1), rows=rows)


def baseline_run(rev: str, cmd: list[str]) -> dict:
    """The ``baseline`` worker on the code of ``rev`` (``git archive`` of this checkout's history),
    with its own cache folder; ``{"error": ...}`` where that revision cannot be had."""
    root = Path(__file__).resolve().parents[1]
    tree = Path(tempfile.gettempdir()) / f"vlgsim-baseline-{rev}"
    if not (tree / "vlgsim" / "__init__.py").exists():
        p = subprocess.run(["git", "-C", str(root), "archive", rev], capture_output=True)
        if p.returncode:
            return dict(error=f"git archive {rev}: {p.stderr.decode(errors='replace').strip()[:300]}")
        tree.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(p.stdout)) as tar:
            tar.extractall(tree, filter="data")
    env = dict(os.environ, PYTHONPATH=str(tree), VLGSIM_BENCH_BASELINE="1", VLGSIM_CACHE=str(tree / ".cache"))
    p = subprocess.run(cmd + ["baseline"], stdout=subprocess.PIPE, text=True, env=env)
    if p.returncode:
        return dict(error=f"baseline worker exit {p.returncode}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--episodes", type=int, default=40)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1000)
    ap.add_argument("--baseline-rev", default=BASELINE_REV, help="git revision to compare with ('' to skip)")
    ap.add_argument("--worker", choices=["reuse", "rebuild", "baseline"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    seeds = list(range(args.seed, args.seed + args.episodes))
    warmup = list(range(args.seed + 100_000, args.seed + 100_000 + args.warmup))
    if args.worker:
        print(json.dumps(worker(args.worker == "reuse", seeds, seeds if args.worker == "baseline" else warmup)))
        return
    from vlgsim.grasp.antipodal import object_grasps
    from vlgsim.scenes import CameraSpec, sample_tabletop_scene
    from vlgsim.sim.maniskill_scene import cache_object_meshes

    for s in seeds + warmup:  # fill the on-disk caches (grasps, geometry, mesh files, render arrays), once per machine
        scene = sample_tabletop_scene(s, camera=CameraSpec.d435(320, 240))
        object_grasps(scene.target.spec)
        for o in scene.objects:
            cache_object_meshes(o.spec.category, o.spec.scale)
    cmd = [sys.executable, __file__, "--episodes", str(args.episodes), "--warmup", str(args.warmup),
           "--seed", str(args.seed), "--worker"]
    procs = {m: subprocess.Popen(cmd + [m], stdout=subprocess.PIPE, text=True) for m in ("rebuild", "reuse")}
    res = {}
    for m, p in procs.items():
        out, _ = p.communicate()
        if p.returncode != 0:
            raise SystemExit(f"{m} worker failed with exit code {p.returncode}")
        res[m] = json.loads(out.strip().splitlines()[-1])
    res["baseline"] = baseline_run(args.baseline_rev, cmd) if args.baseline_rev else None
    a, b, c = res["reuse"], res["rebuild"], res["baseline"]
    same = a["rows"] == b["rows"]
    ratio_rebuild = a["per_core_per_min"] / b["per_core_per_min"]
    ratio = a["per_core_per_min"] / c["per_core_per_min"] if c and "rows" in c else None
    for m in ("rebuild", "reuse") + (("baseline",) if ratio else ()):
        r = res[m]
        label = {"rebuild": "scene_reuse=False", "reuse": "scene_reuse=True ", "baseline": args.baseline_rev}[m]
        print(f"{label:17}: {r['per_core_per_min']:6.1f} grasp episodes/min per core "
              f"({r['cpu_s']:.1f} s CPU for {r['episodes']}), {r['wall_per_min']:6.1f}/min wall clock, "
              f"start-up + warm-up episodes {r['startup_s']:.1f} s")
    print(f"per-core ratio reuse / rebuild: {ratio_rebuild:.2f}; wall-clock ratio "
          f"{a['wall_per_min'] / b['wall_per_min']:.2f}; identical rows on {len(seeds)} seeds: {same}")
    if ratio:
        print(f"per-core ratio reuse / {args.baseline_rev} (before issue 15): {ratio:.2f} (target >= 3.0); identical "
              f"rows: {a['rows'] == c['rows']}")
    else:
        print(f"baseline {args.baseline_rev!r} not measured: {c and c.get('error')}")
    print(json.dumps(dict(
        per_core_ratio=round(ratio, 3) if ratio else None, per_core_ratio_vs_rebuild=round(ratio_rebuild, 3),
        wall_ratio_vs_rebuild=round(a["wall_per_min"] / b["wall_per_min"], 3),
        reuse_per_core_per_min=a["per_core_per_min"], rebuild_per_core_per_min=b["per_core_per_min"],
        baseline_per_core_per_min=c["per_core_per_min"] if ratio else None, baseline_rev=args.baseline_rev or None,
        episodes=len(seeds), identical_rows=same, identical_rows_vs_baseline=a["rows"] == c["rows"] if ratio else None)))


if __name__ == "__main__":
    main()
