"""ManiSkill3 / SAPIEN backend for the bimanual tasks: two arms facing each other across a
table (ALOHA layout), bodies from a :class:`~vlgsim.scenes.bimanual.BimanualScene`, cameras.

Embodiments (``embodiment=``): ``aloha`` (default): two ViperX 300 6-DoF arms built from
gym-aloha's compiled MJCF (:mod:`vlgsim.assets.viperx`, :mod:`vlgsim.sim.viperx_agent`),
bases 0.469 m either side of the table centre, cameras ``cam_high`` (the head camera of the
scene spec), ``cam_low`` (low, in front), ``cam_left_wrist``, ``cam_right_wrist`` (above and
behind each gripper, looking along the fingers, as gym-aloha's wrist cameras); ``panda``: two
ManiSkill Franka Pandas 0.55 m either side, a head camera and one wrist camera per arm.
ManiSkill 3.0.1's own MJCF loader stops on gym-aloha's file (an ``AssertionError`` in
SAPIEN's joint-type check), hence the URDF written from the compiled model.

Control: 20 Hz (sim 100 Hz), per arm ``pd_ee_delta_pose`` (6: xyz in the arm's base
frame, 0.1 m per unit; rotation, 0.1 rad per unit) + gripper (1: +1 open, -1 closed), or
``pd_joint_pos`` (joint targets in rad, 7 Panda / 6 ViperX, + gripper). Cameras exist only
when images are asked for (``cameras=True``), only those of ``camera_uids`` when given;
state-only runs use no renderer at all. Rendering (SAPIEN on the CPU, lavapipe) is
geometry-bound: each camera leaves out the robot links outside its frustum
(:meth:`BimanualBackendEnv._capture_culled`), and the ViperX visual meshes are decimated
(:data:`vlgsim.assets.viperx.VISUAL_CELL_M`).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import sapien
import torch
from mani_skill.envs.sapien_env import BaseEnv
from mani_skill.sensors.camera import CameraConfig
from mani_skill.utils import sapien_utils
from mani_skill.utils.structs.pose import Pose
from mani_skill.utils.structs.types import SimConfig
from transforms3d.euler import euler2quat

from vlgsim.scenes.bimanual import (
    ARM_BASE_YAW,
    ARMS,
    CASE_RAIL_M,
    CASE_WALL_M,
    EMBODIMENTS,
    POT_HANDLE_M,
    TABLE_HALF_XY,
    WALL_M,
    BimanualScene,
    BodySpec,
    arm_base_xy,
)
from vlgsim.sim.maniskill_env import CachedBRDFLUTMixin, LightClearMixin, builtin_pinocchio

HOME_QPOS = np.array([0.0, -0.8, 0.0, -2.7, 0.0, 1.9, np.pi / 4, 0.04, 0.04])
"""Panda: each arm tucked back above its own table edge: out of the other arm's way."""
ROBOT_UID = {"panda": "panda", "aloha": "viperx"}
N_ARM_JOINTS = {"panda": 7, "aloha": 6}
OBJECT_FRICTION = 1.2
TRAY_WALL_M = 0.008
SIM_FREQ, CONTROL_FREQ = 100, 20
CONTROL_MODES = ("pd_ee_delta_pose", "pd_joint_pos")
WRIST_MOUNT = sapien.Pose(p=[0.065, 0.0, 0.03], q=euler2quat(0, -np.pi / 2 - 0.3, 0))
"""Panda: beside the hand (its +x side), looking along the fingers, tilted 17 deg towards them."""
ALOHA_WRIST_EYE, ALOHA_WRIST_TARGET = (-0.1, 0.0, 0.16), (0.15, 0.0, 0.01)
"""gym-aloha's wrist camera: eye and look-at point in the ``gripper_link`` frame (m)."""
ALOHA_WRIST_FOV_RAD = 1.2
"""Wider than gym-aloha's 20 deg so the image shows the fingers and the object, as the real
ALOHA wrist cameras do."""
ALOHA_LOW_EYE, ALOHA_LOW_TARGET = (-0.50, 0.0, 0.20), (0.10, 0.0, 0.0)
"""``cam_low``: low in front of the table, looking across it (world frame, m)."""


def tray_parts(hs) -> list[tuple[list[float], list[float]]]:
    """(centre, half size) of a tray's floor and four walls in its own frame (m)."""
    t = TRAY_WALL_M
    parts = [([0, 0, t / 2], [hs[0], hs[1], t / 2])]
    for sx in (-1, 1):
        parts.append(([sx * (hs[0] - t / 2), 0, hs[2] / 2], [t / 2, hs[1], hs[2] / 2]))
    for sy in (-1, 1):
        parts.append(([0, sy * (hs[1] - t / 2), hs[2] / 2], [hs[0], t / 2, hs[2] / 2]))
    return parts


COMPOUND_DENSITY = 400
"""kg/m^3 of the compound bodies' parts (light containers and frames)."""


def _open_box(hs, floor_z: float, t: float = WALL_M) -> list:
    """Floor + 4 walls filling the bounding box ``hs`` whose bottom is at ``floor_z``."""
    zc = floor_z + hs[2]
    parts = [([0, 0, floor_z + t / 2], [hs[0], hs[1], t / 2])]
    for sx in (-1, 1):
        parts.append(([sx * (hs[0] - t / 2), 0, zc], [t / 2, hs[1], hs[2]]))
    for sy in (-1, 1):
        parts.append(([0, sy * (hs[1] - t / 2), zc], [hs[0] - t, t / 2, hs[2]]))
    return parts


def _bin(hs):
    return _open_box(hs, 0.0)


def _bowl(hs):
    return _open_box(hs, -hs[2])


def _pot(hs):
    body = (hs[0] - POT_HANDLE_M, hs[1], hs[2])
    parts = _open_box(body, -hs[2])
    for sx in (-1, 1):  # handles just below the rim, grasped from above across their width
        parts.append(([sx * (hs[0] - POT_HANDLE_M / 2), 0, hs[2] - 0.02], [POT_HANDLE_M / 2, 0.014, 0.012]))
    return parts


def _ring(hs, t: float = 0.012):
    return [([sx * (hs[0] - t / 2), 0, 0], [t / 2, hs[1], hs[2]]) for sx in (-1, 1)] + \
           [([0, sy * (hs[1] - t / 2), 0], [hs[0] - t, t / 2, hs[2]]) for sy in (-1, 1)]


def _peg(hs):
    foot = 0.006
    return [([0, 0, -hs[2] + foot / 2], [hs[0], hs[1], foot / 2]),
            ([0, 0, foot / 2], [0.012, 0.012, hs[2] - foot / 2])]


def _shelf(hs, t: float = 0.012):
    return [([0, 0, hs[2] - t / 2], [hs[0], hs[1], t / 2])] + \
           [([sx * (hs[0] - t / 2), 0, -t / 2], [t / 2, hs[1], hs[2] - t / 2]) for sx in (-1, 1)]


def _case(hs, rail: float = CASE_RAIL_M[0], rail_w: float = CASE_RAIL_M[1]):
    box = (hs[0], hs[1], hs[2] - rail / 2)
    parts = _open_box(box, -hs[2], CASE_WALL_M)
    for sx in (-1, 1):  # rails along y on the outer edge of the x walls; the lid rests on the walls' inner part
        parts.append(([sx * (hs[0] - rail_w / 2), 0, hs[2] - rail / 2], [rail_w / 2, hs[1], rail / 2]))
    return parts


def _lid(hs, plate: float = 0.010, knob: float = 0.013):
    return [([0, 0, -hs[2] + plate / 2], [hs[0], hs[1], plate / 2]),
            ([0, 0, plate / 2], [knob, knob, hs[2] - plate / 2])]


COMPOUND_PARTS = {"bin": _bin, "bowl": _bowl, "pot": _pot, "ring": _ring, "peg": _peg, "shelf": _shelf, "case": _case,
                  "lid": _lid}
"""(offset, half size) boxes of each compound kind, in the body's frame (see COMPOUND_KINDS)."""


def _material():
    return sapien.pysapien.physx.PhysxMaterial(static_friction=OBJECT_FRICTION, dynamic_friction=OBJECT_FRICTION,
                                               restitution=0.0)


class BimanualBackendEnv(CachedBRDFLUTMixin, LightClearMixin, BaseEnv):
    """One sub-scene of the bimanual table; the task env (``vlgsim.envs.bimanual``) owns it."""

    SUPPORTED_ROBOTS = [("panda", "panda"), ("viperx", "viperx")]

    def __init__(self, scene_fn: Callable[[int], BimanualScene], cameras: bool = False, image_size=(128, 128),
                 control_mode: str = "pd_ee_delta_pose", embodiment: str = "aloha", camera_uids=None, **kwargs):
        if control_mode not in CONTROL_MODES:
            raise ValueError(f"control_mode {control_mode!r}; rule: one of {CONTROL_MODES}")
        if embodiment not in EMBODIMENTS:
            raise ValueError(f"embodiment {embodiment!r}; rule: one of {EMBODIMENTS}")
        if embodiment == "aloha":
            import vlgsim.sim.viperx_agent  # noqa: F401  (registers the ViperX agent)
        self.embodiment = embodiment
        self.home_qpos = HOME_QPOS if embodiment == "panda" else _viperx_home()
        self.scene_fn, self.cameras, self.image_size = scene_fn, cameras, tuple(image_size)
        self.camera_uids = None if camera_uids is None else tuple(camera_uids)
        """Cameras built (by uid, see :attr:`_default_sensor_configs`); None: all of the embodiment's."""
        self.spec: BimanualScene | None = None
        self.bodies: dict = {}
        kwargs.setdefault("reconfiguration_freq", 1)
        kwargs.setdefault("render_backend", "cpu" if cameras else "none")
        uid = ROBOT_UID[embodiment]
        super().__init__(robot_uids=(uid, uid), obs_mode="state", reward_mode="none",
                         control_mode=control_mode, sim_backend="cpu", **kwargs)

    @property
    def _default_sim_config(self):
        return SimConfig(sim_freq=SIM_FREQ, control_freq=CONTROL_FREQ)

    # ------------------------------------------------------------------ arms
    @property
    def arms(self) -> dict:
        return {"left": self.agent.agents[0], "right": self.agent.agents[1]}

    def _load_agent(self, options: dict):
        with builtin_pinocchio():  # the same IK solver whether or not the `pin` package is installed
            super()._load_agent(options, [self.base_pose(a) for a in ARMS])

    def base_pose(self, arm: str) -> sapien.Pose:
        """World pose of an arm's base (on the table plane z = 0, facing the table centre)."""
        return sapien.Pose([*arm_base_xy(arm, self.embodiment), 0.0], q=euler2quat(0, 0, ARM_BASE_YAW[arm]))

    # ------------------------------------------------------------------ sensors
    @property
    def _default_sensor_configs(self):
        if not self.cameras or self.spec is None:
            return []
        cfgs = self._embodiment_cameras()
        if self.camera_uids is None:
            return cfgs
        unknown = set(self.camera_uids) - {c.uid for c in cfgs}
        if unknown:
            raise ValueError(f"camera_uids {sorted(unknown)}; rule: among {[c.uid for c in cfgs]} ({self.embodiment})")
        return [c for c in cfgs if c.uid in self.camera_uids]

    def _embodiment_cameras(self) -> list:
        """Every camera of the embodiment: ``cam_high``, ``cam_low``, ``cam_left_wrist``,
        ``cam_right_wrist`` (aloha); ``head``, ``left_wrist``, ``right_wrist`` (panda)."""
        w, h = self.image_size
        c = self.spec.head_camera
        if self.embodiment == "aloha":
            cfgs = [CameraConfig("cam_high", sapien_utils.look_at(c.eye, c.target), w, h, c.fov_rad, 0.01, 10),
                    CameraConfig("cam_low", sapien_utils.look_at(ALOHA_LOW_EYE, ALOHA_LOW_TARGET), w, h, 1.0, 0.01, 10)]
            for arm, agent in self.arms.items():
                cfgs.append(CameraConfig(f"cam_{arm}_wrist", sapien_utils.look_at(ALOHA_WRIST_EYE, ALOHA_WRIST_TARGET),
                                         w, h, ALOHA_WRIST_FOV_RAD, 0.01, 10, mount=agent.robot.links_map["gripper_link"]))
            return cfgs
        cfgs = [CameraConfig("head", sapien_utils.look_at(c.eye, c.target), w, h, c.fov_rad, 0.01, 10)]
        for arm, agent in self.arms.items():
            cfgs.append(CameraConfig(f"{arm}_wrist", WRIST_MOUNT, w, h, 1.3, 0.01, 10,
                                     mount=agent.robot.links_map["camera_link"] if "camera_link" in agent.robot.links_map
                                     else agent.robot.links_map["panda_hand"]))
        return cfgs

    @property
    def _default_human_render_camera_configs(self):
        if not self.cameras or self.spec is None:
            return []
        c = self.spec.head_camera
        return CameraConfig("render_camera", sapien_utils.look_at(c.eye, c.target), 256, 256, c.fov_rad, 0.01, 10)

    def _load_lighting(self, options: dict):
        if not self.cameras:
            return
        lt = self.spec.light
        self.scene.set_ambient_light(list(lt.ambient))
        self.scene.add_directional_light(list(lt.direction), list(lt.color), shadow=False)
        self.scene.add_directional_light([0, 0, -1], [0.4, 0.4, 0.4])

    # ------------------------------------------------------------------ scene
    def _load_scene(self, options: dict):
        self.spec = self.scene_fn(int(np.atleast_1d(self._episode_seed)[0]))
        b = self.scene.create_actor_builder()
        hx, hy = TABLE_HALF_XY
        b.add_box_collision(half_size=[hx, hy, 0.4], material=_material())
        b.add_box_visual(half_size=[hx, hy, 0.4], material=sapien.render.RenderMaterial(base_color=list(self.spec.table_rgba)))
        b.initial_pose = sapien.Pose(p=[0, 0, self.spec.table_z - 0.4])
        self.table = b.build_static(name="table")
        self.bodies = {}
        for body in self.spec.bodies:
            self.bodies[body.name] = self._build_body(body)

    def _build_body(self, body: BodySpec):
        b = self.scene.create_actor_builder()
        mat = sapien.render.RenderMaterial(base_color=list(body.rgba))
        hs = np.array(body.half_size)
        if body.kind == "tray":
            for p, h in tray_parts(hs):
                b.add_box_collision(sapien.Pose(p=p), half_size=h, material=_material())
                b.add_box_visual(sapien.Pose(p=p), half_size=h, material=mat)
        elif body.kind in COMPOUND_PARTS:
            for p, h in COMPOUND_PARTS[body.kind](hs):
                b.add_box_collision(sapien.Pose(p=p), half_size=h, material=_material(), density=COMPOUND_DENSITY)
                b.add_box_visual(sapien.Pose(p=p), half_size=h, material=mat)
        elif body.kind == "bead":
            b.add_sphere_collision(radius=float(hs[0]), material=_material(), density=600)
            b.add_sphere_visual(radius=float(hs[0]), material=mat)
        else:
            b.add_box_collision(half_size=hs, material=_material(), density=600)
            b.add_box_visual(half_size=hs, material=mat)
        b.initial_pose = sapien.Pose(p=list(body.xyz), q=euler2quat(0, 0, body.yaw_rad))
        name = body.name.replace(" ", "_")
        return b.build_static(name=name) if body.static else b.build(name=name)

    def _initialize_episode(self, env_idx: torch.Tensor, options: dict):
        for arm, agent in self.arms.items():
            agent.reset(torch.as_tensor(self.home_qpos, dtype=torch.float32)[None])
            agent.robot.set_pose(Pose.create_from_pq(
                torch.tensor([[*arm_base_xy(arm, self.embodiment), 0.0]], dtype=torch.float32),
                torch.tensor(np.array([euler2quat(0, 0, ARM_BASE_YAW[arm])]), dtype=torch.float32)))
        for body in self.spec.bodies:
            if body.static:
                continue
            a = self.bodies[body.name]
            a.set_pose(Pose.create_from_pq(torch.tensor(np.array([body.xyz]), dtype=torch.float32),
                                           torch.tensor(np.array([euler2quat(0, 0, body.yaw_rad)]), dtype=torch.float32)))
            a.set_linear_velocity(torch.zeros(1, 3))
            a.set_angular_velocity(torch.zeros(1, 3))

    # ------------------------------------------------------------------ ManiSkill hooks we do not use
    def evaluate(self):
        return {}

    def get_obs(self, info=None, unflattened=False):
        return {}

    def _flatten_raw_obs(self, obs):
        return obs

    # ------------------------------------------------------------------ privileged state (numpy)
    def body_poses(self, names: list[str]) -> np.ndarray:
        """(K, 7) [x, y, z, qw, qx, qy, qz] of the named bodies, world frame."""
        if not names:
            return np.zeros((0, 7), np.float32)
        return np.stack([self.bodies[n].pose.raw_pose[0].numpy() for n in names]).astype(np.float32)

    def tcp_poses(self) -> np.ndarray:
        """(2, 7) TCP poses of the left and right arm, world frame."""
        return np.stack([self.arms[a].tcp.pose.raw_pose[0].numpy() for a in ARMS]).astype(np.float32)

    def qpos(self) -> np.ndarray:
        """Joint positions of the left and right arm: Panda (2, 9): 7 arm joints (rad) + 2 fingers (m);
        ALOHA (2, 8): 6 arm joints (rad) + 2 fingers (m of travel from the centre line)."""
        return np.stack([self.arms[a].robot.get_qpos()[0].numpy() for a in ARMS]).astype(np.float32)

    def aloha_state(self) -> np.ndarray:
        """(14,) ALOHA's state convention, left then right: 6 joint angles (rad) and the gripper's
        open fraction (0 closed, 1 open) per arm (``embodiment='aloha'`` only)."""
        if self.embodiment != "aloha":
            raise ValueError(f"aloha_state on embodiment {self.embodiment!r}; rule: only on 'aloha'")
        from vlgsim.sim.viperx_agent import gripper_open_fraction

        q = self.qpos().astype(np.float64)
        return np.concatenate([np.r_[q[i, :6], gripper_open_fraction(q[i, 6])] for i in range(2)]).astype(np.float32)

    def finger_contact(self, arm: str, name: str) -> tuple[bool, bool]:
        """(touching, grasping) of ``arm`` on the body, from one pair of contact queries:
        touching = either finger presses on it (> 0.5 N); grasping = ManiSkill's Panda rule
        (both fingers press, each within 85 deg of its closing direction)."""
        agent, body = self.arms[arm], self.bodies[name]
        flags, touch = [], False
        for link, sign in ((agent.finger1_link, 1.0), (agent.finger2_link, -1.0)):
            f = self.scene.get_pairwise_contact_forces(link, body)[0]
            n = float(torch.linalg.norm(f))
            touch |= n > 0.5
            if n < 0.5:
                flags.append(False)
                continue
            d = sign * link.pose.to_transformation_matrix()[0, :3, 1]
            cos = float(torch.dot(d, f) / (n * torch.linalg.norm(d)))
            flags.append(cos >= np.cos(np.deg2rad(85)))
        return touch, all(flags)

    # ------------------------------------------------------------------ motion planning (mplib)
    def arm_planners(self) -> dict:
        """One :class:`~vlgsim.sim.arm_planner.ArmPlanner` per arm, both in one mplib worker process
        (started on first use, kept for the backend's life)."""
        if getattr(self, "_planners", None) is None:
            from vlgsim.sim.arm_planner import ArmPlanner, MplibWorker

            self._mplib = MplibWorker()
            self._planners = {}
            for arm, agent in self.arms.items():
                urdf = agent.urdf_path
                move_group = "panda_hand_tcp" if self.embodiment == "panda" else "tcp"
                self._planners[arm] = ArmPlanner(
                    self._mplib, arm, urdf, urdf.replace(".urdf", ".srdf"), move_group,
                    [lk.get_name() for lk in agent.robot.get_links()],
                    [j.get_name() for j in agent.robot.get_active_joints()], N_ARM_JOINTS[self.embodiment],
                    [*arm_base_xy(arm, self.embodiment), 0.0], float(ARM_BASE_YAW[arm]), 1.0 / CONTROL_FREQ)
        return self._planners

    def close(self):
        if getattr(self, "_mplib", None) is not None:
            self._mplib.close()
            self._mplib, self._planners = None, None
        super().close()

    def obstacle_points(self, exclude: tuple[str, ...] = ()) -> np.ndarray:
        """World-frame points (N, 3) on the table top and on every body not in ``exclude``."""
        from scipy.spatial.transform import Rotation

        from vlgsim.sim.arm_planner import POINT_SPACING_M, box_surface_points

        hx, hy = TABLE_HALF_XY
        gx, gy = np.meshgrid(np.arange(-hx, hx + 1e-9, POINT_SPACING_M * 2), np.arange(-hy, hy + 1e-9, POINT_SPACING_M * 2))
        pts = [np.c_[gx.ravel(), gy.ravel(), np.full(gx.size, self.spec.table_z - 0.005)]]
        for body in self.spec.bodies:
            if body.name in exclude:
                continue
            pose = self.bodies[body.name].pose.raw_pose[0].numpy().astype(np.float64)
            R = Rotation.from_quat([*pose[4:7], pose[3]]).as_matrix()
            parts = tray_parts(body.half_size) if body.kind == "tray" else [([0, 0, 0], body.half_size)]
            for c, h in parts:
                pts.append(box_surface_points(pose[:3] + R @ np.asarray(c), R, h))
        return np.concatenate(pts)

    def is_grasping(self, arm: str, name: str) -> bool:
        return self.finger_contact(arm, name)[1]

    def step_arms(self, action: dict) -> None:
        """One control step; ``action``: {'left': (n,), 'right': (n,)} numpy."""
        uids = list(self.agent.agents_dict.keys())
        self.step({uids[0]: torch.as_tensor(action["left"], dtype=torch.float32)[None],
                   uids[1]: torch.as_tensor(action["right"], dtype=torch.float32)[None]})

    def _robot_render_bodies(self) -> list:
        """Render bodies of both arms' links (rebuilt with the scene every episode)."""
        if getattr(self, "_robot_bodies_of", None) is not self.scene:
            bodies = []
            for agent in self.arms.values():
                for link in agent.robot.links:
                    for obj in link._objs:
                        rb = obj.entity.find_component_by_type(sapien.render.RenderBodyComponent)
                        if rb is not None:
                            bodies.append(rb)
            self._robot_bodies, self._robot_bodies_of = bodies, self.scene
        return self._robot_bodies

    def _capture_culled(self) -> None:
        """Render every camera, each without the robot links wholly outside its view.

        Rendering here is geometry-bound (the Pandas' visual meshes hold ~270k triangles;
        software Vulkan shades every one per camera). A link is hidden for a camera only
        when all 8 corners of its world AABB lie outside one plane of that camera's
        frustum, so what the camera sees does not change."""
        self.scene.update_render(update_sensors=True, update_human_render_cameras=False)
        bodies = self._robot_render_bodies()
        box = np.array([rb.get_global_aabb_fast() for rb in bodies], np.float64)  # (n, 2, 3)
        corners = np.stack([box[:, [i, j, k], [0, 1, 2]] for i in (0, 1) for j in (0, 1) for k in (0, 1)], 1)
        self.hidden_links: dict[str, int] = {}
        """Robot links left out of each camera's last render."""
        try:
            for cam in self.scene.sensors.values():
                rc = cam.camera._render_cameras[0]
                E, K = np.asarray(rc.get_extrinsic_matrix()), np.asarray(rc.get_intrinsic_matrix())
                p = corners @ E[:, :3].T + E[:, 3]  # OpenCV camera frame: z forward
                x, y, z = p[..., 0], p[..., 1], p[..., 2]
                (fx, _, cx), (_, fy, cy) = K[0], K[1]
                w, h = rc.width, rc.height
                outside = ((z < rc.near).all(1) | (fx * x + cx * z < 0).all(1) | (fx * x + (cx - w) * z > 0).all(1)
                           | (fy * y + cy * z < 0).all(1) | (fy * y + (cy - h) * z > 0).all(1))
                for rb, out in zip(bodies, outside):
                    rb.visibility = 0.0 if out else 1.0
                self.hidden_links[cam.uid] = int(outside.sum())
                cam.capture()
        finally:
            for rb in bodies:
                rb.visibility = 1.0

    def images(self) -> dict[str, np.ndarray]:
        """RGB uint8 (H, W, 3) per camera: ``head``, ``left_wrist``, ``right_wrist`` (Panda);
        ``cam_high``, ``cam_low``, ``cam_left_wrist``, ``cam_right_wrist`` (ALOHA); those of
        :attr:`camera_uids` only when given."""
        if not self.cameras:
            raise RuntimeError("this env was built without cameras; rule: pass obs_mode='rgb' or 'rgb+state'")
        self._capture_culled()
        out = {}
        for uid, cam in self.scene.sensors.items():
            out[uid] = cam.get_obs(rgb=True, depth=False, segmentation=False, position=False)["rgb"][0].numpy()
        return out

    def images_rgbd(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """RGB uint8 (H, W, 3) and depth uint16 (H, W, 1) in millimetres (along the camera's
        axis, 0 where nothing was hit) of every camera, by camera uid."""
        if not self.cameras:
            raise RuntimeError("this env was built without cameras; rule: pass obs_mode='rgbd' or 'rgbd+state'")
        self._capture_culled()
        out = {}
        for uid, cam in self.scene.sensors.items():
            o = cam.get_obs(rgb=True, depth=True, segmentation=False, position=False)
            out[uid] = (o["rgb"][0].numpy(), o["depth"][0].numpy().astype(np.uint16))
        return out


def _viperx_home() -> np.ndarray:
    from vlgsim.assets.viperx import HOME_QPOS as VIPERX_HOME

    return VIPERX_HOME
