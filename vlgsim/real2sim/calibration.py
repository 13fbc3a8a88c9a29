"""Hand-eye calibration from robot poses and chessboard views (eye-to-hand and eye-in-hand).

Frames and units: metres, 4x4 homogeneous transforms named ``a2b`` (maps points in frame
``a`` to frame ``b``). Robot poses are ``gripper2base`` (the flange/TCP in the robot base
frame, from forward kinematics). Board views give ``board2cam`` by PnP on the detected
inner corners (OpenCV pixels: origin at the top-left pixel's centre).

- ``eye_to_hand``: the camera is fixed, the board rides on the gripper. Solves ``cam2base``
  (its inverse, ``base2cam``, is the extrinsic a real run uses) and ``board2gripper``.
- ``eye_in_hand``: the camera rides on the gripper, the board is fixed. Solves ``cam2gripper``
  and ``board2base``.

Both are ``A X = X B`` problems: with ``H_i = gripper2base_i`` (eye-in-hand) or its inverse
(eye-to-hand), ``Z = H_i X C_i`` is the same for every view (``C_i = board2cam_i``).
Methods: ``park`` (Park & Martin 1994, closed form over all view pairs) and ``reprojection``
(``park``, then a Levenberg-Marquardt refinement of X and Z on the corners' pixel error, as
OpenCV's ``calibrateRobotWorldHandEye`` refines; the default), written here (numpy, scipy)
because opencv-python 5.0.0.93 (the newest on PyPI, also -contrib) does not expose
``cv2.calibrateHandEye`` (opencv/opencv#29565; fixed upstream by #29584, unreleased). Where a
cv2 has it, ``opencv_tsai`` / ``opencv_park`` / ``opencv_horaud`` / ``opencv_andreff`` /
``opencv_daniilidis`` call it (closed form, no refinement); elsewhere they raise the rule.

Bad sets raise :class:`CalibrationError` naming the rule: too few views, a board not found,
robot poses that are not rigid transforms, rotations about fewer than two distinct axes,
or a solution whose reprojection error shows the poses and images do not agree.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from itertools import combinations
from pathlib import Path

import cv2
import numpy as np
from scipy.optimize import least_squares
from scipy.spatial.transform import Rotation

SETUPS = ("eye_to_hand", "eye_in_hand")
OPENCV_METHODS = {"opencv_tsai": "CALIB_HAND_EYE_TSAI", "opencv_park": "CALIB_HAND_EYE_PARK",
                  "opencv_horaud": "CALIB_HAND_EYE_HORAUD", "opencv_andreff": "CALIB_HAND_EYE_ANDREFF",
                  "opencv_daniilidis": "CALIB_HAND_EYE_DANIILIDIS"}
"""``cv2.calibrateHandEye`` with these flags, where the installed OpenCV exposes it."""
METHODS = ("park", "reprojection", *OPENCV_METHODS)


def opencv_hand_eye_available() -> bool:
    """True when this cv2 exposes ``calibrateHandEye`` (opencv-python 5.0.0.93, the newest on
    PyPI, does not: opencv/opencv#29565, fixed upstream by #29584; 4.x builds do)."""
    return hasattr(cv2, "calibrateHandEye")
MIN_VIEWS = 5
MIN_CORNERS = 6
"""Fewest board corners a view must show (a ChArUco view may show part of the board)."""
"""Fewest board views accepted (3 is the mathematical minimum; 5 leaves residuals to check)."""
MIN_MOTION_DEG = 5.0
"""A relative robot rotation counts as a motion only if it turns at least this much."""
MIN_AXIS_SPREAD_DEG = 10.0
"""The motions' rotation axes must differ by at least this much (else the rotation about
the common axis, and the translation along it, are unobservable)."""
MAX_REPROJECTION_RMS_PX = 3.0
"""Above this RMS corner error the solved calibration does not explain the views."""


class CalibrationError(ValueError):
    """A calibration input or result that breaks a named rule."""


@dataclass(frozen=True)
class Chessboard:
    """A printed chessboard: ``cols`` x ``rows`` inner corners, squares of ``square_m`` metres."""

    cols: int = 9
    rows: int = 6
    square_m: float = 0.025

    def __post_init__(self):
        if self.cols < 3 or self.rows < 3 or self.cols == self.rows:
            raise CalibrationError(f"chessboard {self.cols}x{self.rows}; rule: >= 3 inner corners each way, "
                                   "cols != rows (so the board's orientation is unambiguous)")
        if not (np.isfinite(self.square_m) and 0.001 <= self.square_m <= 0.5):
            raise CalibrationError(f"square size {self.square_m} m; rule: 0.001 <= square_m <= 0.5")

    def object_points(self) -> np.ndarray:
        """(cols*rows, 3) inner corners in the board frame, row-major (x fastest), metres."""
        j, i = np.mgrid[0:self.rows, 0:self.cols]
        return np.c_[i.ravel(), j.ravel(), np.zeros(i.size)] * self.square_m


    kind = "chessboard"

    def center(self) -> np.ndarray:
        """Centre of the inner corners, board frame (m)."""
        return np.array([(self.cols - 1) / 2, (self.rows - 1) / 2, 0]) * self.square_m

    def plate_bounds(self) -> tuple[float, float, float, float]:
        """(x0, x1, y0, y1) of the white plate: the pattern plus one square of white margin (m)."""
        s = self.square_m
        return -2 * s, (self.cols + 1) * s, -2 * s, (self.rows + 1) * s

    def black_rects(self) -> list[tuple[float, float, float, float]]:
        """(x0, x1, y0, y1) of every black square on the printed face (board frame, m). Square
        (i, j), from -1 at the border, is black when i + j is even."""
        s = self.square_m
        return [(i * s, (i + 1) * s, j * s, (j + 1) * s) for i in range(-1, self.cols) for j in range(-1, self.rows)
                if (i + j) % 2 == 0]

    def detect(self, image: np.ndarray, view: int | str = "?") -> np.ndarray:
        return detect_chessboard(image, self, view)

    def to_json(self) -> dict:
        return dict(kind=self.kind, cols=self.cols, rows=self.rows, square_m=self.square_m)


CHARUCO_DICTIONARY = "DICT_4X4_50"


@dataclass(frozen=True)
class CharucoBoard:
    """An OpenCV ChArUco board: ``squares_x`` x ``squares_y`` squares of ``square_m`` metres,
    ArUco markers (``dictionary``) of ``marker_m`` in the white squares. Its corners are the
    (squares_x-1)*(squares_y-1) inner chessboard corners, found by marker ids (no orientation
    ambiguity). Board frame as :class:`Chessboard`'s: z out of the printed face; it is
    OpenCV's board frame turned 180 deg about x (OpenCV's y runs down the printed image)."""

    squares_x: int = 7
    squares_y: int = 5
    square_m: float = 0.035
    marker_m: float = 0.021
    dictionary: str = CHARUCO_DICTIONARY
    kind = "charuco"

    def __post_init__(self):
        if not hasattr(cv2, "aruco") or not hasattr(cv2.aruco, "CharucoDetector"):
            raise CalibrationError("ChArUco boards need OpenCV's aruco module (cv2.aruco.CharucoDetector); rule: "
                                   "opencv-python >= 4.7, or --board chessboard")
        if self.squares_x < 3 or self.squares_y < 3:
            raise CalibrationError(f"ChArUco {self.squares_x}x{self.squares_y} squares; rule: >= 3 each way")
        if not (np.isfinite(self.square_m) and 0.001 <= self.square_m <= 0.5):
            raise CalibrationError(f"square size {self.square_m} m; rule: 0.001 <= square_m <= 0.5")
        if not (np.isfinite(self.marker_m) and 0.2 * self.square_m <= self.marker_m < self.square_m):
            raise CalibrationError(f"marker size {self.marker_m} m; rule: 0.2 * square_m <= marker_m < square_m")
        if not hasattr(cv2.aruco, str(self.dictionary)):
            raise CalibrationError(f"ArUco dictionary {self.dictionary!r}; rule: a cv2.aruco DICT_* name")
        n_markers = (self.squares_x * self.squares_y) // 2
        if n_markers > int(str(self.dictionary).rsplit("_", 1)[-1]):
            raise CalibrationError(f"{n_markers} markers on the board; rule: no more than {self.dictionary} holds")

    def cv_board(self):
        d = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, self.dictionary))
        return cv2.aruco.CharucoBoard((self.squares_x, self.squares_y), self.square_m, self.marker_m, d)

    def object_points(self) -> np.ndarray:
        """(n, 3) inner corners in the board frame (id order), metres."""
        p = np.asarray(self.cv_board().getChessboardCorners(), dtype=np.float64).reshape(-1, 3)
        return p * [1.0, -1.0, 1.0]

    def center(self) -> np.ndarray:
        return self.object_points().mean(0)

    def plate_bounds(self) -> tuple[float, float, float, float]:
        s = self.square_m
        return -s, (self.squares_x + 1) * s, -(self.squares_y + 1) * s, s

    def black_rects(self, px_per_square: int = 60) -> list[tuple[float, float, float, float]]:
        """Black areas of OpenCV's printed board image (squares and marker bits) as rectangles
        (x0, x1, y0, y1), board frame, metres: pixel runs of each row, merged down the rows."""
        img = self.cv_board().generateImage((self.squares_x * px_per_square, self.squares_y * px_per_square),
                                            marginSize=0, borderBits=1)
        px = self.square_m / px_per_square
        open_runs: dict[tuple[int, int], int] = {}
        rects = []
        for v in range(img.shape[0] + 1):
            runs = set()
            if v < img.shape[0]:
                b = np.r_[False, img[v] < 128, False]
                edges = np.flatnonzero(b[1:] != b[:-1])
                runs = {(int(a), int(e)) for a, e in zip(edges[::2], edges[1::2])}
            for r in list(open_runs):
                if r not in runs:
                    v0 = open_runs.pop(r)
                    rects.append((r[0] * px, r[1] * px, -v * px, -v0 * px))
            for r in runs:
                open_runs.setdefault(r, v)
        return rects

    def detect(self, image: np.ndarray, view: int | str = "?") -> np.ndarray:
        gray = _gray(image, view)
        corners, ids, _, _ = cv2.aruco.CharucoDetector(self.cv_board()).detectBoard(gray)
        n = (self.squares_x - 1) * (self.squares_y - 1)
        found = 0 if ids is None else len(ids)
        if found < max(MIN_CORNERS, n // 2):
            raise CalibrationError(f"view {view}: {found} of {n} ChArUco corners found; rule: at least "
                                   f"{max(MIN_CORNERS, n // 2)} (half the board) visible, sharp and lit")
        out = np.full((n, 2), np.nan)
        out[np.asarray(ids).ravel()] = np.asarray(corners, dtype=np.float64).reshape(-1, 2)
        return out

    def to_json(self) -> dict:
        return dict(kind=self.kind, squares_x=self.squares_x, squares_y=self.squares_y, square_m=self.square_m,
                    marker_m=self.marker_m, dictionary=self.dictionary)


BOARDS = ("chessboard", "charuco")


def make_board(kind: str = "chessboard", cols: int = 9, rows: int = 6, square_m: float = 0.025):
    """A board by name. ``charuco``: ``cols`` x ``rows`` are its squares, markers 0.6 of a square."""
    if kind == "chessboard":
        return Chessboard(cols, rows, square_m)
    if kind == "charuco":
        return CharucoBoard(cols, rows, square_m, 0.6 * square_m)
    raise CalibrationError(f"board {kind!r}; rule: one of {BOARDS}")


def board_from_json(d: dict):
    d = dict(d)
    kind = d.pop("kind", "chessboard")
    if kind == "charuco":
        return CharucoBoard(**d)
    if kind == "chessboard":
        return Chessboard(**d)
    raise CalibrationError(f"board kind {kind!r}; rule: one of {BOARDS}")


def _gray(image: np.ndarray, view) -> np.ndarray:
    img = np.asarray(image)
    if img.ndim == 3 and img.shape[2] == 3 and img.dtype == np.uint8:
        return cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    if img.ndim == 2 and img.dtype == np.uint8:
        return img
    raise CalibrationError(f"view {view}: image {img.shape} {img.dtype}; rule: (H, W, 3) uint8 or (H, W) uint8")


def detect_chessboard(image: np.ndarray, board: Chessboard, view: int | str = "?") -> np.ndarray:
    """Inner corners (cols*rows, 2) in pixels, ordered as :meth:`Chessboard.object_points`.

    The order is fixed with the board's colours: the square outside corner 0 is black."""
    gray = _gray(image, view)
    found, corners = cv2.findChessboardCorners(gray, (board.cols, board.rows),
                                               flags=cv2.CALIB_CB_ADAPTIVE_THRESH | cv2.CALIB_CB_NORMALIZE_IMAGE)
    if not found:
        raise CalibrationError(f"view {view}: chessboard {board.cols}x{board.rows} not found; rule: the whole "
                               "board must be visible, sharp and lit in every view")
    corners = cv2.cornerSubPix(gray, corners, (5, 5), (-1, -1),
                               (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 50, 1e-4)).reshape(-1, 2)
    grid = corners.reshape(board.rows, board.cols, 2)
    # OpenCV may start at any corner and run either way: keep the orders in which the printed
    # face (+z) faces the camera (x then y turn clockwise on screen) ...
    candidates = [g for g in (grid, grid[::-1, ::-1], grid[::-1, :], grid[:, ::-1])
                  if np.cross(g[0, 1] - g[0, 0], g[1, 0] - g[0, 0]) < 0]
    def outside_is_black(g):
        p = g[0, 0] - 0.5 * ((g[0, 1] - g[0, 0]) + (g[1, 0] - g[0, 0]))
        u, v = int(round(p[0])), int(round(p[1]))
        if not (0 <= v < gray.shape[0] and 0 <= u < gray.shape[1]):
            return False
        return gray[v, u] < 0.5 * (int(gray.max()) + int(gray.min()))
    for g in candidates:  # ... and of those the one with the black square outside corner 0
        if outside_is_black(g):
            return g.reshape(-1, 2).astype(np.float64)
    raise CalibrationError(f"view {view}: chessboard orientation ambiguous (no black square outside corner 0); "
                           "rule: the board's border squares must be visible")


def board_pose(image_points: np.ndarray, board, intrinsic: np.ndarray,
               distortion: np.ndarray | None = None) -> np.ndarray:
    """``board2cam`` (4x4) from detected corners by PnP (iterative, LM-refined)."""
    image_points = np.asarray(image_points, np.float64)
    seen = np.isfinite(image_points).all(1)
    ok, rvec, tvec = cv2.solvePnP(board.object_points()[seen], image_points[seen],
                                  np.asarray(intrinsic, np.float64), distortion, flags=cv2.SOLVEPNP_ITERATIVE)
    if not ok:
        raise CalibrationError("PnP failed on a board view; rule: corners must match the board's layout")
    return _rt(cv2.Rodrigues(rvec)[0], tvec.ravel())


@dataclass
class HandEyeResult:
    """The solved calibration. ``X``: ``cam2base`` (eye-to-hand) or ``cam2gripper`` (eye-in-hand);
    ``Z``: ``board2gripper`` (eye-to-hand) or ``board2base`` (eye-in-hand). Residuals in pixels
    (board corners) and in mm/deg (``A X = X B`` over all view pairs)."""

    setup: str
    method: str
    X: np.ndarray
    Z: np.ndarray
    reprojection_rms_px: float
    per_view_rms_px: list[float]
    axxb_rotation_rms_deg: float
    axxb_translation_rms_mm: float
    n_views: int
    intrinsic: np.ndarray
    board: "Chessboard | CharucoBoard" = field(default_factory=Chessboard)

    @property
    def base2cam(self) -> np.ndarray:
        """Robot base -> camera (the extrinsic of a fixed camera); eye-to-hand only."""
        if self.setup != "eye_to_hand":
            raise CalibrationError("base2cam exists for eye_to_hand only; rule: eye_in_hand gives cam2gripper (X)")
        return np.linalg.inv(self.X)

    def to_json(self) -> dict:
        d = asdict(self)
        d["board"] = self.board.to_json()
        for k in ("X", "Z", "intrinsic"):
            d[k] = np.asarray(d[k]).tolist()
        if self.setup == "eye_to_hand":
            d["base2cam"] = self.base2cam.tolist()
        return d

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_json(), indent=1))

    @classmethod
    def load(cls, path: str | Path) -> "HandEyeResult":
        d = json.loads(Path(path).read_text())
        d.pop("base2cam", None)
        d["board"] = board_from_json(d["board"])
        for k in ("X", "Z", "intrinsic"):
            d[k] = np.asarray(d[k], dtype=np.float64)
        return cls(**d)


# ---------------------------------------------------------------------------- maths
def _rt(R, t) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3], T[:3, 3] = R, t
    return T


def _inv(T: np.ndarray) -> np.ndarray:
    R, t = T[:3, :3], T[:3, 3]
    return _rt(R.T, -R.T @ t)


def rotation_angle_deg(R: np.ndarray) -> float:
    return float(np.degrees(np.arccos(np.clip((np.trace(R) - 1) / 2, -1.0, 1.0))))


def check_rigid(T, what: str) -> np.ndarray:
    T = np.asarray(T, dtype=np.float64)
    if T.shape != (4, 4) or not np.all(np.isfinite(T)):
        raise CalibrationError(f"{what}: {T.shape} with non-finite values or wrong shape; rule: finite 4x4 transform")
    R = T[:3, :3]
    with np.errstate(over="ignore", invalid="ignore"):
        rigid = (np.allclose(R.T @ R, np.eye(3), atol=1e-3) and abs(np.linalg.det(R) - 1) < 1e-3
                 and np.allclose(T[3], [0, 0, 0, 1]))
    if not rigid:
        raise CalibrationError(f"{what}: not a rigid transform; rule: orthonormal rotation, det +1, last row 0 0 0 1")
    if np.abs(T[:3, 3]).max() > 10:
        raise CalibrationError(f"{what}: translation {T[:3, 3].round(3).tolist()} m; rule: |t| <= 10 m (metres, not mm)")
    return T


def check_motion_diversity(H: list[np.ndarray]) -> None:
    """Relative rotations between the robot poses must turn about >= 2 distinct axes."""
    axes = []
    for i, j in combinations(range(len(H)), 2):
        rv = Rotation.from_matrix((_inv(H[j]) @ H[i])[:3, :3]).as_rotvec()
        if np.degrees(np.linalg.norm(rv)) >= MIN_MOTION_DEG:
            axes.append(rv / np.linalg.norm(rv))
    spread = 0.0
    for a, b in combinations(axes, 2):
        spread = max(spread, np.degrees(np.arcsin(min(1.0, np.linalg.norm(np.cross(a, b))))))
    if spread < MIN_AXIS_SPREAD_DEG:
        raise CalibrationError(
            f"degenerate robot rotations: {len(axes)} motions of >= {MIN_MOTION_DEG} deg, largest angle between "
            f"their axes {spread:.1f} deg; rule: rotate about at least two axes differing by >= {MIN_AXIS_SPREAD_DEG} deg")


def solve_axxb_park(A: list[np.ndarray], B: list[np.ndarray]) -> np.ndarray:
    """Park & Martin closed form of ``A_k X = X B_k`` (4x4 lists)."""
    M = np.zeros((3, 3))
    for a, b in zip(A, B):
        M += np.outer(Rotation.from_matrix(b[:3, :3]).as_rotvec(), Rotation.from_matrix(a[:3, :3]).as_rotvec())
    w, V = np.linalg.eigh(M.T @ M)
    Rx = V @ np.diag(1 / np.sqrt(np.maximum(w, 1e-12))) @ V.T @ M.T
    U, _, Vt = np.linalg.svd(Rx)
    Rx = U @ np.diag([1, 1, np.linalg.det(U @ Vt)]) @ Vt
    C = np.concatenate([a[:3, :3] - np.eye(3) for a in A])
    d = np.concatenate([Rx @ b[:3, 3] - a[:3, 3] for a, b in zip(A, B)])
    tx = np.linalg.lstsq(C, d, rcond=None)[0]
    return _rt(Rx, tx)


def _vec(T):
    return np.r_[Rotation.from_matrix(T[:3, :3]).as_rotvec(), T[:3, 3]]


def _mat(v):
    return _rt(Rotation.from_rotvec(v[:3]).as_matrix(), v[3:])


def calibrate_hand_eye(gripper2base: list, image_points: list, board: Chessboard, intrinsic: np.ndarray,
                       setup: str = "eye_to_hand", method: str = "reprojection",
                       distortion: np.ndarray | None = None, min_views: int = MIN_VIEWS) -> HandEyeResult:
    """Solve a hand-eye calibration from robot poses and the board corners seen at each pose.

    ``gripper2base``: one 4x4 per view (metres); ``image_points``: per view the (cols*rows, 2)
    corners from :func:`detect_chessboard`; ``intrinsic``: 3x3 K of the (undistorted) camera."""
    if setup not in SETUPS:
        raise CalibrationError(f"setup {setup!r}; rule: one of {SETUPS}")
    if method not in METHODS:
        raise CalibrationError(f"method {method!r}; rule: one of {METHODS}")
    if len(gripper2base) != len(image_points):
        raise CalibrationError(f"{len(gripper2base)} robot poses for {len(image_points)} board views; rule: one pose per view")
    if len(gripper2base) < max(3, min_views):
        raise CalibrationError(f"{len(gripper2base)} views; rule: at least {max(3, min_views)} robot poses with the board seen")
    K = np.asarray(intrinsic, dtype=np.float64)
    if K.shape != (3, 3) or not np.all(np.isfinite(K)) or K[0, 0] <= 0 or K[1, 1] <= 0:
        raise CalibrationError(f"intrinsic {K.tolist()}; rule: finite 3x3 K with positive focal lengths")
    G = [check_rigid(T, f"robot pose {i}") for i, T in enumerate(gripper2base)]
    n = len(board.object_points())
    P = []
    for i, p in enumerate(image_points):
        p = np.asarray(p, dtype=np.float64)
        if p.shape != (n, 2) or np.any(np.isinf(p)) or np.isfinite(p).all(1).sum() < MIN_CORNERS:
            raise CalibrationError(f"view {i}: corners of shape {p.shape} with {int(np.isfinite(p).all(1).sum()) if p.ndim == 2 else 0} "
                                   f"finite; rule: ({n}, 2) pixels, NaN rows for corners not seen, at least {MIN_CORNERS} seen")
        P.append(p)
    H = [_inv(g) if setup == "eye_to_hand" else g for g in G]
    check_motion_diversity(H)
    C = [board_pose(p, board, K, distortion) for p in P]
    A, B = [], []
    for i, j in combinations(range(len(H)), 2):
        A.append(_inv(H[j]) @ H[i])
        B.append(C[j] @ _inv(C[i]))
    if method in OPENCV_METHODS:
        if not opencv_hand_eye_available():
            raise CalibrationError(f"method {method!r} needs cv2.calibrateHandEye, which OpenCV {cv2.__version__}'s Python "
                                   "bindings lack (opencv/opencv#29565); rule: an OpenCV build that has it, or "
                                   "method park / reprojection")
        Rx, tx = cv2.calibrateHandEye([h[:3, :3] for h in H], [h[:3, 3] for h in H], [c[:3, :3] for c in C],
                                      [c[:3, 3] for c in C], method=getattr(cv2, OPENCV_METHODS[method]))
        X = _rt(np.asarray(Rx), np.asarray(tx).ravel())
    else:
        X = solve_axxb_park(A, B)
    Z = _average_transforms([H[i] @ X @ C[i] for i in range(len(H))])
    obj = board.object_points()

    def residual(v):
        Xv, Zv = _mat(v[:6]), _mat(v[6:])
        out = []
        for h, p in zip(H, P):
            c = _inv(Xv) @ _inv(h) @ Zv  # board2cam predicted
            rv = Rotation.from_matrix(c[:3, :3]).as_rotvec()
            proj = cv2.projectPoints(obj, rv, c[:3, 3], K, distortion)[0].reshape(-1, 2)
            out.append(np.nan_to_num(proj - p).ravel())  # a corner not seen adds 0
        return np.concatenate(out)

    v0 = np.r_[_vec(X), _vec(Z)]
    if method == "reprojection":
        v0 = least_squares(residual, v0, method="lm", x_scale="jac").x
        X, Z = _mat(v0[:6]), _mat(v0[6:])
    r = residual(v0).reshape(len(H), -1)
    n_seen = np.array([np.isfinite(p).all(1).sum() for p in P])
    per_view = np.sqrt((r ** 2).sum(1) / n_seen)  # RMS of the per-corner pixel distance
    rms = float(np.sqrt((r ** 2).sum() / n_seen.sum()))
    rot_res = [rotation_angle_deg((a @ X)[:3, :3].T @ (X @ b)[:3, :3]) for a, b in zip(A, B)]
    tr_res = [np.linalg.norm((a @ X)[:3, 3] - (X @ b)[:3, 3]) * 1000 for a, b in zip(A, B)]
    result = HandEyeResult(setup, method, X, Z, rms, per_view.tolist(), float(np.sqrt(np.mean(np.square(rot_res)))),
                           float(np.sqrt(np.mean(np.square(tr_res)))), len(H), K, board)
    if not np.isfinite(rms) or rms > MAX_REPROJECTION_RMS_PX:
        worst = int(np.argmax(per_view))
        raise CalibrationError(f"calibration reprojection RMS {rms:.2f} px (worst view {worst}: {per_view[worst]:.2f} px); "
                               f"rule: <= {MAX_REPROJECTION_RMS_PX} px. The robot poses and board views do not agree "
                               "(wrong pose units or order, wrong setup, or the board moved)")
    return result


def _average_transforms(Ts: list[np.ndarray]) -> np.ndarray:
    R = Rotation.from_matrix(np.stack([T[:3, :3] for T in Ts])).mean().as_matrix()
    return _rt(R, np.mean([T[:3, 3] for T in Ts], axis=0))


def calibrate_from_images(gripper2base: list, images: list, board: Chessboard, intrinsic: np.ndarray,
                          setup: str = "eye_to_hand", method: str = "reprojection",
                          distortion: np.ndarray | None = None, pixel_noise_px: float = 0.0,
                          rng: np.random.Generator | None = None, min_views: int = MIN_VIEWS) -> HandEyeResult:
    """Detect the board in every image, then :func:`calibrate_hand_eye`. ``pixel_noise_px``
    adds Gaussian noise (std per coordinate) to the detected corners (for round-trip tests)."""
    if len(gripper2base) != len(images):
        raise CalibrationError(f"{len(gripper2base)} robot poses for {len(images)} images; rule: one pose per image")
    pts = [board.detect(im, view=i) for i, im in enumerate(images)]
    if pixel_noise_px > 0:
        rng = rng or np.random.default_rng(0)
        pts = [p + rng.normal(0, pixel_noise_px, p.shape) for p in pts]
    return calibrate_hand_eye(gripper2base, pts, board, intrinsic, setup, method, distortion, min_views)


def pose_error(T_est: np.ndarray, T_true: np.ndarray) -> tuple[float, float]:
    """(translation error mm, rotation error deg) between two 4x4 transforms."""
    return (float(np.linalg.norm(T_est[:3, 3] - T_true[:3, 3]) * 1000),
            rotation_angle_deg(T_est[:3, :3].T @ T_true[:3, :3]))
