"""Tests for npytrpo.io.envstate: snapshot/restore of vector envs' sub-environment state.

The check is behavioural: an env restored from a snapshot, stepped with the same actions as the
original, must give identical observations, rewards and episode ends, including across an
episode boundary (where autoreset draws the new initial state from the restored np_random and
the TimeLimit counter decides truncation).
"""

import json

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode, SyncVectorEnv
from toy_envs import counter_vec

from npytrpo.io import envstate
from npytrpo.rollout import make_vector_env

CLASSIC = ["CartPole-v1", "Acrobot-v1", "MountainCar-v0", "MountainCarContinuous-v0", "Pendulum-v1"]
N_ENVS = 2


def actions_for(vec, n, seed):
    """``n`` batches of random actions for ``vec`` (same sequence for the same seed)."""
    space = vec.action_space
    space.seed(seed)
    return [space.sample() for _ in range(n)]


def step_all(vec, actions):
    """Observations, rewards, terminated, truncated of stepping ``vec`` through ``actions``."""
    out = [vec.step(a)[:4] for a in actions]
    return [np.stack(x) for x in zip(*out, strict=True)]


def json_round_trip(arrays, meta):
    """What a checkpoint stores: arrays copied, metadata through JSON."""
    return {k: np.array(v) for k, v in arrays.items()}, json.loads(json.dumps(meta))


@pytest.mark.parametrize("env_id", CLASSIC)
def test_restore_reproduces_trajectory_across_episode_boundary(env_id):
    """After restore, same actions give identical obs/rewards/dones, across an episode end."""
    limit = gym.spec(env_id).max_episode_steps
    a = make_vector_env(env_id, N_ENVS)
    a.reset(seed=1)
    step_all(a, actions_for(a, limit - 10, 2))  # mid-episode, near the time limit
    arrays, meta = json_round_trip(*envstate.snapshot(a))
    assert meta["exact"]

    b = make_vector_env(env_id, N_ENVS)
    b.reset(seed=99)  # a different state and np_random, to be overwritten
    assert envstate.restore(b, arrays, meta)
    acts = actions_for(a, 40, 3)
    obs_a, rew_a, term_a, trunc_a = step_all(a, acts)
    obs_b, rew_b, term_b, trunc_b = step_all(b, acts)
    assert (term_a | trunc_a).any()  # the comparison crosses an episode boundary
    np.testing.assert_array_equal(obs_b, obs_a)
    np.testing.assert_array_equal(rew_b, rew_a)
    np.testing.assert_array_equal(term_b, term_a)
    np.testing.assert_array_equal(trunc_b, trunc_a)
    a.close()
    b.close()


def test_restore_next_step_mode_keeps_pending_autoreset():
    """NEXT_STEP: a snapshot taken right after an episode end restores the pending reset."""
    fns = [lambda: gym.make("CartPole-v1") for _ in range(N_ENVS)]
    a = SyncVectorEnv(fns, autoreset_mode=AutoresetMode.NEXT_STEP)
    a.reset(seed=5)
    rng = np.random.default_rng(0)
    for _ in range(500):
        *_, term, trunc, _ = a.step(rng.integers(0, 2, N_ENVS))
        if (term | trunc).any():
            break
    assert (term | trunc).any()
    arrays, meta = json_round_trip(*envstate.snapshot(a))
    assert "vec/autoreset_envs" in arrays and arrays["vec/autoreset_envs"].any()
    b = SyncVectorEnv(fns, autoreset_mode=AutoresetMode.NEXT_STEP)
    b.reset(seed=6)
    assert envstate.restore(b, arrays, meta)
    acts = actions_for(a, 30, 7)
    for x, y in zip(step_all(a, acts), step_all(b, acts), strict=True):
        np.testing.assert_array_equal(y, x)


def test_snapshot_is_a_copy():
    """Stepping the env after a snapshot does not change the snapshot's arrays."""
    a = make_vector_env("CartPole-v1", N_ENVS)
    a.reset(seed=0)
    arrays, meta = envstate.snapshot(a)
    saved = {k: v.copy() for k, v in arrays.items()}
    step_all(a, actions_for(a, 5, 0))
    for k, v in arrays.items():
        np.testing.assert_array_equal(v, saved[k])


def test_non_classic_env_is_inexact_and_not_restored():
    """A custom env (module not in EXACT_MODULES): snapshot inexact, restore False, no change."""
    a = counter_vec(AutoresetMode.SAME_STEP)
    a.reset(seed=0)
    a.step(np.zeros(2, dtype=np.int64))
    arrays, meta = envstate.snapshot(a)
    assert meta["exact"] is False and arrays == {}
    assert "CounterEnv" in meta["reason"]
    b = counter_vec(AutoresetMode.SAME_STEP)
    b.reset(seed=0)
    assert envstate.restore(b, arrays, meta) is False
    assert [e.unwrapped.t for e in b.envs] == [0, 0]


def test_listed_module_makes_custom_env_exact(monkeypatch):
    """Adding the custom env's module to EXACT_MODULES makes its state snapshot and restore."""
    monkeypatch.setattr(envstate, "EXACT_MODULES", [*envstate.EXACT_MODULES, "toy_envs"])
    a = counter_vec(AutoresetMode.SAME_STEP)
    a.reset(seed=0)
    for _ in range(2):
        a.step(np.zeros(2, dtype=np.int64))
    arrays, meta = json_round_trip(*envstate.snapshot(a))
    assert meta["exact"]
    b = counter_vec(AutoresetMode.SAME_STEP)
    b.reset(seed=0)
    assert envstate.restore(b, arrays, meta)
    acts = [np.zeros(2, dtype=np.int64)] * 8
    for x, y in zip(step_all(a, acts), step_all(b, acts), strict=True):
        np.testing.assert_array_equal(y, x)


def test_restore_refuses_mismatched_env():
    """A snapshot of one env class or env count is not restored into another (returns False)."""
    a = make_vector_env("CartPole-v1", N_ENVS)
    a.reset(seed=0)
    arrays, meta = envstate.snapshot(a)
    other = make_vector_env("Pendulum-v1", N_ENVS)
    other.reset(seed=0)
    state = other.envs[0].unwrapped.state.copy()
    assert envstate.restore(other, arrays, meta) is False
    np.testing.assert_array_equal(other.envs[0].unwrapped.state, state)
    fewer = make_vector_env("CartPole-v1", 1)
    fewer.reset(seed=0)
    assert envstate.restore(fewer, arrays, meta) is False


def test_async_vector_env_is_inexact():
    """An async vector env has no in-process envs: its snapshot is marked inexact."""
    vec = make_vector_env("CartPole-v1", N_ENVS, vectorization="async")
    try:
        vec.reset(seed=0)
        arrays, meta = envstate.snapshot(vec)
        assert meta["exact"] is False and arrays == {}
        assert envstate.restore(vec, arrays, meta) is False
    finally:
        vec.close()
