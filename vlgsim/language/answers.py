"""Parse a vision-language model's text answer into numbers (Qwen2.5-VL style).

All coordinates are absolute image pixels (origin top-left, u right, v down), angles are
degrees. Three tasks:

* ``"bbox"``: ``[x1, y1, x2, y2]`` pixels, from ``{"bbox_2d": [...], "label": "..."}``, a
  JSON list of such objects (the first is taken), a bare ``[x1, y1, x2, y2]``, ``[[x1, y1, x2, y2]]``,
  the corner pairs ``(x1,y1),(x2,y2)`` that RealVLG-R1's bbox prompt
  (``examples/format_prompt/bbox_format.jinja``) and UniVG-R1's rewards ask for (also as
  ``[[x1, y1], [x2, y2]]`` or in Qwen's ``<|box_start|>...<|box_end|>``), or ``<box>x1 y1 x2 y2</box>``.
* ``"grasp"``: ``[x, y, theta_deg, width_px]``, from ``(x, y, theta, w)``, ``[x, y, theta, w]``
  or ``{"grasp": [...]}``; theta is folded to (-90, 90] with :func:`fold_angle_deg`.
* ``"contact"``: ``[x1, y1, x2, y2]`` (two contact points), from ``[[x1, y1], [x2, y2]]``,
  ``(x1,y1),(x2,y2)`` (RealVLG-R1's ``contact_grasp_format.jinja``),
  ``{"contact_points": [[..], [..]]}`` or a flat 4-list.

Every number must be finite and within ``+-MAX_ABS_VALUE`` (1e6: pixels and degrees of a real
answer are far smaller; larger ones would overflow areas in the metrics).

This is the ``vlgsim`` protocol's reader. The ``realvlg-r1`` protocol reads answers with the
published code's own regular expressions instead: :mod:`vlgsim.language.realvlg_r1`.

The text may carry ``<think>...</think>`` (ignored) and ``<answer>...</answer>`` (the
content of the *last* one is used), and the payload may sit in a ```json fence. An
already-structured answer (list, tuple, ndarray or dict) is accepted instead of text.

:func:`parse_answer` never raises: anything it cannot read (``None``, bytes, invalid
JSON, huge or deeply nested input, wrong counts, NaN, ...) comes back as a
:class:`ParseFailure` whose ``reason`` names the offending value and the rule.
"""

from __future__ import annotations

import json
import math
import re
import reprlib
from dataclasses import dataclass, field
from typing import Any, Union

import numpy as np

from vlgsim.grasp.rect import fold_angle_deg

TASKS = ("bbox", "grasp", "contact")
"""Tasks :func:`parse_answer` understands."""

MAX_TEXT_CHARS = 100_000
"""Longer texts are rejected outright (a real answer is a few hundred characters)."""
MAX_BRACKET_DEPTH = 4
"""Deeper ``[``/``{``/``(`` nesting is rejected (the deepest valid form is 3)."""
MAX_ABS_VALUE = 1e6
"""Numbers in an answer (pixels, degrees) must lie within +-this; larger ones are a parse failure."""
FAILURE_TEXT_CHARS = 200
"""``ParseFailure.text`` keeps this many characters of the input."""

_BBOX_KEYS = ("bbox_2d", "bbox")
_GRASP_KEYS = ("grasp", "grasp_rect")
_CONTACT_KEYS = ("contact_points", "contacts")
_MAX_DECODE_TRIES = 32

_ANSWER_RE = re.compile(r"<answer>(.*?)</answer>", re.DOTALL | re.IGNORECASE)
_THINK_RE = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_FENCE_RE = re.compile(r"```[ \t]*(?:json|JSON)?[ \t]*\n?(.*?)```", re.DOTALL)
_FLAT_GROUP_RE = re.compile(r"[\[(]([^\[\](){}]*)[\])]")
_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_PAIRS_RE = re.compile(rf"\(\s*({_NUM})\s*[,，]\s*({_NUM})\s*\)\s*[,，]?\s*\(\s*({_NUM})\s*[,，]\s*({_NUM})\s*\)")
"""``(x1,y1),(x2,y2)``: the corner/contact pairs of RealVLG-R1's and UniVG-R1's prompts."""
_BOX_TAG_RE = re.compile(r"<box>(.*?)</box>", re.DOTALL | re.IGNORECASE)
_SPACED4_RE = re.compile(rf"^\s*({_NUM})\s+({_NUM})\s+({_NUM})\s+({_NUM})\s*$")
_FORMAT_RE = re.compile(r"\s*<think>.*?</think>\s*<answer>.*?</answer>\s*", re.DOTALL)

_repr = reprlib.Repr()
_repr.maxlevel = 3
_repr.maxlist = _repr.maxtuple = 6
_repr.maxdict = 4
_repr.maxstring = 60
_repr.maxother = 60


def _short(x: Any) -> str:
    """Bounded repr (safe on huge or deeply nested values)."""
    try:
        if isinstance(x, np.ndarray):
            x = x.tolist() if x.size <= 64 else f"ndarray(shape={x.shape})"
        return _repr.repr(x)
    except Exception:  # noqa: BLE001 - a repr must never break parsing
        return f"<{type(x).__name__}>"


@dataclass(frozen=True, eq=False)
class ParsedAnswer:
    """A readable answer. ``value`` (float64, (4,), read-only) is ``[x1, y1, x2, y2]`` px
    for bbox, ``[x, y, theta_deg, width_px]`` for grasp (theta in (-90, 90]), and
    ``[x1, y1, x2, y2]`` px (the two contact points) for contact."""

    task: str
    value: np.ndarray
    label: str = ""

    @property
    def ok(self) -> bool:
        return True


@dataclass(frozen=True)
class ParseFailure:
    """Why an answer could not be read; ``text`` is the input, cut to 200 characters."""

    task: str
    reason: str
    text: str = field(default="")

    @property
    def ok(self) -> bool:
        return False


ParseResult = Union[ParsedAnswer, ParseFailure]


class _Bad(Exception):
    """Internal: a rule was broken; the message is the failure reason."""


def format_ok(text: Any) -> bool:
    """True iff ``text`` is exactly ``<think>...</think>`` then ``<answer>...</answer>``
    (whitespace allowed around and between them, each tag exactly once, nothing else)."""
    if not isinstance(text, str) or len(text) > MAX_TEXT_CHARS:
        return False
    if any(text.count(t) != 1 for t in ("<think>", "</think>", "<answer>", "</answer>")):
        return False
    return _FORMAT_RE.fullmatch(text) is not None


FORMAT_TAGS = ("<think>", "</think>", "<answer>", "</answer>")


def format_tag_score(text: Any) -> float:
    """Graded format score in [0, 1]: 0.2 for each of ``<think>``, ``</think>``, ``<answer>``,
    ``</answer>`` that occurs exactly once, plus 0.2 when the whole text passes :func:`format_ok`
    (so 1.0 iff it does). A dense version of the format rule for small models."""
    if not isinstance(text, str) or len(text) > MAX_TEXT_CHARS:
        return 0.0
    return 0.2 * sum(text.count(t) == 1 for t in FORMAT_TAGS) + 0.2 * format_ok(text)


def parse_answer(text: Any, task: str) -> ParseResult:
    """Read a model answer for ``task`` ("bbox", "grasp" or "contact"). Never raises."""
    try:
        return _parse(text, task)
    except Exception as e:  # noqa: BLE001 - last resort: garbage must not crash training
        return ParseFailure(_task_name(task), f"unexpected {type(e).__name__} while parsing", _clip(text))


def _task_name(task: Any) -> str:
    return task if isinstance(task, str) else _short(task)


def _clip(text: Any) -> str:
    if isinstance(text, str):
        return text[:FAILURE_TEXT_CHARS]
    return _short(text)[:FAILURE_TEXT_CHARS]


def _parse(text: Any, task: Any) -> ParseResult:
    tname = _task_name(task)
    if task not in TASKS:
        return ParseFailure(tname, f"unknown task {tname!r}; allowed tasks: {', '.join(TASKS)}", _clip(text))
    try:
        if isinstance(text, str):
            obj = _decode_text(text)
        elif isinstance(text, (list, tuple, dict, np.ndarray)):
            obj = text.tolist() if isinstance(text, np.ndarray) else text
        else:
            raise _Bad(f"expected text or a list/dict answer, got {type(text).__name__}")
        value, label = _EXTRACT[task](obj)
    except _Bad as e:
        return ParseFailure(tname, str(e), _clip(text))
    value.setflags(write=False)
    return ParsedAnswer(task, value, label)


# ---------------------------------------------------------------- text -> object


def _payload(text: str) -> str:
    """The part of the text that should hold the answer."""
    answers = _ANSWER_RE.findall(text)
    if answers:
        body = answers[-1]
    else:
        body = _THINK_RE.sub(" ", text)
        low = body.lower()
        if "<answer>" in low:  # opened but never closed: take what follows the last one
            body = body[low.rfind("<answer>") + len("<answer>"):]
    fence = _FENCE_RE.search(body)
    if fence:
        body = fence.group(1)
    body = re.sub(r"<\|box_(?:start|end)\|>", " ", body)  # Qwen-VL box tokens around "(x1,y1),(x2,y2)"
    box = _BOX_TAG_RE.search(body)
    if box:  # InternVL / MiniCPM / Mantis style "<box>...</box>"
        body = box.group(1)
    return body.strip()


def _max_depth(s: str) -> int:
    depth = best = 0
    for ch in s:
        if ch in "[{(":
            depth += 1
            best = max(best, depth)
        elif ch in "]})":
            depth = max(0, depth - 1)
    return best


def _decode_text(text: str) -> Any:
    if len(text) > MAX_TEXT_CHARS:
        raise _Bad(f"text of {len(text)} characters is longer than {MAX_TEXT_CHARS}")
    body = _payload(text)
    if not body:
        raise _Bad("empty answer")
    depth = _max_depth(body)
    if depth > MAX_BRACKET_DEPTH:
        raise _Bad(f"brackets nested {depth} deep (at most {MAX_BRACKET_DEPTH} allowed)")
    # parentheses are tuples, e.g. "(x, y, theta, w)": read them as JSON lists
    candidates = [body, body.replace("(", "[").replace(")", "]")]
    for cand in candidates:
        try:
            return json.loads(cand)
        except (ValueError, RecursionError):
            pass
    spaced = _SPACED4_RE.match(body)  # "<box>x1 y1 x2 y2</box>"
    if spaced:
        return [float(v) for v in spaced.groups()]
    pairs = _PAIRS_RE.search(body)  # "(x1,y1),(x2,y2)", possibly inside prose
    if pairs:
        v = [float(g) for g in pairs.groups()]
        return [v[:2], v[2:]]
    # the structure may be embedded in prose: decode from each opening bracket
    dec = json.JSONDecoder()
    for cand in candidates:
        for tries, m in enumerate(re.finditer(r"[\[{]", cand)):
            if tries >= _MAX_DECODE_TRIES:
                break
            try:
                obj, _ = dec.raw_decode(cand, m.start())
            except (ValueError, RecursionError):
                continue
            if isinstance(obj, (list, dict)):
                return obj
    # last resort: a flat bracketed group of numbers that JSON rejects (e.g. "nan", "1.")
    m = _FLAT_GROUP_RE.search(body)
    if m:
        parts = [p.strip() for p in m.group(1).split(",")]
        try:
            return [float(p) for p in parts]
        except ValueError:
            pass
    raise _Bad(f"no JSON list or object found in answer {_short(body)}")


# ---------------------------------------------------------------- object -> numbers


def _number(x: Any, what: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)):
        raise _Bad(f"{what} {_short(x)} is not a number")
    try:
        f = float(x)
    except (OverflowError, ValueError):
        raise _Bad(f"{what} {_short(x)} is not a finite number") from None
    if not math.isfinite(f):
        raise _Bad(f"{what} {_short(x)} is not finite (all numbers must be finite)")
    if abs(f) > MAX_ABS_VALUE:
        raise _Bad(f"{what} {_short(x)} is out of range (numbers must lie within +-{MAX_ABS_VALUE:g})")
    return f


def _four(seq: Any, what: str) -> np.ndarray:
    if isinstance(seq, np.ndarray):
        seq = seq.tolist()
    if not isinstance(seq, (list, tuple)):
        raise _Bad(f"{what} {_short(seq)} is not a list of 4 numbers")
    if len(seq) != 4:
        raise _Bad(f"{what} {_short(seq)} must have exactly 4 numbers, got {len(seq)}")
    return np.array([_number(v, f"{what} entry") for v in seq], dtype=np.float64)


def _unwrap(obj: Any, keys: tuple[str, ...], what: str) -> tuple[Any, str]:
    """Pick the value list out of a dict (or the first dict of a list of dicts)."""
    if isinstance(obj, (list, tuple)) and obj and isinstance(obj[0], dict):
        obj = obj[0]
    label = ""
    if isinstance(obj, dict):
        lab = obj.get("label", "")
        label = lab if isinstance(lab, str) else ""
        for k in keys:
            if k in obj:
                return obj[k], label
        raise _Bad(f"{what} object {_short(obj)} has none of the keys {', '.join(keys)}")
    return obj, label


def _two_points_or_one_row(seq: Any) -> Any:
    """``[[x1, y1], [x2, y2]]`` -> ``[x1, y1, x2, y2]``; ``[[x1, y1, x2, y2]]`` -> its row."""
    if isinstance(seq, np.ndarray):
        seq = seq.tolist()
    if isinstance(seq, (list, tuple)):
        if len(seq) == 2 and all(isinstance(p, (list, tuple)) and len(p) == 2 for p in seq):
            return [*seq[0], *seq[1]]
        if len(seq) == 1 and isinstance(seq[0], (list, tuple)) and len(seq[0]) == 4:
            return seq[0]
    return seq


def _extract_bbox(obj: Any) -> tuple[np.ndarray, str]:
    seq, label = _unwrap(obj, _BBOX_KEYS, "bbox")
    v = _four(_two_points_or_one_row(seq), "bbox")
    if v[0] > v[2] or v[1] > v[3]:
        raise _Bad(f"bbox {v.tolist()} needs x1 <= x2 and y1 <= y2")
    return v, label


def _extract_grasp(obj: Any) -> tuple[np.ndarray, str]:
    seq, label = _unwrap(obj, _GRASP_KEYS, "grasp")
    v = _four(seq, "grasp")
    if not v[3] > 0:
        raise _Bad(f"grasp width {v[3]} px must be > 0")
    v[2] = fold_angle_deg(v[2])
    return v, label


def _extract_contact(obj: Any) -> tuple[np.ndarray, str]:
    seq, label = _unwrap(obj, _CONTACT_KEYS, "contact")
    if isinstance(seq, np.ndarray):
        seq = seq.tolist()
    if isinstance(seq, (list, tuple)) and len(seq) == 2:
        pts = []
        for i, p in enumerate(seq):
            if isinstance(p, np.ndarray):
                p = p.tolist()
            if not isinstance(p, (list, tuple)) or len(p) != 2:
                raise _Bad(f"contact point {i + 1} {_short(p)} must be 2 numbers [x, y]")
            pts.extend(_number(c, f"contact point {i + 1} entry") for c in p)
        return np.array(pts, dtype=np.float64), label
    if isinstance(seq, (list, tuple)) and len(seq) != 4:
        raise _Bad(f"contact {_short(seq)} must be 2 points [[x1, y1], [x2, y2]] or 4 numbers, got {len(seq)} items")
    return _four(seq, "contact"), label


_EXTRACT = {"bbox": _extract_bbox, "grasp": _extract_grasp, "contact": _extract_contact}
