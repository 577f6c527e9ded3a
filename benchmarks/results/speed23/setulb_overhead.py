"""The cost of SciPy's ``setulb`` in a value fit (``README.md``, "Noticed"): ``minimize_lbfgsb``
on a diagonal quadratic, whose evaluations cost almost nothing, so the time is the routine's.

Run: ``OPENBLAS_NUM_THREADS=1 python benchmarks/results/speed23/setulb_overhead.py``
"""

import time

import numpy as np

from npytrpo.lbfgsb import minimize_lbfgsb


def main() -> None:
    rng = np.random.default_rng(0)
    for n in (4417, 4353, 8833):  # the CartPole and Pendulum value nets, and twice the first
        d, b = rng.uniform(1, 100, n), rng.standard_normal(n)

        def fun(x, d=d, b=b):
            dx = d * x
            return 0.5 * float(x @ dx) - float(b @ x), dx - b  # f = ½ xᵀDx − bᵀx, ∇f

        t = time.perf_counter()
        for _ in range(20):
            res = minimize_lbfgsb(fun, np.zeros(n), maxiter=15, ftol=0)
        per_fit = (time.perf_counter() - t) / 20 * 1e3
        calls = res.nfev + res.nit
        print(f"n = {n}: {per_fit:.2f} ms a fit, {res.nfev} evaluations, {res.nit} iterations, "
              f"{per_fit / calls:.3f} ms a call")  # fmt: skip


if __name__ == "__main__":
    main()
