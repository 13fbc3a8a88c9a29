"""The Shadow Hand from the OpenAI MJCF shipped in ``gymnasium-robotics``, as plain arrays.

``mujoco`` compiles the MJCF (``envs/assets/hand/reach.xml`` of the wheel: includes, defaults
and classes resolved); this module keeps the part a grasp needs: the palm as the floating
root (the forearm and the two wrist joints are dropped: the wrist is the free 6-DoF pose
of a grasp), 22 finger joints in DexGraspNet order, their limits, the collision capsules
and boxes of every link, a fingertip pad point per finger, a palm point, contact-candidate
points per link, self-collision spheres, and the MJCF's distal-joint couplings.
:func:`load_shadow_hand_visuals` gives the STL visual meshes per link (for rendering).

Frames (MJCF): the palm frame has z along the fingers, x towards the index finger's side
and -y out of the palm (fingers flex towards -y). Lengths in metres, angles in radians.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from vlgsim.assets.mjcf_tree import descends

FINGERS = ("thumb", "index", "middle", "ring", "little")
"""Finger names as captions use them; MJCF prefixes th, ff, mf, rf, lf."""
_PREFIX = {"th": "thumb", "ff": "index", "mf": "middle", "rf": "ring", "lf": "little"}
JOINT_NAMES = tuple(
    [f"FFJ{i}" for i in (3, 2, 1, 0)] + [f"MFJ{i}" for i in (3, 2, 1, 0)] + [f"RFJ{i}" for i in (3, 2, 1, 0)]
    + [f"LFJ{i}" for i in (4, 3, 2, 1, 0)] + [f"THJ{i}" for i in (4, 3, 2, 1, 0)]
)
"""The 22 finger joints, in the order of the q part of a 31-D grasp (DexGraspNet's order)."""
N_JOINTS = len(JOINT_NAMES)
PAD_DEPTH_M = 0.016
"""Fingertip pad point: on the distal capsule's surface, this far along the link from its joint."""


@dataclass(frozen=True)
class Capsule:
    link: int
    p0: np.ndarray
    p1: np.ndarray
    radius: float


@dataclass(frozen=True)
class Box:
    link: int
    center: np.ndarray
    half: np.ndarray
    """Half extents along the link frame's axes (all Shadow Hand boxes are axis-aligned)."""


@dataclass(frozen=True)
class HandModel:
    """Kinematic tree rooted at the palm; link 0 is the palm, parents come before children.

    ``origin_pos``/``origin_quat`` (wxyz) place each link's joint frame in its parent link's
    frame; the link rotates about ``axis`` (link frame) by its joint angle.
    """

    link_names: tuple[str, ...]
    parent: np.ndarray  # (L,) int, -1 for the palm
    link_joint: np.ndarray  # (L,) int index into JOINT_NAMES, -1 for the palm
    link_finger: np.ndarray  # (L,) int index into FINGERS, -1 for the palm
    origin_pos: np.ndarray  # (L, 3)
    origin_quat: np.ndarray  # (L, 4) wxyz
    axis: np.ndarray  # (L, 3)
    lower: np.ndarray  # (22,)
    upper: np.ndarray  # (22,)
    capsules: tuple[Capsule, ...]
    boxes: tuple[Box, ...]
    tip_link: np.ndarray  # (5,) link of each finger's pad, FINGERS order
    tip_point: np.ndarray  # (5, 3) pad point in its link frame
    tip_normal: np.ndarray  # (5, 3) outward pad normal in its link frame
    palm_point: np.ndarray  # (3,) centre of the palm's inner face, palm frame
    palm_normal: np.ndarray  # (3,) out of the palm, palm frame
    couplings: tuple[tuple[int, int, float, float], ...]
    """(j_distal, j_middle, ratio, tolerance): |q_distal - ratio * q_middle| <= tolerance (MJCF tendon)."""

    @property
    def n_links(self) -> int:
        return len(self.link_names)

    @property
    def tip_capsule(self) -> np.ndarray:
        """(5,) index into ``capsules`` of each finger's distal capsule, FINGERS order."""
        return np.array([next(i for i, c in enumerate(self.capsules) if c.link == lk) for lk in self.tip_link])

    def depth(self) -> np.ndarray:
        d = np.zeros(self.n_links, int)
        for i in range(1, self.n_links):
            d[i] = d[self.parent[i]] + 1
        return d

    def spheres(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Self-collision spheres: (link (S,), centre in link frame (S, 3), radius (S,)).
        Three per capsule (ends and middle) and a grid over each box's inner face."""
        links, centres, radii = [], [], []
        for c in self.capsules:
            for t in (0.0, 0.5, 1.0):
                links.append(c.link)
                centres.append(c.p0 + t * (c.p1 - c.p0))
                radii.append(c.radius)
        for b in self.boxes:
            r = float(b.half[1])
            for ix in np.linspace(-1, 1, 3):
                for iz in np.linspace(-1, 1, 4):
                    links.append(b.link)
                    centres.append(b.center + [ix * max(b.half[0] - r, 0), 0, iz * max(b.half[2] - r, 0)])
                    radii.append(r)
        return np.array(links), np.array(centres, float), np.array(radii, float)

    def self_collision_pairs(self) -> np.ndarray:
        """(P, 2) sphere index pairs that may not overlap: spheres of different fingers,
        and finger spheres against palm spheres except a finger's first link."""
        links, _, _ = self.spheres()
        finger = self.link_finger[links]
        first = np.array([self.parent[lk] == 0 or (self.parent[lk] >= 0 and self.parent[self.parent[lk]] == 0)
                          for lk in links])
        pairs = []
        for i in range(len(links)):
            for j in range(i + 1, len(links)):
                if finger[i] >= 0 and finger[j] >= 0 and finger[i] != finger[j]:
                    pairs.append((i, j))
                elif (finger[i] < 0) != (finger[j] < 0):
                    k = i if finger[i] >= 0 else j
                    if not first[k]:
                        pairs.append((i, j))
        return np.array(pairs, np.int32)

    def contact_candidates(self, per_capsule: int = 12) -> tuple[np.ndarray, np.ndarray]:
        """Contact-candidate points on the capsules' surfaces: (link (N,), point in link frame (N, 3))."""
        links, pts = [], []
        for c in self.capsules:
            axis = c.p1 - c.p0
            for k in range(per_capsule):
                t = (k // 4 + 0.5) / max(per_capsule // 4, 1)
                ang = 2 * np.pi * (k % 4) / 4
                links.append(c.link)
                pts.append(c.p0 + t * axis + c.radius * np.array([np.cos(ang), np.sin(ang), 0.0]))
        return np.array(links), np.array(pts)


def mjcf_path() -> str:
    import gymnasium_robotics

    return os.path.join(os.path.dirname(gymnasium_robotics.__file__), "envs", "assets", "hand", "reach.xml")


@lru_cache(maxsize=1)
def load_shadow_hand() -> HandModel:
    """Compile the gymnasium-robotics Shadow Hand MJCF with mujoco and keep the palm subtree."""
    import mujoco

    m = mujoco.MjModel.from_xml_path(mjcf_path())
    palm = m.body("robot0:palm").id
    bodies = [palm] + [b for b in range(palm + 1, m.nbody) if descends(m, b, palm)]
    index = {b: i for i, b in enumerate(bodies)}
    names, parent, joint, finger = [], [], [], []
    pos, quat, axis = [], [], []
    lower, upper = np.zeros(N_JOINTS), np.zeros(N_JOINTS)
    for b in bodies:
        name = m.body(b).name.removeprefix("robot0:")
        names.append(name)
        parent.append(index.get(int(m.body_parentid[b]), -1) if b != palm else -1)
        finger.append(FINGERS.index(_PREFIX[name[:2]]) if name[:2] in _PREFIX else -1)
        pos.append(m.body_pos[b].copy() if b != palm else np.zeros(3))
        quat.append(m.body_quat[b].copy() if b != palm else np.array([1.0, 0, 0, 0]))
        if b == palm or m.body_jntnum[b] == 0:
            joint.append(-1)
            axis.append(np.array([0.0, 0, 1]))
            continue
        j = int(m.body_jntadr[b])
        jn = m.joint(j).name.removeprefix("robot0:")
        k = JOINT_NAMES.index(jn)
        joint.append(k)
        axis.append(m.jnt_axis[j] / np.linalg.norm(m.jnt_axis[j]))
        lower[k], upper[k] = m.jnt_range[j]
    capsules, boxes = [], []
    for g in range(m.ngeom):
        b = int(m.geom_bodyid[g])
        if b not in index or m.geom_contype[g] == 0 or m.geom_size[g][0] <= 0.002:
            continue
        if not np.allclose(m.geom_quat[g], [1, 0, 0, 0]):
            raise ValueError(f"geom {m.geom(g).name} is rotated in its link; the loader expects axis-aligned geoms")
        c = m.geom_pos[g].copy()
        if m.geom_type[g] == mujoco.mjtGeom.mjGEOM_CAPSULE:
            r, h = m.geom_size[g][:2]
            capsules.append(Capsule(index[b], c - [0, 0, h], c + [0, 0, h], float(r)))
        elif m.geom_type[g] == mujoco.mjtGeom.mjGEOM_BOX:
            boxes.append(Box(index[b], c, m.geom_size[g].copy()))
    tip_link, tip_point, tip_normal = [], [], []
    for f in FINGERS:
        prefix = next(p for p, n in _PREFIX.items() if n == f)
        lk = names.index(f"{prefix}distal")
        cap = next(c for c in capsules if c.link == lk)
        # pads face the flexion side: -y for the four fingers, -x for the thumb (MJCF frames)
        n = np.array([-1.0, 0, 0]) if f == "thumb" else np.array([0.0, -1.0, 0])
        tip_link.append(lk)
        tip_point.append(np.array([0, 0, PAD_DEPTH_M]) + cap.radius * n)
        tip_normal.append(n)
    couplings = []
    for f in ("FF", "MF", "RF", "LF"):
        t = m.tendon(f"robot0:T_{f}J1c")
        adr, num = int(m.tendon_adr[t.id]), int(m.tendon_num[t.id])
        coef = {m.joint(int(m.wrap_objid[adr + i])).name.removeprefix("robot0:"): float(m.wrap_prm[adr + i])
                for i in range(num)}
        c0, c1 = coef[f"{f}J0"], -coef[f"{f}J1"]
        couplings.append((JOINT_NAMES.index(f"{f}J0"), JOINT_NAMES.index(f"{f}J1"), c1 / c0,
                          float(m.tendon_range[t.id][1]) / c0))
    palm_box = next(bx for bx in boxes if bx.link == 0)
    return HandModel(
        link_names=tuple(names), parent=np.array(parent), link_joint=np.array(joint), link_finger=np.array(finger),
        origin_pos=np.array(pos), origin_quat=np.array(quat), axis=np.array(axis), lower=lower, upper=upper,
        capsules=tuple(capsules), boxes=tuple(boxes), tip_link=np.array(tip_link), tip_point=np.array(tip_point),
        tip_normal=np.array(tip_normal),
        palm_point=palm_box.center - [0, palm_box.half[1], 0], palm_normal=np.array([0.0, -1.0, 0.0]),
        couplings=tuple(couplings),
    )


@dataclass(frozen=True)
class VisualMesh:
    """One of the MJCF's visual meshes (the Shadow Hand STLs shipped in gymnasium-robotics, as
    mujoco compiles them: scaled to metres), in its link's frame."""

    link: str
    vertices: np.ndarray  # (V, 3) metres, link frame
    faces: np.ndarray  # (F, 3) int


@lru_cache(maxsize=1)
def load_shadow_hand_visuals() -> tuple[VisualMesh, ...]:
    """The visual (non-colliding) mesh geoms of the palm subtree: palm, knuckles, phalanges,
    little-finger metacarpal and thumb (forearm and wrist dropped, as in :func:`load_shadow_hand`)."""
    import mujoco

    m = mujoco.MjModel.from_xml_path(mjcf_path())
    palm = m.body("robot0:palm").id
    out = []
    for g in range(m.ngeom):
        b = int(m.geom_bodyid[g])
        if m.geom_type[g] != mujoco.mjtGeom.mjGEOM_MESH or m.geom_contype[g] != 0 or not descends(m, b, palm):
            continue
        d = int(m.geom_dataid[g])
        v = m.mesh_vert[m.mesh_vertadr[d]:m.mesh_vertadr[d] + m.mesh_vertnum[d]].astype(np.float64)
        f = m.mesh_face[m.mesh_faceadr[d]:m.mesh_faceadr[d] + m.mesh_facenum[d]].astype(np.int64)
        w, x, y, z = m.geom_quat[g]
        R = np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
                      [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
                      [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]])
        out.append(VisualMesh(m.body(b).name.removeprefix("robot0:"), v @ R.T + m.geom_pos[g], f))
    return tuple(out)
