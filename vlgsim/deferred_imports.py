"""Modules that ManiSkill, SAPIEN and trimesh import eagerly and a CPU simulation never
uses, imported on first use instead.

``import mani_skill`` (with SAPIEN and trimesh) imports, among others: ``pytorch_kinematics``
(ManiSkill's GPU inverse kinematics, built only with ``sim_backend="physx_cuda"``),
matplotlib and IPython (ManiSkill's notebook and window image viewers), and the ``pinocchio``
package (SAPIEN's Python kinematics wrapper; our envs use SAPIEN's built-in one, see
``builtin_pinocchio``): ~0.5-0.8 s of CPU in every process,
i.e. in every worker of a batch run. :func:`defer_unused_imports`, called before ManiSkill is
imported, puts a :class:`DeferredModule` stand-in for each into ``sys.modules``. The first
read of an attribute (``pk.build_serial_chain_from_urdf``, ``plt.figure``)
imports the real module, which replaces the stand-in from then on; ``import X``,
``import X as Y`` and ``from X import name`` work as usual, and ``X`` keeps working for
code that bound the stand-in. Names a module is known to be imported with
(``from mani_skill.utils.visualization.jupyter_utils import display_images``) are callables
that import the real module when called. ``VLGSIM_DEFER_IMPORTS=0`` turns it off.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import os
import sys
import types

DEFERRED_MODULES: dict[str, tuple[str, ...]] = {
    "pytorch_kinematics": (),
    "matplotlib": (),
    "pinocchio": (),
    "matplotlib.pyplot": (),
    "mani_skill.utils.visualization.jupyter_utils": ("display_images",),
    "mani_skill.utils.visualization.renderer": ("ImageRenderer",),
}
"""Module -> names other modules import from it at import time (each a forwarding callable)."""


class DeferredModule(types.ModuleType):
    """Stands in for a module not imported yet; imports it at the first attribute read."""

    def __getattr__(self, attr: str):  # only for attributes the stand-in does not have
        if attr.startswith("__") and attr.endswith("__"):  # e.g. inspect.getmodule's scan of sys.modules for __file__
            raise AttributeError(f"deferred module {self.__name__!r} has no {attr!r} until it is used")
        return getattr(self.real_module(), attr)

    def __dir__(self):
        return dir(self.real_module())

    def real_module(self) -> types.ModuleType:
        name = self.__name__
        parent = sys.modules.get(name.rpartition(".")[0])
        if isinstance(parent, DeferredModule):  # a package before its submodules
            parent.real_module()
        if sys.modules.get(name) is self:
            del sys.modules[name]
        return importlib.import_module(name)


def _forward(module: DeferredModule, attr: str):
    def forward(*args, **kwargs):
        return getattr(module.real_module(), attr)(*args, **kwargs)

    forward.__name__ = forward.__qualname__ = attr
    forward.__doc__ = f"``{module.__name__}.{attr}``, imported at the first call."
    return forward


def _locate(name: str):
    """The module spec of ``name`` found on ``sys.path`` without importing it or its parents
    (``importlib.util.find_spec("a.b")`` imports ``a``); None when it is not there."""
    parts = name.split(".")
    spec = importlib.machinery.PathFinder.find_spec(parts[0])
    for i in range(1, len(parts)):
        if spec is None or not spec.submodule_search_locations:
            return None
        spec = importlib.machinery.PathFinder.find_spec(".".join(parts[:i + 1]),
                                                        list(spec.submodule_search_locations))
    return spec


def _installed(name: str) -> bool:
    top = name.partition(".")[0]
    try:
        return top in sys.modules or importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        return False


def defer_unused_imports(modules: dict[str, tuple[str, ...]] = DEFERRED_MODULES) -> None:
    """Install a :class:`DeferredModule` for each of ``modules`` not imported yet (and installed)."""
    if os.environ.get("VLGSIM_DEFER_IMPORTS", "1") == "0":
        return
    for name, names in modules.items():
        if name in sys.modules or not _installed(name):  # not installed: the real import raises as before
            continue
        if any(m.startswith(name + ".") for m in sys.modules):
            continue  # a submodule is loaded already: the package is in use
        module = DeferredModule(name)
        # The real spec: ``importlib.util.find_spec(name)`` (availability checks such as
        # transformers') returns it instead of raising on a None spec.
        module.__spec__ = _locate(name)
        for attr in names:
            setattr(module, attr, _forward(module, attr))
        sys.modules[name] = module
    for name in modules:  # ``import a.b as c`` reads b from a's stand-in
        parent, _, child = name.rpartition(".")
        if parent and isinstance(sys.modules.get(parent), DeferredModule) \
                and isinstance(sys.modules.get(name), DeferredModule):
            setattr(sys.modules[parent], child, sys.modules[name])
