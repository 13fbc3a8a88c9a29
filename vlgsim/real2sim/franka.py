"""Franka arm + Franka Hand through ``franky-control`` (PyPI, bundles libfranka).

:class:`FrankaRobot` implements the :class:`~vlgsim.real2sim.robot.Robot` protocol. It only
ever receives commands that passed :class:`~vlgsim.real2sim.safety.SafeRobot`: joint
targets (streamed as asynchronous franky ``JointWaypointMotion``s, each reached no sooner
than the command's ``duration_s``; a new target preempts the running one, franky's Ruckig
generator keeps the motion within Franka's own dynamics limits) and gripper commands
(``Gripper.move`` to open, ``Gripper.grasp`` with the force limit to close; blocking).
``stop()`` stops the arm (``Robot.stop``); it never opens the hand (a held object stays held).

:func:`franky_sim_server` starts ``franky-sim`` (PyPI: a MuJoCo FR3 that speaks the libfranka
network protocol) on a loopback address, for tests and rehearsals without hardware.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator, Optional

import numpy as np

from vlgsim.real2sim.robot import GripperCommand, JointCommand, RobotBase, RobotState

FRANKY_SIM_PORTS = (1337, 1338)
"""libfranka's robot and gripper command ports (fixed by the protocol)."""
GRIPPER_SPEED_M_S = 0.05
ARM_SETTLE_TIMEOUT_S = 10.0
"""Longest wait for the arm to arrive before a gripper command (s)."""
GRASP_EPSILON_M = 0.08
"""Width tolerance of a grasp: closing on an object of any width counts as a grasp."""


def _franky():
    try:
        import franky
    except ImportError as e:  # pragma: no cover - franky-control is a dependency
        raise ImportError(f"franky-control is not importable ({e}); rule: pip install franky-control==2.0.0") from e
    return franky


class FrankaRobot(RobotBase):
    """A Franka at ``host`` (the FCI address; ``127.0.0.1`` for franky-sim).

    ``relative_dynamics_factor`` scales Franka's velocity/acceleration/jerk limits for every
    motion (franky); ``realtime=False`` lets libfranka run without a realtime kernel
    (franky-sim, rehearsals); set it on hardware with a PREEMPT_RT kernel."""

    paced = False  # command() paces the stream itself, on the robot's clock (see command())

    def __init__(self, host: str, relative_dynamics_factor: float = 0.6, realtime: bool = False, model: str = "fr3"):
        self.host, self.model = host, model
        self.name = f"franka-{model}@{host}"
        prefix = "fr3" if model == "fr3" else "panda"
        self.joint_names = tuple(f"{prefix}_joint{i}" for i in range(1, 8))
        self.relative_dynamics_factor = float(relative_dynamics_factor)
        self.realtime = realtime
        self._robot = None
        self._gripper = None
        self._lock = threading.RLock()
        self._due_s = 0.0  # robot time (s) when the last streamed target is due
        self._last_target: Optional[np.ndarray] = None

    def connect(self) -> None:
        if self._robot is not None:  # already connected (libfranka allows one client per robot)
            return
        franky = _franky()
        rt = franky.RealtimeConfig.Enforce if self.realtime else franky.RealtimeConfig.Ignore
        self._robot = franky.Robot(self.host, realtime_config=rt)
        self._robot.relative_dynamics_factor = self.relative_dynamics_factor
        self._robot.recover_from_errors()
        self._v_max = 0.9 * self.relative_dynamics_factor * np.asarray(self._robot.joint_velocity_limit.get()).reshape(7)
        self._gripper = franky.Gripper(self.host)

    def _need(self):
        if self._robot is None:
            raise RuntimeError(f"{self.name} is not connected; rule: connect() (or use it as a context manager) first")
        return self._robot

    def observe(self) -> RobotState:
        robot = self._need()
        js = robot.current_joint_state
        ee = robot.current_cartesian_state.pose.end_effector_pose
        x, y, z, w = np.asarray(ee.quaternion, dtype=np.float64).reshape(4)
        return RobotState(np.asarray(js.position, dtype=np.float64).copy(), np.asarray(js.velocity, dtype=np.float64).copy(),
                          np.r_[np.asarray(ee.translation, dtype=np.float64).reshape(3), w, x, y, z],
                          float(self._gripper.width) if self._gripper is not None else None, time.monotonic(),
                          self.joint_names)

    def robot_time_s(self) -> float:
        """The robot's own clock (libfranka state time), seconds."""
        return self._need().state.time.to_sec()

    def command(self, cmd) -> None:
        """Joint targets are streamed on the robot's clock: a target is sent once the previous
        one is due (its ``duration_s`` of robot time after it was sent), then the call returns
        while the arm moves. On hardware the robot's clock is wall time; a simulator that runs
        slower than real time (franky-sim on a busy machine) slows the stream with it instead
        of falling behind it. A gripper command first lets the arm arrive, then blocks."""
        franky = _franky()
        robot = self._need()
        with self._lock:
            if isinstance(cmd, JointCommand):
                while self.robot_time_s() < self._due_s - 5e-4:
                    time.sleep(5e-4)
                if robot.has_errors:
                    robot.recover_from_errors()
                q = np.asarray(cmd.positions, dtype=np.float64)
                streaming = self._last_target is not None and self.robot_time_s() < self._due_s + cmd.duration_s
                v = (q - self._last_target) / cmd.duration_s if streaming else np.zeros(7)
                v = np.clip(v, -self._v_max, self._v_max)  # Ruckig rejects target velocities beyond its limits
                # no minimum_time: with it, Ruckig's time synchronisation fails now and then (error -111, seen
                # on franky-sim); the robot-clock pacing above and the stream velocity set the timing instead
                wp = franky.JointWaypoint(franky.JointState(q, v) if np.any(v) else q)
                robot.move(franky.JointWaypointMotion([wp]), asynchronous=True)
                self._due_s = self.robot_time_s() + float(cmd.duration_s)
                self._last_target = q.copy()
            elif isinstance(cmd, GripperCommand):
                robot.join_motion(ARM_SETTLE_TIMEOUT_S)
                if cmd.grasp:
                    self._gripper.grasp(float(cmd.width_m), GRIPPER_SPEED_M_S, float(cmd.force_n),
                                        epsilon_inner=GRASP_EPSILON_M, epsilon_outer=GRASP_EPSILON_M)
                else:
                    self._gripper.move(float(cmd.width_m), GRIPPER_SPEED_M_S)
            else:
                raise TypeError(f"{self.name} takes JointCommand or GripperCommand (Cartesian targets are turned into "
                                f"joint targets by the safety layer), got {type(cmd).__name__}")

    def wait(self, timeout_s: Optional[float] = None) -> bool:
        """Block until the running arm motion has finished; True if it did."""
        return bool(self._need().join_motion(timeout_s))

    def stop(self) -> None:
        if self._robot is None:
            return
        with self._lock:
            self._last_target = None
            try:
                self._robot.stop()
            finally:
                with contextlib.suppress(Exception):  # a preempted motion leaves a control exception behind
                    self._robot.join_motion(0.5)
                if self._robot.has_errors:
                    self._robot.recover_from_errors()

    def close(self) -> None:
        self._robot = None
        self._gripper = None


# ---------------------------------------------------------------------- franky-sim
def _ports_free(host: str) -> bool:
    for port in FRANKY_SIM_PORTS:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((host, port))
            except OSError:
                return False
    return True


def free_loopback_host() -> str:
    """127.0.0.1 if libfranka's ports are free there, else the next free 127.0.0.x."""
    for last in range(1, 255):
        host = f"127.0.0.{last}"
        if _ports_free(host):
            return host
    raise RuntimeError("no loopback address 127.0.0.1-254 has ports 1337/1338 free")


class FrankySimError(RuntimeError):
    """franky-sim did not start; ``missing_library`` names a missing system library if that was why."""

    def __init__(self, message: str, missing_library: str = ""):
        super().__init__(message)
        self.missing_library = missing_library


@contextlib.contextmanager
def franky_sim_server(host: Optional[str] = None, timeout_s: float = 60.0, log_path: Optional[Path] = None) -> Iterator[str]:
    """Run ``franky-sim -s mujoco`` (headless) on a loopback ``host`` and yield the host.
    Waits until it listens; kills its whole process group on exit."""
    host = host or free_loopback_host()
    exe = Path(sys.executable).with_name("franky-sim")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-c", "import franky_sim; franky_sim.run_server_main()"]
    cmd += ["-s", "mujoco", "--hostname", host]
    env = dict(os.environ, PYTHONUNBUFFERED="1", MUJOCO_GL=os.environ.get("MUJOCO_GL", "egl"))
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            start_new_session=True)
    lines: list[str] = []
    ready = threading.Event()

    def pump():
        for line in proc.stdout:
            lines.append(line)
            if log_path is not None:
                with open(log_path, "a") as f:
                    f.write(line)
            if "Connect to the server" in line:
                ready.set()

    threading.Thread(target=pump, daemon=True).start()
    try:
        t_end = time.monotonic() + timeout_s
        while not ready.wait(0.1):
            if proc.poll() is not None or time.monotonic() > t_end:
                out = "".join(lines)[-2000:]
                missing = ""
                for ln in out.splitlines():
                    if "cannot open shared object file" in ln or "No such file or directory" in ln and ".so" in ln:
                        missing = ln.strip()
                raise FrankySimError(f"franky-sim did not start on {host} (exit {proc.poll()}):\n{out}", missing)
        yield host
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
