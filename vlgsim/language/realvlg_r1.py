"""Answer reading of the ``realvlg-r1`` protocol: RealVLG-R1's published prompts and parsers.

Everything here reproduces ``lif314/RealVLG-R1`` (files cited per function) so that vlgsim
scores a RealVLG-R1 checkpoint's text exactly as that code does; the ``vlgsim`` protocol's
more forgiving reader is :func:`vlgsim.language.answers.parse_answer`.

Two readers, because the published code has two:

* :func:`parse_eval` - ``evaluation/eval_bbox.py`` (``parse_bbox_from_output``),
  ``evaluation/eval_grasp.py`` (``parse_rect``), ``evaluation/eval_contact.py``
  (``parse_touch_points``): the first ``<answer>...</answer>`` (else the whole text),
  whitespace runs collapsed, then a regular expression. Used by ``vlgsim score realvlg
  --protocol realvlg-r1``.
* :func:`parse_reward` - ``examples/reward_function/bbox.py``, ``rect_grasp.py``,
  ``contact_grasp.py``: the response is normalised first (each file its own way), an
  ``<answer>`` tag is required, and bbox/contact answers must match in full (contact points
  are non-negative integers). Used by the rewards with ``protocol="realvlg-r1"``.

Values are returned as the model wrote them: pixels, and for grasps ``[x, y, theta_deg,
width_px]`` with theta in **image axes** (x right, y down, so positive theta turns clockwise
on screen: the opposite sign of vlgsim's counter-clockwise theta), not folded. Both readers
never raise: an unreadable answer is a :class:`~vlgsim.language.answers.ParseFailure`.
Numbers are not range-checked here (the published code does not); the metrics decide what an
absurd magnitude scores (:mod:`vlgsim.sim_eval.realvlg_r1`).

:data:`PROMPTS` holds the published format prompts (``examples/format_prompt/*.jinja``),
``{instruction}`` standing for the jinja ``{{ content | trim }}``.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np

from vlgsim.language.answers import FAILURE_TEXT_CHARS, MAX_TEXT_CHARS, ParsedAnswer, ParseFailure, ParseResult

TASKS = ("bbox", "grasp", "contact")

PROMPTS = {
    # examples/format_prompt/bbox_format.jinja
    "bbox": 'Predict the bounding box of the referred object in the image based on the instruction: "{instruction}". '
            "First output the thinking process in <think> </think> tags and then output the final answer in "
            "<answer> </answer> tags. Following \\\"<think> thinking process </think>\\n"
            "<answer>(x_min,y_min),(x_max,y_max)</answer>\\\" format.",
    # examples/format_prompt/rect_grasp_format.jinja
    "grasp": 'Predict a stable 2D rectangular grasp pose for the target object based on the instruction: '
             '"{instruction}". First, output your reasoning process in <think> </think> tags, then output the final '
             "grasp pose in <answer> </answer> tags, following this format: \\\"<think> thinking process </think>\\n"
             "<answer>(x, y, theta, width)</answer>\\\"",
    # examples/format_prompt/contact_grasp_format.jinja
    "contact": "Predict one stable two-finger grasp contact pair (two 2D coordinates) for the target object described "
               'in the instruction: "{instruction}". First output the thinking process in <think> </think> tags and '
               "then output the final answer in <answer> </answer> tags. Following \\\"<think> thinking process "
               "</think>\\n<answer>(x1,y1),(x2,y2)</answer>\\\" format.",
}
"""The published format prompts, verbatim (``\\"`` and ``\\n`` are literal in the .jinja files)."""

_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)

# evaluation/eval_bbox.py: parse_bbox_from_output (parentheses optional)
_EVAL_BBOX = re.compile(
    r"\(?\s*(-?\d+(?:\.\d+)?)\s*[,，]\s*(-?\d+(?:\.\d+)?)\s*\)?\s*[,，]\s*\(?\s*(-?\d+(?:\.\d+)?)\s*[,，]\s*(-?\d+(?:\.\d+)?)\s*\)?")
# evaluation/eval_grasp.py and examples/reward_function/rect_grasp.py: parse_rect (exactly 4 numbers)
_RECT_NUMBER = re.compile(r"-?\d*\.?\d+(?:[eE][-+]?\d+)?")
# evaluation/eval_contact.py: parse_touch_points
_EVAL_CONTACT = re.compile(
    r"\(\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*\)\s*,\s*\(\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*\)")
# examples/reward_function/bbox.py
_R_BBOX_NUM = r"[\d\.eE+-]+"
_REWARD_BBOX = re.compile(rf"\(\s*({_R_BBOX_NUM})\s*,\s*({_R_BBOX_NUM})\s*\)\s*,\s*\(\s*({_R_BBOX_NUM})\s*,\s*({_R_BBOX_NUM})\s*\)")
_FORMAT_BBOX = re.compile(rf"<think>.*?</think>\s*<answer>\s*\(\s*{_R_BBOX_NUM}\s*,\s*{_R_BBOX_NUM}\s*\)\s*,\s*"
                          rf"\(\s*{_R_BBOX_NUM}\s*,\s*{_R_BBOX_NUM}\s*\)\s*</answer>", re.DOTALL)
# examples/reward_function/rect_grasp.py
_R_FLOAT = r"[-+]?\d*\.?\d+(?:[eE][-+]?\d+)?"
_FORMAT_GRASP = re.compile(rf"<think>.*?</think>\s*<answer>\s*\(\s*{_R_FLOAT}\s*,\s*{_R_FLOAT}\s*,\s*{_R_FLOAT}\s*,"
                           rf"\s*{_R_FLOAT}\s*\)\s*</answer>", re.DOTALL)
# examples/reward_function/contact_grasp.py
_REWARD_CONTACT = re.compile(r"\(\s*(\d+)\s*,\s*(\d+)\s*\)\s*,\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)")
_FORMAT_CONTACT = re.compile(r"<think>.*?</think>\s*<answer>\s*\(\s*\d+\s*,\s*\d+\s*\)\s*,\s*\(\s*\d+\s*,\s*\d+\s*\)\s*"
                             r"</answer>", re.DOTALL)

BBOX_MIN_SIDE_PX = 1e-6
"""``examples/reward_function/bbox.py``: a box with x2 - x1 or y2 - y1 below this is rejected."""


def answer_text(answer: Any) -> str | None:
    """The text the published parsers would see: a string as is; a structured answer (a list
    or dict, as a predictions file may hold) as its JSON text; None for anything else."""
    if isinstance(answer, str):
        return answer
    if isinstance(answer, (list, tuple, dict)):
        try:
            return json.dumps(answer)
        except (TypeError, ValueError):
            return None
    return None


def _fail(task: str, reason: str, text: Any) -> ParseFailure:
    return ParseFailure(task, reason, text[:FAILURE_TEXT_CHARS] if isinstance(text, str) else repr(text)[:80])


def _ok(task: str, values) -> ParsedAnswer:
    v = np.array(values, dtype=np.float64)
    v.setflags(write=False)
    return ParsedAnswer(task, v)


def _checked(text: Any, task: Any) -> str | ParseFailure:
    if task not in TASKS:
        return _fail(str(task)[:40], f"unknown task {str(task)[:40]!r}; allowed tasks: {', '.join(TASKS)}", text)
    s = answer_text(text)
    if s is None:
        return _fail(task, f"expected text or a list/dict answer, got {type(text).__name__}", text)
    if len(s) > MAX_TEXT_CHARS:
        return _fail(task, f"text of {len(s)} characters is longer than {MAX_TEXT_CHARS}", s)
    return s


def parse_eval(text: Any, task: str) -> ParseResult:
    """Read ``text`` as RealVLG-R1's ``evaluation/eval_{bbox,grasp,contact}.py`` do. Never raises."""
    s = _checked(text, task)
    if isinstance(s, ParseFailure):
        return s
    try:
        m = _ANSWER.search(s)
        content = re.sub(r"\s+", " ", m.group(1).strip() if m else s.strip())
        if task == "bbox":
            g = _EVAL_BBOX.search(content)
            if not g:
                return _fail(task, "no '(x_min,y_min),(x_max,y_max)' in the answer (eval_bbox.py's pattern)", s)
            return _ok(task, [float(v) for v in g.groups()])
        if task == "grasp":
            parts = _RECT_NUMBER.findall(content)
            if len(parts) != 4:
                return _fail(task, f"{len(parts)} numbers in the answer; eval_grasp.py needs exactly 4 "
                                   "(x, y, theta, width)", s)
            return _ok(task, [float(v) for v in parts])
        g = _EVAL_CONTACT.search(content)
        if not g:
            return _fail(task, "no '(x1,y1),(x2,y2)' in the answer (eval_contact.py's pattern)", s)
        return _ok(task, [float(v) for v in g.groups()])
    except Exception as e:  # noqa: BLE001 - never stop an evaluation
        return _fail(task, f"unexpected {type(e).__name__} while parsing", s)


def normalise_response(text: str, task: str) -> str:
    """The whitespace normalisation each reward file applies before anything else:
    bbox.py drops whitespace around the four tags, rect_grasp.py between ``>`` and ``<``,
    contact_grasp.py around every ``<``, ``>`` and ``/``."""
    if task == "bbox":
        text = re.sub(r"\s*(</?think>)\s*", r"\1", text)
        return re.sub(r"\s*(</?answer>)\s*", r"\1", text)
    if task == "grasp":
        return re.sub(r">\s+<", "><", text)
    return re.sub(r"\s*(<|>|/)\s*", r"\1", text)


def format_reward(text: Any, task: str) -> float:
    """1.0 iff ``text`` passes the task's ``format_reward`` of ``examples/reward_function/``:
    ``<think>...</think>`` then ``<answer>`` holding numbers in the prompt's shape (bbox: two
    ``(x, y)`` pairs of ``[\\d.eE+-]+`` tokens; grasp: ``(x, y, theta, width)`` floats;
    contact: two pairs of non-negative integers). 0.0 otherwise, never raises."""
    s = _checked(text, task)
    if isinstance(s, ParseFailure):
        return 0.0
    s = normalise_response(s, task)
    if task == "bbox":
        return 1.0 if _FORMAT_BBOX.fullmatch(s.strip()) else 0.0
    if task == "grasp":
        return 1.0 if _FORMAT_GRASP.fullmatch(s.strip()) else 0.0
    return 1.0 if _FORMAT_CONTACT.fullmatch(s) else 0.0


def parse_reward(text: Any, task: str) -> ParseResult:
    """Read ``text`` as the accuracy rewards of ``examples/reward_function/{bbox,rect_grasp,
    contact_grasp}.py`` do (after :func:`normalise_response`). A failure there is accuracy 0.
    Never raises."""
    s = _checked(text, task)
    if isinstance(s, ParseFailure):
        return s
    try:
        s = normalise_response(s, task)
        m = _ANSWER.search(s)
        if not m:
            return _fail(task, "no <answer>...</answer> (the reward needs one)", s)
        body = m.group(1).strip()
        if task == "bbox":
            g = _REWARD_BBOX.fullmatch(body)
            if not g:
                return _fail(task, "answer is not exactly '(x1, y1), (x2, y2)' (bbox.py's pattern)", s)
            try:
                x1, y1, x2, y2 = (float(v) for v in g.groups())
            except ValueError:
                return _fail(task, f"a coordinate of {body[:60]!r} is not a number", s)
            if (x2 - x1) < BBOX_MIN_SIDE_PX or (y2 - y1) < BBOX_MIN_SIDE_PX:
                return _fail(task, f"degenerate box {[x1, y1, x2, y2]}: needs x2 - x1 and y2 - y1 >= 1e-6", s)
            return _ok(task, [x1, y1, x2, y2])
        if task == "grasp":
            parts = _RECT_NUMBER.findall(body)
            if len(parts) != 4:
                return _fail(task, f"{len(parts)} numbers in the answer; rect_grasp.py needs exactly 4", s)
            return _ok(task, [float(v) for v in parts])
        g = _REWARD_CONTACT.fullmatch(body)
        if not g:
            return _fail(task, "answer is not exactly '(x1,y1),(x2,y2)' with non-negative integers "
                               "(contact_grasp.py's pattern)", s)
        return _ok(task, [int(v) for v in g.groups()])
    except Exception as e:  # noqa: BLE001
        return _fail(task, f"unexpected {type(e).__name__} while parsing", s)
