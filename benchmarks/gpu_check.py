"""One short, prepared check of the batched GPU paths (``num_envs > 1``, ``physx_cuda``, Warp on ``cuda``).

Sections (each one a child process with its own time limit; one that fails or runs out of
time records its error and its last phase in the JSON, and the others still run):

1. ``closed_loop``: ``RealVLG-Grasp-v0`` (state observations, ``pd_ee_delta_pose``, uniform
   random actions) at each ``--counts`` number of sub-scenes, env steps/s (sub-scenes x
   control steps per second), beside ManiSkill ``PickCube-v1`` under the same settings in
   the same run: ``ratio`` = ours / PickCube.
2. ``oracle_batched``: the oracle's ground-truth grasp in every sub-scene, executed at once
   by the batched grasp primitive; success rate and failure modes.
3. ``warp_synthesis``: dexterous grasp optimisation (Warp energy + Adam, no validation) of a
   batch of grasps on the mug handle (``--warp-grasps`` on cuda, ``--warp-cpu-grasps`` on cpu,
   whose time grows linearly with the batch), grasps/s on each ``--warp-devices`` device, and
   ``cuda_over_cpu``.

Building a RealVLG scene costs CPU time per sub-scene (sampling the scene spec, ~50 ms, and its
actors), so the largest counts may hit the section limit: the JSON then says so, with the last
phase reached.

    python benchmarks/gpu_check.py --out runs/gpu_check.json                 # on a GPU, < 5 min
    python benchmarks/gpu_check.py --smoke --out /tmp/gpu_check_smoke.json   # CPU, tiny counts (CI)
    python benchmarks/gpu_check.py --physx-gpu-lib shared/linux-so.zip --out runs/gpu_check.json  # no GitHub there

``physx_cuda`` needs PhysX's GPU library, which SAPIEN 3.0.3 downloads from GitHub into
``~/.sapien/physx/<physx version>/`` at the first GPU simulation (no variable overrides that
place; ``$HOME`` moves it). No PyPI package ships it for SAPIEN's PhysX
(``105.1-physx-5.3.1.patch0``), so a machine without GitHub needs it carried:
``--physx-gpu-lib`` installs it there before the sections run.

The last line printed is the JSON that ``--out`` also receives.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path

PHASE_PREFIX = "GPU_CHECK_PHASE "
RESULT_PREFIX = "GPU_CHECK_RESULT "


def _phase(name: str, **data) -> None:
    """Progress to stderr; the parent keeps the last one of a child that timed out or died."""
    print(PHASE_PREFIX + json.dumps(dict(phase=name, **data)), file=sys.stderr, flush=True)


def _sync(device) -> None:
    import torch

    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


# ---------------------------------------------------------------- sections (run in a child)
def _render_backend(render: str | None) -> str:
    import torch

    return render or ("gpu" if torch.cuda.is_available() else "cpu")


def closed_loop_steps(env_id: str, num_envs: int, backend: str, steps: int, warmup: int,
                      render: str | None = None) -> dict:
    """Env steps/s of ``env_id`` with ``num_envs`` sub-scenes on ``backend``, random actions."""
    import gymnasium as gym
    import mani_skill.envs  # noqa: F401  (registers PickCube-v1)
    import torch

    import vlgsim  # noqa: F401

    _phase("start", env=env_id, num_envs=num_envs)
    t0 = time.perf_counter()
    env = gym.make(env_id, num_envs=num_envs, sim_backend=backend, obs_mode="state", control_mode="pd_ee_delta_pose",
                   render_backend=_render_backend(render)).unwrapped  # the batched env, for both
    make_s = time.perf_counter() - t0  # includes ManiSkill's first reset (scene build)
    _phase("made", env=env_id, make_s=round(make_s, 2))
    space = env.single_action_space
    low = torch.as_tensor(space.low, dtype=torch.float32, device=env.device)
    high = torch.as_tensor(space.high, dtype=torch.float32, device=env.device)
    gen = torch.Generator(device=env.device).manual_seed(0)

    def action():
        return low + (high - low) * torch.rand((num_envs, len(low)), generator=gen, device=env.device)

    for _ in range(warmup):
        env.step(action())
    _sync(env.device)
    _phase("warm", env=env_id)
    t = time.perf_counter()
    for _ in range(steps):
        obs, reward, *_ = env.step(action())
    _sync(env.device)
    dt = time.perf_counter() - t
    state = obs["state"] if isinstance(obs, dict) else obs  # ours: {"state": (B, D)}; PickCube: (B, D)
    finite = bool(torch.isfinite(torch.as_tensor(reward)).all()) and bool(torch.isfinite(state).all())
    out = dict(num_envs=num_envs, steps=steps, env_steps_per_s=round(num_envs * steps / dt, 1),
               step_s=round(dt / steps, 5), make_and_first_reset_s=round(make_s, 2), finite=finite,
               device=str(env.device))
    env.close()
    return out


def oracle_batched(num_envs: int, backend: str, render: str | None = None) -> dict:
    """Oracle grasps in every sub-scene of one batched RealVLG env, one batched primitive run."""
    import gymnasium as gym
    import numpy as np
    import torch

    import vlgsim  # noqa: F401
    from vlgsim.policies.oracle import OraclePolicy

    _phase("start", num_envs=num_envs)
    t0 = time.perf_counter()
    env = gym.make("RealVLG-Grasp-v0", num_envs=num_envs, sim_backend=backend,
                   render_backend=_render_backend(render)).unwrapped
    make_s = time.perf_counter() - t0  # ManiSkill resets at construction: seeds 2022 + i
    _phase("made", make_s=round(make_s, 2))
    t = time.perf_counter()
    policy, actions, unlabelled = OraclePolicy("grasp_rect"), [], 0
    for i in range(num_envs):
        gt = env.ground_truth[i]
        unlabelled += int(len(gt["grasp_rects"]) == 0)
        policy.reset(gt["instruction"], dict(gt, episode_seed=int(env._episode_seed[i])))
        actions.append(policy.act(None))
    labels_s = time.perf_counter() - t
    _phase("labelled", labels_s=round(labels_s, 2))
    t = time.perf_counter()
    _, reward, terminated, _, info = env.step(np.stack(actions))
    _sync(env.device)
    grasp_s = time.perf_counter() - t
    success = torch.as_tensor(info["success"]).cpu().numpy().astype(bool)
    modes: dict[str, int] = {}
    for m in info["failure_mode"]:
        modes[m] = modes.get(m, 0) + 1
    out = dict(num_envs=num_envs, success_rate=round(float(success.mean()), 4), successes=int(success.sum()),
               failure_modes=modes, targets_without_label=unlabelled, make_and_first_reset_s=round(make_s, 2),
               labels_s=round(labels_s, 2), grasp_primitive_s=round(grasp_s, 2),
               grasps_per_s=round(num_envs / grasp_s, 2), all_terminated=bool(torch.as_tensor(terminated).all()),
               reward_mean=round(float(torch.as_tensor(reward, dtype=torch.float32).mean()), 4), device=str(env.device))
    env.close()
    return out


def warp_synthesis(device: str, grasps: int, iterations: int, category: str = "mug", part: str = "handle") -> dict:
    """Grasps/s of the Warp energy optimisation (no validation) on ``device``."""
    import numpy as np
    import warp as wp

    from vlgsim.assets import ObjectSpec, build_object
    from vlgsim.assets.shadow_hand import load_shadow_hand
    from vlgsim.grasp.dex_energy import GraspEnergy, ObjectField, pick_device
    from vlgsim.grasp.dex_synthesis import SynthesisConfig, initial_grasps, optimize

    device = pick_device(device)
    hand = load_shadow_hand()
    asset = build_object(ObjectSpec(category, "white", 1.0))
    obj = ObjectField.from_parts(asset.parts, seed=0)
    others = obj.surface_points[obj.surface_part != obj.part_index(part)]
    energy = GraspEnergy(hand, obj, part, grasps, device=device)
    x0, active = initial_grasps(hand, asset.part(part).mesh, grasps, np.random.default_rng(0), SynthesisConfig(), others)
    t = time.perf_counter()
    optimize(energy, x0, active, SynthesisConfig(iterations=2))  # kernel compile / load and first launches
    wp.synchronize_device(device)
    warm_s = time.perf_counter() - t
    _phase("compiled", device=device, warm_s=round(warm_s, 2))
    t = time.perf_counter()
    res = optimize(energy, x0, active, SynthesisConfig(iterations=iterations))
    wp.synchronize_device(device)
    dt = time.perf_counter() - t
    return dict(device=device, grasps=grasps, iterations=iterations, grasps_per_s=round(grasps / dt, 3),
                optimise_s=round(dt, 2), compile_s=round(warm_s, 2),
                energy_initial_mean=round(float(np.mean(res.initial_energy)), 4),
                energy_final_mean=round(float(np.mean(res.energy)), 4),
                energy_decreased=bool(np.mean(res.energy) < np.mean(res.initial_energy)),
                finite=bool(np.isfinite(res.grasps).all() and np.isfinite(res.energy).all()))


def _run_section(kind: str, a: dict) -> dict:
    if kind == "realvlg":
        return closed_loop_steps("RealVLG-Grasp-v0", a["n"], a["backend"], a["steps"], a["warmup"], a.get("render"))
    if kind == "pickcube":
        return closed_loop_steps("PickCube-v1", a["n"], a["backend"], a["steps"], a["warmup"], a.get("render"))
    if kind == "oracle":
        return oracle_batched(a["n"], a["backend"], a.get("render"))
    if kind == "warp":
        return warp_synthesis(a["device"], a["grasps"], a["iterations"])
    raise ValueError(f"section {kind!r}; rule: realvlg, pickcube, oracle or warp")


def _child_main(kind: str, arg_json: str) -> None:
    os.environ.setdefault("LP_NUM_THREADS", "1")
    try:
        out = _run_section(kind, json.loads(arg_json))
    except BaseException as e:  # noqa: BLE001 - the parent records it
        out = dict(error=f"{type(e).__name__}: {e}", traceback=traceback.format_exc(limit=8)[-3000:])
    print(RESULT_PREFIX + json.dumps(out), flush=True)


# ---------------------------------------------------------------- parent
def run_child(kind: str, a: dict, timeout_s: float, isolate: bool) -> dict:
    """Run one section; every failure (exception, crash, timeout) comes back as ``{"error": ...}``."""
    t = time.perf_counter()
    if not isolate:
        try:
            out = _run_section(kind, a)
        except Exception as e:  # noqa: BLE001
            out = dict(error=f"{type(e).__name__}: {e}", traceback=traceback.format_exc(limit=8)[-3000:])
        out["wall_s"] = round(time.perf_counter() - t, 2)
        return out
    cmd = [sys.executable, os.path.abspath(__file__), "--child", kind, json.dumps(a)]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
        stdout, stderr, rc = p.stdout, p.stderr, p.returncode
        timed_out = False
    except subprocess.TimeoutExpired as e:
        def _s(x):
            return x.decode(errors="replace") if isinstance(x, bytes) else (x or "")

        stdout, stderr, rc, timed_out = _s(e.stdout), _s(e.stderr), None, True
    results = [ln[len(RESULT_PREFIX):] for ln in stdout.splitlines() if ln.startswith(RESULT_PREFIX)]
    phases = [ln[len(PHASE_PREFIX):] for ln in stderr.splitlines() if ln.startswith(PHASE_PREFIX)]
    if results:
        out = json.loads(results[-1])
    elif timed_out:
        out = dict(error=f"timed out after {timeout_s:.0f} s (section time limit)")
    else:
        out = dict(error=f"child process exited with code {rc} and no result (crash?)",
                   stderr_tail=stderr[-2000:])
    if "error" in out and phases:
        out["last_phase"] = json.loads(phases[-1])
    out["wall_s"] = round(time.perf_counter() - t, 2)
    return out


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": sys.version.split()[0]}
    for name in ("torch", "sapien", "mani_skill", "warp-lang", "vlgsim"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def _physx_gpu_dir():
    import sapien

    # sapien.physx.enable_gpu() looks only here (Path.home() follows $HOME) and downloads into it if missing
    return Path.home() / ".sapien" / "physx" / sapien.physx.version()


def _physx_gpu_library() -> dict:
    """Where SAPIEN looks for PhysX's GPU library (``physx_cuda`` needs it). SAPIEN downloads it
    from GitHub at the first GPU simulation; on a machine without that network it must be put
    there first (``--physx-gpu-lib``: the ``libPhysXGpu_64.so`` of SAPIEN's ``linux-so.zip`` for
    this PhysX version, or that zip)."""
    try:
        version = _physx_gpu_dir().name
        path = _physx_gpu_dir() / "libPhysXGpu_64.so"
        return dict(present=path.exists(), path=str(path), physx_version=version,
                    bytes=path.stat().st_size if path.exists() else None)
    except Exception as e:  # noqa: BLE001
        return dict(present=None, error=f"{type(e).__name__}: {e}")


def install_physx_gpu_library(source: Path) -> Path:
    """Put a carried PhysX GPU library where SAPIEN looks for it: ``source`` is the
    ``libPhysXGpu_64.so`` itself or SAPIEN's ``linux-so.zip`` holding it (from
    ``github.com/sapien-sim/physx-precompiled/releases/download/<physx version>/``, fetched on
    a machine with that network). Returns the installed path."""
    import shutil
    import zipfile

    source = Path(source)
    if not source.is_file():
        raise FileNotFoundError(f"--physx-gpu-lib {source}: no such file; rule: libPhysXGpu_64.so or linux-so.zip")
    dest = _physx_gpu_dir() / "libPhysXGpu_64.so"
    dest.parent.mkdir(parents=True, exist_ok=True)
    if zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as z:
            names = [n for n in z.namelist() if n.endswith("libPhysXGpu_64.so")]
            if not names:
                raise ValueError(f"--physx-gpu-lib {source}: the zip holds no libPhysXGpu_64.so")
            with z.open(names[0]) as f, open(dest, "wb") as out:
                shutil.copyfileobj(f, out)
    else:
        with open(source, "rb") as f:
            if f.read(4) != b"\x7fELF":
                raise ValueError(f"--physx-gpu-lib {source}: not a shared library (no ELF header); "
                                 f"rule: libPhysXGpu_64.so or linux-so.zip")
        shutil.copyfile(source, dest)
    return dest


def _cuda_info() -> dict:
    try:
        import torch

        if torch.cuda.is_available():
            return dict(available=True, name=torch.cuda.get_device_name(0), count=torch.cuda.device_count())
        return dict(available=False)
    except Exception as e:  # noqa: BLE001
        return dict(available=False, error=f"{type(e).__name__}: {e}")


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--smoke", action="store_true", help="CPU, tiny counts: physx_cpu, 1 env, 2 grasps, 5 Adam steps")
    ap.add_argument("--backend", default=None, help="sim backend (default physx_cuda; --smoke: physx_cpu)")
    ap.add_argument("--counts", default=None, help="comma-separated sub-scene counts (default 256,1024,4096)")
    ap.add_argument("--steps", type=int, default=None, help="timed control steps per count (default 100)")
    ap.add_argument("--warmup", type=int, default=None, help="untimed steps first (default 10)")
    ap.add_argument("--oracle-envs", type=int, default=None, help="sub-scenes of the batched oracle grasp (default 256)")
    ap.add_argument("--warp-devices", default=None, help="comma-separated Warp devices (default cuda,cpu)")
    ap.add_argument("--warp-grasps", type=int, default=None, help="grasps in the batch on cuda (default 1024)")
    ap.add_argument("--warp-cpu-grasps", type=int, default=None,
                    help="grasps in the batch on cpu (default 64: CPU time grows linearly with the batch)")
    ap.add_argument("--render-backend", default=None, help="ManiSkill render backend (default gpu where CUDA is, else cpu)")
    ap.add_argument("--warp-iterations", type=int, default=None, help="Adam steps (default 100)")
    ap.add_argument("--budget-s", type=float, default=280.0, help="whole run; sections past it are skipped")
    ap.add_argument("--section-timeout-s", type=float, default=100.0, help="time limit of each section")
    ap.add_argument("--isolate", action=argparse.BooleanOptionalAction, default=True,
                    help="one child process per section (default; ManiSkill allows one GPU sim per process)")
    ap.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    ap.add_argument("--physx-gpu-lib", type=Path, default=None,
                    help="a carried libPhysXGpu_64.so (or SAPIEN's linux-so.zip): installed where SAPIEN looks for it "
                         "first, for machines that cannot download it")
    ap.add_argument("--child", nargs=2, metavar=("SECTION", "ARGS_JSON"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        _child_main(*args.child)
        return {}

    def pick(value, full, smoke):
        return value if value is not None else (smoke if args.smoke else full)

    backend = pick(args.backend, "physx_cuda", "physx_cpu")
    counts = [int(c) for c in pick(args.counts, "256,1024,4096", "1").split(",") if c.strip()]
    steps, warmup = pick(args.steps, 100, 5), pick(args.warmup, 10, 2)
    oracle_envs = pick(args.oracle_envs, 256, 1)
    devices = [d.strip() for d in pick(args.warp_devices, "cuda,cpu", "cpu").split(",") if d.strip()]
    grasps, iterations = pick(args.warp_grasps, 1024, 2), pick(args.warp_iterations, 100, 5)
    cpu_grasps = pick(args.warp_cpu_grasps, 64, 2)
    render = args.render_backend
    config = dict(smoke=args.smoke, backend=backend, counts=counts, steps=steps, warmup=warmup,
                  oracle_envs=oracle_envs, warp_devices=devices, warp_grasps=grasps, warp_cpu_grasps=cpu_grasps,
                  warp_iterations=iterations, render_backend=render,
                  budget_s=args.budget_s, section_timeout_s=args.section_timeout_s, isolate=args.isolate)
    # the smallest count, the oracle and Warp run before the larger counts, so a short budget still shows them;
    # at each count the quick ManiSkill reference first
    def count_plan(n):
        a = dict(n=n, backend=backend, steps=steps, warmup=warmup, render=render)
        return [("closed_loop", str(n), "pickcube", a), ("closed_loop", str(n), "realvlg", a)]

    plan = [p for n in counts[:1] for p in count_plan(n)]
    plan.append(("oracle_batched", None, "oracle", dict(n=oracle_envs, backend=backend, render=render)))
    plan += [("warp_synthesis", d, "warp", dict(device=d, grasps=cpu_grasps if d == "cpu" else grasps,
                                                iterations=iterations)) for d in devices]
    plan += [p for n in counts[1:] for p in count_plan(n)]
    if args.physx_gpu_lib is not None:
        install_physx_gpu_library(args.physx_gpu_lib)
    report: dict = dict(config=config, versions=_versions(), cuda=_cuda_info(),
                        physx_gpu_library=_physx_gpu_library(), closed_loop={}, oracle_batched=None,
                        warp_synthesis={})
    t0 = time.perf_counter()
    for section, key, kind, a in plan:
        left = args.budget_s - (time.perf_counter() - t0)
        if left < 10:
            res = dict(error=f"skipped: the {args.budget_s:.0f} s budget was spent")
        else:
            print(f"[gpu_check] {section} {kind} {a} (limit {min(args.section_timeout_s, left):.0f} s)",
                  file=sys.stderr, flush=True)
            res = run_child(kind, a, min(args.section_timeout_s, left), args.isolate)
        if section == "closed_loop":
            report["closed_loop"].setdefault(key, {})["pickcube_v1" if kind == "pickcube" else "realvlg_grasp"] = res
        elif section == "oracle_batched":
            report["oracle_batched"] = res
        else:
            report["warp_synthesis"][key] = res
        print(f"[gpu_check]   -> {json.dumps(res)[:400]}", file=sys.stderr, flush=True)
    for key, row in report["closed_loop"].items():
        ours, ref = row.get("realvlg_grasp", {}), row.get("pickcube_v1", {})
        if "env_steps_per_s" in ours and "env_steps_per_s" in ref:
            row["ratio"] = round(ours["env_steps_per_s"] / ref["env_steps_per_s"], 3)
    ws = report["warp_synthesis"]
    if "grasps_per_s" in ws.get("cuda", {}) and "grasps_per_s" in ws.get("cpu", {}):
        ws["cuda_over_cpu"] = round(ws["cuda"]["grasps_per_s"] / ws["cpu"]["grasps_per_s"], 2)
    report["errors"] = _errors(report)
    report["wall_s"] = round(time.perf_counter() - t0, 1)
    line = json.dumps(report)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(line + "\n")
    print(line, flush=True)
    return report


def _errors(report: dict) -> list[str]:
    out = []
    for key, row in report["closed_loop"].items():
        for name, res in row.items():
            if isinstance(res, dict) and "error" in res:
                out.append(f"closed_loop[{key}].{name}: {res['error']}")
    if isinstance(report["oracle_batched"], dict) and "error" in report["oracle_batched"]:
        out.append(f"oracle_batched: {report['oracle_batched']['error']}")
    for key, res in report["warp_synthesis"].items():
        if isinstance(res, dict) and "error" in res:
            out.append(f"warp_synthesis[{key}]: {res['error']}")
    return out


if __name__ == "__main__":
    main()
