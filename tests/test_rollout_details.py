"""Details of the rollout's contract that test_rollout.py leaves open (issue 17).

Mutation testing of ``npytrpo/rollout.py`` found these unpinned: ``next_values`` (only the
agent's learning runs used it), the index shift of ``Discrete(n, start=k)``, gSDE's
``noise_every`` reaching the sampler, ``make_vector_env``'s options, ``autoreset_mode``'s
default and string form, and what the returned arrays share with the caller's.
"""

import re

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, SyncVectorEnv
from toy_envs import counter_vec, make_counter

from npytrpo.gsde import GSDEHead
from npytrpo.policies import CategoricalPolicy, Policy
from npytrpo.rollout import (
    EpisodeTracker,
    Rollout,
    autoreset_mode,
    collect,
    make_vector_env,
    next_values,
)

SAME, NEXT = AutoresetMode.SAME_STEP, AutoresetMode.NEXT_STEP


def _exact(message: str) -> str:
    return "^" + re.escape(message) + "$"


def _counter_rollout(mode, n_steps, firsts=(0, 1), policy=None, **kw):
    vec = counter_vec(mode, firsts, 3, 5, **kw)
    obs, _ = vec.reset(seed=0)
    pi = CategoricalPolicy(2, 2, hidden=()) if policy is None else policy
    ro, last, pending = collect(
        vec, pi, pi.init(0), obs, n_steps, np.random.default_rng(0), tracker=EpisodeTracker(2)
    )
    return vec, ro, last, pending


def _V(s):
    """A value function that tells every counter state apart: V([k, e]) = 1 + 2k + 10e."""
    return 1.0 + 2.0 * s[..., 0] + 10.0 * s[..., 1]


# ================================================================ next_values
@pytest.mark.parametrize("mode", [SAME, NEXT])
def test_next_values_is_v_of_the_real_next_state_predicting_only_where_needed(mode):
    """``V_next[t] = V(s_{t+1})`` of the real successor (the final observation where an episode
    ended); ``predict`` sees only the rows after an episode end, NEXT_STEP reset rows and the
    last row, once, in row-major (t, env) order; elsewhere V[t + 1] is reused."""
    _, ro, _, _ = _counter_rollout(mode, 9)
    seen = []

    def predict(x):
        seen.append(x.copy())
        return _V(x)

    got = next_values(ro, _V(ro.obs), predict)
    np.testing.assert_array_equal(got, _V(ro.next_obs))
    fresh = ro.terminated | ro.truncated | ~ro.valid
    fresh[-1] = True
    assert len(seen) == 1
    np.testing.assert_array_equal(seen[0], ro.next_obs[fresh])
    assert fresh.sum() < fresh.size  # the reuse of V[t + 1] is exercised


def test_next_values_reuses_the_next_rows_value_where_the_episode_goes_on():
    """Where no episode ended, ``V_next[t]`` is the V given for row t + 1 (not recomputed)."""
    _, ro, _, _ = _counter_rollout(SAME, 9)
    V = np.arange(18.0).reshape(9, 2)
    got = next_values(ro, V, lambda x: np.full(x.shape[0], -1.0))
    fresh = ro.terminated | ro.truncated
    fresh[-1] = True
    np.testing.assert_array_equal(got[~fresh], V[1:][~fresh[:-1]])
    np.testing.assert_array_equal(got[fresh], -1.0)
    assert V.tolist() == np.arange(18.0).reshape(9, 2).tolist()  # V itself is not written


# ================================================================ actions to the env
@pytest.mark.parametrize("start", [1, 3, -2])
def test_discrete_actions_are_shifted_by_the_space_start_only_for_the_env(start):
    """``Discrete(n, start=k)``: the env receives a + k, the rollout stores the index a."""
    vec, ro, _, _ = _counter_rollout(SAME, 8, action_space=spaces.Discrete(2, start=start))
    assert ro.actions.dtype == np.int64 and set(np.unique(ro.actions)) == {0, 1}
    for i in range(2):
        received = np.array(vec.envs[i].unwrapped.received)
        np.testing.assert_array_equal(received, ro.actions[:, i] + start)


@pytest.mark.parametrize("noise_every", [-1, 1, 3])
def test_gsde_rollout_acts_with_the_samplers_noise_period(noise_every):
    """A gSDE policy's rollout actions are those of ``policy.sampler(θ, noise_every=k)`` on the
    stored observations with the same generator (default k = −1: one noise draw a rollout)."""
    box = spaces.Box(-np.inf, np.inf, (2,), np.float64)
    pi = Policy(2, GSDEHead(2, 2, log_std_init=-0.5), hidden=())
    vec = counter_vec(SAME, (0, 1), 3, 5, action_space=box)
    obs, _ = vec.reset(seed=0)
    theta = pi.init(0)
    kw = {} if noise_every == -1 else {"noise_every": noise_every}
    ro, _, _ = collect(
        vec, pi, theta, obs, 7, np.random.default_rng(1), tracker=EpisodeTracker(2), **kw
    )
    act, rng = pi.sampler(theta, noise_every=noise_every), np.random.default_rng(1)
    expected = np.stack([act(ro.obs[t], rng) for t in range(7)])
    np.testing.assert_array_equal(ro.actions, expected)


# ================================================================ what is shared
def test_collect_leaves_the_callers_arrays_alone_and_returns_its_own():
    """``autoreset_pending`` and ``last_obs`` passed in are not written; the pending flags
    returned are another array; the last observation is the raw one after the last step."""
    vec = counter_vec(NEXT, (0, 1), 3, 5)
    obs, _ = vec.reset(seed=0)
    pi = CategoricalPolicy(2, 2, hidden=())
    obs_in, pending_in = obs.copy(), np.array([False, False])
    ro, last, pending = collect(
        vec, pi, pi.init(0), obs_in, 3, np.random.default_rng(0),
        tracker=EpisodeTracker(2), autoreset_pending=pending_in,
    )  # fmt: skip
    np.testing.assert_array_equal(obs_in, obs)
    assert not pending_in.any() and pending[0]  # env 0's episode ended on the last row
    assert not np.shares_memory(pending, pending_in)
    np.testing.assert_array_equal(last, [[3, 0], [3, 1]])  # after 3 steps of episodes 0, 1


def test_same_step_rollouts_leave_no_reset_pending():
    """SAME_STEP mode has no reset steps: the pending flags returned are a bool array of
    False, one per sub-env, even after episodes ended."""
    _, ro, _, pending = _counter_rollout(SAME, 8)
    assert (ro.terminated | ro.truncated).any()
    assert pending.dtype == np.bool_ and pending.tolist() == [False, False]


# ================================================================ small pieces
def test_rollout_sizes_count_steps_envs_and_valid_transitions():
    """n_steps = T, n_envs, and num_transitions = the number of valid rows, as an int."""
    _, ro, _, _ = _counter_rollout(NEXT, 9)
    assert (ro.n_steps, ro.n_envs) == (9, 2)
    assert ro.num_transitions == int(ro.valid.sum()) < 18
    assert type(ro.num_transitions) is int
    assert isinstance(ro, Rollout)


def test_episode_tracker_starts_at_zero_and_its_state_is_a_copy():
    """A new tracker holds zero float64 returns and int64 lengths, one per sub-env;
    ``state_dict`` returns copies and ``load_state_dict`` takes copies in those dtypes."""
    tracker = EpisodeTracker(3)
    assert tracker.returns.dtype == np.float64 and tracker.lengths.dtype == np.int64
    assert tracker.returns.tolist() == [0.0] * 3 and tracker.lengths.tolist() == [0] * 3
    state = tracker.state_dict()
    state["returns"][0], state["lengths"][0] = 5.0, 5
    assert tracker.returns[0] == 0.0 and tracker.lengths[0] == 0
    given = {"returns": np.array([1, 2, 3]), "lengths": np.array([4.0, 5.0, 6.0])}
    tracker.load_state_dict(given)
    assert tracker.returns.dtype == np.float64 and tracker.lengths.dtype == np.int64
    given["returns"][0] = 9
    assert tracker.returns.tolist() == [1.0, 2.0, 3.0] and tracker.lengths.tolist() == [4, 5, 6]


def test_make_vector_env_builds_same_step_copies_with_the_given_kwargs():
    """n_envs sync copies in SAME_STEP mode, no observation copy, ``env_kwargs`` reaching
    ``gymnasium.make``; another vectorization is refused by name."""
    env = make_vector_env("Pendulum-v1", 3, env_kwargs={"g": 5.0})
    assert env.num_envs == 3 and autoreset_mode(env) == SAME and env.copy is False
    assert [e.unwrapped.g for e in env.envs] == [5.0] * 3
    env.close()
    with pytest.raises(
        ValueError, match=_exact("vectorization must be 'sync' or 'async', got 'gpu'")
    ):
        make_vector_env("Pendulum-v1", 1, vectorization="gpu")


def test_autoreset_mode_defaults_to_next_step_and_reads_its_string_form():
    """No ``autoreset_mode`` in the metadata means gymnasium's default NEXT_STEP; the string
    values are read as the enum; DISABLED is refused with the exact message."""

    class Meta:
        def __init__(self, metadata):
            self.metadata = metadata

    assert autoreset_mode(Meta({})) is NEXT
    assert autoreset_mode(Meta({"autoreset_mode": "SameStep"})) is SAME
    assert autoreset_mode(Meta({"autoreset_mode": "NextStep"})) is NEXT
    message = (
        "env autoreset_mode must be SAME_STEP or NEXT_STEP, got AutoresetMode.DISABLED; "
        "DISABLED needs manual resets, which the rollout does not do"
    )
    with pytest.raises(ValueError, match=_exact(message)):
        autoreset_mode(Meta({"autoreset_mode": "Disabled"}))


# ================================================================ observations
class _ColumnObs(gym.ObservationWrapper):
    """The counter's observation [k, e] as a (2, 1) column."""

    def __init__(self, env):
        super().__init__(env)
        self.observation_space = spaces.Box(-np.inf, np.inf, (2, 1), np.float64)

    def observation(self, observation):
        return np.reshape(observation, (2, 1))


def test_observations_of_any_shape_are_stored_flat_final_ones_included():
    """An env whose observations are (obs_dim, 1) columns: every stored observation, the final
    observations of ended episodes included, is the flat (obs_dim,) row."""
    fns = [lambda f=f: _ColumnObs(make_counter(3, 5, first_episode=f)) for f in (0, 1)]
    vec = SyncVectorEnv(fns, autoreset_mode=SAME)
    obs, _ = vec.reset(seed=0)
    pi = CategoricalPolicy(2, 2, hidden=())
    ro, last, _ = collect(
        vec, pi, pi.init(0), obs, 8, np.random.default_rng(0), tracker=EpisodeTracker(2)
    )
    assert ro.obs.shape == ro.next_obs.shape == (8, 2, 2) and last.shape == (2, 2)
    done = ro.terminated | ro.truncated
    assert done.any()
    np.testing.assert_array_equal(ro.next_obs, ro.raw_obs + [1.0, 0.0])  # real successors


def test_an_episode_running_through_a_whole_rollout_keeps_its_running_return():
    """Rollouts of 2 steps: env 1's 5-step episode starts in the first, runs through the whole
    second (no end there) and ends in the third, recorded with length 5 and return 1+…+5."""
    vec = counter_vec(SAME, (0, 1), 3, 5)
    obs, _ = vec.reset(seed=0)
    pi, tracker, rng = (
        CategoricalPolicy(2, 2, hidden=()),
        EpisodeTracker(2),
        np.random.default_rng(0),
    )
    ended = []
    for _ in range(3):
        ro, obs, _ = collect(vec, pi, pi.init(0), obs, 2, rng, tracker=tracker)
        ended.append([(int(i), t) for t, i in zip(*np.nonzero(ro.truncated), strict=True)])
    assert ended == [[], [], [(1, 0)]]  # env 1 truncated at row 0 of the third rollout
    assert ro.episode_lengths == [5] and ro.episode_returns == [15.0]


class _NoFinalObs(gym.vector.VectorWrapper):
    """Drops ``final_obs`` from the infos of a SAME_STEP vector env."""

    def step(self, actions):
        obs, r, term, trunc, info = self.env.step(actions)
        return obs, r, term, trunc, {k: v for k, v in info.items() if "final_obs" not in k}


def test_a_lost_final_observation_is_named_by_its_first_step():
    """SAME_STEP episodes ending at rows 2 and 4 without ``final_obs``: the error names the
    first of those steps."""
    vec = _NoFinalObs(counter_vec(SAME, (0, 1), 3, 5))
    obs, _ = vec.reset(seed=0)
    pi = CategoricalPolicy(2, 2, hidden=())
    message = "SAME_STEP env ended an episode without info['final_obs'] (step 2)"
    with pytest.raises(RuntimeError, match=_exact(message)):
        collect(vec, pi, pi.init(0), obs, 8, np.random.default_rng(0), tracker=EpisodeTracker(2))
