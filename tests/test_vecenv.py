"""Tests for npytrpo.vecenv: the lean SAME_STEP ``step`` against gymnasium's ``SyncVectorEnv``.

The property is equality, bit for bit: the same sub-envs stepped with the same actions through
``SameStepSyncVectorEnv`` and through gymnasium's own class give the same observations, rewards,
episode ends and info dicts (keys, masks, final observations and infos), across many episode
ends (short time limits force them), and the same env state afterwards.
"""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.vector import AsyncVectorEnv, AutoresetMode, SyncVectorEnv
from hypothesis import given, settings
from hypothesis import strategies as st
from toy_envs import CounterEnv, make_counter

from npytrpo.rollout import make_vector_env
from npytrpo.vecenv import SameStepSyncVectorEnv, lean_step_applies

CLASSIC = ["CartPole-v1", "Acrobot-v1", "MountainCar-v0", "MountainCarContinuous-v0", "Pendulum-v1"]


def pair(make_one, n_envs, mode=AutoresetMode.SAME_STEP, copy=False):
    """gymnasium's SyncVectorEnv and SameStepSyncVectorEnv over the same sub-env factories:
    ``make_one`` for every sub-env, or a list of one factory per sub-env (``n_envs`` None)."""
    fns = make_one if n_envs is None else [make_one] * n_envs
    return (
        SyncVectorEnv(fns, autoreset_mode=mode, copy=copy),
        SameStepSyncVectorEnv(fns, autoreset_mode=mode, copy=copy),
    )


def assert_same_info(a: dict, b: dict) -> None:
    """Equal info dicts: the same keys, and per key equal arrays (object arrays element-wise,
    nested dicts recursively)."""
    assert sorted(a) == sorted(b)
    for k in a:
        x, y = a[k], b[k]
        if isinstance(x, dict):
            assert_same_info(x, y)
        elif x.dtype == object:
            assert len(x) == len(y)
            for u, v in zip(x, y, strict=True):
                if isinstance(u, dict):
                    assert_same_info(u, v)
                else:
                    np.testing.assert_array_equal(u, v)
        else:
            assert x.dtype == y.dtype
            np.testing.assert_array_equal(x, y)


def run_both(ref, lean, n_steps, seed):
    """Step both vector envs with the same random actions; assert equal results at every step;
    return how many steps ended at least one episode."""
    o_ref, _ = ref.reset(seed=seed)
    o_lean, _ = lean.reset(seed=seed)
    np.testing.assert_array_equal(o_lean, o_ref)
    ref.action_space.seed(seed)
    ends = 0
    for _ in range(n_steps):
        a = ref.action_space.sample()
        r_ref, r_lean = ref.step(a), lean.step(a)
        for x, y in zip(r_ref[:4], r_lean[:4], strict=True):
            assert x.dtype == y.dtype and x.shape == y.shape
            np.testing.assert_array_equal(y, x)
        assert_same_info(r_ref[4], r_lean[4])
        ends += bool((r_ref[2] | r_ref[3]).any())
    np.testing.assert_array_equal(lean._autoreset_envs, ref._autoreset_envs)
    return ends


@pytest.mark.parametrize("env_id", CLASSIC)
@settings(max_examples=12)
@given(seed=st.integers(0, 2**31 - 1), n_envs=st.integers(1, 3))
def test_classic_envs_step_as_gymnasium(env_id, seed, n_envs):
    """Classic-control envs (time limit 25 steps): every step's arrays and infos equal
    gymnasium's SyncVectorEnv's, across episode ends."""
    ref, lean = pair(lambda: gym.make(env_id, max_episode_steps=25), n_envs)
    assert lean_step_applies(lean)
    assert run_both(ref, lean, 80, seed) >= 3


class InfoEnv(CounterEnv):
    """A counter that returns infos: an int, a float array and a nested dict on its steps, and
    ``{"reset": episode}`` on its resets."""

    def reset(self, *, seed=None, options=None):
        obs, _ = super().reset(seed=seed, options=options)
        return obs, {"reset": self.episode}

    def step(self, action):
        obs, r, term, trunc, _ = super().step(action)
        info = {"t": self.t, "vec": np.full(3, self.t / 2), "nested": {"e": float(self.episode)}}
        return obs, r, term, trunc, info if self.t % 2 else {}


def test_infos_and_final_infos_merge_as_gymnasium():
    """Sub-env infos (scalars, arrays, nested dicts, on some steps only) and the reset infos
    of SAME_STEP episode ends give gymnasium's info dict; the sub-envs run out of step with
    each other, so each info lands in its own sub-env's row and mask entry."""
    fns = [
        lambda: gym.wrappers.TimeLimit(InfoEnv(k_term=3), 5),
        lambda: gym.wrappers.TimeLimit(InfoEnv(k_term=2, first_episode=1), 4),
        lambda: gym.wrappers.TimeLimit(InfoEnv(k_term=4), 7),
    ]
    ref, lean = pair(fns, None)
    assert run_both(ref, lean, 40, 0) >= 10


def test_lean_path_is_taken_for_array_observations(monkeypatch):
    """For a Box/Discrete SAME_STEP env with array observations, ``step`` runs neither
    gymnasium's ``SyncVectorEnv.step`` nor its ``concatenate`` (the point of the class)."""
    import npytrpo.vecenv as vecenv

    def refuse(*args, **kwargs):
        raise AssertionError("gymnasium's generic path was taken")

    _, lean = pair(lambda: gym.make("CartPole-v1", max_episode_steps=10), 2)
    lean.reset(seed=0)
    monkeypatch.setattr(SyncVectorEnv, "step", refuse)
    monkeypatch.setattr(vecenv, "concatenate", refuse)
    ends = 0
    for t in range(25):
        ends += bool(lean.step(np.array([t % 2, 1]))[4])
    assert ends >= 2  # the episode ends took the lean path too


class ListObsEnv(CounterEnv):
    """A counter whose observations are lists, not arrays."""

    def reset(self, *, seed=None, options=None):
        obs, info = super().reset(seed=seed, options=options)
        return obs.tolist(), info

    def step(self, action):
        obs, *rest = super().step(action)
        return obs.tolist(), *rest


def test_non_array_observations_use_gymnasiums_stacking():
    """Observations that are not arrays of the space's shape go through gymnasium's
    ``concatenate``: the same batch as the base class."""
    ref, lean = pair(lambda: gym.wrappers.TimeLimit(ListObsEnv(), 5), 2)
    assert run_both(ref, lean, 20, 0) >= 3


class WrongShapeEnv(CounterEnv):
    """A counter whose step observation has one entry too many."""

    def step(self, action):
        obs, *rest = super().step(action)
        return np.append(obs, 0.0), *rest


def test_wrong_observation_shape_raises_as_gymnasium():
    """An observation of the wrong shape is not broadcast into the batch: it raises the
    ValueError that gymnasium's stacking raises."""
    ref, lean = pair(WrongShapeEnv, 2)
    for env in (ref, lean):
        env.reset(seed=0)
    with pytest.raises(ValueError) as from_ref:
        ref.step(np.array([0, 1]))
    with pytest.raises(ValueError) as from_lean:
        lean.step(np.array([0, 1]))
    assert str(from_lean.value) == str(from_ref.value)


def test_observations_of_another_dtype_are_cast_as_gymnasium_casts():
    """An env whose observations are not of its space's dtype goes through gymnasium's
    stacking: float32 observations into a float64 batch give the same batch, float64 ones into
    an integer batch raise the TypeError gymnasium raises (not a silent truncation)."""
    box64 = spaces.Box(-np.inf, np.inf, (2,), np.float64)

    class Float32Obs(CounterEnv):
        def _obs(self):
            return np.array([self.t + 0.1, self.episode], dtype=np.float32)

    ref, lean = pair(lambda: gym.wrappers.TimeLimit(Float32Obs(observation_space=box64), 5), 2)
    assert run_both(ref, lean, 20, 0) >= 3

    class FloatStepObs(CounterEnv):  # int64 on reset, float64 on step
        def reset(self, *, seed=None, options=None):
            obs, info = super().reset(seed=seed, options=options)
            return obs.astype(np.int64), info

    ints = spaces.Box(-100, 100, (2,), np.int64)
    ref, lean = pair(lambda: FloatStepObs(observation_space=ints), 2)
    errors = []
    for env in (ref, lean):
        env.reset(seed=0)
        with pytest.raises(TypeError) as err:
            env.step(np.array([0, 1]))
        errors.append(str(err.value))
    assert errors[0] == errors[1]


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.DISABLED])
def test_other_autoreset_modes_are_gymnasiums_step(mode, monkeypatch):
    """NEXT_STEP and DISABLED modes take the base class's ``step`` (called, and equal)."""
    ref, lean = pair(lambda: make_counter(3, 5), 2, mode=mode)
    assert not lean_step_applies(lean)
    calls = []
    base = SyncVectorEnv.step
    monkeypatch.setattr(SyncVectorEnv, "step", lambda self, a: calls.append(1) or base(self, a))
    for env in (ref, lean):
        env.reset(seed=0)
    np.testing.assert_array_equal(lean.step(np.array([0, 1]))[0], ref.step(np.array([0, 1]))[0])
    assert len(calls) == 2


def test_other_spaces_are_gymnasiums_step():
    """A MultiDiscrete action space or a Dict observation space is not the lean path's."""
    md = lambda: make_counter(action_space=spaces.MultiDiscrete([2, 2]))  # noqa: E731
    assert not lean_step_applies(SameStepSyncVectorEnv([md], autoreset_mode="SameStep"))
    box = spaces.Box(-np.inf, np.inf, (2,), np.float64)
    dict_obs = lambda: make_counter(observation_space=spaces.Dict({"o": box}))  # noqa: E731
    assert not lean_step_applies(SameStepSyncVectorEnv([dict_obs], autoreset_mode="SameStep"))


@pytest.mark.parametrize("copy", [False, True])
def test_copy_flag_as_gymnasium(copy):
    """``copy=False`` returns the env's own observation buffer (the same object every step),
    ``copy=True`` a fresh array; rewards and episode ends are always copies."""
    _, lean = pair(lambda: gym.make("CartPole-v1"), 2, copy=copy)
    lean.reset(seed=0)
    first = lean.step(np.array([0, 1]))
    second = lean.step(np.array([1, 0]))
    assert (first[0] is second[0]) is not copy
    assert first[1] is not lean._rewards and first[2] is not lean._terminations


def test_make_vector_env_builds_it_and_keeps_the_spec():
    """``make_vector_env`` gives the lean class for "sync" (with gymnasium's spec and
    metadata), gymnasium's AsyncVectorEnv for "async"; ``adopt`` leaves other classes alone."""
    env = make_vector_env("CartPole-v1", 2)
    assert type(env) is SameStepSyncVectorEnv and env._lean
    assert env.spec.id == "CartPole-v1" and env.spec.kwargs["num_envs"] == 2
    assert env.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    env.close()
    env = make_vector_env("CartPole-v1", 1, vectorization="async")
    assert type(env) is AsyncVectorEnv
    assert SameStepSyncVectorEnv.adopt(env) is env and type(env) is AsyncVectorEnv
    env.close()
