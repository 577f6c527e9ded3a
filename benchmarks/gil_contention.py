"""What a thread beside the policy step costs it: ``trpo_step`` timed alone and beside a second
thread that runs value fits, matrix products, or pure Python, in one process.

Run: ``python benchmarks/gil_contention.py [--repeats R] [--switch-intervals 0.005,0.0005]``.

The agent's ``parallel_value_fit`` runs the value fit on a thread beside the policy step; NumPy
releases the GIL inside BLAS and the large elementwise loops, so the two could overlap fully.
This measures how far they do. On the 64×64 CartPole policy at N = 1024 (the preset's batch),
the median of R calls of ``trpo_step`` (one BLAS thread, as in the agent) is printed:

- alone;
- beside a thread that runs ``ValueFunction.fit`` (15 L-BFGS-B iterations at most) on the
  same batch size, back to back: the agent's situation;
- beside a thread that only multiplies (1024, 64) by (64, 64) matrices: a second core's worth
  of BLAS work that holds the GIL for almost nothing;
- beside a thread of pure Python (a loop of integer additions): a thread that holds the GIL
  all the time, released only at the interpreter's switch interval;
- beside the value fits again under each ``sys.setswitchinterval`` of ``--switch-intervals``,
  with the fit's own median beside a thread of back-to-back policy steps.

If the matrix-product thread leaves the step's time where it is alone and the fit thread does
not, the two threads contend for the GIL, not for the cores. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time

import numpy as np
from profile_ops import median_ms
from threadpoolctl import threadpool_limits

from npytrpo.policies import CategoricalPolicy
from npytrpo.trust_region import trpo_step
from npytrpo.value import ValueFunction


def beside(work, measure):
    """``measure()`` while another thread runs ``work()`` back to back; returns its result."""
    stop = threading.Event()

    def loop():
        while not stop.is_set():
            work()

    other = threading.Thread(target=loop, daemon=True)
    other.start()
    time.sleep(0.05)  # the other thread is running
    try:
        return measure()
    finally:
        stop.set()
        other.join()


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=30)
    p.add_argument("--switch-intervals", default="0.005,0.001,0.0002,0.00005")
    a = p.parse_args(argv)
    rng = np.random.default_rng(0)
    pi = CategoricalPolicy(4, 2)
    theta = pi.init(0)
    obs = rng.standard_normal((1024, 4))
    actions = pi.sample(theta, obs, 1)
    adv = rng.standard_normal(1024)
    vf = ValueFunction(4)
    theta_v, targets = vf.init(1), 10.0 * rng.standard_normal(1024)
    W, V = rng.standard_normal((1024, 64)), rng.standard_normal((64, 64))

    def step():
        trpo_step(pi, theta, obs, actions, adv)

    def fit():
        vf.fit(theta_v, obs, targets, max_iter=15)

    def gemm():
        W @ V

    def python():
        s = 0
        for i in range(1000):
            s += i

    print(
        f"trpo_step at N = 1024, 64×64 CartPole policy; {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.2f}; median of {a.repeats} calls, ms"
    )
    default = sys.getswitchinterval()
    print(f"  alone                                   {median_ms(step, a.repeats):8.1f}")
    print(f"  value fit alone                         {median_ms(fit, a.repeats):8.1f}")
    for name, work in (("value fits", fit), ("matrix products", gemm), ("pure Python", python)):
        ms = beside(work, lambda: median_ms(step, a.repeats))
        print(f"  beside a thread of {name:<20} {ms:8.1f}")
    for si in (float(x) for x in a.switch_intervals.split(",")):
        sys.setswitchinterval(si)
        ms = beside(fit, lambda: median_ms(step, a.repeats))
        ms_fit = beside(step, lambda: median_ms(fit, a.repeats))
        print(f"  switch interval {si:g} s: step beside fits {ms:8.1f}, ", end="")
        print(f"fit beside steps {ms_fit:8.1f}")
    sys.setswitchinterval(default)


if __name__ == "__main__":
    with threadpool_limits(limits=1, user_api="blas"):
        main()
