"""The value fit in a helper process, beside the policy step and the next rollout.

Within one iteration the policy step and the value fit share nothing: both start from the
batch's GAE, computed with V before the fit. The fit must end before the *next* batch's GAE,
which needs the new V, but the next rollout does not need it: it acts with π alone, and the
values of its observations are computed after it (``TRPO._iterate``). So the fit of iteration
k can run beside the policy step of k and beside the rollout of k + 1:

    main process   | rollout k | GAE k | policy step k | rollout k+1 | join | GAE k+1 | ...
    fit process    |           |       | fit V on batch k ─────────────►|

``FitProcess`` is that helper: one process for the agent's life, running one
``value_adam.fit_value`` job at a time. A process and not a thread, because the rollout is
Python-bound and would hold the GIL against the fit (``benchmarks/gil_contention.py``).
The job is the same function on the same arrays as the in-process fit, with BLAS limited
to ``config.blas_threads`` as in the agent, so its θ_v is the in-process θ_v bit for bit
(``tests/test_fitproc.py``): where the fit runs changes the timing only.

The agent joins the fit before anything can see it between iterations (a callback, a
periodic checkpoint, the end of ``learn``, an exception or Ctrl-C): the process ignores
SIGINT, so an interrupted run still receives the fit it started and saves a whole iteration.

BLAS threads across the fork: OpenBLAS shuts its thread pool down before a ``fork`` and builds
it again at the next change of its thread count, and a new pool's worker spins for about 0.1 s
of CPU before it sleeps. The agent therefore forks the helper inside its BLAS limit (the helper
inherits the count, and the agent changes nothing until ``learn`` ends), and the helper sets
its count only where it differs from ``blas_threads`` (``_process_blas``), for its whole life
rather than once per fit. On two cores the spinning workers of the agent and the helper had
cost a CartPole-v1 run's first iterations 65–90 ms (``benchmarks/blas_fork_spin.py``,
``benchmarks/critical_path.py``).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import time
import traceback
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np

__all__ = ["FitProcess", "fit_job"]

#: The ``AgentState`` fields a fit reads (and, for the Adam fit, ``value_adam`` it writes).
STATE_FIELDS = ("value_theta", "value_adam", "env_seed", "iteration")


def fit_job(
    config, value, fields: dict, obs: np.ndarray, targets: np.ndarray, *, limit_blas: bool = True
):
    """``value_adam.fit_value`` on a copy of the state ``fields``, BLAS limited and malloc tuned
    as in the agent (a process started by ``spawn``/``forkserver`` inherits neither).

    ``limit_blas=False``: the process already runs BLAS with ``config.blas_threads`` threads
    (the helper's ``_process_blas``), so the fit sets nothing.

    Returns ``((θ_v, info), seconds, value_adam)``: the fit's result, its own wall time and the
    Adam fit's moments after it (None for L-BFGS-B).
    """
    from threadpoolctl import threadpool_limits

    from .memory import keep_freed_memory
    from .value_adam import fit_value

    if config.tune_malloc:
        keep_freed_memory()
    state = SimpleNamespace(**fields)
    limits = (
        threadpool_limits(limits=config.blas_threads, user_api="blas")  # None: no limit
        if limit_blas
        else contextlib.nullcontext()
    )
    t = time.perf_counter()
    with limits:
        out = fit_value(config, value, state, obs, targets)
    return out, time.perf_counter() - t, state.value_adam


@contextlib.contextmanager
def _process_blas(threads: int | None):
    """This process's BLAS libraries at ``threads`` threads while the context lasts (None:
    as they are), set only where a library's count differs: a forked helper inherits the
    agent's limit and keeps OpenBLAS's thread pool down (see the module docstring).
    ``OPENBLAS_NUM_THREADS`` is ``threads`` meanwhile, for a library loaded from here on
    (SciPy's OpenBLAS, which ``load_setulb`` loads)."""
    if threads is None:
        yield
        return
    from threadpoolctl import threadpool_info, threadpool_limits

    saved = os.environ.get("OPENBLAS_NUM_THREADS")
    os.environ["OPENBLAS_NUM_THREADS"] = str(threads)
    counts = {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}
    limits = threadpool_limits(limits=threads, user_api="blas") if counts - {threads} else None
    try:
        yield
    finally:
        if limits is not None:
            limits.restore_original_limits()
        if saved is None:
            del os.environ["OPENBLAS_NUM_THREADS"]
        else:
            os.environ["OPENBLAS_NUM_THREADS"] = saved


def _serve(conn, other_end, blas_threads: int | None = None) -> None:
    """The helper's loop: receive a job, run ``fit_job``, send ("ok", result) or ("error",
    exception, traceback text); end when the agent's end of the pipe closes. BLAS runs with
    ``blas_threads`` threads (None: as inherited) for the loop's life."""
    other_end.close()  # a forked child holds the agent's end too: drop it, or EOF never comes
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the agent's to handle
    if hasattr(signal, "pthread_sigmask"):  # POSIX; not on Windows
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # blocked by ``start``
    with _process_blas(blas_threads):
        _serve_jobs(conn, blas_threads)


def _serve_jobs(conn, blas_threads: int | None) -> None:
    """``_serve``'s loop, with BLAS at ``blas_threads`` threads already."""
    from .lbfgsb import load_setulb

    load_setulb()  # what an L-BFGS-B fit needs (2–3 ms), loaded before the first job

    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        try:
            # A job of the helper's own count sets nothing; a helper started without a count
            # leaves the limit to each job, as before.
            limit = blas_threads is None or job[0].blas_threads != blas_threads
            reply = ("ok", fit_job(*job, limit_blas=limit))
        except Exception as e:  # noqa: BLE001 - handed to the agent, which raises it
            reply = ("error", e, traceback.format_exc())
        try:
            conn.send(reply)
        except (BrokenPipeError, OSError):
            return
        except Exception as e:  # an exception that does not pickle
            conn.send(("error", RuntimeError(f"{type(e).__name__}: {e}"), traceback.format_exc()))


class FitProcess:
    """One helper process that runs value fits, one at a time (see the module docstring).

    Started on the first ``submit`` (or ``start``), with multiprocessing's default start
    method, as a daemon: it ends with the agent's process, and on its own when ``close`` (or
    the agent's end of the pipe being collected) closes the pipe.
    """

    def __init__(self) -> None:
        self._proc = None
        self._conn = None
        self._busy = False

    @property
    def alive(self) -> bool:
        """Whether the helper process is running."""
        return self._proc is not None and self._proc.is_alive()

    def start(self, blas_threads: int | None = None) -> None:
        """Start the helper process if it is not running (a no-op otherwise); its BLAS runs
        with ``blas_threads`` threads (None: as this process's, inherited or not)."""
        if self.alive:
            return
        self.close()
        ctx = multiprocessing.get_context()
        mine, theirs = ctx.Pipe()
        proc = ctx.Process(
            target=_serve, args=(theirs, mine, blas_threads), name="npytrpo-value-fit", daemon=True
        )
        # SIGINT stays blocked while the helper starts (it inherits the mask, ignores SIGINT,
        # then unblocks), so that a Ctrl-C at that moment cannot kill it before it serves.
        mask = getattr(signal, "pthread_sigmask", None)  # POSIX; not on Windows
        blocked = mask(signal.SIG_BLOCK, {signal.SIGINT}) if mask else None
        try:
            proc.start()
        finally:
            if mask:
                mask(signal.SIG_SETMASK, blocked)
        theirs.close()
        self._proc, self._conn = proc, mine

    def submit(self, config, value, state, obs, targets) -> Callable[[], tuple[Any, float, Any]]:
        """Send the fit of ``state``'s V to the helper and return at once.

        ``state``'s fields ``STATE_FIELDS`` are copied now and ``state`` is not touched. The
        returned callable waits for the fit and gives ``fit_job``'s ``((θ_v, info), seconds,
        value_adam)``; call it once. An exception raised by the fit is raised there, with the
        helper's traceback as a note.
        """
        if self._busy:
            raise RuntimeError("FitProcess.submit: the previous fit has not been collected")
        self.start(config.blas_threads)
        fields = {k: getattr(state, k) for k in STATE_FIELDS}
        self._conn.send((config, value, fields, obs, targets))
        self._busy = True
        return self._collect

    def _collect(self) -> tuple[Any, float, Any]:
        reply = self._wait()
        self._busy = False
        if reply[0] == "error":
            _, exc, text = reply
            exc.add_note(f"raised in the value-fit process:\n{text}")
            raise exc
        return reply[1]

    def _wait(self):
        """The helper's reply. A Ctrl-C while waiting leaves it where it was (nothing is read
        until a whole reply is there, and the helper ignores SIGINT), so the caller may wait
        again; ``TRPO.learn`` does, to end with a whole iteration."""
        if not self._busy:
            raise RuntimeError("FitProcess: no fit to collect")
        self._conn.poll(None)  # a KeyboardInterrupt here reads nothing
        try:
            return self._conn.recv()
        except BaseException as e:
            self.close()  # the reply was lost (the helper died, or a read was cut off)
            if isinstance(e, (EOFError, OSError)):
                raise RuntimeError("the value-fit process ended before returning its fit") from e
            raise

    def close(self) -> None:
        """Close the pipe and let the helper end (joined for up to a second, then terminated)."""
        conn, proc = self._conn, self._proc
        self._conn = self._proc = None
        self._busy = False
        if conn is not None:
            conn.close()
        if proc is not None:
            proc.join(timeout=1.0)
            if proc.is_alive():
                proc.terminate()
                proc.join()
