"""SAPIEN's BRDF lookup table, computed once per machine instead of once per process.

SAPIEN's renderer (svulkan2) needs a 512 x 512 BRDF LUT (split-sum specular IBL, two
16-bit floats per texel: scale and bias over roughness x cos(view angle)) for every
camera shader, ManiSkill's "minimal" one included. Unless a camera is given one, the first
picture taken in a process generates it with a compute shader: on a CPU (Mesa lavapipe)
that is ~6 s of one core, the largest part of a worker's start-up, paid again by every
worker process.

:func:`brdf_lut` returns SAPIEN's own table, bit for bit: read from the on-disk cache, or
read back once from SAPIEN in a child process (a camera whose composite shader writes the
table's texels, unfiltered, into a 32-bit float picture) and cached as
``<cache>/render/brdf_lut_sapien<version>.npy``. :func:`give_brdf_lut` hands it to
cameras before their first picture, so images stay identical to SAPIEN's
(``tests/sim/test_brdf_lut.py`` compares them pixel for pixel). ``VLGSIM_BRDF_LUT=0``
turns this off (SAPIEN generates its table in every process, as before).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Optional

import numpy as np

from vlgsim.assets.cache import cache_dir

LUT_SIZE = 512
"""svulkan2 always generates a 512 x 512 table (``SVResourceManager::getDefaultBRDFLUT``)."""
TEXTURE_NAME = "BRDFLUT"
"""The name svulkan2 looks up among a camera's custom textures before generating its own."""

_READBACK_MAIN = """void main() {
  vec4 color = texture(samplerColorRaw, inUV);
  float depth = texture(samplerGbufferDepth, inUV).x;
  vec3 bg = getBackgroundColor(vec3(inUV, depth));
  vec2 lut = texelFetch(samplerBRDFLUT, ivec2(gl_FragCoord.xy), 0).xy;
  outColor = vec4(lut, 0.0 * (color.r + bg.r), 1.0);
}
"""


def enabled() -> bool:
    return os.environ.get("VLGSIM_BRDF_LUT", "1") != "0"


def cache_path() -> Path:
    import sapien

    return cache_dir("render") / f"brdf_lut_sapien{sapien.__version__}.npy"


def read_back_sapien_lut() -> np.ndarray:
    """SAPIEN's generated table, (512, 512, 2) float16, row = cos(view angle) texel, column =
    roughness texel. Changes SAPIEN's global camera settings: call it in a child process."""
    import sapien

    shaders = Path(sapien.__file__).parent / "vulkan_shader"
    with tempfile.TemporaryDirectory() as d:
        shutil.copytree(shaders / "common", Path(d) / "common")
        shutil.copytree(shaders / "minimal", Path(d) / "readback")
        frag = Path(d) / "readback" / "composite0.frag"
        src = frag.read_text()
        frag.write_text(src[:src.index("void main()")] + _READBACK_MAIN)
        sapien.render.set_camera_shader_dir(str(Path(d) / "readback"))
        sapien.render.set_picture_format("Color", "r32g32b32a32sfloat")
        scene = sapien.Scene()
        cam = scene.add_camera("brdf_lut", LUT_SIZE, LUT_SIZE, 1.0, 0.01, 10.0)
        scene.update_render()
        cam.take_picture()
        texels = np.asarray(cam.get_picture("Color"))[..., :2]
    lut = texels.astype(np.float16)
    if lut.shape != (LUT_SIZE, LUT_SIZE, 2) or not np.array_equal(lut.astype(np.float32), texels):
        raise RuntimeError(f"read-back BRDF LUT of shape {texels.shape} is not SAPIEN's 16-bit table; "
                           f"rule: ({LUT_SIZE}, {LUT_SIZE}, 2) values exact in float16")
    return lut


def _load(path: Path) -> Optional[np.ndarray]:
    try:
        lut = np.load(path)
    except (OSError, ValueError, EOFError):
        return None
    return lut if lut.shape == (LUT_SIZE, LUT_SIZE, 2) and lut.dtype == np.float16 else None


@lru_cache(maxsize=1)
def brdf_lut() -> Optional[np.ndarray]:
    """SAPIEN's table from the cache (read back by a child process when the cache has no
    valid one), or ``None`` when it cannot be had (then SAPIEN generates its own, as
    without this module)."""
    path = cache_path()
    lut = _load(path) if path.exists() else None
    if lut is None:
        import vlgsim

        tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
        root = str(Path(vlgsim.__file__).resolve().parents[1])  # the child imports this vlgsim
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
        p = subprocess.run([sys.executable, "-m", "vlgsim.sim.brdf_lut", str(tmp)], capture_output=True, text=True,
                           env=env)
        lut = _load(tmp) if p.returncode == 0 and tmp.exists() else None
        if lut is None:
            tmp.unlink(missing_ok=True)
            return None
        os.replace(tmp, path)
    return lut


@lru_cache(maxsize=1)
def _texture():
    import sapien

    lut = brdf_lut()
    if lut is None:
        return None
    # svulkan2's own sampler: linear filtering, clamped to the edge, one mip level
    return sapien.render.RenderTexture(lut, 2, "R16G16Sfloat", 1, "linear", "edge")


def give_brdf_lut(cameras: Iterable) -> None:
    """Give SAPIEN ``RenderCameraComponent`` s the cached table (before their first picture)."""
    if not enabled():
        return
    tex = _texture()
    if tex is None:
        return
    for cam in cameras:
        cam.set_texture(TEXTURE_NAME, tex)


if __name__ == "__main__":  # child process: read SAPIEN's table back into the file given
    os.environ.setdefault("LP_NUM_THREADS", "1")
    np.save(sys.argv[1], read_back_sapien_lut())
