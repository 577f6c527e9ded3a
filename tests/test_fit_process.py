"""The value fit in a process of its own (``npytrpo/fit_process.py``, ``parallel_value_fit``).

Where the fit runs must change no bit of a run: the process, the thread and the serial fit
give the same θ, θ_v and log rows. The process must also end with its agent, answer errors as
the fit in the agent's thread would, and never outlive an agent killed outright.
"""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from npytrpo import TRPO
from npytrpo.agent_config import AgentConfig
from npytrpo.fit_process import (
    FIT_FIELDS,
    MIN_ITERATIONS,
    FitProcess,
    ValueFits,
    value_fit_job,
)
from npytrpo.value import ValueFunction

PLACES = (True, "process", "thread", False)
KEYS = ("value_loss", "explained_variance", "kl", "surrogate_gain", "ep_return_mean")


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped, counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _wait_gone(pid: int, seconds: float = 10.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def _ready(proc: FitProcess, seconds: float = 60.0) -> FitProcess:
    end = time.monotonic() + seconds
    while not proc.ready():
        assert time.monotonic() < end, "the value-fit process never said it was ready"
        time.sleep(0.01)
    return proc


def _started(agent: TRPO) -> TRPO:
    """``agent`` with its FitProcess started and ready (a short run would otherwise do its
    fits on the thread while the process starts)."""
    agent._fits.prepare(agent.config, agent.env, MIN_ITERATIONS)
    _ready(agent._fits.process)
    return agent


def _run(env_id: str, place, **kw) -> TRPO:
    agent = TRPO(env_id, seed=3, n_steps=64, parallel_value_fit=place, **kw)
    if place in (True, "process"):
        _started(agent)
    agent.learn(5 * agent.batch_size, progress_bar=False)
    return agent


@pytest.mark.parametrize(
    ("env_id", "kw"),
    [
        ("CartPole-v1", {"n_envs": 2}),
        ("Pendulum-v1", {"normalize_obs": True}),
        ("Pendulum-v1", {"vf_optimizer": "adam", "vf_epochs": 3, "vf_batch_size": 16}),
    ],
    ids=["cartpole-lbfgs", "pendulum-lbfgs", "pendulum-adam"],
)
def test_every_place_of_the_fit_gives_the_same_run_bit_for_bit(env_id, kw):
    """θ, θ_v, the Adam fit's moments and the log rows after 5 iterations are the same whether
    the fit runs in the process, on a thread or after the policy step; and the process did run
    the fits (all but possibly the first, which runs on the thread if it is not yet ready)."""
    runs = {place: _run(env_id, place, **kw) for place in PLACES}
    ref = runs[False]
    for place, agent in runs.items():
        assert np.array_equal(agent.theta, ref.theta), place
        assert np.array_equal(agent.value_theta, ref.value_theta), place
        rows = np.array([[r[k] for k in KEYS] for r in agent.history])
        np.testing.assert_array_equal(rows, [[r[k] for k in KEYS] for r in ref.history])
        if ref.state.value_adam is not None:
            a, b = agent.state.value_adam, ref.state.value_adam
            assert a.t == b.t > 0, place
            assert np.array_equal(a.m, b.m) and np.array_equal(a.v, b.v), place
    for place in (True, "process"):
        assert runs[place]._fits.process.jobs == 5, place
    assert runs["thread"]._fits.process is None and runs[False]._fits.process is None


def test_the_process_starts_at_learn_not_at_construction_and_ends_with_the_agent():
    """An agent that never learns starts no process; one that learns starts it once and the
    process ends when the agent is garbage-collected."""
    agent = TRPO("CartPole-v1", seed=0, n_steps=32, parallel_value_fit="process")
    assert agent._fits.process is None
    agent.learn(64, progress_bar=False)
    proc = agent._fits.process
    pid = proc.pid
    agent.learn(64, progress_bar=False)
    assert agent._fits.process is proc and _alive(pid)
    del agent, proc
    gc.collect()
    assert _wait_gone(pid)


def test_true_starts_the_process_only_for_runs_long_enough_to_repay_its_start():
    """parallel_value_fit=True: a learn call of fewer than MIN_ITERATIONS iterations keeps the
    fits on the thread (no process); one of MIN_ITERATIONS starts the process."""
    agent = TRPO("CartPole-v1", seed=0, n_steps=8)
    agent.learn((MIN_ITERATIONS - 1) * agent.batch_size, progress_bar=False)
    assert agent._fits.process is None
    agent.learn(agent.batch_size, progress_bar=False)  # the agent has done MIN_ITERATIONS - 1
    assert agent._fits.process is None
    agent.learn(agent.batch_size, progress_bar=False)  # … and now MIN_ITERATIONS
    assert agent._fits.process is not None
    other = TRPO("CartPole-v1", seed=0, n_steps=8)
    other.learn(MIN_ITERATIONS * other.batch_size, progress_bar=False)
    assert other._fits.process is not None


def _job(value: ValueFunction, n: int = 40, seed: int = 0):
    rng = np.random.default_rng(seed)
    cfg = AgentConfig(vf_iters=7)
    obs, targets = rng.normal(size=(n, value.obs_dim)), rng.normal(size=n)
    fields = dict.fromkeys(FIT_FIELDS)
    fields.update(value_theta=value.init(rng), env_seed=seed, iteration=0)
    return cfg, value, fields, obs, targets


def test_a_job_in_the_process_is_the_job_in_this_process():
    """``submit`` then wait gives value_fit_job's θ_v and info, bit for bit; several jobs in
    a row, each answered in order."""
    value = ValueFunction(3, (8,), max_iter=7)
    proc = _ready(FitProcess())
    try:
        for seed in range(3):
            job = _job(value, seed=seed)
            (theta_p, info_p), seconds, adam = proc.submit(*job)()
            (theta_h, info_h), _, _ = value_fit_job(*job)
            assert np.array_equal(theta_p, theta_h) and seconds > 0 and adam is None
            assert info_p == info_h
        assert proc.jobs == 3
    finally:
        proc.close()
    assert _wait_gone(proc.pid)


def test_an_error_in_the_fit_is_raised_in_the_agent_and_the_process_goes_on():
    """The fit's own exception (here value.fit's ValueError naming ``targets``) reaches the
    caller with its type and message; the next job is answered normally."""
    value = ValueFunction(3, (8,), max_iter=7)
    proc = _ready(FitProcess())
    try:
        cfg, _, fields, obs, targets = _job(value)
        wait = proc.submit(cfg, value, fields, obs, targets[:-1])
        with pytest.raises(ValueError, match="targets"):
            wait()
        (theta, _), _, _ = proc.submit(*_job(value))()
        assert theta.shape == (value.num_params,)
    finally:
        proc.close()


def test_submit_before_ready_is_refused_and_an_abandoned_reply_is_dropped():
    """A job before the process said it is ready is a RuntimeError; a job whose reply was
    never read (its wait abandoned, e.g. by a Ctrl-C) does not shift the next job's reply."""
    value = ValueFunction(3, (8,), max_iter=7)
    proc = FitProcess()
    try:
        if not proc.ready():
            with pytest.raises(RuntimeError, match="not ready"):
                proc.submit(*_job(value))
        _ready(proc)
        proc.submit(*_job(value, seed=1))  # its reply is never read
        (theta, _), _, _ = proc.submit(*_job(value, seed=2))()
        (expected, _), _, _ = value_fit_job(*_job(value, seed=2))
        assert np.array_equal(theta, expected)
    finally:
        proc.close()


def test_close_ends_the_process_and_value_fits_close_is_idempotent():
    fits = ValueFits()
    cfg = AgentConfig()
    fits.prepare(cfg, object(), MIN_ITERATIONS - 1)
    assert fits.process is None
    fits.prepare(cfg, object(), MIN_ITERATIONS)
    pid = fits.process.pid
    fits.close()
    assert _wait_gone(pid)
    fits.close()


def test_value_fits_place_the_process_only_where_the_config_and_env_say():
    """True/"process" → a FitProcess unless the env runs fits in its worker; "thread"/False →
    none."""

    class WithWorker:
        def start_value_fit(self, *args):  # a WorkerVectorEnv's method
            raise AssertionError

    assert ValueFits.in_process(AgentConfig(parallel_value_fit=True), object())
    assert ValueFits.in_process(AgentConfig(parallel_value_fit="process"), object())
    assert not ValueFits.in_process(AgentConfig(parallel_value_fit=True), WithWorker())
    assert not ValueFits.in_process(AgentConfig(parallel_value_fit="thread"), object())
    assert not ValueFits.in_process(AgentConfig(parallel_value_fit=False), object())


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        ("threads", ValueError, "parallel_value_fit must be one of ('process', 'thread')"),
        (1, TypeError, "parallel_value_fit must be a bool or one of"),
        (None, TypeError, "parallel_value_fit must be a bool or one of"),
    ],
)
def test_parallel_value_fit_is_validated_by_name(value, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        AgentConfig(parallel_value_fit=value)


def test_a_checkpoint_keeps_the_place_and_resumes_bit_identically(tmp_path):
    """save → load keeps parallel_value_fit="process"; the loaded agent's next iterations
    equal those of the agent that went on."""
    agent = _started(TRPO("CartPole-v1", seed=1, n_steps=64, parallel_value_fit="process"))
    agent.learn(128, progress_bar=False)
    agent.save(tmp_path / "a.npz")
    agent.learn(128, progress_bar=False)
    loaded = TRPO.load(tmp_path / "a.npz")
    assert loaded.config.parallel_value_fit == "process"
    loaded.learn(128, progress_bar=False)
    assert np.array_equal(loaded.theta, agent.theta)
    assert np.array_equal(loaded.value_theta, agent.value_theta)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_process_ends_when_the_agent_is_killed_outright(tmp_path):
    """SIGKILL of a training process leaves no value-fit process behind (it notices its
    parent is gone within about a second)."""
    script = textwrap.dedent(
        """
        import sys, time
        from npytrpo import TRPO
        agent = TRPO("CartPole-v1", seed=0, n_steps=64, parallel_value_fit="process")
        agent.learn(256, progress_bar=False)
        print(agent._fits.process.pid, flush=True)
        while True:
            agent.learn(128, progress_bar=False)
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    trainer = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        pid = int(trainer.stdout.readline())
        assert _alive(pid)
        time.sleep(0.3)
        trainer.send_signal(signal.SIGKILL)
        trainer.wait(10)
        assert _wait_gone(pid, 15.0), "the value-fit process outlived its agent"
    finally:
        trainer.kill()
        trainer.wait()


def test_a_process_killed_between_fits_costs_no_bit_and_the_fits_go_on_on_the_thread():
    """SIGKILL of the value-fit process mid-run: the fit in flight (or the next one) runs on
    the agent's thread with the same result, later fits stay there, and the run equals the
    serial run bit for bit."""
    serial = _run("CartPole-v1", False, n_envs=2)
    agent = _started(TRPO("CartPole-v1", seed=3, n_steps=64, n_envs=2))
    agent.learn(2 * agent.batch_size, progress_bar=False)
    proc = agent._fits.process
    assert proc.jobs >= 1
    os.kill(proc.pid, signal.SIGKILL)
    assert _wait_gone(proc.pid)
    agent.learn(3 * agent.batch_size, progress_bar=False)
    assert agent._fits.process is None and agent._fits.process_ended
    assert np.array_equal(agent.theta, serial.theta)
    assert np.array_equal(agent.value_theta, serial.value_theta)
