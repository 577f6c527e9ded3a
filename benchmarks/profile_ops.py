"""What the batch passes of one iteration are made of, and what candidate speedups would save.

Run: ``python benchmarks/profile_ops.py [--repeats R]``. BLAS on one thread, as in the agent.
Every figure is the median of R calls (the least load-disturbed statistic of a shared machine);
the long calls of section 2 are timed in CPU time of the process.

1. Elementwise and BLAS operations at the batch sizes of the CartPole (N = 1024) and Pendulum
   (N = 2048) presets, 64-wide layers: ``np.tanh`` against a 64×64 matmul, and the candidate
   ``tanh(z) = 2 / (1 + exp(−2z)) − 1`` (NumPy's float64 ``exp`` is vectorised on AVX2, its
   ``tanh`` is not), with that formula's largest deviation from ``np.tanh``.
2. ``ValueFunction.fit`` (15 L-BFGS-B iterations, the CartPole preset) and ``trpo_step`` on a
   CartPole-sized batch, as they are and with ``npytrpo.nn``'s ``np.tanh`` swapped for the
   formula above for the duration of the measurement (an experiment: the library is unchanged),
   with the largest difference in the resulting θ.
3. Bit-identity of two per-step changes to the rollout: drawing a rollout's uniforms (normals)
   in one call instead of one call per step, and hoisting ``sqrt(var + ε)`` out of the loop.
4. One step of gymnasium's SyncVectorEnv with ``copy=True`` (default) and ``copy=False``.
"""

from __future__ import annotations

import argparse
import contextlib
import time

import gymnasium as gym
import numpy as np
from threadpoolctl import threadpool_limits

import npytrpo.nn as nn_module
from npytrpo.policies import CategoricalPolicy
from npytrpo.trust_region import trpo_step
from npytrpo.value import ValueFunction


def median_ms(fn, repeats: int, clock=time.perf_counter) -> float:
    """Median time of one call of ``fn`` in ms, after one warm-up call."""
    fn()
    t = np.empty(repeats)
    for i in range(repeats):
        t0 = clock()
        fn()
        t[i] = clock() - t0
    return 1e3 * float(np.median(t))


def tanh_exp(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``2 / (1 + exp(−2z)) − 1`` in place in ``out`` (z itself may be ``out``)."""
    out = np.empty_like(z) if out is None else out
    np.multiply(z, -2.0, out=out)
    np.exp(out, out=out)
    out += 1.0
    np.divide(2.0, out, out=out)
    out -= 1.0
    return out


class _NumpyFastTanh:
    """NumPy, except ``tanh`` (the experiment's stand-in for ``npytrpo.nn``'s ``np``)."""

    tanh = staticmethod(tanh_exp)

    def __getattr__(self, name):
        return getattr(np, name)


@contextlib.contextmanager
def fast_tanh():
    saved = nn_module.np
    nn_module.np = _NumpyFastTanh()
    try:
        yield
    finally:
        nn_module.np = saved


def ops(repeats: int) -> None:
    rng = np.random.default_rng(0)
    print("1. operations on (N, 64) float64 arrays, ms per call")
    for N in (1024, 2048):
        z = rng.standard_normal((N, 64))
        W = rng.standard_normal((64, 64)) / 8
        out = np.empty_like(z)
        rows = {
            "np.tanh": lambda: np.tanh(z, out=out),
            "2/(1+exp(-2z))-1": lambda: tanh_exp(z, out),
            "np.exp": lambda: np.exp(z, out=out),
            "matmul (N,64)@(64,64)": lambda: np.matmul(z, W, out=out),
            "hᵀδ (64,N)@(N,64)": lambda: z.T @ z,
            "sum(axis=0)": lambda: z.sum(axis=0),
            "z + b": lambda: np.add(z, W[0], out=out),
        }
        cells = ", ".join(f"{k} {median_ms(f, repeats):.3f}" for k, f in rows.items())
        dev = np.abs(np.tanh(z) - tanh_exp(z)).max()
        print(f"   N = {N}: {cells}; max |tanh − formula| = {dev:.1e}")


def passes(repeats: int) -> None:
    rng = np.random.default_rng(1)
    N = 1024
    obs = rng.standard_normal((N, 4))
    y = rng.standard_normal(N) * 10
    vf = ValueFunction(4, (64, 64), max_iter=15)
    v0 = vf.init(rng)
    pi = CategoricalPolicy(4, 2, (64, 64))
    th = pi.init(rng)
    act = pi.sample(th, obs, rng)
    adv = rng.standard_normal(N)
    r = max(repeats // 20, 5)

    def fit():
        return vf.fit(v0, obs, y)

    def step():
        return trpo_step(pi, th, obs, act, adv, damping=1e-3, normalize_advantages=True)

    # CPU time of this process: a call this long is descheduled many times on a loaded machine,
    # and its wall time measures the load more than the work.
    cpu = time.process_time
    print(f"\n2. batch passes at N = {N}, CPU ms of this process (median of {r})")
    base = {"value fit": median_ms(fit, r, cpu), "trpo_step": median_ms(step, r, cpu)}
    v_ref, info = fit()
    s_ref = step().theta_new
    with fast_tanh():
        fast = {"value fit": median_ms(fit, r, cpu), "trpo_step": median_ms(step, r, cpu)}
        v_new, _ = fit()
        s_new = step().theta_new
    diff = {"value fit": np.abs(v_new - v_ref).max(), "trpo_step": np.abs(s_new - s_ref).max()}
    for k in base:
        print(
            f"   {k:<10} np.tanh {base[k]:8.2f}   exp formula {fast[k]:8.2f}   "
            f"saves {1 - fast[k] / base[k]:6.1%}   max |Δθ| {diff[k]:.1e}"
        )
    print(f"   (value fit: {info.iterations} iterations, {info.n_evaluations} evaluations)")


def rollout_changes(repeats: int) -> None:
    print("\n3. per-step rollout changes: bit-identical?")
    for name in ("random", "standard_normal"):
        a, b = np.random.default_rng(5), np.random.default_rng(5)
        per_step = np.stack([getattr(a, name)((2, 1)) for _ in range(512)])
        batched = getattr(b, name)((512, 2, 1))
        print(
            f"   rng.{name}: 512 calls of (2, 1) == one call of (512, 2, 1): "
            f"{np.array_equal(per_step, batched)}"
        )
    rng = np.random.default_rng(0)
    x, mean, var, eps = rng.standard_normal((2, 3)), rng.standard_normal(3), rng.random(3), 1e-8
    scale = np.sqrt(var + eps)
    same = np.array_equal((x - mean) / np.sqrt(var + eps), (x - mean) / scale)
    print(f"   normaliser with sqrt(var + eps) hoisted out of the loop: {same}")
    print("\n4. SyncVectorEnv step, 2 envs, random actions, µs per call")
    for env_id in ("CartPole-v1", "Pendulum-v1"):
        cells = []
        for copy in (True, False):
            env = gym.make_vec(
                env_id,
                num_envs=2,
                vectorization_mode="sync",
                vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP, "copy": copy},
            )
            env.reset(seed=0)
            env.action_space.seed(0)
            acts = iter([env.action_space.sample() for _ in range(repeats * 10 + 1)])
            cells.append(
                f"copy={copy} {1e3 * median_ms(lambda: env.step(next(acts)), repeats * 10):.1f}"
            )
            env.close()
        print(f"   {env_id}: " + ", ".join(cells))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=300)
    args = ap.parse_args(argv)
    with threadpool_limits(limits=1, user_api="blas"):
        ops(args.repeats)
        passes(args.repeats)
        rollout_changes(args.repeats)


if __name__ == "__main__":
    main()
