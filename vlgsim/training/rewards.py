"""Verifiable rewards for GRPO-style fine-tuning of VLMs (after RealVLG-R1 and UniVG-R1).

``reward = accuracy_weight * accuracy + format_weight * format`` (defaults 0.9 / 0.1), or
``reward = accuracy`` with ``use_format=False``. ``format`` is 1.0 iff the completion is
``<think>...</think><answer>...</answer>`` (:func:`~vlgsim.language.answers.format_ok`).
Accuracies are in [0, 1] and 0.0 when the ground truth is empty or the answer unreadable:

* bbox: IoU of ``[x1, y1, x2, y2]`` pixel boxes (best over the ground-truth boxes).
* grasp: ``max_gt 1 / (1 + sum_i Huber_1(s_i - g_i))`` on the normalised vectors
  ``[x / W, y / H, cos(theta), sin(theta), w / W]``, see :func:`grasp_accuracy` (RealVLG-R1's
  ``rect_grasp.py`` has the same form on raw pixels with unfolded theta: the normalisation
  and folding are vlgsim's).
* contact: best rotated-rectangle IoU of the RealVLG contact rectangles.
* mask: mask IoU; the answer is a COCO RLE or COCO polygons (JSON, see
  :mod:`vlgsim.sim_eval.mask_answers`), the solution a COCO RLE of the ground-truth mask.

These are the ``vlgsim`` protocol's rewards (its reader, folded theta, normalised grasp
vector, 80 px contact jaw at width 640). ``protocol="realvlg-r1"`` (or
``"realvlg-r1-faithful"``, identical for rewards) uses ``lif314/RealVLG-R1``'s
``examples/reward_function/{bbox,rect_grasp,contact_grasp}.py`` instead
(:mod:`vlgsim.sim_eval.realvlg_r1`): their format regexes, which also check the answer's
numbers (:func:`vlgsim.language.realvlg_r1.format_reward`), their parsers, the grasp Huber
reward on raw pixels with unfolded theta in image axes, and 80 px contact rectangles at any
image size. RealVLG-R1 scores masks through SAM2 (``sam_reward.py``), which is not
reproduced: a mask reward under ``realvlg-r1`` raises ValueError.

:func:`make_reward_func` builds a function usable as ``GRPOTrainer(reward_funcs=[...])``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

import numpy as np

from vlgsim.grasp.rect import contact_points_to_rect, fold_angle_deg
from vlgsim.language import realvlg_r1 as r1_answers
from vlgsim.language.answers import format_ok, parse_answer
from vlgsim.sim_eval import realvlg_r1 as R1
from vlgsim.sim_eval.mask_answers import read_mask_answer
from vlgsim.sim_eval.metrics import box_iou, mask_iou, rect_iou

TASKS = ("bbox", "grasp", "contact", "mask")
"""Tasks the rewards score (mask only under the ``vlgsim`` protocol)."""

ACCURACY_WEIGHT = 0.9
FORMAT_WEIGHT = 0.1
HUBER_DELTA = 1.0
ADVANTAGE_EPS = 1e-4
"""Added to the group standard deviation in :func:`group_advantages`."""
DIFFICULTY_KINDS = ("exp", "linear", "log")


# ----------------------------------------------------------------------------- accuracies


def _pred_array(pred: Any, n: int) -> Optional[np.ndarray]:
    """``pred`` as n finite float64 numbers, or None if it is missing or malformed."""
    if pred is None:
        return None
    try:
        p = np.asarray(pred, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        return None
    return p if p.shape == (n,) and np.isfinite(p).all() else None


def _gt_rows(gt: Any, cols: int, what: str, extra_cols_ok: bool = False) -> np.ndarray:
    """Ground truth as (M, cols) float64 (a single row may be given flat); with
    ``extra_cols_ok`` wider rows are cut to ``cols``. Raises ValueError on other shapes."""
    g = np.asarray(gt, dtype=np.float64)
    if g.size == 0:
        return g.reshape(0, cols)
    if g.ndim == 1:
        g = g[None]
    if g.ndim != 2 or g.shape[1] < cols or (g.shape[1] > cols and not extra_cols_ok):
        want = f"(M, >={cols})" if extra_cols_ok else f"(M, {cols}) or ({cols},)"
        raise ValueError(f"{what} of shape {g.shape} must have shape {want}")
    return g[:, :cols]


def bbox_accuracy(pred_box, gt_box) -> float:
    """IoU in [0, 1] of a predicted box ``[x1, y1, x2, y2]`` (pixels) with the ground-truth
    box (4,) or boxes (M, 4) (best over them). 0.0 for no prediction or no ground truth."""
    p = _pred_array(pred_box, 4)
    g = _gt_rows(gt_box, 4, "gt_box")
    if p is None or len(g) == 0:
        return 0.0
    return float(np.clip(box_iou(p, g).max(), 0.0, 1.0))


def huber(d, delta: float = HUBER_DELTA) -> np.ndarray:
    """Elementwise Huber loss: ``0.5 d^2`` for ``|d| <= delta``, else ``delta (|d| - delta / 2)``."""
    a = np.abs(np.asarray(d, dtype=np.float64))
    return np.where(a <= delta, 0.5 * a * a, delta * (a - 0.5 * delta))


def grasp_vector(grasp, image_size: Sequence[float]) -> np.ndarray:
    """vlgsim's normalised grasp vector ``[x / W, y / H, cos(theta), sin(theta), w / W]`` (not
    RealVLG-R1's: its ``rect_grasp.py`` uses ``[x, y, cos(theta), sin(theta), w]`` in raw pixels
    with theta unfolded, see :func:`vlgsim.sim_eval.realvlg_r1.grasp_reward`).

    ``grasp`` = ``[x_px, y_px, theta_deg, width_px, ...]`` (extra entries such as the jaw
    height are ignored); ``image_size`` = ``(W, H)`` pixels. ``theta`` is folded to
    (-90, 90] degrees before cos/sin are taken in radians (so cos >= 0, and an axis near
    +-90 degrees has sin near +-1: the two ends are far apart in this vector). The width
    is normalised by the image width W (it can point any way; W is the usual convention)."""
    g = np.asarray(grasp, dtype=np.float64).reshape(-1)
    w_img, h_img = float(image_size[0]), float(image_size[1])
    if not (w_img > 0 and h_img > 0):
        raise ValueError(f"image_size {tuple(image_size)!r} must be (W, H) > 0 pixels")
    t = math.radians(fold_angle_deg(g[2]))
    return np.array([g[0] / w_img, g[1] / h_img, math.cos(t), math.sin(t), g[3] / w_img])


def grasp_accuracy(pred_grasp, gt_rects, image_size: Sequence[float]) -> float:
    """``max_gt 1 / (1 + sum(Huber_1(s - g)))`` in (0, 1] with ``s``, ``g`` the
    :func:`grasp_vector` of the prediction ``[x, y, theta_deg, w]`` (pixels, degrees) and of
    each ground-truth rectangle ``[x, y, theta_deg, w, h]`` (M, 5) (h unused); ``image_size``
    = ``(W, H)`` pixels. 1.0 for a perfect match, 0.0 for no prediction or no ground truth."""
    p = _pred_array(pred_grasp, 4)
    g = _gt_rows(gt_rects, 4, "gt_rects", extra_cols_ok=True)
    if p is None or len(g) == 0:
        return 0.0
    s = grasp_vector(p, image_size)
    best = 0.0
    for row in g:
        loss = float(huber(s - grasp_vector(row, image_size)).sum())
        best = max(best, 1.0 / (1.0 + loss))
    return best


def contact_accuracy(pred_contacts, gt_contacts, image_width: float) -> float:
    """Best rotated-rectangle IoU in [0, 1] between the predicted contact pair
    ``[x1, y1, x2, y2]`` (pixels) and the ground-truth pairs (M, 4), each turned into the
    RealVLG contact rectangle by :func:`~vlgsim.grasp.rect.contact_points_to_rect` (jaw
    size 80 px at image width 640). 0.0 for no prediction or no ground truth."""
    p = _pred_array(pred_contacts, 4)
    g = _gt_rows(gt_contacts, 4, "gt_contacts")
    if p is None or len(g) == 0:
        return 0.0
    pred_rect = contact_points_to_rect(p, image_width).to_list()
    gt_rects = np.array([contact_points_to_rect(c, image_width).to_list() for c in g])
    ious = np.nan_to_num(rect_iou(pred_rect, gt_rects), nan=0.0)
    return float(np.clip(ious.max(), 0.0, 1.0))


def mask_accuracy(pred_mask, gt_mask) -> float:
    """Mask IoU in [0, 1] of two HxW boolean masks. 0.0 for an empty ground-truth mask (no
    reward for a degenerate sample), a missing prediction or one of another shape."""
    g = np.asarray(gt_mask).astype(bool)
    if pred_mask is None or not g.any():
        return 0.0
    p = np.asarray(pred_mask)
    if p.shape != g.shape:
        return 0.0
    return float(mask_iou(p.astype(bool), g))


# ----------------------------------------------------------------------------- GRPO helpers


def difficulty_weight(miou, kind: str = "exp", k: float = 1.0):
    """UniVG-R1 difficulty-aware weight from ``miou``, the batch mean of the IoU reward
    (in [0, 1]; clipped): ``"exp"`` ``exp(1 - mIoU)``, ``"linear"`` ``(1.05 - mIoU)^k``,
    ``"log"`` ``-log(0.02 + mIoU)``. Harder batches (low mIoU) weigh more. A float for a
    scalar ``miou``, else an array of the same shape."""
    m = np.clip(np.asarray(miou, dtype=np.float64), 0.0, 1.0)
    if kind == "exp":
        w = np.exp(1.0 - m)
    elif kind == "linear":
        w = (1.05 - m) ** float(k)
    elif kind == "log":
        w = -np.log(0.02 + m)
    else:
        raise ValueError(f"unknown difficulty weight kind {kind!r}; allowed: {', '.join(DIFFICULTY_KINDS)}")
    return float(w) if w.ndim == 0 else w


def group_advantages(rewards, group_size: int) -> np.ndarray:
    """GRPO advantages: ``(r - mean_g) / (std_g + 1e-4)`` within each run of ``group_size``
    consecutive rewards (population std, ddof=0). A constant group gives zeros."""
    r = np.asarray(rewards, dtype=np.float64).reshape(-1)
    if isinstance(group_size, bool) or not isinstance(group_size, (int, np.integer)) or group_size <= 0:
        raise ValueError(f"group_size {group_size!r} must be a positive integer")
    if r.size % group_size:
        raise ValueError(f"{r.size} rewards cannot be split into groups of {group_size} "
                         f"({r.size} is not divisible by {group_size})")
    g = r.reshape(-1, group_size)
    adv = (g - g.mean(axis=1, keepdims=True)) / (g.std(axis=1, keepdims=True) + ADVANTAGE_EPS)
    return adv.reshape(-1)


# ----------------------------------------------------------------------------- completions


@dataclass(frozen=True)
class RewardBreakdown:
    """One completion's score: ``accuracy`` and ``format`` in [0, 1], their weighted
    ``reward``, whether the answer parsed, and why not (empty when it did)."""

    accuracy: float
    format: float
    reward: float
    parsed_ok: bool
    failure_reason: str = ""


def completion_text(completion: Any) -> Optional[str]:
    """The text of a TRL completion: a string as is; for a conversational completion (a
    list of ``{"role", "content"}`` messages, or one such dict) the last message's content,
    whose text parts are joined if it is a list of ``{"type": "text", "text": ...}``.
    None if there is no text."""
    try:
        if isinstance(completion, str):
            return completion
        msg = completion
        if isinstance(msg, (list, tuple)):
            if not msg:
                return None
            msg = msg[-1]
        if not isinstance(msg, dict):
            return None
        content = msg.get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, (list, tuple)):
            parts = [p.get("text") if isinstance(p, dict) else p for p in content]
            texts = [t for t in parts if isinstance(t, str)]
            return "".join(texts) if texts else None
    except Exception:  # noqa: BLE001 - odd completions just score 0
        return None
    return None


def _load(x: Any) -> Any:
    """A dataset value that may be a JSON string."""
    if isinstance(x, (str, bytes)):
        try:
            return json.loads(x)
        except ValueError:
            raise ValueError(f"ground truth {x[:80]!r} is a string but not valid JSON") from None
    return x


def _image_size(image_size: Any, task: str) -> tuple[float, float]:
    s = _load(image_size)
    if s is None:
        raise ValueError(f"task {task!r} needs image_size (W, H) in pixels")
    s = np.asarray(s, dtype=np.float64).reshape(-1)
    if s.shape != (2,):
        raise ValueError(f"image_size {image_size!r} must be (W, H) in pixels")
    return float(s[0]), float(s[1])


def _gt_mask(solution: Any) -> np.ndarray:
    sol = _load(solution)
    if not isinstance(sol, dict) or "size" not in sol or "counts" not in sol:
        raise ValueError(f"mask solution {str(solution)[:80]!r} must be a COCO RLE dict {{size: [H, W], counts}}")
    H, W = (int(v) for v in sol["size"])
    mask, reason = read_mask_answer(sol, (H, W))
    if mask is None:
        raise ValueError(f"mask solution: {reason}")
    return mask


def _accuracy(task: str, value: np.ndarray, solution: Any, image_size: Any) -> float:
    sol = _load(solution)
    if task == "mask":
        return mask_accuracy(value, _gt_mask(sol))
    if task == "bbox":
        return bbox_accuracy(value, sol)
    if task == "grasp":
        return grasp_accuracy(value, sol, _image_size(image_size, task))
    if task == "contact":
        gt = np.asarray(sol, dtype=np.float64)
        gt = gt.reshape(-1, 4) if gt.size % 4 == 0 else gt  # [[x1, y1], [x2, y2]] pairs are fine too
        return contact_accuracy(value, gt, _image_size(image_size, task)[0])
    raise ValueError(f"unknown task {task!r}; allowed tasks: {', '.join(TASKS)}")


def _accuracy_r1(task: str, value: np.ndarray, solution: Any) -> float:
    """RealVLG-R1's accuracy rewards on a vlgsim ``solution`` (grasp rectangles become their
    8-point polygons with theta in image axes)."""
    sol = _load(solution)
    if task == "bbox":
        g = _gt_rows(sol, 4, "gt_box")
        return max((R1.box_iou_reward(value, row) for row in g), default=0.0)
    if task == "grasp":
        g = _gt_rows(sol, 5, "gt_rects")
        return R1.grasp_reward(value, R1.vlgsim_rects_to_points8(g)) if len(g) else 0.0
    g = np.asarray(sol, dtype=np.float64)
    g = g.reshape(-1, 4) if g.size % 4 == 0 else g
    return R1.contact_reward(value, _gt_rows(g, 4, "gt_contacts"))


def score_completion(text: Any, task: str, solution: Any, image_size: Any = None, *, use_format: bool = True,
                     accuracy_weight: float = ACCURACY_WEIGHT, format_weight: float = FORMAT_WEIGHT,
                     protocol: str = "vlgsim") -> RewardBreakdown:
    """Score one completion (text, or a conversational completion) for ``task``.

    ``solution`` is the ground truth, possibly as a JSON string: bbox ``[x1, y1, x2, y2]``
    (or several boxes), grasp a list of ``[x, y, theta_deg, w, h]`` rectangles, contact a
    list of ``[x1, y1, x2, y2]`` pairs (pixels, degrees). ``image_size`` = ``(W, H)``
    pixels, needed for grasp and contact. An unreadable answer has accuracy 0.0 (its format
    may still count); a malformed ground truth or unknown task raises ValueError."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; allowed tasks: {', '.join(TASKS)}")
    R1.check_protocol(protocol)
    s = completion_text(text)
    if protocol != "vlgsim":
        if task == "mask":
            raise ValueError("mask rewards under the realvlg-r1 protocol are not reproduced (RealVLG-R1 scores masks "
                             "with SAM2 in sam_reward.py); rule: protocol='vlgsim' for mask answers")
        fmt = r1_answers.format_reward(s, task)
        parsed = r1_answers.parse_reward(s, task)
        acc = _accuracy_r1(task, parsed.value, solution) if parsed.ok else 0.0
    elif task == "mask":
        fmt = 1.0 if format_ok(s) else 0.0
        gt = _gt_mask(solution)
        mask, reason = read_mask_answer(s, gt.shape)
        parsed = _MaskParse(mask is not None, reason)
        acc = mask_accuracy(mask, gt) if mask is not None else 0.0
    else:
        fmt = 1.0 if format_ok(s) else 0.0
        parsed = parse_answer(s, task)
        acc = _accuracy(task, parsed.value, solution, image_size) if parsed.ok else 0.0
    reward = accuracy_weight * acc + format_weight * fmt if use_format else acc
    return RewardBreakdown(float(acc), fmt, float(reward), parsed.ok, "" if parsed.ok else parsed.reason)


@dataclass(frozen=True)
class _MaskParse:
    ok: bool
    reason: str


def _column(kwargs: dict, name: str, n: int, required: bool) -> list:
    col = kwargs.get(name)
    if col is None:
        if required:
            raise ValueError(f"reward function needs the dataset column {name!r} (one entry per completion)")
        return [None] * n
    col = list(col)
    if len(col) != n:
        raise ValueError(f"column {name!r} has {len(col)} entries for {n} completions")
    return col


def make_reward_func(task: Optional[str] = None, use_format: bool = True, accuracy_weight: float = ACCURACY_WEIGHT,
                     format_weight: float = FORMAT_WEIGHT, protocol: str = "vlgsim") -> Callable[..., list[float]]:
    """A TRL reward function ``f(prompts=None, completions=None, **kwargs) -> list[float]``.

    Completions are strings or conversational message lists. Dataset columns arrive as
    kwargs lists (one entry per completion): ``solution`` (required, see
    :func:`score_completion`), ``image_size`` ((W, H) pixels, for grasp and contact) and,
    when ``task`` is None here, ``task`` (per-sample task name). Other kwargs are ignored.
    The function is named ``realvlg_<task>_reward`` (``realvlg_reward`` if ``task`` is None).
    ``protocol``: ``"vlgsim"`` (default) or ``"realvlg-r1"`` (see the module docstring); mask
    (COCO RLE or polygon answers, RLE solution) is supported under ``"vlgsim"`` only."""
    R1.check_protocol(protocol)
    if task is not None and task not in TASKS:
        raise ValueError(f"unknown task {task!r}; allowed tasks: {', '.join(TASKS)} (or None for per-sample)")
    if task == "mask" and protocol != "vlgsim":
        raise ValueError("mask rewards exist under protocol='vlgsim' only (RealVLG-R1 scores masks with SAM2)")

    def reward_func(prompts=None, completions=None, **kwargs) -> list[float]:
        completions = list(completions or [])
        n = len(completions)
        tasks = [task] * n if task is not None else _column(kwargs, "task", n, required=True)
        solutions = _column(kwargs, "solution", n, required=True)
        sizes = _column(kwargs, "image_size", n, required=False)
        return [score_completion(c, t, sol, size, use_format=use_format, accuracy_weight=accuracy_weight,
                                 format_weight=format_weight, protocol=protocol).reward
                for c, t, sol, size in zip(completions, tasks, solutions, sizes)]

    name = f"realvlg_{task}_reward" if task is not None else "realvlg_reward"
    reward_func.__name__ = reward_func.__qualname__ = name
    return reward_func
