"""Time one full TRPO step, and its parts, on CartPole- and Pendulum-sized 64×64 tanh policies.

Run: ``python benchmarks/bench_step.py [--repeats R] [--n N]``. For a categorical policy
(4 obs → 64 → 64 → 2 actions, P = 4610) and a Gaussian one (3 obs → 64 → 64 → 1 action dim),
with θ from ``init``, standard-normal observations, actions sampled from π_θ and
standard-normal advantages (``normalize_advantages=True``), it prints the best and the median
of R timed runs (after one warm-up run) of:

- ``trpo_step``: the whole public call (validation included), default options;
- linearize: ``Policy.linearize``, the step's one forward pass at θ_old: g, log π_old, the
  entropy and the Fisher operator that reuses the pass (what ``trpo_step`` calls;
  ``policy.surrogate_grad`` alone is shown for reference);
- CG: ``cg.conjugate_gradient`` on v ↦ F v + λv (λ = 0.1, 10 iterations at most, tol 1e-10,
  the step's settings), plus the one extra product for xᵀAx; and the same forced to run all
  10 iterations (tol = 0), the worst case, for reference;
- line search: ``linesearch.backtracking_line_search`` with ``Linearization.evaluate`` and the
  default acceptance rule, on the step's full βx (its trial count is printed);
- rest: the total's median minus the medians of linearize, CG (step settings) and
  line search: validation, normalisation, bookkeeping, and timing noise.

The figures move a lot with other load on the machine (the load average is printed); the best
of R is the least disturbed. BLAS runs on one thread by default (``--blas-threads``, as in the
agent): on a loaded 2-core machine OpenBLAS's worker threads wait on each other and single
products can take 100× longer (``--blas-threads 0`` leaves the library's default).

Target (issue 12): ≤ ⅕ of sb3-contrib's policy step at this size, measured side by side by
``benchmarks/compare.py --step-only``. Nothing is asserted: this prints figures.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from threadpoolctl import threadpool_limits

from npytrpo import sensitivity
from npytrpo.cg import conjugate_gradient
from npytrpo.linesearch import backtracking_line_search, make_acceptance_rule
from npytrpo.memory import keep_freed_memory
from npytrpo.policies import CategoricalPolicy, GaussianPolicy
from npytrpo.trust_region import trpo_step

DAMPING = 0.1
CG_ITERS = 10
CG_TOL = 1e-10


def timings(fn, repeats: int) -> np.ndarray:
    """Wall times of ``repeats`` calls of ``fn`` in ms, after one untimed warm-up call."""
    fn()
    out = np.empty(repeats)
    for i in range(repeats):
        t0 = time.perf_counter()
        fn()
        out[i] = time.perf_counter() - t0
    return out * 1e3


def bench_policy(name: str, pi, N: int, repeats: int, rng: np.random.Generator) -> None:
    """Print the total and the parts of one TRPO step of ``pi`` on a batch of N samples."""
    theta = pi.init(rng)
    obs = rng.standard_normal((N, pi.obs_dim))
    actions = pi.sample(theta, obs, rng)
    adv = rng.standard_normal(N)
    adv_n = (adv - adv.mean()) / adv.std()  # what normalize_advantages=True feeds the step

    def step():
        return trpo_step(pi, theta, obs, actions, adv, normalize_advantages=True)

    res = step()

    def linearize():
        return pi.linearize(
            theta, obs, actions, adv_n, kl_direction="old_new", entropy_coef=0.0, fvp_subsample=1
        )

    lin = linearize()

    def A(v):
        return lin.fisher(v) + DAMPING * v  # (F + λI) v

    def cg_and_curvature(tol=CG_TOL):
        x = conjugate_gradient(A, lin.g, maxiter=CG_ITERS, tol=tol).x
        return x @ A(x)  # the extra product for xᵀAx

    rule = make_acceptance_rule(
        "kl_and_improve", delta=0.01, expected_improvement=res.expected_improvement
    )

    def line_search():
        return backtracking_line_search(lin.evaluate, res.full_step, accept=rule)

    parts = {
        "trpo_step (total)": timings(step, repeats),
        "linearize (g, F at θ)": timings(linearize, repeats),
        "  surrogate_grad alone": timings(
            lambda: pi.surrogate_grad(theta, obs, actions, adv_n), repeats
        ),
        "CG + xᵀAx product": timings(cg_and_curvature, repeats),
        f"  same, all {CG_ITERS} iterations": timings(lambda: cg_and_curvature(0.0), repeats),
        "line search": timings(line_search, repeats),
    }
    total = np.median(parts["trpo_step (total)"])
    summed = ["linearize (g, F at θ)", "CG + xᵀAx product"]
    rest = total - sum(np.median(parts[k]) for k in [*summed, "line search"])

    path = "output sensitivities" if sensitivity.worth_it(pi.net) else "MLP.jvp / MLP.vjp"
    print(f"\n{name}: N = {N}, P = {pi.num_params}; Fisher products through {path}")
    print(
        f"  step: status {res.status}, CG {res.cg.iterations} iterations "
        f"({res.cg.nmatvec} products), line search {len(res.line_search.fractions)} trial(s)"
    )
    print(f"  {'part':<30}{'best ms':>9}{'median ms':>11}{'% of step':>11}")
    for label, t in parts.items():
        share = 100.0 * np.median(t) / total
        print(f"  {label:<30}{t.min():9.3f}{np.median(t):11.3f}{share:10.1f}%")
    print(f"  {'rest (total − parts)':<30}{'':>9}{rest:11.3f}{100.0 * rest / total:10.1f}%")
    print(
        f"  trpo_step: median {total:.2f} ms, best {parts['trpo_step (total)'].min():.2f} ms "
        "(the ratio to sb3-contrib's policy step is measured side by side by compare.py)"
    )


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=30, help="timed runs per figure (R)")
    ap.add_argument("--n", type=int, default=1024, help="batch size N")
    ap.add_argument("--blas-threads", type=int, default=1, help="0: leave BLAS threads alone")
    ap.add_argument(
        "--no-malloc-tuning", action="store_true", help="leave glibc's malloc thresholds alone"
    )
    args = ap.parse_args(argv)
    malloc_tuned = False if args.no_malloc_tuning else keep_freed_memory()
    if args.blas_threads > 0:
        threadpool_limits(limits=args.blas_threads, user_api="blas")
    rng = np.random.default_rng(0)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    threads = args.blas_threads or os.environ.get("OPENBLAS_NUM_THREADS", "default")
    print(
        f"numpy {np.__version__}, {os.cpu_count()} cores, load average {load}, "
        f"BLAS threads {threads}, malloc tuned {malloc_tuned}; "
        f"{args.repeats} timed runs after 1 warm-up"
    )
    print("default options: δ = 0.01, λ = 0.1, ≤ 10 CG iterations (rᵀr < 1e-10), 10 backtracks")
    policies = [
        ("categorical 4→64→64→2 (CartPole)", CategoricalPolicy(4, 2, (64, 64))),
        ("gaussian 3→64→64→1 (Pendulum)", GaussianPolicy(3, 1, (64, 64))),
    ]
    for name, pi in policies:
        bench_policy(name, pi, args.n, args.repeats, rng)


if __name__ == "__main__":
    main()
