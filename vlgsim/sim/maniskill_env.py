"""ManiSkill3 backend for tabletop scenes: a Panda on a table, objects from scene specs,
one fixed RGB-D camera. Tasks in :mod:`vlgsim.envs` subclass :class:`TabletopBackendEnv`
and supply ``sample_scene(seed)`` plus their task logic.

Batched in ManiSkill's style: every sub-scene samples its own :class:`TabletopScene` from
its episode seed at reconfiguration (objects differ per sub-scene), object slot k of all
sub-scenes is one merged actor, poses are per-env tensors. On the CPU backend there is one
sub-scene per process; with ``sim_backend="physx_cuda"`` many.

Scene reuse (``scene_reuse=True``, CPU backend, one sub-scene): the ManiSkill scene (robot,
controllers, table, camera, lights, render resources) is built once; each reset gives the
old objects to an :class:`~vlgsim.sim.maniskill_scene.ObjectPool`, takes the new scene's
objects from it (built on first use) and puts everything into a fresh PhysX scene in the
order of a rebuild, so every seed gets bit-identical physics, images, labels and outcome
(see :func:`~vlgsim.sim.maniskill_scene.replace_object_slots`). ``scene_reuse=False``
rebuilds the whole ManiSkill scene at every reset (the reference).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Optional

import gymnasium as gym
import numpy as np
import torch
from mani_skill.envs.sapien_env import BaseEnv
from mani_skill.utils.scene_builder.table import TableSceneBuilder
from mani_skill.utils.structs.actor import Actor
from mani_skill.utils.structs.pose import Pose

from vlgsim.assets import build_object
from vlgsim.scenes import CameraSpec, TabletopScene
from vlgsim.sim.brdf_lut import give_brdf_lut
from vlgsim.sim.grasp_primitive import GraspPlan, GraspTrace, execute_topdown_grasp
from vlgsim.sim.maniskill_scene import (ObjectPool, add_lighting, build_object_slots, camera_config, capture_rgbd_seg,
                                        parked_position, replace_object_slots)

OBSERVE_QPOS = np.array([0.0, -0.9, 0.0, -2.6, 0.0, 1.75, np.pi / 4, 0.04, 0.04])
"""Panda arm folded back and up, out of the camera's view of the workspace."""
ROBOT_BASE = (-0.615, 0.0, 0.0)


@contextmanager
def builtin_pinocchio():
    """Build ManiSkill's CPU inverse kinematics on SAPIEN's own pinocchio (C++) while inside.

    SAPIEN switches its ``PinocchioModel`` to a pure-Python wrapper around the ``pinocchio``
    package whenever that package is importable (``pin`` wheels, e.g. pulled in by
    ``franky-sim``): about 50x slower per IK solve and different in the last bits, which
    changes grasp trajectories. The env always uses the built-in solver, so a seed's
    outcome does not depend on what else is installed."""
    try:
        from sapien.pysapien_pinocchio import PinocchioModel
    except ImportError:  # non-Linux SAPIEN builds: keep whatever SAPIEN chose
        yield
        return
    import mani_skill.agents.controllers.utils.kinematics as kinematics

    previous = kinematics.PinocchioModel
    kinematics.PinocchioModel = PinocchioModel
    try:
        yield
    finally:
        kinematics.PinocchioModel = previous


class LightClearMixin:
    """For ManiSkill envs that rebuild their scene every episode: ManiSkill's ``_clear``
    without a full ``gc.collect()`` (0.2 s) on every CPU reconfigure. The GPU backend and
    every 16th rebuild still collect, so cyclic garbage stays bounded."""

    GC_EVERY_RECONFIGURES = 16

    def _clear(self):
        self._n_clears = getattr(self, "_n_clears", 0) + 1
        if self.device.type == "cuda" or self._n_clears % self.GC_EVERY_RECONFIGURES == 0:
            return super()._clear()
        self._close_viewer()
        self.agent = None
        self._sensors = dict()
        self._human_render_cameras = dict()
        self.scene = None
        self._hidden_objects = []


class CachedBRDFLUTMixin:
    """Cameras of a ManiSkill env get SAPIEN's BRDF table from the on-disk cache
    (:mod:`vlgsim.sim.brdf_lut`), so a process's first picture does not generate it (~6 s of
    CPU with lavapipe); the images are the same."""

    def _setup_sensors(self, options: dict):
        super()._setup_sensors(options)
        self._give_cameras_brdf_lut()

    def _give_cameras_brdf_lut(self):
        """Also after cameras moved to a new ``sapien.Scene`` (their renderers are new then).
        Only when rendering on the CPU: a GPU makes the table in milliseconds, and batched
        GPU camera groups are left as ManiSkill builds them."""
        device = getattr(self, "_render_device", None)
        if device is not None and device.is_cuda():
            return
        cameras = [*self._sensors.values(), *self._human_render_cameras.values()]
        give_brdf_lut(c for cam in cameras if hasattr(cam, "camera") for c in cam.camera._render_cameras)


class TabletopBackendEnv(CachedBRDFLUTMixin, LightClearMixin, BaseEnv):
    SUPPORTED_ROBOTS = ["panda"]
    max_objects = 8

    def __init__(self, *args, camera: Optional[CameraSpec] = None, image_size=(320, 240), robot_uids="panda",
                 scene_reuse: bool = True, **kwargs):
        """``camera``: full camera spec; else a D435-like camera of ``image_size`` (width, height) pixels.
        ``scene_reuse``: keep the scene between episodes and swap only its objects (CPU
        backend with one env; elsewhere the scene is rebuilt at every reset)."""
        self.camera_spec = camera or CameraSpec.d435(*image_size)
        self.scenes: list[TabletopScene] = []
        self.object_slots = []
        self._object_poses = None
        self.scene_reuse = False  # until the first scene is built
        self.direct_control = False
        self.object_pool = ObjectPool()
        self._slot_specs: list = []
        self._objects_loaded_this_reset = False
        kwargs.setdefault("reconfiguration_freq", 1)
        kwargs.setdefault("render_backend", "gpu" if torch.cuda.is_available() else "cpu")
        super().__init__(*args, robot_uids=robot_uids, **kwargs)
        if scene_reuse and not self.gpu_sim_enabled and self.num_envs == 1:
            self.scene_reuse = True
            self.reconfiguration_freq = 0  # build once; later resets swap objects (see _initialize_episode)
            self.direct_control = True  # the grasp primitive sets the kept controllers' targets directly

    def reset(self, seed=None, options=None):
        if seed is not None:  # Gymnasium's bookkeeping RNG (ManiSkill keeps its own episode RNGs)
            self._np_random, self._np_random_seed = gym.utils.seeding.np_random(int(np.atleast_1d(seed)[0]))
        elif self.scene_reuse and not (options or {}).get("reconfigure", False):
            # An unseeded reset is a new scene, as with rebuilding: ManiSkill's reconfigure draws the episode
            # seed from the main RNG; without a reconfigure it would keep the last one (the same scene again).
            self._set_episode_rng(self._batched_main_rng.randint(2**31), torch.arange(self.num_envs))
        return super().reset(seed=seed, options=options)

    @property
    def _default_sim_config(self):
        """ManiSkill's defaults, with GPU contact buffers grown with the number of sub-scenes
        (each holds a robot and up to 8 multi-piece objects; the defaults overflow past ~1k)."""
        from mani_skill.utils.structs.types import GPUMemoryConfig, SimConfig

        n = max(int(getattr(self, "num_envs", 1)), 1)
        return SimConfig(gpu_memory_config=GPUMemoryConfig(
            max_rigid_contact_count=max(2**19, min(2**25, 1024 * n)),
            max_rigid_patch_count=max(2**18, min(2**24, 512 * n)),
            found_lost_pairs_capacity=max(2**25, min(2**26, 8192 * n))))

    # ------------------------------------------------------------------ task hooks
    def sample_scene(self, seed: int) -> TabletopScene:
        raise NotImplementedError

    # ------------------------------------------------------------------ ManiSkill hooks
    @property
    def _default_sensor_configs(self):
        return [camera_config(self.camera_spec)]

    @property
    def _default_human_render_camera_configs(self):
        return camera_config(self.camera_spec, uid="render_camera")

    def _load_agent(self, options: dict):
        import sapien

        with builtin_pinocchio():
            super()._load_agent(options, sapien.Pose(p=list(ROBOT_BASE)))

    def _load_lighting(self, options: dict):
        add_lighting(self.scene, self.scenes[0].lighting if self.scenes else None)

    def _load_scene(self, options: dict):
        self.table_scene = TableSceneBuilder(self, robot_init_qpos_noise=0.0)
        self.table_scene.build()
        seeds = [int(s) for s in np.atleast_1d(self._episode_seed)]
        self.scenes = [self.sample_scene(s) for s in seeds]
        self.n_objects = np.array([len(s.objects) for s in self.scenes])
        self._slot_specs = [o.spec for o in self.scenes[0].objects]
        self.object_slots = build_object_slots(self.scene, [[o.spec for o in s.objects] for s in self.scenes],
                                               int(self.n_objects.max()))
        self.target_slot = np.array([s.target_index for s in self.scenes])
        self.target_actor = self.merge_slots(self.target_slot)
        self._objects_loaded_this_reset = True

    def _swap_objects(self):
        """Scene reuse: the objects of this episode's scene replace the previous ones."""
        self.scenes = [self.sample_scene(int(np.atleast_1d(self._episode_seed)[0]))]
        specs = [o.spec for o in self.scenes[0].objects]
        self._set_scene_config()  # SAPIEN's global PhysX settings, as a rebuild applies them
        self.object_slots = replace_object_slots(self.scene, self.object_pool, self.object_slots, self._slot_specs, specs)
        self._give_cameras_brdf_lut()
        self._slot_specs = specs
        self.n_objects = np.array([len(specs)])
        self.target_slot = np.array([self.scenes[0].target_index])
        self.target_actor = self.merge_slots(self.target_slot)
        self.__dict__.pop("segmentation_id_map", None)  # ManiSkill's cached id -> actor map
        if self._viewer is not None:  # render_mode="human": show the new sapien.Scene
            self._setup_viewer()

    def _initialize_episode(self, env_idx: torch.Tensor, options: dict):
        if self.scene_reuse and not self._objects_loaded_this_reset:
            self._swap_objects()
        self._objects_loaded_this_reset = False
        self.table_scene.initialize(env_idx)
        qpos = torch.as_tensor(OBSERVE_QPOS, dtype=torch.float32, device=self.device).repeat(len(env_idx), 1)
        self.agent.robot.set_qpos(qpos)
        self.agent.robot.set_pose(Pose.create_from_pq(torch.tensor(ROBOT_BASE, device=self.device).repeat(len(env_idx), 1)))
        rows = env_idx.cpu().numpy()  # env_idx lives on the sim device (cuda with physx_cuda)
        for k, slot in enumerate(self.object_slots):
            p = np.zeros((self.num_envs, 7), np.float32)
            for i, sc in enumerate(self.scenes):
                if k < len(sc.objects):
                    o = sc.objects[k]
                    p[i] = [o.xy[0], o.xy[1], 0.0, np.cos(o.yaw_rad / 2), 0, 0, np.sin(o.yaw_rad / 2)]
                else:
                    p[i] = [*parked_position(k), 1.0, 0, 0, 0]
            slot.set_pose(Pose.create(torch.as_tensor(p[rows], device=self.device)))
            slot.set_linear_velocity(torch.zeros(len(env_idx), 3, device=self.device))
            slot.set_angular_velocity(torch.zeros(len(env_idx), 3, device=self.device))
        self._object_poses = None

    # ------------------------------------------------------------------ sensing
    def capture(self):
        """rgb (B,H,W,3) uint8, depth (B,H,W) float32 m, segmentation (B,H,W) int32, as torch."""
        if self.gpu_sim_enabled:
            self.scene._gpu_fetch_all()
        self.scene.update_render(update_sensors=True, update_human_render_cameras=False)
        return capture_rgbd_seg(self.scene.sensors["base_camera"])

    def camera_matrices(self) -> tuple[np.ndarray, np.ndarray]:
        """Intrinsic (B,3,3) and world->camera extrinsic (B,4,4) of the base camera."""
        p = self.scene.sensors["base_camera"].get_params()
        K = p["intrinsic_cv"].cpu().numpy().astype(np.float64)
        E34 = p["extrinsic_cv"].cpu().numpy().astype(np.float64)
        E = np.tile(np.eye(4), (len(E34), 1, 1))
        E[:, :3, :] = E34
        return K, E

    def merge_slots(self, slot_per_env: np.ndarray) -> Actor:
        """One actor view over slot ``slot_per_env[i]`` of every sub-scene i (e.g. the targets)."""
        slots = slot_per_env.tolist()
        if len(set(slots)) == 1:
            return self.object_slots[slots[0]]
        return Actor.merge([Actor.create_from_entities([self.object_slots[k]._objs[i]], self.scene, torch.tensor([i], device=self.device))
                            for i, k in enumerate(slots)], name="target")

    def object_seg_ids(self, k: int) -> np.ndarray:
        """Per-scene segmentation id of object slot k in every sub-scene, (B,)."""
        return np.array([o.per_scene_id for o in self.object_slots[k]._objs])

    def object_poses(self) -> torch.Tensor:
        """(B, K, 7) poses [x, y, z, qw, qx, qy, qz] of the object slots, world frame.
        Cached until the next physics step."""
        if self._object_poses is None:
            self._object_poses = torch.stack([s.pose.raw_pose for s in self.object_slots], 1)
        return self._object_poses

    def _after_simulation_step(self):
        self._object_poses = None

    def run_grasp(self, plan: GraspPlan, record_frames: bool = False) -> GraspTrace:
        self.agent.controller.reset()
        on_frame = (lambda: self.capture()[0][0].cpu().numpy().copy()) if record_frames else None
        try:
            return execute_topdown_grasp(self, plan, self.object_slots, on_frame=on_frame, direct=self.direct_control)
        finally:
            self._object_poses = None  # the primitive steps the scene itself, past _after_simulation_step

    def build_asset(self, env_i: int, k: int):
        return build_object(self.scenes[env_i].objects[k].spec)
