"""Tests for npytrpo.io.mjstate (through npytrpo.io.envstate): snapshot/restore of MuJoCo envs.

The check is behavioural, as in tests/test_envstate.py: a vector env restored from a snapshot,
stepped with the same actions as the original, gives identical observations, rewards, episode
ends and final observations, across an episode boundary; and a Hopper agent saved at an
iteration boundary, loaded and trained on equals one trained straight through, bit for bit.
Negative controls show that what the snapshot holds beyond qpos/qvel is needed: without the
solver's warm start or without the last forward pass's body poses, continuations differ.
"""

from __future__ import annotations

import contextlib
import csv
import importlib.util
import io
import json
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from test_agent import assert_same_rows
from test_envstate import actions_for

import npytrpo
from npytrpo.agent import TRPO
from npytrpo.io import envstate, mjstate
from npytrpo.io.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from npytrpo.io.envstate import InexactResumeWarning
from npytrpo.io.periodic import checkpoint_name
from npytrpo.io.persist import read_agent
from npytrpo.rollout import make_vector_env
from npytrpo.tools import cli

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("mujoco") is None, reason="needs the mujoco extra"
)
N_ENVS = 2


def step_all(vec, actions):
    """obs, rewards, terminated, truncated, and the final observation where an episode ended
    (SAME_STEP autoreset: ``info["final_obs"]``, else NaN) of stepping ``vec``."""
    rows = []
    for a in actions:
        obs, rew, term, trunc, info = vec.step(a)
        final = np.full_like(obs, np.nan)
        for j in np.flatnonzero(term | trunc):
            final[j] = info["final_obs"][j]
        rows.append((obs, rew, term, trunc, final))
    return [np.stack(x) for x in zip(*rows, strict=True)]


def json_round_trip(arrays, meta):
    """What a checkpoint stores: arrays copied, metadata through JSON."""
    return {k: np.array(v) for k, v in arrays.items()}, json.loads(json.dumps(meta))


def snapshot_after(env_id, n_pre, seed=1, env_kwargs=None):
    """A vector env stepped ``n_pre`` random steps and its JSON-round-tripped snapshot."""
    a = make_vector_env(env_id, N_ENVS, env_kwargs=env_kwargs)
    a.reset(seed=seed)
    step_all(a, actions_for(a, n_pre, 2))
    arrays, meta = json_round_trip(*envstate.snapshot(a))
    return a, arrays, meta


def fresh(env_id, seed=99, env_kwargs=None):
    """A vector env reset to another state, with another np_random, to be overwritten."""
    b = make_vector_env(env_id, N_ENVS, env_kwargs=env_kwargs)
    b.reset(seed=seed)
    return b


# ---------------------------------------------------------------------- bit-identical continuation
# Every MuJoCo env bundled with gymnasium (v5): (random steps before the snapshot, steps
# compared after it, gym.make kwargs). Hopper, Walker2d, Humanoid and the pendulums terminate
# within tens of random steps; Reacher and Pusher are truncated at 50 and 100. HalfCheetah never
# terminates, so its snapshot is taken 10 steps before its TimeLimit (1000) truncates; Swimmer
# and HumanoidStandup never terminate either, and Ant rarely: they get a time limit of 100 to
# keep the test short. Ant reads the body poses of the last forward pass (xpos) in its reward,
# Humanoid its inertial frames (xipos).
CASES = {
    "Hopper-v5": (60, 300, {}),
    "HalfCheetah-v5": (990, 300, {}),
    "Ant-v5": (60, 120, {"max_episode_steps": 100}),
    "Humanoid-v5": (30, 120, {}),
    "Walker2d-v5": (60, 120, {}),
    "Swimmer-v5": (60, 120, {"max_episode_steps": 100}),
    "HumanoidStandup-v5": (60, 50, {"max_episode_steps": 100}),
    "Reacher-v5": (30, 120, {}),
    "Pusher-v5": (60, 120, {}),
    "InvertedPendulum-v5": (5, 120, {}),
    "InvertedDoublePendulum-v5": (5, 120, {}),
}


@pytest.mark.parametrize("env_id", list(CASES))
def test_restore_reproduces_mujoco_trajectory_across_episode_ends(env_id):
    """After restore, the same actions give identical obs, rewards, terminated, truncated and
    final observations for 50-300 steps, across episode ends (autoreset draws from the restored
    np_random; the restored TimeLimit counter decides truncation)."""
    n_pre, n_post, kwargs = CASES[env_id]
    a, arrays, meta = snapshot_after(env_id, n_pre, env_kwargs=kwargs)
    assert meta["exact"] and all("mujoco" in m for m in meta["envs"])
    envstate.check_meta(meta, arrays)
    b = fresh(env_id, env_kwargs=kwargs)
    assert envstate.restore(b, arrays, meta)
    acts = actions_for(a, n_post, 3)
    got_a, got_b = step_all(a, acts), step_all(b, acts)
    term, trunc = got_a[2], got_a[3]
    assert (term | trunc).any(axis=0).all()  # every sub-env crosses an episode end
    if env_id == "HalfCheetah-v5":
        assert trunc[9].all() and not term.any()  # the time limit, right where it was due
    for name, x, y in zip(("obs", "reward", "term", "trunc", "final"), got_a, got_b, strict=True):
        np.testing.assert_array_equal(y, x, err_msg=name)
    a.close()
    b.close()


def test_physics_snapshot_layout_and_copy():
    """The state array has mj_stateSize(mjSTATE_INTEGRATION) entries (the integration state
    is FULLPHYSICS | USER | WARMSTART); the outputs have mjData's shapes; the snapshot is a
    copy (stepping after it changes nothing in it)."""
    import mujoco

    a = make_vector_env("Hopper-v5", N_ENVS)
    a.reset(seed=0)
    step_all(a, actions_for(a, 5, 0))
    arrays, meta = envstate.snapshot(a)
    u = a.envs[0].unwrapped
    sig = int(mujoco.mjtState.mjSTATE_INTEGRATION)
    parts = ("mjSTATE_FULLPHYSICS", "mjSTATE_USER", "mjSTATE_WARMSTART")
    assert sig == np.bitwise_or.reduce([int(getattr(mujoco.mjtState, p)) for p in parts])
    assert meta["envs"][0]["mujoco"]["signature"] == sig == mjstate.signature()
    assert arrays["0/mujoco/state"].shape == (mujoco.mj_stateSize(u.model, sig),)
    # time, then qpos, qvel: the state's documented order
    np.testing.assert_array_equal(arrays["0/mujoco/state"][1 : 1 + u.model.nq], u.data.qpos)
    for k in mjstate.DERIVED:
        assert arrays[f"0/mujoco/{k}"].shape == np.shape(getattr(u.data, k))
    saved = {k: v.copy() for k, v in arrays.items()}
    step_all(a, actions_for(a, 5, 1))
    for k, v in arrays.items():
        np.testing.assert_array_equal(v, saved[k])
    a.close()


# ---------------------------------------------------------------------- what is needed, shown
def _first_steps_differ(env_id, points=30):
    """At ``points`` snapshots 10 steps apart, restore into another env and compare one step:
    the number of snapshots after which the observations differ."""
    a, b = fresh(env_id, seed=1), fresh(env_id)
    space = a.action_space
    space.seed(2)
    differ = 0
    for _ in range(points):
        step_all(a, [space.sample() for _ in range(10)])
        assert envstate.restore(b, *json_round_trip(*envstate.snapshot(a)))
        act = space.sample()
        differ += not np.array_equal(a.step(act)[0], b.step(act)[0])
    a.close()
    b.close()
    return differ


def test_warm_start_is_needed_for_bit_identity(monkeypatch):
    """With the integration state, every one-step continuation is identical; without the
    solver's warm start (FULLPHYSICS | USER), some differ in the last bits on Hopper."""
    assert _first_steps_differ("Hopper-v5") == 0
    monkeypatch.setattr(mjstate, "SIGNATURE", ("mjSTATE_FULLPHYSICS", "mjSTATE_USER"))
    assert _first_steps_differ("Hopper-v5") > 0


def test_last_forward_pass_poses_are_needed_for_ant(monkeypatch):
    """Without the saved body poses, Ant's first reward after restore differs (it measures
    the displacement from the poses of the previous step's forward pass)."""
    monkeypatch.setattr(mjstate, "DERIVED", ())
    a, arrays, meta = snapshot_after("Ant-v5", 20)
    b = fresh("Ant-v5")
    assert envstate.restore(b, arrays, meta)
    act = actions_for(a, 1, 3)[0]
    ra, rb = a.step(act)[1], b.step(act)[1]
    assert not np.array_equal(ra, rb)


def _plain(v):
    """``v`` as a comparable value if it is plain data (numbers, strings, arrays, tuples/lists
    of those), else None (objects, dicts)."""
    if v is None or isinstance(v, (int, float, str, bool, np.number, np.bool_)):
        return ("scalar", v)
    if isinstance(v, np.ndarray) and v.dtype.kind in "biuf":
        return ("array", v.shape, v.tobytes())
    if isinstance(v, (tuple, list)):
        items = [_plain(x) for x in v]
        return None if any(x is None for x in items) else ("seq", *items)
    return None


MUJOCO_V5 = sorted(
    s.id
    for s in gym.registry.values()
    if s.id.endswith("-v5") and str(s.entry_point).startswith("gymnasium.envs.mujoco")
)


# Python attributes that reset_model writes before reading them and that no step reads: the new
# goal (Reacher), the cylinder's and goal's positions (Pusher), and Pusher's init_qpos, whose
# last four entries its reset_model overwrites in place (qpos = self.init_qpos, no copy). The
# continuation test above crosses resets of both envs bit-identically without saving them.
RESET_SCRATCH = {"Reacher-v5": {"goal"}, "Pusher-v5": {"goal_pos", "cylinder_pos", "init_qpos"}}


@pytest.mark.parametrize("env_id", MUJOCO_V5)
def test_bundled_mujoco_envs_keep_only_configuration_in_python_attributes(env_id):
    """The premise of capturing only the physics: after 50 steps (episode ends included),
    every plain attribute of the unwrapped env (numbers, strings, arrays, tuples of those)
    equals that of an env made and reset with another seed, except np_random's seed (saved
    separately) and the reset-time scratch listed in RESET_SCRATCH."""
    assert set(MUJOCO_V5) == set(CASES)  # the continuation test covers every bundled env
    a, b = gym.make(env_id), gym.make(env_id)
    a.reset(seed=0)
    b.reset(seed=1)
    a.action_space.seed(0)
    for _ in range(50):
        if any(a.step(a.action_space.sample())[2:4]):
            a.reset()
    va, vb = vars(a.unwrapped), vars(b.unwrapped)
    skip = {"_np_random_seed", *RESET_SCRATCH.get(env_id, ())}
    compared = [k for k in va if k not in skip and _plain(va[k]) is not None]
    for k in compared:
        assert _plain(va[k]) == _plain(vb.get(k)), k
    assert set(va) == set(vb) and len(compared) > 5 and mjstate.is_mujoco(a.unwrapped)
    a.close()
    b.close()


# ---------------------------------------------------------------------- what does not fit
def test_other_model_sizes_or_signature_are_not_restored():
    """A snapshot whose model sizes or state signature differ from this env's (another model,
    another MuJoCo) is not restored: restore returns False and changes nothing."""
    _, arrays, meta = snapshot_after("Hopper-v5", 5)
    b = fresh("Hopper-v5")
    before = [e.unwrapped.data.qpos.copy() for e in b.envs]
    for change in ({"sizes": {**meta["envs"][0]["mujoco"]["sizes"], "nq": 7}},
                   {"signature": meta["envs"][0]["mujoco"]["signature"] - 32}):  # fmt: skip
        bad = json.loads(json.dumps(meta))
        bad["envs"][1]["mujoco"].update(change)
        assert envstate.restore(b, arrays, bad) is False
        for e, q in zip(b.envs, before, strict=True):
            np.testing.assert_array_equal(e.unwrapped.data.qpos, q)
    b.close()


def test_an_output_outside_derived_is_refused_by_restore_too():
    """restore itself (not only check_meta) refuses to write an mjData field outside DERIVED:
    a ValueError naming it, nothing changed."""
    _, arrays, meta = snapshot_after("Hopper-v5", 5)
    b = fresh("Hopper-v5")
    before = b.envs[0].unwrapped.data.qpos.copy()
    meta["envs"][0]["mujoco"]["derived"].append("qpos")
    arrays["0/mujoco/qpos"] = np.zeros_like(before)
    with pytest.raises(ValueError, match="qpos"):
        envstate.restore(b, arrays, meta)
    np.testing.assert_array_equal(b.envs[0].unwrapped.data.qpos, before)
    b.close()


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("1/mujoco/state", lambda a: a[:-1], "must have shape"),
        ("1/mujoco/state", lambda a: np.where(np.arange(a.size) == 2, np.nan, a), "finite"),
        ("1/mujoco/state", lambda a: a.astype(np.int64), "float array"),
        ("1/mujoco/xpos", lambda a: a[:, :2], "must have shape"),
    ],
)
def test_malformed_physics_arrays_raise_and_change_nothing(key, value, message):
    """A state array of the wrong length, dtype or with NaN, or an output of the wrong shape:
    restore raises ValueError naming the array, before any sub-env is changed."""
    _, arrays, meta = snapshot_after("Hopper-v5", 5)
    b = fresh("Hopper-v5")
    before = [e.unwrapped.data.qpos.copy() for e in b.envs]
    arrays[key] = value(arrays[key])
    with pytest.raises(ValueError, match=message) as info:
        envstate.restore(b, arrays, meta)
    assert f"env/{key.rsplit('/', 1)[0]}" in str(info.value)
    for e, q in zip(b.envs, before, strict=True):
        np.testing.assert_array_equal(e.unwrapped.data.qpos, q)
    b.close()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda m, a: m["envs"][0]["mujoco"].update(signature="all"), "signature"),
        (lambda m, a: m["envs"][0]["mujoco"]["sizes"].pop("nv"), "sizes"),
        (lambda m, a: m["envs"][0]["mujoco"].update(derived=["qpos"]), "derived"),
        (lambda m, a: m["envs"][0].update(mujoco=[]), "must be an object"),
        (lambda m, a: a.pop("0/mujoco/state"), "missing"),
        (lambda m, a: a.pop("1/mujoco/xipos"), "missing"),
    ],
)
def test_check_meta_rejects_a_malformed_mujoco_snapshot(edit, message):
    """check_meta (run on every checkpoint read) refuses MuJoCo metadata of the wrong kind, an
    output name outside DERIVED (a file cannot write any other mjData field) and a missing
    array, each with a ValueError naming it."""
    _, arrays, meta = snapshot_after("Hopper-v5", 5)
    envstate.check_meta(meta, arrays)
    edit(meta, arrays)
    with pytest.raises(ValueError, match=message):
        envstate.check_meta(meta, arrays)


def subclassed_hopper():
    """A MuJoCo env defined outside gymnasium (in this module): it may keep Python state."""
    from gymnasium.envs.mujoco.hopper_v5 import HopperEnv

    class SubclassedHopper(HopperEnv):
        def step(self, action):
            self.last_action = np.asarray(action)
            return super().step(action)

    return gym.wrappers.TimeLimit(SubclassedHopper(), 1000)


def test_mujoco_env_outside_listed_modules_is_inexact(monkeypatch):
    """A MujocoEnv subclass from a module not in mjstate.MODULES: snapshot inexact (naming the
    class), restore False; listing its module makes it exact."""
    vec = gym.vector.SyncVectorEnv([subclassed_hopper] * N_ENVS)
    vec.reset(seed=0)
    arrays, meta = envstate.snapshot(vec)
    assert meta["exact"] is False and arrays == {} and "SubclassedHopper" in meta["reason"]
    assert envstate.restore(vec, arrays, meta) is False
    monkeypatch.setattr(mjstate, "MODULES", [*mjstate.MODULES, __name__])
    assert envstate.snapshot(vec)[1]["exact"]
    vec.close()


def test_async_mujoco_env_is_inexact():
    """An async vector env of Hopper has no in-process envs: its snapshot is marked inexact."""
    vec = make_vector_env("Hopper-v5", N_ENVS, vectorization="async")
    try:
        vec.reset(seed=0)
        arrays, meta = envstate.snapshot(vec)
        assert meta["exact"] is False and arrays == {}
    finally:
        vec.close()


# ---------------------------------------------------------------------- the agent
# Hopper with the preset's settings (both normalisers, 25 CG steps, 2 envs) but small: 2 x 256
# steps per iteration, 16x16 networks; 4 iterations cross several episode ends per sub-env.
HOPPER = dict(n_envs=2, n_steps=256, gamma=0.99, gae_lambda=0.95, cg_iters=25, damping=0.1,
              normalize_obs=True, normalize_reward=True, hidden=(16, 16), value_hidden=(16, 16),
              vf_iters=5, seed=4)  # fmt: skip
BATCH = 512


def test_hopper_agent_resumed_at_an_iteration_boundary_equals_straight_run(tmp_path):
    """Hopper-v5 trained 4 iterations straight through equals a run that wrote a checkpoint
    after each iteration, 'died' during its second (the process state after the first
    checkpoint is thrown away), was loaded from that checkpoint and trained to the same
    budget: θ, value θ, both normalisers and the log rows bit for bit; no InexactResumeWarning
    at save or load."""
    ref = TRPO("Hopper-v5", **HOPPER)
    ref.learn(4 * BATCH, progress_bar=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", InexactResumeWarning)
        TRPO("Hopper-v5", **HOPPER).learn(
            2 * BATCH, progress_bar=False, checkpoint_every=BATCH, checkpoint_dir=tmp_path
        )
        agent = TRPO.load(tmp_path / checkpoint_name(BATCH))
    assert agent.num_timesteps == BATCH
    agent.learn(3 * BATCH, progress_bar=False)
    assert ref.num_episodes > 4 * HOPPER["n_envs"]  # episodes ended inside every iteration
    np.testing.assert_array_equal(agent.theta, ref.theta)
    np.testing.assert_array_equal(agent.value_theta, ref.value_theta)
    for part in ("obs_normalizer", "reward_scaler"):
        for k, v in getattr(ref, part).state_dict().items():
            np.testing.assert_array_equal(getattr(agent, part).state_dict()[k], v, err_msg=k)
    assert agent.num_episodes == ref.num_episodes
    assert_same_rows(agent.history, ref.history[1:])
    agent.env.close()
    ref.env.close()


@pytest.mark.parametrize(("key", "value"), [("env/0/mujoco/state", np.nan),
                                            ("env/1/mujoco/xpos", np.inf)])  # fmt: skip
def test_damaged_physics_in_a_checkpoint_is_a_checkpoint_error(tmp_path, key, value):
    """A Hopper checkpoint whose saved physics holds a NaN or inf: TRPO.load raises a
    CheckpointError naming the array, never a silent inexact resume."""
    agent = TRPO("Hopper-v5", **{**HOPPER, "n_steps": 16})
    agent.learn(32, progress_bar=False)
    path = tmp_path / "hop.npz"
    agent.save(path)
    agent.env.close()
    arrays, header = load_checkpoint(path)
    arrays[key] = np.where(np.arange(arrays[key].size).reshape(arrays[key].shape) == 1, value,
                           arrays[key])  # fmt: skip
    header.pop("format", None)
    save_checkpoint(path, arrays, header)
    with pytest.raises(CheckpointError, match=key.rsplit("/", 1)[0]):
        TRPO.load(path)


# The same small Hopper run through the command line: 3 iterations, a checkpoint after each.
CLI_RUN = ["train", "Hopper-v5", "--timesteps", str(3 * BATCH), "--seed", "4", "--save-every",
           str(BATCH), "--keep", "2", "--no-progress", "--set", "n_steps=256", "--set",
           "hidden=[16,16]", "--set", "value_hidden=[16,16]", "--set", "vf_iters=5"]  # fmt: skip
TIMING = {"time_rollout", "time_policy", "time_value", "wall_time", "steps_per_sec"}


def _cli(argv):
    """``npytrpo *argv`` in process: (exit code, stderr)."""
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = cli.main(argv)
    return code, err.getvalue()


def _run_result(run: Path):
    header, arrays = read_agent(run / "model.npz")
    with open(run / "progress.csv", newline="") as f:
        rows = [{k: v for k, v in r.items() if k not in TIMING} for r in csv.DictReader(f)]
    return arrays["policy_theta"], arrays["value_theta"], header["num_timesteps"], rows


def test_hopper_run_killed_with_sigkill_resumes_bit_identically(tmp_path):
    """A real ``npytrpo train Hopper-v5`` killed with SIGKILL once its first checkpoint is on
    disk, then ``train --resume``, ends with θ, value θ and progress.csv's deterministic columns
    equal to the same run uninterrupted, and says nothing of an inexact resume."""
    ref = tmp_path / "ref"
    assert _cli([*CLI_RUN, "--out", str(ref)])[0] == 0
    run = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(Path(npytrpo.__file__).resolve().parent.parent)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "npytrpo", *CLI_RUN, "--out", str(run)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    first = run / "checkpoints" / checkpoint_name(BATCH)
    deadline = time.monotonic() + 300
    while proc.poll() is None and not first.exists() and time.monotonic() < deadline:
        time.sleep(0.005)
    killed = proc.poll() is None
    if killed:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert killed and first.exists() and not (run / "model.npz").exists()
    code, err = _cli(["train", "--resume", str(run), "--no-progress"])
    assert code == 0, err
    assert "bit-identical" not in err and "InexactResume" not in err
    theta, vtheta, steps, rows = _run_result(run)
    theta_ref, vtheta_ref, steps_ref, rows_ref = _run_result(ref)
    assert steps == steps_ref == 3 * BATCH
    np.testing.assert_array_equal(theta, theta_ref)
    np.testing.assert_array_equal(vtheta, vtheta_ref)
    assert rows == rows_ref
