"""The real Shadow Hand through its ROS driver: ``trajectory_msgs/JointTrajectory`` on
``/rh_trajectory_controller/command`` (rclpy), joint states from ``/joint_states``.

Messages are first built as plain :class:`JointTrajectoryPlan` values (joint names, positions
in rad, ``time_from_start`` in s), testable without ROS; only :func:`to_joint_trajectory_msg`
and :class:`ShadowRosHand` import ROS, and without it they raise an error that names what is
missing. Joint order and names: :data:`~vlgsim.real2sim.shadow_joints.ROS_JOINT_NAMES`.
Commands reaching this driver have passed the safety layer (dry-run by default there).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from vlgsim.real2sim.robot import CartesianCommand, Command, JointCommand, RobotBase, RobotState
from vlgsim.real2sim.shadow_joints import N_ROS_JOINTS, ROS_JOINT_NAMES, ros_vector

COMMAND_TOPIC = "/rh_trajectory_controller/command"
JOINT_STATE_TOPIC = "/joint_states"


@dataclass(frozen=True)
class TrajectoryPoint:
    positions: tuple[float, ...]  # rad, in the plan's joint_names order
    time_from_start_s: float

    @property
    def sec_nanosec(self) -> tuple[int, int]:
        """``builtin_interfaces/Duration`` fields of ``time_from_start``."""
        ns = int(round(self.time_from_start_s * 1e9))
        return ns // 1_000_000_000, ns % 1_000_000_000


@dataclass(frozen=True)
class JointTrajectoryPlan:
    """What one ``JointTrajectory`` message carries, without ROS types."""

    joint_names: tuple[str, ...]
    points: tuple[TrajectoryPoint, ...]


def joint_trajectory_plan(targets, durations_s) -> JointTrajectoryPlan:
    """Waypoints (K, 24) in ROS joint order reached at the cumulative sums of ``durations_s``
    (K,) seconds: one point per waypoint. Raises ValueError naming the value and the rule."""
    q = np.asarray(targets, dtype=np.float64)
    if q.ndim == 1:
        q = q[None]
    d = np.atleast_1d(np.asarray(durations_s, dtype=np.float64))
    if q.ndim != 2 or q.shape[1] != N_ROS_JOINTS or len(d) != len(q):
        raise ValueError(f"targets {q.shape} and durations {d.shape}; rule: (K, {N_ROS_JOINTS}) waypoints in "
                         f"ROS joint order and K durations")
    if not (np.all(np.isfinite(q)) and np.all(np.isfinite(d))):
        raise ValueError("targets/durations contain NaN/inf; rule: finite values")
    if np.any(d <= 0):
        raise ValueError(f"durations {d.tolist()}; rule: each > 0 s")
    t = np.cumsum(d)
    return JointTrajectoryPlan(ROS_JOINT_NAMES, tuple(TrajectoryPoint(tuple(map(float, p)), float(s))
                                                      for p, s in zip(q, t)))


def _ros_import_error(what: str, e: Exception) -> RuntimeError:
    return RuntimeError(
        f"the Shadow Hand ROS driver needs {what} ({type(e).__name__}: {e}); rule: run inside a sourced ROS 2 "
        f"environment (e.g. `source /opt/ros/humble/setup.bash`) with rclpy and trajectory_msgs "
        f"(ros-<distro>-trajectory-msgs) installed, and the Shadow driver publishing {JOINT_STATE_TOPIC}")


def to_joint_trajectory_msg(plan: JointTrajectoryPlan):
    """The ``trajectory_msgs/msg/JointTrajectory`` of a plan (needs ROS 2 message packages)."""
    try:
        from builtin_interfaces.msg import Duration
        from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint
    except ImportError as e:
        raise _ros_import_error("trajectory_msgs and builtin_interfaces", e) from e
    msg = JointTrajectory()
    msg.joint_names = list(plan.joint_names)
    for p in plan.points:
        sec, nanosec = p.sec_nanosec
        msg.points.append(JointTrajectoryPoint(positions=list(p.positions),
                                               time_from_start=Duration(sec=sec, nanosec=nanosec)))
    return msg


class ShadowRosHand(RobotBase):
    """A real right Shadow Hand behind the Robot protocol. ``command(JointCommand)`` takes 24
    positions in ROS joint order and publishes a one-point trajectory reached in
    ``duration_s``; ``stop()`` publishes an empty trajectory, which makes the
    joint_trajectory_controller drop its goal and hold the current position."""

    name = "shadow"
    joint_names = ROS_JOINT_NAMES

    def __init__(self, node_name: str = "vlgsim_shadow_hand", topic: str = COMMAND_TOPIC):
        self.node_name, self.topic = node_name, topic
        self._node = self._pub = None
        self._latest: dict[str, tuple[float, float]] = {}
        self._stamp = 0.0

    def connect(self) -> None:
        try:
            import rclpy
            from sensor_msgs.msg import JointState
            from trajectory_msgs.msg import JointTrajectory
        except ImportError as e:
            raise _ros_import_error("rclpy, sensor_msgs and trajectory_msgs", e) from e
        if not rclpy.ok():
            rclpy.init()
        self._rclpy = rclpy
        self._node = rclpy.create_node(self.node_name)
        self._pub = self._node.create_publisher(JointTrajectory, self.topic, 10)
        self._node.create_subscription(JointState, JOINT_STATE_TOPIC, self._on_joint_state, 10)

    def _on_joint_state(self, msg) -> None:
        vel = list(msg.velocity) or [0.0] * len(msg.name)
        for n, p, v in zip(msg.name, msg.position, vel):
            self._latest[n] = (float(p), float(v))
        self._stamp = time.monotonic()

    def observe(self) -> RobotState:
        if self._node is None:
            raise RuntimeError("ShadowRosHand.observe() before connect()")
        self._rclpy.spin_once(self._node, timeout_sec=0.1)
        if not all(n in self._latest for n in ROS_JOINT_NAMES):
            missing = [n for n in ROS_JOINT_NAMES if n not in self._latest]
            raise RuntimeError(f"no {JOINT_STATE_TOPIC} for {missing}; rule: the Shadow driver must be running")
        q = ros_vector({n: self._latest[n][0] for n in ROS_JOINT_NAMES})
        dq = np.array([self._latest[n][1] for n in ROS_JOINT_NAMES])
        return RobotState(q, dq, timestamp_s=self._stamp, joint_names=ROS_JOINT_NAMES)

    def command(self, cmd: Command) -> None:
        if not isinstance(cmd, JointCommand):
            raise TypeError(f"{type(cmd).__name__}; rule: the Shadow Hand takes JointCommand (24 ROS joints); "
                            f"{CartesianCommand.__name__} goes to the arm it is mounted on")
        if self._pub is None:
            raise RuntimeError("ShadowRosHand.command() before connect()")
        self._pub.publish(to_joint_trajectory_msg(joint_trajectory_plan(cmd.positions, [cmd.duration_s])))

    def stop(self) -> None:
        if self._pub is not None:
            self._pub.publish(to_joint_trajectory_msg(JointTrajectoryPlan(ROS_JOINT_NAMES, ())))

    def close(self) -> None:
        if self._node is not None:
            self._node.destroy_node()
            self._node = self._pub = None
