"""Details of ``Policy``'s contract that test_policies.py leaves open (issue 17).

Mutation testing of ``npytrpo/policies.py`` found these unpinned: the gSDE acting path (the
noise matrix held for ``noise_every`` calls, one per row, drawn from the caller's generator)
had no test at all; ``mode``/``sample`` were judged by shapes and types only; the messages'
argument names and values were matched loosely.
"""

import re

import numpy as np
import pytest

from npytrpo.gsde import GSDEHead
from npytrpo.policies import CategoricalPolicy, GaussianPolicy, Policy, policy_from_spec


def _exact(message: str) -> str:
    return "^" + re.escape(message) + "$"


def _gsde_policy(full_std=True):
    """A one-hidden-layer gSDE policy with Λ spread over [−1, 0.5] (distinct σ per entry)."""
    pi = Policy(3, GSDEHead(4, 2, full_std=full_std), hidden=(4,))
    theta = pi.init(0)
    P0 = pi.net.num_params
    theta[P0:] = np.linspace(-1.0, 0.5, pi.head.num_params)
    return pi, theta


def _noisy_actions_by_hand(pi, theta, obs_seq, every, rng):
    """``a_t = μ(s_t) + z(s_t)ᵀE_n`` row by row, E redrawn (one matrix per row of s_t, from
    ``rng``) at call 0 and then at every call t with t % every == 0 (never for every = −1)."""
    theta_h = theta[pi.net.num_params :]
    E, actions = None, []
    for t, obs in enumerate(obs_seq):
        if E is None or (every > 0 and t % every == 0):
            E = pi.head.sample_noise(theta_h, rng, n=obs.shape[0])
        dist, cache = pi.dist_at(theta, obs)
        z = cache.inputs[-1]
        actions.append(np.stack([dist.mean[n] + z[n] @ E[n] for n in range(obs.shape[0])]))
    return actions


# ================================================================ gSDE acting
@pytest.mark.parametrize("every", [1, 2, 3, -1])
@pytest.mark.parametrize("full_std", [True, False])
def test_gsde_sampler_holds_one_noise_matrix_per_row_for_noise_every_calls(every, full_std):
    """The sampler's actions over 7 calls are μ + zᵀE_n with E_n redrawn every ``noise_every``
    calls (−1: drawn once), from the caller's generator and nothing else: the same generator
    state afterwards as the hand-written loop's. Rounding only (another summation order)."""
    pi, theta = _gsde_policy(full_std)
    obs_seq = list(np.random.default_rng(1).standard_normal((7, 2, 3)))
    rng_a, rng_b = np.random.default_rng(2), np.random.default_rng(2)
    act = pi.sampler(theta, noise_every=every)
    got = [act(obs, rng_a) for obs in obs_seq]
    expected = _noisy_actions_by_hand(pi, theta, obs_seq, every, rng_b)
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-14, atol=1e-14)
    assert rng_a.random() == rng_b.random()


def test_gsde_noise_is_redrawn_exactly_at_the_multiples_of_noise_every():
    """On a constant observation the action changes exactly when E is redrawn: at calls 3, 6
    for noise_every = 3, at every call for 1 (the default), never for −1."""
    pi, theta = _gsde_policy()
    obs = np.random.default_rng(3).standard_normal((2, 3))
    for every, changes in ((3, [3, 6]), (1, list(range(1, 8))), (-1, []), (None, range(1, 8))):
        kw = {} if every is None else {"noise_every": every}
        act, rng = pi.sampler(theta, **kw), np.random.default_rng(4)
        a = [act(obs, rng) for _ in range(8)]
        assert [t for t in range(1, 8) if not np.array_equal(a[t], a[t - 1])] == list(changes)


def test_gsde_sample_draws_fresh_noise_each_call_and_mode_is_the_mean():
    """``Policy.sample`` of a gSDE policy is one call of a fresh sampler (noise_every = 1):
    μ + zᵀE_n with E from ``default_rng(seed)``; ``mode`` is μ, and the deterministic sampler
    ignores its generator."""
    pi, theta = _gsde_policy()
    obs = np.random.default_rng(5).standard_normal((3, 3))
    expected = _noisy_actions_by_hand(pi, theta, [obs], 1, np.random.default_rng(6))[0]
    np.testing.assert_allclose(pi.sample(theta, obs, 6), expected, rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(pi.sample(theta, obs[0], 6), expected[0], rtol=1e-14, atol=1e-14)
    mean = pi.dist_at(theta, obs)[0].mean
    np.testing.assert_array_equal(pi.mode(theta, obs), mean)
    np.testing.assert_array_equal(pi.sampler(theta, deterministic=True)(obs), mean)


@pytest.mark.parametrize(
    "noise_every, error, message",
    [
        (0, ValueError, "noise_every must be -1 or >= 1, got 0"),
        (-2, ValueError, "noise_every must be >= -1, got -2"),
        (2.0, TypeError, "noise_every must be an int, got 2.0"),
    ],
)
def test_gsde_sampler_refuses_a_noise_period_that_is_not_minus_one_or_positive(
    noise_every, error, message
):
    pi, theta = _gsde_policy()
    with pytest.raises(error, match=_exact(message)):
        pi.sampler(theta, noise_every=noise_every)


# ================================================================ one observation
def test_mode_of_one_observation_is_the_mode_of_that_one_row_batch():
    """``mode(θ, s_n)`` with s_n of shape (obs_dim,) is row n of the batch's mode: an int for a
    categorical policy, an (act_dim,) vector for a Gaussian one (to rounding: a one-row
    product may sum in another order)."""
    rng = np.random.default_rng(7)
    obs = rng.standard_normal((3, 4))
    for pi in (CategoricalPolicy(4, 5, (6,)), GaussianPolicy(4, 2, (6,))):
        theta = pi.init(8) + 0.5 * rng.standard_normal(pi.num_params)
        batch = pi.mode(theta, obs)
        for n in range(3):
            one = pi.mode(theta, obs[n])
            assert np.shape(one) == batch.shape[1:]
            np.testing.assert_allclose(one, batch[n], rtol=1e-14, atol=1e-15)  # BLAS rounding


def test_a_scalar_is_not_an_observation_even_when_obs_dim_is_one():
    """Only (obs_dim,) is one observation and (N, obs_dim) a batch: a 0-d value is refused by
    ``sample`` and ``mode`` (not promoted to a 1×1 batch)."""
    pi = GaussianPolicy(1, 1, (3,))
    theta = pi.init(0)
    message = _exact("obs must have shape (N, 1) with N >= 1, got ()")
    with pytest.raises(ValueError, match=message):
        pi.sample(theta, 0.5, 0)
    with pytest.raises(ValueError, match=message):
        pi.mode(theta, np.float64(0.5))
    assert pi.mode(theta, np.array([0.5])).shape == (1,)


# ================================================================ specs
@pytest.mark.parametrize("missing", [["obs_dim"], ["hidden"], ["obs_dim", "hidden"]])
def test_spec_without_the_policy_keys_is_refused_naming_them(missing):
    spec = {k: v for k, v in CategoricalPolicy(4, 3, (5,)).spec().items() if k not in missing}
    message = f"spec is missing {missing}; got keys {sorted(spec)}"
    with pytest.raises(ValueError, match=_exact(message)):
        policy_from_spec(spec)


# ================================================================ linearize and its checks
def _batch(pi, n=6, seed=9):
    rng = np.random.default_rng(seed)
    theta = pi.init(seed) + 0.3 * rng.standard_normal(pi.num_params)
    obs = rng.standard_normal((n, pi.obs_dim))
    return theta, obs, pi.sample(theta, obs, rng), rng.standard_normal(n)


@pytest.mark.parametrize("k", [2, 3])
def test_linearized_fisher_of_a_subsample_is_the_fisher_of_every_kth_state(k):
    """With ``fvp_subsample=k`` the linearisation's F v is the Fisher of the states
    obs[::k] (g still uses them all); the same sums in the same order: bit for bit."""
    pi = GaussianPolicy(3, 2, (4,))
    theta, obs, actions, adv = _batch(pi)
    lin = pi.linearize(
        theta, obs, actions, adv, kl_direction="old_new", entropy_coef=0.0, fvp_subsample=k
    )
    v = np.random.default_rng(10).standard_normal(pi.num_params)
    np.testing.assert_array_equal(lin.fisher(v), pi.fisher_vector_product(theta, obs[::k], v))
    np.testing.assert_array_equal(lin.g, pi.surrogate_grad(theta, obs, actions, adv))


@pytest.mark.parametrize(
    "options, error, message",
    [
        ({"fvp_subsample": 0}, ValueError, "fvp_subsample must be >= 1, got 0"),
        ({"fvp_subsample": -1}, ValueError, "fvp_subsample must be >= 1, got -1"),
        ({"fvp_subsample": 2.0}, TypeError, "fvp_subsample must be an int, got 2.0"),
        ({"entropy_coef": -0.1}, ValueError, "entropy_coef must be >= 0.0, got -0.1"),
        ({"entropy_coef": "0.1"}, TypeError, "entropy_coef must be a real number, got '0.1'"),
        (
            {"kl_direction": "forward"},
            ValueError,
            "kl_direction must be one of ('old_new', 'new_old'), got 'forward'",
        ),
    ],
)
def test_linearize_refuses_options_out_of_range_by_name(options, error, message):
    pi = CategoricalPolicy(3, 2, (4,))
    theta, obs, actions, adv = _batch(pi)
    kw = {"kl_direction": "old_new", "entropy_coef": 0.0, "fvp_subsample": 1, **options}
    with pytest.raises(error, match=_exact(message)):
        pi.linearize(theta, obs, actions, adv, **kw)


def test_advantages_and_old_logps_of_another_length_are_refused_by_name_everywhere():
    """``advantages`` and ``logp_old`` of the wrong shape: one exact message each, from every
    method that takes them; non-finite or non-numeric vectors are refused by name too."""
    pi = CategoricalPolicy(3, 2, (4,))
    theta, obs, actions, _ = _batch(pi)
    bad = np.zeros(5)
    message = _exact("advantages must have shape (6,), got (5,)")
    with pytest.raises(ValueError, match=message):
        pi.linearize(theta, obs, actions, bad, kl_direction="old_new", entropy_coef=0.0,
                     fvp_subsample=1)  # fmt: skip
    with pytest.raises(ValueError, match=message):
        pi.surrogate_grad(theta, obs, actions, bad)
    with pytest.raises(ValueError, match=message):
        pi.surrogate(theta, obs, actions, bad, np.zeros(6))
    nan = np.where(np.arange(6) == 2, np.nan, 0.0)
    with pytest.raises(
        ValueError, match=_exact("advantages must be finite, got 1 NaN/inf entries")
    ):
        pi.surrogate_grad(theta, obs, actions, nan)
    with pytest.raises(TypeError, match=_exact("v must be a real array, got dtype <U1")):
        pi.fisher_vector_product(theta, obs, np.full(pi.num_params, "a"))
    message = _exact("logp_old must have shape (6,), got (5,)")
    with pytest.raises(ValueError, match=message):
        pi.surrogate_grad(theta, obs, actions, np.zeros(6), bad)
    with pytest.raises(ValueError, match=message):
        pi.surrogate(theta, obs, actions, np.zeros(6), bad)


# ================================================================ factories
def test_factories_build_the_documented_default_policies():
    """Defaults: hidden (64, 64) for every policy; a Gaussian's log-std starts at 0 and its
    KL is summed over action dimensions; each factory passes its arguments to its head."""
    c, g = CategoricalPolicy(4, 3), GaussianPolicy(4, 2)
    assert c.hidden == g.hidden == Policy(4, GSDEHead(64, 2)).hidden == (64, 64)
    assert (c.kind, c.head.n_actions, c.obs_dim) == ("categorical", 3, 4)
    assert (g.kind, g.head.act_dim, g.head.log_std_init, g.head.kl_reduction) == (
        "gaussian", 2, 0.0, "sum",
    )  # fmt: skip
    g = GaussianPolicy(4, 2, (5,), -0.5, "mean")
    assert (g.hidden, g.head.log_std_init, g.head.kl_reduction) == ((5,), -0.5, "mean")
    np.testing.assert_array_equal(g.split(g.init(0))[1], [-0.5, -0.5])


def test_head_whose_feature_width_is_not_the_last_hidden_layer_is_refused():
    message = (
        "head.n_features must be the last hidden width (or obs_dim for a linear policy), 4, got 3"
    )
    with pytest.raises(ValueError, match=_exact(message)):
        Policy(2, GSDEHead(3, 1), hidden=(5, 4))
    with pytest.raises(ValueError, match=_exact(message.replace("4, got", "2, got"))):
        Policy(2, GSDEHead(3, 1), hidden=())
    assert tuple(Policy(2, GSDEHead(2, 1), hidden=()).net.sizes) == (2, 1)


# ================================================================ other checks
def test_kl_names_theta_old_and_the_direction_exactly():
    pi = CategoricalPolicy(3, 2, (4,))
    theta, obs, _, _ = _batch(pi)
    with pytest.raises(ValueError, match=_exact("theta_old must have shape (26,), got (3,)")):
        pi.kl(theta[:3], theta, obs)
    message = "direction must be one of ('old_new', 'new_old'), got 'forward'"
    with pytest.raises(ValueError, match=_exact(message)):
        pi.kl(theta, theta, obs, direction="forward")


def test_integer_vectors_are_taken_as_their_float64_values():
    """Advantages, old log-probs and Fisher tangents may be integer arrays (same numbers)."""
    pi = GaussianPolicy(3, 2, (4,))
    theta, obs, actions, _ = _batch(pi)
    adv, logp_old = np.arange(-3, 3), np.array([-2, -1, -3, -2, -1, -2])
    v = np.arange(pi.num_params) % 3 - 1
    assert pi.surrogate(theta, obs, actions, adv, logp_old) == pi.surrogate(
        theta, obs, actions, adv.astype(float), logp_old.astype(float)
    )
    np.testing.assert_array_equal(
        pi.surrogate_grad(theta, obs, actions, adv, logp_old),
        pi.surrogate_grad(theta, obs, actions, adv.astype(float), logp_old.astype(float)),
    )
    np.testing.assert_array_equal(
        pi.fisher_vector_product(theta, obs, v),
        pi.fisher_vector_product(theta, obs, v.astype(float)),
    )


# ================================================================ initial parameters
def test_init_is_orthogonal_with_gain_sqrt2_hidden_and_001_out_zero_biases_then_the_head():
    """Every weight matrix of ``init`` has all singular values equal to its gain (√2 hidden,
    0.01 on the output layer: a near-uniform / near-zero-mean start), biases are zero, the
    head's block is ``head.init_params()``; a seed and ``default_rng(seed)`` give the same θ."""
    pi = GaussianPolicy(3, 2, (5, 4), log_std_init=-0.3)
    theta = pi.init(11)
    layers = pi.net.unpack(theta[: pi.net.num_params])
    for i, (W, b) in enumerate(layers):
        gain = 0.01 if i == len(layers) - 1 else np.sqrt(2.0)
        np.testing.assert_allclose(np.linalg.svd(W, compute_uv=False), gain, rtol=1e-13)
        np.testing.assert_array_equal(b, 0.0)
    np.testing.assert_array_equal(pi.split(theta)[1], pi.head.init_params())
    np.testing.assert_array_equal(theta, pi.init(11))
    np.testing.assert_array_equal(theta, pi.init(np.random.default_rng(11)))
    assert not np.array_equal(theta, pi.init(12))


# ================================================================ constructor and check names
@pytest.mark.parametrize(
    "args, error, message",
    [
        ((0, 2, (4,)), ValueError, "obs_dim must be >= 1, got 0"),
        ((2.0, 2, (4,)), TypeError, "obs_dim must be an int, got 2.0"),
        ((2, 2, 64), TypeError, "hidden must be a sequence of ints such as (64, 64), got 64"),
        ((2, 2, (64, 0)), ValueError, "hidden[1] must be >= 1, got 0"),
    ],
)
def test_policy_constructor_messages_name_the_argument_and_the_value(args, error, message):
    with pytest.raises(error, match=_exact(message)):
        CategoricalPolicy(*args)


def test_observation_check_uses_the_name_it_is_given():
    """``check_obs(obs, name)`` names ``name`` (default "obs") in its message."""
    pi = CategoricalPolicy(3, 2, (4,))
    with pytest.raises(
        ValueError, match=_exact("last_obs must have shape (N, 3) with N >= 1, got (2, 5)")
    ):
        pi.check_obs(np.zeros((2, 5)), "last_obs")
    with pytest.raises(
        ValueError, match=_exact("obs must have shape (N, 3) with N >= 1, got (2, 5)")
    ):
        pi.check_obs(np.zeros((2, 5)))
