"""The ``vlgsim`` command: subcommands that call the layers below."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, help="vlgsim: language-driven robot grasping in simulation")


def _parse_kv(pairs: list[str], option: str = "--env-kwarg") -> dict:
    out = {}
    for p in pairs:
        if "=" not in p:
            raise typer.BadParameter(f"{option} {p!r}; rule: KEY=VALUE (VALUE parsed as JSON if it can be)")
        k, v = p.split("=", 1)
        try:
            out[k] = json.loads(v)
        except json.JSONDecodeError:
            out[k] = v
    return out


WORKERS_HELP = "parallel workers, one CPU each (default 1; with --backend ray: every CPU); results do not depend on it"
BACKEND_HELP = "where workers run: local (processes on this machine) or ray (actors on a Ray cluster)"
ADDRESS_HELP = ("with --backend ray: join a running cluster (auto, or HOST:PORT; see `ray start --head`); "
                "default: start a private Ray on this machine (loopback only) with --workers CPUs")


def _backend(kind: str, workers: Optional[int], address: Optional[str]):
    from vlgsim.workers import Backend

    try:
        return Backend(kind, workers if workers is not None or kind == "ray" else 1, address)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from e


@app.command("envs")
def list_envs():
    """List the registered environment ids."""
    from vlgsim.envs import TASKS

    for env_id, entry in sorted(TASKS.items()):
        doc = (sys.modules[entry.cls.__module__].__doc__ or "").strip()
        typer.echo(f"{env_id:28s} {doc.splitlines()[0] if doc else ''}")


@app.command("eval")
def eval_cmd(
    env: str = typer.Option("RealVLG-Grasp-v0", "--env", help="registered env id"),
    policy: str = typer.Option("oracle", "--policy", help="NAME[:ARG], e.g. oracle, random"),
    episodes: int = typer.Option(20, "--episodes", min=1),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, help=WORKERS_HELP),
    backend: str = typer.Option("local", "--backend", help=BACKEND_HELP),
    address: Optional[str] = typer.Option(None, "--address", help=ADDRESS_HELP),
    seed: int = typer.Option(0, "--seed", help="episode i uses seed + i"),
    out: Path = typer.Option(Path("runs/eval"), "--out", help="output folder"),
    video_episodes: int = typer.Option(2, "--video-episodes", min=0, help="record MP4s of the first N episodes"),
    env_kwarg: list[str] = typer.Option([], "--env-kwarg", help="KEY=VALUE passed to gym.make (repeatable)"),
    max_steps: Optional[int] = typer.Option(None, "--max-steps", help="cap on steps per episode"),
    resume: bool = typer.Option(True, "--resume/--fresh",
                                help="continue a run in --out with the same settings (default), or start over"),
    suite: Optional[str] = typer.Option(None, "--suite", help="run a whole suite instead of --env: bimanual"),
    split: str = typer.Option("easy", "--split", help="with --suite bimanual: easy or hard"),
):
    """Evaluate a policy on seeded episodes; writes report.json, report.md, episodes.jsonl, videos/.

    Re-running the same command in the same --out continues where a stopped run ended
    (use --fresh after changing a policy or the code); results of a run with other
    settings are kept aside as episodes.<time>.jsonl."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from vlgsim.sim_eval.report import (EpisodeLog, clean_temp_files, finished_videos, read_episode_log, summarize,
                                        write_report, write_video)
    from vlgsim.sim_eval.rollout import EvalJob, evaluate

    pool = _backend(backend, workers, address)
    if suite is not None:
        return _eval_bimanual_suite(suite, policy, split, episodes, seed, out, pool, _parse_kv(env_kwarg))
    out.mkdir(parents=True, exist_ok=True)
    job = EvalJob(env, policy, _parse_kv(env_kwarg), max_steps)
    from vlgsim import __version__

    run_meta = dict(env_id=env, policy=policy, seed=seed, env_kwargs=job.env_kwargs, max_steps=max_steps,
                    vlgsim=__version__)
    log_path, meta_path = out / "episodes.jsonl", out / "run.json"
    clean_temp_files(out)  # left by a killed writer
    previous = read_episode_log(log_path)
    same_run = meta_path.exists() and json.loads(meta_path.read_text()) == run_meta
    if previous and not (resume and same_run):
        log_path.replace(log_path.with_suffix(f".{int(time.time())}.jsonl"))  # keep, never delete, old results
        previous = []
    previous = [r for r in previous if r.episode < episodes]
    if previous:
        typer.echo(f"resuming: {len(previous)} of {episodes} episodes already in {log_path}")
    meta_path.write_text(json.dumps(run_meta))
    log = EpisodeLog(log_path)
    seeds = [seed + i for i in range(episodes)]
    # resuming: keep the videos of logged episodes only (one cut by a kill is re-rendered with its episode)
    videos: list[str] = finished_videos(out, previous) if previous else []
    t0 = time.perf_counter()
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("success {task.fields[rate]}"), TimeRemainingColumn()) as bar:
        task = bar.add_task(f"{env} / {policy}", total=episodes, rate="-", completed=len(previous))
        done = {"n": len(previous), "k": sum(r.success for r in previous)}

        def on_result(r, frames):
            if frames:  # the video first: a result in the log always has its finished video
                p = write_video(out / "videos" / f"episode_{r.episode:03d}_seed_{r.seed}.mp4", frames)
                if p:
                    videos.append(str(p.relative_to(out)))
            log.write(r)
            done["n"] += 1
            done["k"] += int(r.success)
            bar.update(task, advance=1, rate=f"{done['k']}/{done['n']}")

        fresh = evaluate(job, seeds, record_first=video_episodes, on_result=on_result,
                         skip=frozenset(r.episode for r in previous), backend=pool)
    log.close()
    results = sorted(previous + fresh, key=lambda r: r.episode)
    meta = dict(run_meta, workers=pool.workers, backend=pool.kind, wall_s=round(time.perf_counter() - t0, 2))
    jp, mdp = write_report(out, meta, results, sorted(videos))
    s = summarize(results)
    typer.echo(f"success {s.successes}/{s.n} = {100 * s.success_rate:.1f} % "
               f"(95 % CI {100 * s.ci95[0]:.1f}-{100 * s.ci95[1]:.1f} %); failure modes "
               f"{ {k: v for k, v in s.failure_modes.items() if v} }")
    typer.echo(f"report: {jp}\nreport: {mdp}")
    for v in sorted(videos):
        typer.echo(f"video:  {out / v}")


def _eval_bimanual_suite(suite: str, policy: str, split: str, episodes: int, seed: int, out: Path, pool,
                         env_kwargs: dict):
    """``eval --suite bimanual``: every Bimanual-* task; per-task and per-factor table."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from vlgsim.envs.bimanual import BIMANUAL_TASKS
    from vlgsim.sim_eval.bimanual_suite import run_suite

    if suite != "bimanual":
        raise typer.BadParameter(f"--suite {suite!r}; rule: bimanual")
    if split not in ("easy", "hard"):
        raise typer.BadParameter(f"--split {split!r}; rule: easy or hard")
    if policy == "oracle":  # the suite's privileged expert
        policy = "bimanual_expert"
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn()) as bar:
        task = bar.add_task(f"bimanual/{split} / {policy}", total=episodes * len(BIMANUAL_TASKS))
        report = run_suite(policy, split, episodes, seed, out, env_kwargs=env_kwargs,
                           on_result=lambda env_id, r: bar.update(task, advance=1), backend=pool)
    typer.echo((out / "report.md").read_text())
    typer.echo(f"mean success {100 * report['mean_success']:.1f} %\nreport: {out / 'report.json'}\n"
               f"report: {out / 'report.md'}")


@app.command("serve-policy")
def serve_policy(
    policy: str = typer.Option("oracle", "--policy", help="NAME[:ARG] of the policy to serve"),
    env: str = typer.Option("RealVLG-Grasp-v0", "--env", help="env whose action space the policy uses"),
    host: str = typer.Option("127.0.0.1", "--host", help="bind address (0.0.0.0 exposes it to the network)"),
    port: int = typer.Option(8000, "--port"),
    env_kwarg: list[str] = typer.Option([], "--env-kwarg", help="KEY=VALUE passed to gym.make (repeatable)"),
    protocol: str = typer.Option("vlgsim", "--protocol",
                                 help="vlgsim (vlgsim.policies.remote) or openpi (openpi-client's WebsocketClientPolicy)"),
):
    """Serve a policy over websocket + msgpack (protocols: vlgsim.policies.remote, vlgsim.policies.openpi)."""
    import gymnasium as gym

    from vlgsim.policies import PolicyServer, make_policy

    if protocol not in ("vlgsim", "openpi"):
        raise typer.BadParameter(f"--protocol {protocol!r}; rule: vlgsim or openpi")
    e = gym.make(env, **_parse_kv(env_kwarg))
    if protocol == "openpi":
        from vlgsim import __version__
        from vlgsim.policies.openpi import OpenPIPolicyServer

        server = OpenPIPolicyServer(lambda: make_policy(policy, e), host=host, port=port,
                                    metadata={"server": "vlgsim", "version": __version__, "policy": policy, "env": env,
                                              "action_dim": int(e.action_space.shape[0])})
    else:
        server = PolicyServer(lambda: make_policy(policy, e), host=host, port=port, name=policy)
    typer.echo(f"serving {policy} for {env} on ws://{server.host}:{server.port} ({protocol} protocol; Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.close()


@app.command("synth-grasps")
def synth_grasps(
    objects: str = typer.Option("mug,bottle,can,hammer,box,cup", "--objects",
                                help="comma-separated categories with graspable parts, or 'all'"),
    per_part: int = typer.Option(32, "--per-part", min=1, help="grasps optimised per part (one Warp batch)"),
    min_valid: int = typer.Option(0, "--min-valid", min=0,
                                  help="another batch for a part with fewer valid grasps than this ..."),
    max_rounds: int = typer.Option(1, "--max-rounds", min=1, help="... up to this many batches per part"),
    device: str = typer.Option("auto", "--device", help="Warp device: auto, cpu or cuda"),
    iterations: int = typer.Option(400, "--iterations", min=1),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, help=WORKERS_HELP + " (a unit: one object part)"),
    backend: str = typer.Option("local", "--backend", help=BACKEND_HELP),
    address: Optional[str] = typer.Option(None, "--address", help=ADDRESS_HELP),
    scale: float = typer.Option(1.0, "--scale"),
    seed: int = typer.Option(0, "--seed"),
    batch: int = typer.Option(32, "--batch", min=1,
                              help="grasps per unit of work (one Warp batch); a part is split into units of this size"),
    library: Optional[Path] = typer.Option(None, "--library",
                                           help="also write each object's valid grasps, compacted and versioned, "
                                                "into this grasp library folder (the one the package ships: "
                                                "vlgsim/data/grasp_library)"),
    out: Path = typer.Option(Path("runs/grasp_sets"), "--out"),
):
    """Synthesise (Warp energy), validate (SAPIEN) and caption Shadow Hand grasps per part; one
    .npz per object in OUT plus summary.json. Resumable: objects with a file are skipped."""
    import json

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from vlgsim.assets.objects import GRASPABLE_PARTS
    from vlgsim.data.grasp_sets import compact_grasp_set, grasp_set_path, load_grasp_set, save_grasp_set
    from vlgsim.grasp.dex_pipeline import synthesize_grasp_sets
    from vlgsim.grasp.dex_synthesis import SynthesisConfig

    names = sorted(GRASPABLE_PARTS) if objects == "all" else [o.strip() for o in objects.split(",") if o.strip()]
    for n in names:
        if n not in GRASPABLE_PARTS:
            raise typer.BadParameter(f"--objects {n!r}; rule: one of {sorted(GRASPABLE_PARTS)} or all")
    todo = [n for n in names if not grasp_set_path(out, n, scale).exists()]
    pool = _backend(backend, workers, address)
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()) as bar:
        task = bar.add_task("objects", total=len(names), completed=len(names) - len(todo))
        for gs in synthesize_grasp_sets(todo, backend=pool, scale=scale, per_part=per_part, device=device,
                                        seed=seed, cfg=SynthesisConfig(iterations=iterations), min_valid=min_valid,
                                        max_rounds=max_rounds, batch=batch):
            save_grasp_set(gs, out)
            bar.update(task, advance=1, description=gs.category)
    summary = {}
    for n in names:
        gs = load_grasp_set(grasp_set_path(out, n, scale))
        summary[n] = {"parts": gs.summary(), "valid_share": float(gs.valid.mean()), **gs.meta}
        if library:
            save_grasp_set(compact_grasp_set(gs), library)
    for folder in [out] + ([library] if library else []):
        old = folder / "summary.json"  # objects from earlier calls stay in the library's summary
        kept = json.loads(old.read_text()) if old.exists() else {}
        tmp = old.with_suffix(".json.tmp")
        tmp.write_text(json.dumps({**kept, **summary}, indent=1))
        tmp.replace(old)
    n_all = n_valid = 0
    for n, s in summary.items():
        parts = ", ".join(f"{p} {round(v['valid_share'] * v['grasps'])}/{v['grasps']} (PGA {100 * v['pga_of_valid']:.0f}%)"
                          for p, v in s["parts"].items())
        n_all += sum(v["grasps"] for v in s["parts"].values())
        n_valid += sum(round(v["valid_share"] * v["grasps"]) for v in s["parts"].values())
        typer.echo(f"{n}: valid {100 * s['valid_share']:.1f} % -- {parts}")
    typer.echo(f"overall: {n_valid}/{n_all} valid ({100 * n_valid / max(n_all, 1):.1f} %)")
    typer.echo(f"grasp sets: {out}  summary: {out / 'summary.json'}" + (f"  library: {library}" if library else ""))


@app.command("tiny-vlg")
def tiny_vlg(out: Path = typer.Option(Path("runs/tiny-vlg"), "--out"), seed: int = typer.Option(0, "--seed")):
    """Write a tiny random Qwen2-VL checkpoint (no download) to smoke-test vlg:PATH end to end."""
    from vlgsim.policies.vlg import make_tiny_qwen2vl

    make_tiny_qwen2vl(out, seed=seed)
    typer.echo(f"tiny Qwen2-VL checkpoint: {out}\ntry: vlgsim eval --policy vlg:{out} --episodes 5")


train_app = typer.Typer(no_args_is_help=True, help="Train policies")
app.add_typer(train_app, name="train")


@train_app.command("sb3")
def train_sb3_cmd(
    env: str = typer.Option("RealVLG-Grasp-v0", "--env"),
    algo: str = typer.Option("ppo", "--algo", help="ppo or sac"),
    steps: int = typer.Option(20_000, "--steps", min=1),
    n_envs: int = typer.Option(8, "--n-envs", min=1, help="vectorised envs (in one process unless --subproc)"),
    subproc: bool = typer.Option(False, "--subproc", help="one process per env (SubprocVecEnv)"),
    seed: int = typer.Option(0, "--seed"),
    max_episode_steps: int = typer.Option(100, "--max-episode-steps", min=1),
    out: Path = typer.Option(Path("runs/sb3"), "--out"),
    env_kwarg: list[str] = typer.Option([], "--env-kwarg", help="KEY=VALUE for gym.make; default n_objects=[1,1]"),
    obs: str = typer.Option("grasp", "--obs", help="grasp (privileged grasp state, top-down [dx, dy, dz, (dyaw,) "
                            "gripper] action), target (robot + instructed object relative to the TCP) or state"),
    control: str = typer.Option("dls", "--control", help="--obs grasp: dls (one damped-least-squares Jacobian step, "
                                "pd_joint_pos) or ee (ManiSkill's pd_ee_delta_pose IK, no yaw)"),
    yaw: bool = typer.Option(True, "--yaw/--no-yaw", help="--obs grasp: a yaw-turn action (needs --control dls)"),
    checkpoint_steps: int = typer.Option(10_000, "--checkpoint-steps", min=1,
                                         help="save model.zip and a copy OUT/checkpoints/STEPS this often"),
    resume: bool = typer.Option(False, "--resume", help="load OUT/model.zip and train the remaining steps"),
    ppo: list[str] = typer.Option([], "--ppo", help="KEY=VALUE overriding one PPO setting (SB3's PPO arguments: "
                                  "n_steps, batch_size, n_epochs, learning_rate, gamma, gae_lambda, target_kl, ...)"),
):
    """PPO/SAC on a closed-loop state-observation task; writes model.zip, episodes.csv, log.jsonl, sb3/ (TensorBoard),
    curve.png."""
    from vlgsim.training.sb3 import CONTROLS, SB3Config, train_sb3

    kw = _parse_kv(env_kwarg) or {"n_objects": [1, 1]}
    cfg = SB3Config(env_id=env, algo=algo, total_steps=steps, n_envs=n_envs, subproc=subproc, seed=seed,
                    env_kwargs=kw, max_episode_steps=max_episode_steps, obs=obs, control=control,
                    yaw=yaw and obs == "grasp", checkpoint_steps=checkpoint_steps)
    cfg.ppo_kwargs |= _parse_kv(ppo, "--ppo")
    train_sb3(cfg, out, resume=resume)
    typer.echo(f"model: {out / 'model.zip'}\ncurve: {out / 'curve.png'}\nepisodes: {out / 'episodes.csv'}\n"
               f"evaluate: vlgsim eval --env {env} --policy sb3:{out} "
               f"--env-kwarg obs_mode={'grasp_state' if obs == 'grasp' else 'state'} "
               f"--env-kwarg control_mode={CONTROLS[control] if obs == 'grasp' else 'pd_ee_delta_pose'} "
               f"{'--env-kwarg ground_truth=false ' if obs == 'grasp' else ''}"
               f"--env-kwarg 'n_objects=[1,1]' --max-steps {max_episode_steps}")


@train_app.command("bc")
def train_bc_cmd(
    env: str = typer.Option("RealVLG-Grasp-v0", "--env"),
    expert: str = typer.Option("scripted", "--expert", help="policy that demonstrates"),
    episodes: int = typer.Option(200, "--episodes", min=0, help="expert episodes to roll out (successes are kept)"),
    epochs: int = typer.Option(60, "--epochs", min=1),
    chunk: int = typer.Option(8, "--chunk", min=1, help="actions predicted per step (action chunking)"),
    noise: float = typer.Option(0.0, "--noise", min=0.0, help="std of noise on executed expert actions (DART)"),
    seed: int = typer.Option(0, "--seed", help="first demo seed (evaluate on other seeds, e.g. 100000)"),
    out: Path = typer.Option(Path("runs/bc"), "--out"),
    resume: bool = typer.Option(False, "--resume", help="continue training from OUT/checkpoint.pt"),
    env_kwarg: list[str] = typer.Option([], "--env-kwarg", help="KEY=VALUE for gym.make; default n_objects=[1,1]"),
):
    """Collect expert demos (a LeRobot dataset in OUT/demos; episodes already there are kept, so a
    second call with other --seed/--env-kwarg adds to it) and fit an action-chunking policy
    (bc.pt, log.jsonl, tb/, loss.png)."""
    from rich.progress import Progress

    from vlgsim.training.bc import BCConfig, collect_demos, load_demos, train_bc

    cfg = BCConfig(env_id=env, env_kwargs=_parse_kv(env_kwarg) or {"n_objects": [1, 1]}, expert=expert,
                   episodes=episodes, epochs=epochs, chunk=chunk, action_noise=noise, seed=seed)
    with Progress() as bar:
        task = bar.add_task("expert demos", total=episodes)
        root = collect_demos(cfg, out, progress=lambda i: bar.update(task, advance=1))
    demos = load_demos(root)
    typer.echo(f"{int(demos['episode'].max()) + 1} successful demos, {len(demos['action'])} steps: {root}")
    train_bc(cfg, out, demos, resume=resume)
    typer.echo(f"model: {out / 'bc.pt'}\nevaluate: vlgsim eval --env {env} --policy bc:{out} --seed 100000 "
               f"--env-kwarg obs_mode=state --env-kwarg control_mode=pd_ee_delta_pose --max-steps 100")


@train_app.command("dexvlg")
def train_dexvlg_cmd(
    grasp_dir: str = typer.Option("", "--grasp-dir",
                                  help="grasp sets from vlgsim synth-grasps (default: the shipped grasp library)"),
    objects: str = typer.Option("", "--objects", help="comma-separated categories (default: every object with a set)"),
    scenes: int = typer.Option(1000, "--scenes", min=1, help="env resets (seeds seed .. seed + scenes - 1)"),
    steps: int = typer.Option(3000, "--steps", min=1),
    targets_per_scene: int = typer.Option(1, "--targets-per-scene", min=0,
                                          help="lowest-energy valid grasps kept per scene, each turned by the "
                                               "object's symmetry towards the camera (0: all, unturned)"),
    batch: int = typer.Option(128, "--batch", min=1),
    lr: float = typer.Option(1e-3, "--lr"),
    n_points: int = typer.Option(256, "--points", min=8, help="object points the PointNet sees"),
    hidden: int = typer.Option(256, "--hidden", min=8, help="width of the condition, flow and score MLPs"),
    canonical_yaw: bool = typer.Option(True, "--canonical-yaw/--world-yaw",
                                       help="turn cloud and grasp by the cloud's principal axis"),
    device: str = typer.Option("cpu", "--device", help="torch device: cpu or cuda"),
    threads: int = typer.Option(1, "--threads", min=1, help="torch CPU threads"),
    seed: int = typer.Option(0, "--seed"),
    out: Path = typer.Option(Path("runs/dexvlg"), "--out"),
):
    """Fit the DexVLG-style model (point cloud + instruction -> 31-D grasp by flow matching, ranked
    by a score head) on env scenes labelled with the grasp library; writes data.npz (reused when
    OUT already has one), dexvlg.pt, log.jsonl, train.json, curve.png."""
    from rich.progress import Progress

    from vlgsim.policies.dexvlg import DexVLGModelConfig
    from vlgsim.training.dexvlg import DexVLGData, DexVLGTrainConfig, collect_dexvlg_data, train_dexvlg

    cats = tuple(o.strip() for o in objects.split(",") if o.strip())
    cfg = DexVLGTrainConfig(grasp_dir=grasp_dir, categories=cats, scenes=scenes, steps=steps, batch=batch, lr=lr,
                            device=device, seed=seed, targets_per_scene=targets_per_scene, cpu_threads=threads,
                            model=DexVLGModelConfig(n_points=n_points, hidden=hidden, canonical_yaw=canonical_yaw))
    out.mkdir(parents=True, exist_ok=True)
    data_path = out / "data.npz"
    with Progress() as bar:
        if data_path.exists():
            data = DexVLGData.load(data_path)
        else:
            task = bar.add_task("scenes", total=scenes)
            data = collect_dexvlg_data(cfg, progress=lambda i: bar.update(task, completed=i + 1))
            data.save(data_path)
        task = bar.add_task("training", total=steps)
        train_dexvlg(cfg, data, out, progress=lambda i: bar.update(task, completed=i))
    objs = ",".join(f'"{c}"' for c in cats) if cats else ""
    kw = f" --env-kwarg 'categories=[{objs}]'" if cats else ""
    typer.echo(f"{len(data.clouds)} scenes, {len(data.grasps)} target grasps: {data_path}\nmodel: {out / 'dexvlg.pt'}\n"
               f"curve: {out / 'curve.png'}\nevaluate: vlgsim eval --env DexVLG-PartGrasp-v0 --policy dexvlg:{out}@1@0 "
               f"--seed 100000 --env-kwarg cloud=object{kw}")


@train_app.command("grpo")
def train_grpo_cmd(
    steps: int = typer.Option(4, "--steps", min=1, help="optimiser steps"),
    algo: str = typer.Option("grpo", "--algo", help="grpo (token-level ratio) or gspo (sequence-level ratio)"),
    model: Optional[Path] = typer.Option(None, "--model", help="Qwen2-VL checkpoint folder (default: a tiny random one)"),
    data: Optional[Path] = typer.Option(None, "--data", help="RealVLG dataset folder (default: generate a small one)"),
    out: Path = typer.Option(Path("runs/grpo"), "--out"),
    n_samples: int = typer.Option(4, "--n-samples", min=1, help="scenes to generate when --data is not given"),
    tasks: str = typer.Option("bbox,grasp,contact", "--tasks", help="comma-separated prompt tasks"),
    num_generations: int = typer.Option(4, "--num-generations", min=2, help="completions per prompt (the group)"),
    prompts_per_step: int = typer.Option(1, "--prompts-per-step", min=1),
    max_completion_length: int = typer.Option(48, "--max-completion-length", min=1),
    lr: float = typer.Option(1e-5, "--lr"),
    beta: float = typer.Option(0.0, "--beta", help="KL coefficient to the starting model (0: none, no reference model)"),
    difficulty: str = typer.Option("exp", "--difficulty", help="UniVG-R1 difficulty weight: exp, linear, log or none"),
    warm_start: int = typer.Option(-1, "--warm-start", help="SFT steps on ground truth first (-1: 300 for the tiny model, else 0)"),
    warm_start_format_rate: float = typer.Option(1.0, "--warm-start-format-rate",
                                                 help="fraction of warm-start answers in the think/answer format "
                                                      "(the rest bare): where --reward format starts"),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, help="torch CPU threads (default: 1 for the tiny model)"),
    seed: int = typer.Option(0, "--seed"),
    protocol: str = typer.Option("vlgsim", "--protocol",
                                 help="vlgsim, or realvlg-r1 (RealVLG-R1's format prompts and reward functions)"),
    reward: str = typer.Option("full", "--reward", help="optimised reward: full (accuracy + format), accuracy, format or format_tags (graded)"),
    save_steps: int = typer.Option(10, "--save-steps", min=1, help="checkpoint every N steps (OUT/trainer/checkpoint-N)"),
    resume: bool = typer.Option(False, "--resume", help="continue from the last checkpoint in OUT/trainer"),
    trainer_arg: list[str] = typer.Option([], "--trainer-arg", help="KEY=VALUE for trl.GRPOConfig (JSON values), "
                                          "e.g. use_cpu=false bf16=true gradient_checkpointing=true on a GPU"),
):
    """GRPO/GSPO (TRL) of a Qwen2-VL on RealVLG prompts with verifiable rewards; writes log.jsonl, reward.png, model/."""
    from vlgsim.training.grpo import GRPORunConfig, train_grpo

    try:
        cfg = GRPORunConfig(algo=algo, steps=steps, model=str(model) if model else None, data=str(data) if data else None,
                            n_samples=n_samples, tasks=tuple(t.strip() for t in tasks.split(",") if t.strip()),
                            num_generations=num_generations, prompts_per_step=prompts_per_step,
                            max_completion_length=max_completion_length, learning_rate=lr, beta=beta,
                            difficulty=None if difficulty == "none" else difficulty, warm_start_steps=warm_start,
                            warm_start_format_rate=warm_start_format_rate,
                            torch_threads=threads, seed=seed, protocol=protocol, reward=reward,
                            save_steps=save_steps, resume=resume, extra=_parse_kv(trainer_arg))
    except ValueError as e:
        raise typer.BadParameter(str(e)) from e
    s = train_grpo(cfg, out)
    for r in s["rewards"]:
        typer.echo(f"step {r['step']}: reward {r['reward']:.4f} +- {r['reward_std']:.4f} "
                   f"(accuracy {r['accuracy']:.4f}, format {r['format']:.4f})")
    typer.echo(f"{algo.upper()} ({s['importance_sampling_level']}-level ratio) {steps} steps in {s['wall_s']} s\n"
               f"log: {out / 'log.jsonl'}\ncurve: {out / 'reward.png'}\nmodel: {s['model']}\n"
               f"evaluate: vlgsim eval --policy vlg:{s['model']} --episodes 5")


generate_app = typer.Typer(no_args_is_help=True, help="Generate datasets")
score_app = typer.Typer(no_args_is_help=True, help="Score model predictions")
app.add_typer(generate_app, name="generate")
app.add_typer(score_app, name="score")


@generate_app.command("demos")
def generate_demos_cmd(
    tasks: list[str] = typer.Option(..., "--tasks", help="Bimanual-* env ids (repeat, or comma-separated); 'all'"),
    episodes: int = typer.Option(20, "--episodes", min=1, help="episodes in all, tasks taken in turn"),
    fg_raw: str = typer.Option("1:1", "--fg-raw", help="FG:Raw ratio of the instruction each episode's frames carry"),
    split: str = typer.Option("easy", "--split", help="easy or hard"),
    seed: int = typer.Option(0, "--seed", help="episode e uses seed + e (a retry adds 100000)"),
    embodiment: str = typer.Option("aloha", "--embodiment",
                                   help="aloha (14-D ALOHA state and joint actions, motion-planned expert) or panda"),
    out: Path = typer.Option(Path("data/bimanual_demos"), "--out"),
    width: int = typer.Option(128, "--width"),
    height: int = typer.Option(128, "--height"),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, help=WORKERS_HELP),
    backend: str = typer.Option("local", "--backend", help=BACKEND_HELP),
    address: Optional[str] = typer.Option(None, "--address", help=ADDRESS_HELP),
):
    """Expert demos as a LeRobot v3.0 dataset (parquet + mp4 + meta), both instructions per episode. Resumable."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from vlgsim.data.bimanual_demos import DemoConfig, generate_demos
    from vlgsim.envs.bimanual import BIMANUAL_TASKS
    from vlgsim.language.fine_grained import parse_fg_raw

    names = [t for item in tasks for t in item.split(",") if t]
    names = sorted(BIMANUAL_TASKS) if names == ["all"] else names
    for t in names:
        if t not in BIMANUAL_TASKS:
            raise typer.BadParameter(f"--tasks {t!r}; rule: one of {sorted(BIMANUAL_TASKS)} or all")
    try:
        parse_fg_raw(fg_raw)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from e
    if embodiment not in ("aloha", "panda"):
        raise typer.BadParameter(f"--embodiment {embodiment!r}; rule: aloha or panda")
    cfg = DemoConfig(tasks=names, episodes=episodes, fg_raw=fg_raw, split=split, seed=seed, image_size=(width, height),
                     embodiment=embodiment)
    pool = _backend(backend, workers, address)
    failed = []
    with Progress(TextColumn("[bold]demos"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()) as bar:
        task = bar.add_task("episodes", total=episodes)
        writer = generate_demos(cfg, out, on_episode=lambda e, ok: (bar.update(task, advance=1),
                                                                     None if ok else failed.append(e)), backend=pool)
    typer.echo(f"{len(writer.episodes)} episodes, {writer.total_frames} frames: {out} (meta/info.json)"
               + (f"; expert failed every attempt on episodes {failed}" if failed else ""))


@generate_app.command("realvlg")
def generate_realvlg(
    n: int = typer.Option(100, "--n", min=1, help="number of samples (scenes)"),
    split: str = typer.Option("seen", "--split", help="object categories: seen or novel"),
    views: int = typer.Option(1, "--views", min=1, max=4, help="camera views per sample"),
    seed: int = typer.Option(0, "--seed", help="sample i uses seed + i"),
    out: Path = typer.Option(Path("data/realvlg"), "--out"),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, help=WORKERS_HELP),
    backend: str = typer.Option("local", "--backend", help=BACKEND_HELP),
    address: Optional[str] = typer.Option(None, "--address", help=ADDRESS_HELP),
    width: int = typer.Option(320, "--width"),
    height: int = typer.Option(240, "--height"),
):
    """Images, COCO annotations (boxes, RLE masks), grasp/contact sidecar, manifest. Resumable."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from vlgsim.data.realvlg import DatasetConfig, _done, generate

    cfg = DatasetConfig(n=n, split=split, views=views, seed=seed, image_size=(width, height))
    pool = _backend(backend, workers, address)
    already = len([i for i in _done(out) if i < n]) if (out / "samples").exists() else 0
    t0 = time.perf_counter()
    with Progress(TextColumn("[bold]realvlg"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()) as bar:
        task = bar.add_task("samples", total=n, completed=already)
        try:
            generate(cfg, out, on_sample=lambda i: bar.update(task, advance=1), backend=pool)
        except ValueError as e:
            raise typer.BadParameter(str(e)) from e
    made = n - already
    typer.echo(f"{made} new samples in {time.perf_counter() - t0:.1f} s ({already} were already there); "
               f"dataset: {out} (annotations.json, grasps.json, manifest.json)")


@generate_app.command("realvlg-oracle-predictions")
def generate_oracle_predictions(
    data: Path = typer.Option(..., "--data", help="dataset folder"),
    out: Path = typer.Option(..., "--out", help="predictions .jsonl to write"),
    shift_px: float = typer.Option(0.0, "--shift-px", help="shift every box right by this many pixels"),
    protocol: str = typer.Option("vlgsim", "--protocol", help="theta convention: vlgsim, realvlg-r1 (image axes)"),
):
    """Ground-truth answers in the scorer's format (a check of the scorer and the parsers)."""
    from vlgsim.data.realvlg import oracle_predictions
    from vlgsim.sim_eval.realvlg_r1 import check_protocol

    try:
        check_protocol(protocol)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from e
    lines = oracle_predictions(data, shift_px, protocol)
    out.write_text("".join(json.dumps(x) + "\n" for x in lines))
    typer.echo(f"{len(lines)} predictions: {out}")


@score_app.command("realvlg")
def score_realvlg(
    data: list[Path] = typer.Option(..., "--data", help="dataset folder (repeat for several splits)"),
    predictions: Path = typer.Option(..., "--predictions", help="JSON lines: sample, view, task, answer"),
    out: Optional[Path] = typer.Option(None, "--out", help="where score.json/score.md go (default: next to predictions)"),
    protocol: str = typer.Option("vlgsim", "--protocol",
                                 help="vlgsim (fixed conventions), realvlg-r1 (RealVLG-R1's evaluation code) or "
                                      "realvlg-r1-faithful (plus its angular_diff radian bug)"),
):
    """RealVLG metrics per task and split (bbox, mask, grasp, contact) and parse-failure rates."""
    from vlgsim.sim_eval.realvlg_r1 import check_protocol
    from vlgsim.sim_eval.realvlg_score import score, write_score

    try:
        check_protocol(protocol)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from e
    report = score(data, predictions, protocol)
    jp, mp = write_score(report, out or predictions.parent / f"{predictions.stem}_score")
    typer.echo(mp.read_text())
    typer.echo(f"score: {jp}\nscore: {mp}")


@app.command("compare-sim-real")
def compare_sim_real(
    pairs: Optional[Path] = typer.Option(None, "--pairs", help="CSV/JSON: policy,task,sim_success,real_success"),
    runs: list[str] = typer.Option([], "--runs", help="SIM_DIR:REAL_DIR report.json folders of one policy (repeat)"),
    out: Path = typer.Option(Path("runs/sim_vs_real"), "--out"),
):
    """Sim-vs-real agreement (SimplerEnv's Pearson r and MMRV): report.json, report.md, scatter.png."""
    from vlgsim.sim_eval.sim_vs_real import compare, pairs_from_reports, read_pairs, write_comparison

    try:
        if (pairs is None) == (not runs):
            raise ValueError("give --pairs FILE or one or more --runs SIM_DIR:REAL_DIR (not both)")
        bad = [r for r in runs if r.count(":") != 1]
        if bad:
            raise ValueError(f"--runs {bad[0]!r}; rule: SIM_DIR:REAL_DIR")
        rows = read_pairs(pairs) if pairs else pairs_from_reports([tuple(map(Path, r.split(":"))) for r in runs])
        jp, mp, png = write_comparison(compare(rows), out)
    except ValueError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2)
    typer.echo(mp.read_text())
    typer.echo(f"report: {jp}\nreport: {mp}\nplot: {png}")


real_app = typer.Typer(no_args_is_help=True, help="Run policies on a real robot (or its stand-ins) through the safety layer")
app.add_typer(real_app, name="real")


@real_app.command("run")
def real_run_cmd(
    robot: str = typer.Option("sim", "--robot", help="sim | franka:HOST[:fr3|panda] | shadow"),
    camera: Optional[str] = typer.Option(None, "--camera", help="realsense[:EXTRINSIC_FILE] | replay:DIR (not for shadow)"),
    policy: str = typer.Option("oracle", "--policy", help="NAME[:ARG] of a RealVLG grasp policy (shadow: oracle[:GRASP_SET_DIR])"),
    episodes: int = typer.Option(1, "--episodes", min=1),
    out: Path = typer.Option(Path("runs/real"), "--out"),
    execute: bool = typer.Option(False, "--execute", help="send motion to the robot (default: dry run, checked and logged only)"),
    outcome: Optional[str] = typer.Option(None, "--outcome", help="success|failure for non-interactive runs (else detected or asked)"),
    instruction: Optional[str] = typer.Option(None, "--instruction", help="the instruction (default: the recording's)"),
    seed: int = typer.Option(0, "--seed"),
    realtime: bool = typer.Option(False, "--realtime", help="franka: enforce realtime scheduling (PREEMPT_RT kernel)"),
):
    """Plan the RealVLG grasp primitive from the camera image, execute it through the safety
    layer, record each episode (LeRobot v3.0 in OUT/dataset, OUT/report.json)."""
    from vlgsim.real2sim.run import RealRunConfig, run_real

    cfg = RealRunConfig(robot=robot, camera=camera, policy=policy, episodes=episodes, out=out, execute=execute,
                        outcome=outcome, instruction=instruction, seed=seed, realtime=realtime)
    if not execute:
        typer.echo("DRY RUN: commands are checked and logged, nothing moves (add --execute to move the robot)")
    ask = (lambda q: typer.prompt(q)) if sys.stdin.isatty() and outcome is None else None
    records = run_real(cfg, ask=ask, on_episode=lambda r: typer.echo(
        f"episode {r.episode}: {r.outcome} ({r.outcome_source}) failure_mode={r.failure_mode} steps={r.steps} "
        f"clamps={r.clamps} rejections={r.rejections}" + (f" error={r.error}" if r.error else "")))
    typer.echo(f"{sum(r.success for r in records)}/{len(records)} successes\nreport: {out / 'report.json'}"
               + ("" if robot == "shadow" else f"\ndataset: {out / 'dataset'}"))


@real_app.command("record-replay")
def real_record_replay_cmd(
    out: Path = typer.Option(..., "--out", help="replay folder to write"),
    seeds: int = typer.Option(3, "--seeds", min=1, help="scenes 0..N-1 of RealVLG-Grasp-v0, one recorded episode each"),
    seed: int = typer.Option(0, "--seed", help="first scene seed"),
):
    """Record RGB-D frames (+ labels) of RealVLG-Grasp-v0 scenes as a replay camera folder."""
    from vlgsim.real2sim.cameras import record_replay_from_sim

    record_replay_from_sim(out, range(seed, seed + seeds))
    typer.echo(f"replay folder: {out} (use --camera replay:{out})")


from vlgsim.real2sim.twin_cli import twin_app  # noqa: E402  (real-to-sim: calibrate, twin)

real_app.registered_commands += twin_app.registered_commands


if __name__ == "__main__":
    app()
