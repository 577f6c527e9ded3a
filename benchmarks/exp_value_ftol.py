"""Experiment (issue 12): the value fit with L-BFGS-B's relative-decrease stopping rule ``ftol``.

L-BFGS-B stops when (f_k − f_{k+1}) / max(|f_k|, |f_{k+1}|, 1) ≤ ftol; with SciPy's default
ftol (2.22e-9) the presets' fits run their whole ``vf_iters`` budget in practice. This script
trains a preset with another ftol and prints, per seed, the final evaluation (20 deterministic
episodes, as ``learn.py``), the mean number of objective evaluations per fit (``nfev``), and the
median value-fit time per iteration over the median policy-step time.

The library has no ftol option: the script wraps the ``scipy.optimize.minimize`` that
``npytrpo.value`` calls to add ``ftol`` to its options (an experiment, not an API). ``--ftol
2.2204460492503131e-09`` is SciPy's default, i.e. the preset as it is.

    python benchmarks/exp_value_ftol.py --env CartPole-v1 --ftol 1e-3 --seeds 0,1,2,3,4
"""

from __future__ import annotations

import argparse
import json
import time
import types

import numpy as np
import scipy.optimize

import npytrpo.value as value
from npytrpo.agent import TRPO
from npytrpo.tools.presets import get_preset


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--env", default="CartPole-v1")
    ap.add_argument("--ftol", type=float, required=True)
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--episodes", type=int, default=20)
    a = ap.parse_args()
    nfev: list[int] = []

    def minimize(*args, options, **kw):
        res = scipy.optimize.minimize(*args, options={**options, "ftol": a.ftol}, **kw)
        nfev.append(int(res.nfev))
        return res

    value.optimize = types.SimpleNamespace(minimize=minimize)
    for seed in (int(s) for s in a.seeds.split(",")):
        kw = get_preset(a.env)
        budget = kw.pop("timesteps")
        kw.pop("note", None)
        nfev.clear()
        t0 = time.perf_counter()
        agent = TRPO(a.env, seed=seed, **kw)
        agent.learn(budget, progress_bar=False)
        wall = time.perf_counter() - t0
        ev = agent.evaluate(a.episodes)
        tv, tp = ([r[k] for r in agent.history] for k in ("time_value", "time_policy"))
        ratio = np.median(tv) / np.median(tp)
        row = {
            "env": a.env,
            "ftol": a.ftol,
            "seed": seed,
            "eval_mean": round(ev["mean_return"], 1),
            "nfev_mean": round(float(np.mean(nfev)), 1),
            "value_over_policy_median": round(float(ratio), 2),
            "wall_s": round(wall, 1),
        }
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
