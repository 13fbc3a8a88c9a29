"""Re-validate every grasp of the shipped grasp library under the current validator (rule and
finger drives) and, with ``--write``, keep what passes: a grasp whose verdict changed gets the
new one (valid, held, contacts, caption, force closure); grasps no longer valid are dropped,
except that a part left without a valid grasp keeps its ``FALLBACK_PER_PART`` best (as
``compact_grasp_set`` does). ``meta["parts"][part]["valid"]`` becomes the library's valid
count and ``meta["revalidated"]`` (and the object's entry in summary.json) records the change.
Prints one line per object and a JSON total last.

    python scripts/dex_library_revalidate.py [CATEGORY ...] [--write]
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace

import numpy as np

from vlgsim.assets.objects import GRASPABLE_PARTS
from vlgsim.data.grasp_sets import FALLBACK_PER_PART, library_dir, load_library_set, save_grasp_set
from vlgsim.grasp.dex_energy import GraspEnergy
from vlgsim.grasp.dex_pipeline import ObjectSetup


def revalidated(gs):
    """``gs`` with every grasp's verdict (valid, held, part alignment, penetration flags, contact
    fingers, caption, force closure) from the current validator; nothing dropped."""
    setup = ObjectSetup(gs.category, gs.scale, 0, "cpu")
    n = len(gs)
    valid, held, aligned, fingers, caption, fc = (gs.valid.copy(), gs.held.copy(), gs.part_aligned.copy(),
                                                  gs.contact_fingers.astype(object).copy(), gs.caption.astype(object).copy(),
                                                  None if gs.force_closure is None else gs.force_closure.copy())
    pen_ok, spen_ok = gs.penetration_ok.copy(), gs.self_penetration_ok.copy()
    energies = {}
    for i in range(n):
        part = str(gs.part[i])
        if part not in energies:
            energies[part] = GraspEnergy(setup.hand, setup.obj, part, 1)
        g = gs.grasps[i].astype(np.float64)
        d = energies[part].evaluate(g[None], np.ones((1, 5)))
        v = setup.validator.validate(g, part, float(d["pen_depth"][0]), float(d["spen_depth"][0]),
                                     float(d["table_depth"][0]))
        valid[i], held[i], aligned[i], pen_ok[i], spen_ok[i] = (v.valid, v.held, v.part_aligned,
                                                                v.penetration_ok, v.self_penetration_ok)
        fingers[i], caption[i] = ",".join(v.contact_fingers), v.caption
        if fc is not None:
            fc[i] = v.force_closure
    return replace(gs, valid=valid, held=held, part_aligned=aligned, penetration_ok=pen_ok, self_penetration_ok=spen_ok,
                   contact_fingers=fingers.astype(str), caption=caption.astype(str), force_closure=fc)


def revalidate_set(gs):
    """(new set, counts): every grasp of library set ``gs`` re-validated, the failing ones dropped
    (a part without any valid grasp keeps its best few)."""
    new, n = revalidated(gs), len(gs)
    valid, fc = new.valid, new.force_closure
    keep = valid.copy()
    for p in dict.fromkeys(gs.part.tolist()):
        if not keep[gs.part == p].any():
            keep[new.select(p, valid_only=False)[:FALLBACK_PER_PART]] = True
    counts = {"grasps": n, "were_valid": int(gs.valid.sum()), "now_valid": int(valid.sum()),
              "valid_to_invalid": int((gs.valid & ~valid).sum()), "invalid_to_valid": int((~gs.valid & valid).sum()),
              "dropped": int((~keep).sum()), "kept": int(keep.sum())}
    sel = lambda a: None if a is None else a[keep]  # noqa: E731
    parts = {p: dict(c, valid=int((valid & keep & (gs.part == p)).sum())) for p, c in gs.meta.get("parts", {}).items()}
    meta = dict(gs.meta, parts=parts, revalidated=list(gs.meta.get("revalidated", [])) + [counts])
    out = replace(new, grasps=new.grasps[keep], part=new.part[keep], energy=new.energy[keep],
                  terms={k: v[keep] for k, v in new.terms.items()}, valid=valid[keep], penetration_ok=new.penetration_ok[keep],
                  self_penetration_ok=new.self_penetration_ok[keep], held=new.held[keep], part_aligned=new.part_aligned[keep],
                  contact_fingers=new.contact_fingers[keep], caption=new.caption[keep], part_touch=new.part_touch[keep],
                  force_closure=sel(fc), meta=meta)
    return out, counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("categories", nargs="*", default=list(GRASPABLE_PARTS))
    ap.add_argument("--write", action="store_true")
    a = ap.parse_args()
    total: dict[str, int] = {}
    summary_path = library_dir() / "summary.json"
    summary = json.loads(summary_path.read_text())
    for category in a.categories:
        gs = load_library_set(category, 1.0)
        out, counts = revalidate_set(gs)
        per_part = {p: f"{int((out.valid & (out.part == p)).sum())}/{int((out.part == p).sum())}"
                    for p in dict.fromkeys(out.part.tolist())}
        print(category, json.dumps(counts), "valid/kept per part:", per_part, flush=True)
        for k, v in counts.items():
            total[k] = total.get(k, 0) + v
        if a.write:
            save_grasp_set(out, library_dir())
            summary[category].setdefault("revalidated", []).append(counts)
            tmp = summary_path.with_suffix(".json.tmp")
            tmp.write_text(json.dumps(summary, indent=1))
            tmp.replace(summary_path)
    print(json.dumps({"total": total, "written": a.write}))


if __name__ == "__main__":
    main()
