"""The grounding renderer's images do not depend on what else rendered in the process: a
ManiSkill env sets SAPIEN's global picture formats (Color as uint8), which once turned every
RealVLG dataset image rendered after it white."""

import numpy as np
import pytest

from vlgsim.envs.realvlg_ground import RealVLGGroundEnv

pytestmark = pytest.mark.sim


def test_rgb_is_the_same_after_maniskill_set_its_picture_formats():
    from mani_skill.render.shaders import PREBUILT_SHADER_CONFIGS, set_shader_pack

    env = RealVLGGroundEnv(n_views=1, image_size=(96, 72))
    before = env.sample(3)[1][0].rgb
    set_shader_pack(PREBUILT_SHADER_CONFIGS["minimal"])  # what building any ManiSkill env does (kept: they all do)
    after = RealVLGGroundEnv(n_views=1, image_size=(96, 72)).sample(3)[1][0].rgb
    assert before.dtype == after.dtype == np.uint8 and 20 < before.mean() < 235
    assert np.abs(before.astype(int) - after.astype(int)).max() <= 1
