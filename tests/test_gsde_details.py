"""Details of the gSDE head's contract that test_gsde.py leaves open (issue 17).

Mutation testing of ``npytrpo/gsde.py`` left these unpinned: which draw a seed gives (``sample``
and ``sample_noise`` were judged by their moments only), the exact argument names and values in
the messages, the documented defaults (also those ``from_spec`` fills in), and the dtypes and
shapes that the checks accept.
"""

import re

import numpy as np
import pytest

from npytrpo.gsde import GSDEDist, GSDEHead
from npytrpo.policies import Policy


def _exact(message: str) -> str:
    return "^" + re.escape(message) + "$"


def _case(full_std=True, n=3, nf=2, d=2, seed=0):
    rng = np.random.default_rng(seed)
    head = GSDEHead(nf, d, full_std=full_std)
    theta_h = rng.uniform(-1.0, 1.0, head.num_params)
    z = rng.uniform(0.3, 1.5, (n, nf)) * rng.choice([-1.0, 1.0], (n, nf))
    out = rng.standard_normal((n, d))
    return head, out, theta_h, z


# ================================================================ draws of a seed
@pytest.mark.parametrize("full_std", [True, False])
def test_sample_is_mean_plus_sqrt_variance_times_the_generators_normals(full_std):
    """``a = μ + √v ⊙ ξ`` with ξ = rng.standard_normal(μ.shape), drawn once, bit for bit."""
    head, out, theta_h, z = _case(full_std)
    dist = head.params(out, theta_h, z)
    xi = np.random.default_rng(9).standard_normal(out.shape)
    a = head.sample(dist, np.random.default_rng(9))
    np.testing.assert_array_equal(a, dist.mean + np.sqrt(dist.var) * xi)


@pytest.mark.parametrize("full_std", [True, False])
def test_noise_matrix_is_sigma_times_the_generators_normals(full_std):
    """``E = σ ⊙ ξ`` with ξ = rng.standard_normal of E's shape: (n_features, act_dim), or
    (n, n_features, act_dim) for n environments; σ's columns repeat for full_std=False."""
    head, _, theta_h, _ = _case(full_std, nf=3, d=2)
    lam = theta_h.reshape(3, 2) if full_std else np.repeat(theta_h[:, None], 2, axis=1)
    E = head.sample_noise(theta_h, np.random.default_rng(1))
    np.testing.assert_array_equal(E, np.exp(lam) * np.random.default_rng(1).standard_normal((3, 2)))
    E4 = head.sample_noise(theta_h, np.random.default_rng(1), n=4)
    np.testing.assert_array_equal(
        E4, np.exp(lam) * np.random.default_rng(1).standard_normal((4, 3, 2))
    )


def test_noisy_action_is_mean_plus_features_times_the_noise_matrix():
    """``a_n = μ_n + z_nᵀE`` (one E) or ``μ_n + z_nᵀE_n`` (one per row), from a GSDEDist or μ."""
    head, out, theta_h, z = _case(n=4)
    E = head.sample_noise(theta_h, np.random.default_rng(2))
    dist = head.params(out, theta_h, z)
    by_hand = np.array([out[n] + z[n] @ E for n in range(4)])
    np.testing.assert_allclose(head.noisy_action(dist, z, E), by_hand, rtol=1e-15, atol=1e-15)
    np.testing.assert_array_equal(head.noisy_action(dist, z, E), head.noisy_action(out, z, E))
    En = head.sample_noise(theta_h, np.random.default_rng(3), n=4)
    by_hand = np.array([out[n] + z[n] @ En[n] for n in range(4)])
    np.testing.assert_allclose(head.noisy_action(out, z, En), by_hand, rtol=1e-15, atol=1e-15)
    # integer means and features are taken as float64
    a = head.noisy_action(np.zeros((4, 2), dtype=int), np.ones((4, 2), dtype=int), E)
    assert a.dtype == np.float64
    np.testing.assert_array_equal(a, np.ones((4, 2)) @ E)


@pytest.mark.parametrize("full_std", [True, False])
def test_rollout_fast_forms_give_the_checked_forms_numbers(full_std):
    """``noise_sampler(θ_h)(rng, n)`` draws ``sample_noise(θ_h, rng, n)``'s matrices bit for
    bit (twice in a row from one generator, and after θ_h is overwritten: σ is its own copy);
    ``apply_noise`` gives ``noisy_action``'s actions bit for bit; a bad θ_h fails at once."""
    head, out, theta_h, z = _case(full_std, n=4, nf=3, d=2)
    draw = head.noise_sampler(theta_h)
    theta_copy = theta_h.copy()
    theta_h[:] = 99.0  # the sampler must not read θ_h after it was made
    fast, slow = np.random.default_rng(5), np.random.default_rng(5)
    for n in (4, 1):
        E = draw(fast, n)
        np.testing.assert_array_equal(E, head.sample_noise(theta_copy, slow, n=n))
    En = head.sample_noise(theta_copy, np.random.default_rng(6), n=4)
    np.testing.assert_array_equal(head.apply_noise(out, z, En), head.noisy_action(out, z, En))
    with pytest.raises(ValueError, match="theta_h"):
        head.noise_sampler(np.zeros(head.num_params + 1))


def test_mode_is_a_float64_copy_of_the_mean():
    head, out, theta_h, z = _case()
    dist = head.params(out.astype(np.float32), theta_h, z)
    mode = head.mode(dist)
    assert mode.dtype == np.float64 and not np.shares_memory(mode, dist.mean)
    np.testing.assert_array_equal(mode, out.astype(np.float32).astype(np.float64))
    # params already stores μ as float64; a GSDEDist built by hand (a public dataclass) with a
    # float32 mean still gives float64 actions, the same values
    hand = GSDEDist(mean=out.astype(np.float32), var=dist.var, z2=dist.z2, s2=dist.s2)
    mode = head.mode(hand)
    assert mode.dtype == np.float64
    np.testing.assert_array_equal(mode, out.astype(np.float32).astype(np.float64))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.longdouble])
def test_noisy_action_is_float64_whatever_the_means_float_dtype(dtype):
    """μ of any float dtype is taken as its float64 value: ``a = float64(μ) + zᵀE`` in float64
    (a long double μ must not carry the sum into long double)."""
    head, out, theta_h, z = _case(n=3)
    E = head.sample_noise(theta_h, np.random.default_rng(4))
    mu = out.astype(dtype)
    a = head.noisy_action(mu, z, E)
    assert a.dtype == np.float64
    np.testing.assert_array_equal(a, mu.astype(np.float64) + z @ E)


# ================================================================ defaults and specs
def test_defaults_are_the_documented_ones():
    head = GSDEHead(2, 3)
    assert (head.log_std_init, head.full_std, head.epsilon) == (0.0, True, 1e-6)
    assert head.kl_reduction == "sum" and head.kl_scale == 1.0
    assert head.out_dim == 3 and head.num_params == 6
    assert GSDEHead(2, 3, full_std=False).num_params == 2
    assert GSDEHead(4, 2, kl_reduction="mean").kl_scale == 0.5
    assert GSDEHead(2, 2, epsilon=0.0).epsilon == 0.0  # ε_v = 0 is allowed (closed at 0)


def test_spec_without_the_optional_keys_rebuilds_the_default_head():
    base = {"policy": "gsde", "n_features": 2, "act_dim": 3}
    assert GSDEHead.from_spec(base).spec() == GSDEHead(2, 3).spec()
    options = {"log_std_init": -1.0, "full_std": False, "epsilon": 0.5, "kl_reduction": "mean"}
    for key, value in options.items():
        spec = GSDEHead.from_spec({**base, key: value, "obs_dim": 7}).spec()
        assert spec == GSDEHead(2, 3, **{key: value}).spec()


@pytest.mark.parametrize("spec", [[("policy", "gsde")], {"policy": "gaussian", "act_dim": 1}])
def test_from_spec_refuses_other_specs_by_name(spec):
    with pytest.raises(
        ValueError, match=_exact(f"spec must be a dict with policy 'gsde', got {spec!r}")
    ):
        GSDEHead.from_spec(spec)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"n_features": 2.0}, TypeError, "n_features must be an int, got 2.0"),
        ({"n_features": 0}, ValueError, "n_features must be >= 1, got 0"),
        ({"act_dim": 0}, ValueError, "act_dim must be >= 1, got 0"),
        ({"log_std_init": np.inf}, ValueError, "log_std_init must be finite, got inf"),
        ({"full_std": 1}, TypeError, "full_std must be a bool, got 1"),
        ({"epsilon": -0.5}, ValueError, "epsilon must be >= 0.0, got -0.5"),
        (
            {"kl_reduction": "max"},
            ValueError,
            "kl_reduction must be one of ('sum', 'mean'), got 'max'",
        ),
    ],
)
def test_constructor_messages_name_the_argument_and_the_value(kwargs, error, message):
    with pytest.raises(error, match=_exact(message)):
        GSDEHead(**{"n_features": 2, "act_dim": 1, **kwargs})


# ================================================================ checks
def test_action_checks_and_messages():
    head = GSDEHead(2, 2)
    with pytest.raises(
        TypeError, match=_exact("actions of a gSDE policy must be floats, got dtype int64")
    ):
        head.check_actions(np.zeros((3, 2), dtype=np.int64), 3)
    with pytest.raises(ValueError, match=_exact("actions must have shape (3, 2), got (3,)")):
        head.check_actions(np.zeros(3), 3)
    with pytest.raises(ValueError, match=_exact("actions must be finite, got NaN/inf entries")):
        head.check_actions(np.array([[0.0, 1.0], [np.inf, 0.0]]), 2)
    col = GSDEHead(2, 1).check_actions(np.array([0.5, -1.0]), 2)
    np.testing.assert_array_equal(col, [[0.5], [-1.0]])


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.longdouble])
def test_actions_of_any_float_dtype_are_taken_as_float64(dtype):
    got = GSDEHead(2, 2).check_actions(np.array([[0.5, -1.25]], dtype=dtype), 1)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, [[0.5, -1.25]])


def test_params_checks_and_messages():
    head, out, theta_h, z = _case()
    with pytest.raises(ValueError, match=_exact("out must have shape (N, 2), got (3, 3)")):
        head.params(np.zeros((3, 3)), theta_h, z)
    with pytest.raises(ValueError, match=_exact("out must have shape (N, 2), got (2,)")):
        head.params(np.zeros(2), theta_h, z)
    with pytest.raises(ValueError, match=_exact("theta_h must have shape (4,), got (3,)")):
        head.params(out, theta_h[:3], z)
    with pytest.raises(
        TypeError, match=_exact("theta_h must be a floating-point array, got dtype int64")
    ):
        head.params(out, np.zeros(4, dtype=np.int64), z)
    with pytest.raises(ValueError, match=_exact("features must have shape (3, 2), got (3, 3)")):
        head.params(out, theta_h, np.ones((3, 3)))
    with pytest.raises(ValueError, match=_exact("features must have shape (3, 2), got (2, 2)")):
        head.params(out, theta_h, np.ones((2, 2)))
    with pytest.raises(ValueError, match=_exact("features must have shape (3, 2), got (6,)")):
        head.params(out, theta_h, np.ones(6))
    # integer outputs and features are the same float64 values
    ints = head.params(np.ones((3, 2), dtype=int), theta_h, np.ones((3, 2), dtype=int))
    flts = head.params(np.ones((3, 2)), theta_h, np.ones((3, 2)))
    assert ints.mean.dtype == np.float64
    np.testing.assert_array_equal(ints.var, flts.var)
    np.testing.assert_array_equal(ints.mean, flts.mean)


def test_features_of_the_wrong_kind_or_not_finite_are_refused_by_name():
    """Features are checked as a real array named ``features`` (integers allowed)."""
    head, out, theta_h, z = _case()
    bad = z.copy()
    bad[1, 0] = np.nan
    message = "features must be finite, got 1 NaN/inf entries"
    with pytest.raises(ValueError, match=_exact(message)):
        head.params(out, theta_h, bad)
    with pytest.raises(ValueError, match=_exact(message)):
        head.noisy_action(out, bad, np.zeros((2, 2)))
    with pytest.raises(TypeError, match=_exact("features must be a real array, got dtype <U1")):
        head.params(out, theta_h, np.full((3, 2), "a"))


def test_zero_variance_names_the_state_and_epsilon():
    """With ε_v = 0, the first state whose features are all zero is named (here state 1)."""
    head = GSDEHead(2, 2, epsilon=0.0)
    z = np.array([[1.0, 0.5], [0.0, 0.0], [0.0, 0.0]])
    message = (
        "features of state 1 are all zero and epsilon is 0.0: the variance z²σ² + epsilon is 0 "
        "there (use epsilon > 0)"
    )
    with pytest.raises(ValueError, match=_exact(message)):
        head.params(np.zeros((3, 2)), head.init_params(), z)


def test_noise_and_noisy_action_messages():
    head, out, theta_h, z = _case()
    with pytest.raises(ValueError, match=_exact("n must be >= 1, got 0")):
        head.sample_noise(theta_h, np.random.default_rng(0), n=0)
    with pytest.raises(ValueError, match=_exact("theta_h must have shape (4,), got (5,)")):
        head.sample_noise(np.zeros(5), np.random.default_rng(0))
    E = np.zeros((2, 2))
    with pytest.raises(ValueError, match=_exact("mean must have shape (N, 2), got (3, 1)")):
        head.noisy_action(np.zeros((3, 1)), z, E)
    with pytest.raises(ValueError, match=_exact("features must have shape (3, 2), got (2, 2)")):
        head.noisy_action(out, z[:2], E)
    with pytest.raises(
        ValueError, match=_exact("E must have shape (2, 2) or (3, 2, 2), got (2, 3)")
    ):
        head.noisy_action(out, z, np.zeros((2, 3)))
    # n_features ≠ act_dim: both accepted shapes are (n_features, act_dim), in that order
    tall, out3, _, z3 = _case(n=4, nf=3, d=2)
    with pytest.raises(
        ValueError, match=_exact("E must have shape (3, 2) or (4, 3, 2), got (4, 2, 3)")
    ):
        tall.noisy_action(out3, z3, np.zeros((4, 2, 3)))
    with pytest.raises(
        TypeError, match=_exact("E must be a floating-point array, got dtype int64")
    ):
        head.noisy_action(out, z, np.zeros((2, 2), dtype=np.int64))
    assert isinstance(head.params(out, theta_h, z), GSDEDist)


# ================================================================ the dense Fisher's factor
@pytest.mark.parametrize("kl_reduction", ["sum", "mean"])
def test_metric_factor_squares_to_the_metrics_mean_block(kl_reduction):
    """``B_nᵀ B_n u = M_μμ,n u = kl_scale · u / v_n`` for every state: the mean block of
    ``metric`` (taken with n = 1 so that it is not averaged), and B_n is diagonal."""
    head = GSDEHead(2, 3, kl_reduction=kl_reduction)
    rng = np.random.default_rng(5)
    z = rng.uniform(0.3, 1.5, (4, 2))
    dist = head.params(rng.standard_normal((4, 3)), rng.uniform(-1, 1, 6), z)
    B = head.metric_factor(dist)
    assert B.shape == (4, 3, 3)
    u = rng.standard_normal((4, 3))
    m_out, _ = head.metric(dist, 1)(u, np.zeros(6))
    np.testing.assert_allclose(np.einsum("nkr,nks,ns->nr", B, B, u), m_out, rtol=1e-14)
    np.testing.assert_array_equal(B * (1.0 - np.eye(3)), 0.0)


@pytest.mark.parametrize("full_std", [True, False])
def test_dense_fisher_of_a_gsde_policy_equals_its_matrix_free_product(full_std):
    """``Policy.fisher_matrix`` (the oracle's dense F, built from ``metric_factor``) equals the
    matrix-free ``fisher_vector_product`` (built from ``metric``) on every unit vector.
    Same sums in another order: rounding only (1e-13 of the largest entry)."""
    pi = Policy(3, GSDEHead(4, 2, full_std=full_std, log_std_init=-0.5), hidden=(4,))
    theta = pi.init(0)
    obs = np.random.default_rng(6).standard_normal((5, 3))
    F = pi.fisher_matrix(theta, obs)
    cols = np.stack([pi.fisher_vector_product(theta, obs, e) for e in np.eye(pi.num_params)], 1)
    np.testing.assert_allclose(F, cols, rtol=0.0, atol=1e-13 * np.abs(cols).max())
