"""Is there a faster accurate tanh than ``np.tanh`` for the (1024, 64) float64 layers? (issue 12)

NumPy vectorises float64 ``exp`` on this machine's AVX2 but runs ``tanh`` per element through
libm, so ``np.tanh`` costs ~2× ``np.exp``. Two exp-based formulas are timed (thread CPU time,
median of ``--repeats`` calls, one BLAS thread) and checked against ``np.tanh`` in units of
machine epsilon of the relative error, on a grid over [−25, 25] plus ±[1e-300, 0.7] (near 0):

- ``exp formula``: 1 − 2/(e^{2z} + 1). One exp and four cheap passes, but 1 − x cancels near 0:
  its absolute error stays ~1e-16, so near z = 0 the relative error is unbounded (order 1, i.e.
  ~1e15 ε, at |z| ~ 1e-16). Not usable.
- ``rational + exp``: for |z| < 0.625 the convergent z·D(z²)/N(z²) of Lambert's continued
  fraction tanh z = z/(1 + z²/(3 + z²/(5 + …))) cut after 2n + 1 = 17 (its polynomials built
  here by the continued fraction's backward recurrence, Horner-evaluated), the exp formula with
  z's sign above; both computed everywhere and merged by the mask. Accurate (~2 ε), but about
  25 extra passes over the array.

Printed: the times and the worst relative errors. Nothing is asserted. The library keeps
``np.tanh`` (see ``benchmarks/results/speed_2026-12-02.md``).

    python benchmarks/tanh_candidates.py [--repeats 200]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from numpy.polynomial import polynomial as P
from threadpoolctl import threadpool_limits

from npytrpo.memory import keep_freed_memory

CUT = 0.625  # below it the continued fraction, above it the exp formula (no cancellation there)
DEPTH = 8  # terms 1, 3, …, 2·DEPTH + 1 of the continued fraction


def continued_fraction_polys(depth: int) -> tuple[np.ndarray, np.ndarray]:
    """(num, den) in powers of s = z² (highest first) with tanh z ≈ z·num(s)/den(s).

    Backward recurrence on the tail R_k = (2k + 1) + s/R_{k+1} = N_k/D_k, R_depth = 2·depth + 1:
    N_k = (2k + 1) N_{k+1} + s D_{k+1}, D_k = N_{k+1}; then tanh z ≈ z/R_0 = z·D_0/N_0.
    """
    N, D = np.array([2.0 * depth + 1]), np.array([1.0])
    for k in range(depth - 1, -1, -1):
        N, D = P.polyadd((2 * k + 1) * N, P.polymulx(D)), N
    return D[::-1], N[::-1]


def tanh_exp(z: np.ndarray) -> np.ndarray:
    """1 − 2/(e^{2z} + 1) (cancels near 0)."""
    with np.errstate(over="ignore"):
        e = np.multiply(z, 2.0)
        np.exp(e, out=e)
    e += 1.0
    np.divide(2.0, e, out=e)
    return np.subtract(1.0, e, out=e)


def tanh_rational_exp(z: np.ndarray, num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """The continued fraction for |z| < CUT, sign(z)·(1 − 2/(e^{2|z|} + 1)) above."""
    a = np.abs(z)
    t = np.copysign(tanh_exp(a), z)
    s = z * z
    n = np.full_like(z, num[0])
    for c in num[1:]:
        n *= s
        n += c
    d = np.full_like(z, den[0])
    for c in den[1:]:
        d *= s
        d += c
    n /= d
    n *= z  # z·num(s)/den(s)
    np.copyto(t, n, where=a < CUT)
    return t


def cpu_ms(fn, repeats: int) -> float:
    fn()
    ts = []
    for _ in range(repeats):
        c = time.thread_time()
        fn()
        ts.append(time.thread_time() - c)
    return float(np.median(ts)) * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=200)
    a = ap.parse_args()
    keep_freed_memory()
    threadpool_limits(1, "blas")
    num, den = continued_fraction_polys(DEPTH)
    z = np.random.default_rng(0).standard_normal((1024, 64)) * 1.5
    print("CPU ms per call on (1024, 64), median of", a.repeats)
    for name, fn in (
        ("np.tanh", lambda: np.tanh(z)),
        ("np.exp (for scale)", lambda: np.exp(z)),
        ("exp formula", lambda: tanh_exp(z)),
        ("rational + exp", lambda: tanh_rational_exp(z, num, den)),
    ):
        print(f"  {name:20s} {cpu_ms(fn, a.repeats):7.3f}")
    tiny = np.geomspace(1e-300, 0.7, 20000)
    grid = np.concatenate([np.linspace(-25.0, 25.0, 200001), tiny, -tiny])
    ref = np.tanh(grid)
    eps = np.finfo(float).eps
    print("worst relative error against np.tanh, in units of eps (at z)")
    for name, got in (
        ("exp formula", tanh_exp(grid)),
        ("rational + exp", tanh_rational_exp(grid, num, den)),
    ):
        rel = np.abs(got - ref) / np.maximum(np.abs(ref), np.finfo(float).tiny) / eps
        print(f"  {name:20s} {rel.max():.3g}  (z = {grid[rel.argmax()]:.3g})")


if __name__ == "__main__":
    main()
