"""vlgsim: a simulation-first Gymnasium suite for language-driven robot grasping.

``gym.make("vlgsim:RealVLG-Grasp-v0")`` imports this package, which registers the envs.
"""

__version__ = "0.1.0"


def _register_envs():
    import vlgsim.envs  # noqa: F401  (registers every task with Gymnasium)


_register_envs()
