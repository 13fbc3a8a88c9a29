"""``vlgsim real calibrate`` and ``vlgsim real twin``: hand-eye calibration and digital twins.

Frame folder (``--frame DIR``, written by ``vlgsim real twin --from-sim SEED`` or by hand):

    rgb.png            colour image
    depth.npy          float32 metres along the optical axis (0 = no reading)
    camera.json        {"intrinsic": 3x3, "extrinsic": 4x4 world -> camera}, or
                       {"intrinsic": 3x3, "base2cam": 4x4} from `vlgsim real calibrate`
                       (the robot base sits at the sim's ROBOT_BASE in the world)
    masks.npy          (N, H, W) bool, one mask per object
    target.json        optional {"target_index": i, "instruction": "..."}

Recorded calibration folder (``--from DIR``): ``poses.json`` (list of 4x4 gripper -> base,
metres), ``images/NNN.png`` (one per pose, same order), ``intrinsic.json`` (3x3).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import numpy as np
import typer

twin_app = typer.Typer(add_completion=False, no_args_is_help=True, help="real robots: calibration and digital twins")


@twin_app.command("calibrate")
def calibrate_cmd(
    robot: str = typer.Option("sim-views", "--robot", help="sim-views (SAPIEN board views at seeded poses, no arm); "
                              "sim (SAPIEN Panda) or franka:HOST[:fr3|panda]: the safe preset through the safety layer"),
    camera: str = typer.Option("sim-board", "--camera", help="with --robot sim/franka: sim-board (the board rendered "
                               "from the robot's measured pose, a rehearsal) or realsense"),
    execute: bool = typer.Option(False, "--execute", help="with --robot sim/franka: move (default: dry run, nothing moves)"),
    from_dir: Optional[Path] = typer.Option(None, "--from", help="recorded folder: poses.json, images/, intrinsic.json"),
    setup: str = typer.Option("eye_to_hand", "--setup", help="eye_to_hand (fixed camera) or eye_in_hand"),
    method: str = typer.Option("reprojection", "--method", help="reprojection (default), park (closed form), or opencv_tsai|park|horaud|andreff|daniilidis where cv2 has calibrateHandEye"),
    board_kind: str = typer.Option("chessboard", "--board", help="chessboard or charuco"),
    views: int = typer.Option(12, "--views", min=1, help="number of poses (sim-views, or of the safe preset)"),
    noise_px: float = typer.Option(0.5, "--noise-px", min=0.0, help="with --robot sim-views: corner noise (px)"),
    cols: int = typer.Option(9, "--cols"), rows: int = typer.Option(6, "--rows"),
    square_m: float = typer.Option(0.025, "--square-m"),
    seed: int = typer.Option(0, "--seed"),
    out: Path = typer.Option(Path("calib.json"), "--out"),
):
    """Solve the camera extrinsic; writes OUT (JSON: X, residuals) and, eye-to-hand, OUT's base2cam as .npy.
    With --robot sim/franka and --execute, the collected views are kept in OUT's stem + _views/ (a --from folder)."""
    import imageio.v3 as iio

    from vlgsim.real2sim.calibration import CalibrationError, calibrate_from_images, make_board, pose_error

    try:
        board = make_board(board_kind, cols, rows, square_m)
        truth = None
        noise = 0.0
        if from_dir is not None:
            poses = [np.asarray(p, dtype=np.float64) for p in json.loads((from_dir / "poses.json").read_text())]
            images = [iio.imread(p)[..., :3] for p in sorted((from_dir / "images").glob("*.png"))]
            K = np.asarray(json.loads((from_dir / "intrinsic.json").read_text()), dtype=np.float64)
        elif robot == "sim-views":
            from vlgsim.real2sim.calibration_sim import simulate_board_views

            s = simulate_board_views(setup, views, seed, board)
            poses, images, K, truth, noise = s.gripper2base, s.images, s.intrinsic, s.X_true, noise_px
        else:
            collected = _collect_on_robot(robot, camera, setup, board, views, execute, seed)
            if collected is None:
                return
            poses, images, K, truth = collected
            _save_views(out.parent / f"{out.stem}_views", poses, images, K)
        r = calibrate_from_images(poses, images, board, K, setup=setup, method=method,
                                  pixel_noise_px=noise, rng=np.random.default_rng(seed))
    except (CalibrationError, OSError, ValueError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2)
    out.parent.mkdir(parents=True, exist_ok=True)
    r.save(out)
    if setup == "eye_to_hand":
        np.save(out.with_suffix(".base2cam.npy"), r.base2cam)
    msg = (f"{setup} ({method}, {r.n_views} views): reprojection RMS {r.reprojection_rms_px:.2f} px, "
           f"AX=XB residual {r.axxb_rotation_rms_deg:.3f} deg / {r.axxb_translation_rms_mm:.2f} mm")
    if truth is not None:
        t_mm, r_deg = pose_error(r.X, truth)
        msg += f"; error vs the simulated truth {t_mm:.2f} mm / {r_deg:.3f} deg"
    typer.echo(msg + f" -> {out}")


def _collect_on_robot(robot_spec: str, camera_spec: str, setup: str, board, views: int, execute: bool, seed: int):
    """Drive the safe preset on ``robot_spec`` and grab a frame per pose; None after a dry run."""
    from vlgsim.real2sim.calibration_collect import SimBoardCamera, collect_views
    from vlgsim.real2sim.run import make_robot
    from vlgsim.real2sim.safety import SafeRobot

    holder = {}
    sim_cam = None
    if camera_spec == "sim-board":  # its SAPIEN scene before the SAPIEN Panda's env (see the round-trip script)
        sim_cam = SimBoardCamera(setup, lambda: holder["safe"].observe(), board)
    elif not camera_spec.startswith("realsense"):
        raise ValueError(f"--camera {camera_spec!r}; rule: sim-board or realsense[:EXTRINSIC_FILE] for calibration")
    robot, limits = make_robot(robot_spec, seed=seed)
    cam = None
    if sim_cam is not None:
        grab, K, truth = sim_cam.grab, sim_cam.intrinsic, sim_cam.X_true
    else:  # (written for a D435 on hardware; never run here, no camera)
        from vlgsim.real2sim.cameras import RealSenseCamera

        cam = RealSenseCamera(np.eye(4))  # the extrinsic is what this calibration finds
        grab, K, truth = (lambda: cam.read().rgb), cam.intrinsic, None
    try:
        with SafeRobot(robot, limits, execute=execute) as safe:
            holder["safe"] = safe
            got = collect_views(safe, grab, views,
                                on_view=lambda i, T: typer.echo(f"view {i}: TCP at {T[:3, 3].round(3).tolist()} m"))
    finally:
        if cam is not None:
            cam.close()
    if not execute:
        typer.echo(f"DRY RUN: the {views}-pose preset ({got.commands_checked} commands) passed the safety checks on "
                   f"{robot.name}; nothing moved. Rerun with --execute to move and calibrate.")
        return None
    return got.gripper2base, got.images, K, truth


def _save_views(folder: Path, poses, images, K) -> None:
    """A recorded calibration folder (the ``--from`` layout)."""
    import imageio.v3 as iio

    (folder / "images").mkdir(parents=True, exist_ok=True)
    (folder / "poses.json").write_text(json.dumps([np.asarray(p).tolist() for p in poses]))
    (folder / "intrinsic.json").write_text(json.dumps(np.asarray(K).tolist()))
    for i, im in enumerate(images):
        iio.imwrite(folder / "images" / f"{i:03d}.png", im)


def write_sim_frame(seed: int, out: Path, noisy: bool = False, split: str = "all") -> None:
    """A frame folder rendered from a seeded RealVLG scene (ground-truth masks), optionally D435-noisy."""
    import imageio.v3 as iio

    from vlgsim.real2sim.depth_noise import D435NoiseModel
    from vlgsim.scenes import sample_tabletop_scene
    from vlgsim.sim.sapien_render import TabletopRenderer

    sc = sample_tabletop_scene(seed, split=split)
    v = TabletopRenderer().render(sc, [sc.camera])[0]
    rgb, depth = v.rgb, v.depth
    if noisy:
        rgb, depth = D435NoiseModel().apply(rgb, depth, v.intrinsic, np.random.default_rng([seed, 435]))
    out.mkdir(parents=True, exist_ok=True)
    iio.imwrite(out / "rgb.png", rgb)
    np.save(out / "depth.npy", depth.astype(np.float32))
    np.save(out / "masks.npy", np.stack([v.mask(k) for k in range(len(sc.objects))]))
    (out / "camera.json").write_text(json.dumps(dict(intrinsic=v.intrinsic.tolist(), extrinsic=v.extrinsic.tolist())))
    (out / "target.json").write_text(json.dumps(dict(target_index=sc.target_index, instruction=sc.instruction)))


def read_frame(frame_dir: Path):
    """(RGBDFrame, masks, target_index, instruction) from a frame folder (see the module docstring)."""
    import imageio.v3 as iio

    from vlgsim.real2sim.calibration import _rt
    from vlgsim.real2sim.reconstruct import RGBDFrame, ReconstructionError
    from vlgsim.sim.maniskill_env import ROBOT_BASE

    for name in ("rgb.png", "depth.npy", "camera.json", "masks.npy"):
        if not (frame_dir / name).exists():
            raise ReconstructionError(f"{frame_dir / name} is missing; rule: a frame folder holds rgb.png, depth.npy, "
                                      "camera.json, masks.npy (see vlgsim.real2sim.twin_cli)")
    cam = json.loads((frame_dir / "camera.json").read_text())
    if "extrinsic" in cam:
        E = np.asarray(cam["extrinsic"], dtype=np.float64)
    elif "base2cam" in cam:
        E = np.asarray(cam["base2cam"], dtype=np.float64) @ np.linalg.inv(_rt(np.eye(3), ROBOT_BASE))
    else:
        raise ReconstructionError("camera.json has neither 'extrinsic' (world -> camera) nor 'base2cam'; rule: one of them")
    frame = RGBDFrame(iio.imread(frame_dir / "rgb.png")[..., :3], np.load(frame_dir / "depth.npy"),
                      np.asarray(cam["intrinsic"], dtype=np.float64), E)
    masks = np.load(frame_dir / "masks.npy")
    target = json.loads((frame_dir / "target.json").read_text()) if (frame_dir / "target.json").exists() else {}
    return frame, list(masks.astype(bool)), int(target.get("target_index", 0)), target.get("instruction")


@twin_app.command("twin")
def twin_cmd(
    frame: Optional[Path] = typer.Option(None, "--frame", help="frame folder (rgb.png, depth.npy, camera.json, masks.npy)"),
    from_sim: Optional[int] = typer.Option(None, "--from-sim", help="first write a frame folder from this seeded sim scene"),
    noisy: bool = typer.Option(False, "--noisy", help="with --from-sim: through the D435-like noise model"),
    policy: str = typer.Option("oracle", "--policy", help="policy run on the twin (NAME[:ARG])"),
    target: Optional[int] = typer.Option(None, "--target", help="mask index the instruction is about"),
    out: Path = typer.Option(Path("runs/twin"), "--out"),
):
    """Reconstruct a frame into a sim scene; writes scene.json, side_by_side.png (frame | twin
    rendered from the same camera), fits.json and policy.json (one episode on the twin)."""
    import warnings
    from dataclasses import asdict

    import gymnasium as gym
    import imageio.v3 as iio

    import vlgsim.envs  # noqa: F401
    from vlgsim.policies import make_policy
    from vlgsim.real2sim.reconstruct import ReconstructionError, reconstruct_scene, save_scene
    from vlgsim.sim.sapien_render import TabletopRenderer
    from vlgsim.sim_eval.rollout import run_episode

    out.mkdir(parents=True, exist_ok=True)
    if from_sim is not None:
        frame = frame or out / "frame"
        write_sim_frame(from_sim, frame, noisy)
    if frame is None:
        typer.echo("error: --frame DIR or --from-sim SEED; rule: one of them", err=True)
        raise typer.Exit(2)
    try:
        fr, masks, t, instruction = read_frame(frame)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rec = reconstruct_scene(fr, masks, target_index=t if target is None else target, instruction=instruction)
    except (ReconstructionError, ValueError, OSError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2)
    for w in rec.warnings:
        typer.echo(f"warning: {w}", err=True)
    save_scene(rec.scene, out / "scene.json")
    (out / "fits.json").write_text(json.dumps([asdict(f) for f in rec.fits], indent=1))
    renderer = TabletopRenderer()
    twin_view = renderer.render(rec.scene, [rec.scene.camera])[0]  # before any ManiSkill env (see the round-trip script)
    iio.imwrite(out / "side_by_side.png", np.concatenate([fr.rgb, twin_view.rgb], axis=1))
    env = gym.make("vlgsim:RealVLG-Grasp-v0", scene=rec.scene)
    result, _ = run_episode(env, make_policy(policy, env), 0, rec.scene.seed)
    env.close()
    (out / "policy.json").write_text(json.dumps(result.to_json(), indent=1))
    typer.echo(f"twin of {len(rec.fits)} objects: " + ", ".join(f"{f.color} {f.category}" for f in rec.fits))
    typer.echo(f"{policy} on the twin: {'success' if result.success else result.failure_mode} -> {out}")
