"""Part-grasp instructions and captions (DexVLG): "Grasp the {part} of the {object}[, with
contacts on {fingers}]"; fingers in the order thumb, index, middle, ring, little."""

from __future__ import annotations

FINGER_ORDER = ("thumb", "index", "middle", "ring", "little")


def finger_phrase(fingers) -> str:
    """("thumb", "index") -> "thumb and index finger"."""
    names = [f for f in FINGER_ORDER if f in set(fingers)]
    words = [n if n == "thumb" else f"{n} finger" for n in names]
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def part_instruction(part: str, category: str, fingers=None, caption: bool = False) -> str:
    """The env's instruction (``caption=False``: "... of the mug") or a grasp set's caption
    (``caption=True``: "... of the mug object"), with the finger clause when ``fingers``."""
    base = f"Grasp the {part} of the {category}{' object' if caption else ''}"
    return f"{base}, with contacts on {finger_phrase(fingers)}" if fingers else base
