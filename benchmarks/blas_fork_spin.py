"""Does OpenBLAS's thread pool spin after a fork? (issue 12; ``npytrpo/fitproc.py``)

After each event below, the process sleeps ``--sleep`` seconds and prints the CPU time its
threads used meanwhile (``time.process_time``): a sleeping process uses ~0, so what is printed
is what a busy BLAS worker thread burnt. The events, in a parent and in a child it forks:

- ``import numpy`` (the pool is built);
- setting the thread count with ``threadpoolctl.threadpool_limits`` before and after a fork;
- a 1024 × 64 × 64 matrix product at the inherited count, and at two threads.

Printed, nothing asserted. Run: ``python benchmarks/blas_fork_spin.py [--sleep 0.15]``.
"""

from __future__ import annotations

import argparse
import os
import time


def spun(label: str, sleep: float) -> None:
    """Print the process's CPU milliseconds over ``sleep`` seconds of sleep after ``label``."""
    c = time.process_time()
    time.sleep(sleep)
    used = 1e3 * (time.process_time() - c)
    print(f"[{'child ' if os.getpid() != PARENT else 'parent'}] {label:<52} {used:7.1f} ms")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sleep", type=float, default=0.15, help="seconds slept after each event")
    s = ap.parse_args(argv).sleep
    print(f"CPU used by the process while it sleeps {1e3 * s:.0f} ms after each event")
    import numpy as np

    spun("import numpy", s)
    from threadpoolctl import threadpool_info, threadpool_limits

    counts = [(d["internal_api"], d["num_threads"]) for d in threadpool_info()]
    print(f"         BLAS libraries and threads: {counts}; cores {os.cpu_count()}")
    x, w = np.random.default_rng(0).random((1024, 64)), np.ones((64, 64))
    limit = threadpool_limits(limits=1, user_api="blas")
    spun("set 1 thread (no fork yet)", s)
    limit.restore_original_limits()
    spun("restore the count (no fork yet)", s)
    x @ w
    spun("1024x64x64 product at the default count", s)
    limit = threadpool_limits(limits=1, user_api="blas")
    pid = os.fork()
    if pid == 0:
        spun("after the fork, at the inherited 1 thread", s)
        x @ w
        spun("1024x64x64 product at the inherited count", s)
        with threadpool_limits(limits=1, user_api="blas"):
            spun("set 1 thread again (the count it has)", s)
        spun("restore it (1)", s)
        os._exit(0)
    os.waitpid(pid, 0)
    x @ w
    spun("after the fork: product at the count it had", s)
    limit.restore_original_limits()
    spun("after the fork: restore the default count", s)


PARENT = os.getpid()

if __name__ == "__main__":
    main()
