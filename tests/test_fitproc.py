"""The value fit in its helper process (``npytrpo.fitproc``) and the agent that overlaps it with
the next rollout: the same bits as fitting in turn, whole iterations wherever the agent is
seen (a callback, a checkpoint, the end of ``learn``, an exception, a Ctrl-C), and errors that
reach the caller."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from types import SimpleNamespace

import gymnasium as gym
import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from npytrpo import TRPO, memory, value_adam
from npytrpo.agent_config import AgentConfig
from npytrpo.fitproc import STATE_FIELDS, FitProcess, fit_job
from npytrpo.value import ValueFunction
from npytrpo.value_adam import fit_value

SMALL = dict(n_steps=64, hidden=(8,), value_hidden=(8,), vf_iters=5)
ADAM = {"vf_optimizer": "adam", "vf_epochs": 2, "vf_batch_size": 16}
VARPRO = {"vf_optimizer": "varpro"}


def _problem(kw, seed=4):
    cfg = AgentConfig.from_options(None, "test", value_hidden=(8,), vf_iters=5, **kw)
    value = ValueFunction(3, (8,), l2=cfg.vf_l2, max_iter=cfg.vf_iters)
    rng = np.random.default_rng(seed)
    obs, targets = rng.normal(size=(64, 3)), rng.normal(size=64)
    fields = {"value_theta": value.init(rng), "value_adam": None, "env_seed": 5, "iteration": 2}
    return cfg, value, fields, obs, targets


def _assert_same_fit(got, fields, cfg, value, obs, targets):
    """``got`` = fit_job's ((θ_v, info), seconds, adam) equals fit_value run here."""
    (theta, info), seconds, adam = got
    state = SimpleNamespace(**fields)
    want_theta, want_info = fit_value(cfg, value, state, obs, targets)
    np.testing.assert_array_equal(theta, want_theta)
    assert info == want_info and seconds > 0
    if cfg.vf_optimizer == "adam":
        assert adam.t == state.value_adam.t > 0
        np.testing.assert_array_equal(adam.m, state.value_adam.m)
        np.testing.assert_array_equal(adam.v, state.value_adam.v)
    else:
        assert adam is None


@pytest.mark.parametrize("kw", [{}, ADAM, VARPRO], ids=["lbfgs", "adam", "varpro"])
def test_fit_job_is_fit_value_with_blas_limited_and_malloc_tuned(kw):
    """fit_job gives fit_value's θ_v, info and Adam moments on a copy of the fields, with BLAS
    limited to blas_threads and malloc tuned only with tune_malloc, and its own time."""
    cfg, value, fields, obs, targets = _problem(kw)
    seen, tuned, real_fit = [], [], value_adam.fit_value

    def recording_fit(*args):  # the BLAS pools' threads while the fit runs
        seen.extend(p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas")
        return real_fit(*args)

    t0 = time.perf_counter()
    with pytest.MonkeyPatch.context() as mp, threadpool_limits(limits=2, user_api="blas"):
        mp.setattr(value_adam, "fit_value", recording_fit)  # two threads outside the job
        mp.setattr(memory, "keep_freed_memory", lambda: tuned.append(True))
        got = fit_job(cfg, value, dict(fields), obs, targets)
        fit_job(replace(cfg, tune_malloc=False), value, dict(fields), obs, targets)
        assert seen and set(seen) == {cfg.blas_threads} == {1}
        seen.clear()  # limit_blas=False: the process's count stands (the helper has set it)
        unlimited = fit_job(cfg, value, dict(fields), obs, targets, limit_blas=False)
    assert got[1] <= time.perf_counter() - t0
    assert tuned == [True, True] and seen and set(seen) == {2}
    _assert_same_fit(got, fields, cfg, value, obs, targets)
    _assert_same_fit(unlimited, fields, cfg, value, obs, targets)


def _blas_counts() -> set:
    return {p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"}


def test_process_blas_sets_only_a_count_that_differs_and_restores_it(monkeypatch):
    """The helper's BLAS for its life: no call where every library already runs ``threads``
    (setting a count builds OpenBLAS's pool again after a fork), one where one differs, and
    the count and ``OPENBLAS_NUM_THREADS`` (for libraries loaded later) restored afterwards."""
    import threadpoolctl

    from npytrpo import fitproc

    real, calls = threadpoolctl.threadpool_limits, []
    monkeypatch.setattr(
        threadpoolctl, "threadpool_limits", lambda **kw: calls.append(kw) or real(**kw)
    )
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    with real(limits=1, user_api="blas"):
        with fitproc._process_blas(1):
            assert os.environ["OPENBLAS_NUM_THREADS"] == "1" and _blas_counts() == {1}
        assert calls == [] and "OPENBLAS_NUM_THREADS" not in os.environ
        with fitproc._process_blas(2):
            assert os.environ["OPENBLAS_NUM_THREADS"] == "2" and _blas_counts() == {2}
        assert calls == [{"limits": 2, "user_api": "blas"}] and _blas_counts() == {1}
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "7")
    with fitproc._process_blas(None):
        assert os.environ["OPENBLAS_NUM_THREADS"] == "7"
    with fitproc._process_blas(1):
        assert os.environ["OPENBLAS_NUM_THREADS"] == "1"
    assert os.environ["OPENBLAS_NUM_THREADS"] == "7" and len(calls) <= 2


def test_the_agent_forks_its_helper_inside_its_blas_limit(monkeypatch):
    """``learn`` starts the helper with BLAS already at ``blas_threads`` (the helper inherits
    it and sets nothing), even where the caller runs more threads."""
    seen, real_start = [], FitProcess.start

    def start(self, blas_threads=None):
        seen.append((_blas_counts(), blas_threads))
        return real_start(self, blas_threads)

    monkeypatch.setattr(FitProcess, "start", start)
    with threadpool_limits(limits=2, user_api="blas"):
        agent = TRPO("CartPole-v1", seed=0, **SMALL)
        try:
            agent.learn(128, progress_bar=False)
        finally:
            agent.close()
    assert seen and all(s == ({1}, 1) for s in seen)


def test_the_helper_sets_blas_only_for_a_job_of_another_count(monkeypatch, tmp_path):
    """A helper started with ``blas_threads`` 1 inside a limit of 1 runs a job of 1 thread
    without setting BLAS (no ``threadpool_limits`` in the helper), and a job of 2 with it; the
    fits are this process's, bit for bit."""
    import threadpoolctl

    parent, real, log = os.getpid(), threadpoolctl.threadpool_limits, tmp_path / "calls"

    def recording(**kw):
        if os.getpid() != parent:  # in the helper, forked with this patch
            with open(log, "a") as f:
                f.write(f"{kw['limits']}\n")
        return real(**kw)

    monkeypatch.setattr(threadpoolctl, "threadpool_limits", recording)
    cfg, value, fields, obs, targets = _problem({})
    fitter = FitProcess()
    try:
        with real(limits=1, user_api="blas"):
            fitter.start(1)
        for c in (cfg, cfg, replace(cfg, blas_threads=2)):
            got = fitter.submit(c, value, SimpleNamespace(**fields), obs, targets)()
            _assert_same_fit(got, fields, c, value, obs, targets)
    finally:
        fitter.close()
    assert log.read_text().split() == ["2"]


@pytest.mark.parametrize("kw", [{}, ADAM, VARPRO], ids=["lbfgs", "adam", "varpro"])
def test_fit_process_returns_the_fit_of_this_process_bit_for_bit(kw):
    """submit copies the state's fields and returns at once; the callable gives fit_job's
    result, computed in another process, equal to fit_value here; the state is not touched;
    one fit at a time, and the helper is reused."""
    cfg, value, fields, obs, targets = _problem(kw)
    state = SimpleNamespace(**fields, other=1)
    fitter = FitProcess()
    try:
        result = fitter.submit(cfg, value, state, obs, targets)
        pid = fitter._proc.pid
        assert pid != os.getpid() and fitter.alive
        assert fitter._proc.name == "npytrpo-value-fit" and fitter._proc.daemon
        busy = r"^FitProcess\.submit: the previous fit has not been collected$"
        with pytest.raises(RuntimeError, match=busy):
            fitter.submit(cfg, value, state, obs, targets)
        state.value_theta = np.zeros_like(state.value_theta)  # after submit: not seen
        _assert_same_fit(result(), fields, cfg, value, obs, targets)
        assert state.value_adam is None and set(vars(state)) == {*STATE_FIELDS, "other"}
        with pytest.raises(RuntimeError, match="^FitProcess: no fit to collect$"):
            result()
        again = fitter.submit(cfg, value, SimpleNamespace(**fields), obs, targets)
        _assert_same_fit(again(), fields, cfg, value, obs, targets)
        assert fitter._proc.pid == pid
    finally:
        fitter.close()
    assert not fitter.alive


def test_a_ctrl_c_while_the_helper_starts_does_not_kill_it(monkeypatch, tmp_path):
    """SIGINT that reaches the helper before it ignores SIGINT (here: while it waits 1 s just
    before doing so) is held back by the mask ``start`` sets, then dropped: the helper lives
    and fits."""
    parent, real, waiting = os.getpid(), signal.signal, tmp_path / "waiting"

    def slow_signal(sig, handler):
        if os.getpid() != parent and sig == signal.SIGINT and handler is signal.SIG_IGN:
            waiting.touch()  # in the helper (forked with this patch), before it ignores SIGINT
            time.sleep(1.0)
        return real(sig, handler)

    monkeypatch.setattr(signal, "signal", slow_signal)
    cfg, value, fields, obs, targets = _problem({})
    fitter = FitProcess()
    try:
        fitter.start()
        pid = fitter._proc.pid
        deadline = time.monotonic() + 30
        while not waiting.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(pid, signal.SIGINT)
        _assert_same_fit(fitter.submit(cfg, value, SimpleNamespace(**fields), obs, targets)(),
                         fields, cfg, value, obs, targets)  # fmt: skip
        assert fitter._proc.pid == pid  # the same helper, not a replacement
    finally:
        fitter.close()


def test_without_pthread_sigmask_the_helper_starts_and_fits(monkeypatch):
    """Where signal has no pthread_sigmask (Windows), the helper starts and fits all the same."""
    monkeypatch.delattr(signal, "pthread_sigmask")
    cfg, value, fields, obs, targets = _problem({})
    fitter = FitProcess()
    try:
        _assert_same_fit(fitter.submit(cfg, value, SimpleNamespace(**fields), obs, targets)(),
                         fields, cfg, value, obs, targets)  # fmt: skip
    finally:
        fitter.close()


def test_an_error_in_the_fit_is_raised_by_the_caller_with_the_helpers_traceback():
    """A fit that raises (targets of the wrong length) raises the same exception type and
    message in the caller, noting the helper's traceback; the helper serves the next fit."""
    cfg, value, fields, obs, targets = _problem({})
    fitter = FitProcess()
    try:
        state = SimpleNamespace(**fields)
        with pytest.raises(ValueError) as info:
            fitter.submit(cfg, value, state, obs, targets[:-1])()
        here = pytest.raises(ValueError, match=".")
        with here:
            fit_value(cfg, value, state, obs, targets[:-1])
        assert str(info.value) == str(here.excinfo.value)
        assert "raised in the value-fit process" in "".join(info.value.__notes__)
        _assert_same_fit(fitter.submit(cfg, value, state, obs, targets)(), fields, cfg, value,
                         obs, targets)  # fmt: skip
    finally:
        fitter.close()


def test_a_helper_that_dies_is_reported_and_replaced():
    """kill -9 of the helper during a fit: collecting raises a RuntimeError that says so; the
    next submit starts a new helper, which fits as before."""
    cfg, value, fields, obs, targets = _problem({})
    slow = ValueFunction(3, (64, 64), max_iter=1000)  # seconds of work: it is killed first
    rng = np.random.default_rng(0)
    big_obs, big_targets = rng.normal(size=(20_000, 3)), rng.normal(size=20_000)
    fitter = FitProcess()
    try:
        state = SimpleNamespace(**fields)
        slow_state = SimpleNamespace(**{**fields, "value_theta": slow.init(rng)})
        result = fitter.submit(cfg, slow, slow_state, big_obs, big_targets)
        pid = fitter._proc.pid
        os.kill(pid, signal.SIGKILL)
        gone = "^the value-fit process ended before returning its fit$"
        with pytest.raises(RuntimeError, match=gone):
            result()
        assert not fitter.alive
        _assert_same_fit(fitter.submit(cfg, value, state, obs, targets)(), fields, cfg, value,
                         obs, targets)  # fmt: skip
        assert fitter._proc.pid != pid
    finally:
        fitter.close()


def test_the_helper_ignores_sigint_and_ends_when_closed():
    """SIGINT sent to the helper during a fit does not stop it (the agent handles Ctrl-C);
    close() ends it."""
    cfg, value, fields, obs, targets = _problem({})
    fitter = FitProcess()
    fitter.start()
    proc = fitter._proc
    os.kill(proc.pid, signal.SIGINT)  # at once: while it starts, SIGINT is blocked
    result = fitter.submit(cfg, value, SimpleNamespace(**fields), obs, targets)
    os.kill(proc.pid, signal.SIGINT)
    _assert_same_fit(result(), fields, cfg, value, obs, targets)
    fitter.close()
    assert proc.exitcode == 0 and not fitter.alive


# ---------------------------------------------------------------------- the agent
def _agent(parallel, env="CartPole-v1", **kw):
    return TRPO(env, seed=3, parallel_value_fit=parallel, **{**SMALL, **kw})


def _same(a, b):
    np.testing.assert_array_equal(a.theta, b.theta)
    np.testing.assert_array_equal(a.value_theta, b.value_theta)


def _rows_without_time(agent):
    timing = {"time_rollout", "time_policy", "time_value", "wall_time", "steps_per_sec"}
    return [{k: v for k, v in r.items() if k not in timing} for r in agent.history]


@pytest.mark.parametrize(
    "kw",
    [{}, {"vectorization": "workers"}, {"normalize_obs": True, "normalize_reward": True, **ADAM}],
    ids=["sync", "workers", "normalised-adam"],
)
def test_overlapped_fits_change_no_bit_and_log_whole_rows(kw, tmp_path):
    """learn with the fit beside the next rollout equals learning in turn: θ, θ_v, every log
    row (value fields included) and the CSV file; the rows' times add up."""
    env = "Pendulum-v1" if "normalize_obs" in kw else "CartPole-v1"
    runs = []
    for parallel in (True, False):
        agent = _agent(parallel, env, log_dir=str(tmp_path / str(parallel)), **kw)
        agent.learn(6 * agent.batch_size, progress_bar=False)
        agent.close()
        runs.append(agent)
    a, b = runs
    _same(a, b)
    np.testing.assert_equal(_rows_without_time(a), _rows_without_time(b))  # NaN == NaN
    assert all(np.isfinite(r["value_loss"]) and r["time_value"] > 0 for r in a.history)
    walls = [r["wall_time"] for r in a.history]
    assert walls == sorted(walls) and walls[0] > 0
    assert (tmp_path / "True" / "progress.csv").read_text().count("\n") == 7
    assert all(r["steps_per_sec"] > 0 for r in a.history)


def test_a_callback_and_checkpoints_see_whole_iterations(tmp_path):
    """What a callback sees and what a periodic checkpoint holds are the in-turn run's."""
    seen = {True: [], False: []}
    for parallel in (True, False):
        agent = _agent(parallel)

        def cb(ag, row, parallel=parallel):
            seen[parallel].append((ag.value_theta.copy(), row["value_loss"], len(ag.history)))

        agent.learn(3 * agent.batch_size, callback=cb, progress_bar=False)
        agent.learn(5 * agent.batch_size, progress_bar=False, checkpoint_every=256,
                    checkpoint_dir=str(tmp_path / str(parallel)))  # fmt: skip
        agent.close()
    for (va, la, na), (vb, lb, nb) in zip(seen[True], seen[False], strict=True):
        np.testing.assert_array_equal(va, vb)
        assert la == lb and na == nb
    files = sorted(os.listdir(tmp_path / "True"))
    assert files == sorted(os.listdir(tmp_path / "False")) and len(files) == 3  # of 5 iterations
    for name in files:
        a, b = (TRPO.load(tmp_path / str(p) / name) for p in (True, False))
        _same(a, b)
        assert a.iteration == b.iteration


@pytest.mark.parametrize("error", [KeyboardInterrupt, RuntimeError])
def test_an_interrupted_learn_ends_on_a_whole_iteration(error, monkeypatch):
    """An exception (or Ctrl-C) in the fourth rollout, while the third iteration's fit runs:
    learn waits for that fit, so the agent holds three whole iterations, as a run of three in
    turn does; learning then goes on."""
    import npytrpo.agent as agent_module

    real, calls = agent_module.collect, []

    def failing_collect(*args, **kw):
        calls.append(1)
        if len(calls) == 4:
            raise error("stop")
        return real(*args, **kw)

    agent = _agent(True)
    monkeypatch.setattr(agent_module, "collect", failing_collect)
    with pytest.raises(error, match="stop"):
        agent.learn(6 * agent.batch_size, progress_bar=False)
    monkeypatch.setattr(agent_module, "collect", real)
    ref = _agent(False)
    ref.learn(3 * ref.batch_size, progress_bar=False)
    _same(agent, ref)
    np.testing.assert_equal(_rows_without_time(agent), _rows_without_time(ref))
    agent.learn(agent.batch_size, progress_bar=False)  # the helper is free again
    assert agent.iteration == 4
    agent.close()


def test_a_ctrl_c_while_waiting_for_the_fit_still_collects_it():
    """A KeyboardInterrupt while learn waits for a fit reads nothing: learn waits again, then
    raises it, and the agent holds whole iterations."""
    agent = _agent(True)
    agent.learn(agent.batch_size, progress_bar=False)  # starts the helper
    conn, hits = agent._fitter._conn, []

    class OneInterrupt:
        def poll(self, timeout):
            if not hits:
                hits.append(1)
                raise KeyboardInterrupt
            return conn.poll(timeout)

        def __getattr__(self, name):
            return getattr(conn, name)

    agent._fitter._conn = OneInterrupt()
    with pytest.raises(KeyboardInterrupt):
        agent.learn(2 * agent.batch_size, progress_bar=False)
    agent._fitter._conn = conn
    ref = _agent(False)
    ref.learn(agent.num_timesteps, progress_bar=False)
    assert hits == [1] and agent.iteration == ref.iteration
    _same(agent, ref)
    agent.close()


def test_a_failed_policy_step_leaves_the_state_and_frees_the_helper(monkeypatch):
    """An exception in the policy step: the fit started beside it is waited for and dropped,
    so θ_v, the counters and the history are those before the iteration; learning goes on."""
    import npytrpo.agent as agent_module

    agent = _agent(True)
    agent.learn(agent.batch_size, progress_bar=False)
    before = (agent.value_theta.copy(), agent.iteration, len(agent.history))

    def broken(*args):
        raise FloatingPointError("step")

    monkeypatch.setattr(agent_module, "policy_update", broken)
    with pytest.raises(FloatingPointError, match="step"):
        agent.learn(agent.batch_size, progress_bar=False)
    np.testing.assert_array_equal(agent.value_theta, before[0])
    assert (agent.iteration, len(agent.history)) == before[1:]
    monkeypatch.undo()
    agent.learn(agent.batch_size, progress_bar=False)
    assert agent.iteration == 2
    agent.close()


def test_close_ends_the_helper_and_the_workers():
    """close() ends the fit's helper and the env's worker processes; predict still works."""
    agent = _agent(True, vectorization="workers")
    agent.learn(agent.batch_size, progress_bar=False)
    proc = agent._fitter._proc
    assert proc.is_alive()
    agent.close()
    assert not proc.is_alive() and agent.env.closed
    assert agent.predict(np.zeros(4)) in (0, 1)
    assert isinstance(agent.env.single_action_space, gym.spaces.Discrete)


def test_a_script_that_never_closes_its_agent_still_exits():
    """The helper is a daemon: a script that learns and returns without ``close`` ends, and
    leaves no process behind."""
    code = (
        "import os\n"
        "from npytrpo import TRPO\n"
        "a = TRPO('CartPole-v1', n_steps=32, hidden=(4,), value_hidden=(4,), seed=0)\n"
        "a.learn(64, progress_bar=False)\n"
        "print(a._fitter._proc.pid)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env=env, check=True)  # fmt: skip
    helper = int(out.stdout.split()[-1])
    deadline = time.monotonic() + 10.0
    while os.path.exists(f"/proc/{helper}") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not os.path.exists(f"/proc/{helper}") or "Z" in open(f"/proc/{helper}/stat").read()


def test_serve_answers_each_job_and_ends_with_the_pipe():
    """The helper's loop, run here (the agent's side on a thread): a fit's reply is fit_job's
    result; a failing fit's reply carries the exception and its traceback; one that cannot
    be pickled becomes a RuntimeError naming it; the loop ends when the agent's end closes,
    having dropped its copy of that end and ignored SIGINT."""
    import multiprocessing
    import threading

    from npytrpo import fitproc

    cfg, value, fields, obs, targets = _problem({})
    mine, theirs = multiprocessing.Pipe()

    class Unpicklable(Exception):
        def __reduce__(self):
            raise TypeError("no pickling")

    def bad_fit(*args, **kw):
        raise Unpicklable("odd")

    replies, dropped = [], []

    class OtherEnd:  # what the forked helper holds of the agent's end
        def close(self):
            dropped.append(True)

    def agent_side():
        mine.send((cfg, value, dict(fields), obs, targets))
        replies.append(mine.recv())
        mine.send((cfg, value, dict(fields), obs, targets[:-1]))
        replies.append(mine.recv())
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(fitproc, "fit_job", bad_fit)
            mine.send((cfg, value, dict(fields), obs, targets))
            replies.append(mine.recv())
        mine.close()

    before = signal.getsignal(signal.SIGINT)
    thread = threading.Thread(target=agent_side)
    thread.start()
    try:
        fitproc._serve(theirs, OtherEnd())  # returns once the agent's end is closed
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)
        thread.join(timeout=60)
    assert dropped == [True] and len(replies) == 3
    (kind, result), (kind2, exc, text), (kind3, exc3, _) = replies
    assert kind == "ok"
    _assert_same_fit(result, fields, cfg, value, obs, targets)
    assert kind2 == "error" and isinstance(exc, ValueError) and "Traceback" in text
    assert kind3 == "error" and type(exc3) is RuntimeError and str(exc3).startswith("TypeError")


def test_serve_sets_blas_once_and_limits_only_a_job_of_another_count(monkeypatch):
    """``_serve`` (run here, the agent's side on a thread) holds BLAS at its ``blas_threads``
    for its life and runs a job of that count with ``limit_blas=False``, one of another count
    with ``True``; a helper started without a count leaves the limit to every job."""
    import contextlib
    import multiprocessing
    import threading

    from npytrpo import fitproc

    cfg, value, fields, obs, targets = _problem({})
    held, ran = [], []

    @contextlib.contextmanager
    def process_blas(threads):
        held.append(threads)
        yield

    def fit_job(config, *args, limit_blas):
        ran.append((config.blas_threads, limit_blas))
        return "fit"

    monkeypatch.setattr(fitproc, "_process_blas", process_blas)
    monkeypatch.setattr(fitproc, "fit_job", fit_job)
    before = signal.getsignal(signal.SIGINT)
    try:
        for threads in (1, None):
            mine, theirs = multiprocessing.Pipe()
            replies = []

            def agent_side(mine=mine, replies=replies):
                for c in (cfg, replace(cfg, blas_threads=2)):
                    mine.send((c, value, dict(fields), obs, targets))
                    replies.append(mine.recv())
                mine.close()

            thread = threading.Thread(target=agent_side)
            thread.start()
            fitproc._serve(theirs, SimpleNamespace(close=lambda: None), threads)
            thread.join(timeout=60)
            assert replies == [("ok", "fit")] * 2
    finally:
        signal.signal(signal.SIGINT, before)
    assert cfg.blas_threads == 1 and held == [1, None]
    assert ran == [(1, False), (2, True), (1, True), (2, True)]
