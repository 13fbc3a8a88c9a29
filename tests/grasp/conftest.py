import pytest
import trimesh

from vlgsim.assets.objects import ObjectPart
from vlgsim.grasp.dex_energy import ObjectField


@pytest.fixture
def body_and_cap() -> ObjectField:
    """A 4 cm cube "body" on the table (z = 0) with a 2 x 2 x 4 cm "cap" on top of it."""
    a = trimesh.creation.box([0.04, 0.04, 0.04])
    a.apply_translation([0, 0, 0.02])
    b = trimesh.creation.box([0.02, 0.02, 0.04])
    b.apply_translation([0, 0, 0.06])
    return ObjectField.from_parts((ObjectPart("body", (a,), None), ObjectPart("cap", (b,), None)), n_points=512)
