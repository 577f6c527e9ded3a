"""Does keeping freed memory in the heap pay? One Fisher-vector product, malloc tuning on vs off.

Each setting runs in its own process (``memory.keep_freed_memory`` changes the whole process's
allocator and cannot be undone), alternating, ``--repeats`` times; each prints the median and the
10th percentile of 200 products F·v on the 64×64 CartPole policy at N = 1024 (BLAS 1 thread).
The 10th percentile is the figure to read on a loaded machine.

    python benchmarks/bench_memory.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np


def one(malloc: bool) -> str:
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, "blas")
    if malloc:
        from npytrpo.memory import keep_freed_memory

        keep_freed_memory()
    from npytrpo import CategoricalPolicy

    pi = CategoricalPolicy(4, 2, (64, 64))
    rng = np.random.default_rng(0)
    theta = pi.init(rng)
    op = pi.fisher_operator(theta, rng.standard_normal((1024, 4)))
    v = rng.standard_normal(pi.num_params)
    for _ in range(20):
        op(v)
    ts = []
    for _ in range(200):
        t = time.perf_counter()
        op(v)
        ts.append(time.perf_counter() - t)
    return (
        f"tune_malloc={malloc!s:5}  F·v median {np.median(ts) * 1e3:7.3f} ms   "
        f"p10 {np.percentile(ts, 10) * 1e3:7.3f} ms"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--child", choices=("on", "off"), help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        print(one(a.child == "on"), flush=True)
        return
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")
    for _ in range(a.repeats):
        for setting in ("on", "off"):
            subprocess.run([sys.executable, __file__, "--child", setting], check=True)


if __name__ == "__main__":
    main()
