"""Fault injection: kill -9 of a real ``npytrpo train``, damaged and hand-made checkpoints,
environments that return NaN, inf or 1e160, and bad command lines.

The kill test is bounded (10 kills of a tiny CartPole run, each kill one subprocess) and
judged by an independent reference: the same run trained once without interruption, in
process. After every kill the run directory must be consistent (``rundir.check_run``); after
the last one, ``train --resume`` must finish the run with θ, value θ and the deterministic
columns of progress.csv bit-identical to the reference.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import npytrpo
from npytrpo import TRPO
from npytrpo.io.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from npytrpo.io.files import is_temp_name
from npytrpo.io.persist import read_agent
from npytrpo.tools import cli
from npytrpo.tools.rundir import check_run

REPO = Path(npytrpo.__file__).resolve().parent.parent
# 10 iterations of 2 envs x 32 steps, a checkpoint after each (keep 2), tiny networks.
TINY = ["--set", "n_steps=32", "--set", "hidden=[8]", "--set", "value_hidden=[8]"]
TINY += ["--set", "vf_iters=3", "--no-progress"]
RUN = ["train", "CartPole-v1", "--timesteps", "640", "--save-every", "64", "--keep", "2", *TINY]
# Columns that depend on the clock, not on the computation.
TIMING = {"time_rollout", "time_policy", "time_value", "wall_time", "steps_per_sec"}
N_CHAINS, KILLS_PER_CHAIN = 5, 2
WAIT_LIMIT = 120.0  # seconds; only a hung subprocess reaches it


def _main(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(argv)
    return code, out.getvalue(), err.getvalue()


def _rows(run: Path) -> list[dict]:
    with open(run / "progress.csv", newline="") as f:
        return [{k: v for k, v in r.items() if k not in TIMING} for r in csv.DictReader(f)]


def _final(run: Path):
    header, arrays = read_agent(run / "model.npz")
    return arrays["policy_theta"], arrays["value_theta"], header["num_timesteps"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """The run trained once, uninterrupted, in process."""
    run = tmp_path_factory.mktemp("reference") / "run"
    code, _, err = _main([*RUN, "--out", str(run)])
    assert code == 0, err
    return run


def _n_rows(run: Path) -> int:
    try:
        return (run / "progress.csv").read_bytes().count(b"\n") - 1
    except FileNotFoundError:
        return 0


def _kill_at_random_moment(argv: list[str], run: Path, rng: np.random.Generator) -> str:
    """Start ``python -m npytrpo *argv``, kill -9 it at a random moment: during start-up,
    after a random number of iterations, or after model.npz (plotting, evaluation)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "npytrpo", *argv],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    phase = str(rng.choice(["start-up", "training", "end"], p=[0.2, 0.6, 0.2]))
    target = int(rng.integers(1, 10))
    deadline = time.monotonic() + WAIT_LIMIT
    t0 = time.monotonic()
    delay = rng.uniform(0.0, 1.5) if phase == "start-up" else rng.uniform(0.0, 0.05)
    while proc.poll() is None and time.monotonic() < deadline:
        ready = {
            "start-up": True,
            "training": _n_rows(run) >= target,
            "end": (run / "model.npz").exists(),
        }[phase]
        if ready and time.monotonic() - t0 >= delay:
            break
        time.sleep(0.002)
    if phase != "start-up":
        time.sleep(delay)
    killed = proc.poll() is None
    if killed:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=WAIT_LIMIT)
    return f"{phase}{'' if killed else ' (finished first)'}"


def _kill_chain(run: Path, run_argv: list[str], rng, kills: int, label: str) -> None:
    """``kills`` kill -9s of the run in ``run`` (started with ``run_argv``, then resumed), at
    seeded moments; after each, the run directory must be consistent."""
    for k in range(kills):
        started = (run / "config.json").exists()
        argv = ["train", "--resume", str(run), "--no-progress"] if started else None
        if argv is None:  # never started (or killed before config.json): a new run
            argv = [*run_argv, "--out", str(run)] + (["--overwrite"] if run.exists() else [])
        when = _kill_at_random_moment(argv, run, rng)
        problems = check_run(str(run)) if run.exists() else []
        assert problems == [], f"{label}kill {k} ({when}): {problems}"


def _finish_like(run: Path, run_argv: list[str], reference: Path) -> None:
    """Resume (or restart) the run to its end; it must equal ``reference`` bit for bit: θ, value
    θ, timesteps and every log row."""
    if (run / "config.json").exists():
        code, _, err = _main(["train", "--resume", str(run), "--no-progress"])
    else:
        code, _, err = _main([*run_argv, "--out", str(run), "--overwrite"])
    assert code == 0, err
    theta, vtheta, steps = _final(run)
    theta_ref, vtheta_ref, steps_ref = _final(reference)
    assert steps == steps_ref
    np.testing.assert_array_equal(theta, theta_ref)
    np.testing.assert_array_equal(vtheta, vtheta_ref)
    assert _rows(run) == _rows(reference)


def test_kill_9_leaves_a_consistent_run_that_resumes_bit_identically(reference, tmp_path):
    """10 kill -9s at random (seeded) moments: after each the run directory is consistent and
    no process of the run (the value fit's helper) is left; resumed, the run ends
    bit-identical to the uninterrupted reference, with no temp files."""
    rng = np.random.default_rng(20240610)
    for chain in range(N_CHAINS):
        run = tmp_path / f"run{chain}"
        _kill_chain(run, RUN, rng, KILLS_PER_CHAIN, f"chain {chain} ")
        _wait_for_no_processes_of(run)
        _finish_like(run, RUN, reference)
        leftovers = [p.name for p in run.rglob("*") if is_temp_name(p.name)]
        assert leftovers == []


def test_kill_9_of_a_workers_run_resumes_bit_identically_and_leaves_no_worker(tmp_path):
    """vectorization=workers: a run killed with kill -9 twice, at seeded moments (start-up,
    training or end), leaves a consistent directory and no worker process behind; resumed, it
    ends bit-identical to the same run uninterrupted (each worker restores its own sub-env)."""
    workers_run = [*RUN, "--set", "vectorization=workers"]
    reference = tmp_path / "reference"
    code, _, err = _main([*workers_run, "--out", str(reference)])
    assert code == 0, err
    run = tmp_path / "run"
    _kill_chain(run, workers_run, np.random.default_rng(7), 2, "")
    _wait_for_no_processes_of(run)
    _finish_like(run, workers_run, reference)


def _wait_for_no_processes_of(run: Path) -> None:
    """Up to 10 s for the killed run's helpers (env workers, the value fit's process) to see
    their pipes close and exit; then none may be left."""
    deadline = time.monotonic() + 10.0
    while _worker_processes_of(run) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _worker_processes_of(run) == []


def _worker_processes_of(run: Path) -> list[int]:
    """PIDs of live processes whose command line names ``run`` (a killed run's orphans)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (proc / "stat").read_text().split(") ")[-1][:1]
        except OSError:
            continue
        if str(run) in cmd and state != "Z":
            pids.append(int(proc.name))
    return pids


def test_resume_drops_rows_past_the_checkpoint_and_a_torn_line(reference, tmp_path):
    """A log that ran ahead of the newest checkpoint, ending in a torn line, beside a killed
    writer's temp files: resume cuts the log back, removes the temps, ends bit-identical."""
    run = tmp_path / "run"
    assert _main([*RUN, "--out", str(run), "--timesteps", "384"])[0] == 0
    newest = sorted((run / "checkpoints").iterdir())[-1]
    newest.unlink()  # the log now holds a row past the newest saved agent (model.npz aside)
    (run / "model.npz").unlink()
    with open(run / "progress.csv", "a") as f:
        f.write("7,448,3")  # torn: no newline
    stale = [run / ".config.json.abcd1234.tmp", run / "checkpoints" / ".model_1.npz.zz_9y8x7.tmp"]
    for p in stale:
        p.write_bytes(b"partial")
    assert check_run(str(run)) == []
    code, _, err = _main(["train", "--resume", str(run), "--timesteps", "640", "--no-progress"])
    assert code == 0, err
    assert not any(p.exists() for p in stale)
    np.testing.assert_array_equal(_final(run)[0], _final(reference)[0])
    assert _rows(run) == _rows(reference)


# ---------------------------------------------------------------------- damaged checkpoints
@pytest.fixture(scope="module")
def model_bytes(tmp_path_factory) -> bytes:
    """A small checkpoint with every optional part: both normalisers, the env state."""
    path = tmp_path_factory.mktemp("model") / "m.npz"
    agent = TRPO("CartPole-v1", n_steps=16, hidden=(4,), value_hidden=(4,), vf_iters=2, seed=0,
                 normalize_obs=True, normalize_reward=True)  # fmt: skip
    agent.learn(32, progress_bar=False)
    agent.save(path)
    return path.read_bytes()


def _load_bytes(data: bytes, tmp_path: Path):
    path = tmp_path / "x.npz"
    path.write_bytes(data)
    return TRPO.load(path)


@given(cut=st.integers(min_value=0, max_value=10**6))
def test_truncated_checkpoint_is_a_checkpoint_error(model_bytes, tmp_path_factory, cut):
    """Every truncation of a checkpoint is refused with CheckpointError, nothing else."""
    cut %= len(model_bytes)
    with pytest.raises(CheckpointError):
        _load_bytes(model_bytes[:cut], tmp_path_factory.mktemp("cut"))


@given(pos=st.integers(min_value=0, max_value=10**6), bit=st.integers(min_value=0, max_value=7))
def test_flipped_bit_is_a_checkpoint_error_or_changes_nothing(
    model_bytes, tmp_path_factory, pos, bit
):
    """A flipped bit anywhere is a CheckpointError, or (a byte no reader uses) a load of the
    very same agent: never another exception, never silently different numbers."""
    pos %= len(model_bytes)
    data = bytearray(model_bytes)
    data[pos] ^= 1 << bit
    d = tmp_path_factory.mktemp("flip")
    try:
        agent = _load_bytes(bytes(data), d)
    except CheckpointError:
        return
    original = _load_bytes(model_bytes, d)
    np.testing.assert_array_equal(agent.theta, original.theta)
    np.testing.assert_array_equal(agent.value_theta, original.value_theta)


_KEYS = [
    "autoreset_pending", "env/0/state", "env/1/state", "env/vec/autoreset_envs", "last_obs",
    "obs_norm/count", "obs_norm/mean", "obs_norm/var", "policy_theta", "reward_scaler/count",
    "reward_scaler/mean", "reward_scaler/returns", "reward_scaler/var", "tracker/lengths",
    "tracker/returns", "value_theta",
]  # fmt: skip
_NOT_FLOAT = {"autoreset_pending", "env/vec/autoreset_envs", "tracker/lengths"}
_CASES = [(k, kind) for k in _KEYS for kind in ("missing", "shape")]
_CASES += [(k, kind) for k in _KEYS if k not in _NOT_FLOAT for kind in ("nan", "inf")]


def test_hand_made_cases_cover_every_key(model_bytes, tmp_path):
    """The keys of the cases below are exactly the checkpoint's arrays, the float ones those
    that get NaN and inf cases."""
    path = tmp_path / "m.npz"
    path.write_bytes(model_bytes)
    arrays = load_checkpoint(path)[0]
    assert sorted(arrays) == _KEYS
    assert {k for k, a in arrays.items() if a.dtype.kind != "f"} == _NOT_FLOAT


@pytest.mark.parametrize(("key", "kind"), _CASES)
def test_hand_made_checkpoint_is_refused_naming_the_key(model_bytes, tmp_path, key, kind):
    """A valid archive with one array missing, of the wrong shape or non-finite: a
    CheckpointError that names the array."""
    path = tmp_path / "m.npz"
    path.write_bytes(model_bytes)
    arrays, config = load_checkpoint(path)
    a = arrays[key]
    if kind == "missing":
        del arrays[key]
    elif kind == "shape":
        arrays[key] = np.concatenate([a.reshape(-1), a.reshape(-1)[:1]])
    else:
        arrays[key] = np.full_like(a, np.nan if kind == "nan" else np.inf)
    save_checkpoint(path, arrays, config)
    with pytest.raises(CheckpointError) as info:
        TRPO.load(path)
    name = key.split("/", 1)[1] if key.startswith("env/") else key
    assert name in str(info.value) or key.split("/")[-1] in str(info.value), str(info.value)


# ---------------------------------------------------------------------- bad environments
class BadEnv(gym.Env):
    """Gaussian observations and reward 1 for 20 steps, except that from step 5 on one
    observation entry (``where="obs"``) or the reward (``"reward"``) is ``value`` × U(1, 2)."""

    def __init__(self, where: str, value: float):
        self.where, self.value, self.t = where, value, 0
        self.action_space = gym.spaces.Discrete(2)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (3,), np.float64)

    def _obs(self):
        o = self.np_random.standard_normal(3)
        if self.where == "obs" and self.t >= 5:
            o[0] = self.value * (1.0 + self.np_random.random())
        return o

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self._obs(), {}

    def step(self, action):
        self.t += 1
        bad = self.where == "reward" and self.t >= 5
        reward = self.value * (1.0 + self.np_random.random()) if bad else 1.0
        return self._obs(), reward, False, self.t >= 20, {}


# Rewards of 1e160 without reward scaling give returns (~1e161) whose squares overflow the value
# fit and the advantage standardisation: the agent refuses them by name (logs.check_returns).
_BAD_ENVS = [
    (where, value, norm)
    for where in ("obs", "reward")
    for value in (np.nan, np.inf, 1e160)
    for norm in ((False, False), (True, False), (False, True), (True, True))
]


@pytest.mark.parametrize(("where", "value", "norm"), _BAD_ENVS)
def test_bad_environment_is_a_clean_error_or_a_model_that_reloads(tmp_path, where, value, norm):
    """NaN, inf and 1e160 observations or rewards, with and without normalisers: training
    stops with a ValueError that names the observations or rewards, or it finishes with
    finite parameters and a model that loads back identical."""
    env = BadEnv(where, value)
    agent = TRPO(env, n_steps=32, hidden=(8,), value_hidden=(8,), vf_iters=3, seed=0,
                 normalize_obs=norm[0], normalize_reward=norm[1])  # fmt: skip
    try:
        agent.learn(96, progress_bar=False)
    except ValueError as exc:
        assert where[:3] in str(exc) or "returns" in str(exc), str(exc)
        return
    assert value == 1e160  # NaN and inf are always refused
    assert np.all(np.isfinite(agent.theta)) and np.all(np.isfinite(agent.value_theta))
    agent.save(tmp_path / "m.npz")
    back = TRPO.load(tmp_path / "m.npz", env=BadEnv(where, value))
    np.testing.assert_array_equal(back.theta, agent.theta)


# ---------------------------------------------------------------------- bad command lines
@pytest.fixture(scope="module")
def small_run(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("small") / "run"
    assert _main([*RUN, "--out", str(run), "--timesteps", "64"])[0] == 0
    return run


def _bad_invocations(run: Path, tmp: Path) -> list[list[str]]:
    text = tmp / "one_byte.npz"
    text.write_text("x")
    arrays, config = load_checkpoint(run / "model.npz")
    del arrays["value_theta"]
    save_checkpoint(tmp / "no_value.npz", arrays, config)
    train = ["train", "CartPole-v1", "--out", str(tmp / "new"), *TINY]
    return [
        [*train, "--set", "update=vpg", "--set", "pg_lr=Infinity"],
        [*train, "--set", "pg_lr=inf"],
        [*train, "--set", "log_dir=123"],
        [*train, "--set", "obs_clip=-1"],
        [*train, "--set", "value_hidden=[0]"],
        [*train, "--set", "vf_l2=-1"],
        [*train, "--set", "hidden=64"],
        [*train, "--save-every", "0"],
        [*train, "--keep", "2"],
        ["train", "CartPole-v1", "--out", str(run), *TINY],  # non-empty run directory
        ["train", "--resume", str(tmp / "nowhere")],
        ["train", "--resume", str(run), "--seed", "3"],
        ["train"],
        ["evaluate", str(run), "--seed", "-3"],
        ["evaluate", str(tmp / "no_value.npz")],
        ["evaluate", str(text)],
    ]


def test_bad_command_lines_exit_2_in_one_line(small_run, tmp_path):
    """Each bad invocation of issue 10: exit code 2, one line on stderr, no traceback."""
    for argv in _bad_invocations(small_run, tmp_path):
        code, _, err = _main(argv)
        assert code == 2, (argv, err)
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1, (argv, err)
    assert "pickle" not in _main(["evaluate", str(tmp_path / "one_byte.npz")])[2]


def test_unexpected_error_exits_1_with_the_debug_hint(small_run, tmp_path, monkeypatch):
    """A bug inside training: exit 1, one line with the --debug hint; --debug adds the
    traceback."""

    def broken(self, *args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(TRPO, "learn", broken)
    argv = ["train", "CartPole-v1", *TINY]
    code, _, err = _main([*argv, "--out", str(tmp_path / "a")])
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "RuntimeError: boom" in err and "--debug" in err and "Traceback" not in err
    code, _, err = _main([*argv, "--out", str(tmp_path / "b"), "--debug"])
    assert code == 1 and "Traceback" in err and "RuntimeError: boom" in err


def test_python_m_npytrpo_bad_seed_has_no_traceback(small_run):
    """The real process: ``python -m npytrpo evaluate RUN --seed -3`` exits 2, one line."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-m", "npytrpo", "evaluate", str(small_run), "--seed", "-3"],
        env=env,
        capture_output=True,
        text=True,
        timeout=WAIT_LIMIT,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "npytrpo evaluate: error: --seed must be >= 0, got -3"
    ]


# ---------------------------------------------------------------------- spaces, async
class StartEnv(gym.Env):
    """Discrete(3, start=k) actions, recorded as received; Gaussian observations."""

    def __init__(self, start: int):
        self.action_space = gym.spaces.Discrete(3, start=start)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (2,), np.float64)
        self.received: list[int] = []

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return self.np_random.standard_normal(2), {}

    def step(self, action):
        self.received.append(int(action))
        return self.np_random.standard_normal(2), 1.0, False, len(self.received) % 7 == 0, {}


@pytest.mark.parametrize("start", [1, -2, 4])
def test_discrete_start_maps_the_policy_index_to_the_env_action(start):
    """Learning, predict and evaluate hand the env a + start: every action lies in the space
    and each of the three occurs; the stored actions are the policy's indices 0..2."""
    env = StartEnv(start)
    agent = TRPO(env, n_steps=64, n_envs=1, hidden=(4,), value_hidden=(4,), seed=0)
    agent.learn(64, progress_bar=False)
    assert set(env.received) == {start, start + 1, start + 2}
    sampled = {int(agent.predict(np.zeros(2), deterministic=False)) for _ in range(60)}
    assert sampled == {start, start + 1, start + 2}
    res = agent.evaluate(2, env=StartEnv(start))
    assert res["mean_length"] == 7.0
    assert int(agent.predict(np.zeros(2))) in range(start, start + 3)


def test_async_run_says_once_at_save_and_at_load_that_resume_is_not_exact(tmp_path):
    """vectorization="async": saving and loading each issue one InexactResumeWarning; the CLI
    shows it as one line on stderr."""
    from npytrpo.io.envstate import InexactResumeWarning

    argv = [*RUN, "--out", str(tmp_path / "a"), "--timesteps", "64"]
    code, _, err = _main([*argv, "--set", "vectorization=async"])
    assert code == 0, err
    lines = [line for line in err.splitlines() if "warning:" in line]
    assert lines and all("saving" in line and "not bit-identical" in line for line in lines)
    with pytest.warns(InexactResumeWarning, match="loading") as record:
        TRPO.load(tmp_path / "a" / "model.npz").env.close()
    assert len(record) == 1
    code, _, err = _main(["train", "--resume", str(tmp_path / "a"), "--timesteps", "128"])
    assert code == 0, err
    assert any("warning: loading" in line for line in err.splitlines())
