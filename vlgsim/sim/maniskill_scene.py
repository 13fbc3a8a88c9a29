"""Build backend-neutral scene specs into a ManiSkill3 / SAPIEN scene.

Meshes from the asset library are written once per process to a cache folder (SAPIEN's
builders read files); each convex piece becomes one convex collision shape and the
part's concatenated pieces its visual mesh. Objects may differ per sub-scene (batched
GPU simulation): slot k of every sub-scene is merged into one ManiSkill ``Actor``.
The :class:`ObjectPool` of scene reuse builds the same entities from arrays kept beside
the files instead (:func:`build_object_entity`): SAPIEN's file loaders spend most of a
build in assimp.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path

import numpy as np
import sapien
import torch
from mani_skill.sensors.camera import CameraConfig
from mani_skill.utils import sapien_utils
from mani_skill.utils.structs.actor import Actor
from mani_skill.utils.structs.pose import Pose

from vlgsim.assets.cache import cache_dir
from vlgsim.assets import ObjectAsset, ObjectSpec, build_object
from vlgsim.assets.objects import geometry_version, object_geometry
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
    """Per part: (visual mesh file, convex piece files), written once per machine: an index
    file per geometry version, category and size names them for later processes."""
    folder = mesh_cache_dir()
    index = folder / f"index-{geometry_version()}-{category}-{scale!r}.json"
    try:
        names = json.loads(index.read_text())
        if all((folder / n).exists() for visual, pieces in names for n in [visual, *pieces]):
            return tuple((str(folder / visual), tuple(str(folder / n) for n in pieces)) for visual, pieces in names)
    except (OSError, ValueError, TypeError):
        pass
    files = tuple((_mesh_file(p.mesh), tuple(_mesh_file(q) for q in p.pieces)) for p in object_geometry(category, scale))
    tmp = index.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps([[Path(v).name, [Path(q).name for q in qs]] for v, qs in files]))
    os.replace(tmp, index)
    return files


def add_object_shapes(builder, asset: ObjectAsset, collision: bool = True) -> None:
    """Add visual (and, unless ``collision=False``, convex collision) shapes of every part
    of ``asset`` to a SAPIEN actor builder."""
    material = _object_material()
    for part, (visual, pieces) in zip(asset.parts, _part_files(asset.spec.category, asset.spec.scale)):
        builder.add_visual_from_file(visual, material=_part_material(part), name=part.name)
        for piece in pieces if collision else ():
            builder.add_convex_collision_from_file(piece, material=material, density=asset.density)


def _object_material():
    return sapien.pysapien.physx.PhysxMaterial(OBJECT_FRICTION, OBJECT_FRICTION, 0.0)


def _part_material(part) -> "sapien.render.RenderMaterial":
    return sapien.render.RenderMaterial(base_color=[*part.rgb, 1.0], roughness=0.6, metallic=0.0)


def obj_corner_vertices(path: str) -> np.ndarray:
    """(3 F, 3) float32: the points SAPIEN gives PhysX's convex cooking for an OBJ mesh file
    (``PhysxCollisionShapeConvexMesh(filename)``): assimp's OBJ importer makes one vertex per
    face corner, in face order, and SAPIEN loads without joining them. Parsed with numpy
    (correctly rounded; assimp's parser gives the same floats for the fixed 8-decimal
    numbers trimesh writes: ``tests/sim/test_convex_from_vertices.py``), ~20x cheaper than
    the file loader, which spends nearly all its time in assimp."""
    lines = Path(path).read_text().splitlines()
    v = np.array(" ".join(ln[2:] for ln in lines if ln.startswith("v ")).split(), np.float64).astype(np.float32)
    f = np.array(" ".join(ln[2:] for ln in lines if ln.startswith("f ")).split(), np.int64)
    if not len(f) or len(f) % 3 or len(v) % 3:
        raise ValueError(f"mesh file {path}: {len(v)} coordinates, {len(f)} face indices; rule: triangles of 'v x y z' "
                         "and 'f a b c' lines, as trimesh writes them")
    return v.reshape(-1, 3)[f - 1]


def _saved_corner_vertices(path: str) -> np.ndarray:
    """:func:`obj_corner_vertices` of ``path``, kept beside it as ``.corners.npy`` (4x cheaper to read)."""
    saved = Path(path).with_suffix(".corners.npy")
    try:
        v = np.load(saved)
        if v.dtype == np.float32 and v.ndim == 2 and v.shape[1] == 3:
            return v
    except (OSError, ValueError):
        pass
    v = obj_corner_vertices(path)
    tmp = saved.with_suffix(f".{os.getpid()}.tmp.npy")
    np.save(tmp, v)
    os.replace(tmp, saved)
    return v


@lru_cache(maxsize=64)
def _piece_vertices(category: str, scale: float) -> tuple[tuple[np.ndarray, ...], ...]:
    """Per part, the cooking input of each convex piece (:func:`obj_corner_vertices`)."""
    return tuple(tuple(_saved_corner_vertices(q) for q in pieces) for _, pieces in _part_files(category, scale))


def _render_arrays_path(visual: str) -> Path:
    """Beside the OBJ file (named by its content's hash), per SAPIEN version (its loader made them)."""
    return Path(visual).with_suffix(f".render-sapien{sapien.__version__}.npz")


def visual_mesh_shape(visual: str, material: sapien.render.RenderMaterial) -> "sapien.render.RenderShapeTriangleMesh":
    """The render mesh SAPIEN loads from the OBJ file ``visual`` (assimp: vertices, normals,
    texture coordinates per part), built from arrays saved beside the file the first time a
    process on this machine loads it (``<file>.render-sapien<version>.npz``, read back from
    SAPIEN's own loaded shape): the same mesh (``tests/sim/test_convex_from_vertices.py`` renders both)
    without assimp's cost per file."""
    if not isinstance(material, sapien.render.RenderMaterial):  # SAPIEN crashes on None with arrays
        raise ValueError(f"material {material!r}; rule: a sapien.render.RenderMaterial")
    path = _render_arrays_path(visual)
    try:
        with np.load(path) as z:
            parts = [tuple(z[f"{k}{i}"] for k in ("v", "t", "n", "uv")) for i in range(int(z["n_parts"]))]
    except (OSError, KeyError, ValueError):
        parts = None
    if parts is not None and len(parts) == 1:
        return sapien.render.RenderShapeTriangleMesh(*parts[0], material)
    shape = sapien.render.RenderShapeTriangleMesh(visual, np.ones(3, np.float32), material)
    if parts is None:
        arrays = {f"{k}{i}": a for i, q in enumerate(shape.parts) for k, a in
                  (("v", q.vertices), ("t", q.triangles), ("n", q.get_vertex_normal()), ("uv", q.get_vertex_uv()))}
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez(tmp, n_parts=len(shape.parts), **arrays)
        os.replace(tmp, path)
    return shape


def cache_object_meshes(category: str, scale: float) -> None:
    """Fill this machine's on-disk mesh cache for an object geometry: its OBJ files, the
    render arrays :func:`visual_mesh_shape` saves beside them and the convex pieces' points."""
    for visual, pieces in _part_files(category, scale):
        if not _render_arrays_path(visual).exists():
            visual_mesh_shape(visual, sapien.render.RenderMaterial())
        for piece in pieces:
            _saved_corner_vertices(piece)


def build_object_entity(scene, asset: ObjectAsset, collision: bool = True, body_type: str = "dynamic") -> sapien.Entity:
    """The entity ``add_object_shapes`` + ManiSkill's ``ActorBuilder.build_entity`` make (render
    body, then PhysX body; same shapes, materials, mass), built from arrays instead of files:
    render meshes by :func:`visual_mesh_shape`, convex pieces by :func:`attach_convex_pieces`."""
    builder = scene.create_actor_builder()
    builder.set_physx_body_type(body_type)
    entity = sapien.Entity()
    render = sapien.render.RenderBodyComponent()
    for part, (visual, _) in zip(asset.parts, _part_files(asset.spec.category, asset.spec.scale)):
        shape = visual_mesh_shape(visual, _part_material(part))
        shape.local_pose = sapien.Pose()
        shape.name = part.name
        render.attach(shape)
    render.name = builder.name
    entity.add_component(render)
    entity.add_component(builder.build_physx_component())
    if collision:
        attach_convex_pieces(entity, asset, builder.collision_groups)
    entity.name = builder.name
    return entity


def attach_convex_pieces(entity: sapien.Entity, asset: ObjectAsset, collision_groups) -> None:
    """Give ``entity`` (built by a ManiSkill ``ActorBuilder`` without collision shapes) the
    convex collision shapes :func:`add_object_shapes` adds, cooked from the same points as
    the file loader would read (:func:`obj_corner_vertices`) and set up as ManiSkill's
    ``build_physx_component`` sets them (collision groups, density, patch radii, order): the
    same cooked hulls, mass, inertia and centre of mass, without assimp's cost per file."""
    body = entity.find_component_by_type(sapien.physx.PhysxRigidBaseComponent)
    material = _object_material()
    one = np.ones(3, np.float32)
    for pieces in _piece_vertices(asset.spec.category, asset.spec.scale):
        for vertices in pieces:
            shape = sapien.physx.PhysxCollisionShapeConvexMesh(vertices, one, material)
            shape.local_pose = sapien.Pose()
            shape.set_collision_groups(collision_groups)
            shape.set_density(asset.density)
            shape.set_patch_radius(0.0)
            shape.set_min_patch_radius(0.0)
            body.attach(shape)


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


class ObjectPool:
    """Built object entities kept for reuse across episodes (CPU simulation, one sub-scene).

    An entity (render body + PhysX rigid body with its cooked convex shapes) is built the
    first time a scene needs its geometry (category and size); between episodes it waits
    outside the scene (in no PhysX or render scene, so a waiting object costs no simulation
    or rendering time and can never show in a camera) and is taken again, recoloured, when
    a later scene holds an object of the same category and size: the same shapes, mass and
    materials a new build of that spec gets. At most ``max_waiting`` entities wait (the
    least recently used geometry is dropped first)."""

    def __init__(self, max_waiting: int = 512, collision: bool = True, body_type: str = "dynamic"):
        """``collision=False, body_type="static"``: visual-only entities (for renderers)."""
        self.max_waiting, self.collision, self.body_type = max_waiting, collision, body_type
        self._waiting: OrderedDict[tuple[str, float], list] = OrderedDict()
        self._n_waiting = 0
        self.built = 0
        self.reused = 0

    def take(self, scene, spec: ObjectSpec) -> sapien.Entity:
        """An entity of ``spec`` not in any scene: a waiting one recoloured, else a new build."""
        key = (spec.category, spec.scale)
        free = self._waiting.get(key)
        if not free:
            self.built += 1
            return build_object_entity(scene, build_object(spec), self.collision, self.body_type)
        self.reused += 1
        self._n_waiting -= 1
        entity = free.pop()
        if not free:
            del self._waiting[key]
        body = entity.find_component_by_type(sapien.render.RenderBodyComponent)
        for shape, part in zip(body.render_shapes, build_object(spec).parts):  # one shape per part, in order
            for mesh_part in shape.parts:
                mesh_part.material.base_color = [*part.rgb, 1.0]
        return entity

    def give_back(self, spec: ObjectSpec, entity: sapien.Entity) -> None:
        """Return an entity that was removed from its scene."""
        key = (spec.category, spec.scale)
        self._waiting.setdefault(key, []).append(entity)
        self._waiting.move_to_end(key)
        self._n_waiting += 1
        while self._n_waiting > self.max_waiting:
            old = next(iter(self._waiting))
            self._waiting[old].pop(0)
            self._n_waiting -= 1
            if not self._waiting[old]:
                del self._waiting[old]


def replace_object_slots(scene, pool: ObjectPool, slots: list[Actor], old_specs: list[ObjectSpec],
                         new_specs: list[ObjectSpec]) -> list[Actor]:
    """Scene reuse on the CPU backend (one sub-scene): give the objects of ``slots`` back to
    ``pool`` and return new slots holding ``new_specs`` (taken from ``pool``, built on first
    use), each at its parked position (the caller poses it).

    Everything else (robot, table, ground, lights, cameras, render resources) is kept, but
    the PhysX scene is new: every kept entity is removed and added again, in the order of
    a full rebuild (robot links, table, ground, the objects in slot order, lights,
    cameras), to a fresh ``PhysxCpuSystem`` sharing the old render system. A reused PhysX
    scene recycles internal ids, which reorders contact constraints and changes grasp
    trajectories in the last bits; a fresh one makes every step, image and segmentation id
    bit-identical to a rebuild. The caller sets the global PhysX configuration first."""
    old = scene.sub_scenes[0]
    object_names = {slot._objs[0].name for slot in slots}
    entities = old.entities
    first_object = next((i for i, e in enumerate(entities) if e.name in object_names), len(entities))
    before = [e for e in entities[:first_object] if e.name not in object_names]
    after = [e for e in entities[first_object:] if e.name not in object_names]
    for e in reversed(entities):
        old.remove_entity(e)
    for k, (slot, spec) in enumerate(zip(slots, old_specs)):
        scene.remove_from_state_dict_registry(scene.actors.pop(f"obj{k}-env0"))
        scene.actor_views.pop(slot.name, None)
        pool.give_back(spec, slot._objs[0])
    new = sapien.Scene([sapien.physx.PhysxCpuSystem(), old.render_system])
    new.physx_system.timestep = old.physx_system.timestep
    scene.sub_scenes[0], scene.px = new, new.physx_system
    for e in before:
        new.add_entity(e)
    new_slots = []
    for k, spec in enumerate(new_specs):
        entity = pool.take(scene, spec)
        name = f"obj{k}-env0"
        entity.name = f"scene-0_{name}"  # as ManiSkill's ActorBuilder.build names it
        entity.pose = sapien.Pose(p=parked_position(k))
        new.add_entity(entity)
        actor = Actor.create_from_entities([entity], scene, torch.tensor([0], dtype=torch.int, device=scene.device))
        actor.name, actor.initial_pose = name, Pose.create(entity.pose)
        scene.actors[name] = actor
        scene.add_to_state_dict_registry(actor)
        new_slots.append(Actor.merge([actor], name=f"obj{k}"))
    for e in after:
        new.add_entity(e)
    return new_slots


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
