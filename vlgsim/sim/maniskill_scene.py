"""Build backend-neutral scene specs into a ManiSkill3 / SAPIEN scene.

Meshes from the asset library are written once per process to a cache folder (SAPIEN's
builders read files); each convex piece becomes one convex collision shape and the
part's concatenated pieces its visual mesh. Objects may differ per sub-scene (batched
GPU simulation): slot k of every sub-scene is merged into one ManiSkill ``Actor``.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

import numpy as np
import sapien
import torch
from mani_skill.sensors.camera import CameraConfig
from mani_skill.utils import sapien_utils
from mani_skill.utils.structs.actor import Actor

from vlgsim.assets.cache import cache_dir
from vlgsim.assets import ObjectAsset, ObjectSpec, build_object
from vlgsim.assets.objects import object_geometry
from vlgsim.scenes import CameraSpec, Lighting

OBJECT_FRICTION = 1.0
PARKED_XY = (1.5, 1.5)
"""Where an unused object slot of a sub-scene waits (off the table, on the ground)."""
GROUND_Z = -0.92
"""ManiSkill's floor, one table height below the table top."""


def parked_position(k: int) -> list[float]:
    """World position (metres) of unused object slot k: on the floor, away from the table."""
    return [PARKED_XY[0] + 0.1 * k, PARKED_XY[1], GROUND_Z + 0.02]


def mesh_cache_dir() -> Path:
    return cache_dir("meshes")


def _mesh_file(mesh) -> str:
    data = mesh.export(file_type="obj")
    path = mesh_cache_dir() / f"{hashlib.sha1(data.encode()).hexdigest()[:20]}.obj"
    if not path.exists():
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(data)
        os.replace(tmp, path)
    return str(path)


@lru_cache(maxsize=1024)
def _part_files(category: str, scale: float) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Per part: (visual mesh file, convex piece files), written once per process."""
    return tuple((_mesh_file(p.mesh), tuple(_mesh_file(q) for q in p.pieces)) for p in object_geometry(category, scale))


def add_object_shapes(builder, asset: ObjectAsset, collision: bool = True) -> None:
    """Add visual (and, unless ``collision=False``, convex collision) shapes of every part
    of ``asset`` to a SAPIEN actor builder."""
    material = sapien.pysapien.physx.PhysxMaterial(OBJECT_FRICTION, OBJECT_FRICTION, 0.0)
    for part, (visual, pieces) in zip(asset.parts, _part_files(asset.spec.category, asset.spec.scale)):
        rm = sapien.render.RenderMaterial(base_color=[*part.rgb, 1.0], roughness=0.6, metallic=0.0)
        builder.add_visual_from_file(visual, material=rm, name=part.name)
        for piece in pieces if collision else ():
            builder.add_convex_collision_from_file(piece, material=material, density=asset.density)


def build_object_slots(scene, per_scene_specs: list[list[ObjectSpec]], n_slots: int) -> list[Actor]:
    """Build ``n_slots`` merged actors; slot k of sub-scene i is ``per_scene_specs[i][k]``,
    or a small parked block when sub-scene i has fewer objects."""
    slots = []
    for k in range(n_slots):
        actors = []
        for i, specs in enumerate(per_scene_specs):
            builder = scene.create_actor_builder()
            if k < len(specs):
                add_object_shapes(builder, build_object(specs[k]))
            else:
                builder.add_box_collision(half_size=[0.01] * 3)
                builder.add_box_visual(half_size=[0.01] * 3)
            builder.set_scene_idxs([i])
            builder.initial_pose = sapien.Pose(p=parked_position(k))
            actors.append(builder.build(name=f"obj{k}-env{i}"))
        slots.append(Actor.merge(actors, name=f"obj{k}"))
    return slots


def camera_config(spec: CameraSpec, uid: str = "base_camera") -> CameraConfig:
    """ManiSkill camera config with the spec's exact intrinsics and pose."""
    pose = sapien_utils.look_at(eye=list(spec.eye), target=list(spec.target))
    return CameraConfig(uid, pose, spec.width, spec.height, near=spec.near_m, far=spec.far_m,
                        intrinsic=spec.intrinsic.astype(np.float32))


def add_lighting(scene, lighting: Lighting) -> None:
    scene.set_ambient_light([lighting.ambient] * 3)
    scene.add_directional_light(list(lighting.direction), [lighting.intensity / 3] * 3, shadow=False)
    scene.add_directional_light([0, 0, -1], [1, 1, 1])


def capture_rgbd_seg(camera) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Render one frame of a ManiSkill camera: rgb (B,H,W,3) uint8, depth (B,H,W) float32
    metres along the optical axis (0 where nothing was hit), segmentation (B,H,W) int32
    per-scene actor ids. The caller updates the render state first."""
    camera.capture()
    tex = camera.get_obs(rgb=True, depth=False, position=True, segmentation=True, apply_texture_transforms=False)
    rgb = tex["Color"][..., :3]
    ps = tex["PositionSegmentation"]
    depth = (-ps[..., 2].to(torch.float32) / 1000.0).clamp(min=0.0)
    seg = ps[..., 3].to(torch.int32)
    return rgb, depth, seg
