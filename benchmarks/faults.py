"""Fault injection over the whole user surface, tallied: what a demanding new user meets.

Cases, each judged by what it must do:

- bad constructor arguments and unsupported spaces: a TypeError/ValueError naming the argument;
- bad command lines (in process, so an escaping exception is seen): exit 2, one stderr line;
- ``Discrete(n, start=k)``: every action the env receives lies in its space;
- environments returning NaN, inf or 1e160 observations or rewards, with and without
  normalisers: a ValueError naming observations/rewards/returns, or a run whose parameters are
  finite, whose model loads back identical and whose steps never claim zero advantages;
- damaged checkpoints (truncations, bit flips, hand-made archives with a key missing, of the
  wrong shape or non-finite, tampered headers): ``CheckpointError`` or an identical agent;
- kill -9 of a real ``python -m npytrpo train`` at random (seeded) moments, several kills per
  run, then ``--resume``: after each kill the run directory is consistent, and the resumed run
  ends bit-identical to an uninterrupted one (else the run is "lost"); an async run must say,
  at save and at load, that it will not resume bit-identically.

Figures: cases tried, clean errors (the expected refusal), crashes with tracebacks (any other
exception, or a traceback on stderr), silent wrong results, runs lost. Usage::

    python benchmarks/faults.py [--kills 30] [--flips 200] [--seed 0]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import itertools
import os
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path

import gymnasium as gym
import numpy as np

import npytrpo
from npytrpo import TRPO
from npytrpo.io.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from npytrpo.io.files import is_temp_name
from npytrpo.io.persist import read_agent
from npytrpo.tools import cli
from npytrpo.tools.rundir import check_run

REPO = Path(npytrpo.__file__).resolve().parent.parent
TINY = ["--set", "n_steps=32", "--set", "hidden=[8]", "--set", "value_hidden=[8]"]
TINY += ["--set", "vf_iters=3", "--no-progress"]
RUN = ["train", "CartPole-v1", "--timesteps", "640", "--save-every", "64", "--keep", "2", *TINY]
TIMING = {"time_rollout", "time_policy", "time_value", "wall_time", "steps_per_sec"}
# clean: the expected refusal; ok: correct behaviour where no error was due (a run that
# resumes, a model that reloads, actions inside the space); the other three must stay 0.
OUTCOMES = ("clean", "ok", "crash", "silent", "lost")
tally: Counter = Counter()
notes: list[str] = []


def record(outcome: str, what: str) -> None:
    tally["tried"] += 1
    tally[outcome] += 1
    if outcome not in ("clean", "ok"):
        notes.append(f"{outcome}: {what}")


def main_quiet(argv: list[str]) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(argv)
    return code, err.getvalue()


# ---------------------------------------------------------------------- arguments, spaces
def constructor_cases() -> None:
    bad = {
        "pg_lr": [float("inf"), float("nan"), 0.0, -1.0, "0.1"],
        "obs_clip": [-1.0, 0.0, float("inf")],
        "value_hidden": [(0,), 64, "64", (8.5,)],
        "hidden": [64, (-1,), None],
        "vf_l2": [-1.0, float("nan")],
        "n_steps": [0, 1.5, True],
        "n_envs": [0, -2],
        "gamma": [1.5, -0.1],
        "delta": [0.0, -0.01, float("inf")],
        "update": ["sgd"],
        "vectorization": ["threads"],
        "log_std_init": [float("nan")],
        "blas_threads": [0],
        "nonsense_option": [1],
    }
    for name, values in bad.items():
        for v in values:
            try:
                TRPO("CartPole-v1", n_steps=16, **{name: v})
            except (TypeError, ValueError) as exc:
                ok = name in str(exc) or name == "nonsense_option"
                record("clean" if ok else "silent", f"{name}={v!r}: message {exc}")
            except Exception as exc:  # noqa: BLE001 - tallied, not hidden
                record("crash", f"{name}={v!r}: {type(exc).__name__}: {exc}")
            else:
                record("silent", f"{name}={v!r} accepted")
    for kw in ({"log_dir": 123}, {"seed": -3}, {"seed": 1.5}):
        try:
            TRPO("CartPole-v1", n_steps=16, **kw)
        except (TypeError, ValueError) as exc:
            record("clean" if next(iter(kw)) in str(exc) else "silent", f"{kw}: {exc}")
        else:
            record("silent", f"{kw} accepted")
    agent = TRPO("CartPole-v1", n_steps=16, hidden=(4,), value_hidden=(4,), seed=0)
    for kw in ({"total_timesteps": -1}, {"checkpoint_every": 0, "checkpoint_dir": "x"},
               {"keep": 2}, {"checkpoint_every": 10}, {"callback": 3}):  # fmt: skip
        try:
            agent.learn(**{"total_timesteps": 16, "progress_bar": False, **kw})
        except (TypeError, ValueError) as exc:
            record("clean", f"learn({kw}): {exc}")
        else:
            record("silent", f"learn({kw}) accepted")


class SpaceEnv(gym.Env):
    def __init__(self, obs_space, act_space):
        self.observation_space, self.action_space = obs_space, act_space
        self.received: list = []

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return self.observation_space.sample(), {}

    def step(self, action):
        self.received.append(action)
        return self.observation_space.sample(), 1.0, False, len(self.received) % 9 == 0, {}


def space_cases() -> None:
    box = gym.spaces.Box(-1.0, 1.0, (3,), np.float64)
    unsupported = [
        (gym.spaces.Dict({"a": box}), gym.spaces.Discrete(2)),
        (gym.spaces.Box(-1, 1, (2, 2)), gym.spaces.Discrete(2)),
        (box, gym.spaces.MultiDiscrete([2, 3])),
        (box, gym.spaces.Box(-1, 1, (2, 2))),
        (gym.spaces.Discrete(4), gym.spaces.Discrete(2)),
    ]
    for obs_space, act_space in unsupported:
        try:
            TRPO(SpaceEnv(obs_space, act_space), n_steps=16)
        except (TypeError, ValueError) as exc:
            record("clean", f"{obs_space}/{act_space}: {exc}")
        except Exception as exc:  # noqa: BLE001
            record("crash", f"{obs_space}/{act_space}: {type(exc).__name__}: {exc}")
        else:
            record("silent", f"{obs_space}/{act_space} accepted")
    for start in (1, -2, 5):
        env = SpaceEnv(box, gym.spaces.Discrete(3, start=start))
        agent = TRPO(env, n_steps=32, hidden=(4,), value_hidden=(4,), seed=0)
        agent.learn(64, progress_bar=False)
        acts = [int(a) for a in env.received]
        acts += [int(agent.predict(box.sample(), deterministic=False)) for _ in range(50)]
        inside = all(env.action_space.contains(np.int64(a)) for a in acts)
        every = set(acts) == set(range(start, start + 3))
        record("ok" if inside and every else "silent", f"Discrete(3, start={start}): {acts}")


# ---------------------------------------------------------------------- bad environments
class BadEnv(gym.Env):
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


def environment_cases(tmp: Path) -> None:
    norms = ((False, False), (True, False), (False, True), (True, True))
    for where, value, norm in itertools.product(("obs", "reward"), (np.nan, np.inf, 1e160), norms):
        what = f"{where}={value} normalize_obs={norm[0]} normalize_reward={norm[1]}"
        agent = TRPO(BadEnv(where, value), n_steps=32, hidden=(8,), value_hidden=(8,), seed=0,
                     vf_iters=3, normalize_obs=norm[0], normalize_reward=norm[1])  # fmt: skip
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                agent.learn(96, progress_bar=False)
        except ValueError as exc:
            named = where[:3] in str(exc) or "returns" in str(exc)
            record("clean" if named else "silent", f"{what}: {exc}")
            continue
        except Exception as exc:  # noqa: BLE001
            record("crash", f"{what}: {type(exc).__name__}: {exc}")
            continue
        finite = np.all(np.isfinite(agent.theta)) and np.all(np.isfinite(agent.value_theta))
        statuses = {row["status"] for row in agent.history}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                agent.save(tmp / "bad.npz")
                back = TRPO.load(tmp / "bad.npz", env=BadEnv(where, value))
            same = np.array_equal(back.theta, agent.theta)
        except Exception as exc:  # noqa: BLE001
            record("crash", f"{what}: saved model does not load: {exc}")
            continue
        ok = finite and same and "zero_advantages" not in statuses and np.isfinite(value)
        record("ok" if ok else "silent", f"{what}: trained, statuses {sorted(statuses)}")


# ---------------------------------------------------------------------- checkpoints
def _load_outcome(path: Path, original: TRPO, what: str, allowed=CheckpointError) -> None:
    """A load that must raise ``allowed`` (a ValueError) or give the very same agent."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            agent = TRPO.load(path)
    except allowed as exc:
        record("clean" if str(exc) else "silent", what)
        return
    except Exception as exc:  # noqa: BLE001
        record("crash", f"{what}: {type(exc).__name__}: {exc}")
        return
    same = np.array_equal(agent.theta, original.theta) and np.array_equal(
        agent.value_theta, original.value_theta
    )
    record("ok" if same else "silent", f"{what}: loaded{'' if same else ' DIFFERENT'}")


def checkpoint_cases(tmp: Path, n_flips: int, rng: np.random.Generator) -> None:
    src = tmp / "src.npz"
    agent = TRPO("CartPole-v1", n_steps=16, hidden=(4,), value_hidden=(4,), vf_iters=2, seed=0,
                 normalize_obs=True, normalize_reward=True)  # fmt: skip
    agent.learn(32, progress_bar=False)
    agent.save(src)
    data = src.read_bytes()
    target = tmp / "case.npz"
    for cut in rng.choice(len(data), size=n_flips, replace=False):
        target.write_bytes(data[:cut])
        _load_outcome(target, agent, f"truncated at {cut}")
    for pos in rng.choice(len(data), size=n_flips, replace=False):
        flipped = bytearray(data)
        flipped[pos] ^= 1 << int(rng.integers(8))
        target.write_bytes(bytes(flipped))
        _load_outcome(target, agent, f"bit flip at {pos}")
    for text in (b"", b"x", b"hello world\n", b"\x93NUMPY", b"PK\x03\x04garbage"):
        target.write_bytes(text)
        _load_outcome(target, agent, f"file holding {text!r}")
    arrays, config = load_checkpoint(src)
    for key, a in sorted(arrays.items()):
        kinds = ["missing", "shape"] + (["nan", "inf"] if a.dtype.kind == "f" else [])
        for kind in kinds:
            changed = dict(arrays)
            if kind == "missing":
                del changed[key]
            elif kind == "shape":
                changed[key] = np.concatenate([a.reshape(-1), a.reshape(-1)[:1]])
            else:
                changed[key] = np.full_like(a, np.nan if kind == "nan" else np.inf)
            save_checkpoint(target, changed, config)
            _load_outcome(target, agent, f"{key} {kind}")
    tampered = {
        "env_id": [3, "NoSuchEnv-v0"], "seed": [-3, "0", None], "hyper": ["x", {"n_steps": -1}],
        "rng": ["garbage", {}], "env_state": ["garbage", {"exact": True, "envs": "x"}],
        "policy_spec": ["x", {}], "num_timesteps": [-1, 1.5], "agent_format": ["other/1"],
    }  # fmt: skip
    for key, values in tampered.items():
        for v in values:
            save_checkpoint(target, arrays, {**config, key: v})
            # a header naming an env that cannot be built, or another policy: ValueError
            _load_outcome(target, agent, f"header {key}={v!r}", allowed=ValueError)


# ---------------------------------------------------------------------- command lines
def cli_cases(tmp: Path) -> None:
    run = tmp / "small"
    code, err = main_quiet([*RUN, "--out", str(run), "--timesteps", "64"])
    assert code == 0, err
    arrays, config = load_checkpoint(run / "model.npz")
    del arrays["value_theta"]
    save_checkpoint(tmp / "no_value.npz", arrays, config)
    (tmp / "one_byte.npz").write_text("x")
    new = ["train", "CartPole-v1", "--out", str(tmp / "new"), *TINY]
    sets = ["update=vpg", "pg_lr=Infinity", "pg_lr=inf", "log_dir=123", "obs_clip=-1",
            "value_hidden=[0]", "vf_l2=-1", "hidden=64", "n_steps=0", "gamma=2", "x=1",
            "novalue"]  # fmt: skip
    argvs = [[*new, "--set", s] for s in sets[1:]] + [[*new, "--set", sets[0], "--set", sets[1]]]
    argvs += [
        [*new, "--save-every", "0"], [*new, "--keep", "2"], [*new, "--timesteps", "-5"],
        [*new, "--seed", "-1"], [*new, "--timesteps", "1.5"], [*new, "--algo", "sgd"],
        ["train", "NoSuchEnv-v0", "--out", str(tmp / "n2")], ["train"],
        ["train", "CartPole-v1", "--out", str(run), *TINY],
        ["train", "--resume", str(tmp / "nowhere")], ["train", "--resume", str(run), "--seed", "1"],
        ["train", "--resume", str(tmp)], ["evaluate", str(run), "--seed", "-3"],
        ["evaluate", str(run), "--episodes", "0"], ["evaluate", str(tmp / "no_value.npz")],
        ["evaluate", str(tmp / "one_byte.npz")], ["evaluate", str(tmp / "missing.npz")],
        ["plot", str(tmp / "nothing")], ["plot", str(run), "--y", "nope", "-o", str(tmp / "p.png")],
        ["plot", str(run), "-o", str(tmp / "p.unknownformat")], ["nosuchcommand"],
    ]  # fmt: skip
    for argv in argvs:
        what = " ".join(argv[:6])
        try:
            code, err = main_quiet(argv)
        except BaseException as exc:  # noqa: BLE001 - an escaping exception is a traceback
            record("crash", f"{what}: {type(exc).__name__}: {exc}")
            continue
        one_line = len(err.strip().splitlines()) == 1
        if code == 2 and one_line and "pickle" not in err:
            record("clean", what)
        elif "Traceback" in err:
            record("crash", f"{what}: {err.strip()[-200:]}")
        else:
            record("silent", f"{what}: exit {code}, stderr {err.strip()[:200]!r}")


# ---------------------------------------------------------------------- kill -9
def _n_rows(run: Path) -> int:
    try:
        return (run / "progress.csv").read_bytes().count(b"\n") - 1
    except FileNotFoundError:
        return 0


def kill_at_random_moment(argv: list[str], run: Path, rng: np.random.Generator) -> str:
    proc = subprocess.Popen(
        [sys.executable, "-m", "npytrpo", *argv],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    phase = str(rng.choice(["start-up", "training", "end"], p=[0.2, 0.6, 0.2]))
    target, t0 = int(rng.integers(1, 10)), time.monotonic()
    delay = rng.uniform(0.0, 1.5) if phase == "start-up" else rng.uniform(0.0, 0.05)
    while proc.poll() is None and time.monotonic() - t0 < 300:
        ready = {"start-up": True, "training": _n_rows(run) >= target,
                 "end": (run / "model.npz").exists()}[phase]  # fmt: skip
        if ready and time.monotonic() - t0 >= delay:
            break
        time.sleep(0.002)
    if phase != "start-up":
        time.sleep(delay)
    killed = proc.poll() is None
    if killed:
        proc.send_signal(signal.SIGKILL)
    proc.wait()
    return phase if killed else f"{phase} (finished first)"


def _rows(run: Path) -> list[dict]:
    with open(run / "progress.csv", newline="") as f:
        return [{k: v for k, v in r.items() if k not in TIMING} for r in csv.DictReader(f)]


def kill_cases(tmp: Path, n_kills: int, rng: np.random.Generator) -> Counter:
    ref = tmp / "reference"
    assert main_quiet([*RUN, "--out", str(ref)])[0] == 0
    ref_header, ref_arrays = read_agent(ref / "model.npz")
    phases: Counter = Counter()
    chain, kills = 0, 0
    while kills < n_kills:
        run = tmp / f"kill{chain}"
        for _ in range(min(3, n_kills - kills)):
            if (run / "config.json").exists():
                argv = ["train", "--resume", str(run), "--no-progress"]
            else:
                argv = [*RUN, "--out", str(run)] + (["--overwrite"] if run.exists() else [])
            phases[kill_at_random_moment(argv, run, rng)] += 1
            kills += 1
            problems = check_run(str(run)) if run.exists() else []
            record("ok" if not problems else "lost", f"kill in {run.name}: {problems}")
        if (run / "config.json").exists():
            code, err = main_quiet(["train", "--resume", str(run), "--no-progress"])
        else:
            code, err = main_quiet([*RUN, "--out", str(run), "--overwrite"])
        header, arrays = read_agent(run / "model.npz") if code == 0 else (None, None)
        same = code == 0 and all(
            np.array_equal(arrays[k], ref_arrays[k]) for k in ("policy_theta", "value_theta")
        )
        same = same and _rows(run) == _rows(ref) and header["num_timesteps"] == 640
        temps = [p.name for p in run.rglob("*") if is_temp_name(p.name)]
        record("ok" if same and not temps else "lost", f"resume of {run.name}: {err[-200:]}")
        chain += 1
    return phases


def async_case(tmp: Path) -> None:
    run = tmp / "async"
    argv = [*RUN, "--out", str(run), "--set", "vectorization=async", "--timesteps", "128"]
    code, err_save = main_quiet(argv)
    code2, err_load = main_quiet(["train", "--resume", str(run), "--timesteps", "192"])
    said = ["not bit-identical" in e and "warning:" in e for e in (err_save, err_load)]
    ok = code == code2 == 0 and all(said) and "Traceback" not in err_save + err_load
    record("ok" if ok else "silent", f"async resume warned at save/load: {said}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kills", type=int, default=30)
    p.add_argument("--flips", type=int, default=200, help="truncations and bit flips, each")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    rng = np.random.default_rng(a.seed)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        constructor_cases()
        space_cases()
        environment_cases(tmp)
        checkpoint_cases(tmp, a.flips, rng)
        cli_cases(tmp)
        async_case(tmp)
        phases = kill_cases(tmp, a.kills, rng)
    for line in notes:
        print(line)
    print(f"kill moments: {dict(sorted(phases.items()))}")
    print(f"cases tried:                {tally['tried']}")
    print(f"clean errors:               {tally['clean']}")
    print(f"correct, no error due:      {tally['ok']}")
    print(f"crashes with tracebacks:    {tally['crash']}")
    print(f"silent wrong results:       {tally['silent']}")
    print(f"runs lost:                  {tally['lost']}")
    print(f"({time.perf_counter() - t0:.0f} s, seed {a.seed}, {a.kills} kills, {a.flips} flips)")


if __name__ == "__main__":
    main()
