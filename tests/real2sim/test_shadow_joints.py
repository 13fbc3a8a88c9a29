"""Shadow Hand joint names (model <-> ROS), limits, and the ROS trajectory messages built
without ROS."""

import importlib.util

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vlgsim.assets.shadow_hand import JOINT_NAMES, load_shadow_hand
from vlgsim.real2sim import JointCommand
from vlgsim.real2sim.shadow_joints import (
    MODEL_TO_ROS,
    ROS_JOINT_NAMES,
    model_to_ros,
    ros_to_model,
    ros_vector,
    ros_wrist,
    shadow_joint_limits,
)
from vlgsim.real2sim.shadow_ros import (
    COMMAND_TOPIC,
    JointTrajectoryPlan,
    ShadowRosHand,
    joint_trajectory_plan,
    to_joint_trajectory_msg,
)

HAND = load_shadow_hand()
HAVE_ROS = importlib.util.find_spec("rclpy") is not None
D = np.pi / 180


def test_ros_names_are_the_drivers_24_in_order():
    expect = ([f"rh_FFJ{i}" for i in range(1, 5)] + [f"rh_MFJ{i}" for i in range(1, 5)]
              + [f"rh_RFJ{i}" for i in range(1, 5)] + [f"rh_LFJ{i}" for i in range(1, 6)]
              + [f"rh_THJ{i}" for i in range(1, 6)] + ["rh_WRJ1", "rh_WRJ2"])
    assert list(ROS_JOINT_NAMES) == expect
    mapped = [r for _, r, _ in MODEL_TO_ROS]
    assert len(set(mapped)) == 22 and set(ROS_JOINT_NAMES) - set(mapped) == {"rh_WRJ1", "rh_WRJ2"}


def test_numbering_and_signs():
    table = {m: (r, s) for m, r, s in MODEL_TO_ROS}
    assert table["FFJ0"] == ("rh_FFJ1", 1.0)  # distal
    assert table["FFJ3"] == ("rh_FFJ4", -1.0)  # abduction, opposite axis in sr_description
    assert table["RFJ3"] == ("rh_RFJ4", 1.0)
    assert table["LFJ4"] == ("rh_LFJ5", 1.0)  # metacarpal
    assert table["THJ4"] == ("rh_THJ5", 1.0)  # thumb base rotation
    assert table["THJ0"] == ("rh_THJ1", -1.0)
    assert table["THJ1"] == ("rh_THJ2", -1.0)


# Shadow's published ranges (sr_common sr_description URDF, right hand), degrees
SHADOW_DEG = {"J4": (-20, 20), "J3": (-15, 90), "J2": (0, 90), "J1": (0, 90), "LFJ5": (0, 45), "THJ5": (-60, 60),
              "THJ4": (0, 70), "THJ3": (-12, 12), "THJ2": (-40, 40), "THJ1": (-15, 90)}


def test_every_mapped_mjcf_range_lies_inside_shadows_range():
    """A wrong index or sign would put a MJCF range outside the real joint's range (e.g. the
    MJCF's thumb distal [-90, 0] deg unflipped against Shadow's [-15, 90])."""
    for k, (m, r, s) in enumerate(MODEL_TO_ROS):
        j = JOINT_NAMES.index(m)
        lo, hi = sorted((s * HAND.lower[j], s * HAND.upper[j]))
        short = r.removeprefix("rh_")
        a, b = SHADOW_DEG.get(short, SHADOW_DEG.get(short[2:]))
        assert a * D - 1e-3 <= lo and hi <= b * D + 1e-3, (m, r, s, lo, hi)


def test_coupled_distal_pairs_are_rosJ1_and_J2():
    for j_distal, j_middle, ratio, _ in HAND.couplings:
        d, m = MODEL_TO_ROS[j_distal][1], MODEL_TO_ROS[j_middle][1]
        assert d[:5] == m[:5] and d.endswith("J1") and m.endswith("J2")
        assert ratio == pytest.approx(0.00805 / 0.00705)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-1.0, 1.0), min_size=22, max_size=22), st.tuples(st.floats(-0.5, 0.2), st.floats(-0.5, 0.1)))
def test_round_trip(fractions, wrist):
    q = HAND.lower + (np.array(fractions) + 1) / 2 * (HAND.upper - HAND.lower)
    r = model_to_ros(q, wrist)
    assert np.array_equal(ros_to_model(r), q)
    assert np.array_equal(ros_wrist(r), np.array(wrist))
    assert np.array_equal(model_to_ros(ros_to_model(r), ros_wrist(r)), r)
    named = ros_vector(dict(zip(ROS_JOINT_NAMES, r)))
    assert np.array_equal(named, r)
    assert r[ROS_JOINT_NAMES.index("rh_THJ1")] == -q[JOINT_NAMES.index("THJ0")]


@pytest.mark.parametrize("bad, match", [
    (np.full(22, np.nan), "NaN/inf; rule: finite"),
    (np.zeros(21), "shape \\(21,\\); rule: 22 joint angles"),
    (["a"] * 22, "not numeric"),
    (np.zeros((2, 22)), "rule: 22 joint angles"),
])
def test_bad_model_vectors(bad, match):
    with pytest.raises(ValueError, match=match):
        model_to_ros(bad)


def test_bad_named_vectors():
    q = dict(zip(ROS_JOINT_NAMES, np.zeros(24)))
    with pytest.raises(ValueError, match="missing \\['rh_WRJ2'\\]"):
        ros_vector({k: v for k, v in q.items() if k != "rh_WRJ2"})
    with pytest.raises(ValueError, match="unknown \\['rh_FFJ0'\\]"):
        ros_vector(q | {"rh_FFJ0": 0.0})
    with pytest.raises(ValueError, match="NaN"):
        ros_vector(q | {"rh_THJ5": float("inf")})
    with pytest.raises(ValueError, match="wrist"):
        model_to_ros(np.zeros(22), wrist=(np.nan, 0.0))


def test_limits_for_the_safety_layer():
    lim = shadow_joint_limits()
    assert lim.names == ROS_JOINT_NAMES and "sr_common" in lim.source
    assert np.all(lim.lower < lim.upper)
    i = ROS_JOINT_NAMES.index
    assert lim.lower[i("rh_WRJ1")] == pytest.approx(-40 * D) and lim.upper[i("rh_WRJ2")] == pytest.approx(10 * D)
    assert lim.lower[i("rh_FFJ3")] == pytest.approx(0.0)  # MJCF [0, 90] inside Shadow's [-15, 90]
    assert lim.upper[i("rh_THJ2")] == pytest.approx(0.524)  # MJCF +-30 deg inside Shadow's +-40
    assert lim.max_velocity[i("rh_THJ5")] == 4.0 and lim.max_velocity[i("rh_FFJ1")] == 2.0
    # every model joint range maps inside the limits
    lo, hi = np.sort(np.stack([model_to_ros(HAND.lower), model_to_ros(HAND.upper)]), axis=0)
    assert np.all(lo >= lim.lower - 1e-3) and np.all(hi <= lim.upper + 1e-3)


def test_trajectory_plan_without_ros():
    q = np.stack([model_to_ros(HAND.lower), model_to_ros((HAND.lower + HAND.upper) / 2)])
    plan = joint_trajectory_plan(q, [0.25, 1.5])
    assert plan.joint_names == ROS_JOINT_NAMES
    assert [p.time_from_start_s for p in plan.points] == [0.25, 1.75]
    assert plan.points[1].sec_nanosec == (1, 750_000_000)
    assert np.allclose(plan.points[1].positions, q[1])
    for bad, match in (((q, [0.1]), "K durations"), ((q, [0.1, 0.0]), "each > 0 s"),
                       ((q[:, :22], [0.1, 0.1]), "24\\) waypoints"), ((q * np.nan, [1, 1]), "NaN")):
        with pytest.raises(ValueError, match=match):
            joint_trajectory_plan(*bad)


@pytest.mark.skipif(HAVE_ROS, reason="ROS 2 is installed here: the message path is exercised instead")
def test_without_ros_the_adapter_names_what_is_missing():
    plan = JointTrajectoryPlan(ROS_JOINT_NAMES, ())
    with pytest.raises(RuntimeError, match="trajectory_msgs"):
        to_joint_trajectory_msg(plan)
    hand = ShadowRosHand()
    with pytest.raises(RuntimeError, match="rclpy.*source /opt/ros"):
        hand.connect()
    with pytest.raises(RuntimeError, match="before connect"):
        hand.command(JointCommand(np.zeros(24), 0.5))
    assert COMMAND_TOPIC == "/rh_trajectory_controller/command"


@pytest.mark.skipif(not HAVE_ROS, reason="needs ROS 2 (rclpy, trajectory_msgs)")
def test_ros_message_fields():  # pragma: no cover - runs where ROS 2 exists
    plan = joint_trajectory_plan(np.zeros((1, 24)), [1.25])
    msg = to_joint_trajectory_msg(plan)
    assert list(msg.joint_names) == list(ROS_JOINT_NAMES)
    assert (msg.points[0].time_from_start.sec, msg.points[0].time_from_start.nanosec) == (1, 250_000_000)


@settings(max_examples=500, deadline=None)
@given(st.one_of(
    st.lists(st.floats(allow_nan=True, allow_infinity=True) | st.just(1e30), min_size=0, max_size=26),
    st.lists(st.text(max_size=3) | st.none(), min_size=22, max_size=24)))
def test_fuzzed_joint_vectors_map_or_raise_a_named_rule(values):
    for fn, n in ((model_to_ros, 22), (ros_to_model, 24)):
        try:
            out = fn(values)
        except ValueError as e:
            assert "rule:" in str(e)
        else:
            assert len(values) == n and np.all(np.isfinite(out))


def test_docstring_table_matches_the_map():
    import vlgsim.real2sim.shadow_joints as sj

    rows = [r for r in map(str.split, sj.__doc__.splitlines()) if len(r) > 2 and r[1].startswith("rh_")]
    single = {r[0]: (r[1], float(r[2])) for r in rows if ".." not in r[0] and r[0] != "-"}
    table = {m: (r, s) for m, r, s in MODEL_TO_ROS}
    assert len(single) == 10 and all(table[m] == v for m, v in single.items())
    for r in rows:
        if ".." in r[0]:
            f = r[0][:2]
            assert [table[f"{f}J{k}"][1] for k in range(4)] == [float(x) for x in r[2:6]]
