"""Re-validate the grasp sets of a ``vlgsim synth-grasps`` folder under the current validator
(rule and finger drives) and write them to OUT with summary.json (and, with ``--library``, the
compact library sets), as ``synth-grasps`` writes them. The optimised grasps do not depend on the
validator (the same seeds give bitwise the same grasps; checked against fresh optimisations of
the can body and hammer handle in session 9), so for a folder written with one round
(``--max-rounds 1``) this is what a fresh run with the same options gives, at the cost of
validation alone. Objects run in ``--workers`` processes; objects already in OUT are skipped.

    python scripts/dex_revalidate_sets.py SRC OUT [--library LIB] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def one(src: str, out: str) -> tuple[str, float]:
    from dex_library_revalidate import revalidated

    from vlgsim.data.grasp_sets import load_grasp_set, save_grasp_set

    t = time.perf_counter()
    gs = load_grasp_set(Path(src))
    if int(gs.meta.get("max_rounds", 1)) > 1:
        raise ValueError(f"{src}: written with --max-rounds {gs.meta['max_rounds']}; rule: one round only "
                         "(top-up rounds depend on the old verdicts)")
    new = revalidated(gs)
    first = {p: {"valid": int(new.valid[new.part == p].sum()), "attempts": int((new.part == p).sum())}
             for p in dict.fromkeys(new.part.tolist())}
    new.meta = dict(new.meta, first_round=first, revalidated_from=str(src),
                    validate_s=round(time.perf_counter() - t, 2))
    save_grasp_set(new, Path(out))
    return gs.category, time.perf_counter() - t


def main() -> None:
    from vlgsim.data.grasp_sets import compact_grasp_set, grasp_set_path, load_grasp_set, save_grasp_set

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--library", type=Path)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    files = sorted(a.src.glob("*_s*.npz"), key=lambda f: -f.stat().st_size)  # largest first
    todo = [f for f in files if not (a.out / f.name).exists()]
    with ProcessPoolExecutor(a.workers, mp_context=mp.get_context("spawn")) as pool:
        for fut in as_completed([pool.submit(one, str(f), str(a.out)) for f in todo]):
            category, s = fut.result()
            print(f"{category}: re-validated in {s:.0f} s", flush=True)
    summary = {}
    for f in files:
        gs = load_grasp_set(a.out / f.name)
        summary[gs.category] = {"parts": gs.summary(), "valid_share": float(gs.valid.mean()), **gs.meta}
        if a.library:
            a.library.mkdir(parents=True, exist_ok=True)
            save_grasp_set(compact_grasp_set(gs), a.library)
            assert grasp_set_path(a.library, gs.category, gs.scale).exists()
    for folder in [a.out] + ([a.library] if a.library else []):
        (folder / "summary.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps({c: {p: f"{s['first_round'][p]['valid']}/{s['first_round'][p]['attempts']}" for p in s["parts"]}
                      for c, s in summary.items()}))


if __name__ == "__main__":
    main()
