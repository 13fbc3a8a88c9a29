"""Deferred imports (vlgsim.deferred_imports): a stand-in module costs nothing until an
attribute is read, then the real module replaces it; the import forms code uses keep working.
Each check runs in a fresh interpreter (sys.modules is process-wide)."""

import os
import subprocess
import sys
import textwrap

import pytest


def _run(code: str, tmp_path=None) -> str:
    """Run ``code`` in a fresh interpreter with ``tmp_path`` (``sys.argv[1]``) on its path."""
    extra = [str(tmp_path)] if tmp_path else []
    p = subprocess.run([sys.executable, "-c", textwrap.dedent(code), *extra], capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": os.pathsep.join(extra + sys.path)})
    assert p.returncode == 0, p.stderr[-3000:]
    return p.stdout


@pytest.fixture()
def fake_package(tmp_path):
    """``heavypkg`` (counts its imports in a file) with a submodule ``heavypkg.plot``."""
    pkg = tmp_path / "heavypkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(textwrap.dedent("""
        import pathlib
        _f = pathlib.Path(__file__).with_name("loads.txt")
        _f.write_text(_f.read_text() + "pkg\\n" if _f.exists() else "pkg\\n")
        VALUE = 42
        def use(backend): return "use:" + backend
    """))
    (pkg / "plot.py").write_text(textwrap.dedent("""
        import pathlib
        _f = pathlib.Path(__file__).with_name("loads.txt")
        _f.write_text(_f.read_text() + "plot\\n")
        def figure(): return "figure"
        def show(): return "show"
    """))
    return tmp_path


def test_stand_in_loads_the_real_module_at_first_attribute(fake_package):
    out = _run("""
        import pathlib, sys
        from vlgsim.deferred_imports import DeferredModule, defer_unused_imports
        defer_unused_imports({"heavypkg": (), "heavypkg.plot": ("figure",), "not_installed_pkg_xyz": ()})
        assert "not_installed_pkg_xyz" not in sys.modules
        import heavypkg
        import heavypkg.plot as plt
        from heavypkg.plot import figure
        assert isinstance(heavypkg, DeferredModule) and isinstance(plt, DeferredModule)
        loads = pathlib.Path(sys.argv[1]) / "heavypkg" / "loads.txt"
        import inspect; inspect.getmodule(int)  # scans sys.modules for __file__: must not load them
        import importlib.util  # availability checks (transformers') see the real module's spec
        assert importlib.util.find_spec("heavypkg.plot").origin.endswith("plot.py")
        assert not loads.exists(), loads.read_text()
        assert figure() == "figure"  # a forwarded name: loads the package, then the submodule
        assert loads.read_text().split() == ["pkg", "plot"]
        assert plt.show() == "show" and heavypkg.VALUE == 42 and heavypkg.use("agg") == "use:agg"
        assert not isinstance(sys.modules["heavypkg"], DeferredModule)
        assert not isinstance(sys.modules["heavypkg.plot"], DeferredModule)
        assert loads.read_text().split() == ["pkg", "plot"]  # each loaded once
        import heavypkg.plot as again
        assert again is sys.modules["heavypkg.plot"] and again.figure() == "figure"
        print("ok")
    """, fake_package)
    assert out.strip() == "ok"


def test_a_module_in_use_is_left_alone(fake_package):
    out = _run("""
        import sys
        import heavypkg.plot
        from vlgsim.deferred_imports import DeferredModule, defer_unused_imports
        defer_unused_imports({"heavypkg": (), "heavypkg.plot": ()})
        assert not isinstance(sys.modules["heavypkg"], DeferredModule)
        assert not isinstance(sys.modules["heavypkg.plot"], DeferredModule)
        print("ok")
    """, fake_package)
    assert out.strip() == "ok"


@pytest.mark.sim
def test_the_simulator_modules_leave_gpu_and_plotting_modules_unloaded():
    """As a batch worker starts: after importing the env (SAPIEN, ManiSkill, trimesh),
    ManiSkill's GPU IK package and matplotlib are still stand-ins; the plotting code of the
    training modules still works. Without the call (user code), nothing is deferred."""
    plain = _run("""
        import sys
        import vlgsim.envs.realvlg_grasp
        from vlgsim.deferred_imports import DeferredModule
        print(any(isinstance(m, DeferredModule) for m in list(sys.modules.values())))
    """)
    assert plain.strip() == "False"
    out = _run("""
        import sys
        from vlgsim.deferred_imports import DeferredModule, defer_unused_imports
        defer_unused_imports()
        import vlgsim.envs.realvlg_grasp
        print(sorted(m for m in ("pytorch_kinematics", "matplotlib", "matplotlib.pyplot", "pinocchio")
                     if isinstance(sys.modules.get(m), DeferredModule)))
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots()
        ax.plot([0, 1], [1, 0])
        assert plt.get_backend().lower() == "agg"
        import pytorch_kinematics as pk
        assert pk.PseudoInverseIK.__name__ == "PseudoInverseIK"
        from mani_skill.utils import visualization
        assert visualization.display_images.__name__ == "display_images"
    """)
    assert out.strip() == str(sorted(["pytorch_kinematics", "matplotlib", "matplotlib.pyplot", "pinocchio"]))
