"""Tests for npytrpo.rollout on counter environments whose every transition is known.

Sub-env i of ``counter_vec`` starts at episode ``firsts[i]``; after the k-th step of episode e
the observation is [k, e] and the reward k; even episodes terminate at k = K_TERM, odd ones are
truncated by a TimeLimit at k = K_TRUNC. So each stored row can be checked against the
dynamics: SAME_STEP rows are all real transitions, NEXT_STEP rows right after an episode end
are reset steps (valid = False).
"""

import copy

import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.vector import AutoresetMode
from toy_envs import counter_vec, expected_return

from npytrpo.advantages import gae
from npytrpo.normalize import ObservationNormalizer, RewardScaler
from npytrpo.policies import CategoricalPolicy, GaussianPolicy
from npytrpo.rollout import EpisodeTracker, autoreset_mode, collect

K_TERM, K_TRUNC = 3, 5
SAME, NEXT = AutoresetMode.SAME_STEP, AutoresetMode.NEXT_STEP


def start(mode, n_steps, firsts=(0, 1), seed=0, **kw):
    """A counter vector env after reset, a linear categorical policy, θ, rng and tracker."""
    vec = counter_vec(mode, firsts, K_TERM, K_TRUNC, **kw)
    obs, _ = vec.reset(seed=seed)
    pi = CategoricalPolicy(2, 2, hidden=())
    theta = pi.init(seed)
    return vec, pi, theta, obs, np.random.default_rng(seed), EpisodeTracker(vec.num_envs)


def run(vec, pi, theta, obs, rng, tracker, n_steps, **kw):
    """One ``collect`` call."""
    return collect(vec, pi, theta, obs, n_steps, rng, tracker=tracker, **kw)


def dynamics_next(obs):
    """The real successor [k+1, e] of [k, e] and its reward, termination and truncation."""
    k, e = obs[..., 0], obs[..., 1]
    nxt = np.stack([k + 1, e], axis=-1)
    term = (e % 2 == 0) & (k + 1 == K_TERM)
    trunc = (e % 2 == 1) & (k + 1 == K_TRUNC)
    return nxt, k + 1, term, trunc


def check_real_transitions(ro, mask):
    """Rows in ``mask`` are real counter transitions (raw next obs, reward, masks)."""
    nxt, r, term, trunc = dynamics_next(ro.raw_obs)
    np.testing.assert_array_equal(ro.next_obs[mask], nxt[mask])
    np.testing.assert_array_equal(ro.rewards[mask], r[mask])
    np.testing.assert_array_equal(ro.terminated[mask], term[mask])
    np.testing.assert_array_equal(ro.truncated[mask], trunc[mask])


def check_episodes(ro):
    """Recorded episodes are those ending in the rollout, with the dynamics' lengths/returns."""
    done = ro.terminated | ro.truncated
    lengths = [int(ro.raw_obs[t, i, 0]) + 1 for t, i in zip(*np.nonzero(done), strict=True)]
    assert ro.episode_lengths == lengths
    assert ro.episode_returns == [expected_return(n) for n in lengths]


def test_same_step_rows_are_real_transitions():
    """SAME_STEP: every row is a real transition with correct reward and term/trunc masks."""
    vec, *rest = start(SAME, 16)
    ro, last, pending = run(vec, *rest, 16)
    assert autoreset_mode(vec) == SAME
    assert ro.valid.all() and ro.num_transitions == 32 and not pending.any()
    check_real_transitions(ro, ro.valid)
    assert ro.terminated.any() and ro.truncated.any()
    assert not (ro.terminated & ro.truncated).any()
    check_episodes(ro)
    np.testing.assert_array_equal(last, [[0, 4], [0, 5]])  # row 15 ended episodes 3 and 4


def test_same_step_final_obs_stored_and_reset_obs_next_row():
    """SAME_STEP: next_obs at a done step is the final obs; the next row holds the reset obs."""
    vec, *rest = start(SAME, 8)
    ro, _, _ = run(vec, *rest, 8)
    # env 0: episode 0 terminates at step 3 (row 2); env 1: episode 1 truncates at row 4
    assert ro.terminated[2, 0] and not ro.truncated[2, 0]
    np.testing.assert_array_equal(ro.next_obs[2, 0], [K_TERM, 0])
    np.testing.assert_array_equal(ro.obs[3, 0], [0, 1])
    assert ro.truncated[4, 1] and not ro.terminated[4, 1]
    np.testing.assert_array_equal(ro.next_obs[4, 1], [K_TRUNC, 1])
    np.testing.assert_array_equal(ro.obs[5, 1], [0, 2])
    done = ro.terminated | ro.truncated
    for t, i in zip(*np.nonzero(done[:-1]), strict=True):
        assert ro.obs[t + 1, i, 0] == 0 and ro.obs[t + 1, i, 1] == ro.obs[t, i, 1] + 1
    not_done = ~done[:-1]
    np.testing.assert_array_equal(ro.obs[1:][not_done], ro.next_obs[:-1][not_done])


def test_next_step_reset_rows_invalid_and_valid_rows_real():
    """NEXT_STEP: the step after each episode end is valid=False; every valid row is real."""
    vec, *rest = start(NEXT, 16)
    ro, _, pending = run(vec, *rest, 16)
    assert autoreset_mode(vec) == NEXT
    done = ro.terminated | ro.truncated
    np.testing.assert_array_equal(ro.valid[1:], ~done[:-1])
    assert ro.valid[0].all()
    check_real_transitions(ro, ro.valid)
    inv = ~ro.valid
    assert inv.sum() >= 4
    assert not ro.terminated[inv].any() and not ro.truncated[inv].any()
    np.testing.assert_array_equal(ro.rewards[inv], 0.0)
    # a reset row acts on the final obs [k, e]; what follows is the reset obs [0, e + 1]
    np.testing.assert_array_equal(ro.next_obs[inv][:, 0], 0.0)
    np.testing.assert_array_equal(ro.next_obs[inv][:, 1], ro.raw_obs[inv][:, 1] + 1)
    check_episodes(ro)
    np.testing.assert_array_equal(pending, done[-1])
    for i in range(2):  # the env never received the ignored reset-step actions
        received = vec.envs[i].unwrapped.received
        np.testing.assert_array_equal(received, ro.actions[ro.valid[:, i], i])


def test_next_step_pending_flag_carries_across_collects():
    """NEXT_STEP: an episode ending on a rollout's last row makes the next row 0 a reset step."""
    vec, pi, theta, obs, rng, tracker = start(NEXT, 3)
    ro1, last, pending = run(vec, pi, theta, obs, rng, tracker, 3)
    assert ro1.terminated[2, 0] and not (ro1.terminated[2, 1] or ro1.truncated[2, 1])
    np.testing.assert_array_equal(pending, [True, False])
    ro2, _, pending2 = run(vec, pi, theta, last, rng, tracker, 6, autoreset_pending=pending)
    np.testing.assert_array_equal(ro2.valid[0], [False, True])
    np.testing.assert_array_equal(ro2.raw_obs[0, 0], [K_TERM, 0])
    np.testing.assert_array_equal(ro2.next_obs[0, 0], [0, 1])
    check_real_transitions(ro2, ro2.valid)
    # env 1's episode 1 (5 steps) spans both rollouts and is recorded once, in the second
    assert ro1.episode_lengths == [K_TERM]
    assert ro2.truncated[1, 1]
    assert ro2.episode_lengths[0] == K_TRUNC and ro2.episode_returns[0] == 15.0
    check_episodes(ro2)
    np.testing.assert_array_equal(pending2, (ro2.terminated | ro2.truncated)[-1])


def test_tracker_records_episodes_spanning_collect_calls():
    """SAME_STEP: an unfinished episode's return and length carry over to the next collect."""
    vec, pi, theta, obs, rng, tracker = start(SAME, 4)
    ro1, last, _ = run(vec, pi, theta, obs, rng, tracker, 4)
    assert ro1.episode_lengths == [K_TERM]  # env 1's 5-step episode is still running
    np.testing.assert_array_equal(tracker.lengths, [1, 4])
    np.testing.assert_array_equal(tracker.returns, [1.0, 10.0])
    ro2, _, _ = run(vec, pi, theta, last, rng, tracker, 4)
    assert ro2.truncated[0, 1]
    assert ro2.episode_lengths[0] == K_TRUNC and ro2.episode_returns[0] == 15.0
    check_episodes(ro2)
    state = tracker.state_dict()
    tracker2 = EpisodeTracker(2)
    tracker2.load_state_dict(state)
    np.testing.assert_array_equal(tracker2.returns, tracker.returns)
    np.testing.assert_array_equal(tracker2.lengths, tracker.lengths)


def test_box_actions_stored_unclipped_env_receives_clipped():
    """Box actions: the sampled action is stored as is; the env receives it clipped to bounds."""
    box = spaces.Box(-0.5, 0.5, (2,), np.float64)
    vec = counter_vec(SAME, (0, 1), K_TERM, K_TRUNC, action_space=box)
    obs, _ = vec.reset(seed=0)
    pi = GaussianPolicy(2, 2, hidden=(), log_std_init=1.0)
    theta = pi.init(0)
    rng = np.random.default_rng(1)
    rng_copy = copy.deepcopy(rng)
    ro, _, _ = collect(vec, pi, theta, obs, 16, rng, tracker=EpisodeTracker(2))
    assert ro.actions.shape == (16, 2, 2) and ro.actions.dtype == np.float64
    assert (np.abs(ro.actions) > 0.5).any()  # the test means something only if some clip
    sampler = pi.sampler(theta)
    expected = np.stack([sampler(ro.obs[t], rng_copy) for t in range(16)])
    np.testing.assert_array_equal(ro.actions, expected)
    for i in range(2):
        received = np.array(vec.envs[i].unwrapped.received)
        np.testing.assert_array_equal(received, np.clip(ro.actions[:, i], -0.5, 0.5))


def test_rewards_raw_without_scaler():
    """Without a RewardScaler the learning rewards are the env's rewards."""
    vec, *rest = start(SAME, 16)
    ro, _, _ = run(vec, *rest, 16)
    np.testing.assert_array_equal(ro.rewards, ro.raw_obs[..., 0] + 1)


def test_rewards_scaled_only_with_scaler_episode_returns_raw():
    """With a RewardScaler rewards are scaled step by step; episode returns stay raw."""
    vec, *rest = start(SAME, 16)
    scaler, reference = RewardScaler(2, gamma=0.9), RewardScaler(2, gamma=0.9)
    ro, _, _ = run(vec, *rest, 16, reward_scaler=scaler)
    raw = ro.raw_obs[..., 0] + 1
    expected = np.stack(
        [reference.scale(raw[t], ro.terminated[t], ro.truncated[t]) for t in range(16)]
    )
    np.testing.assert_array_equal(ro.rewards, expected)
    assert not np.allclose(ro.rewards, raw)
    np.testing.assert_array_equal(scaler.returns, reference.returns)
    check_episodes(ro)  # returns 1 + … + L, unscaled


def test_observation_normalizer_frozen_and_applied():
    """With a normaliser: stats frozen, obs/next_obs normalised, raw_obs raw, policy fed obs."""
    vec, pi, theta, obs, rng, tracker = start(SAME, 8)
    norm = ObservationNormalizer(2)
    norm.rms.update(np.array([[0.0, 0.0], [4.0, 6.0], [2.0, 1.0]]))
    before = norm.state_dict()
    rng_copy = copy.deepcopy(rng)
    ro, last, _ = run(vec, pi, theta, obs, rng, tracker, 8, obs_normalizer=norm)
    for k, v in norm.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
    np.testing.assert_array_equal(ro.raw_obs[0], obs)
    np.testing.assert_array_equal(ro.obs, norm.normalize(ro.raw_obs, update=False))
    raw_next, *_ = dynamics_next(ro.raw_obs)
    np.testing.assert_array_equal(ro.next_obs, norm.normalize(raw_next, update=False))
    assert last.max() > 1  # the returned last obs is raw
    sampler = pi.sampler(theta)
    expected = np.stack([sampler(ro.obs[t], rng_copy) for t in range(8)])
    np.testing.assert_array_equal(ro.actions, expected)


def test_disabled_autoreset_rejected():
    """A vector env in DISABLED autoreset mode is refused with a ValueError naming the mode."""
    vec = counter_vec(AutoresetMode.DISABLED)
    with pytest.raises(ValueError, match="autoreset_mode"):
        autoreset_mode(vec)


@pytest.mark.parametrize("gamma, lam", [(0.9, 0.0), (0.9, 0.8), (1.0, 1.0)])
def test_gae_on_rollout_bootstraps_truncation_from_final_obs(gamma, lam):
    """GAE on a rollout bootstraps truncation from V(final obs) and matches a plain loop."""
    vec, *rest = start(SAME, 16)
    ro, _, _ = run(vec, *rest, 16)

    def V(s):
        return 1.0 + 2.0 * s[..., 0] + 10.0 * s[..., 1]

    adv, ret = gae(
        ro.rewards, V(ro.obs), V(ro.next_obs), ro.terminated, ro.truncated, gamma=gamma, lam=lam
    )
    np.testing.assert_array_equal(ret, adv + V(ro.obs))
    T, E = ro.rewards.shape
    for i in range(E):  # plain loop, next state from the dynamics, not from next_obs
        a_next = 0.0
        for t in range(T - 1, -1, -1):
            s = ro.raw_obs[t, i]
            s_next, r, term, trunc = dynamics_next(s)
            d = r + (0.0 if term else gamma * V(s_next)) - V(s)
            a_next = d + (0.0 if (term or trunc) else gamma * lam * a_next)
            assert adv[t, i] == pytest.approx(a_next, rel=1e-12, abs=1e-12)
    t, i = 4, 1  # env 1's episode 1 truncated at row 4: bootstrap from V([5, 1]), not V([0, 2])
    assert ro.truncated[t, i]
    assert adv[t, i] == pytest.approx(
        K_TRUNC + gamma * V(np.array([K_TRUNC, 1.0])) - V(ro.obs[t, i])
    )
