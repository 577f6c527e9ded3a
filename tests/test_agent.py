"""Tests for npytrpo.agent.TRPO: learning loop, logging, acting, checkpoints, input checks.

Budgets are tiny (two envs, 16–64 steps each, small networks) except for one short CartPole
learning run; the whole file runs in well under a minute.
"""

import csv
import math
import os

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.vector import AutoresetMode
from toy_envs import CounterEnv, counter_vec

from npytrpo import agent as agent_module
from npytrpo.agent import TRPO
from npytrpo.io import checkpoint
from npytrpo.io.checkpoint import CheckpointError, save_checkpoint
from npytrpo.logs import LOG_FIELDS

TIMING = {"time_rollout", "time_policy", "time_value", "wall_time", "steps_per_sec"}
EVAL_KEYS = {"mean_return", "std_return", "mean_length", "returns", "lengths"}
CLASSIC = ["CartPole-v1", "Acrobot-v1", "MountainCar-v0", "MountainCarContinuous-v0", "Pendulum-v1"]


def small(env="CartPole-v1", **kw):
    """A TRPO agent with a tiny budget: 2 envs × 32 steps, one hidden layer of 16."""
    opts = dict(n_envs=2, n_steps=32, hidden=(16,), value_hidden=(16,), vf_iters=5, seed=0)
    opts.update(kw)
    return TRPO(env, **opts)


def same_value(a, b):
    """Equal, with NaN equal to NaN (empty-episode statistics are NaN)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b and type(a) is type(b)


def assert_same_rows(rows_a, rows_b):
    """Log rows identical except the timing fields."""
    assert len(rows_a) == len(rows_b)
    for ra, rb in zip(rows_a, rows_b, strict=True):
        for k in LOG_FIELDS:
            if k not in TIMING:
                assert same_value(ra[k], rb[k]), (k, ra[k], rb[k])


# ------------------------------------------------------------------ learning loop and logs
def test_history_rows_have_every_log_field_and_count_timesteps():
    """Each iteration logs a row with every LOG_FIELDS key; timesteps grow by n_envs·n_steps."""
    agent = small()
    assert agent.batch_size == 64
    agent.learn(100, progress_bar=False)  # rounded up to whole iterations
    assert agent.num_timesteps == 128 and agent.iteration == 2
    assert [r["timesteps"] for r in agent.history] == [64, 128]
    assert [r["iteration"] for r in agent.history] == [1, 2]
    for row in agent.history:
        assert set(row) == set(LOG_FIELDS)
    agent.learn(64, progress_bar=False)
    assert agent.num_timesteps == 192 and agent.history[-1]["iteration"] == 3
    assert agent.history[-1]["episodes"] == agent.num_episodes > 0


def test_progress_csv_has_header_and_one_row_per_iteration(tmp_path):
    """With log_dir, progress.csv gets the LOG_FIELDS header once and one row per iteration."""
    agent = small(log_dir=str(tmp_path / "logs"))
    agent.learn(128, progress_bar=False)
    agent.learn(64, progress_bar=False)  # appends, no second header
    with open(tmp_path / "logs" / "progress.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == list(LOG_FIELDS)
    assert len(rows) == 1 + 3
    body = [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    assert [int(r["iteration"]) for r in body] == [1, 2, 3]
    assert [int(r["timesteps"]) for r in body] == [64, 128, 192]


def test_learn_zero_does_nothing(tmp_path):
    """learn(0) runs no iteration: θ, rng, counters and history unchanged, no log file."""
    agent = small(log_dir=str(tmp_path))
    theta, vtheta = agent.theta.copy(), agent.value_theta.copy()
    state = agent.rng.bit_generator.state
    assert agent.learn(0) is agent
    np.testing.assert_array_equal(agent.theta, theta)
    np.testing.assert_array_equal(agent.value_theta, vtheta)
    assert agent.rng.bit_generator.state == state
    assert agent.num_timesteps == 0 and agent.iteration == 0 and agent.history == []
    assert not os.path.exists(tmp_path / "progress.csv")


def test_callback_false_stops_after_one_iteration():
    """A callback returning False stops learning after the iteration it was called for."""
    calls = []

    def stop(agent, row):
        calls.append(row)
        return False

    agent = small()
    agent.learn(64 * 5, callback=stop, progress_bar=False)
    assert agent.iteration == 1 and len(calls) == 1 and calls[0] is agent.history[-1]
    agent2 = small()
    agent2.learn(64 * 3, callback=lambda a, r: None, progress_bar=False)
    assert agent2.iteration == 3  # None continues


def test_same_seed_bit_identical_different_seed_differs():
    """Same seed: bit-identical θ, value θ and history (bar timings); another seed differs."""
    a, b, c = small(seed=7), small(seed=7), small(seed=8)
    for x in (a, b, c):
        x.learn(192, progress_bar=False)
    np.testing.assert_array_equal(a.theta, b.theta)
    np.testing.assert_array_equal(a.value_theta, b.value_theta)
    assert_same_rows(a.history, b.history)
    assert not np.array_equal(a.theta, c.theta)
    assert not np.array_equal(a.value_theta, c.value_theta)


def test_agent_gae_bootstraps_truncation_from_final_obs(monkeypatch):
    """In the agent, the GAE next-value at a truncated step is V(final obs), not V(reset obs)."""
    seen = {}
    real_gae, real_collect = agent_module.gae, agent_module.collect

    def spy_collect(*args, **kw):
        out = real_collect(*args, **kw)
        seen["rollout"] = out[0]
        return out

    def spy_gae(*args, **kw):
        seen["gae"], seen["value_theta"] = args, agent.value_theta.copy()
        return real_gae(*args, **kw)

    monkeypatch.setattr(agent_module, "collect", spy_collect)
    monkeypatch.setattr(agent_module, "gae", spy_gae)
    agent = TRPO(
        counter_vec(AutoresetMode.SAME_STEP), n_steps=16, hidden=(), value_hidden=(4,), seed=0
    )
    agent.learn(32, progress_bar=False)  # one iteration
    ro = seen["rollout"]
    rewards, V, V_next, term, trunc = seen["gae"]

    def v(s):
        return float(agent.value.predict(seen["value_theta"], np.asarray([s], dtype=float))[0])

    assert trunc[4, 1]  # env 1 starts with a 5-step episode cut by the TimeLimit
    for t, i in zip(*np.nonzero(trunc), strict=True):
        k, e = ro.obs[t, i]
        np.testing.assert_array_equal(ro.next_obs[t, i], [k + 1, e])  # the final obs
        assert V_next[t, i] == pytest.approx(v([k + 1, e]), rel=1e-12)
        if t + 1 < ro.n_steps:
            np.testing.assert_array_equal(ro.obs[t + 1, i], [0, e + 1])  # the reset obs
            assert abs(V_next[t, i] - v([0, e + 1])) > 1e-6
    not_done = ~(term | trunc)[:-1]
    np.testing.assert_array_equal(V_next[:-1][not_done], V[1:][not_done])


# ------------------------------------------------------------------ acting and evaluation
def test_predict_shapes_and_deterministic_is_mode():
    """predict: scalar action for one obs, (N,) for a batch; deterministic equals the mode."""
    agent = small()
    agent.learn(64, progress_bar=False)
    obs = np.random.default_rng(0).normal(size=(5, 4))
    a1 = agent.predict(obs[0])
    assert np.shape(a1) == () and int(a1) in (0, 1)
    batch = agent.predict(obs)
    assert batch.shape == (5,)
    np.testing.assert_array_equal(batch, agent.policy.mode(agent.theta, obs))
    sampled = agent.predict(obs, deterministic=False, rng=np.random.default_rng(1))
    assert sampled.shape == (5,)
    again = agent.predict(obs, deterministic=False, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(sampled, again)


def test_predict_gaussian_shapes_and_normalised_mode():
    """predict (Box, normalised obs): shapes, mode of the normalised obs, stats untouched."""
    agent = small("Pendulum-v1", normalize_obs=True)
    agent.learn(64, progress_bar=False)
    stats = agent.obs_normalizer.state_dict()
    obs = np.random.default_rng(0).normal(size=(5, 3))
    assert agent.predict(obs[0]).shape == (1,)
    batch = agent.predict(obs)
    assert batch.shape == (5, 1)
    x = agent.obs_normalizer.normalize(obs, update=False)
    np.testing.assert_array_equal(batch, np.clip(agent.policy.mode(agent.theta, x), -2, 2))
    for k, v in agent.obs_normalizer.state_dict().items():
        np.testing.assert_array_equal(v, stats[k])


def test_predict_clips_box_actions():
    """Box actions from predict lie within the action bounds (mean and samples)."""
    agent = small("Pendulum-v1", hidden=())  # θ = W (3), b (1), log-std (1)
    obs = np.zeros((50, 3))
    agent.theta[3] = 100.0
    np.testing.assert_array_equal(agent.predict(obs), 2.0)
    agent.theta[3] = -100.0
    np.testing.assert_array_equal(agent.predict(obs[0]), [-2.0])
    agent.theta[3], agent.theta[4] = 0.0, 5.0  # σ = e⁵: most samples fall outside [-2, 2]
    sampled = agent.predict(obs, deterministic=False, rng=np.random.default_rng(0))
    assert sampled.min() == -2.0 and sampled.max() == 2.0


def test_evaluate_returns_documented_keys_and_is_reproducible():
    """evaluate(n_episodes=2): documented keys, consistent statistics, same result twice."""
    agent = small()
    agent.learn(64, progress_bar=False)
    ev = agent.evaluate(n_episodes=2)
    assert set(ev) == EVAL_KEYS
    assert len(ev["returns"]) == len(ev["lengths"]) == 2
    assert ev["mean_return"] == pytest.approx(np.mean(ev["returns"]))
    assert ev["std_return"] == pytest.approx(np.std(ev["returns"]))
    assert ev["mean_length"] == pytest.approx(np.mean(ev["lengths"]))
    assert ev["returns"] == [float(n) for n in ev["lengths"]]  # CartPole: +1 per step
    assert agent.evaluate(n_episodes=2) == ev
    stoch = agent.evaluate(n_episodes=2, deterministic=False, seed=3)
    assert agent.evaluate(n_episodes=2, deterministic=False, seed=3) == stoch
    with pytest.raises(ValueError, match="n_episodes"):
        agent.evaluate(n_episodes=0)


def test_single_env_instance_is_wrapped():
    """A gymnasium Env instance is used as a one-env vector env; evaluate uses its id."""
    agent = TRPO(gym.make("CartPole-v1"), n_steps=32, hidden=(8,), value_hidden=(8,), seed=0)
    assert agent.config.n_envs == 1 and agent.env_id == "CartPole-v1"
    agent.learn(32, progress_bar=False)
    assert agent.num_timesteps == 32
    assert set(agent.evaluate(n_episodes=1)) == EVAL_KEYS


def test_async_vectorization_smoke(tmp_path):
    """vectorization='async' learns with a tiny budget, saves and loads (env state inexact)."""
    agent = small(vectorization="async", n_steps=16)
    try:
        agent.learn(32, progress_bar=False)
        assert agent.num_timesteps == 32 and len(agent.history) == 1
        path = str(tmp_path / "async.npz")
        agent.save(path)
    finally:
        agent.env.close()
    loaded = TRPO.load(path)
    try:
        np.testing.assert_array_equal(loaded.theta, agent.theta)
        loaded.learn(32, progress_bar=False)
        assert loaded.num_timesteps == 64
    finally:
        loaded.env.close()


# ------------------------------------------------------------------ checkpoints
def test_save_load_round_trip(tmp_path):
    """save/load keeps θ, value θ, normaliser and reward-scaler stats, tracker, rng, counters."""
    agent = small(normalize_obs=True, normalize_reward=True)
    agent.learn(128, progress_bar=False)
    path = str(tmp_path / "agent.npz")
    agent.save(path)
    loaded = TRPO.load(path)
    np.testing.assert_array_equal(loaded.theta, agent.theta)
    np.testing.assert_array_equal(loaded.value_theta, agent.value_theta)
    for name in ("obs_normalizer", "reward_scaler", "tracker"):
        sa, sb = getattr(agent.state, name).state_dict(), getattr(loaded.state, name).state_dict()
        assert set(sa) == set(sb)
        for k in sa:
            np.testing.assert_array_equal(sb[k], sa[k])
    assert (loaded.num_timesteps, loaded.num_episodes, loaded.iteration) == (
        agent.num_timesteps,
        agent.num_episodes,
        agent.iteration,
    )
    assert loaded.seed == agent.seed and loaded.hyper == agent.hyper
    assert loaded.rng.bit_generator.state == agent.rng.bit_generator.state
    np.testing.assert_array_equal(loaded.state.last_obs, agent.state.last_obs)


def test_checkpoint_loads_with_plain_numpy(tmp_path):
    """The agent checkpoint is a pickle-free npz: np.load(allow_pickle=False) reads it."""
    agent = small()
    agent.learn(64, progress_bar=False)
    path = str(tmp_path / "agent.npz")
    agent.save(path)
    with np.load(path, allow_pickle=False) as npz:
        assert "__config__" in npz.files
        np.testing.assert_array_equal(npz["policy_theta"], agent.theta)
        np.testing.assert_array_equal(npz["value_theta"], agent.value_theta)
        for key in npz.files:
            assert not npz[key].dtype.hasobject


def _resume_pair(tmp_path, env_id, **kw):
    """Run A: 2 iterations, save, load, 2 more; run B: 4 iterations uninterrupted."""
    opts = dict(n_steps=64, normalize_obs=True, normalize_reward=True, seed=11, **kw)
    a = small(env_id, **opts)
    a.learn(2 * a.batch_size, progress_bar=False)
    path = str(tmp_path / "a.npz")
    a.save(path)
    del a
    resumed = TRPO.load(path)
    resumed.learn(2 * resumed.batch_size, progress_bar=False)
    b = small(env_id, **opts)
    b.learn(4 * b.batch_size, progress_bar=False)
    return resumed, b


@pytest.mark.parametrize("env_id", CLASSIC)
def test_resume_is_bit_identical_to_uninterrupted_run(tmp_path, env_id):
    """learn 2 + save + load + learn 2 equals learn 4 bit for bit (θ, value θ, stats, logs)."""
    resumed, b = _resume_pair(tmp_path, env_id)
    np.testing.assert_array_equal(resumed.theta, b.theta)
    np.testing.assert_array_equal(resumed.value_theta, b.value_theta)
    for k, v in b.obs_normalizer.state_dict().items():
        np.testing.assert_array_equal(resumed.obs_normalizer.state_dict()[k], v)
    for k, v in b.reward_scaler.state_dict().items():
        np.testing.assert_array_equal(resumed.reward_scaler.state_dict()[k], v)
    assert resumed.num_timesteps == b.num_timesteps == 4 * b.batch_size
    assert_same_rows(resumed.history, b.history[2:])


def test_crash_during_save_keeps_previous_checkpoint(tmp_path, monkeypatch):
    """A failure while writing leaves the previous checkpoint intact, loadable, no temp files."""
    agent = small()
    agent.learn(64, progress_bar=False)
    path = str(tmp_path / "agent.npz")
    agent.save(path)
    saved_theta = agent.theta.copy()
    agent.learn(64, progress_bar=False)
    assert not np.array_equal(agent.theta, saved_theta)
    real_write = checkpoint._write_npz

    def crash(f, members):
        real_write(f, dict(list(members.items())[:2]))  # half an archive on disk, then die
        raise OSError("simulated crash mid-write")

    monkeypatch.setattr(checkpoint, "_write_npz", crash)
    with pytest.raises(OSError, match="simulated crash"):
        agent.save(path)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["agent.npz"]
    loaded = TRPO.load(path)
    np.testing.assert_array_equal(loaded.theta, saved_theta)
    assert loaded.iteration == 1


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_damaged_checkpoint_raises_checkpoint_error_naming_path(tmp_path, damage):
    """A truncated, garbage or empty file raises CheckpointError (a ValueError) with the path."""
    agent = small()
    path = str(tmp_path / "agent.npz")
    agent.save(path)
    data = open(path, "rb").read()
    new = {"truncated": data[: len(data) // 2], "garbage": b"not a zip" * 50, "empty": b""}
    with open(path, "wb") as f:
        f.write(new[damage])
    with pytest.raises(CheckpointError) as info:
        TRPO.load(path)
    assert isinstance(info.value, ValueError)
    assert path in str(info.value)


def test_non_agent_checkpoint_rejected(tmp_path):
    """A valid checkpoint that is not an agent's raises ValueError naming the path."""
    path = str(tmp_path / "other.npz")
    save_checkpoint(path, {"theta": np.zeros(3)}, {"what": "not an agent"})
    with pytest.raises(ValueError, match="not a TRPO agent checkpoint") as info:
        TRPO.load(path)
    assert path in str(info.value)


def test_load_with_mismatched_env_raises(tmp_path):
    """A CartPole checkpoint loaded with env='Pendulum-v1' raises ValueError on the mismatch."""
    agent = small()
    path = str(tmp_path / "cartpole.npz")
    agent.save(path)
    with pytest.raises(ValueError, match="does not match"):
        TRPO.load(path, env="Pendulum-v1")


# ------------------------------------------------------------------ bad inputs
def test_unknown_env_id_raises_naming_it():
    """An unknown environment id raises ValueError naming the id."""
    with pytest.raises(ValueError, match="NoSuchEnv-v0"):
        TRPO("NoSuchEnv-v0")


@pytest.mark.parametrize(
    "kw, name",
    [
        (dict(action_space=spaces.MultiDiscrete([2, 3])), "MultiDiscrete"),
        (dict(action_space=spaces.Box(-1, 1, (2, 2))), "Box"),
        (dict(observation_space=spaces.Dict({"x": spaces.Box(-1, 1, (2,))})), "Dict"),
        (dict(observation_space=spaces.Box(0, 1, (2, 2))), "Box"),
    ],
)
def test_unsupported_spaces_raise_naming_the_space(kw, name):
    """Unsupported action/observation spaces raise ValueError naming the space."""
    with pytest.raises(ValueError, match=name):
        TRPO(CounterEnv(**kw), n_steps=16, seed=0)


def test_policy_kind_incompatible_with_space_raises():
    """policy='categorical' on a Box action space raises ValueError naming the space."""
    with pytest.raises(ValueError, match="Box"):
        small("Pendulum-v1", policy="categorical")


@pytest.mark.parametrize(
    "timesteps, error", [(-1, ValueError), (1.5, TypeError), ("100", TypeError), (True, TypeError)]
)
def test_bad_total_timesteps(timesteps, error):
    """Negative total_timesteps → ValueError; non-int → TypeError (both name the argument)."""
    agent = small()
    with pytest.raises(error, match="total_timesteps"):
        agent.learn(timesteps, progress_bar=False)
    assert agent.num_timesteps == 0


@pytest.mark.parametrize(
    "kw, name",
    [
        (dict(gamma=1.5), "gamma"),
        (dict(gae_lambda=-0.1), "gae_lambda"),
        (dict(n_steps=0), "n_steps"),
        (dict(n_envs=0), "n_envs"),
        (dict(delta=-1), "delta"),
        (dict(damping=-1.0), "damping"),
        (dict(update="sgd"), "update"),
        (dict(policy="beta"), "policy"),
        (dict(vectorization="threads"), "vectorization"),
        (dict(seed=-1), "seed"),
        (dict(pg_lr=0.0), "pg_lr"),
    ],
)
def test_bad_hyperparameters_raise_naming_the_argument(kw, name):
    """A bad hyperparameter raises ValueError whose message names the argument."""
    with pytest.raises(ValueError, match=name):
        small(**kw)


def test_non_env_raises_type_error():
    """TRPO(object()) raises TypeError (not an id, Env or VectorEnv)."""
    with pytest.raises(TypeError, match="env"):
        TRPO(object())


# ------------------------------------------------------------------ learning
# Seed 0 is fixed so that the run is deterministic (bit-identical on a given platform, see
# test_same_seed_bit_identical_different_seed_differs) and the test cannot flake. Short runs
# are chaotic: a rounding-level change in the sampler moved seed 0's evaluation after 30 720
# steps from 500 to 221 (seeds 0-5: 221-500). After 51 200 steps seeds 0-5 all evaluate at
# 500.0 over 5 episodes (random policy ≈ 22), in ≈ 3 s; the threshold 300 leaves a wide margin
# for a platform whose rounding changes the trajectory.
CARTPOLE_STEPS, CARTPOLE_MIN_RETURN = 51_200, 300.0


def test_cartpole_learns():
    """A short CartPole run's deterministic evaluation return rises far above random (≥ 300)."""
    agent = TRPO("CartPole-v1", n_envs=2, n_steps=512, damping=1e-3, gae_lambda=0.98, seed=0)
    agent.learn(CARTPOLE_STEPS, progress_bar=False)
    assert agent.num_timesteps == CARTPOLE_STEPS
    ev = agent.evaluate(n_episodes=5)
    assert ev["mean_return"] >= CARTPOLE_MIN_RETURN, ev
    first, last = agent.history[0]["ep_return_mean"], agent.history[-1]["ep_return_mean"]
    assert last > 2 * first


def test_parallel_value_fit_is_bit_identical_to_serial():
    """Fitting V in its helper process beside the policy step and the next rollout changes no
    bit of the run."""
    runs = []
    for parallel in (True, False):
        agent = TRPO("Pendulum-v1", n_steps=64, seed=5, parallel_value_fit=parallel)
        agent.learn(256, progress_bar=False)
        runs.append(agent)
    a, b = runs
    assert np.array_equal(a.theta, b.theta) and np.array_equal(a.value_theta, b.value_theta)
    keys = ("value_loss", "explained_variance", "kl", "surrogate_gain")
    assert [[r[k] for k in keys] for r in a.history] == [[r[k] for k in keys] for r in b.history]


def test_returns_whose_squares_overflow_are_refused_by_name():
    """check_returns names the env steps and the remedy; ordinary returns pass."""
    from npytrpo.logs import check_returns

    check_returns(np.array([1.0, -2.0, 1e100]), 0, 3)
    with pytest.raises(ValueError, match=r"env steps 64\.\.96.*normalize_reward"):
        check_returns(np.array([1.0, 2e161]), 64, 32)
