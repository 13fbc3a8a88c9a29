"""Render scene specs from several cameras with SAPIEN, without a robot or physics steps.

For grounding tasks and dataset generation: one persistent SAPIEN scene (table, lights);
each call swaps in the objects of a :class:`TabletopScene` at their resting poses and
renders every camera. Much faster than a full ManiSkill env (no robot, no controller).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sapien
import torch
from transforms3d.euler import euler2quat

from vlgsim.assets import build_object
from vlgsim.scenes import CameraSpec, TabletopScene
from vlgsim.sim.brdf_lut import give_brdf_lut
from vlgsim.sim.maniskill_scene import ObjectPool, add_lighting, add_object_shapes
from vlgsim.sim.physx_config import sapien_physx_defaults

def _table_model() -> str:
    """ManiSkill's table model, the one RealVLG-Grasp-v0 shows."""
    import importlib.util

    root = Path(importlib.util.find_spec("mani_skill").origin).parent
    return str(root / "utils" / "scene_builder" / "table" / "assets" / "table.glb")


def make_sapien_scene() -> sapien.Scene:
    """A plain SAPIEN scene (CPU physics) rendering on the device ManiSkill envs in this
    process use: SAPIEN allows one render device per process. Its physics has SAPIEN's
    defaults whatever ManiSkill env was built before (:mod:`vlgsim.sim.physx_config`)."""
    device = sapien.Device("cuda" if torch.cuda.is_available() else "cpu")
    with sapien_physx_defaults():
        return sapien.Scene([sapien.physx.PhysxCpuSystem(), sapien.render.RenderSystem(device)])


@dataclass
class RenderedView:
    """One camera's images: rgb (H,W,3) uint8, depth (H,W) float32 metres along the optical
    axis (1 mm steps, as in the envs; 0 = nothing), object_index (H,W) int16 (-1 = no object; else the index into
    ``scene.objects``), intrinsic (3,3), extrinsic (4,4 world->camera)."""

    rgb: np.ndarray
    depth: np.ndarray
    object_index: np.ndarray
    intrinsic: np.ndarray
    extrinsic: np.ndarray

    def mask(self, k: int) -> np.ndarray:
        return self.object_index == k

    def boxes(self, n_objects: int) -> np.ndarray:
        """(K, 4) visible-pixel boxes [x1, y1, x2, y2] (x2, y2 exclusive); zeros if not visible."""
        out = np.zeros((n_objects, 4), np.float32)
        for k in range(n_objects):
            ys, xs = np.nonzero(self.object_index == k)
            if len(xs):
                out[k] = [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
        return out


def _sapien_pose(cam: CameraSpec) -> sapien.Pose:
    """SAPIEN camera frame (x forward, y left, z up) from the spec's OpenCV frame."""
    return sapien_camera_pose(cam.cam2world)


def sapien_camera_pose(cam2world: np.ndarray) -> sapien.Pose:
    """SAPIEN camera pose (x forward, y left, z up) from a 4x4 OpenCV camera-to-world transform."""
    T = np.asarray(cam2world, dtype=np.float64)
    R = np.stack([T[:3, 2], -T[:3, 0], -T[:3, 1]], axis=1)
    M = np.eye(4)
    M[:3, :3], M[:3, 3] = R, T[:3, 3]
    return sapien.Pose(M)


def add_camera(scene: sapien.Scene, spec: CameraSpec) -> sapien.render.RenderCameraComponent:
    """A camera with ManiSkill's "minimal" shader (same images as the envs), placed at ``spec``."""
    previous = sapien.render.get_camera_shader_dir()
    sapien.render.set_camera_shader_dir("minimal")
    try:
        e = sapien.Entity()
        c = sapien.render.RenderCameraComponent(spec.width, spec.height)
        e.add_component(c)
        scene.add_entity(e)
    finally:
        sapien.render.set_camera_shader_dir(previous)
    if not torch.cuda.is_available():  # lavapipe (see make_sapien_scene): no ~6 s table generation at the first picture
        give_brdf_lut([c])
    return place_camera(c, spec)


def place_camera(c: sapien.render.RenderCameraComponent, spec: CameraSpec) -> sapien.render.RenderCameraComponent:
    c.set_focal_lengths(spec.fx, spec.fy)
    c.set_principal_point(spec.width / 2, spec.height / 2)
    c.near, c.far = spec.near_m, spec.far_m
    c.entity.set_pose(_sapien_pose(spec))
    return c


def capture(cam: sapien.render.RenderCameraComponent) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """rgb (H, W, 3) uint8, depth (H, W) float32 metres along the optical axis (0: no hit),
    per-scene entity id (H, W) int64. The caller updates the render state first."""
    cam.take_picture()
    color = cam.get_picture("Color")[..., :3]  # float in [0, 1], or uint8 once ManiSkill set its "minimal" format
    rgb = color if color.dtype == np.uint8 else (np.clip(color, 0, 1) * 255).round().astype(np.uint8)
    ps = cam.get_picture("PositionSegmentation")  # camera-frame position in mm, actor id
    seg = ps[..., 3].astype(np.int64)
    depth = np.where(seg > 0, -ps[..., 2] / 1000.0, 0.0).astype(np.float32)
    return rgb, depth, seg


class TabletopRenderer:
    def __init__(self, reuse_objects: bool = True):
        """``reuse_objects``: keep object entities between renders in an
        :class:`~vlgsim.sim.maniskill_scene.ObjectPool` (recoloured per spec) instead of
        building them for every scene; the images are the same."""
        self.reuse_objects = reuse_objects
        self._pool = ObjectPool(collision=False, body_type="static")
        self._specs: list = []
        self.scene = make_sapien_scene()
        b = self.scene.create_actor_builder()
        b.add_visual_from_file(_table_model(), scale=[1.75] * 3, pose=sapien.Pose(q=euler2quat(0, 0, np.pi / 2)))
        b.set_initial_pose(sapien.Pose(p=[-0.12, 0, -0.9196429], q=euler2quat(0, 0, np.pi / 2)))
        self.table = b.build_static(name="table")
        self._lit = None
        self._objects: list = []
        self._cameras: dict = {}

    def _camera(self, spec: CameraSpec, slot: int):
        key = (slot, spec.width, spec.height)
        if key not in self._cameras:
            self._cameras[key] = add_camera(self.scene, spec)
        return place_camera(self._cameras[key], spec)

    def render(self, scene: TabletopScene, cameras: list[CameraSpec]) -> list[RenderedView]:
        if self._lit != scene.lighting:  # lights only change with the lighting spec
            for e in [e for e in self.scene.entities if e.name == "vlgsim-light"]:
                self.scene.remove_entity(e)
            before = set(id(e) for e in self.scene.entities)
            add_lighting(self.scene, scene.lighting)
            for e in self.scene.entities:
                if id(e) not in before:
                    e.name = "vlgsim-light"
            self._lit = scene.lighting
        for e in self._objects:
            self.scene.remove_entity(e)
        if self.reuse_objects:
            for spec, e in zip(self._specs, self._objects):
                self._pool.give_back(spec, e)
        self._objects, self._specs = [], [o.spec for o in scene.objects]
        for k, o in enumerate(scene.objects):
            if self.reuse_objects:  # the entity a new build would give, from the pool
                e = self._pool.take(self.scene, o.spec)
                e.name, e.pose = f"obj{k}", sapien.Pose(o.pose)
                self.scene.add_entity(e)
                self._objects.append(e)
                continue
            b = self.scene.create_actor_builder()
            add_object_shapes(b, build_object(o.spec), collision=False)
            b.set_initial_pose(sapien.Pose(o.pose))
            self._objects.append(b.build_static(name=f"obj{k}"))
        id_to_index = {e.per_scene_id: k for k, e in enumerate(self._objects)}
        lut = np.full(max(id_to_index) + 2, -1, np.int16)
        for pid, k in id_to_index.items():
            lut[pid] = k
        cams = [self._camera(spec, i) for i, spec in enumerate(cameras)]  # poses first, then one render update
        self.scene.update_render()
        views = []
        for spec, cam in zip(cameras, cams):
            rgb, depth, seg = capture(cam)
            obj = np.where(seg < len(lut), lut[np.minimum(seg, len(lut) - 1)], -1).astype(np.int16)
            views.append(RenderedView(rgb, depth, obj, spec.intrinsic, spec.extrinsic))
        return views
