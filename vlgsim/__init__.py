"""vlgsim: a simulation-first Gymnasium suite for language-driven robot grasping.

``gym.make("vlgsim:RealVLG-Grasp-v0")`` imports this package, which registers the env ids
(from :mod:`vlgsim.envs.index`, without importing any simulator); ``gym.make`` then imports
the one task module it builds.
"""

__version__ = "0.1.0"


def _register_envs():
    from vlgsim.envs.registration import register_index

    register_index()


_register_envs()
