"""Why grasps of one object's parts fail: synthesise N grasps per part with a SynthesisConfig
override (JSON in $CFG, e.g. '{"annealing": true}') and count, per part, the grasps that pass
each validation check (penetration, self-penetration, part alignment, held in all 6 directions,
>= 2 touching fingers), with the median energy and the time spent.

    CFG='{"annealing": true}' python scripts/dex_part_diag.py mug 8 body
"""

import json
import os
import sys
import time
from dataclasses import replace

import numpy as np

from vlgsim.assets.objects import GRASPABLE_PARTS
from vlgsim.grasp.dex_energy import EnergyWeights
from vlgsim.grasp.dex_pipeline import ObjectSetup, synthesize_part
from vlgsim.grasp.dex_synthesis import SynthesisConfig

over = json.loads(os.environ.get("CFG", "{}"))
if "weights" in over:  # {"weights": {"fc": 30.0}}: an EnergyWeights override
    over["weights"] = replace(EnergyWeights(), **over["weights"])
cfg = replace(SynthesisConfig(), **over)
cat, n = sys.argv[1], int(sys.argv[2])
only = sys.argv[3].split(",") if len(sys.argv) > 3 else None
setup = ObjectSetup(cat, 1.0, 0, "cpu")
for k, p in enumerate(GRASPABLE_PARTS[cat]):
    if only and p not in only:
        continue
    t = time.time()
    pg = synthesize_part(setup, k, p, n, cfg)
    r = pg.rows
    print(os.environ.get("CFG", "{}"), cat, p, "valid", sum(r["valid"]), "/", len(r["valid"]), "pen", sum(r["pen"]),
          "spen", sum(r["spen"]), "aligned", sum(r["aligned"]), "held6", sum(h.all() for h in r["held"]),
          "fingers>=2", sum(len(f.split(",")) >= 2 for f in r["fingers"] if f),
          "force_closure", sum(m > 0 for m in r["fc"]),
          "E median %.1f" % np.median(r["energy"][0]), "optimise %.0f s validate %.0f s" % (pg.optimise_s, pg.validate_s),
          flush=True)
