"""Fixtures of the sim-to-real tests: a franky-sim server on loopback, a replay folder."""

from __future__ import annotations

import pytest


@pytest.fixture
def franky_sim_host(tmp_path):
    """A fresh franky-sim (MuJoCo FR3, libfranka protocol) on a free 127.0.0.x; killed after."""
    from vlgsim.real2sim.franka import FrankySimError, franky_sim_server

    try:
        with franky_sim_server(log_path=tmp_path / "franky-sim.log") as host:
            yield host
    except FrankySimError as e:
        if e.missing_library:
            pytest.skip(f"franky-sim cannot start, a system library is missing: {e.missing_library} "
                        "(scripts/setup.sh installs it)")
        raise


@pytest.fixture(scope="session")
def replay_dir(tmp_path_factory):
    """Two RealVLG-Grasp-v0 scenes (seeds 0, 1) recorded as a replay camera folder."""
    from vlgsim.real2sim.cameras import record_replay_from_sim

    return record_replay_from_sim(tmp_path_factory.mktemp("replay"), [0, 1])
