"""Regenerate the oracle's golden vectors in ``tests/data/oracle/``.

Run: ``python benchmarks/make_golden.py [--out DIR] [--sets classic,gsde]``. For every recipe
below, seeds 0, 1, 2, … are tried until the case is well-posed (no decision of the step within
1e-6 of its threshold, rounding amplified at most 1e4 times into x and x*; see
``docs/oracle.md``) and its line search ends as the recipe asks (``first``: the full step is
accepted; ``backtrack``: a later trial; ``failed``: none). Each case is written as
``NAME.case.npz`` + ``NAME.case.json`` and its result as ``NAME.result.npz`` +
``NAME.result.json``; ``index.json`` lists them. The output is deterministic: rerunning it
rewrites identical files (up to BLAS rounding in the results, which
``tests/test_oracle.py`` tolerates at 1e-10).

Two sets: ``classic`` (categorical and Gaussian, format 1) in DIR, and ``gsde`` (format 2) in
``DIR/gsde`` with its own ``index.json``, so that adding the gSDE cases left every file of the
classic set as it was (``tests/test_oracle_gsde.py`` checks them).
"""

from __future__ import annotations

import argparse
import json
import os

from npytrpo.oracle import make_case, run_case, save

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, os.pardir, "tests", "data", "oracle")

CAT = dict(policy="categorical", obs_dim=3, n_actions=3)
GAUSS = dict(policy="gaussian", obs_dim=3, act_dim=2)
GSDE = dict(policy="gsde", obs_dim=3, act_dim=2)

# (name, what it covers, expected line-search outcome, make_case keywords)
RECIPES = [
    ("categorical_linear", "softmax regression, DESIGN.md defaults", "first", {**CAT}),
    (
        "categorical_linear_undamped",
        "damping 0: singular F, x* by pinvh",
        "first",
        {**CAT, "damping": 0.0},
    ),
    ("categorical_mlp", "one tanh layer, defaults", "first", {**CAT, "hidden": [4]}),
    (
        "categorical_mlp_undamped",
        "one tanh layer, damping 0",
        "first",
        {**CAT, "hidden": [4], "damping": 0.0},
    ),
    (
        "categorical_mlp2_new_old_strict",
        "two layers, KL(new||old), kl < delta (Tianshou rule)",
        "first",
        {**CAT, "hidden": [4, 4], "kl_direction": "new_old", "accept": "strict"},
    ),
    (
        "categorical_backtrack",
        "large delta: accepted after backtracking",
        "backtrack",
        {**CAT, "hidden": [4], "delta": 1.0, "max_backtracks": 3, "theta_noise": 2.0},
    ),
    (
        "categorical_baselines",
        "OpenAI baselines: damping 1e-2, delta 1e-3, kl_slack, normalised advantages",
        "first",
        {
            **CAT,
            "hidden": [4],
            "damping": 0.01,
            "delta": 0.001,
            "accept": "kl_slack",
            "normalize_advantages": True,
        },
    ),
    (
        "categorical_modular_rl",
        "modular_rl: damping 1e-3, expected-improvement ratio",
        "first",
        {**CAT, "damping": 0.001, "accept": "expected_ratio"},
    ),
    (
        "categorical_cg_converged",
        "CG stops on r'r < tol before cg_iters",
        "first",
        {**CAT, "hidden": [4], "cg_iters": 60},
    ),
    ("gaussian_linear", "linear mean, log-std last, defaults", "first", {**GAUSS}),
    ("gaussian_linear_undamped", "linear mean, damping 0", "first", {**GAUSS, "damping": 0.0}),
    ("gaussian_mlp", "one tanh layer, defaults", "first", {**GAUSS, "hidden": [4]}),
    (
        "gaussian_mlp2_undamped_new_old",
        "two layers, damping 0, KL(new||old)",
        "first",
        {**GAUSS, "hidden": [4, 4], "damping": 0.0, "kl_direction": "new_old"},
    ),
    (
        "gaussian_sb3_contrib",
        "sb3-contrib: KL(new||old) averaged over action dims, strict, "
        "alpha 0.8, 15 CG steps, normalised advantages",
        "first",
        {
            **GAUSS,
            "hidden": [4],
            "gaussian_kl_reduction": "mean",
            "kl_direction": "new_old",
            "accept": "strict",
            "backtrack_coeff": 0.8,
            "cg_iters": 15,
            "normalize_advantages": True,
        },
    ),
    (
        "gaussian_spinup",
        "Spinning Up: KL(new||old) for the Gaussian, alpha 0.8, normalised advantages",
        "first",
        {
            **GAUSS,
            "hidden": [4],
            "kl_direction": "new_old",
            "backtrack_coeff": 0.8,
            "normalize_advantages": True,
        },
    ),
    (
        "gaussian_backtrack",
        "one action dim, large delta: accepted after backtracking",
        "backtrack",
        {**GAUSS, "act_dim": 1, "delta": 2.0},
    ),
    (
        "gaussian_failed",
        "large delta, 2 trials: the line search fails, theta kept",
        "failed",
        {**GAUSS, "delta": 20.0, "max_backtracks": 2},
    ),
]


GSDE_RECIPES = [
    ("gsde_linear", "gSDE, linear: features = observation, full_std, defaults", "first", {**GSDE}),
    ("gsde_mlp", "gSDE, one tanh layer: features = its 4 units, full_std", "first",
     {**GSDE, "hidden": [4]}),
    ("gsde_mlp_shared_std", "gSDE, full_std false: one log-sigma per feature", "first",
     {**GSDE, "hidden": [4], "full_std": False}),
    ("gsde_linear_undamped", "gSDE, linear, damping 0, epsilon 0", "first",
     {**GSDE, "damping": 0.0, "epsilon": 0.0}),
    ("gsde_sb3_contrib",
     "sb3-contrib with use_sde: KL(new||old) averaged over action dims, strict, alpha 0.8, "
     "15 CG steps, normalised advantages, epsilon 1e-6 on the variance", "first",
     {**GSDE, "hidden": [4], "gaussian_kl_reduction": "mean", "kl_direction": "new_old",
      "accept": "strict", "backtrack_coeff": 0.8, "cg_iters": 15, "normalize_advantages": True}),
    ("gsde_backtrack", "gSDE, one action dim, large delta: accepted after backtracking",
     "backtrack", {**GSDE, "act_dim": 1, "hidden": [4], "delta": 2.0}),
]  # fmt: skip
#: name -> (sub-directory of --out, recipes, index format written)
SETS = {"classic": ("", RECIPES), "gsde": ("gsde", GSDE_RECIPES)}


def outcome(accepted: int) -> str:
    return "failed" if accepted < 0 else ("first" if accepted == 0 else "backtrack")


def build(name, want, kwargs, max_seed=200):
    for seed in range(max_seed):
        case = make_case(batch=16, probes=2, seed=seed, name=name, **kwargs)
        result = run_case(case)
        if result.spec["well_posed"] and outcome(int(result.arrays["ls_accepted"])) == want:
            return case, result
    raise RuntimeError(f"{name}: no well-posed seed < {max_seed} gives outcome {want!r}")


def write_set(out: str, recipes: list) -> None:
    """Write each recipe's case and result, and ``index.json``, to ``out``."""
    os.makedirs(out, exist_ok=True)
    index = []
    for name, what, want, kwargs in recipes:
        case, result = build(name, want, kwargs)
        case.spec["description"] = what
        result = run_case(case)  # the description is part of the case's digest
        for kind, data in (("case", case), ("result", result)):
            for ext in ("npz", "json"):
                save(os.path.join(out, f"{name}.{kind}.{ext}"), data)
        index.append(
            {
                "name": name,
                "description": what,
                "outcome": want,
                "seed": case.spec["generator"]["seed"],
                "num_params": case.spec["num_params"],
                "status": result.spec["status"],
                "ls_accepted": int(result.arrays["ls_accepted"]),
                "cg_iterations": int(result.arrays["cg_iterations"]),
            }
        )
        print(
            f"{name:34s} seed {index[-1]['seed']:3d}  P = {index[-1]['num_params']:3d}  "
            f"{result.spec['status']} (trial {index[-1]['ls_accepted']}, "
            f"{index[-1]['cg_iterations']} CG iterations)"
        )
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump({"format": "npytrpo-oracle-index/1", "cases": index}, f, indent=1)
        f.write("\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=DEFAULT_OUT)
    parser.add_argument("--sets", default="classic,gsde", help=f"of {list(SETS)}")
    args = parser.parse_args()
    for name in args.sets.split(","):
        sub, recipes = SETS[name]
        write_set(os.path.join(args.out, sub), recipes)


if __name__ == "__main__":
    main()
