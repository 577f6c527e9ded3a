"""Time one gradient, one Fisher-vector product and one dense Fisher on 64×64 tanh policies.

Run: ``python benchmarks/bench_fisher.py [--repeats R]``. Prints, for N in {256, 1024, 4096} and
a CartPole-sized categorical policy (4 obs → 2 actions) and a Pendulum-sized Gaussian one
(3 obs → 1 action dim): the time of ``surrogate_grad``, of one product through
``fisher_operator`` (after its one-off forward pass), of building the operator, of one dense
``fisher_matrix``, and the ratio product/gradient. Targets (issue 2): one product ≤ 3× one
gradient; time linear in N. Nothing is asserted: this prints figures.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from threadpoolctl import threadpool_limits

from npytrpo.memory import keep_freed_memory
from npytrpo.policies import CategoricalPolicy, GaussianPolicy


def best_of(fn, repeats: int) -> float:
    """Best wall time of ``repeats`` calls, in milliseconds (least disturbed by other load)."""
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best * 1e3


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--sizes", default="256,1024,4096")
    ap.add_argument("--dense-max-n", type=int, default=1024, help="skip dense F above this N")
    ap.add_argument("--blas-threads", type=int, default=1, help="0: leave BLAS threads alone")
    ap.add_argument(
        "--no-malloc-tuning", action="store_true", help="leave glibc's malloc thresholds alone"
    )
    args = ap.parse_args(argv)
    malloc_tuned = False if args.no_malloc_tuning else keep_freed_memory()
    if args.blas_threads > 0:
        threadpool_limits(limits=args.blas_threads, user_api="blas")
    rng = np.random.default_rng(0)
    print(
        f"numpy {np.__version__}, {os.cpu_count()} cores, "
        f"BLAS threads {args.blas_threads or 'default'}, malloc tuned {malloc_tuned}"
        f"; best of {args.repeats} runs, ms"
    )
    header = (
        f"{'policy':<26}{'N':>6}{'grad':>9}{'op build':>10}{'F·v':>9}"
        f"{'F·v/grad':>10}{'dense F':>10}{'grad/N µs':>11}"
    )
    print(header)
    print("-" * len(header))
    policies = [
        ("categorical 4→64→64→2", CategoricalPolicy(4, 2, (64, 64))),
        ("gaussian 3→64→64→1", GaussianPolicy(3, 1, (64, 64))),
    ]
    for name, pi in policies:
        theta = pi.init(rng)
        for N in [int(s) for s in args.sizes.split(",")]:
            obs = rng.standard_normal((N, pi.obs_dim))
            a = pi.sample(theta, obs, rng)
            adv = rng.standard_normal(N)
            v = rng.standard_normal(pi.num_params)
            pi.surrogate_grad(theta, obs, a, adv)  # warm-up (BLAS threads, caches)
            t_grad = best_of(lambda: pi.surrogate_grad(theta, obs, a, adv), args.repeats)
            t_build = best_of(lambda: pi.fisher_operator(theta, obs), args.repeats)
            op = pi.fisher_operator(theta, obs)
            t_fvp = best_of(lambda: op(v), args.repeats)
            if N <= args.dense_max_n:
                t_dense = f"{best_of(lambda: pi.fisher_matrix(theta, obs), 2):10.1f}"
            else:
                t_dense = f"{'skipped':>10}"
            print(
                f"{name:<26}{N:>6}{t_grad:9.3f}{t_build:10.3f}{t_fvp:9.3f}"
                f"{t_fvp / t_grad:10.2f}{t_dense}{1e3 * t_grad / N:11.3f}"
            )
        print(f"{'':<26}P = {pi.num_params}")


if __name__ == "__main__":
    main()
