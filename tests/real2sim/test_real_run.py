"""Real-run logic on the replay camera: hostile policy answers are recorded as invalid actions
and nothing moves; the oracle's plan reaches the robot inside every limit; a rejected command
ends the episode with a safety stop. The robot is a RecordingRobot (ideal tracking), enough for
the planning and safety logic (the franky-sim and SAPIEN runs are in test_franky_sim.py)."""

from __future__ import annotations

import numpy as np
import pytest

from vlgsim.policies.oracle import OraclePolicy
from vlgsim.real2sim.cameras import ReplayCamera
from vlgsim.real2sim.limits.franka import franka_limits
from vlgsim.real2sim.recording_robot import RecordingRobot
from vlgsim.real2sim.robot import GripperCommand, JointCommand
from vlgsim.real2sim.run import OBSERVE_Q, PlannedStep, RealRunConfig, StepRecorder, execute_plan, run_episode
from vlgsim.real2sim.safety import SafeRobot

from test_safety_properties import check_stream

pytestmark = pytest.mark.sim
Q_FRANKY = np.array([0.0, 0.0, 0.0, -1.57, 0.0, 1.57, 0.785])  # franky-sim's start pose


class FixedPolicy:
    name = "fixed"

    def __init__(self, answer):
        self.answer = answer

    def reset(self, instruction, info):
        pass

    def act(self, observation):
        return self.answer


def _episode(replay_dir, policy, execute=True):
    limits = franka_limits("fr3")
    robot = RecordingRobot(limits.joint_names, Q_FRANKY, 0.04)
    cfg = RealRunConfig(execute=execute, outcome="failure")
    with SafeRobot(robot, limits, execute=execute, watchdog=False) as safe:
        rec = run_episode(safe, robot, ReplayCamera(replay_dir), policy, "test", 0, cfg, recorder := StepRecorder())
    return rec, robot, recorder


@pytest.mark.parametrize("answer", [[np.nan] * 4, [1e30, 5, 0, 30], "grasp the red mug", [1, 2, 3], None,
                                    [[1, 2], [3]]])
def test_hostile_policy_answers_move_nothing(replay_dir, answer):
    rec, robot, recorder = _episode(replay_dir, FixedPolicy(answer))
    assert rec.failure_mode == "invalid_action" and rec.outcome == "failure" and "rule" in rec.error
    assert [c for _, c in robot.received if not isinstance(c, str)] == []
    assert len(recorder) == 0


def test_oracle_plan_reaches_the_robot_inside_every_limit(replay_dir):
    rec, robot, recorder = _episode(replay_dir, OraclePolicy())
    assert rec.failure_mode == "none" and rec.outcome == "failure" and rec.outcome_source == "flag"
    assert rec.rejections == 0 and rec.clamps == 0  # the nominal plan needs no clamping
    check_stream(robot, franka_limits("fr3"), Q_FRANKY)
    grips = [c for _, c in robot.received if isinstance(c, GripperCommand)]
    assert [g.grasp for g in grips] == [False, True, False]
    assert np.allclose(recorder.sent_q[len(recorder.sent_q) // 2 - 1].shape, (7,))
    # the TCP reached the planned grasp: the lowest sent TCP height is the grasp's
    from vlgsim.real2sim.franka_kinematics import fk

    z = min(fk(q)[2, 3] for q in recorder.sent_q)
    assert abs(z - rec.grasp_base[2]) < 1e-3
    assert len(recorder) == sum(not isinstance(c, str) for _, c in robot.received)  # one row per command


def test_dry_run_episode_sends_nothing(replay_dir):
    rec, robot, recorder = _episode(replay_dir, OraclePolicy(), execute=False)
    assert rec.outcome == "not_executed" and rec.outcome_source == "dry_run"
    assert [c for _, c in robot.received if not isinstance(c, str)] == [] and len(recorder) > 100  # only stops


def test_rejected_command_ends_the_episode_with_a_safety_stop(replay_dir):
    limits = franka_limits("fr3")
    robot = RecordingRobot(limits.joint_names, OBSERVE_Q, 0.04)
    plan = [PlannedStep("a", JointCommand(OBSERVE_Q, 0.1)), PlannedStep("b", JointCommand(np.r_[OBSERVE_Q[:6], np.inf], 0.1)),
            PlannedStep("c", JointCommand(OBSERVE_Q, 0.1))]
    with SafeRobot(robot, limits, execute=True, watchdog=False) as safe:
        mode, err = execute_plan(safe, plan, ReplayCamera(replay_dir), recorder := StepRecorder(), paced=False)
    assert mode == "safety_stop" and "NaN or inf" in err
    assert [c if isinstance(c, str) else "cmd" for _, c in robot.received] == ["cmd", "stop", "stop"]
    assert len(recorder) == 2 and recorder.rows["safety"][1][1] == 1
