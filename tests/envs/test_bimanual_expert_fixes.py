"""The motion-planned bimanual expert's fixes of issue 19, on real SAPIEN physics and a real
mplib planner (its side venv): HandoverRotate and MoveCanPot reach their goal on ALOHA,
seeded plans repeat, and a turning move that would turn the gripper against the instructed
sense is refused."""

import gymnasium as gym
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

import vlgsim  # noqa: F401
from vlgsim.policies import make_policy
from vlgsim.sim.arm_planner import box_surface_points
from vlgsim.sim_eval.rollout import run_episode

pytestmark = pytest.mark.sim


@pytest.mark.parametrize("env_id,seed", [("Bimanual-HandoverRotate-v0", 1), ("Bimanual-MoveCanPot-v0", 3)])
def test_fixed_tasks_reach_the_goal_on_aloha(mplib_venv, env_id, seed):
    # before the fix: HandoverRotate 0/20 (score 50, the taker could not reach the turned bar),
    # MoveCanPot seed 3 a fallen can (placed 0.6 m from the arm's base with a tilted gripper)
    env = gym.make(env_id, split="hard", control_mode="pd_joint_pos", embodiment="aloha")
    r, _ = run_episode(env, make_policy("bimanual_expert", env), 0, seed)
    m = r.extra["metrics"]
    assert r.success, (env_id, r.error, m)
    assert m["score_0_100"] == 100 and m["violation"] == 0 and m["factor_compliant"] == 1
    assert env.unwrapped.trial_score().measured == env.unwrapped.scene_spec.variant
    env.close()


@pytest.fixture(scope="module")
def arm(mplib_venv):
    env = gym.make("Bimanual-PickColor-v0", control_mode="pd_joint_pos", embodiment="aloha")
    env.reset(seed=0)
    be = env.unwrapped.backend
    tcp = be.tcp_poses()[0].astype(np.float64)
    yield be.arm_planners()["left"], be.qpos()[0].astype(np.float64), tcp, be.obstacle_points(())
    env.close()


def test_seeded_plans_repeat(arm):
    pl, q, tcp, table = arm
    # a wall between the gripper and the goal: RRT-Connect, whose samples the seed decides
    wall = box_surface_points([0.05, 0.12, 0.12], np.eye(3), [0.04, 0.02, 0.08])
    obstacles = np.concatenate([table, wall])
    R = Rotation.from_quat([*tcp[4:7], tcp[3]]).as_matrix()
    runs = []
    for _ in range(2):
        assert pl.worker.seed(7)  # OMPL's seed generator found in mplib's libompl
        runs.append([pl.plan(q, np.array([0.1, -0.05 + 0.01 * i, 0.1]), R, obstacles, start_pos_world=tcp[:3])
                     for i in range(3)])
    for a, b in zip(*runs):
        assert a.method == b.method == "rrt"
        np.testing.assert_array_equal(a.positions, b.positions)


def test_turn_against_the_instructed_sense_is_refused(arm):
    pl, q, tcp, _ = arm
    R0 = Rotation.from_quat([*tcp[4:7], tcp[3]])
    goal = (Rotation.from_euler("z", np.pi / 2) * R0).as_matrix()  # a quarter turn counter-clockwise
    n0 = pl.stats["rejected"]
    ok = pl.plan(q, tcp[:3], goal, np.zeros((0, 3)), start_pos_world=tcp[:3], turn_deg=90.0)
    assert ok.method != "failed" and len(ok.positions) > 1 and pl.stats["rejected"] == n0
    # the same goal, instructed as a clockwise turn: every path turns the other way, none is taken
    bad = pl.plan(q, tcp[:3], goal, np.zeros((0, 3)), start_pos_world=tcp[:3], turn_deg=-90.0)
    assert bad.method == "failed" and len(bad.positions) == 0 and pl.stats["rejected"] > n0
