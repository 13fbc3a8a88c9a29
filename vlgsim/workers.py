"""Run units of work (episodes, dataset samples, object parts) on long-lived workers.

Below every other layer: it knows nothing of simulators. A :class:`WorkerSpec` says how a
worker builds its state once (``setup``: imports, an env, a policy, compiled shaders) and
how it runs one unit on that state (``run``); :func:`run_units` runs a list of units and
yields ``(index, result)`` as each finishes, in any order. The caller (the driver) writes
results, so files, rows, resume and kill-safety do not depend on the backend:

- ``Backend("local", 1)``: in this process.
- ``Backend("local", N)``: N worker processes (``spawn``), kept for the whole run.
- ``Backend("ray", N, address)``: N Ray actors (1 CPU each), kept for the whole run.
  ``address=None`` starts a private Ray instance on loopback with N CPUs and stops it at
  the end; ``"auto"`` (or ``HOST:PORT``) joins a running cluster (``ray start --head``).

A worker that dies (segfault, out-of-memory kill, ``ray.kill``, SIGKILL) loses nothing:
the units it held run again on a fresh worker (units are seeded, so results are the
same). A unit that kills its worker every time (``MAX_ATTEMPTS``) gets
``spec.crashed(unit, message)`` as its result, or raises :class:`WorkerCrash` without one.
"""

from __future__ import annotations

import atexit
import multiprocessing as mp
import os
import sys
from collections import deque
from contextlib import contextmanager
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional, Sequence

BACKENDS = ("local", "ray")
MAX_ATTEMPTS = 3
"""Tries of one unit whose worker dies under it (Ray); the local pool re-runs such units alone."""
LOOPBACK_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
"""Ray's switch to run a node on the loopback address only (its default on macOS and Windows)."""
INFLIGHT_PER_WORKER = 2
"""Units queued on each worker at once, so a worker never waits for the driver."""


class WorkerCrash(RuntimeError):
    """A unit killed its worker on every try and the spec gives no result for that."""


class WorkerSetupError(RuntimeError):
    """A worker's ``setup`` raised (on Ray; in-process the original error propagates)."""


@dataclass(frozen=True)
class Backend:
    kind: str = "local"
    """``local`` (this machine's processes) or ``ray`` (Ray actors)."""
    workers: Optional[int] = 1
    """Workers (one CPU each). ``None`` with Ray: all CPUs of the cluster (or of this machine)."""
    address: Optional[str] = None
    """Ray only: ``None`` starts a private local instance; ``auto`` or ``HOST:PORT`` joins a cluster."""

    def __post_init__(self):
        if self.kind not in BACKENDS:
            raise ValueError(f"backend {self.kind!r}; rule: one of {BACKENDS}")
        if self.workers is not None and (not isinstance(self.workers, int) or self.workers < 1):
            raise ValueError(f"workers={self.workers!r}; rule: an integer >= 1 (or None with Ray: every CPU)")
        if self.address is not None and self.kind != "ray":
            raise ValueError(f"address {self.address!r} with backend {self.kind!r}; rule: --address needs --backend ray")


@dataclass(frozen=True)
class WorkerSpec:
    """How a worker starts and runs a unit; all three callables must pickle (module-level)."""

    setup: Callable[[], Any]
    """Builds the worker's state once (called in the worker)."""
    run: Callable[[Any, Any], Any]
    """``run(state, unit) -> result`` (called in the worker; may mutate the state)."""
    crashed: Optional[Callable[[Any, str], Any]] = None
    """Result for a unit that kills its worker each time; ``None``: raise :class:`WorkerCrash`."""
    single_thread: bool = True
    """In worker processes: one thread for torch and lavapipe (one core per worker)."""


ONE_THREAD_ENV = ("LP_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
"""Thread pools sized by the environment when a library loads: lavapipe's rasteriser,
OpenMP, numpy's OpenBLAS, MKL. One each per worker, so N workers do not fight over N cores."""


@contextmanager
def _one_thread_children(on: bool = True):
    """While inside, processes started from this one (spawned workers, a private Ray
    instance's raylet and its workers) see one-thread settings for the variables of
    :data:`ONE_THREAD_ENV` the user did not set; this process's own settings come back after."""
    added = [k for k in ONE_THREAD_ENV if on and k not in os.environ]
    for k in added:
        os.environ[k] = "1"
    try:
        yield
    finally:
        for k in added:
            os.environ.pop(k, None)


def _start_worker(spec: WorkerSpec):
    """A worker's state: one thread if the spec asks, modules nobody uses deferred, then ``setup``."""
    from vlgsim.deferred_imports import defer_unused_imports

    if spec.single_thread:
        _single_thread()
    defer_unused_imports()
    return spec.setup()


def _single_thread() -> None:
    os.environ["LP_NUM_THREADS"] = "1"  # before SAPIEN/lavapipe starts in this process
    for k in ONE_THREAD_ENV[1:]:  # read when those libraries load: too late for any loaded already
        os.environ.setdefault(k, "1")
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover - torch is a dependency
        pass


def run_units(spec: WorkerSpec, units: Sequence, backend: Backend = Backend()) -> Iterator[tuple[int, Any]]:
    """Run ``spec.run`` on every unit; yields ``(index into units, result)`` as each finishes."""
    units = list(units)
    if not units:
        return
    if backend.kind == "ray":
        yield from _ray_units(spec, units, backend)
    elif (backend.workers or 1) <= 1:
        from vlgsim.deferred_imports import defer_unused_imports

        defer_unused_imports()
        state = spec.setup()
        try:
            for i, u in enumerate(units):
                yield i, spec.run(state, u)
        finally:
            _close(state)
    else:
        yield from _local_units(spec, units, backend.workers)


def _close(state) -> None:
    close = getattr(state, "close", None)
    if callable(close):
        close()


def _crash_result(spec: WorkerSpec, unit, message: str):
    if spec.crashed is None:
        raise WorkerCrash(f"unit {unit!r}: {message}")
    return spec.crashed(unit, message)


# ---------------------------------------------------------------- local processes
_LOCAL: dict[str, Any] = {}


def _local_init(spec: WorkerSpec) -> None:
    _LOCAL["spec"], _LOCAL["state"] = spec, _start_worker(spec)
    atexit.register(_exit_without_teardown)  # after set-up, so it runs before the exit handlers set-up added


def _exit_without_teardown() -> None:
    """At a pool worker's exit (after its last result was written to the pool's pipe): end the
    process without the interpreter's teardown of thousands of modules and of SAPIEN's and
    torch's objects (~1 s of CPU per worker, ``benchmarks/bench_worker_startup.py``)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # closed
            pass
    os._exit(0)


def _local_run(unit):
    return _LOCAL["spec"].run(_LOCAL["state"], unit)


def _local_units(spec: WorkerSpec, units: list, workers: int) -> Iterator[tuple[int, Any]]:
    """A ``spawn`` process pool whose workers live for the whole run. When a worker dies, the
    pool is rebuilt; the units that were running then run again one at a time, and one that
    kills its worker alone gets ``spec.crashed``."""
    pending, suspects = deque(range(len(units))), deque()
    ctx = mp.get_context("spawn")
    while pending or suspects:
        with _one_thread_children(spec.single_thread):
            pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_local_init, initargs=(spec,))
            broken = False
            try:
                inflight: dict = {}
                while (pending or suspects or inflight) and not broken:
                    if suspects:  # isolate each suspect: nothing else runs beside it
                        if not inflight:
                            i = suspects.popleft()
                            inflight[pool.submit(_local_run, units[i])] = (i, True)
                    else:
                        while pending and len(inflight) < INFLIGHT_PER_WORKER * workers:
                            i = pending.popleft()
                            inflight[pool.submit(_local_run, units[i])] = (i, False)
                    done, _ = wait(inflight, return_when=FIRST_COMPLETED)
                    for f in done:
                        i, isolated = inflight.pop(f)
                        try:
                            result = f.result()
                        except BrokenProcessPool:
                            broken = True
                            if isolated:
                                yield i, _crash_result(spec, units[i], "worker process died while running this unit "
                                                                       "(alone); see its stderr")
                            else:
                                suspects.append(i)
                            continue
                        yield i, result
                for i, isolated in inflight.values():  # the pool is gone: these must run again
                    (suspects.append if not isolated else suspects.appendleft)(i)
            finally:  # all results are in (or the caller stopped): do not wait for the workers to exit
                pool.shutdown(wait=broken, cancel_futures=True)


# ---------------------------------------------------------------- Ray actors
@contextmanager
def _loopback_ray():
    """Ray on the loopback address only, while a node starts or a driver connects (Ray's own
    switch, ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``: read when ray is imported, inherited by
    the servers it starts, and patched in for a ray imported earlier)."""
    saved = os.environ.get(LOOPBACK_ENV)
    os.environ[LOOPBACK_ENV] = "0"
    try:
        from ray._private import ray_constants

        before, ray_constants.ENABLE_RAY_CLUSTER = ray_constants.ENABLE_RAY_CLUSTER, False
        try:
            yield
        finally:
            ray_constants.ENABLE_RAY_CLUSTER = before
    finally:
        if saved is None:
            os.environ.pop(LOOPBACK_ENV, None)
        else:
            os.environ[LOOPBACK_ENV] = saved


def _is_loopback(address: str) -> bool:
    host = address.split("://")[-1].rsplit(":", 1)[0].strip("[]")
    return host in ("127.0.0.1", "localhost", "::1")


def ray_init(backend: Backend) -> bool:
    """Connect to Ray for ``backend``; returns True when this call started a private instance
    (which :func:`ray_shutdown` then stops). A private instance has its node on the loopback
    address and every Ray server of it listens on loopback only; a cluster whose address is
    a loopback one (such an instance, or ``ray start --head`` with the same switch) is joined
    the same way."""
    import ray

    if ray.is_initialized():
        return False
    if backend.address is None:
        with _loopback_ray(), _one_thread_children():
            # its workers are children of this process: they see this environment (PYTHONPATH included)
            ray.init(num_cpus=backend.workers or os.cpu_count(), include_dashboard=False, log_to_driver=False,
                     configure_logging=False)
        return True
    recorded = backend.address
    if recorded == "auto":  # the cluster `ray start` recorded on this machine, as recorded
        from ray._private.services import get_ray_address_from_environment

        try:
            recorded = get_ray_address_from_environment("auto", None) or recorded
        except Exception:  # noqa: BLE001 - ray.init gives the clear error
            pass
    # Ray's token authentication: "auto" uses this machine's token; an explicit address needs
    # RAY_AUTH_MODE=token (and the cluster's token in ~/.ray/auth_token), as Ray documents
    if _is_loopback(recorded):
        with _loopback_ray():
            ray.init(address=backend.address, log_to_driver=False, configure_logging=False)
    else:
        ray.init(address=backend.address, log_to_driver=False, configure_logging=False)
    return False


def ray_shutdown(started: bool) -> None:
    import ray

    if started and ray.is_initialized():
        ray.shutdown()


_ACTOR_CLASS = None


def _actor_class():
    global _ACTOR_CLASS
    if _ACTOR_CLASS is None:
        import ray

        class VlgsimWorker:
            """One long-lived worker: builds its state once, then runs units."""

            def __init__(self, spec: WorkerSpec):
                self.spec, self.state = spec, _start_worker(spec)

            def run(self, unit):
                return self.spec.run(self.state, unit)

            def pid(self) -> int:
                return os.getpid()

        _ACTOR_CLASS = ray.remote(num_cpus=1, max_restarts=0)(VlgsimWorker)
    return _ACTOR_CLASS


def _ray_units(spec: WorkerSpec, units: list, backend: Backend) -> Iterator[tuple[int, Any]]:
    import ray
    from ray.exceptions import RayActorError, RayTaskError

    started = ray_init(backend)
    actors: list = []
    try:
        n = backend.workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        n = min(n, len(units))
        cls = _actor_class()
        actors = [cls.remote(spec) for _ in range(n)]
        generation = [0] * n  # bumped when worker j is replaced, so one death replaces it once
        queue, attempts = deque(range(len(units))), [0] * len(units)
        inflight: dict = {}  # ref -> (worker j, its generation, unit index)
        load = [0] * n

        def fill(j: int) -> None:
            while queue and load[j] < INFLIGHT_PER_WORKER:
                i = queue.popleft()
                inflight[actors[j].run.remote(units[i])] = (j, generation[j], i)
                load[j] += 1

        for j in range(n):
            fill(j)
        while inflight:
            (ref,), _ = ray.wait(list(inflight), num_returns=1)
            j, gen, i = inflight.pop(ref)
            if gen == generation[j]:
                load[j] -= 1
            try:
                result = ray.get(ref)
            except RayActorError as e:  # the worker died (killed, crashed) under this unit
                if e.actor_init_failed:  # its setup raised (a bad policy name ...): every worker would
                    raise WorkerSetupError(f"a Ray worker could not start: {e}") from None
                if gen == generation[j]:
                    ray.kill(actors[j], no_restart=True)
                    actors[j] = cls.remote(spec)
                    generation[j] += 1
                    load[j] = 0
                attempts[i] += 1
                if attempts[i] >= MAX_ATTEMPTS:
                    yield i, _crash_result(spec, units[i], f"Ray worker died on each of {MAX_ATTEMPTS} tries "
                                                           f"of this unit: {type(e).__name__}")
                else:
                    queue.appendleft(i)
                for k in range(n):
                    fill(k)
                continue
            except RayTaskError as e:  # the unit raised: the same error as in-process
                raise e.as_instanceof_cause() from None
            yield i, result
            fill(j)
    finally:
        for a in actors:
            try:
                ray.kill(a, no_restart=True)
            except Exception:  # noqa: BLE001 - already gone
                pass
        ray_shutdown(started)
