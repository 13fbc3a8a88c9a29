"""Referring expressions that identify exactly one object in a scene.

Every candidate expression is built together with the predicate it means; it is emitted
only if that predicate, evaluated on every object of the scene, is true for the target
and for no other object (uniqueness is proved against the scene, not assumed). Spatial
words are in the camera view: "left" = smaller image column, "in front of" / "nearest" =
closer to the camera. Comparisons need a clear margin so borderline cases are never said.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Callable, Sequence

import numpy as np

LEFT_RIGHT_MARGIN_FRAC = 0.06
"""Two objects are 'left/right of' each other only if their image columns differ by this share of the width."""
NEAR_FAR_MARGIN_M = 0.04
"""Two objects are 'in front of/behind' each other only if camera distances differ by this much."""
SIZE_RATIO = 1.3
"""'bigger/smaller' needs this volume ratio to every other candidate."""


@dataclass(frozen=True)
class ReferentView:
    """What language can see of one object: category, colour, size and place in the view."""

    category: str
    color: str
    volume_m3: float
    u_px: float
    """Image column of the object's centre, pixels."""
    dist_m: float
    """Distance from the camera centre to the object's centre, metres."""


@dataclass(frozen=True)
class _Head:
    phrase: str
    test: Callable[[ReferentView], bool]


def _heads(t: ReferentView) -> list[_Head]:
    return [
        _Head(t.category, lambda o, c=t.category: o.category == c),
        _Head(f"{t.color} {t.category}", lambda o, c=t.category, k=t.color: o.category == c and o.color == k),
        _Head(f"{t.color} object", lambda o, k=t.color: o.color == k),
    ]


def referring_expressions(objects: Sequence[ReferentView], target: int, image_width: int,
                          spatial: bool = True) -> list[str]:
    """All referring expressions (noun phrases, e.g. "the red mug left of the bowl") that
    pick out ``objects[target]`` and nothing else. Deterministic order, simplest first.

    Each relation is a pair of tests: ``strict`` (clearly true, with margin) and ``loose``
    (true or borderline). A phrase is emitted iff ``strict`` holds for the target and
    ``loose`` holds for no other object, so no listener can pick another object.
    ``spatial=False`` keeps only view-independent words (category, colour, size), for
    instructions shared by several camera views.
    """
    if not 0 <= target < len(objects):
        raise IndexError(f"target {target} outside 0..{len(objects) - 1}")
    m = LEFT_RIGHT_MARGIN_FRAC * image_width
    n = len(objects)
    out: list[str] = []

    def emit(phrases: Sequence[str], strict: Callable[[int], bool], loose: Callable[[int], bool] | None = None):
        loose = loose or strict
        if strict(target) and not any(loose(i) for i in range(n) if i != target):
            out.extend(p for p in phrases if p not in out)

    u = [o.u_px for o in objects]
    d = [o.dist_m for o in objects]
    vol = [o.volume_m3 for o in objects]
    heads = _heads(objects[target])
    for h in heads:
        phr = [f"the {h.phrase}"] + ([f"the {h.phrase[:-7]} one"] if h.phrase.endswith(" object") else [])
        emit(phr, lambda i, h=h: h.test(objects[i]))

    for h in heads[:2]:
        members = [i for i in range(n) if h.test(objects[i])]
        if len(members) < 2:
            continue
        two = len(members) == 2

        def extreme(key, sign, margin, h=h, members=members):
            """i is in H and beats every other member of H on key (by margin; 'loose': -margin)."""
            return (lambda i: h.test(objects[i]) and all(sign * (key[i] - key[j]) > margin for j in members if j != i),
                    lambda i: h.test(objects[i]) and all(sign * (key[i] - key[j]) > -margin for j in members if j != i))

        logv = np.log(np.maximum(vol, 1e-12))
        lr = float(np.log(SIZE_RATIO))
        emit([f"the {'bigger' if two else 'biggest'} {h.phrase}", f"the {'larger' if two else 'largest'} {h.phrase}"],
             *extreme(logv, +1, lr))
        emit([f"the {'smaller' if two else 'smallest'} {h.phrase}"], *extreme(logv, -1, lr))
        if not spatial:
            continue
        emit([f"the leftmost {h.phrase}", f"the {h.phrase} on the far left"], *extreme(u, -1, m))
        emit([f"the rightmost {h.phrase}", f"the {h.phrase} on the far right"], *extreme(u, +1, m))
        emit([f"the nearest {h.phrase}", f"the {h.phrase} closest to the camera"], *extreme(d, -1, NEAR_FAR_MARGIN_M))
        emit([f"the farthest {h.phrase}", f"the {h.phrase} farthest from the camera"], *extreme(d, +1, NEAR_FAR_MARGIN_M))

    if not spatial:
        return out
    landmarks = _landmarks(objects, target)
    for h in heads[:2]:
        inh = lambda i, h=h: h.test(objects[i])  # noqa: E731
        for li, lp in landmarks:
            rels = [
                ([f"the {h.phrase} left of {lp}", f"the {h.phrase} to the left of {lp}"], u, -1, m),
                ([f"the {h.phrase} right of {lp}", f"the {h.phrase} to the right of {lp}"], u, +1, m),
                ([f"the {h.phrase} in front of {lp}"], d, -1, NEAR_FAR_MARGIN_M),
                ([f"the {h.phrase} behind {lp}"], d, +1, NEAR_FAR_MARGIN_M),
            ]
            for phrases, key, sign, margin in rels:
                emit(phrases,
                     lambda i, key=key, sign=sign, margin=margin, li=li: i != li and inh(i) and sign * (key[i] - key[li]) > margin,
                     lambda i, key=key, sign=sign, margin=margin, li=li: i != li and inh(i) and sign * (key[i] - key[li]) > -margin)
        for (ai, ap), (bi, bp) in combinations(landmarks, 2):
            lo, hi = sorted((u[ai], u[bi]))
            if hi - lo < 3 * m:
                continue
            emit([f"the {h.phrase} between {ap} and {bp}"],
                 lambda i, lo=lo, hi=hi: inh(i) and lo + m < u[i] < hi - m,
                 lambda i, lo=lo, hi=hi, ai=ai, bi=bi: i not in (ai, bi) and inh(i) and lo - m < u[i] < hi + m)
    return out


def _landmarks(objects: Sequence[ReferentView], target: int) -> list[tuple[int, str]]:
    """Objects other than the target that have a plain unique name, with that name."""
    out = []
    for i, o in enumerate(objects):
        if i == target:
            continue
        for h in _heads(o)[:2]:
            if sum(h.test(x) for x in objects) == 1:
                out.append((i, f"the {h.phrase}"))
                break
    return out


INSTRUCTION_TEMPLATES = (
    "Grasp {expr}.",
    "Pick up {expr}.",
    "Grab {expr}.",
    "Please grasp {expr}.",
    "Lift {expr}.",
)


def make_instruction(expression: str, rng: np.random.Generator) -> str:
    """Wrap a referring expression in one of several imperative phrasings."""
    return INSTRUCTION_TEMPLATES[int(rng.integers(len(INSTRUCTION_TEMPLATES)))].format(expr=expression)
