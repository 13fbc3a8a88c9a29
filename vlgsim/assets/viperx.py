"""One ViperX 300 6-DoF arm (ALOHA) as a URDF + SRDF, written from gym-aloha's compiled MJCF.

ManiSkill 3.0.1's MJCF loader asserts on gym-aloha's ``bimanual_viperx_*.xml``, so, as for
the Shadow Hand (:mod:`vlgsim.assets.shadow_hand`), ``mujoco`` compiles the MJCF (includes,
defaults and mesh re-centring resolved) and this module keeps what a simulator and a motion
planner need: the left arm's kinematic tree (bodies, joint axes, limits), the inertials of
every link, and every mesh geom, exported from the compiled model's vertices and faces as
OBJ files (visual and collision: SAPIEN and mplib take their convex hulls, as MuJoCo does;
the hulls are also written as ``<mesh>.obj.convex.stl``, where mplib looks for them).

Links (arm base frame): ``base_link`` (on the table top, +x forward, +z up), ``shoulder_link``
... ``gripper_link`` (6 revolute joints: waist, shoulder, elbow, forearm_roll, wrist_angle,
wrist_rotate, as in the MJCF), ``gripper_prop_link`` (fixed), ``left_finger_link`` and
``right_finger_link`` (prismatic along the gripper's y; **both joints count metres of finger
travel from the centre line, 0.021 closed to 0.057 open**: the MJCF's right finger runs
from -0.057 to -0.021 along +y, here along -y with the same magnitude, so one mimic drive
moves both), and ``tcp``: a fixed frame between the finger pads with the Panda TCP's axes
(z along the fingers, y the closing direction), so grasp code is embodiment-neutral.
Lengths in metres, angles in radians.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from vlgsim.assets.cache import cache_dir
from vlgsim.assets.mjcf_tree import descends

ARM_JOINTS = ("waist", "shoulder", "elbow", "forearm_roll", "wrist_angle", "wrist_rotate")
FINGER_JOINTS = ("left_finger", "right_finger")
FINGER_RANGE_M = (0.021, 0.057)
"""Travel of each finger from the gripper's centre line: closed, open (MJCF ``left_finger``)."""
HOME_QPOS = np.array([0.0, -0.6, 0.6, 0.0, np.pi / 2, 0.0, 0.045, 0.045])
"""Home: gripper open, pointing straight down 0.20 m above the table, 0.18 m in front of the
base (gym-aloha's start keyframe points it forward: every pick would first turn the wrist 1.5 rad)."""
TCP_BEHIND_TIP_M = 0.012
"""The TCP sits this far behind the fingertips, in the middle of the pads."""
MJCF_ARM = "vx300s_left"
VERSION = 3
VISUAL_CELL_M = 0.001
"""Visual meshes keep one vertex per 1 mm cell (:func:`cluster_vertices`): 30k -> 15k
triangles per arm (the gripper's 9000 -> 1600), each vertex moved less than the cell's diagonal
(1.7 mm), about a pixel of the closest 128 x 128 view (wrist cameras, fingers >= 0.1 m away).
Rendering on SAPIEN's CPU path is geometry-bound; collision meshes keep every vertex."""


def mjcf_path() -> str:
    import gym_aloha

    return os.path.join(os.path.dirname(gym_aloha.__file__), "assets", "bimanual_viperx_transfer_cube.xml")


def _rpy(quat_wxyz) -> str:
    from transforms3d.euler import quat2euler

    return " ".join(f"{v:.9g}" for v in quat2euler(np.asarray(quat_wxyz, float), "sxyz"))


def _xyz(v) -> str:
    return " ".join(f"{float(x):.9g}" for x in v)


def _mesh_obj(m, mesh_id: int, path: Path) -> np.ndarray:
    """Write a compiled mesh (re-centred frame, metres) as OBJ, and its visual version
    (:data:`VISUAL_CELL_M`) as ``<name>.visual.obj``; return its vertices."""
    va, vn = int(m.mesh_vertadr[mesh_id]), int(m.mesh_vertnum[mesh_id])
    fa, fn = int(m.mesh_faceadr[mesh_id]), int(m.mesh_facenum[mesh_id])
    v = np.asarray(m.mesh_vert[va:va + vn], float)
    f = np.asarray(m.mesh_face[fa:fa + fn], int)
    _write_obj(path, v, f)
    _write_obj(path.with_suffix(".visual.obj"), *cluster_vertices(v, f, VISUAL_CELL_M))
    return v


def cluster_vertices(v: np.ndarray, f: np.ndarray, cell_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Vertex-clustering decimation: vertices (N, 3) sharing a ``cell_m`` grid cell merge into
    their mean; faces (M, 3) that collapse to a line or a point, and duplicates, are dropped."""
    _, cell = np.unique(np.floor(v / cell_m).astype(np.int64), axis=0, return_inverse=True)
    cell = cell.ravel()
    n = int(cell.max()) + 1
    merged = np.zeros((n, 3))
    np.add.at(merged, cell, v)
    merged /= np.bincount(cell, minlength=n)[:, None]
    g = cell[f]
    g = g[(g[:, 0] != g[:, 1]) & (g[:, 1] != g[:, 2]) & (g[:, 0] != g[:, 2])]
    _, first = np.unique(np.sort(g, axis=1), axis=0, return_index=True)
    return merged, g[np.sort(first)]  # keeps each face's winding (its outward normal)


def _write_obj(path: Path, v: np.ndarray, f: np.ndarray) -> None:
    with open(path, "w") as fh:
        fh.writelines(f"v {a:.7g} {b:.7g} {c:.7g}\n" for a, b, c in v)
        fh.writelines(f"f {a + 1} {b + 1} {c + 1}\n" for a, b, c in f)


def _convex_stl(verts: np.ndarray, path: Path) -> None:
    """The convex hull of a collision mesh, where mplib looks for it (``<mesh>.convex.stl``)."""
    import trimesh

    trimesh.Trimesh(vertices=verts).convex_hull.export(str(path))


def _quat_mat(q) -> np.ndarray:
    from transforms3d.quaternions import quat2mat

    return quat2mat(np.asarray(q, float))


@lru_cache(maxsize=1)
def viperx_urdf() -> str:
    """Path of the generated one-arm URDF (its SRDF lies beside it), cached on disk."""
    import mujoco

    out = cache_dir(f"viperx_v{VERSION}")
    urdf = out / "vx300s.urdf"
    if urdf.exists() and (out / "vx300s.srdf").exists():
        return str(urdf)
    m = mujoco.MjModel.from_xml_path(mjcf_path())
    root = m.body(MJCF_ARM).id
    bodies = [b for b in range(root, m.nbody) if descends(m, b, root) and m.body(b).name != f"{MJCF_ARM}/camera_focus"]
    name = {b: ("base_link" if b == root else m.body(b).name.split("/")[1]) for b in bodies}
    links, joints = [], []
    finger_verts = {}
    for b in bodies:
        geoms = []
        for g in range(m.ngeom):
            if int(m.geom_bodyid[g]) != b or m.geom_type[g] != mujoco.mjtGeom.mjGEOM_MESH:
                continue
            mid = int(m.geom_dataid[g])
            fname = f"{m.mesh(mid).name}.obj"
            verts = _mesh_obj(m, mid, out / fname)
            origin = f'<origin xyz="{_xyz(m.geom_pos[g])}" rpy="{_rpy(m.geom_quat[g])}"/>'
            geo = f'<geometry><mesh filename="{fname}"/></geometry>'
            vis = f'<geometry><mesh filename="{m.mesh(mid).name}.visual.obj"/></geometry>'
            geoms.append(f'<visual>{origin}{vis}<material name="vx_grey"><color rgba="0.15 0.15 0.15 1"/></material></visual>')
            if m.geom_contype[g] or m.geom_conaffinity[g]:
                geoms.append(f"<collision>{origin}{geo}</collision>")
                _convex_stl(verts, out / f"{fname}.convex.stl")
            if name[b] in ("left_finger_link", "right_finger_link"):
                finger_verts[name[b]] = verts @ _quat_mat(m.geom_quat[g]).T + m.geom_pos[g]
        inertial = ""
        if m.body_mass[b] > 0:
            inertial = (f'<inertial><origin xyz="{_xyz(m.body_ipos[b])}" rpy="{_rpy(m.body_iquat[b])}"/>'
                        f'<mass value="{m.body_mass[b]:.9g}"/><inertia ixx="{m.body_inertia[b][0]:.9g}" ixy="0" ixz="0" '
                        f'iyy="{m.body_inertia[b][1]:.9g}" iyz="0" izz="{m.body_inertia[b][2]:.9g}"/></inertial>')
        links.append(f'<link name="{name[b]}">{inertial}{"".join(geoms)}</link>')
        if b == root:
            continue
        parent = name[int(m.body_parentid[b])]
        origin = f'<origin xyz="{_xyz(m.body_pos[b])}" rpy="{_rpy(m.body_quat[b])}"/>'
        if m.body_jntnum[b] == 0:
            joints.append(f'<joint name="{name[b]}_fixed" type="fixed">{origin}<parent link="{parent}"/>'
                          f'<child link="{name[b]}"/></joint>')
            continue
        j = int(m.body_jntadr[b])
        jname = m.joint(j).name.split("/")[1]
        axis, (lo, hi) = np.array(m.jnt_axis[j], float), m.jnt_range[j]
        if jname == "right_finger":  # same magnitude as the left finger, opening along -y
            axis, (lo, hi) = -axis, (-hi, -lo)
        kind = "prismatic" if m.jnt_type[j] == mujoco.mjtJoint.mjJNT_SLIDE else "revolute"
        vel = 1.0 if kind == "prismatic" else 3.14
        joints.append(f'<joint name="{jname}" type="{kind}">{origin}<parent link="{parent}"/><child link="{name[b]}"/>'
                      f'<axis xyz="{_xyz(axis)}"/><limit lower="{lo:.9g}" upper="{hi:.9g}" effort="100" velocity="{vel}"/>'
                      f"</joint>")
    # TCP: between the pads, TCP_BEHIND_TIP_M behind the fingertips (gripper_link frame: x along the fingers)
    finger_origin_x = float(m.body_pos[m.body(f"{MJCF_ARM}/left_finger_link").id][0])
    tip_x = finger_origin_x + max(float(v[:, 0].max()) for v in finger_verts.values())
    tcp_x = tip_x - TCP_BEHIND_TIP_M
    links.append('<link name="tcp"/>')
    # Ry(+90 deg): TCP z = gripper x (along the fingers), TCP y = gripper y (closing), TCP x = -gripper z
    joints.append(f'<joint name="tcp_fixed" type="fixed"><origin xyz="{tcp_x:.9g} 0 0" rpy="0 1.57079632679 0"/>'
                  '<parent link="gripper_link"/><child link="tcp"/></joint>')
    urdf.with_suffix(".tmp").write_text(f'<?xml version="1.0"?>\n<robot name="vx300s">\n' + "\n".join(links + joints)
                                        + "\n</robot>\n")
    _write_srdf(out / "vx300s.srdf", [name[b] for b in bodies])
    os.replace(urdf.with_suffix(".tmp"), urdf)
    return str(urdf)


def _write_srdf(path: Path, link_names: list[str]) -> None:
    """Self-collision pairs to ignore: neighbours along the chain and the gripper's own parts
    (they touch by construction)."""
    chain = ["base_link", "shoulder_link", "upper_arm_link", "upper_forearm_link", "lower_forearm_link", "wrist_link",
             "gripper_link"]
    hand = ["gripper_link", "gripper_prop_link", "left_finger_link", "right_finger_link", "wrist_link"]
    pairs = {tuple(sorted(p)) for p in zip(chain, chain[1:])}
    pairs |= {tuple(sorted((a, b))) for a in hand for b in hand if a != b}
    pairs |= {("base_link", "upper_arm_link")}
    body = "\n".join(f'  <disable_collisions link1="{a}" link2="{b}" reason="Adjacent"/>' for a, b in sorted(pairs)
                     if a in link_names and b in link_names)
    path.write_text(f'<?xml version="1.0"?>\n<robot name="vx300s">\n{body}\n</robot>\n')
