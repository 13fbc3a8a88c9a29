"""Per-part table of a grasp-set folder written by ``vlgsim synth-grasps`` (its summary.json):
valid grasps of the first batch of attempts per part (``--per-part``), the valid grasps after the
top-up rounds (``--min-valid``/``--max-rounds``) over all attempts, and PGA (>= 3 fingertips on
the part) of the valid ones; then the overall first-round share.

    python scripts/dex_grasp_table.py runs/grasp_lib_full
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def table(summary: dict) -> str:
    lines = ["| object | part | valid / first attempts | valid / all attempts (top-ups) | PGA of valid |",
             "|---|---|---|---|---|"]
    first_v = first_n = all_v = all_n = 0
    for category in sorted(summary):
        s = summary[category]
        for part, p in s["parts"].items():
            fr = s.get("first_round", {}).get(part, {"valid": float("nan"), "attempts": 0})
            v = round(p["valid_share"] * p["grasps"])
            first_v, first_n = first_v + fr["valid"], first_n + fr["attempts"]
            all_v, all_n = all_v + v, all_n + p["grasps"]
            pga = "-" if p["pga_of_valid"] != p["pga_of_valid"] else f"{100 * p['pga_of_valid']:.0f} %"
            lines.append(f"| {category} | {part} | {fr['valid']}/{fr['attempts']} | {v}/{p['grasps']} | {pga} |")
    lines.append(f"| **all** | | **{first_v}/{first_n} = {100 * first_v / max(first_n, 1):.1f} %** | "
                 f"{all_v}/{all_n} = {100 * all_v / max(all_n, 1):.1f} % | |")
    return "\n".join(lines)


if __name__ == "__main__":
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/grasp_sets")
    print(table(json.loads((folder / "summary.json").read_text())))
