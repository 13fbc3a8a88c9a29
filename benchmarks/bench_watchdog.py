"""Watchdog latency: how late after its deadline the safety layer stops a robot whose
commands stopped arriving. Prints the distribution (median / p95 / max, ms) over N trials,
and the same statistics for a bare ``threading.Event.wait`` timer measured in the same run
(the reference: the scheduling latency this machine adds to any timed wake-up).

    python benchmarks/bench_watchdog.py --trials 100
    python benchmarks/bench_watchdog.py --trials 30 --franky-sim   # driver stop through franky
"""

from __future__ import annotations

import argparse
import threading
import time

import numpy as np

from vlgsim.real2sim.limits.franka import franka_limits
from vlgsim.real2sim.recording_robot import RecordingRobot
from vlgsim.real2sim.robot import JointCommand
from vlgsim.real2sim.safety import SafeRobot


def stats(ms: np.ndarray) -> str:
    return f"median {np.median(ms):6.2f} ms  p95 {np.percentile(ms, 95):6.2f} ms  max {ms.max():6.2f} ms"


def reference_timer(trials: int, wait_s: float) -> np.ndarray:
    ev, late = threading.Event(), []
    for _ in range(trials):
        t0 = time.monotonic()
        ev.wait(wait_s)
        late.append(time.monotonic() - t0 - wait_s)
    return np.array(late) * 1000


def watchdog_trials(robot, limits, trials: int, q0) -> np.ndarray:
    safe = SafeRobot(robot, limits, execute=True)
    safe.connect()
    try:
        for _ in range(trials):
            robot.stop_event.clear() if hasattr(robot, "stop_event") else None
            n = len(safe.watchdog_latencies_s)
            safe.command(JointCommand(q0, 0.02))
            t_end = time.monotonic() + 5.0
            while len(safe.watchdog_latencies_s) == n and time.monotonic() < t_end:
                time.sleep(0.005)
    finally:
        safe.close()
    return np.array(safe.watchdog_latencies_s) * 1000, np.array(safe.watchdog_done_latencies_s) * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--franky-sim", action="store_true", help="stop a franky-sim robot through franky-control")
    args = ap.parse_args()
    limits = franka_limits("fr3")
    limits.watchdog_timeout_s = 0.1
    ref = reference_timer(args.trials, 0.12)
    if args.franky_sim:
        from vlgsim.real2sim.franka import FrankaRobot, franky_sim_server

        with franky_sim_server() as host:
            robot = FrankaRobot(host)
            robot.connect()
            lat, done = watchdog_trials(robot, limits, args.trials, robot.observe().joint_positions)
        what = "watchdog -> franky Robot.stop() (franky-sim)"
    else:
        q0 = np.array([0.0, -0.3, 0.0, -2.2, 0.0, 2.0, np.pi / 4])
        lat, done = watchdog_trials(RecordingRobot(limits.joint_names, q0, 0.04), limits, args.trials, q0)
        what = "watchdog -> stop() (recording robot)"
    print(f"{what + ', issued':48s} n={len(lat):4d}  {stats(lat)}")
    print(f"{what + ', returned':48s} n={len(done):4d}  {stats(done)}")
    print(f"{'reference: threading.Event.wait overshoot':48s} n={len(ref):4d}  {stats(ref)}")
    print(f"ratio watchdog / reference (median): {np.median(lat) / max(np.median(ref), 1e-6):.2f}x;"
          f" share issued within 100 ms: {100 * np.mean(lat < 100):.1f} %, returned within 100 ms: "
          f"{100 * np.mean(done < 100):.1f} %")


if __name__ == "__main__":
    main()
