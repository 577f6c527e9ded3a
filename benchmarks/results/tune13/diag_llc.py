"""LunarLanderContinuous-v3 preset, one tune seed: retrain, check the evaluation reproduces the
sweep JSON (llc_base), print episode lengths and every 8th training iteration.

Run: ``python benchmarks/results/tune13/diag_llc.py SEED`` from the repository root.
"""

import json
import sys

import numpy as np

from npytrpo.agent import TRPO
from npytrpo.tools.presets import get_preset

seed = int(sys.argv[1])
kw = get_preset("LunarLanderContinuous-v3")
steps = kw.pop("timesteps")
agent = TRPO("LunarLanderContinuous-v3", seed=seed, **kw)
agent.learn(steps, progress_bar=False)
ev = agent.evaluate(20)
REF = "benchmarks/results/tune13/llc_base/LunarLanderContinuous-v3_seed{}.json"
ref = json.load(open(REF.format(seed)))
print("same returns as the sweep JSON:", np.allclose(ev["returns"], ref["evaluation_returns"]))
print("returns:", [round(x) for x in ev["returns"]])
print("lengths:", ev["lengths"])
for r in agent.history[::8]:
    print(
        {
            k: (round(r[k], 3) if isinstance(r[k], float) else r[k])
            for k in (
                "timesteps",
                "ep_return_mean",
                "ep_length_mean",
                "action_std",
                "entropy",
                "kl",
            )
        }
    )
