"""Force-closure test of a grasp's contacts by linear programming (wrench space).

DexVLG scores grasps with an LP-based force-closure measure (after DexGraspNet 2.0): the LP
chooses the contact forces instead of assuming equal ones. As a check we use the classical
qualitative form of that LP (Ferrari and Canny's grasp wrench space): each contact ``p_i``
with inward normal ``n_i`` (the finger pushes the object along ``-outward normal``) gets a
friction cone linearised by ``edges`` unit forces ``f_ij = n_i + mu (cos a_j t1 + sin a_j t2)``,
normalised, and the primitive wrenches ``w_ij = [f_ij, (p_i - c) x f_ij / r]`` (``c`` the
object's centre, ``r`` the largest contact distance from it, so torques are in the units of
forces). The grasp is in force closure iff the origin lies strictly inside the convex hull
of the ``w_ij``: the wrenches span R^6 and the LP

    maximise t  s.t.  sum_j lambda_j w_j = 0,  sum_j lambda_j = 1,  lambda_j >= t,

has an optimum ``t* > 0`` (every primitive wrench takes part in a zero net wrench, so any
small disturbance wrench can be resisted). :func:`force_closure_margin` returns ``t*``
(0 when the wrenches do not span R^6 or the LP is infeasible).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog

FC_FRICTION = 0.5
"""Friction coefficient of the check's cones: far below the validation's PhysX friction (3), so
the check asks for a grasp that would hold on an ordinary surface."""
FC_EDGES = 8
FC_MIN_MARGIN = 1e-6


def primitive_wrenches(points: np.ndarray, inward_normals: np.ndarray, center: np.ndarray,
                       mu: float = FC_FRICTION, edges: int = FC_EDGES) -> np.ndarray:
    """(6, M * edges) unit-force primitive wrenches of M contacts (object frame, metres)."""
    points = np.asarray(points, np.float64).reshape(-1, 3)
    normals = np.asarray(inward_normals, np.float64).reshape(-1, 3)
    if len(points) != len(normals):
        raise ValueError(f"{len(points)} contact points but {len(normals)} normals; rule: one normal per point")
    if not (np.all(np.isfinite(points)) and np.all(np.isfinite(normals))):
        raise ValueError("contact points/normals contain NaN or inf; rule: finite values")
    if not np.isfinite(mu) or mu < 0:
        raise ValueError(f"friction coefficient {mu!r}; rule: finite and >= 0")
    normals = normals / np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
    r = max(float(np.max(np.linalg.norm(points - center, axis=1), initial=0.0)), 1e-3)
    cols = []
    angles = 2 * np.pi * np.arange(edges) / edges
    for p, n in zip(points, normals):
        t1 = np.cross(n, [1.0, 0.0, 0.0] if abs(n[0]) < 0.9 else [0.0, 1.0, 0.0])
        t1 /= np.linalg.norm(t1)
        t2 = np.cross(n, t1)
        for a in angles:
            f = n + mu * (np.cos(a) * t1 + np.sin(a) * t2)
            f /= np.linalg.norm(f)
            cols.append(np.r_[f, np.cross(p - center, f) / r])
    return np.array(cols).T if cols else np.zeros((6, 0))


def force_closure_margin(points: np.ndarray, inward_normals: np.ndarray, center: np.ndarray,
                         mu: float = FC_FRICTION, edges: int = FC_EDGES) -> float:
    """The LP's ``t*`` (see the module docstring); > 0 means force closure."""
    W = primitive_wrenches(points, inward_normals, np.asarray(center, np.float64), mu, edges)
    m = W.shape[1]
    if m < 7 or np.linalg.matrix_rank(W, tol=1e-6) < 6:
        return 0.0
    c = np.zeros(m + 1)
    c[-1] = -1.0  # maximise t
    A_eq = np.zeros((7, m + 1))
    A_eq[:6, :m] = W
    A_eq[6, :m] = 1.0
    b_eq = np.r_[np.zeros(6), 1.0]
    A_ub = np.hstack([-np.eye(m), np.ones((m, 1))])  # t - lambda_j <= 0
    res = linprog(c, A_ub=A_ub, b_ub=np.zeros(m), A_eq=A_eq, b_eq=b_eq,
                  bounds=[(0, None)] * m + [(None, 1.0)], method="highs")
    if res.status != 0:
        return 0.0
    return max(float(-res.fun), 0.0)


def in_force_closure(points, inward_normals, center, mu: float = FC_FRICTION) -> bool:
    return force_closure_margin(points, inward_normals, center, mu) > FC_MIN_MARGIN
