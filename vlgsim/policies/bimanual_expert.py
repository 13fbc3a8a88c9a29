"""Scripted closed-loop expert for the ``Bimanual-*`` tasks (privileged), on both embodiments.

At reset it takes the task's expert plan (:class:`~vlgsim.scenes.bimanual.TaskPlan`) for
the instructed variant, or for the variant named in ``bimanual_expert:VARIANT`` (to
demonstrate the other variant, or to check that the scorer flags a violation). Each plan
step is compiled into TCP waypoints from the poses measured when the step starts. How an
arm gets to its current waypoint depends on the env's control mode:

- ``pd_joint_pos`` (motion-planned): ``mplib`` plans a collision-free joint trajectory to
  each waypoint around the table and the other bodies (:mod:`vlgsim.sim.arm_planner`:
  straight screw motion first, RRT-Connect around obstacles otherwise) and the arm follows
  it one control step per sample; ALOHA demos use this mode (14-D joint actions). The planner
  is seeded with the episode seed at reset (an episode's plans repeat), and a waypoint that
  turns the held object (``rotate``, a turning ``give``) refuses paths that turn the gripper
  against the instructed sense (the instructed factor) and replans.
- ``pd_ee_delta_pose``: each arm servoes its TCP towards the waypoint (the controller's IK
  does the joints).

Side grasps are real side grasps: the gripper level, pointing at the body along a face
normal (the face whose approach the arm reaches most comfortably). Phases switch on measured state, not on time; a pick whose object is
not in the gripper after the lift is retried (up to twice); a step of one arm can wait
for a labelled step of the other (hand-overs, taking turns over a shared tray).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
from scipy.spatial.transform import Rotation

from vlgsim.policies.base import register_policy
from vlgsim.scenes.bimanual import ARM_BASE_YAW, ARMS, PlanStep, arm_base_xy

POS_UNIT_M = 0.1
ROT_UNIT_RAD = 0.1
CARRY_Z_M = 0.18
"""Carry height above the table."""
DOWN = Rotation.from_euler("x", np.pi)
SIDE_DEPTH_M = 0.005
"""A side grasp stops with the TCP this far short of the body's centre."""
SIDE_WRIST_M = {"aloha": (0.21, 0.33), "panda": (0.20, 0.40)}
"""Per embodiment: how far the wrist sits behind a level TCP, and the wrist's most comfortable
horizontal distance from the arm's base (m): a side grasp picks its heading by them."""
DOWN_REACH_M = 0.40
"""ALOHA: beyond this horizontal distance from its base (m) a ViperX cannot hold the gripper
pointing straight down at carry height; a place there tilts the gripper outwards."""
MAX_TILT_RAD = 0.9
WRIST_MID_YAW_RAD = {"aloha": 0.0, "panda": np.pi / 4}
"""Per embodiment: the gripper's yaw (about world z, pointing down) with the last arm joint at
mid-range, relative to its home yaw. ViperX: wrist_rotate 0 at home, range +-pi; Panda: joint 7
is pi/4 at home, range +-2.90, and the yaw falls as it rises. A pick that precedes a turn centres
its wrist there, pre-turned by half the turn the other way."""
TILT_STEPS = 3
"""A tilt (pouring) is planned as this many equal turns, and so is the way back."""
TILT_SPEED_RAD = 0.05
"""Turning speed of a tilt (rad per control step, 1 rad/s at 20 Hz): a faster turn flings the ball
past the bowl."""
GAIN = 2.0
"""pd_ee_delta_pose re-targets from the measured pose each step and its PD covers about
40-50 % of a commanded delta within one 20 Hz step: commanding twice the remaining error
reaches a waypoint in few steps without overshoot."""


@dataclass
class Waypoint:
    pos: np.ndarray
    rot: Rotation
    grip: float
    tol_m: float = 0.012
    speed_m: float = 0.03
    ticks: int = 0
    """Hold here this many steps once reached (gripper closing/opening)."""
    max_ticks: int = 60
    rot_tol: float = 0.08
    turn_speed_rad: float = 0.0
    """If > 0: the gripper turns no faster than this (rad per control step; motion-planned mode)."""
    turn_deg: float = 0.0
    """The turn about world z (degrees, + counter-clockwise from above) this waypoint stands for:
    the motion planner refuses a path that turns the gripper the other way (a factor violation)."""


def _yaw_of(R: Rotation) -> float:
    """Yaw of a TCP orientation about world z (heading of its x-axis)."""
    x = R.as_matrix()[:, 0]
    return float(np.arctan2(x[1], x[0]))


def _down(yaw: float) -> Rotation:
    return Rotation.from_euler("z", yaw) * DOWN


def _level(psi: float, x_up: bool = False) -> Rotation:
    """Gripper horizontal, pointing along heading ``psi`` (TCP z), closing horizontally (TCP y),
    TCP x down (or up)."""
    z = np.array([np.cos(psi), np.sin(psi), 0.0])
    x = np.array([0.0, 0.0, 1.0 if x_up else -1.0])
    return Rotation.from_matrix(np.stack([x, np.cross(z, x), z], axis=1))


def _closest(cands: list[Rotation], cur: Rotation) -> Rotation:
    return min(cands, key=lambda r: (r * cur.inv()).magnitude())


def _body_rot(pose) -> Rotation:
    w, x, y, z = pose[3:7]
    return Rotation.from_quat([x, y, z, w])


class ArmRunner:
    """The waypoint queue of one arm and the plan steps still to compile."""

    def __init__(self, arm: str, steps: list[PlanStep], home_pos: np.ndarray, home_rot: Rotation):
        self.arm, self.steps = arm, list(steps)
        self.home_pos, self.home_rot = home_pos, home_rot
        self.queue: list[Waypoint] = []
        self.current: Optional[PlanStep] = None
        self.finished: set[str] = set()
        self.grip = 1.0
        self.tick = 0
        self.retries = 0
        self.hold_pos, self.hold_rot = home_pos, home_rot
        self.traj: Optional[np.ndarray] = None
        self.traj_i = 0
        self.planned_for: Optional[Waypoint] = None
        self.hold_q: Optional[np.ndarray] = None


class BimanualExpert:
    name = "bimanual_expert"

    def __init__(self, env, variant: Optional[str] = None):
        self.env, self.variant = env, variant

    # ------------------------------------------------------------------ protocol
    def reset(self, instruction: str, info: dict) -> None:
        task = self.env.unwrapped
        if not hasattr(task, "expert_plan_for"):
            raise ValueError(f"bimanual_expert needs a Bimanual-* env, got {type(task).__name__}")
        if task.control_mode not in ("pd_ee_delta_pose", "pd_joint_pos"):
            raise ValueError(f"bimanual_expert acts in pd_ee_delta_pose or pd_joint_pos; env control_mode="
                             f"{task.control_mode!r}")
        if self.variant and self.variant not in task.variants + task.extra_variants:
            raise ValueError(f"bimanual_expert:{self.variant}; rule: one of {task.variants + task.extra_variants}")
        self.task = task
        self.embodiment = getattr(task, "embodiment", "panda")
        self.plan = task.expert_plan_for(self.variant)
        tcp = task.backend.tcp_poses()
        self.runners = {a: ArmRunner(a, [s for s in self.plan.steps if s.arm == a], tcp[i][:3].astype(np.float64),
                                     _body_rot(tcp[i])) for i, a in enumerate(ARMS)}
        self.joint_mode = task.control_mode == "pd_joint_pos"
        if self.joint_mode:
            self.planners = task.backend.arm_planners()
            self.n_arm = self.planners["left"].n_arm
            # the episode's plans repeat when the episode does (RRT-Connect's and the IK's sampling)
            self.planners["left"].worker.seed(task.episode_seed)
            q = task.backend.qpos().astype(np.float64)
            for i, a in enumerate(ARMS):
                self.runners[a].hold_q = q[i, : self.n_arm].copy()

    def act(self, observation: dict) -> np.ndarray:
        be = self.task.backend
        tcp = be.tcp_poses()
        out = []
        if self.joint_mode:
            q = be.qpos().astype(np.float64)
            for i, a in enumerate(ARMS):
                out.append(self._arm_joint_action(self.runners[a], tcp[i].astype(np.float64), q[i]))
            return np.concatenate(out).astype(np.float32)
        for i, a in enumerate(ARMS):
            out.append(self._arm_action(self.runners[a], tcp[i].astype(np.float64)))
        return np.concatenate(out).astype(np.float32)

    # ------------------------------------------------------------------ per arm
    def _other(self, r: ArmRunner) -> ArmRunner:
        return self.runners["right" if r.arm == "left" else "left"]

    def _next_waypoint(self, r: ArmRunner, cur_pos, cur_rot) -> Optional[Waypoint]:
        while not r.queue:
            if r.current is not None:
                if self._needs_retry(r):
                    r.retries += 1
                    r.queue = self._compile(r, r.current, cur_pos, cur_rot, retry=True)
                    continue
                if r.current.label:
                    r.finished.add(r.current.label)
                r.current = None
            if not r.steps:
                return None
            s = r.steps[0]
            if s.wait_for and s.wait_for not in self._other(r).finished:
                return None
            r.current = r.steps.pop(0)
            r.retries = 0
            r.queue = self._compile(r, r.current, cur_pos, cur_rot)
        return r.queue[0]

    def _needs_retry(self, r: ArmRunner) -> bool:
        s = r.current
        if s.skill not in ("pick", "take") or r.retries >= 2:
            return False
        return not self.task.backend.is_grasping(r.arm, s.obj)

    def _arm_action(self, r: ArmRunner, tcp) -> np.ndarray:
        cur_pos, cur_rot = tcp[:3], _body_rot(tcp)
        wp = self._next_waypoint(r, cur_pos, cur_rot)
        if wp is None:  # idle: hold where the last waypoint left the arm
            goal_pos, goal_rot, grip, speed = r.hold_pos, r.hold_rot, r.grip, 0.03
        else:
            goal_pos, goal_rot, grip, speed = wp.pos, wp.rot, wp.grip, wp.speed_m
            r.grip = grip
            err = np.linalg.norm(goal_pos - cur_pos)
            rot_err = (goal_rot * cur_rot.inv()).magnitude()
            r.tick += 1
            reached = err < wp.tol_m and rot_err < wp.rot_tol
            if reached or r.tick > wp.max_ticks:
                wp.ticks -= 1
                if wp.ticks < 0 or r.tick > wp.max_ticks + 20:
                    r.queue.pop(0)
                    r.tick = 0
                    r.hold_pos, r.hold_rot = wp.pos, wp.rot
        # translation: world -> this arm's base frame
        d = goal_pos - cur_pos
        n = np.linalg.norm(d)
        if n > speed:
            d = d * speed / n
        base = Rotation.from_euler("z", ARM_BASE_YAW[r.arm]).inv()
        d_base = GAIN * base.apply(d)
        rv = GAIN * base.apply((goal_rot * cur_rot.inv()).as_rotvec())
        rn = np.linalg.norm(rv)
        if rn > ROT_UNIT_RAD:
            rv = rv * ROT_UNIT_RAD / rn
        # ManiSkill 3.0.1's Panda scales rotation actions by rot_lower = -0.1: hence the minus sign
        return np.r_[np.clip(d_base / POS_UNIT_M, -1, 1), -rv / ROT_UNIT_RAD, grip]

    # ------------------------------------------------------------------ motion-planned (pd_joint_pos)
    def _arm_joint_action(self, r: ArmRunner, tcp, q_full) -> np.ndarray:
        """Joint targets of one arm + its gripper, following an mplib trajectory to the waypoint."""
        cur_pos, cur_rot = tcp[:3], _body_rot(tcp)
        wp = self._next_waypoint(r, cur_pos, cur_rot)
        if wp is None:
            target = r.hold_q
        else:
            r.grip = wp.grip
            if r.planned_for is not wp:
                r.traj, r.traj_i, r.planned_for = self._plan(r, wp, q_full, cur_pos), 0, wp
            target = r.traj[min(r.traj_i, len(r.traj) - 1)]
            r.traj_i += 1
            err = np.linalg.norm(wp.pos - cur_pos)
            rot_err = (wp.rot * cur_rot.inv()).magnitude()
            r.tick += 1
            done_path = r.traj_i >= len(r.traj)
            if (done_path and err < wp.tol_m and rot_err < wp.rot_tol) or r.tick > wp.max_ticks:
                wp.ticks -= 1
                if wp.ticks < 0 or r.tick > wp.max_ticks + 20:
                    r.queue.pop(0)
                    r.tick = 0
                    r.hold_pos, r.hold_rot, r.hold_q = wp.pos, wp.rot, r.traj[-1]
        g = r.grip if self.task.embodiment != "aloha" else 0.5 * (r.grip + 1.0)  # ALOHA: open fraction
        return np.r_[target, g]

    def _plan(self, r: ArmRunner, wp: Waypoint, q_full, cur_pos) -> np.ndarray:
        be = self.task.backend
        s = r.current
        exclude = {s.obj} if s is not None and s.obj else set()
        poses = be.body_poses(self.task.movable)
        for tcp in be.tcp_poses():  # bodies in (or at) either gripper move with it: not obstacles
            exclude |= {n for n, p in zip(self.task.movable, poses) if np.linalg.norm(p[:3] - tcp[:3]) < 0.08}
        res = self.planners[r.arm].plan(q_full, wp.pos, wp.rot.as_matrix(), be.obstacle_points(tuple(exclude)),
                                        start_pos_world=cur_pos, turn_deg=wp.turn_deg)
        traj = res.positions if len(res.positions) else q_full[None, : self.n_arm]
        n = int(np.ceil(np.linalg.norm(wp.pos - cur_pos) / wp.speed_m))
        if wp.turn_speed_rad > 0:  # no faster than the waypoint's turning speed either
            cur_rot = self.task.backend.tcp_poses()[ARMS.index(r.arm)]
            n = max(n, int(np.ceil((wp.rot * _body_rot(cur_rot).inv()).magnitude() / wp.turn_speed_rad)))
        if len(traj) > 1 and n > len(traj):  # no faster than the waypoint's speed (m per control step)
            t = np.linspace(0, len(traj) - 1, n)
            traj = np.stack([np.interp(t, np.arange(len(traj)), traj[:, j]) for j in range(traj.shape[1])], axis=1)
        return traj

    # ------------------------------------------------------------------ plan step -> waypoints
    def _compile(self, r: ArmRunner, s: PlanStep, cur_pos, cur_rot, retry: bool = False) -> list[Waypoint]:
        task = self.task
        table_z = task.scene_spec.table_z
        carry_z = table_z + CARRY_Z_M
        if s.skill == "retreat":
            return [Waypoint(np.r_[cur_pos[:2], max(cur_pos[2], carry_z)], cur_rot, r.grip, tol_m=0.03),
                    Waypoint(r.home_pos, r.home_rot, 1.0, tol_m=0.03)]
        if s.skill == "release":
            up = np.r_[cur_pos[:2], cur_pos[2] + 0.06]
            back = cur_pos + 0.08 * self._outward(r.arm)
            return [Waypoint(cur_pos, cur_rot, 1.0, ticks=5, tol_m=0.02),
                    Waypoint(np.r_[back[:2], up[2]], cur_rot, 1.0, tol_m=0.03),
                    Waypoint(r.home_pos, r.home_rot, 1.0, tol_m=0.03)]
        pose = task.backend.body_poses([s.obj])[0].astype(np.float64)
        body = task.scene_spec.body(s.obj)
        if s.skill in ("pick", "take"):
            grasp_pos, grasp_rot, pre = self._grasp(r, s, pose, body, cur_rot, table_z)
            wps = []
            if retry:  # open and back off upwards before trying again
                wps.append(Waypoint(np.r_[cur_pos[:2], cur_pos[2] + 0.05], cur_rot, 1.0, ticks=4, tol_m=0.03))
            if s.approach == "side":
                wps.append(Waypoint(np.r_[pre[:2], max(pre[2], carry_z)], grasp_rot, 1.0, tol_m=0.03))
            else:
                wps.append(Waypoint(np.r_[pre[:2], max(pre[2], cur_pos[2] if s.skill == "take" else pre[2])],
                                    grasp_rot, 1.0, tol_m=0.02))
            wps.append(Waypoint(pre, grasp_rot, 1.0, tol_m=0.01, rot_tol=0.05))
            wps.append(Waypoint(grasp_pos, grasp_rot, 1.0, tol_m=0.006, speed_m=0.015, rot_tol=0.06))
            wps.append(Waypoint(grasp_pos, grasp_rot, -1.0, ticks=6, tol_m=0.01, rot_tol=0.1))
            if s.skill == "pick":
                wps.append(Waypoint(grasp_pos + [0, 0, s.lift_m], grasp_rot, -1.0, tol_m=0.015, speed_m=0.02, rot_tol=0.12))
            return wps
        if s.skill in ("place", "give"):
            offset = cur_pos - pose[:3]  # TCP relative to the held object's centre
            tilt = self._reach_tilt(r.arm, np.asarray(s.place_xyz, np.float64))
            goal_rot = tilt * cur_rot
            goal_tcp = np.asarray(s.place_xyz, np.float64) + tilt.apply(offset)
            goal_tcp[2] += 0.025 * tilt.magnitude() / MAX_TILT_RAD  # a tilted block lets go a little higher
            wps = [Waypoint(np.r_[cur_pos[:2], max(cur_pos[2], carry_z)], cur_rot, -1.0, tol_m=0.03),
                   Waypoint(np.r_[goal_tcp[:2], max(goal_tcp[2], carry_z)], goal_rot, -1.0, tol_m=0.015)]
            cur_rot = goal_rot
            if s.skill == "give":
                if s.rotate_deg:  # turn the held object about +z at the hand-over point
                    turned = Rotation.from_euler("z", np.deg2rad(s.rotate_deg)) * cur_rot
                    wps += [Waypoint(goal_tcp, cur_rot, -1.0, tol_m=0.012, speed_m=0.02),
                            Waypoint(goal_tcp, turned, -1.0, tol_m=0.015, rot_tol=0.05, max_ticks=60,
                                     turn_deg=s.rotate_deg)]
                    return wps
                wps.append(Waypoint(goal_tcp, cur_rot, -1.0, tol_m=0.012, speed_m=0.02))
                return wps
            wps += [Waypoint(goal_tcp, cur_rot, -1.0, tol_m=0.008, speed_m=0.015, max_ticks=35),
                    Waypoint(goal_tcp, cur_rot, 1.0, ticks=5, tol_m=0.02),
                    Waypoint(goal_tcp + [0, 0, 0.10], cur_rot, 1.0, tol_m=0.03),
                    Waypoint(r.home_pos, r.home_rot, 1.0, tol_m=0.03)]
            return wps
        if s.skill == "rotate":
            turned = Rotation.from_euler("z", np.deg2rad(s.rotate_deg)) * cur_rot
            down = np.r_[cur_pos[:2], cur_pos[2] - s.lift_m + 0.004]
            return [Waypoint(cur_pos, turned, -1.0, tol_m=0.02, rot_tol=0.05, max_ticks=60, turn_deg=s.rotate_deg),
                    Waypoint(down, turned, -1.0, tol_m=0.008, speed_m=0.015, rot_tol=0.1),
                    Waypoint(down, turned, 1.0, ticks=5, tol_m=0.02, rot_tol=0.2),
                    Waypoint(down + [0, 0, 0.10], turned, 1.0, tol_m=0.03, rot_tol=0.2),
                    Waypoint(r.home_pos, r.home_rot, 1.0, tol_m=0.03)]
        if s.skill == "lift":
            return [Waypoint(cur_pos + [0, 0, s.lift_m], cur_rot, -1.0, tol_m=0.01, speed_m=0.012, rot_tol=0.15)]
        if s.skill == "slide":
            goal = np.r_[np.asarray(s.place_xyz[:2], np.float64) + (cur_pos[:2] - pose[:2]), cur_pos[2]]
            return [Waypoint(goal, cur_rot, -1.0, tol_m=0.008, speed_m=0.012, rot_tol=0.15),
                    Waypoint(goal, cur_rot, 1.0, ticks=5, tol_m=0.02, rot_tol=0.2),
                    Waypoint(goal + [0, 0, 0.08], cur_rot, 1.0, tol_m=0.03, rot_tol=0.2),
                    Waypoint(r.home_pos, r.home_rot, 1.0, tol_m=0.03)]
        if s.skill == "tilt":
            # about the horizontal axis across the table (world x): the object's top swings
            # towards +y for a positive angle
            # in TILT_STEPS screw motions there and back: a big turn in one plan can leave the straight
            # screw for an RRT path that swings the cup (and throws the ball) or hits a wrist limit
            fr = np.linspace(0.0, 1.0, TILT_STEPS + 1)[1:]
            tilts = [Rotation.from_euler("x", -np.deg2rad(s.tilt_deg) * f) * cur_rot for f in fr]
            # on the way (not where it pours or ends) a waypoint only needs to be passed roughly
            w = TILT_SPEED_RAD
            wps = [Waypoint(cur_pos, R, -1.0, tol_m=0.03, rot_tol=0.2, max_ticks=25, turn_speed_rad=w) for R in tilts[:-1]]
            wps.append(Waypoint(cur_pos, tilts[-1], -1.0, tol_m=0.02, rot_tol=0.06, max_ticks=40, ticks=10,
                                turn_speed_rad=w))
            wps += [Waypoint(cur_pos, R, -1.0, tol_m=0.03, rot_tol=0.2, max_ticks=25, turn_speed_rad=w)
                    for R in tilts[-2::-1]]
            wps.append(Waypoint(cur_pos, cur_rot, -1.0, tol_m=0.02, rot_tol=0.08, max_ticks=40, turn_speed_rad=w))
            return wps
        raise ValueError(f"plan step skill {s.skill!r}; rule: pick, take, place, give, rotate, release, retreat, "
                         "lift, slide, tilt")

    def _reach_tilt(self, arm: str, target: np.ndarray) -> Rotation:
        """ALOHA: the tilt that points the gripper outwards, away from its base, for a target
        farther than DOWN_REACH_M (identity on Panda and within reach)."""
        d = target[:2] - arm_base_xy(arm, self.embodiment)
        dist = float(np.linalg.norm(d))
        if self.embodiment != "aloha" or dist <= DOWN_REACH_M:
            return Rotation.identity()
        angle = min(MAX_TILT_RAD, 3.0 * (dist - DOWN_REACH_M))
        axis = np.cross([0.0, 0.0, -1.0], np.r_[d / dist, 0.0])
        return Rotation.from_rotvec(axis / np.linalg.norm(axis) * angle)

    @staticmethod
    def _outward(arm: str) -> np.ndarray:
        return np.array([0.0, 1.0 if arm == "left" else -1.0, 0.0])

    def _grasp(self, r: ArmRunner, s: PlanStep, pose, body, cur_rot: Rotation, table_z: float):
        """Grasp TCP position and orientation, and the pre-grasp position."""
        R_body = _body_rot(pose)
        hs = np.array(body.half_size)
        centre = pose[:3] + R_body.apply([s.grasp_offset_m, 0, 0])
        # the body's extents in the world: which of its axes is vertical now
        axes = R_body.as_matrix()
        vertical = int(np.argmax(np.abs(axes[2])))
        top_z = pose[2] + hs[vertical]
        horiz = [i for i in range(3) if i != vertical]
        if s.approach == "side":
            # a real side grasp: the gripper horizontal, pointing from the arm's side at the body along a
            # face normal, closing across the body; it comes in level at grasp height
            # of the four face normals, the heading whose pre-grasp wrist the arm reaches most comfortably
            base_xy = arm_base_xy(r.arm, self.embodiment)
            face = float(np.arctan2(axes[1, horiz[0]], axes[0, horiz[0]]))
            behind, comfy = SIDE_WRIST_M[self.embodiment]

            def discomfort(a):
                wrist = centre[:2] - (behind + 0.08) * np.array([np.cos(a), np.sin(a)])
                return abs(float(np.linalg.norm(wrist - base_xy)) - comfy)

            psi = min((face + k * np.pi / 2 for k in range(4)), key=discomfort)
            rot = _closest([_level(psi, up) for up in (False, True)], cur_rot)
            x_ax = np.array([np.cos(psi), np.sin(psi), 0.0])
            gz = max(top_z - 0.035, table_z + 0.03)
            grasp = np.r_[centre[:2] - SIDE_DEPTH_M * x_ax[:2], gz]
            return grasp, rot, grasp - 0.08 * x_ax
        # from above: close across the narrower horizontal side of the body
        narrow = min(horiz, key=lambda i: hs[i])
        ax = axes[:, narrow]
        yaw = float(np.arctan2(ax[1], ax[0])) - np.pi / 2  # TCP y-axis (closing) along the narrow axis
        step = np.pi / 2 if abs(hs[horiz[0]] - hs[horiz[1]]) < 1e-3 else np.pi
        cands = [_down(yaw + k * step) for k in range(-4, 5)]
        # a pick that precedes a turn starts half a turn the other way from the wrist's mid-range:
        # the wrist stays in range
        ref = cur_rot
        if s.rotate_deg:
            ref = Rotation.from_euler("z", WRIST_MID_YAW_RAD[self.embodiment] - np.deg2rad(s.rotate_deg) / 2) * cur_rot
        rot = _closest(cands, ref)
        depth = min(0.02, hs[vertical])
        gz = max(top_z - depth, table_z + 0.012)
        if s.skill == "take":
            gz = centre[2]
        grasp = np.r_[centre[:2], gz]
        return grasp, rot, grasp + [0, 0, 0.10]


@register_policy("bimanual_expert")
def _make_bimanual_expert(env, arg=None, seed=0):
    return BimanualExpert(env, variant=arg)
