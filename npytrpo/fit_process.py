"""The value fit in a process of its own, beside the policy step (``parallel_value_fit``).

Each iteration's policy step and value fit start from the same batch and share nothing
(``agent.TRPO._iterate``), so they may run at once. On a thread they share the GIL: every NumPy
call of the one waits while the other runs Python code between its own calls, and at these
batch sizes (N ≈ 10³, 64-wide layers) that is much of the time. ``benchmarks/ab_fit_place.py``
times a preset's whole run with the fit in a process, on a thread and after the step.

``FitProcess`` is that process: one per agent, a fresh interpreter started when a ``learn``
call begins (``ValueFits.prepare``) and fed one job per iteration through a pipe. A job is the
call the agent's thread would make (``value_fit_job``: ``value_adam.fit_value`` under the
agent's BLAS limit), so the fitted θ_v is the same, bit for bit, wherever the fit runs. The
process takes about a second to import NumPy and SciPy; until it has said it is ready, the
agent fits on its thread. With ``parallel_value_fit=True`` it is started only for runs long
enough to repay that second (``MIN_ITERATIONS``); ``"process"`` always starts it.

Lifetime: the process ignores SIGINT (a Ctrl-C is the agent's to handle) and ends at
``close()``, when the agent that owns it is garbage-collected or the interpreter exits
(``weakref.finalize``), when its input ends, or when the agent's process is killed outright
(on Linux at once, ``prctl(PR_SET_PDEATHSIG)``; elsewhere on POSIX within a second).
"""

from __future__ import annotations

import contextlib
import functools
import os
import pickle
import queue
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

__all__ = ["FIT_FIELDS", "FitProcess", "FitProcessEnded", "ValueFits", "timed", "value_fit_job"]

#: The fields of the agent's state that a value fit reads (``value_adam.fit_value``).
FIT_FIELDS = ("value_theta", "value_adam", "env_seed", "iteration")
#: ``parallel_value_fit=True`` starts a process for a ``learn`` call of this many iterations or
#: more (or once the agent has done as many): about a second to start, repaid by ~20 fits.
MIN_ITERATIONS = 20
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


class FitProcessEnded(RuntimeError):
    """The value-fit process ended before it answered (the agent then fits on its thread)."""


def value_fit_job(config, value, fields: dict, obs, targets):
    """``value_adam.fit_value`` outside the agent, BLAS limited and malloc tuned as in the
    agent (a process of its own inherits neither).

    ``fields`` holds the agent state's ``value_theta``, ``value_adam``, ``env_seed`` and
    ``iteration``. Returns ((θ_v, info), seconds, the Adam value fit's state after it).
    """
    from threadpoolctl import threadpool_limits

    from .memory import keep_freed_memory
    from .value_adam import fit_value

    if config.tune_malloc:
        keep_freed_memory()
    state = SimpleNamespace(**fields)
    t = time.perf_counter()
    with threadpool_limits(limits=config.blas_threads, user_api="blas"):  # None: no limit
        out = fit_value(config, value, state, obs, targets)
    return out, time.perf_counter() - t, state.value_adam


def _die_with_parent() -> None:
    """On Linux, have the kernel kill this process the moment its parent dies
    (``prctl(PR_SET_PDEATHSIG, SIGKILL)``). Elsewhere ``serve`` checks the parent once a
    second (POSIX) or ends at the end of its input."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _parent_gone(agent_pid: int) -> bool:
    return os.name == "posix" and os.getppid() != agent_pid


def serve(agent_pid: int) -> None:
    """The process's side (``FitProcess`` runs ``serve(AGENT_PID)`` in a new interpreter): say
    "ready", then
    answer each pickled job read from stdin with ("ok", result) or ("error", exception) on the
    stdout it was started with, until a None job, the end of stdin, or the agent's end.

    Anything else this process prints goes to stderr (fd 1 is pointed there), so that stray
    output cannot corrupt the replies."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C is the agent's to handle
    _die_with_parent()
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    jobs = sys.stdin.buffer
    send = functools.partial(pickle.dump, file=replies, protocol=pickle.HIGHEST_PROTOCOL)
    send("ready")
    replies.flush()
    while True:
        if os.name == "posix":
            while not select.select([jobs], [], [], 1.0)[0]:
                if _parent_gone(agent_pid):
                    return
        try:
            job = pickle.load(jobs)
        except (EOFError, OSError):
            return
        if job is None or _parent_gone(agent_pid):
            return
        try:
            reply = ("ok", value_fit_job(*job))
        except Exception as e:  # the agent re-raises it
            reply = ("error", e)
        try:
            send(reply)
        except Exception as e:  # e.g. an exception that does not pickle
            send(("error", RuntimeError(f"value fit failed: {reply[1]!r} ({e})")))
        try:
            replies.flush()
        except OSError:  # the agent is gone
            return


class FitProcess:
    """One process that runs value fits for one agent (see the module's docstring).

    A fresh interpreter (``python -c "…serve(PID)"``), not a fork of the agent's
    process: it holds none of the agent's files (a run directory's lock among them) and
    imports no ``__main__``, so it is safe on every platform and from any script. It imports
    NumPy and SciPy when it starts, about a second on one core; ``ready()`` says when it can
    take jobs. A thread of this process reads its replies (``_read``).

    ``submit`` sends a job and returns at once; the callable it returns waits for the reply
    and gives ``((θ_v, info), seconds, value_adam)``, re-raising an exception the fit raised.
    """

    def __init__(self) -> None:
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        path = os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        self._process = subprocess.Popen(
            [sys.executable, "-c", f"from npytrpo.fit_process import serve; serve({os.getpid()})"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": path},
            close_fds=True,
        )
        self._replies: queue.SimpleQueue = queue.SimpleQueue()
        reader = threading.Thread(target=self._read, daemon=True, name="npytrpo-vf-reader")
        reader.start()
        self._ready = False
        self._pending = False
        self.jobs = 0  #: jobs submitted so far

    @property
    def pid(self) -> int:
        """The process's id."""
        return self._process.pid

    def _read(self) -> None:
        """Move every reply from the process's stdout to the queue; ("ended", None) last."""
        out = self._process.stdout
        try:
            while True:
                self._replies.put(pickle.load(out))
        except Exception:  # EOFError at the end, or a broken stream
            self._replies.put(("ended", None))

    def ready(self) -> bool:
        """True once the process has started and said so (never blocks)."""
        if not self._ready:
            with contextlib.suppress(queue.Empty):
                reply = self._replies.get_nowait()
                if reply != "ready":  # ("ended", None): it never started
                    self._replies.put(reply)
                    raise self._ended()
                self._ready = True
        return self._ready

    def _ended(self) -> FitProcessEnded:
        return FitProcessEnded(
            f"the value-fit process (pid {self.pid}) has ended: exit code {self._process.poll()}"
        )

    def submit(self, config, value, fields: dict, obs, targets) -> Callable[[], Any]:
        """Start ``value_fit_job(config, value, fields, obs, targets)`` in the process."""
        if not self.ready():
            raise RuntimeError("the value-fit process is not ready (check ready() first)")
        if self._pending:  # an abandoned fit (e.g. a Ctrl-C while waiting): drop its reply
            with contextlib.suppress(FitProcessEnded):
                self._result()
        job = (config, value, fields, obs, targets)
        try:
            pickle.dump(job, self._process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self._process.stdin.flush()
        except OSError as e:
            raise self._ended() from e
        self._pending = True
        self.jobs += 1
        return self._result

    def _result(self):
        self._pending = False
        status, payload = self._replies.get()
        if status == "ended":
            self._replies.put((status, payload))
            raise self._ended()
        if status == "error":
            raise payload
        return payload

    def close(self, timeout: float = 5.0) -> None:
        """Ask the process to end, close its pipes, and reap it (it ends after the fit it may
        be running)."""
        with contextlib.suppress(OSError, ValueError):
            pickle.dump(None, self._process.stdin)
            self._process.stdin.close()
        try:
            self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout)
        with contextlib.suppress(OSError):
            self._process.stdout.close()


def timed(fn, *args, **kw):
    """``(fn(*args, **kw), seconds it took)``."""
    t = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t


class ValueFits:
    """Where one agent's value fits run, as its ``parallel_value_fit`` says.

    ``start`` begins one iteration's fit and returns a callable that waits for it and gives
    ``((θ_v, info), seconds)``; it also sets ``state.value_adam`` (the Adam fit's moments).
    The places, each giving the same θ_v bit for bit: worker 0 of a ``WorkerVectorEnv``
    (True, "process"), a ``FitProcess`` (True, "process", any other vector env; the agent's
    thread until the process is ready, and for the rest of the agent's life should the process
    end early), a thread ("thread"), or right away (False).
    """

    def __init__(self) -> None:
        self.process: FitProcess | None = None
        self.process_ended = False  #: a process ended early: the fits stay on the thread
        self._thread: ThreadPoolExecutor | None = None

    @staticmethod
    def in_process(config, env) -> bool:
        """Whether the fits go to a ``FitProcess`` (``env`` has no worker to run them)."""
        in_worker = hasattr(env, "start_value_fit")
        return config.parallel_value_fit in (True, "process") and not in_worker

    def prepare(self, config, env, iterations: int) -> None:
        """Start the ``FitProcess`` now if the fits go there and the run is long enough
        (``iterations``: of this ``learn`` call, or done so far; see ``MIN_ITERATIONS``)."""
        if not self.in_process(config, env) or self.process is not None or self.process_ended:
            return
        if config.parallel_value_fit == "process" or iterations >= MIN_ITERATIONS:
            self.process = FitProcess()

    def start(self, config, env, value, state, obs, targets, start=None) -> Callable[[], Any]:
        """Begin ``value_adam.fit_value(config, value, state, obs, targets, start)``."""
        from .value_adam import fit_value

        place = config.parallel_value_fit
        if place in (True, "process") and hasattr(env, "start_value_fit"):
            return env.start_value_fit(config, value, state, obs, targets)
        job = (fit_value, config, value, state, obs, targets, start)
        if self.process is not None and self.in_process(config, env) and self._ready():
            return self._in_process(job)
        if place is False:
            out = timed(*job)
            return lambda: out
        if self._thread is None:
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="npytrpo-vf")
        return self._thread.submit(timed, *job).result

    def _ready(self) -> bool:
        try:
            return self.process.ready()
        except FitProcessEnded:
            self._drop_process()
            return False

    def _drop_process(self) -> None:
        self.process.close()
        self.process, self.process_ended = None, True

    def _in_process(self, job: tuple) -> Callable[[], Any]:
        """``job`` in the ``FitProcess``; should the process have ended (killed by someone, or
        by the end of the thread that started it: ``_die_with_parent``), the job runs here
        instead, with the same result, and so do the agent's later fits (on its thread)."""
        _, config, value, state, obs, targets, _ = job
        fields = {k: getattr(state, k) for k in FIT_FIELDS}
        try:
            wait = self.process.submit(config, value, fields, obs, targets)
        except (FitProcessEnded, OSError):
            wait = None

        def result():
            try:
                if wait is not None:
                    out, seconds, state.value_adam = wait()
                    return out, seconds
            except FitProcessEnded:
                pass
            self._drop_process()
            return timed(*job)

        return result

    def close(self) -> None:
        """End the process and the thread, if started."""
        if self.process is not None:
            self.process.close()
        if self._thread is not None:
            self._thread.shutdown(wait=True)
