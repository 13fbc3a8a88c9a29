"""A floating Shadow Hand and one object in a SAPIEN scene (validation and the DexVLG env).

The hand is an articulation with a fixed world root, a virtual 6-DoF wrist (prismatic x, y,
z then revolute x, y, z: intrinsic XYZ Euler angles, world frame) and the 22 finger joints
of :mod:`vlgsim.assets.shadow_hand`, every joint PD-driven. Collision shapes are the MJCF's
capsules and boxes; visual shapes are the Shadow Hand's STL meshes (``visual="mesh"``, the
default) or the collision capsules and boxes (``visual="capsules"``). Joint order of ``qpos``: 6 wrist values then JOINT_NAMES.
"""

from __future__ import annotations

import numpy as np
import sapien
from scipy.spatial.transform import Rotation

from vlgsim.assets import ObjectAsset
from vlgsim.assets.shadow_hand import FINGERS, JOINT_NAMES, HandModel, load_shadow_hand_visuals
from vlgsim.grasp.dexterous import rot6d_to_matrix
from vlgsim.sim.maniskill_scene import _mesh_file, add_object_shapes
from vlgsim.sim.physx_config import sapien_physx_defaults

HAND_RGB = (0.85, 0.85, 0.82)
WRIST_JOINTS = ("wrist_px", "wrist_py", "wrist_pz", "wrist_rx", "wrist_ry", "wrist_rz")
_X_TO = {  # quaternions (wxyz) turning the joint frame's x axis onto a link axis
    "x": [1.0, 0.0, 0.0, 0.0],
    "y": [np.sqrt(0.5), 0.0, 0.0, np.sqrt(0.5)],
    "z": [np.sqrt(0.5), 0.0, -np.sqrt(0.5), 0.0],
}
HAND_COLLISION_BIT = 1 << 30
"""Shapes sharing a bit of collision group 2 ignore each other (SAPIEN/PhysX filter)."""
PAD_PATCH_M = 0.006
"""Contact patch radius of the hand's shapes: PhysX torsional friction, a soft-finger contact."""
WRIST_STIFFNESS, WRIST_DAMPING = 2e4, 2e3
FINGER_STIFFNESS, FINGER_DAMPING, FINGER_FORCE = 1000.0, 5.0, 100.0
"""Finger PD drives (N m/rad, N m s/rad, N m), one set for validation and the env, so the oracle
executes what was validated. Stiffness 1000 is DexGraspNet's (``isaac_validator.py``: ``stiffness``
1000, ``damping`` 0); damping stays 5 (with 0 the squeezed fingers knocked more free objects out
of the hand in the validator here, ``scripts/dex_hold_rules.py``); DexGraspNet's validator sets no
force limit; ours is 100. Before session 9: 200 / 5 / 20, under which no
grasp of the bottle's cap stayed in the hand under sideways gravity."""


def _x_to(axis: np.ndarray) -> list[float]:
    """Quaternion (wxyz) rotating +x onto unit ``axis``."""
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    r, _ = Rotation.align_vectors([axis], [[1.0, 0, 0]])
    x, y, z, w = r.as_quat()
    return [w, x, y, z]


def grasp_to_qpos(g: np.ndarray) -> np.ndarray:
    """31-D world-frame grasp -> 28 joint values (xyz, XYZ Euler, q22)."""
    R = rot6d_to_matrix(g[3:9])
    return np.concatenate([g[:3], Rotation.from_matrix(R).as_euler("XYZ"), g[9:]])


def _visual_files() -> dict[str, list[str]]:
    """Link name -> OBJ files (mesh cache) of its STL visual meshes, in the link frame."""
    import trimesh

    files: dict[str, list[str]] = {}
    for vm in load_shadow_hand_visuals():
        files.setdefault(vm.link, []).append(_mesh_file(trimesh.Trimesh(vm.vertices, vm.faces, process=False)))
    return files


def build_hand(scene: sapien.Scene, hand: HandModel, friction: float, visual: str = "mesh") -> sapien.physx.PhysxArticulation:
    """The hand articulation; ``visual``: 'mesh' (STL meshes) or 'capsules' (collision shapes drawn)."""
    if visual not in ("mesh", "capsules"):
        raise ValueError(f"visual {visual!r}; rule: 'mesh' or 'capsules'")
    meshes = _visual_files() if visual == "mesh" else {}
    mat = sapien.physx.PhysxMaterial(friction, friction, 0.0)
    rm = sapien.render.RenderMaterial(base_color=[*HAND_RGB, 1.0], roughness=0.5)
    b = scene.create_articulation_builder()
    prev = b.create_link_builder()
    prev.set_name("hand_mount")
    for name, kind, axis in [("px", "prismatic", "x"), ("py", "prismatic", "y"), ("pz", "prismatic", "z"),
                             ("rx", "revolute", "x"), ("ry", "revolute", "y"), ("rz", "revolute", "z")]:
        lb = b.create_link_builder(prev)
        lb.set_name(f"wrist_{name}")
        lb.set_joint_name(f"wrist_{name}")
        limits = [[-3.0, 3.0]] if kind == "prismatic" else [[-np.inf, np.inf]]
        pose = sapien.Pose(q=_X_TO[axis])
        lb.set_joint_properties(kind, limits, pose, pose)
        lb.set_mass_and_inertia(0.05, sapien.Pose(), [1e-5] * 3)
        prev = lb
    links = []
    for lk, name in enumerate(hand.link_names):
        parent = prev if lk == 0 else links[hand.parent[lk]]
        lb = b.create_link_builder(parent)
        lb.set_name(name)
        if lk == 0:
            lb.set_joint_properties("fixed", [], sapien.Pose(), sapien.Pose())
        else:
            j = hand.link_joint[lk]
            lb.set_joint_name(JOINT_NAMES[j])
            qa = _x_to(hand.axis[lk])
            origin = sapien.Pose(hand.origin_pos[lk], hand.origin_quat[lk]) * sapien.Pose(q=qa)
            lb.set_joint_properties("revolute", [[hand.lower[j], hand.upper[j]]], origin, sapien.Pose(q=qa))
        for c in (c for c in hand.capsules if c.link == lk):
            pose = sapien.Pose((c.p0 + c.p1) / 2, _X_TO["z"])
            half = float(np.linalg.norm(c.p1 - c.p0) / 2)
            lb.add_capsule_collision(pose, c.radius, half, material=mat, density=500, patch_radius=PAD_PATCH_M,
                                     min_patch_radius=PAD_PATCH_M / 2)
            if visual == "capsules":
                lb.add_capsule_visual(pose, c.radius, half, material=rm)
        for bx in (bx for bx in hand.boxes if bx.link == lk):
            lb.add_box_collision(sapien.Pose(bx.center), bx.half, material=mat, density=500, patch_radius=PAD_PATCH_M,
                                 min_patch_radius=PAD_PATCH_M / 2)
            if visual == "capsules":
                lb.add_box_visual(sapien.Pose(bx.center), bx.half, material=rm)
        for f in meshes.get(name, ()):
            lb.add_visual_from_file(f, material=rm)
        if not any(c.link == lk for c in hand.capsules) and not any(bx.link == lk for bx in hand.boxes):
            lb.set_mass_and_inertia(0.01, sapien.Pose(), [1e-6] * 3)
        links.append(lb)
    art = b.build(fix_root_link=True)
    art.name = "shadow_hand"
    for j in art.get_active_joints():
        if j.name.startswith("wrist_"):
            j.set_drive_property(WRIST_STIFFNESS, WRIST_DAMPING, 1e4)
        else:
            j.set_drive_property(FINGER_STIFFNESS, FINGER_DAMPING, FINGER_FORCE)
    for link in art.get_links():
        link.disable_gravity = True
        for shape in link.collision_shapes:  # no self-collision (E_spen checks it geometrically)
            g = shape.get_collision_groups()
            shape.set_collision_groups([g[0], g[1], g[2] | HAND_COLLISION_BIT, g[3]])
    return art


class DexScene:
    """Hand + one object (+ optional table top at z = 0). Object poses are 4x4 world matrices."""

    def __init__(self, hand: HandModel, scene: sapien.Scene, table: bool, friction: float = 1.0,
                 timestep: float = 1 / 120, visual: str = "mesh"):
        self.hand, self.scene, self.friction = hand, scene, friction
        scene.set_timestep(timestep)
        with sapien_physx_defaults():  # the same bodies whatever ManiSkill env was built before
            self.hand_art = build_hand(scene, hand, friction, visual)
        names = [j.name for j in self.hand_art.get_active_joints()]  # SAPIEN orders joints breadth-first
        self.order = np.array([names.index(n) for n in WRIST_JOINTS + JOINT_NAMES])
        self.joints = [self.hand_art.get_active_joints()[i] for i in self.order]
        self.link_finger = {}
        for link in self.hand_art.get_links():
            if link.name in hand.link_names:
                f = hand.link_finger[hand.link_names.index(link.name)]
                self.link_finger[link.name] = FINGERS[f] if f >= 0 else "palm"
        self.table = None
        if table:
            tb = scene.create_actor_builder()
            mat = sapien.physx.PhysxMaterial(friction, friction, 0.0)
            tb.add_box_collision(sapien.Pose([0, 0, -0.02]), [0.4, 0.4, 0.02], material=mat)
            tb.add_box_visual(sapien.Pose([0, 0, -0.02]), [0.4, 0.4, 0.02],
                              material=sapien.render.RenderMaterial(base_color=[0.55, 0.45, 0.35, 1]))
            with sapien_physx_defaults():
                self.table = tb.build_static(name="table")
        self.obj = None
        self.asset = None

    def set_object(self, asset: ObjectAsset, pose: np.ndarray) -> None:
        if self.obj is not None and self.asset == asset:
            self.place_object(pose)
            return
        if self.obj is not None:
            self.scene.remove_entity(self.obj)
        b = self.scene.create_actor_builder()
        add_object_shapes(b, asset)
        b.set_initial_pose(sapien.Pose(pose))
        with sapien_physx_defaults():
            self.obj = b.build(name="object")
        self.asset = asset
        body = self.obj.find_component_by_type(sapien.physx.PhysxRigidDynamicComponent)
        for s in body.collision_shapes:
            s.physical_material = sapien.physx.PhysxMaterial(self.friction, self.friction, 0.0)
        self.body = body

    def place_object(self, pose: np.ndarray) -> None:
        self.obj.pose = sapien.Pose(pose)
        self.body.linear_velocity = np.zeros(3)
        self.body.angular_velocity = np.zeros(3)

    @property
    def object_pose(self) -> np.ndarray:
        return self.obj.pose.to_transformation_matrix()

    def set_hand(self, qpos: np.ndarray, targets: np.ndarray | None = None) -> None:
        """Teleport the hand to 28 joint values (and drive towards ``targets``, default the same)."""
        q = np.zeros(len(self.order), np.float32)
        q[self.order] = qpos
        self.hand_art.set_qpos(q)
        self.hand_art.set_qvel(np.zeros(len(qpos), np.float32))
        self.drive(qpos if targets is None else targets)

    def drive(self, targets: np.ndarray, velocities: np.ndarray | None = None) -> None:
        """PD targets of the 28 joints (m, rad) and, optionally, their velocity targets (m/s,
        rad/s; default 0): tracking a moving target without lag needs its velocity."""
        for k, (j, t) in enumerate(zip(self.joints, targets)):
            j.set_drive_target(float(t))
            j.set_drive_velocity_target(float(velocities[k]) if velocities is not None else 0.0)

    @property
    def qpos(self) -> np.ndarray:
        return self.hand_art.get_qpos().astype(np.float64)[self.order]

    def step(self, n: int = 1, object_force: np.ndarray | None = None) -> None:
        for _ in range(n):
            if object_force is not None:
                self.body.add_force_torque(object_force, np.zeros(3))
            self.scene.step()

    def hand_contacts(self, min_impulse: float = 1e-6) -> list[tuple[str, np.ndarray]]:
        """(hand link name, world contact point) for every hand-object contact point."""
        out = []
        for c in self.scene.get_contacts():
            names = [b.entity.name for b in c.bodies]
            if "object" not in names:
                continue
            other = names[1 - names.index("object")]
            if other not in self.link_finger:
                continue
            for p in c.points:
                if np.linalg.norm(p.impulse) > min_impulse or p.separation < 1e-4:
                    out.append((other, np.asarray(p.position, np.float64)))
        return out

    def touching_fingers(self) -> set[str]:
        return {self.link_finger[name] for name, _ in self.hand_contacts()} - {"palm"}

    def link_pose(self, name: str) -> np.ndarray:
        for link in self.hand_art.get_links():
            if link.name == name:
                return link.entity_pose.to_transformation_matrix()
        raise KeyError(name)
