"""Property tests of the safety layer: whatever a policy outputs (NaN, inf, 1e30, wrong
shapes, wrong types, plausible but too large steps), every command that reaches the robot is
inside every limit, or the robot was stopped. The robot is a RecordingRobot (ideal tracking),
which is enough for the pure safety logic; the limits are Franka FR3's real config.

Examples: 4000 joint streams + 2500 Cartesian streams + 2000 gripper streams + 2000 garbage
streams = 10,500 generated cases (each a stream of 1-6 commands)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vlgsim.real2sim.franka_kinematics import fk
from vlgsim.real2sim.limits.franka import franka_limits
from vlgsim.real2sim.recording_robot import RecordingRobot
from vlgsim.real2sim.robot import CartesianCommand, GripperCommand, JointCommand
from vlgsim.real2sim.safety import SafeRobot, SafetyLimits

LIMITS = franka_limits("fr3")
Q0 = np.array([0.0, -0.3, 0.0, -2.2, 0.0, 2.0, np.pi / 4])  # TCP at (0.48, 0, 0.41) m, pointing down
TOL = 1e-9
SETTINGS = dict(deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)

HOSTILE = st.sampled_from([np.nan, np.inf, -np.inf, 1e30, -1e30, 1e6, -1e6, 0.0, 1e-300, 5.0, -5.0])
finite = st.floats(-3.5, 3.5, allow_nan=False)
scalar = st.one_of(finite, HOSTILE, st.floats(allow_nan=True, allow_infinity=True))
garbage = st.one_of(st.none(), st.text(max_size=8), st.booleans(), st.dictionaries(st.text(max_size=3), finite, max_size=2),
                    st.lists(st.text(max_size=2), max_size=7), st.lists(st.lists(finite, max_size=3), max_size=3),
                    st.lists(scalar, min_size=0, max_size=9), st.builds(lambda n: np.zeros((n, 7)), st.integers(1, 3)))
duration = st.one_of(st.floats(0.001, 2.5), HOSTILE, st.just(0.0), st.just(-0.1), st.just("fast"), st.none())


def near_joint_target(draw):
    """A plausible or hostile joint vector: current pose plus noise, some entries replaced."""
    q = Q0 + np.array(draw(st.lists(st.floats(-1.2, 1.2), min_size=7, max_size=7)))
    if draw(st.booleans()):
        i = draw(st.integers(0, 6))
        q[i] = draw(HOSTILE)
    return q


@st.composite
def joint_commands(draw):
    kind = draw(st.sampled_from(["near", "near", "near", "garbage", "scaled"]))
    if kind == "near":
        pos = near_joint_target(draw)
    elif kind == "scaled":
        pos = Q0 * draw(st.sampled_from([0.0, -1.0, 3.0, 1e3, 1e30]))
    else:
        pos = draw(garbage)
    return JointCommand(positions=pos, duration_s=draw(duration))


@st.composite
def cartesian_commands(draw):
    T0 = fk(Q0)
    p = T0[:3, 3] + np.array(draw(st.lists(st.floats(-0.6, 0.6), min_size=3, max_size=3)))
    quat = np.array(draw(st.lists(st.floats(-1, 1), min_size=4, max_size=4)))
    if draw(st.booleans()):
        quat = np.array([0.0, 1.0, 0.0, 0.0]) + 0.2 * quat  # near pointing down, not normalised
    pose = np.r_[p, quat]
    kind = draw(st.sampled_from(["pose", "pose", "hostile", "garbage"]))
    if kind == "hostile":
        pose[draw(st.integers(0, 6))] = draw(HOSTILE)
    elif kind == "garbage":
        pose = draw(garbage)
    return CartesianCommand(pose=pose, duration_s=draw(duration))


@st.composite
def gripper_commands(draw):
    return GripperCommand(width_m=draw(st.one_of(st.floats(-0.1, 0.2), scalar, garbage)),
                          force_n=draw(st.one_of(st.floats(-10, 300), scalar, garbage)))


any_command = st.one_of(joint_commands(), cartesian_commands(), gripper_commands(), garbage,
                        st.builds(object), st.just(JointCommand))


def check_stream(robot: RecordingRobot, limits: SafetyLimits, q0: np.ndarray) -> None:
    """Independent checker: replays what reached the robot against every limit."""
    L = limits
    q_prev, v_prev = q0.copy(), np.zeros(7)
    for _, c in robot.received:
        if isinstance(c, str):
            assert c == "stop"
            v_prev = np.zeros(7)
            continue
        assert isinstance(c, (JointCommand, GripperCommand)), f"{type(c)} reached the robot"
        if isinstance(c, GripperCommand):
            assert 0.0 <= c.width_m <= L.gripper_width_max_m and 0.0 <= c.force_n <= L.gripper_force_max_n
            continue
        dt, q = c.duration_s, np.asarray(c.positions)
        assert L.command_duration_min_s <= dt <= L.command_duration_max_s
        assert q.shape == (7,) and np.all(np.isfinite(q))
        assert np.all(q >= L.safe_lower - TOL) and np.all(q <= L.safe_upper + TOL), q
        d = q - q_prev
        assert np.all(np.abs(d) <= np.minimum(L.joint_step_max_rad, L.joint_velocity_max * dt) + TOL), d
        v = d / dt
        assert np.all(np.abs(v) <= np.abs(v_prev) + L.joint_acceleration_max * dt + 1e-6), (v, v_prev)
        T, T_prev = fk(q), fk(q_prev)
        p = T[:3, 3]
        assert np.all(p >= L.workspace_lower_m - TOL) and np.all(p <= L.workspace_upper_m + TOL), p
        assert np.linalg.norm(p - T_prev[:3, 3]) <= min(L.ee_step_max_m, L.ee_velocity_max_m_s * dt) + 1e-9
        cos = np.clip((np.trace(T_prev[:3, :3].T @ T[:3, :3]) - 1) / 2, -1, 1)
        assert np.arccos(cos) <= min(L.ee_rotation_step_max_rad, L.ee_angular_velocity_max_rad_s * dt) + 1e-6
        q_prev, v_prev = q, v


def run_stream(commands) -> tuple[SafeRobot, RecordingRobot]:
    robot = RecordingRobot(LIMITS.joint_names, Q0, gripper_width_m=0.04)
    safe = SafeRobot(robot, LIMITS, execute=True, watchdog=False)
    safe.connect()
    for c in commands:
        res = safe.command(c)
        if res.rejected:
            assert robot.received[-1][1] == "stop", "a rejected command must stop the robot"
            assert res.events and res.events[-1].kind == "reject" and res.events[-1].message
        else:
            assert robot.received[-1][1] is res.sent
    safe.close()
    check_stream(robot, LIMITS, Q0)
    return safe, robot


@settings(max_examples=4000, **SETTINGS)
@given(st.lists(joint_commands(), min_size=1, max_size=4))
def test_joint_streams_stay_inside_every_limit(commands):
    run_stream(commands)


@settings(max_examples=2500, **SETTINGS)
@given(st.lists(cartesian_commands(), min_size=1, max_size=4))
def test_cartesian_streams_stay_inside_every_limit(commands):
    run_stream(commands)


@settings(max_examples=2000, **SETTINGS)
@given(st.lists(st.one_of(gripper_commands(), joint_commands()), min_size=1, max_size=6))
def test_gripper_streams_stay_inside_every_limit(commands):
    run_stream(commands)


@settings(max_examples=2000, **SETTINGS)
@given(st.lists(any_command, min_size=1, max_size=6))
def test_garbage_never_reaches_the_robot(commands):
    run_stream(commands)


# ---------------------------------------------------------------- targeted cases
def test_nan_is_rejected_logged_and_stops_the_robot():
    safe, robot = run_stream([JointCommand(Q0 + 0.01, 0.1), JointCommand(np.r_[Q0[:6], np.nan], 0.1)])
    ev = [e for e in safe.events if e.kind == "reject"]
    assert len(ev) == 1 and ev[0].rule == "finite" and "NaN" in ev[0].message
    assert [c for _, c in robot.received][-1] == "stop"
    assert sum(isinstance(c, JointCommand) for _, c in robot.received) == 1


def test_large_step_is_clamped_to_droid_caps_and_logged():
    target = Q0.copy()
    target[0] += 1.0
    safe, robot = run_stream([JointCommand(target, 1 / 15)])
    sent = robot.received[-1][1]
    assert abs(sent.positions[0] - Q0[0]) <= 0.2 + TOL
    rules = {e.rule for e in safe.events if e.kind == "clamp"}
    assert rules & {"joint_step", "joint_velocity", "joint_acceleration", "ee_step"}
    assert all(e.value is not None and e.limit is not None for e in safe.events)


def test_workspace_box_clamps_cartesian_targets():
    T0 = fk(Q0)
    pose = np.r_[T0[:3, 3] + [0.0, 0.0, -0.6], 0.0, 1.0, 0.0, 0.0]  # below the table
    safe, robot = SafeRobot, None
    robot = RecordingRobot(LIMITS.joint_names, Q0, 0.04)
    safe = SafeRobot(robot, LIMITS, execute=True, watchdog=False)
    for _ in range(20):  # keep pushing down: the TCP stops at the table plane
        safe.command(CartesianCommand(pose, 0.1))
    check_stream(robot, LIMITS, Q0)
    z = fk(robot.q)[2, 3]
    assert 0.0 <= z < 0.02
    assert any(e.rule == "workspace" for e in safe.events)


def test_dry_run_is_the_default():
    robot = RecordingRobot(LIMITS.joint_names, Q0, 0.04)
    safe = SafeRobot(robot, LIMITS, watchdog=False)
    res = safe.command(JointCommand(Q0 + 0.05, 0.2))
    res2 = safe.command(GripperCommand(0.02, 20.0))
    assert res.sent is not None and not res.executed and not res2.executed
    assert robot.received == []


def test_hand_limits_without_workspace_or_gripper():
    n = 24
    limits = SafetyLimits(robot="hand", joint_names=tuple(f"j{i}" for i in range(n)), joint_lower=-np.ones(n),
                          joint_upper=np.ones(n), joint_margin_rad=0.05, joint_velocity_max=2.0,
                          joint_acceleration_max=20.0, joint_step_max_rad=0.2, watchdog_timeout_s=0.2)
    robot = RecordingRobot(limits.joint_names, np.zeros(n))
    safe = SafeRobot(robot, limits, execute=True, watchdog=False)
    res = safe.command(JointCommand(np.full(n, 5.0), 0.5))
    assert np.allclose(res.sent.positions, 0.2)
    assert safe.command(GripperCommand(0.02)).rejected
    assert safe.command(CartesianCommand(np.r_[0.4, 0, 0.3, 1, 0, 0, 0], 0.1)).rejected
    with pytest.raises(ValueError, match="kinematics"):
        SafetyLimits(robot="x", joint_names=("a",), joint_lower=[-1], joint_upper=[1], joint_margin_rad=0.0,
                     joint_velocity_max=1, joint_acceleration_max=1, joint_step_max_rad=0.1, watchdog_timeout_s=0.1,
                     workspace_lower_m=[0, 0, 0], workspace_upper_m=[1, 1, 1])


def test_shadow_hand_limits_clamp_every_finger_joint():
    from vlgsim.real2sim.limits.shadow import shadow_limits

    limits = shadow_limits()  # the 22 finger joints of the hand model
    assert limits.n_joints == 22 and not limits.has_cartesian_limits and limits.gripper_width_max_m is None
    mid = (limits.safe_lower + limits.safe_upper) / 2
    robot = RecordingRobot(limits.joint_names, mid)
    safe = SafeRobot(robot, limits, execute=True, watchdog=False)
    for _ in range(30):  # push every joint far beyond its stop: the targets walk to the margin and stay
        res = safe.command(JointCommand(limits.joint_upper + 1.0, 0.1))
        assert np.all(res.sent.positions <= limits.safe_upper + TOL)
    assert np.allclose(robot.q, limits.safe_upper)
    assert {e.rule for e in safe.events} >= {"joint_limit", "joint_step"}


# ---------------------------------------------------------------- pose passthrough (a hand on an arm)
@pytest.fixture(scope="module")
def hand_limits():
    from vlgsim.real2sim.limits.shadow import shadow_hand_on_arm_limits

    return shadow_hand_on_arm_limits()


PALM0 = np.array([0.0, 0.0, 0.3, 1.0, 0.0, 0.0, 0.0])  # palm 0.3 m above the table top


@st.composite
def palm_commands(draw):
    p = PALM0[:3] + np.array(draw(st.lists(st.floats(-0.9, 0.9), min_size=3, max_size=3)))
    quat = np.array(draw(st.lists(st.floats(-1, 1), min_size=4, max_size=4)))
    if draw(st.booleans()):
        quat = quat / max(np.linalg.norm(quat), 1e-3)  # a unit quaternion (or a tiny one, rejected)
    pose = np.r_[p, quat]
    kind = draw(st.sampled_from(["pose", "pose", "pose", "hostile", "garbage"]))
    if kind == "hostile":
        pose[draw(st.integers(0, 6))] = draw(HOSTILE)
    elif kind == "garbage":
        pose = draw(garbage)
    return CartesianCommand(pose=pose, duration_s=draw(duration))


@st.composite
def hand_joint_commands(draw):
    q = np.array(draw(st.lists(st.floats(-2.0, 2.0), min_size=24, max_size=24)))
    if draw(st.booleans()):
        q[draw(st.integers(0, 23))] = draw(HOSTILE)
    return JointCommand(positions=q if draw(st.integers(0, 4)) else draw(garbage), duration_s=draw(duration))


def check_palm_stream(robot: RecordingRobot, L: SafetyLimits, q0: np.ndarray, pose0: np.ndarray) -> None:
    """Independent checker for pose passthrough: every pose that reached the robot is finite,
    unit, inside the palm box and within the translation/rotation caps of the one before."""
    q_prev, v_prev, pose_prev = q0.copy(), np.zeros(L.n_joints), pose0.copy()
    for _, c in robot.received:
        if isinstance(c, str):
            assert c == "stop"
            v_prev = np.zeros(L.n_joints)
            continue
        assert isinstance(c, (JointCommand, CartesianCommand)), f"{type(c)} reached the hand"
        dt = c.duration_s
        assert L.command_duration_min_s <= dt <= L.command_duration_max_s
        if isinstance(c, JointCommand):
            q = np.asarray(c.positions)
            assert q.shape == (24,) and np.all(q >= L.safe_lower - TOL) and np.all(q <= L.safe_upper + TOL), q
            d = q - q_prev
            assert np.all(np.abs(d) <= L.joint_step_cap_rad(dt) + TOL), d
            v = d / dt
            assert np.all(np.abs(v) <= np.abs(v_prev) + L.joint_acceleration_max * dt + 1e-6)
            q_prev, v_prev = q, v
            continue
        pose = np.asarray(c.pose)
        assert pose.shape == (7,) and np.all(np.isfinite(pose)) and abs(np.linalg.norm(pose[3:]) - 1) < 1e-9
        p = pose[:3]
        assert np.all(p >= L.workspace_lower_m - TOL) and np.all(p <= L.workspace_upper_m + TOL), p
        assert np.linalg.norm(p - pose_prev[:3]) <= L.ee_step_cap_m(dt) + 1e-9
        a = abs(np.dot(pose[3:], pose_prev[3:]) / np.linalg.norm(pose_prev[3:]))
        assert 2 * np.arccos(min(a, 1.0)) <= L.ee_rotation_cap_rad(dt) + 1e-6
        pose_prev = pose


def run_palm_stream(limits: SafetyLimits, commands) -> tuple[SafeRobot, RecordingRobot]:
    q0 = (limits.safe_lower + limits.safe_upper) / 2
    robot = RecordingRobot(limits.joint_names, q0, ee_pose=PALM0)
    safe = SafeRobot(robot, limits, execute=True, watchdog=False)
    safe.connect()
    for c in commands:
        res = safe.command(c)
        if res.rejected:
            assert robot.received[-1][1] == "stop", "a rejected command must stop the robot"
            assert res.events[-1].kind == "reject" and res.events[-1].message
        else:
            assert robot.received[-1][1] is res.sent
    safe.close()
    check_palm_stream(robot, limits, q0, PALM0)
    return safe, robot


@settings(max_examples=1500, **SETTINGS)
@given(st.lists(st.one_of(palm_commands(), palm_commands(), hand_joint_commands(), any_command), min_size=1, max_size=6))
def test_palm_passthrough_streams_stay_inside_the_palm_box_and_caps(hand_limits, commands):
    run_palm_stream(hand_limits, commands)


def test_palm_pushed_into_the_table_stops_at_the_table_top(hand_limits):
    pose = np.r_[0.2, 0.1, -0.5, 0.0, 1.0, 0.0, 0.0]  # below the table, turned by pi
    safe, robot = run_palm_stream(hand_limits, [CartesianCommand(pose, 0.1) for _ in range(40)])
    assert robot.ee_pose[2] == pytest.approx(0.0) and np.allclose(robot.ee_pose[:2], [0.2, 0.1])
    assert abs(robot.ee_pose[4]) == pytest.approx(1.0)  # the rotation got there in capped steps
    rules = [e.rule for e in safe.events if e.kind == "clamp"]
    assert {"workspace", "ee_step", "ee_rotation_step"} <= set(rules)
    assert all(e.value is not None and e.limit is not None and e.message for e in safe.events)


def test_pose_passthrough_needs_a_box_and_caps_and_a_measured_pose(hand_limits):
    from dataclasses import replace

    with pytest.raises(ValueError, match="pose_passthrough needs a palm workspace box"):
        replace(hand_limits, ee_step_max_m=None)
    with pytest.raises(ValueError, match="no kinematics"):
        replace(hand_limits, kinematics=object())
    robot = RecordingRobot(hand_limits.joint_names, (hand_limits.safe_lower + hand_limits.safe_upper) / 2)  # no ee_pose
    safe = SafeRobot(robot, hand_limits, execute=True, watchdog=False)
    res = safe.command(CartesianCommand(PALM0, 0.1))
    assert res.rejected and res.events[-1].rule == "no_pose" and robot.received[-1][1] == "stop"
    # joint-only limits (no passthrough) keep rejecting Cartesian commands
    joint_only = replace(hand_limits, pose_passthrough=False, workspace_lower_m=None, workspace_upper_m=None,
                         ee_step_max_m=None, ee_rotation_step_max_rad=None, ee_velocity_max_m_s=None,
                         ee_angular_velocity_max_rad_s=None)
    safe = SafeRobot(RecordingRobot(hand_limits.joint_names, robot.q, ee_pose=PALM0), joint_only, watchdog=False)
    assert safe.command(CartesianCommand(PALM0, 0.1)).events[-1].rule == "no_kinematics"
