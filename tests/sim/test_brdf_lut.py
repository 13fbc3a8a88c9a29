"""SAPIEN's BRDF table from the on-disk cache (vlgsim.sim.brdf_lut): the same pictures as the
table SAPIEN generates itself, on real lavapipe rendering."""

import imageio.v2 as iio
import numpy as np
import pytest
import sapien

from vlgsim.scenes import CameraSpec, sample_tabletop_scene
from vlgsim.sim import brdf_lut
from vlgsim.sim.sapien_render import TabletopRenderer, add_camera, capture

pytestmark = pytest.mark.sim


def test_cached_table_gives_sapiens_pictures(tmp_path, monkeypatch):
    lut = brdf_lut.brdf_lut()
    assert lut is not None and lut.shape == (512, 512, 2) and lut.dtype == np.float16
    assert brdf_lut.cache_path().exists()
    r = TabletopRenderer()
    # an environment map makes the table matter: specular light = env map x (scale, bias) from the table
    faces = []
    for i, rgb in enumerate([(255, 200, 150), (90, 160, 255), (255, 255, 255), (40, 40, 40), (200, 255, 120),
                             (255, 120, 200)]):
        faces.append(str(tmp_path / f"face{i}.png"))
        iio.imwrite(faces[-1], np.full((16, 16, 3), rgb, np.uint8))
    r.scene.render_system.set_cubemap(sapien.render.RenderCubemap(*faces))
    sc = sample_tabletop_scene(3, camera=CameraSpec.d435(160, 120))
    (cached,) = r.render(sc, [sc.camera])  # add_camera gave this camera the cached table
    monkeypatch.setenv("VLGSIM_BRDF_LUT", "0")
    wrong = add_camera(r.scene, sc.camera)
    wrong.set_texture(brdf_lut.TEXTURE_NAME, sapien.render.RenderTexture(np.zeros_like(lut), 2, "R16G16Sfloat"))
    own = add_camera(r.scene, sc.camera)  # no table given: SAPIEN generates its own
    r.scene.update_render()
    own_rgb, own_depth, _ = capture(own)
    assert np.array_equal(cached.rgb, own_rgb) and np.array_equal(cached.depth, own_depth)
    assert not np.array_equal(capture(wrong)[0], own_rgb)  # a different table would show


def test_a_damaged_cache_file_is_replaced_by_sapiens_table(tmp_path, monkeypatch):
    good = brdf_lut.brdf_lut()
    monkeypatch.setenv("VLGSIM_CACHE", str(tmp_path))
    path = brdf_lut.cache_path()
    path.write_bytes(b"not an npy file")
    assert brdf_lut._load(path) is None
    np.save(path, np.zeros((4, 4, 2), np.float16))  # a table of the wrong size
    assert brdf_lut._load(path) is None
    lut = brdf_lut.brdf_lut.__wrapped__()  # reads SAPIEN's table back again (a child process)
    assert np.array_equal(lut, good) and np.array_equal(np.load(path), good)
