"""Named colours (linear RGB in [0, 1]) used for objects and their names in language."""

COLORS: dict[str, tuple[float, float, float]] = {
    "red": (0.80, 0.08, 0.08),
    "green": (0.10, 0.60, 0.15),
    "blue": (0.10, 0.25, 0.85),
    "yellow": (0.95, 0.82, 0.10),
    "orange": (0.95, 0.45, 0.05),
    "purple": (0.50, 0.15, 0.65),
    "white": (0.92, 0.92, 0.90),
    "black": (0.06, 0.06, 0.06),
    "pink": (0.95, 0.45, 0.65),
}
METAL_RGB = (0.62, 0.63, 0.66)
DARK_RGB = (0.15, 0.15, 0.17)
