"""``vlgsim real run --robot shadow``: DexVLG-PartGrasp-v0 episodes whose grasp (the DexVLG
oracle's, from grasp sets) is replayed on the Shadow Hand stand-in (:class:`ShadowHandSim`)
through the safety layer (:class:`SafeRobot` with :func:`shadow_hand_on_arm_limits`).

Per episode: ``env.reset(seed=cfg.seed + episode)``; the oracle (``--policy oracle[:DIR]``,
grasp sets in DIR, else the cache) picks the grasp of the instructed part; the replay
(:func:`plan_dex_grasp_replay`, streamed inside the limits' caps) goes through ``SafeRobot``
(dry run unless ``execute``); a rejection stops the hand and ends the episode
(``safety_stop``). Outcome: detected (object risen >= 3 cm after the hold) when executed,
``not_executed`` in a dry run. Written: ``report.json`` (the rows of :class:`EpisodeRecord`,
every safety event included); no LeRobot recording (no camera on this path).
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from vlgsim.real2sim.run import EpisodeRecord, RealRunConfig, write_report
from vlgsim.sim.grasp_primitive import LIFT_SUCCESS_M


def _oracle_dir(policy: str) -> Optional[str]:
    name, _, arg = policy.partition(":")
    if name != "oracle":
        raise ValueError(f"--policy {policy!r} with --robot shadow; rule: oracle[:GRASP_SET_DIR] (the DexVLG oracle)")
    return arg or None


def _categories(grasp_dir: Optional[str]) -> Optional[list[str]]:
    """The categories with a grasp set in ``grasp_dir`` (``{category}_s{scale}.npz``), else None (all)."""
    if grasp_dir is None:
        return None
    names = sorted({m.group(1) for p in Path(grasp_dir).glob("*.npz") if (m := re.fullmatch(r"(.+)_s[0-9.]+", p.stem))})
    if not names:
        raise ValueError(f"--policy oracle:{grasp_dir}: no grasp sets (CATEGORY_sSCALE.npz) there; rule: a folder "
                         "written by `vlgsim synth-grasps`")
    return names


def run_shadow(cfg: RealRunConfig, on_episode: Optional[Callable[[EpisodeRecord], None]] = None) -> list[EpisodeRecord]:
    import gymnasium as gym

    from vlgsim.policies.dex_oracle import DexOraclePolicy
    from vlgsim.real2sim.limits.shadow import shadow_hand_on_arm_limits
    from vlgsim.real2sim.safety import SafeRobot
    from vlgsim.real2sim.shadow_replay import plan_dex_grasp_replay, replay
    from vlgsim.real2sim.shadow_sim import ShadowHandSim

    grasp_dir = _oracle_dir(cfg.policy)
    kwargs = {"obs_mode": "state", "with_fingers": False}
    cats = _categories(grasp_dir)
    if cats is not None:
        kwargs["categories"] = cats
    env = gym.make("vlgsim:DexVLG-PartGrasp-v0", **kwargs)
    oracle, limits, records = DexOraclePolicy(grasp_dir), shadow_hand_on_arm_limits(), []
    out = Path(cfg.out)
    try:
        for ep in range(cfg.episodes):
            t0 = time.monotonic()
            seed = cfg.seed + ep
            obs, info = env.reset(seed=seed)
            u = env.unwrapped
            rec = EpisodeRecord(ep, cfg.instruction or str(info["instruction"]), "shadow-sim", "none", cfg.policy,
                                cfg.execute, "unknown", "none", seed=seed)
            try:
                oracle.reset(info["instruction"], info)
                g = np.asarray(oracle.act(obs), dtype=np.float64)
                rec.grasp_action = g.tolist()
                plan = plan_dex_grasp_replay(u.hand, g, np.asarray(info["object_pose"]), u.field.mesh)
                z0 = float(u.sim.object_pose[2, 3])
                robot = ShadowHandSim(u.sim)
                with SafeRobot(robot, limits, execute=cfg.execute) as safe:
                    log = replay(safe, plan, limits)
                    events = safe.clear_events()
                rec.steps = len(log)  # replay steps done (a rejection ends the replay)
                rec.clamps = sum(e.kind == "clamp" for e in events)
                rec.rejections = sum(e.kind == "reject" for e in events)
                rec.safety_events = [e.to_json() for e in events]
                if rec.rejections:
                    rec.failure_mode = "safety_stop"
                    rec.error = next(e.message for e in events if e.kind == "reject")
                if cfg.execute:
                    rec.target_rise_m = float(u.sim.object_pose[2, 3]) - z0
                    rec.outcome = "success" if rec.target_rise_m >= LIFT_SUCCESS_M and not rec.rejections else "failure"
                    rec.outcome_source = "detected"
                else:
                    rec.outcome, rec.outcome_source = "not_executed", "dry_run"
            except Exception as e:  # noqa: BLE001 - a failed episode is recorded, the run goes on
                rec.failure_mode, rec.error = "error", f"{type(e).__name__}: {e}"
            rec.wall_s = time.monotonic() - t0
            records.append(rec)
            if on_episode is not None:
                on_episode(rec)
            write_report(out, cfg, records)
    finally:
        env.close()
    return records
