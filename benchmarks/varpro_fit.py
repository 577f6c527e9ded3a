"""The value fits of a real run, replayed: plain L-BFGS-B against variable projection.

Run: ``python benchmarks/varpro_fit.py [--env Pendulum-v1/gaussian] [--seed 0]
[--plain 25,15,10] [--varpro 5,8,10,25] [--timesteps N] [--hidden 32,32 [--hidden 16,16]]``.

A preset's run is trained once with its value fit in the main process, and every fit's problem
(the batch's observations and targets) is recorded. The sequence of problems is then replayed
for each fit and iteration budget, each fit warm-started from its own previous result as the
agent does: ``ValueFunction.fit`` (``vf_optimizer="lbfgs"``) with ``max_iter`` k, and
``value_varpro.fit_varpro`` (``"varpro"``) with k. For each it prints, averaged over the run's
fits: the loss L after the fit, 1 − R² in sample (MSE / Var[y] of the batch it was fitted on) and
on the next batch (the values the agent's next GAE uses), evaluations per fit, and ms per fit
and per evaluation on one BLAS thread, in this process. The targets are the recorded run's, so
every fit sees the same problems; which fit the run itself used does not enter.

``--hidden W,W`` (repeatable) replays every fit once more on a critic of other widths (same λ
and ftol), started from its own initialisation with the recorded run's seed: what a smaller
critic costs per fit and how well it predicts the next batch, before any learning run.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from learn import preset_kwargs  # noqa: E402


def record(env_id: str, seed: int, timesteps: int | None):
    """The preset's run, trained; returns its ValueFunction, [(θ_v before, obs, targets)] of
    every fit, and its final θ_v."""
    from npytrpo import value as value_module
    from npytrpo.agent import TRPO
    from npytrpo.tools.presets import env_id_of

    problems, real_fit = [], value_module.ValueFunction.fit

    def recording_fit(self, theta, obs, targets, **kw):
        problems.append((theta.copy(), obs.copy(), np.array(targets, dtype=np.float64)))
        return real_fit(self, theta, obs, targets, **kw)

    kw, budget = preset_kwargs(env_id, timesteps, {"parallel_value_fit": False})
    kw["vf_optimizer"] = "lbfgs"  # the problems come from the plain fit's run
    value_module.ValueFunction.fit = recording_fit
    try:
        agent = TRPO(env_id_of(env_id), seed=seed, **kw)
        agent.learn(budget, progress_bar=False)
        agent.close()
    finally:
        value_module.ValueFunction.fit = real_fit
    return agent.value, problems, agent.state.value_theta


def replay(value, problems, method: str, k: int) -> dict:
    """Every recorded problem fitted in turn by ``method`` with ``k`` iterations."""
    from npytrpo.value_varpro import fit_varpro

    theta = problems[0][0].copy()
    loss, ins, nxt, evals, seconds = [], [], [], 0, 0.0
    for i, (_, obs, y) in enumerate(problems):
        t0 = time.perf_counter()
        if method == "lbfgs":
            theta, info = value.fit(theta, obs, y, max_iter=k)
        else:
            theta, info = fit_varpro(value, theta, obs, y, max_iter=k)
        seconds += time.perf_counter() - t0
        evals += info.n_evaluations
        loss.append(info.loss_after)
        ins.append(info.mse_after / max(np.var(y), 1e-300))
        if i + 1 < len(problems):
            obs2, y2 = problems[i + 1][1], problems[i + 1][2]
            nxt.append(np.mean((value.predict(theta, obs2) - y2) ** 2) / max(np.var(y2), 1e-300))
    n = len(problems)
    return {
        "loss": float(np.mean(loss)),
        "in_sample": float(np.mean(ins)),
        "next_batch": float(np.mean(nxt)) if nxt else float("nan"),
        "evals": evals / n,
        "ms_fit": 1e3 * seconds / n,
        "ms_eval": 1e3 * seconds / max(evals, 1),
        "theta": theta,
    }


def _row(method: str, k: int, r: dict, label: str = "") -> str:
    return (f"{method:8s} {k:3d} {r['loss']:10.4f} {r['in_sample']:9.4f} "
            f"{r['next_batch']:10.4f} {r['evals']:6.1f} {r['ms_fit']:7.2f} "
            f"{r['ms_eval']:8.2f}{label}")  # fmt: skip


def _ints(text: str) -> list[int]:
    return [int(t) for t in text.split(",") if t.strip()]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--env", default="Pendulum-v1/gaussian")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timesteps", type=int, default=None)
    ap.add_argument("--plain", type=_ints, default=[25, 15, 10])
    ap.add_argument("--varpro", type=_ints, default=[5, 8, 10, 25])
    ap.add_argument("--hidden", type=_ints, action="append", default=[])
    args = ap.parse_args(argv)
    from threadpoolctl import threadpool_limits

    from npytrpo.value import ValueFunction

    value, problems, _ = record(args.env, args.seed, args.timesteps)
    N = problems[0][1].shape[0]
    print(f"{args.env} seed {args.seed}: {len(problems)} fits of N = {N}, value net {value.hidden}")
    print(f"{'fit':8s} {'k':>3s} {'loss':>10s} {'1-R2 in':>9s} {'1-R2 next':>10s} "
          f"{'evals':>6s} {'ms/fit':>7s} {'ms/eval':>8s}")  # fmt: skip
    runs = [("lbfgs", k) for k in args.plain] + [("varpro", k) for k in args.varpro]
    with threadpool_limits(limits=1, user_api="blas"):
        for method, k in runs:
            print(_row(method, k, replay(value, problems, method, k)))
        for hidden in args.hidden:
            other = ValueFunction(value.obs_dim, hidden, l2=value.l2, ftol=value.ftol)
            first = (other.init(args.seed), *problems[0][1:])
            for method, k in runs:
                r = replay(other, [first, *problems[1:]], method, k)
                print(_row(method, k, r, f"   critic {tuple(hidden)}"))


if __name__ == "__main__":
    main()
