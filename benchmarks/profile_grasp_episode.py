"""Where the CPU time of an oracle grasp episode (``RealVLG-Grasp-v0``) goes, per phase.

Wraps a few functions with ``time.process_time()`` counters (low overhead, unlike cProfile,
which inflates Python-heavy code several times), runs ``--warmup`` episodes, then
``--episodes`` timed ones on seeds 1000, 1001, ... and prints ms of CPU per episode for each
phase (phases nest: ``pool_take`` is inside ``replace_object_slots``, ``entity_builds`` inside
both; ``physx_step`` inside ``grasp_primitive``: ManiSkill's scene steps when rebuilding, ticks of 5
PhysX steps with scene reuse). ``shared_ms_per_episode`` sums the work
both modes do alike, the same calls on the same data (``sample_scene``, ``render``,
``grasp_labels``, ``physx_step``): however cheap the rest gets, ``scene_reuse=True`` cannot
beat the rebuild path by more than (rebuild ms per episode) / (its shared ms per episode).
(The grasp primitive is not shared: with scene reuse it drives the controllers directly.)

    python benchmarks/profile_grasp_episode.py [--rebuild] [--episodes 40] [--warmup 5]

The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import time

os.environ.setdefault("LP_NUM_THREADS", "1")


SHARED_PHASES = ("sample_scene", "render", "grasp_labels", "physx_step")
"""Phases (not nested in each other) that episodes with and without scene reuse run alike."""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rebuild", action="store_true", help="scene_reuse=False (rebuild the scene at every reset)")
    ap.add_argument("--episodes", type=int, default=40)
    ap.add_argument("--warmup", type=int, default=5)
    args = ap.parse_args()
    import gymnasium as gym
    import torch

    torch.set_num_threads(1)
    import mani_skill.envs.scene as ms_scene
    from mani_skill.utils.building.actor_builder import ActorBuilder

    import vlgsim  # noqa: F401
    import vlgsim.envs.realvlg_grasp as grasp_env
    import vlgsim.grasp.labels as labels
    import vlgsim.sim.grasp_primitive as gp
    import vlgsim.sim.maniskill_env as backend
    import vlgsim.sim.maniskill_scene as scene_build
    from vlgsim.policies import make_policy
    from vlgsim.sim_eval.rollout import run_episode

    cpu, calls = collections.Counter(), collections.Counter()

    def count(owner, name, label):
        f = getattr(owner, name)

        def timed(*a, **k):
            c = time.process_time()
            try:
                return f(*a, **k)
            finally:
                cpu[label] += time.process_time() - c
                calls[label] += 1

        setattr(owner, name, timed)

    count(ms_scene.ManiSkillScene, "step", "physx_step")
    count(backend, "replace_object_slots", "replace_object_slots")
    count(scene_build.ObjectPool, "take", "pool_take")
    count(ActorBuilder, "build_entity", "entity_builds")
    count(scene_build, "_part_files", "mesh_files")
    count(backend.TabletopBackendEnv, "capture", "render")
    count(backend, "execute_topdown_grasp", "grasp_primitive")
    count(grasp_env, "grasp_labels", "grasp_labels")
    count(grasp_env.RealVLGGraspEnv, "sample_scene", "sample_scene")
    count(backend.TabletopBackendEnv, "_swap_objects", "swap_objects")
    count(scene_build, "visual_mesh_shape", "render_meshes")
    count(scene_build, "attach_convex_pieces", "convex_shapes")
    count(gp.DirectPoseControl, "set_targets", "direct_targets")
    count(gp.DirectPoseControl, "step_physics", "physx_step")  # scene reuse steps PhysX itself, a tick at a time
    count(labels, "gripper_collides", "gripper_collides")
    env = gym.make("vlgsim:RealVLG-Grasp-v0", scene_reuse=not args.rebuild)
    policy = make_policy("oracle", env, seed=0)
    for i in range(args.warmup):
        run_episode(env, policy, i, 101_000 + i)
    cpu.clear()
    calls.clear()
    c0 = time.process_time()
    for i in range(args.episodes):
        run_episode(env, policy, i, 1000 + i)
    total = time.process_time() - c0
    pool = env.unwrapped.object_pool
    env.close()
    n = args.episodes
    out = dict(scene_reuse=not args.rebuild, episodes=n, cpu_ms_per_episode=round(1000 * total / n, 1),
               phases_ms_per_episode={k: round(1000 * v / n, 1) for k, v in cpu.most_common()},
               calls_per_episode={k: round(v / n, 2) for k, v in calls.items()},
               shared_ms_per_episode=round(1000 * sum(cpu[k] for k in SHARED_PHASES) / n, 1),
               pool_built=pool.built, pool_reused=pool.reused,
               load_average=[round(x, 2) for x in os.getloadavg()])
    for k, v in out["phases_ms_per_episode"].items():
        print(f"  {k:22s} {v:7.1f} ms/episode  ({out['calls_per_episode'][k]} calls)")
    print(f"  {'total':22s} {out['cpu_ms_per_episode']:7.1f} ms/episode; shared with a rebuild "
          f"({', '.join(SHARED_PHASES)}): {out['shared_ms_per_episode']:.1f}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
