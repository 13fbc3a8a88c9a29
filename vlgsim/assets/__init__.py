"""Procedural part-annotated objects (trimesh)."""

from vlgsim.assets.colors import COLORS
from vlgsim.assets.objects import (
    CATEGORIES,
    MAX_GRIPPER_OPENING_M,
    ObjectAsset,
    ObjectPart,
    ObjectSpec,
    build_object,
    categories_in_split,
)

__all__ = [
    "CATEGORIES", "COLORS", "MAX_GRIPPER_OPENING_M", "ObjectAsset", "ObjectPart", "ObjectSpec",
    "build_object", "categories_in_split",
]
