"""Pick synthesised grasps worth adding to the shipped grasp library, and add them.

    python scripts/dex_library_topup.py CATEGORY PART SET.npz [SET.npz ...] [--episodes 4] [--write]

Candidates: the grasps of PART in the given grasp-set files (``synth-grasps --out`` files, or
``scripts/dex_topup_synth.py``'s) that are stored valid with >= ``--min-touch`` (3) fingertips on
the part and are not in the library already. Each is

1. re-validated with the current validator (penetration, self-penetration, held in all six
   gravity directions, part alignment; the grasp rounded to float32 as the library stores it)
   and its fingertips on the part counted again (must stay >= ``--min-touch``);
2. executed in ``DexVLG-PartGrasp-v0`` with the approach (the default execution) on
   ``--episodes`` scenes that ask for PART (seeds from ``--seed-base`` up, outside the README's
   evaluation seeds 0-49 and 100000-100049): it must keep a clear approach, lift the object
   (Suc) and end with >= 3 fingertips on the part (PGA; not asked with ``--min-touch`` < 3) in
   every one of them.

With ``--write`` the survivors are appended to the library's set of CATEGORY
(:func:`vlgsim.grasp.dex_library.extend_grasp_set`: nothing is dropped) and the library's
summary.json records the top-up. Prints one line per candidate and a JSON summary last.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from vlgsim.data.grasp_sets import grasp_set_path, library_dir, load_grasp_set, load_library_set, save_grasp_set


def revalidate(setup, part: str, g: np.ndarray):
    """The current validator's verdict on ``g`` (object frame) and its fingertips on ``part``."""
    from vlgsim.grasp.dex_energy import GraspEnergy
    from vlgsim.grasp.dex_pipeline import PART_TOUCH_M
    from vlgsim.grasp.dexterous import fingertips

    d = GraspEnergy(setup.hand, setup.obj, part, 1).evaluate(g[None], np.ones((1, 5)))
    v = setup.validator.validate(g, part, float(d["pen_depth"][0]), float(d["spen_depth"][0]),
                                 float(d["table_depth"][0]))
    touch = int(setup.obj.near_part(fingertips(setup.hand, g)[0], part, PART_TOUCH_M).sum())
    return v, touch


def part_seeds(category: str, part: str, n: int, base: int) -> list[int]:
    """The first ``n`` seeds from ``base`` whose scene (all categories) asks for ``part`` of ``category``."""
    from vlgsim.scenes.part_grasp import sample_part_grasp_scene

    out, s = [], base
    while len(out) < n:
        sc = sample_part_grasp_scene(s)
        if (sc.spec.category, sc.part) == (category, part):
            out.append(s)
        s += 1
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("category")
    ap.add_argument("part")
    ap.add_argument("sets", nargs="+", type=Path)
    ap.add_argument("--episodes", type=int, default=4)
    ap.add_argument("--seed-base", type=int, default=300000)
    ap.add_argument("--max-add", type=int, default=8, help="add at most this many (the lowest energy first)")
    ap.add_argument("--min-touch", type=int, default=3,
                    help="fingertips on the part a candidate needs (below 3: PGA is not required in the env either)")
    ap.add_argument("--write", action="store_true")
    a = ap.parse_args()

    from vlgsim.envs.dexvlg_part_grasp import DexVLGPartGraspEnv
    from vlgsim.grasp.dex_library import extend_grasp_set
    from vlgsim.grasp.dex_pipeline import ObjectSetup
    from vlgsim.grasp.dexterous import transform_grasp

    lib = load_library_set(a.category, 1.0)
    have = {np.asarray(g, np.float32).tobytes() for g in lib.grasps}
    setup = ObjectSetup(a.category, 1.0, 0, "cpu")
    seeds = part_seeds(a.category, a.part, a.episodes, a.seed_base)
    env = DexVLGPartGraspEnv(obs_mode="state")
    kept, report = [], []
    for path in a.sets:
        src = load_grasp_set(path)
        if src.category != a.category:
            raise SystemExit(f"{path}: a {src.category} set; rule: the category given ({a.category})")
        for i in np.flatnonzero((src.part == a.part) & src.valid & (src.part_touch >= a.min_touch)):
            g = src.grasps[i].astype(np.float32).astype(np.float64)
            if g.astype(np.float32).tobytes() in have:
                continue
            t0 = time.perf_counter()
            v, touch = revalidate(setup, a.part, g)
            row = dict(file=str(path), index=int(i), energy=float(src.energy[i]), valid=bool(v.valid), touch=touch,
                       fingers=",".join(v.contact_fingers), episodes=[])
            if v.valid and touch >= a.min_touch:
                for s in seeds:
                    _, info = env.reset(seed=s)
                    pose = np.asarray(info["object_pose"])
                    _, _, _, _, info = env.step(transform_grasp(g, pose).astype(np.float32))
                    m = info["metrics"]
                    row["episodes"].append(dict(seed=s, Suc=m["Suc"], PGA=m["PGA"], clear=info["approach_clear"],
                                                shape=info["approach_shape"]))
                    if not (m["Suc"] and (m["PGA"] or a.min_touch < 3) and info["approach_clear"]):
                        break
            row["ok"] = len(row["episodes"]) == len(seeds) and all(
                e["Suc"] and (e["PGA"] or a.min_touch < 3) and e["clear"] for e in row["episodes"])
            row["s"] = round(time.perf_counter() - t0, 1)
            print(json.dumps(row), flush=True)
            report.append(row)
            if row["ok"]:
                have.add(g.astype(np.float32).tobytes())
                kept.append((float(src.energy[i]), path, int(i), v, touch))
    env.close()
    kept.sort(key=lambda k: k[0])
    kept = kept[:a.max_add]
    if a.write and kept:
        gs = lib
        for _, path, i, v, touch in kept:
            gs = extend_grasp_set(gs, load_grasp_set(path), i, v, touch, source_name=str(path))
        save_grasp_set(gs, library_dir())
        summary_path = library_dir() / "summary.json"
        summary = json.loads(summary_path.read_text())
        entry = summary[a.category]
        sources = sorted({str(p) for _, p, *_ in kept})
        entry.setdefault("top_ups", []).append(dict(part=a.part, added=len(kept), sources=sources,
                                                   episodes_each=len(seeds), seeds=seeds))
        summary_path.write_text(json.dumps(summary, indent=1))
    print(json.dumps(dict(category=a.category, part=a.part, candidates=len(report), passed=sum(r["ok"] for r in report),
                          added=len(kept) if a.write else 0, seeds=seeds,
                          library=str(grasp_set_path(library_dir(), a.category, 1.0)))))


if __name__ == "__main__":
    main()
