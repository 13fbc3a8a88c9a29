"""Shadow Dexterous Hand joint names: the hand model's 22 joints <-> the Shadow ROS driver's 24.

The model (:mod:`vlgsim.assets.shadow_hand`, the OpenAI MJCF of ``gymnasium-robotics``)
numbers each finger's joints from 0 at the tip: ``FFJ3`` abduction, ``FFJ2`` knuckle (MCP)
flexion, ``FFJ1`` middle (PIP), ``FFJ0`` distal (DIP). Shadow's convention (``sr_common``,
``sr_description/hand/xacro``, the names the ROS driver publishes on ``/joint_states`` and
takes on ``/rh_trajectory_controller/command``) numbers from 1 at the tip, so every model
index is one lower than Shadow's, and the little finger's metacarpal (cup) joint and the
thumb's base rotation are J5. The rh_ prefix is the right hand.

Signs come from comparing joint axes in matching link frames (sr_common noetic-devel
``efa7d38``, right hand ``reflect = 1``). Finger knuckles sit in the palm frame in both
models; the MJCF gives every J3 the axis +y, sr_description gives FFJ4/MFJ4 ``0 -1 0`` and
RFJ4/LFJ4 ``0 1 0``, so FF and MF abduction flip sign. The thumb base frame of the URDF
(``rpy = (-pi/4, 0, -pi/2)``) is the MJCF's (``axisangle 0 1 0 0.785``) turned so that URDF
x = -MJCF y and URDF y = MJCF x: THJ5 (both ``0 0 -1``), THJ4 and THJ3 (URDF +y, MJCF +x)
keep their sign, THJ2 and THJ1 (URDF +x, MJCF +y) flip it, which also turns the MJCF's
distal range [-90, 0] deg into Shadow's flexion range [0, 90] deg.

Mapping (q_ros = sign * q_model)::

    model (MJCF)    ROS              sign           what it moves
    FFJ0            rh_FFJ1          +1             index distal (DIP), coupled to rh_FFJ2
    FFJ1            rh_FFJ2          +1             index middle (PIP)
    FFJ2            rh_FFJ3          +1             index knuckle flexion (MCP)
    FFJ3            rh_FFJ4          -1             index abduction
    MFJ0..MFJ3      rh_MFJ1..rh_MFJ4 +1 +1 +1 -1    middle finger, as the index
    RFJ0..RFJ3      rh_RFJ1..rh_RFJ4 +1 +1 +1 +1    ring finger (abduction axis +y in both)
    LFJ0..LFJ3      rh_LFJ1..rh_LFJ4 +1 +1 +1 +1    little finger, as the ring finger
    LFJ4            rh_LFJ5          +1             little finger metacarpal (palm cup)
    THJ0            rh_THJ1          -1             thumb distal flexion
    THJ1            rh_THJ2          -1             thumb middle flexion
    THJ2            rh_THJ3          +1             thumb hub
    THJ3            rh_THJ4          +1             thumb proximal (abduction towards the palm)
    THJ4            rh_THJ5          +1             thumb base rotation
    -               rh_WRJ1          -              wrist flexion: not in the model (0 rad)
    -               rh_WRJ2          -              wrist deviation: not in the model (0 rad)

The wrist joints are not among the model's 22: a grasp's palm pose is a free 6-DoF pose,
realised on hardware by the arm the hand is mounted on (a UR10e in the seed papers) with the
wrist held at WRJ1 = WRJ2 = 0 rad (``WRIST_NEUTRAL``). Coupled distal joints: on the real
hand J1 and J2 of each finger share one tendon (one motor drives their sum J0 = J1 + J2);
the MJCF models this with a fixed tendon (``T_FFJ1c``: 0.00705 q_FFJ0 - 0.00805 q_FFJ1 within
+-0.001, i.e. rh_FFJ1 ~= 1.14 rh_FFJ2, see ``HandModel.couplings``). Commands carry J1 and
J2 separately, as the trajectory controller expects.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vlgsim.assets.shadow_hand import JOINT_NAMES, N_JOINTS

ROS_PREFIX = "rh_"
ROS_JOINT_NAMES = tuple(
    f"{ROS_PREFIX}{f}J{i}" for f, n in (("FF", 4), ("MF", 4), ("RF", 4), ("LF", 5), ("TH", 5), ("WR", 2))
    for i in range(1, n + 1)
)
"""The 24 joints of the right Shadow Hand in the driver's order: rh_FFJ1..4, MFJ1..4, RFJ1..4,
LFJ1..5, THJ1..5, WRJ1..2."""
N_ROS_JOINTS = len(ROS_JOINT_NAMES)
WRIST_JOINTS = (f"{ROS_PREFIX}WRJ1", f"{ROS_PREFIX}WRJ2")
WRIST_NEUTRAL = (0.0, 0.0)
"""rh_WRJ1, rh_WRJ2 (rad) whenever a model joint vector is sent to the hand."""
_FLIPPED = {"FFJ3", "MFJ3", "THJ0", "THJ1"}


def _ros_name(model_name: str) -> str:
    return f"{ROS_PREFIX}{model_name[:3]}{int(model_name[3:]) + 1}"


MODEL_TO_ROS: tuple[tuple[str, str, float], ...] = tuple(
    (m, _ros_name(m), -1.0 if m in _FLIPPED else 1.0) for m in JOINT_NAMES)
"""(model joint, ROS joint, sign): q_ros = sign * q_model for each of the 22 model joints."""
ROS_INDEX = np.array([ROS_JOINT_NAMES.index(r) for _, r, _ in MODEL_TO_ROS])
"""(22,) position in ROS_JOINT_NAMES of each model joint (JOINT_NAMES order)."""
SIGN = np.array([s for _, _, s in MODEL_TO_ROS])


def _finite_vector(q, n: int, name: str) -> np.ndarray:
    try:
        a = np.asarray(q, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{name} {q!r} is not numeric; rule: {n} joint angles in rad") from e
    if a.shape != (n,):
        raise ValueError(f"{name} has shape {a.shape}; rule: {n} joint angles in rad")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} {np.round(a, 4).tolist()} has NaN/inf; rule: finite joint angles")
    return a


def model_to_ros(q_model, wrist=WRIST_NEUTRAL) -> np.ndarray:
    """22 model joint angles (JOINT_NAMES order, rad) -> 24 ROS joint angles (ROS_JOINT_NAMES
    order, rad), the wrist set to ``wrist`` (rh_WRJ1, rh_WRJ2)."""
    q = _finite_vector(q_model, N_JOINTS, "model joint vector")
    out = np.zeros(N_ROS_JOINTS)
    out[ROS_INDEX] = SIGN * q
    out[-2:] = _finite_vector(wrist, 2, "wrist (rh_WRJ1, rh_WRJ2)")
    return out


def ros_to_model(q_ros) -> np.ndarray:
    """24 ROS joint angles (ROS_JOINT_NAMES order) -> 22 model joint angles; the wrist values
    are dropped (see :func:`ros_wrist`)."""
    q = _finite_vector(q_ros, N_ROS_JOINTS, "ROS joint vector")
    return SIGN * q[ROS_INDEX]


def ros_wrist(q_ros) -> np.ndarray:
    """(rh_WRJ1, rh_WRJ2) of a 24-D ROS joint vector."""
    return _finite_vector(q_ros, N_ROS_JOINTS, "ROS joint vector")[-2:]


def ros_vector(positions: dict[str, float]) -> np.ndarray:
    """A {ROS joint name: rad} mapping (as ``/joint_states`` gives it) -> 24-D ROS order vector.
    Every one of the 24 names must be present; unknown names are an error."""
    unknown = sorted(set(positions) - set(ROS_JOINT_NAMES))
    missing = [n for n in ROS_JOINT_NAMES if n not in positions]
    if unknown or missing:
        raise ValueError(f"joint names: unknown {unknown}, missing {missing}; rule: exactly the 24 Shadow "
                         f"ROS joints {ROS_JOINT_NAMES[0]}..{ROS_JOINT_NAMES[-1]}")
    return _finite_vector([positions[n] for n in ROS_JOINT_NAMES], N_ROS_JOINTS, "ROS joint vector")


# sr_common noetic-devel efa7d38, sr_description/hand/xacro/**/*.urdf.xacro <limit .../> (deg):
# knuckle J4 -20..20, proximal J3 -15..90, middle J2 0..90, distal J1 0..90, all 2.0 rad/s;
# lfmetacarpal LFJ5 0..45, 2.0 rad/s; thbase THJ5 -60..60 4.0 rad/s; thproximal THJ4 0..70
# 4.0 rad/s; thhub THJ3 -12..12 4.0 rad/s; thmiddle THJ2 -40..40 2.0 rad/s; thdistal THJ1
# -15..90 4.0 rad/s; wrist WRJ2 -30..10 2.0 rad/s; palm WRJ1 -40..28 2.0 rad/s. These match
# Shadow's published ranges (Shadow Dexterous Hand technical specification, joint table).
_D = np.pi / 180
_SHADOW_RANGE_DEG = {"J4": (-20, 20), "J3": (-15, 90), "J2": (0, 90), "J1": (0, 90), "LFJ5": (0, 45),
                     "THJ5": (-60, 60), "THJ4": (0, 70), "THJ3": (-12, 12), "THJ2": (-40, 40), "THJ1": (-15, 90),
                     "WRJ1": (-40, 28), "WRJ2": (-30, 10)}
_SHADOW_VEL = {"THJ5": 4.0, "THJ4": 4.0, "THJ3": 4.0, "THJ1": 4.0}
"""rad/s where the URDF is not 2.0."""


@dataclass(frozen=True)
class JointLimits:
    """Position (rad) and velocity (rad/s) limits per joint, in the order of ``names``."""

    names: tuple[str, ...]
    lower: np.ndarray
    upper: np.ndarray
    max_velocity: np.ndarray
    source: str


def _shadow_key(ros: str) -> str:
    short = ros.removeprefix(ROS_PREFIX)
    return short if short in _SHADOW_RANGE_DEG else short[2:]


def shadow_joint_limits() -> JointLimits:
    """Limits of the 24 ROS joints (ROS_JOINT_NAMES order): the intersection of Shadow's
    published ranges (sr_description URDF) and the model's MJCF ranges mapped through
    :data:`MODEL_TO_ROS` (the stand-in cannot leave those; e.g. rh_FFJ3 is [0, 90] deg, not
    [-15, 90], and rh_THJ2 [-30, 30]), velocity caps from the URDF. The wrist keeps Shadow's
    ranges; the stand-in holds it at 0."""
    from vlgsim.assets.shadow_hand import load_shadow_hand

    hand = load_shadow_hand()
    lo = np.array([_SHADOW_RANGE_DEG[_shadow_key(n)][0] * _D for n in ROS_JOINT_NAMES])
    hi = np.array([_SHADOW_RANGE_DEG[_shadow_key(n)][1] * _D for n in ROS_JOINT_NAMES])
    m_lo = np.where(SIGN > 0, hand.lower, -hand.upper)
    m_hi = np.where(SIGN > 0, hand.upper, -hand.lower)
    lo[ROS_INDEX] = np.maximum(lo[ROS_INDEX], m_lo)
    hi[ROS_INDEX] = np.minimum(hi[ROS_INDEX], m_hi)
    vel = np.array([_SHADOW_VEL.get(_shadow_key(n), 2.0) for n in ROS_JOINT_NAMES])
    return JointLimits(names=ROS_JOINT_NAMES, lower=lo, upper=hi, max_velocity=vel,
                       source="sr_common noetic-devel efa7d38 sr_description URDF limits (ranges, velocities) "
                              "intersected with the gymnasium-robotics Shadow Hand MJCF ranges")
