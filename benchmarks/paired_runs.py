"""Paired comparison of stored learning runs: each directory against a base, on their common seeds.

Run: ``python benchmarks/paired_runs.py BASE_DIR DIR [DIR ...]`` over directories that
``benchmarks/learn.py --out-dir`` wrote (one ``<env>_seed<s>.json`` per run).

Two settings run on the same seeds share each seed's environment resets, so the per-seed
difference d_s = R_s(setting) − R_s(base) of their 20-episode means varies less than either
return. For each directory this prints the number of common seeds n, the setting's mean, the
mean difference d̄ and its standard error SE = std(d, ddof=1)/√n (a sweep's rule such as
``benchmarks/results/tune21``'s "beats the preset by at least 2 SE" reads off these two).

With ``--late`` the per-seed figure is instead the fraction of the run's late evaluations
(``learn.py --late-evals``) at or above its target's bound (``learn.late_pass``); with
``--late-mean`` the mean return of those evaluations; with ``--long`` the mean return of the
final policy's long evaluation (``learn.py --long-eval``: many episodes on an env seeded apart).

A setting whose runs span several directories (seed sets run apart) is given as one argument,
the directories joined by commas (``a/ll150,a/ll400``); ``runs_by_seed`` merges them.

With ``--effect D`` each line also gives the number of common seeds a true mean difference of
D would need for the "above zero by more than 2 SE" rule to find it in 80 % of experiments, at
the per-seed spread measured here (``seeds_to_detect``).

With ``--unpaired`` the settings ran on disjoint seeds (for instance a candidate on fresh seeds
against the base's stored runs): each line gives the difference of the two means and its Welch
standard error √(s₁²/n₁ + s₂²/n₂) (``unpaired``), and how many runs of each side are below 0.
Pairing is worth its cost only where a seed's two runs are correlated; on LunarLander-v3 they
are not (``results/tune28``).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from statistics import NormalDist

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from learn import late_pass, load_runs, parse_target, target_of  # noqa: E402

#: What ``by_seed`` reads off a run: its final evaluation, or its late evaluations' pass rate at
#: the target's bound (``--late``) or their mean return (``--late-mean``), or the final policy's
#: long evaluation (``--long``).
MEASURES = ("final", "late", "late-mean", "long")


def by_seed(directory: str, measure: str = "final") -> dict[int, float]:
    """``{seed: figure}`` of the runs stored in ``directory`` (one environment): the final
    ``eval_mean`` (``measure="final"``), ``late_pass(run, bound)`` with the bound of the env's
    target (``"late"``), the mean return of the run's late evaluations (``"late-mean"``), or
    its ``long_eval_mean`` (``"long"``)."""
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {MEASURES}, got {measure!r}")
    runs = load_runs([directory])
    envs = {r["env"] for r in runs}
    if len(envs) > 1:
        raise ValueError(f"directory must hold one environment's runs, {directory} has {envs}")
    if measure == "final":
        return {r["seed"]: r["eval_mean"] for r in runs}
    if measure == "long":
        if not all("long_eval_mean" in r for r in runs):
            raise ValueError(
                f"--long needs runs with a long evaluation (--long-eval) in {directory}"
            )
        return {r["seed"]: r["long_eval_mean"] for r in runs}
    rule = parse_target(target_of(runs[0]["env"])) if runs else None
    if not all(r.get("late_evals") for r in runs) or (measure == "late" and rule is None):
        raise ValueError(f"--{measure} needs runs with late_evals (and for --late a target bound)"
                         f" in {directory}")  # fmt: skip
    if measure == "late":
        return {r["seed"]: late_pass(r, rule[0]) for r in runs}
    return {r["seed"]: float(np.mean([m for _, m in r["late_evals"]])) for r in runs}


def runs_by_seed(directories: str, measure: str = "final") -> dict[int, float]:
    """``by_seed`` over each of the comma-separated ``directories``, merged; a seed stored in
    two of them is a ValueError (the same seed run twice is not two runs)."""
    merged: dict[int, float] = {}
    for directory in directories.split(","):
        part = by_seed(directory, measure)
        if set(part) & set(merged):
            raise ValueError(f"seeds {sorted(set(part) & set(merged))} appear twice in "
                             f"{directories!r}")  # fmt: skip
        merged.update(part)
    return merged


def paired(base: dict[int, float], other: dict[int, float]) -> tuple[int, float, float, float]:
    """(n common seeds, the other's mean over them, mean difference other − base, its SE)."""
    seeds = sorted(set(base) & set(other))
    if len(seeds) < 2:
        raise ValueError(f"need at least two common seeds, got {len(seeds)}")
    d = np.array([other[s] - base[s] for s in seeds])
    mean = float(np.mean([other[s] for s in seeds]))
    return len(seeds), mean, float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d)))


def unpaired(base: dict[int, float], other: dict[int, float]) -> tuple[int, float, float, float]:
    r"""(n runs of ``other``, its mean, mean(other) − mean(base), the Welch standard error
    :math:`\sqrt{s_b^2/n_b + s_o^2/n_o}` with ddof-1 sample variances) for runs on disjoint
    seeds; a seed in both is a ValueError (those runs are a paired comparison)."""
    shared = sorted(set(base) & set(other))
    if shared:
        raise ValueError(f"--unpaired needs disjoint seeds, both have {shared}")
    if len(base) < 2 or len(other) < 2:
        raise ValueError(f"need at least two runs on each side, got {len(base)} and {len(other)}")
    b, o = np.array(list(base.values())), np.array(list(other.values()))
    se = math.sqrt(b.var(ddof=1) / len(b) + o.var(ddof=1) / len(o))
    return len(o), float(o.mean()), float(o.mean() - b.mean()), se


def seeds_to_detect(sd: float, effect: float, power: float = 0.8, k: float = 2.0) -> int:
    r"""Seeds n at which a true paired difference ``effect`` > 0 clears the bar d̄ > k·SE with
    probability ``power``, for per-seed differences of standard deviation ``sd`` (normal d̄):

    .. math:: \frac{\text{effect}}{sd/\sqrt{n}} = k + z_{\text{power}}
              \quad\Rightarrow\quad n = \Bigl\lceil \bigl((k + z_{\text{power}})\,
              sd / \text{effect}\bigr)^2 \Bigr\rceil
    """
    if not effect > 0 or not 0 < power < 1:
        raise ValueError(f"effect must be > 0 and power in (0, 1), got {effect!r}, {power!r}")
    z = NormalDist().inv_cdf(power)
    return math.ceil(((k + z) * sd / effect) ** 2)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("base", help="the base setting's --out-dir")
    ap.add_argument("dirs", nargs="+", help="the other settings' --out-dir")
    which = ap.add_mutually_exclusive_group()
    which.add_argument("--late", dest="measure", action="store_const", const="late",
                       help="compare the late evaluations' pass rate")  # fmt: skip
    which.add_argument("--late-mean", dest="measure", action="store_const", const="late-mean",
                       help="compare the late evaluations' mean return")  # fmt: skip
    which.add_argument("--long", dest="measure", action="store_const", const="long",
                       help="compare the final policy's long evaluation (--long-eval)")  # fmt: skip
    ap.add_argument("--effect", type=float, default=None, metavar="D",
                    help="also print the seeds a difference D needs (80 %% power)")  # fmt: skip
    ap.add_argument("--unpaired", action="store_true",
                    help="runs on disjoint seeds: difference of means, Welch SE")  # fmt: skip
    ap.set_defaults(measure="final")
    args = ap.parse_args(argv)
    if args.unpaired and args.effect is not None:
        ap.error("--effect applies to the paired comparison only")
    base = runs_by_seed(args.base, args.measure)
    print(f"base {args.base}: {len(base)} runs, mean {np.mean(list(base.values())):.2f}"
          + (f", {_below_zero(base)} below 0" if args.unpaired else ""))  # fmt: skip
    for d in args.dirs:
        runs = runs_by_seed(d, args.measure)
        n, mean, diff, se = (unpaired if args.unpaired else paired)(base, runs)
        extra = f"  below 0: {_below_zero(runs)}" if args.unpaired else ""
        if args.effect is not None:
            sd = se * math.sqrt(n)  # the per-seed differences' sample std
            extra = f"  seeds for {args.effect:+g}: {seeds_to_detect(sd, args.effect)}"
        print(f"{d:<40} n={n:<3} mean {mean:8.2f}  minus base {diff:+7.2f}  SE {se:5.2f}  "
              f"2 SE {2 * se:5.2f}{extra}")  # fmt: skip


def _below_zero(runs: dict[int, float]) -> int:
    return sum(v < 0 for v in runs.values())


if __name__ == "__main__":
    main()
