"""One side of ``compare.py`` in its own process: ``compare.py`` times this process from spawn
to exit (the whole-process figure) and reads the one ``RESULT {json}`` line it prints.

Usage (what ``compare.py`` runs)::

    python benchmarks/_compare_worker.py train {npytrpo,sb3} ENV SEED TIMESTEPS [TORCH_THREADS]
        [VECTORIZATION (npytrpo only; empty: the preset's)]
    python benchmarks/_compare_worker.py step REPEATS {0,1} [TORCH_THREADS]

``step`` times one ``trpo_step`` at N = 1024 on a 64×64 CartPole policy against sb3-contrib's
policy update (``train()`` without its critic epochs) on the same batch — the batch of its
filled rollout buffer, or, with the flag 0 (no sb3-contrib), a random-action CartPole batch.
Runs alternate between the sides, after one warm-up call of each, in a process whose glibc
malloc keeps freed memory (``npytrpo.memory.keep_freed_memory``), as the agent's does.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

MARK = "RESULT "


def _train(
    side: str, env_id: str, seed: int, timesteps: int, threads: int | None, overrides: str = ""
) -> dict:
    if side == "npytrpo":
        from _compare_npy import run_npytrpo

        return run_npytrpo(env_id, seed, timesteps, overrides=json.loads(overrides or "{}"))
    from _compare_sb3 import run_sb3

    return run_sb3(env_id, seed, timesteps, threads)


def _step(repeats: int, with_sb3: bool, threads: int | None) -> dict:
    from _compare_npy import blas_summary, cartpole_batch, npytrpo_step_fn
    from threadpoolctl import threadpool_limits

    from npytrpo.memory import keep_freed_memory

    # The allocator as the agent runs it (``TRPO(tune_malloc=True)``, the default), set before
    # either side allocates: process-wide, so sb3-contrib's step runs on the same malloc.
    malloc = keep_freed_memory()
    calls = {}
    if with_sb3:
        from _compare_sb3 import sb3_step_setup

        train_policy, batch = sb3_step_setup(threads)
        calls["sb3-contrib (zoo: 15 CG steps)"] = lambda: train_policy(15)
        calls["sb3-contrib (10 CG steps)"] = lambda: train_policy(10)
    else:
        batch = cartpole_batch(1024)
    step = npytrpo_step_fn(*batch)
    cg = {}
    calls = {"npytrpo trpo_step": lambda: cg.setdefault("npytrpo", step()), **calls}
    times = {k: [] for k in calls}
    # One BLAS thread for NumPy/SciPy's OpenBLAS, as the agent runs; torch keeps its own pool.
    with threadpool_limits(limits=1, user_api="blas"):
        for fn in calls.values():
            fn()
        for _ in range(repeats):
            for name, fn in calls.items():
                t = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t)
        blas = blas_summary()
    return {
        "n": int(len(batch[0])),
        "times": times,
        "cg_npytrpo": cg.get("npytrpo"),
        "threads": blas,
        "malloc_tuned": malloc,
    }


def main(argv: list[str]) -> None:
    kind, rest = argv[0], argv[1:]
    if kind == "train":
        threads = int(rest[4]) if len(rest) > 4 else None
        overrides = rest[5] if len(rest) > 5 else ""
        out = _train(rest[0], rest[1], int(rest[2]), int(rest[3]), threads, overrides)
    elif kind == "step":
        threads = int(rest[2]) if len(rest) > 2 else None
        out = _step(int(rest[0]), rest[1] == "1", threads)
    else:
        raise SystemExit(f"unknown worker kind {kind!r}")
    print(MARK + json.dumps(out, default=lambda o: np.asarray(o).tolist()), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
