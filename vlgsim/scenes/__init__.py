"""Backend-neutral scene specs: objects, poses, camera, target, instruction."""

from vlgsim.scenes.camera import CameraSpec, deproject, look_at, project
from vlgsim.scenes.tabletop import Lighting, PlacedObject, TabletopScene, sample_tabletop_scene

__all__ = ["CameraSpec", "Lighting", "PlacedObject", "TabletopScene", "deproject", "look_at", "project",
           "sample_tabletop_scene"]
