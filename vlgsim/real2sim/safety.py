"""The safety layer between every policy and every robot (SPEC section 8).

:class:`SafeRobot` wraps a driver and is itself a :class:`~vlgsim.real2sim.robot.Robot`.
Every command goes through :meth:`SafeRobot.command`, which

- **rejects** what is not a command or not numbers (wrong type, wrong shape, NaN/inf,
  magnitudes beyond ``huge_abs``, a non-unit quaternion, an unreachable pose): the command
  is dropped and the robot is **stopped** (it holds where it is);
- **clamps** the rest into every limit: joint range minus the margin, per-command joint
  step, joint velocity (step / duration), joint acceleration (speeding up only: slowing
  down and stopping are never blocked), the Cartesian workspace box, per-command TCP
  translation/rotation and TCP speed (checked on the forward kinematics of joint targets:
  the step is shortened along its line until the TCP pose is inside every Cartesian
  limit), gripper width and force;
- logs every clamp, rejection and stop as a :class:`SafetyEvent` (value, limit, rule),
  kept in :attr:`SafeRobot.events` for the episode record;
- is **dry-run by default**: checked commands reach the driver only with ``execute=True``
  (``stop()`` always reaches it: stopping is never a motion);
- runs a **watchdog** thread: when no command arrives by ``deadline = end of the last
  command's duration + watchdog_timeout_s``, it calls ``stop()`` (measured latency past the
  deadline in :attr:`SafeRobot.watchdog_latencies_s`).

Cartesian commands are turned into joint targets by the limits' kinematics (IK seeded at
the current target) and then pass the joint checks too, so every command that reaches an
arm driver is a :class:`JointCommand` or a :class:`GripperCommand` inside every limit.
Cartesian limits are checked at the command's end point; within one command the joint
path is at most ``joint_step_max_rad`` per joint long.

**Pose passthrough** (``SafetyLimits.pose_passthrough=True``): for a hand carried by an arm
whose own controller does the IK (the Shadow Hand's palm pose), a Cartesian command is checked
as a pose (finite, unit quaternion, position clamped into the palm workspace box, step clamped
along its line to the translation cap and rotation clamped along its geodesic to the rotation
cap, both from the last sent pose or else the measured ``ee_pose``) and forwarded as a
:class:`CartesianCommand`, with no IK; joint commands keep every joint check. From a palm
outside the box (measured after a stop), a capped step lies on the line to a target inside
it, so it only comes closer to the box.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Optional, Protocol

import numpy as np
from scipy.spatial.transform import Rotation

from vlgsim.real2sim.robot import CartesianCommand, GripperCommand, JointCommand, Robot, RobotBase, RobotState


class ArmKinematics(Protocol):
    n_joints: int

    def fk(self, q) -> np.ndarray: ...

    def ik(self, target: np.ndarray, q_seed, lower=None, upper=None) -> np.ndarray: ...


@dataclass
class SafetyLimits:
    """The limits of one robot. Joint values in rad (rad/s, rad/s^2), Cartesian values in
    the robot base frame (m, rad, m/s, rad/s), gripper width in m and force in N, times in s.
    Cartesian fields are ``None`` for robots without an end-effector workspace (a hand);
    gripper fields are ``None`` for robots without a parallel gripper."""

    robot: str
    joint_names: tuple[str, ...]
    joint_lower: np.ndarray
    joint_upper: np.ndarray
    joint_margin_rad: float
    joint_velocity_max: np.ndarray
    joint_acceleration_max: np.ndarray
    joint_step_max_rad: float
    watchdog_timeout_s: float
    workspace_lower_m: Optional[np.ndarray] = None
    workspace_upper_m: Optional[np.ndarray] = None
    ee_step_max_m: Optional[float] = None
    ee_rotation_step_max_rad: Optional[float] = None
    ee_velocity_max_m_s: Optional[float] = None
    ee_angular_velocity_max_rad_s: Optional[float] = None
    gripper_width_max_m: Optional[float] = None
    gripper_force_max_n: Optional[float] = None
    command_duration_min_s: float = 1e-3
    command_duration_max_s: float = 2.0
    huge_abs: float = 1e3
    """Any command value beyond this magnitude is garbage, not a target: rejected."""
    kinematics: Optional[ArmKinematics] = None
    pose_passthrough: bool = False
    """Cartesian commands are checked as palm poses against the workspace box and the
    ``ee_*`` caps and forwarded as poses, without kinematics (a hand carried by an arm)."""

    def __post_init__(self):
        n = len(self.joint_names)
        for name in ("joint_lower", "joint_upper", "joint_velocity_max", "joint_acceleration_max"):
            v = np.asarray(getattr(self, name), dtype=np.float64).reshape(-1)
            if v.size == 1:
                v = np.full(n, float(v[0]))
            if v.shape != (n,) or not np.all(np.isfinite(v)):
                raise ValueError(f"SafetyLimits.{name} {v.tolist()}; rule: {n} finite values, one per joint")
            setattr(self, name, v)
        if np.any(self.safe_lower > self.safe_upper):
            raise ValueError(f"joint range {self.joint_lower.tolist()}..{self.joint_upper.tolist()} minus margin "
                             f"{self.joint_margin_rad} is empty; rule: lower + margin <= upper - margin")
        if np.any(self.joint_velocity_max <= 0) or np.any(self.joint_acceleration_max <= 0) or self.joint_step_max_rad <= 0:
            raise ValueError("joint velocity, acceleration and step caps must be > 0")
        if (self.workspace_lower_m is None) != (self.workspace_upper_m is None):
            raise ValueError("workspace_lower_m and workspace_upper_m: give both or neither")
        if self.workspace_lower_m is not None:
            self.workspace_lower_m = np.asarray(self.workspace_lower_m, dtype=np.float64).reshape(3)
            self.workspace_upper_m = np.asarray(self.workspace_upper_m, dtype=np.float64).reshape(3)
            if np.any(self.workspace_lower_m >= self.workspace_upper_m):
                raise ValueError(f"workspace box {self.workspace_lower_m.tolist()}..{self.workspace_upper_m.tolist()} "
                                 "is empty; rule: lower < upper on every axis")
        if self.pose_passthrough:
            if self.kinematics is not None:
                raise ValueError(f"{self.robot}: pose_passthrough forwards poses without IK; rule: no kinematics with it")
            if self.workspace_lower_m is None or self.ee_step_max_m is None or self.ee_rotation_step_max_rad is None:
                raise ValueError(f"{self.robot}: pose_passthrough needs a palm workspace box, ee_step_max_m and "
                                 "ee_rotation_step_max_rad; rule: every forwarded pose is bounded")
        elif self.has_cartesian_limits and self.kinematics is None:
            raise ValueError(f"{self.robot}: Cartesian limits need the arm's kinematics to check joint commands; "
                             "rule: give kinematics=... or no Cartesian limits")

    @property
    def n_joints(self) -> int:
        return len(self.joint_names)

    @property
    def safe_lower(self) -> np.ndarray:
        return self.joint_lower + self.joint_margin_rad

    @property
    def safe_upper(self) -> np.ndarray:
        return self.joint_upper - self.joint_margin_rad

    @property
    def has_cartesian_limits(self) -> bool:
        return any(v is not None for v in (self.workspace_lower_m, self.ee_step_max_m, self.ee_rotation_step_max_rad,
                                           self.ee_velocity_max_m_s, self.ee_angular_velocity_max_rad_s))

    def workspace_excess_m(self, p: np.ndarray) -> float:
        """How far ``p`` lies outside the workspace box (0 inside), metres."""
        if self.workspace_lower_m is None:
            return 0.0
        return float(np.linalg.norm(np.maximum(self.workspace_lower_m - p, 0) + np.maximum(p - self.workspace_upper_m, 0)))

    def ee_step_cap_m(self, duration_s: float) -> float:
        caps = [c for c in (self.ee_step_max_m,) if c is not None]
        if self.ee_velocity_max_m_s is not None:
            caps.append(self.ee_velocity_max_m_s * duration_s)
        return min(caps) if caps else np.inf

    def ee_rotation_cap_rad(self, duration_s: float) -> float:
        caps = [c for c in (self.ee_rotation_step_max_rad,) if c is not None]
        if self.ee_angular_velocity_max_rad_s is not None:
            caps.append(self.ee_angular_velocity_max_rad_s * duration_s)
        return min(caps) if caps else np.inf

    def joint_step_cap_rad(self, duration_s: float) -> np.ndarray:
        return np.minimum(self.joint_step_max_rad, self.joint_velocity_max * duration_s)


@dataclass
class SafetyEvent:
    """One clamp, rejection or stop. ``value`` is what was asked (or measured), ``limit`` the
    bound it met, ``rule`` the name of the check."""

    t_s: float
    kind: str  # clamp | reject | stop | watchdog
    rule: str
    command: str  # joint | cartesian | gripper | "" (stops)
    value: Any = None
    limit: Any = None
    message: str = ""

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class CommandResult:
    """What became of one command: the command the driver got (``None`` when rejected), whether
    it was sent (``False`` in dry run), and the events it raised."""

    sent: Optional[JointCommand | CartesianCommand | GripperCommand]
    executed: bool
    events: list[SafetyEvent] = field(default_factory=list)

    @property
    def rejected(self) -> bool:
        return self.sent is None


class _Reject(Exception):
    def __init__(self, rule: str, value, limit, message: str):
        super().__init__(message)
        self.rule, self.value, self.limit, self.message = rule, value, limit, message


def _short(value, n: int = 12):
    """A JSON-friendly, bounded rendering of a (possibly hostile) value."""
    try:
        a = np.asarray(value, dtype=np.float64)
        if a.size <= n:
            return a.tolist()
        return a.reshape(-1)[:n].tolist() + ["..."]
    except (TypeError, ValueError, OverflowError):
        return repr(value)[:200]


def _as_array(value, shape: tuple, what: str, command: str, huge: float) -> np.ndarray:
    """``value`` as a finite float array of ``shape`` with no magnitude beyond ``huge``, else a rejection."""
    rule = f"shape {shape} of finite numbers"
    if value is None or isinstance(value, (str, bytes, dict, bool, np.bool_)):
        raise _Reject("type", _short(value), rule, f"{command} {what} {_short(value)!r} is not numbers; rule: {rule}")
    try:
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise _Reject("type", _short(value), rule, f"{command} {what} {_short(value)!r} is not numbers; "
                      f"rule: {rule}") from None
    if a.shape != shape and not (shape == () and a.shape == (1,)):
        raise _Reject("shape", list(a.shape), list(shape), f"{command} {what} of shape {a.shape}; rule: {rule}")
    if not np.all(np.isfinite(a)):
        raise _Reject("finite", _short(a), "finite", f"{command} {what} {_short(a)} has NaN or inf; rule: all finite")
    if np.any(np.abs(a) > huge):
        raise _Reject("magnitude", _short(a), huge, f"{command} {what} {_short(a)} has a value beyond {huge:g}; "
                      f"rule: |value| <= {huge:g}")
    return a


def _as_vector(value, n: int, what: str, command: str, huge: float) -> np.ndarray:
    return _as_array(value, (n,), what, command, huge)


def _as_scalar(value, what: str, command: str, huge: float) -> float:
    return float(_as_array(value, (), what, command, huge).reshape(-1)[0])


def _unit_quaternion(pose: np.ndarray, what: str = "cartesian pose") -> float:
    """The norm of ``pose[3:]`` (``[qw, qx, qy, qz]``), or a rejection unless it is 1 +- 0.1."""
    qn = float(np.linalg.norm(pose[3:]))
    if abs(qn - 1.0) > 0.1:
        raise _Reject("quaternion", pose[3:].tolist(), "unit norm", f"{what} quaternion {pose[3:].tolist()} "
                      f"has norm {qn:.3f}; rule: a unit quaternion [qw, qx, qy, qz] (norm 1 +- 0.1)")
    return qn


def _quat_rotation(q_wxyz: np.ndarray) -> Rotation:
    return Rotation.from_quat(np.array([q_wxyz[1], q_wxyz[2], q_wxyz[3], q_wxyz[0]]))


def _rot_angle(Ra: np.ndarray, Rb: np.ndarray) -> float:
    c = (np.trace(Ra.T @ Rb) - 1) / 2
    return float(np.arccos(np.clip(c, -1.0, 1.0)))


class SafeRobot(RobotBase):
    """A robot behind the safety layer (see the module doc). ``execute=False`` (the default)
    is a dry run. ``clock`` is the time source (seconds, monotonic)."""

    def __init__(self, robot: Robot, limits: SafetyLimits, execute: bool = False, watchdog: bool = True,
                 clock: Callable[[], float] = time.monotonic):
        if tuple(getattr(robot, "joint_names", ())) and len(robot.joint_names) != limits.n_joints:
            raise ValueError(f"{robot.name} has {len(robot.joint_names)} joints, limits {limits.robot} "
                             f"{limits.n_joints}; rule: limits of this robot")
        self.robot, self.limits, self.execute, self.clock = robot, limits, bool(execute), clock
        self.name = f"safe:{robot.name}"
        self.joint_names = limits.joint_names
        self.events: list[SafetyEvent] = []
        self.watchdog_latencies_s: list[float] = []
        """Per watchdog stop: seconds from the deadline to the stop call (issued)."""
        self.watchdog_done_latencies_s: list[float] = []
        """... and to the driver's stop() returning (done)."""
        self._events_lock = threading.Lock()
        self._driver_lock = threading.RLock()
        self._cv = threading.Condition()
        self._deadline: Optional[float] = None
        self._in_flight = False
        self._closing = False
        self._watchdog_enabled = watchdog
        self._thread: Optional[threading.Thread] = None
        self._reset_reference()

    # ------------------------------------------------------------------ lifecycle
    def connect(self) -> None:
        self.robot.connect()
        if self._watchdog_enabled and self._thread is None:
            self._closing = False
            self._thread = threading.Thread(target=self._watchdog_loop, name="vlgsim-watchdog", daemon=True)
            self._thread.start()

    def close(self) -> None:
        with self._cv:
            self._closing = True
            self._deadline = None
            self._cv.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)
        self._thread = None
        self.robot.close()

    def observe(self) -> RobotState:
        with self._driver_lock:
            return self.robot.observe()

    def stop(self, reason: str = "requested") -> None:
        """Stop the robot (always reaches the driver, also in dry run) and disarm the watchdog."""
        with self._cv:
            self._deadline = None
        with self._driver_lock:
            self.robot.stop()
            self._reset_reference()
        self._log(SafetyEvent(self.clock(), "stop", reason, "", message=f"robot stopped ({reason})"))

    def clear_events(self) -> list[SafetyEvent]:
        """Return and forget the events so far (one episode's record)."""
        with self._events_lock:
            ev, self.events = self.events, []
        return ev

    # ------------------------------------------------------------------ commands
    def command(self, cmd) -> CommandResult:
        """Check ``cmd`` against every limit, clamp or reject it, log, and (with
        ``execute=True``) send what passed. Never raises for a bad command."""
        events: list[SafetyEvent] = []
        kind = {JointCommand: "joint", CartesianCommand: "cartesian", GripperCommand: "gripper"}.get(type(cmd), "")
        try:
            if not kind:
                raise _Reject("type", repr(cmd)[:200], "JointCommand | CartesianCommand | GripperCommand",
                              f"command {repr(cmd)[:200]} of type {type(cmd).__name__}; rule: a JointCommand, "
                              "CartesianCommand or GripperCommand")
            if kind == "gripper":
                safe = self._check_gripper(cmd, events)
            else:
                safe = self._check_arm(cmd, kind, events)
        except _Reject as r:
            ev = SafetyEvent(self.clock(), "reject", r.rule, kind, r.value, r.limit, r.message)
            events.append(ev)
            self._log_all(events)
            self.stop(reason=f"rejected:{r.rule}")
            return CommandResult(None, False, events)
        self._log_all(events)
        executed = False
        if self.execute:
            with self._cv:
                self._in_flight = True
            try:
                with self._driver_lock:
                    self.robot.command(safe)
                executed = True
            finally:
                with self._cv:
                    self._in_flight = False
        if isinstance(safe, JointCommand):
            self._commit_joint(safe)
        elif isinstance(safe, CartesianCommand):
            self._pose_ref = (safe.pose[:3].copy(), _quat_rotation(safe.pose[3:]))
        self._arm_watchdog(getattr(safe, "duration_s", 0.0))
        return CommandResult(safe, executed, events)

    # joint / Cartesian --------------------------------------------------
    def _reference(self) -> np.ndarray:
        """Joint positions the next step starts from: the last target while streaming, else
        the measured positions."""
        if self._q_ref is None:
            self._q_ref = np.asarray(self.observe().joint_positions, dtype=np.float64).reshape(-1)[: self.limits.n_joints]
            self._v_prev = np.zeros(self.limits.n_joints)
        return self._q_ref

    def _reset_reference(self) -> None:
        self._q_ref: Optional[np.ndarray] = None
        self._v_prev = np.zeros(self.limits.n_joints)
        self._t_ref_end = -np.inf
        self._pose_ref: Optional[tuple[np.ndarray, Rotation]] = None

    def _palm_reference(self) -> tuple[np.ndarray, Rotation]:
        """Palm pose the next Cartesian step starts from: the last sent pose while streaming,
        else the measured ``ee_pose`` (position m, rotation; base frame)."""
        if self._pose_ref is None:
            ee = self.observe().ee_pose
            try:
                pose = _as_vector(ee, 7, "measured ee_pose", "cartesian", self.limits.huge_abs)
                _unit_quaternion(pose, "measured ee_pose")
            except _Reject as r:
                raise _Reject("no_pose", r.value, r.limit, f"no usable measured palm pose to step from: {r.message}") from None
            self._pose_ref = (pose[:3].copy(), _quat_rotation(pose[3:]))
        return self._pose_ref

    def _commit_joint(self, cmd: JointCommand) -> None:
        q_ref = self._reference()
        self._v_prev = (cmd.positions - q_ref) / cmd.duration_s
        self._q_ref = cmd.positions.copy()
        self._t_ref_end = self.clock() + cmd.duration_s

    def _duration(self, cmd, kind: str, events: list) -> float:
        L = self.limits
        d = _as_scalar(cmd.duration_s, "duration_s", kind, L.huge_abs)
        if not d > 0:
            raise _Reject("duration", d, "> 0", f"{kind} duration_s {d}; rule: > 0 s")
        c = float(np.clip(d, L.command_duration_min_s, L.command_duration_max_s))
        if c != d:
            events.append(SafetyEvent(self.clock(), "clamp", "duration", kind, d,
                                      [L.command_duration_min_s, L.command_duration_max_s],
                                      f"duration_s {d} clamped to {c}"))
        return c

    def _check_arm(self, cmd, kind: str, events: list) -> JointCommand:
        L = self.limits
        dt = self._duration(cmd, kind, events)
        q_ref = self._reference()
        if kind == "cartesian" and L.pose_passthrough:
            return self._check_pose(cmd, dt, events)
        if kind == "cartesian":
            q = self._cartesian_to_joint(cmd, q_ref, dt, events)
        else:
            q = _as_vector(cmd.positions, L.n_joints, "positions", kind, L.huge_abs)
        t = self.clock()
        # joint range minus margin
        qc = np.clip(q, L.safe_lower, L.safe_upper)
        if np.any(qc != q):
            bad = np.nonzero(qc != q)[0]
            events.append(SafetyEvent(t, "clamp", "joint_limit", kind, q[bad].tolist(),
                                      [L.safe_lower[bad].tolist(), L.safe_upper[bad].tolist()],
                                      f"joints {[L.joint_names[i] for i in bad]} at {q[bad].round(4).tolist()} clamped "
                                      f"into the range minus {L.joint_margin_rad} rad"))
        d = qc - q_ref
        # per-command step and velocity
        cap = L.joint_step_cap_rad(dt)
        dc = np.clip(d, -cap, cap)
        if np.any(dc != d):
            bad = np.nonzero(dc != d)[0]
            rule = "joint_step" if np.all(cap[bad] >= L.joint_step_max_rad) else "joint_velocity"
            events.append(SafetyEvent(t, "clamp", rule, kind, d[bad].tolist(), cap[bad].tolist(),
                                      f"joint steps {d[bad].round(4).tolist()} rad in {dt:.3f} s clamped to "
                                      f"+-{cap[bad].round(4).tolist()} (step {L.joint_step_max_rad} rad, velocity "
                                      f"{L.joint_velocity_max[bad].round(3).tolist()} rad/s)"))
        # acceleration: speeding up at most a_max * dt per command
        v_prev = self._v_prev if t <= self._t_ref_end + L.watchdog_timeout_s else np.zeros(L.n_joints)
        v_cap = np.abs(v_prev) + L.joint_acceleration_max * dt
        v = dc / dt
        vc = np.clip(v, -v_cap, v_cap)
        if np.any(vc != v):
            bad = np.nonzero(vc != v)[0]
            events.append(SafetyEvent(t, "clamp", "joint_acceleration", kind, v[bad].tolist(), v_cap[bad].tolist(),
                                      f"joint velocities {v[bad].round(3).tolist()} rad/s clamped to speeding up by at "
                                      f"most {L.joint_acceleration_max[bad].tolist()} rad/s^2 x {dt:.3f} s"))
            dc = vc * dt
        # Cartesian limits on the forward kinematics: shorten the step along its line
        if L.kinematics is not None and L.has_cartesian_limits:
            alpha, rule, value, limit = self._cartesian_fraction(q_ref, dc, dt)
            if alpha < 1.0:
                events.append(SafetyEvent(t, "clamp", rule, kind, value, limit,
                                          f"joint step shortened to {alpha:.3f} of its length: TCP {rule} {value} "
                                          f"beyond {limit}"))
                dc = dc * alpha
        q_safe = np.clip(q_ref + dc, L.safe_lower, L.safe_upper) if np.all(
            (q_ref >= L.safe_lower) & (q_ref <= L.safe_upper)) else q_ref + dc
        return JointCommand(positions=q_safe, duration_s=dt)

    def _cartesian_ok(self, T_ref: np.ndarray, T: np.ndarray, dt: float, excess_ref: float):
        L = self.limits
        p = T[:3, 3]
        excess = L.workspace_excess_m(p)
        if excess > max(excess_ref, 0.0) + 1e-12:
            return False, "workspace", p.round(4).tolist(), [L.workspace_lower_m.tolist(), L.workspace_upper_m.tolist()]
        step = float(np.linalg.norm(p - T_ref[:3, 3]))
        cap = L.ee_step_cap_m(dt)
        if step > cap + 1e-12:
            return False, "ee_step", round(step, 5), round(cap, 5)
        rot = _rot_angle(T_ref[:3, :3], T[:3, :3])
        rcap = L.ee_rotation_cap_rad(dt)
        if rot > rcap + 1e-12:
            return False, "ee_rotation_step", round(rot, 5), round(rcap, 5)
        return True, "", None, None

    def _cartesian_fraction(self, q_ref: np.ndarray, d: np.ndarray, dt: float):
        """Largest fraction of the joint step ``d`` whose TCP pose passes every Cartesian limit
        (bisection; fraction 0, staying put, always passes)."""
        kin = self.limits.kinematics
        T_ref = kin.fk(q_ref)
        excess_ref = self.limits.workspace_excess_m(T_ref[:3, 3])
        ok, rule, value, limit = self._cartesian_ok(T_ref, kin.fk(q_ref + d), dt, excess_ref)
        if ok:
            return 1.0, "", None, None
        lo, hi = 0.0, 1.0
        for _ in range(10):
            mid = (lo + hi) / 2
            if self._cartesian_ok(T_ref, kin.fk(q_ref + mid * d), dt, excess_ref)[0]:
                lo = mid
            else:
                hi = mid
        return lo, rule, value, limit

    def _cartesian_to_joint(self, cmd: CartesianCommand, q_ref: np.ndarray, dt: float, events: list) -> np.ndarray:
        L = self.limits
        if L.kinematics is None:
            raise _Reject("no_kinematics", L.robot, "joint commands", f"{L.robot} takes joint commands only; rule: no "
                          "Cartesian commands without the arm's kinematics")
        pose = _as_vector(cmd.pose, 7, "pose", "cartesian", L.huge_abs)
        qn = _unit_quaternion(pose)
        t = self.clock()
        p = pose[:3].copy()
        if L.workspace_lower_m is not None:
            pc = np.clip(p, L.workspace_lower_m, L.workspace_upper_m)
            if np.any(pc != p):
                events.append(SafetyEvent(t, "clamp", "workspace", "cartesian", p.tolist(),
                                          [L.workspace_lower_m.tolist(), L.workspace_upper_m.tolist()],
                                          f"TCP target {p.round(4).tolist()} clamped into the workspace box"))
                p = pc
        T_ref = L.kinematics.fk(q_ref)
        step = p - T_ref[:3, 3]
        cap = L.ee_step_cap_m(dt)
        if np.linalg.norm(step) > cap:
            events.append(SafetyEvent(t, "clamp", "ee_step", "cartesian", float(np.linalg.norm(step)), cap,
                                      f"TCP step {np.linalg.norm(step):.4f} m in {dt:.3f} s clamped to {cap:.4f} m"))
            p = T_ref[:3, 3] + step * cap / np.linalg.norm(step)
        R_ref = Rotation.from_matrix(T_ref[:3, :3])
        R = Rotation.from_quat(np.array([pose[4], pose[5], pose[6], pose[3]]) / qn)
        rel = (R * R_ref.inv()).as_rotvec()
        rcap = L.ee_rotation_cap_rad(dt)
        if np.linalg.norm(rel) > rcap:
            events.append(SafetyEvent(t, "clamp", "ee_rotation_step", "cartesian", float(np.linalg.norm(rel)), rcap,
                                      f"TCP rotation {np.linalg.norm(rel):.4f} rad in {dt:.3f} s clamped to {rcap:.4f}"))
            R = Rotation.from_rotvec(rel * rcap / np.linalg.norm(rel)) * R_ref
        T = np.eye(4)
        T[:3, :3], T[:3, 3] = R.as_matrix(), p
        try:
            return L.kinematics.ik(T, q_ref, L.safe_lower, L.safe_upper)
        except Exception as e:  # noqa: BLE001 - an unreachable pose is a rejected command
            raise _Reject("ik", np.r_[p, pose[3:]].round(4).tolist(), "reachable", f"cartesian pose unreachable: {e}") from None

    def _check_pose(self, cmd: CartesianCommand, dt: float, events: list) -> CartesianCommand:
        """Pose passthrough: the pose clamped into the palm box and the step caps (no IK)."""
        L = self.limits
        pose = _as_vector(cmd.pose, 7, "pose", "cartesian", L.huge_abs)
        _unit_quaternion(pose)
        p_ref, R_ref = self._palm_reference()
        t = self.clock()
        p = pose[:3]
        pc = np.clip(p, L.workspace_lower_m, L.workspace_upper_m)
        if np.any(pc != p):
            events.append(SafetyEvent(t, "clamp", "workspace", "cartesian", p.tolist(),
                                      [L.workspace_lower_m.tolist(), L.workspace_upper_m.tolist()],
                                      f"palm target {p.round(4).tolist()} m clamped into the palm workspace box"))
            p = pc
        step = p - p_ref
        cap = L.ee_step_cap_m(dt)
        if np.linalg.norm(step) > cap:
            events.append(SafetyEvent(t, "clamp", "ee_step", "cartesian", float(np.linalg.norm(step)), cap,
                                      f"palm step {np.linalg.norm(step):.4f} m in {dt:.3f} s clamped along its line "
                                      f"to {cap:.4f} m"))
            p = p_ref + step * (cap / np.linalg.norm(step))
        R = _quat_rotation(pose[3:])
        rel = (R * R_ref.inv()).as_rotvec()
        rcap = L.ee_rotation_cap_rad(dt)
        if np.linalg.norm(rel) > rcap:
            events.append(SafetyEvent(t, "clamp", "ee_rotation_step", "cartesian", float(np.linalg.norm(rel)), rcap,
                                      f"palm rotation {np.linalg.norm(rel):.4f} rad in {dt:.3f} s clamped to {rcap:.4f}"))
            R = Rotation.from_rotvec(rel * (rcap / np.linalg.norm(rel))) * R_ref
        x, y, z, w = R.as_quat()
        return CartesianCommand(pose=np.r_[p, w, x, y, z], duration_s=dt)

    # gripper --------------------------------------------------------------
    def _check_gripper(self, cmd: GripperCommand, events: list) -> GripperCommand:
        L = self.limits
        if L.gripper_width_max_m is None:
            raise _Reject("no_gripper", L.robot, "no gripper", f"{L.robot} has no parallel gripper; rule: no "
                          "GripperCommand for this robot")
        w = _as_scalar(cmd.width_m, "width_m", "gripper", L.huge_abs)
        f = _as_scalar(cmd.force_n, "force_n", "gripper", L.huge_abs)
        t = self.clock()
        wc = float(np.clip(w, 0.0, L.gripper_width_max_m))
        if wc != w:
            events.append(SafetyEvent(t, "clamp", "gripper_width", "gripper", w, [0.0, L.gripper_width_max_m],
                                      f"gripper width {w} m clamped to {wc}"))
        fmax = L.gripper_force_max_n if L.gripper_force_max_n is not None else np.inf
        fc = float(np.clip(f, 0.0, fmax))
        if fc != f:
            events.append(SafetyEvent(t, "clamp", "gripper_force", "gripper", f, [0.0, fmax],
                                      f"gripper force {f} N clamped to {fc}"))
        grasp = getattr(cmd, "grasp", False)
        if not isinstance(grasp, (bool, np.bool_)):
            raise _Reject("type", repr(grasp)[:100], "True or False", f"gripper grasp flag {grasp!r}; rule: True or False")
        return GripperCommand(width_m=wc, force_n=fc, grasp=bool(grasp))

    # ------------------------------------------------------------------ watchdog
    def _arm_watchdog(self, duration_s: float) -> None:
        with self._cv:
            self._deadline = self.clock() + duration_s + self.limits.watchdog_timeout_s
            self._cv.notify_all()

    def _watchdog_loop(self) -> None:
        while True:
            with self._cv:
                while not self._closing:
                    if self._deadline is None or self._in_flight:
                        self._cv.wait(timeout=0.5)
                        continue
                    remaining = self._deadline - self.clock()
                    if remaining <= 0:
                        break
                    self._cv.wait(timeout=remaining)
                if self._closing:
                    return
                deadline, self._deadline = self._deadline, None
            try:
                self.robot_stop_from_watchdog(deadline)
            except Exception as e:  # noqa: BLE001 - the thread must keep guarding
                self._log(SafetyEvent(self.clock(), "watchdog", "stop_failed", "", message=f"watchdog stop failed: {e}"))

    def robot_stop_from_watchdog(self, deadline: float) -> None:
        t_issue = self.clock()
        with self._driver_lock:
            self.robot.stop()
            self._reset_reference()
        late = t_issue - deadline
        self.watchdog_done_latencies_s.append(self.clock() - deadline)
        self.watchdog_latencies_s.append(late)
        self._log(SafetyEvent(t_issue, "watchdog", "watchdog_timeout", "", round(late, 6), self.limits.watchdog_timeout_s,
                              f"no command for {self.limits.watchdog_timeout_s} s after the last one ended: robot "
                              f"stopped {1000 * late:.1f} ms after the deadline"))

    # ------------------------------------------------------------------ log
    def _log(self, ev: SafetyEvent) -> None:
        with self._events_lock:
            self.events.append(ev)

    def _log_all(self, evs: list[SafetyEvent]) -> None:
        with self._events_lock:
            self.events.extend(evs)
