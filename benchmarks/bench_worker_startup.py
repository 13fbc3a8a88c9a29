"""CPU seconds a worker spends before its first episode: imports, ``gym.make`` of
``RealVLG-Grasp-v0`` (first picture included), first reset; with SAPIEN's BRDF table from the
on-disk cache (``VLGSIM_BRDF_LUT=1``, the default), with SAPIEN generating it
(``VLGSIM_BRDF_LUT=0``), and with every module imported eagerly (``VLGSIM_DEFER_IMPORTS=0``,
see :mod:`vlgsim.deferred_imports`). Each in a fresh one-thread process, one after the other.

    python benchmarks/bench_worker_startup.py

The last line is one JSON object: ``cached_lut``, ``generated_lut``, ``eager_imports``, each the
cumulative CPU seconds after each phase and ``exit``, the process's CPU to its end (``exit -
first_reset``: ``env.close()`` and the interpreter's teardown, which pool workers skip, see
:mod:`vlgsim.workers`); ``speedup``: generated / cached to the first reset;
``deferred_imports_saved_s``: eager minus cached CPU seconds to the first reset.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys


def child() -> dict:
    import time

    c0 = time.process_time()
    from vlgsim.deferred_imports import defer_unused_imports

    defer_unused_imports()  # as a worker starts (vlgsim.workers)
    import gymnasium as gym
    import torch

    torch.set_num_threads(1)
    import vlgsim  # noqa: F401

    out = dict(imports=time.process_time() - c0)
    env = gym.make("vlgsim:RealVLG-Grasp-v0")
    out["make"] = time.process_time() - c0
    env.reset(seed=5)
    out["first_reset"] = time.process_time() - c0
    env.close()
    return {k: round(v, 2) for k, v in out.items()}


def main():
    if sys.argv[1:] == ["--child"]:
        print(json.dumps(child()))
        return
    from vlgsim.sim.brdf_lut import brdf_lut

    brdf_lut()  # fill the on-disk cache first (once per machine)
    res = {}
    for name, flag, defer in (("generated_lut", "0", "1"), ("eager_imports", "1", "0"), ("cached_lut", "1", "1")):
        env = dict(os.environ, VLGSIM_BRDF_LUT=flag, VLGSIM_DEFER_IMPORTS=defer, LP_NUM_THREADS="1",
                   OMP_NUM_THREADS="1")
        p = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--child"], env=env, stdout=subprocess.PIPE,
                             text=True)
        out = p.stdout.read()
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        if p.returncode:
            raise SystemExit(f"{name}: child exit {p.returncode}")
        res[name] = json.loads(out.strip().splitlines()[-1])
        res[name]["exit"] = round(usage.ru_utime + usage.ru_stime, 2)  # CPU to the end, interpreter teardown included
        print(f"{name}: {res[name]}", file=sys.stderr)
    res["speedup"] = round(res["generated_lut"]["first_reset"] / res["cached_lut"]["first_reset"], 2)
    res["deferred_imports_saved_s"] = round(res["eager_imports"]["first_reset"] - res["cached_lut"]["first_reset"], 2)
    res["load_average"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(res))


if __name__ == "__main__":
    main()
