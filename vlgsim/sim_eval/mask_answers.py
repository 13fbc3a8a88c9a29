"""Read a mask answer: a COCO RLE or COCO polygons, as a structure or as JSON text.

Accepted (``H``, ``W`` = the image's height and width in pixels):

* COCO RLE ``{"size": [H, W], "counts": "..."}`` (compressed string) or with a list of run
  lengths (uncompressed), the size equal to the image's;
* COCO polygons ``[[x1, y1, x2, y2, ...], ...]`` (one or more rings of >= 3 points, pixels),
  also as ``{"polygon": ...}`` / ``{"segmentation": ...}``, or a single flat ring;
* any of these as JSON text, optionally inside ``<answer>...</answer>``.

:func:`read_mask_answer` never raises: it returns ``(mask, "")`` or ``(None, reason)``.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Optional

import numpy as np

MAX_POLYGON_POINTS = 100_000
_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL | re.IGNORECASE)


def _polygons(obj: Any, W: int, H: int) -> list[list[float]]:
    if obj and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in obj):
        obj = [obj]  # a single flat ring
    rings = []
    for ring in obj:
        if not isinstance(ring, (list, tuple)) or len(ring) < 6 or len(ring) % 2:
            raise ValueError(f"polygon ring of {len(ring) if isinstance(ring, (list, tuple)) else type(ring).__name__} "
                             "numbers; rule: an even count >= 6 ([x1, y1, x2, y2, x3, y3, ...] pixels)")
        vals = []
        for v in ring:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(float(v)):
                raise ValueError(f"polygon coordinate {str(v)[:30]!r} is not a finite number")
            if abs(float(v)) > 1e6:
                raise ValueError(f"polygon coordinate {v!r} is out of range (within +-1e6 pixels)")
            vals.append(float(v))
        rings.append(vals)
    if sum(len(r) for r in rings) // 2 > MAX_POLYGON_POINTS:
        raise ValueError(f"more than {MAX_POLYGON_POINTS} polygon points")
    return rings


def rle_string_counts(s: str) -> list[int]:
    """Run lengths of a compressed COCO RLE string (pycocotools' ``rleFrString``, in Python,
    so a malformed string is caught here rather than decoded past its buffer in C)."""
    counts: list[int] = []
    p = 0
    while p < len(s):
        x, k, more = 0, 0, True
        while more:
            if p >= len(s):
                raise ValueError("RLE counts string ends inside a number")
            c = ord(s[p]) - 48
            if not 0 <= c < 64:
                raise ValueError(f"RLE counts character {s[p]!r} is not in the COCO alphabet")
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


def _check_runs(counts: list[int], H: int, W: int) -> None:
    if any(c < 0 for c in counts):
        raise ValueError("RLE has a negative run length")
    if sum(counts) != H * W:
        raise ValueError(f"RLE run lengths sum to {sum(counts)}, not H * W = {H * W}")


def read_mask_answer(answer: Any, shape: tuple[int, int]) -> tuple[Optional[np.ndarray], str]:
    """``(HxW bool mask, "")`` for a readable answer, else ``(None, reason)``; ``shape`` = (H, W)."""
    from pycocotools import mask as mask_utils

    H, W = int(shape[0]), int(shape[1])
    try:
        obj = answer
        if isinstance(obj, str):
            m = _ANSWER.findall(obj)
            obj = json.loads(m[-1] if m else obj)
        if isinstance(obj, dict) and "counts" in obj:
            size = obj.get("size")
            if not isinstance(size, (list, tuple)) or [int(s) for s in size] != [H, W]:
                return None, f"RLE size {str(size)[:40]} must be the image's [H, W] = [{H}, {W}]"
            counts = obj["counts"]
            if isinstance(counts, list):
                if not all(type(c) is int for c in counts):  # noqa: E721
                    return None, "RLE run lengths must be integers"
                _check_runs(counts, H, W)
                rle = mask_utils.frPyObjects({"size": [H, W], "counts": counts}, H, W)
            elif isinstance(counts, str):
                _check_runs(rle_string_counts(counts), H, W)
                rle = {"size": [H, W], "counts": counts.encode()}
            else:
                return None, "RLE counts must be a string or a list of run lengths"
            mask = mask_utils.decode(rle).astype(bool)
            if mask.shape != (H, W):
                return None, f"RLE decodes to {mask.shape}, not ({H}, {W})"
            return mask, ""
        if isinstance(obj, dict):
            obj = obj.get("polygon", obj.get("segmentation"))
        if isinstance(obj, (list, tuple)) and obj:
            rings = _polygons(obj, W, H)
            rle = mask_utils.merge(mask_utils.frPyObjects(rings, H, W))
            return mask_utils.decode(rle).astype(bool), ""
        return None, "not a COCO RLE dict ({size, counts}) or COCO polygons ([[x1, y1, x2, y2, ...]])"
    except ValueError as e:
        return None, str(e)[:160] or "malformed mask answer"
    except Exception as e:  # noqa: BLE001 - a bad mask answer is a failure, never a crash
        return None, f"malformed mask answer ({type(e).__name__})"
