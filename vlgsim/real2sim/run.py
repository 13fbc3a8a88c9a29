"""Real runs: a policy's RealVLG grasp, planned from a camera image, executed on a robot
through the safety layer, recorded in the suite's LeRobot format (``vlgsim real run``).

Per episode:

1. read a camera frame (``start_episode(i)`` first: a replay camera jumps to recorded
   episode i); the instruction is ``--instruction`` or the recording's;
2. the policy answers a 4-DoF image grasp ``[x, y, theta_deg, width_px]`` (``oracle`` reads
   a recording's labels); it is deprojected with the frame's depth, intrinsics and base ->
   camera extrinsic exactly as the env does (:func:`vlgsim.grasp.image_grasp.action_to_world`);
3. the plan: a joint-space move to the env's observe pose, then the env's primitive
   (:func:`vlgsim.sim.grasp_primitive.primitive_segments`: over, 10 cm above, descend,
   close, lift 10 cm, hold 1 s), then a place (down, open, up) so the next episode starts
   empty-handed; TCP waypoints at ``control_hz`` turned into joint targets by IK (seeded by
   the previous waypoint; each straight segment eased in and out so it starts and ends at
   rest), gripper commands at the phase changes;
4. every command goes through :class:`~vlgsim.real2sim.safety.SafeRobot` (dry run unless
   ``execute``); a rejection stops the robot and ends the episode (``safety_stop``);
5. the outcome: detected by a sim stand-in (target risen >= 3 cm at the end of the hold, no
   other object risen), else ``outcome`` (``success``/``failure``) or asked from the
   operator; a dry run records ``not_executed``.

Recorded per step (LeRobot v3.0, fps = ``control_hz``): the camera image, the measured
joint positions + gripper width, joint velocities, TCP pose, the command sent (joint
targets + gripper width), the planned command, and per-step safety counts; per episode the
instruction, grasp, outcome and every safety event (JSON) in ``meta/episodes``; a
``report.json`` summarises the run.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from vlgsim.grasp.image_grasp import InvalidAction, WorldGrasp, action_to_world
from vlgsim.real2sim.cameras import Camera, CameraFrame, make_camera
from vlgsim.real2sim.franka_kinematics import fk, ik
from vlgsim.real2sim.robot import GripperCommand, JointCommand, Robot
from vlgsim.real2sim.safety import SafeRobot, SafetyLimits
from vlgsim.sim.grasp_primitive import LIFT_SUCCESS_M, PRE_GRASP_HEIGHT_M, Segment, primitive_segments, tcp_euler_xyz

CONTROL_HZ = 15.0
"""Command rate of a real run (DROID's 15 Hz, which its per-step caps assume)."""
OBSERVE_Q = np.array([0.0, -0.9, 0.0, -2.6, 0.0, 1.75, np.pi / 4])
"""The env's observe pose (arm folded back, out of the camera's view), where every plan starts."""
OBSERVE_MOVE_S = 1.5
OBSERVE_REST_S = 0.25
GRASP_FORCE_N = 40.0
PLACE_S = 1.0
ORIENT_S = 0.75
SLOWDOWN = 2.0
"""Real runs move at half the env primitive's speed (its 0.9 s traverse would need ~3 rad/s at the base joint)."""


@dataclass
class PlannedStep:
    """One command of a plan, with the primitive phase it belongs to."""

    phase: str
    command: JointCommand | GripperCommand


def grasp_rotation(axis_angle_rad: float) -> np.ndarray:
    """3x3 rotation of a downward TCP closing along ``axis_angle_rad`` (the env's convention)."""
    from scipy.spatial.transform import Rotation

    return Rotation.from_euler("XYZ", tcp_euler_xyz(np.array([axis_angle_rad]))[0]).as_matrix()


def _ease(s: float) -> float:
    """Cosine ease-in/out of a fraction in [0, 1] (starts and ends at rest)."""
    return 0.5 - 0.5 * np.cos(np.pi * s)


def plan_grasp(q_start, grasp: WorldGrasp, control_hz: float = CONTROL_HZ, lower=None, upper=None,
               place: bool = True, slowdown: float = SLOWDOWN) -> list[PlannedStep]:
    """The joint-level plan of one grasp (see the module doc). ``grasp`` in the base frame;
    every phase lasts ``slowdown`` times as long as in the env's primitive."""
    dt = 1.0 / control_hz
    control_hz = control_hz * slowdown  # steps per second of the primitive's own timing
    steps: list[PlannedStep] = []
    q_start = np.asarray(q_start, dtype=np.float64)
    n = max(1, int(round(OBSERVE_MOVE_S * control_hz)))
    for i in range(n):  # smooth (cosine) joint move, then a rest so every plan leaves the pose from standstill
        steps.append(PlannedStep("observe", JointCommand(q_start + (OBSERVE_Q - q_start) * _ease((i + 1) / n), dt)))
    for _ in range(max(1, int(round(OBSERVE_REST_S * control_hz)))):
        steps.append(PlannedStep("observe", JointCommand(OBSERVE_Q.copy(), dt)))
    R = grasp_rotation(grasp.axis_angle_rad)
    T_obs = fk(OBSERVE_Q)
    start = T_obs[:3, 3]
    target = np.asarray(grasp.tcp_xyz, dtype=np.float64)
    segments = primitive_segments(start, target)
    if place:
        segments += [Segment("place", segments[-1].end, target, PLACE_S, True),
                     Segment("release", target, target, 0.0, False),
                     Segment("retreat", target, target + np.array([0, 0, PRE_GRASP_HEIGHT_M]), PLACE_S / 2, False)]
    q = OBSERVE_Q.copy()
    # turn the hand to the grasp's jaw axis in place (slerp), within the rotation caps
    from scipy.spatial.transform import Rotation, Slerp

    turn = Slerp([0.0, 1.0], Rotation.from_matrix(np.stack([T_obs[:3, :3], R])))
    m = max(1, int(round(ORIENT_S * control_hz)))
    for i in range(m):
        T = np.eye(4)
        T[:3, :3], T[:3, 3] = turn(_ease((i + 1) / m)).as_matrix(), start
        q = ik(T, q, lower, upper)
        steps.append(PlannedStep("orient", JointCommand(q.copy(), dt)))
    closed: Optional[bool] = None
    for sg in segments:
        if sg.closed != closed:
            width = 0.0 if sg.closed else float(grasp.opening_m)
            steps.append(PlannedStep(sg.phase, GripperCommand(width, GRASP_FORCE_N, grasp=sg.closed)))
            closed = sg.closed
        m = int(round(sg.seconds * control_hz))
        for i in range(m):
            T = np.eye(4)
            T[:3, :3], T[:3, 3] = R, sg.start + (sg.end - sg.start) * _ease((i + 1) / m)
            q = ik(T, q, lower, upper)
            steps.append(PlannedStep(sg.phase, JointCommand(q.copy(), dt)))
    return steps


# ---------------------------------------------------------------------- recording
STATE_NAMES = [f"joint{i}" for i in range(1, 8)] + ["gripper_width_m"]
EE_NAMES = ["x", "y", "z", "qw", "qx", "qy", "qz"]


def real_features(height: int, width: int, fps: int) -> dict:
    from vlgsim.data.lerobot import vector_feature, video_feature

    return {"observation.state": vector_feature(STATE_NAMES),
            "observation.velocity": vector_feature([f"joint{i}_vel" for i in range(1, 8)]),
            "observation.ee_pose": vector_feature(EE_NAMES),
            "action": vector_feature(STATE_NAMES),
            "action.planned": vector_feature(STATE_NAMES),
            "safety": vector_feature(["clamps", "rejections", "sent_to_robot"]),
            "observation.images.camera": video_feature(height, width, fps)}


@dataclass
class EpisodeRecord:
    """What one real episode did (also the row of report.json)."""

    episode: int
    instruction: str
    robot: str
    camera: str
    policy: str
    execute: bool
    outcome: str  # success | failure | not_executed | unknown
    outcome_source: str  # detected | operator | flag | dry_run | none
    failure_mode: str = "none"  # none | invalid_action | ik_failed | safety_stop | error | ...
    error: str = ""
    grasp_action: Optional[list] = None
    grasp_base: Optional[list] = None  # [x, y, z, axis_angle_rad, opening_m], robot base frame
    steps: int = 0
    clamps: int = 0
    rejections: int = 0
    target_rise_m: Optional[float] = None
    seed: Optional[int] = None
    wall_s: float = 0.0
    safety_events: list = field(default_factory=list)

    @property
    def success(self) -> bool:
        return self.outcome == "success"


class StepRecorder:
    """Collects the per-step rows of one episode."""

    def __init__(self):
        self.rows: dict[str, list] = {k: [] for k in ("observation.state", "observation.velocity", "observation.ee_pose",
                                                     "action", "action.planned", "safety")}
        self.images: list[np.ndarray] = []
        self.sent_q: list[np.ndarray] = []
        self.sent_phase: list[str] = []
        self.observed_ee: list[np.ndarray] = []

    def add(self, state, frame: CameraFrame, action: np.ndarray, planned: np.ndarray, clamps: int, rejections: int,
            sent: bool) -> None:
        ee = state.ee_pose if state.ee_pose is not None else np.full(7, np.nan)
        width = state.gripper_width_m if state.gripper_width_m is not None else 0.0
        self.rows["observation.state"].append(np.r_[state.joint_positions[:7], width])
        self.rows["observation.velocity"].append(np.asarray(state.joint_velocities[:7]))
        self.rows["observation.ee_pose"].append(np.asarray(ee))
        self.rows["action"].append(action)
        self.rows["action.planned"].append(planned)
        self.rows["safety"].append(np.array([clamps, rejections, float(sent)]))
        self.images.append(frame.rgb)
        self.observed_ee.append(np.asarray(ee))

    def __len__(self):
        return len(self.images)


def _planned_vector(cmd, last_q: np.ndarray, last_w: float) -> np.ndarray:
    if isinstance(cmd, JointCommand):
        return np.r_[np.asarray(cmd.positions, dtype=np.float64)[:7], last_w]
    return np.r_[last_q, float(cmd.width_m)]


def execute_plan(safe: SafeRobot, plan: list[PlannedStep], camera: Camera, recorder: StepRecorder,
                 on_phase_end: Optional[Callable[[str], None]] = None, paced: bool = True) -> tuple[str, str]:
    """Send every planned command through ``safe``, recording each step. Returns
    ``(failure_mode, error)``: ``("none", "")`` or ``("safety_stop", message)``."""
    state = safe.observe()
    last_q, last_w = np.asarray(state.joint_positions[:7], dtype=np.float64), float(state.gripper_width_m or 0.0)
    frame = camera.read()
    for i, step in enumerate(plan):
        t0 = time.monotonic()
        planned = _planned_vector(step.command, last_q, last_w)
        res = safe.command(step.command)
        clamps = sum(e.kind == "clamp" for e in res.events)
        rejections = sum(e.kind == "reject" for e in res.events)
        if res.sent is not None:
            if isinstance(res.sent, JointCommand):
                last_q = np.asarray(res.sent.positions, dtype=np.float64)
                recorder.sent_q.append(last_q.copy())
                recorder.sent_phase.append(step.phase)
            else:
                last_w = float(res.sent.width_m)
        if paced and isinstance(step.command, JointCommand):
            time.sleep(max(0.0, t0 + float(step.command.duration_s) - time.monotonic()))
        state = safe.observe()
        frame = camera.read()
        recorder.add(state, frame, np.r_[last_q, last_w], planned, clamps, rejections, res.executed)
        if res.rejected:
            return "safety_stop", res.events[-1].message
        if on_phase_end is not None and (i + 1 == len(plan) or plan[i + 1].phase != step.phase):
            on_phase_end(step.phase)
    return "none", ""


# ---------------------------------------------------------------------- robots and policies
def make_robot(spec: str, seed: int = 0, realtime: bool = False) -> tuple[Robot, SafetyLimits]:
    """``sim`` (SAPIEN Panda stand-in), ``franka:HOST[:fr3|panda]`` (franky-control; ``realtime``:
    libfranka enforces realtime scheduling, for hardware on a PREEMPT_RT kernel), ``shadow``."""
    from vlgsim.real2sim.limits.franka import franka_limits

    kind, _, arg = spec.partition(":")
    if kind == "sim":
        from vlgsim.real2sim.sim_robot import SimRobot

        return SimRobot(seed=seed), franka_limits("panda")
    if kind == "franka":
        from vlgsim.real2sim.franka import FrankaRobot

        host, _, model = arg.partition(":")
        if not host:
            raise ValueError("--robot franka needs the robot's address; rule: franka:HOST[:fr3|panda], e.g. franka:172.16.0.2")
        model = model or "fr3"
        return FrankaRobot(host, model=model, realtime=realtime), franka_limits(model)
    if kind == "shadow":
        raise ValueError("--robot shadow: the Shadow Hand takes dexterous grasps (DexVLG), not the RealVLG parallel-jaw "
                         "primitive; rule: run_real (vlgsim real run --robot shadow) replays DexVLG grasps on it")
    raise ValueError(f"--robot {spec!r}; rule: sim, franka:HOST[:fr3|panda] or shadow")


class _PolicySpec:
    """What a RealVLG policy factory reads from an env: the grasp action space and mode."""

    def __init__(self, width: int, height: int):
        import gymnasium as gym

        self.action_mode = "grasp_rect"
        self.action_space = gym.spaces.Box(np.array([0, 0, -90, 0], np.float32),
                                           np.array([width - 1e-3, height - 1e-3, 90, width], np.float32))
        self.observation_space = gym.spaces.Dict({})
        self.unwrapped = self


def make_real_policy(spec: str, frame: CameraFrame, seed: int = 0):
    import vlgsim.policies  # noqa: F401  (registers the policies)
    from vlgsim.policies.base import make_policy

    H, W = frame.depth_m.shape
    return make_policy(spec, _PolicySpec(W, H), seed=seed)


# ---------------------------------------------------------------------- the run
@dataclass
class RealRunConfig:
    robot: str = "sim"
    camera: str = "replay:runs/replay"
    policy: str = "oracle"
    episodes: int = 1
    out: Path = Path("runs/real")
    execute: bool = False
    outcome: Optional[str] = None  # success | failure | None (detect, else ask the operator if interactive)
    instruction: Optional[str] = None
    seed: int = 0
    control_hz: float = CONTROL_HZ
    realtime: bool = False


def _operator_outcome(ask: Optional[Callable[[str], str]]) -> tuple[str, str]:
    if ask is None:
        return "unknown", "none"
    while True:
        a = ask("Outcome of this grasp: s(uccess) / f(ailure)? ").strip().lower()
        if a in ("s", "success"):
            return "success", "operator"
        if a in ("f", "failure"):
            return "failure", "operator"


def run_episode(safe: SafeRobot, robot: Robot, camera: Camera, policy, policy_spec: str, episode: int,
                cfg: RealRunConfig, recorder: StepRecorder, ask=None) -> EpisodeRecord:
    t_start = time.monotonic()
    camera.start_episode(episode)
    frame = camera.read()
    instruction = cfg.instruction or str(frame.info.get("instruction", ""))
    seed = frame.info.get("seed")
    rec = EpisodeRecord(episode, instruction, robot.name, getattr(camera, "name", "camera"), policy_spec, cfg.execute,
                        "unknown", "none", seed=None if seed is None else int(seed))
    if hasattr(robot, "reset_scene") and seed is not None:
        robot.reset_scene(int(seed))
    safe.clear_events()
    try:
        policy.reset(instruction, dict(frame.info, episode_seed=cfg.seed + episode))
        obs = {"rgb": frame.rgb, "depth": frame.depth_m, "intrinsic": frame.intrinsic.astype(np.float32),
               "extrinsic": frame.extrinsic.astype(np.float32), "instruction": instruction}
        raw = policy.act(obs)
        try:
            action = np.asarray(raw, dtype=np.float64)
        except (TypeError, ValueError) as e:
            raise InvalidAction(f"grasp_rect action {str(raw)[:200]!r} is not numbers; rule: [x_px, y_px, theta_deg, "
                                "width_px]") from e
        action = action[0] if action.ndim == 2 and len(action) else action
        rec.grasp_action = np.round(action, 3).tolist() if action.size <= 16 else None
        grasp = action_to_world(action, "grasp_rect", frame.depth_m, frame.intrinsic, frame.extrinsic)
        rec.grasp_base = [*np.round(grasp.tcp_xyz, 4).tolist(), round(grasp.axis_angle_rad, 4), round(grasp.opening_m, 4)]
        L = safe.limits
        plan = plan_grasp(safe.observe().joint_positions[:7], grasp, cfg.control_hz, L.safe_lower, L.safe_upper)
        hold_end = {}

        def on_phase_end(phase):
            if phase == "hold" and hasattr(robot, "target_rise_m"):
                hold_end["rise"], hold_end["others"] = robot.target_rise_m(), robot.others_rise_m()

        rec.failure_mode, rec.error = execute_plan(safe, plan, camera, recorder, on_phase_end,
                                                   paced=cfg.execute and getattr(robot, "paced", True))
        rec.steps = len(recorder)
        if not cfg.execute:
            rec.outcome, rec.outcome_source = "not_executed", "dry_run"
        elif rec.failure_mode != "none":
            rec.outcome, rec.outcome_source = "failure", "detected"
        elif "rise" in hold_end:
            rec.target_rise_m = round(hold_end["rise"], 4)
            ok = hold_end["rise"] >= LIFT_SUCCESS_M and hold_end["others"] < LIFT_SUCCESS_M
            rec.outcome, rec.outcome_source = ("success" if ok else "failure"), "detected"
            rec.failure_mode = "none" if ok else ("wrong_object" if hold_end["others"] >= LIFT_SUCCESS_M else "missed")
        elif cfg.outcome is not None:
            rec.outcome, rec.outcome_source = cfg.outcome, "flag"
        else:
            rec.outcome, rec.outcome_source = _operator_outcome(ask)
    except InvalidAction as e:
        rec.outcome, rec.outcome_source, rec.failure_mode, rec.error = "failure", "detected", "invalid_action", str(e)
    except Exception as e:  # noqa: BLE001 - a run records the failure, stops the robot and goes on
        safe.stop(reason="error")
        rec.outcome, rec.outcome_source, rec.failure_mode, rec.error = "failure", "detected", "error", f"{type(e).__name__}: {e}"
    if rec.failure_mode not in ("safety_stop", "error"):  # (those stopped the robot already)
        safe.stop(reason="episode_end")  # disarms the watchdog until the next episode's first command
    events = safe.clear_events()
    rec.safety_events = [e.to_json() for e in events]
    rec.clamps = sum(e["kind"] == "clamp" for e in rec.safety_events)
    rec.rejections = sum(e["kind"] == "reject" for e in rec.safety_events)
    rec.steps = len(recorder)
    rec.wall_s = round(time.monotonic() - t_start, 2)
    return rec


def run_real(cfg: RealRunConfig, ask: Optional[Callable[[str], str]] = None,
             on_episode: Optional[Callable[[EpisodeRecord], None]] = None) -> list[EpisodeRecord]:
    """Run ``cfg.episodes`` grasps and record them under ``cfg.out`` (LeRobot v3.0 + report.json).
    ``robot="shadow"``: DexVLG episodes replayed on the Shadow Hand stand-in
    (:func:`vlgsim.real2sim.shadow_run.run_shadow`, report.json only, no camera)."""
    from vlgsim.data.lerobot import LeRobotWriter

    if cfg.robot == "shadow":
        from vlgsim.real2sim.shadow_run import run_shadow

        return run_shadow(cfg, on_episode)
    if not cfg.camera:
        raise ValueError(f"--robot {cfg.robot} without --camera; rule: realsense[:EXTRINSIC_FILE] or replay:DIR")

    if cfg.outcome not in (None, "success", "failure"):
        raise ValueError(f"--outcome {cfg.outcome!r}; rule: success or failure")
    out = Path(cfg.out)
    camera = make_camera(cfg.camera)
    robot, limits = make_robot(cfg.robot, seed=cfg.seed, realtime=cfg.realtime)
    records: list[EpisodeRecord] = []
    fps = int(round(cfg.control_hz))
    try:
        with SafeRobot(robot, limits, execute=cfg.execute) as safe:
            first = camera.read()
            policy = make_real_policy(cfg.policy, first, seed=cfg.seed)
            H, W = first.depth_m.shape
            writer = LeRobotWriter(out / "dataset", fps, real_features(H, W, fps), robot_type=robot.name)
            start = max(writer.finished(), default=-1) + 1
            for ep in range(start, start + cfg.episodes):
                recorder = StepRecorder()
                rec = run_episode(safe, robot, camera, policy, cfg.policy, ep, cfg, recorder, ask)
                if len(recorder):
                    extra = {k: v for k, v in asdict(rec).items() if k not in ("safety_events", "episode", "instruction")}
                    extra = {k: (json.dumps(v) if isinstance(v, (list, dict)) or v is None else v) for k, v in extra.items()}
                    extra["safety_events"] = json.dumps(rec.safety_events)
                    writer.add_episode(ep, {k: np.stack(v) for k, v in recorder.rows.items()},
                                       {"observation.images.camera": np.stack(recorder.images)},
                                       rec.instruction or "grasp", extra)
                records.append(rec)
                if on_episode is not None:
                    on_episode(rec)
                write_report(out, cfg, records)
    finally:
        camera.close()
    return records


def write_report(out: Path, cfg: RealRunConfig, records: list[EpisodeRecord]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    n = len(records)
    summary = {"robot": cfg.robot, "camera": cfg.camera, "policy": cfg.policy, "execute": cfg.execute,
               "episodes": n, "successes": sum(r.success for r in records),
               "outcomes": {o: sum(r.outcome == o for r in records) for o in sorted({r.outcome for r in records})},
               "clamps": sum(r.clamps for r in records), "rejections": sum(r.rejections for r in records),
               "rows": [asdict(r) for r in records]}
    (out / "report.json").write_text(json.dumps(summary, indent=1, default=str))
