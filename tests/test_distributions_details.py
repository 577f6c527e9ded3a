"""Details of the heads' contracts that test_distributions.py leaves open (issue 17).

Mutation testing of ``npytrpo/distributions.py`` left these unpinned: which draw a seed gives
(the sampling rules, not only their frequencies), the exact argument names in the messages,
the documented defaults (also those ``from_spec`` fills in for a spec without the optional
keys), the size of a head's own parameter block, and the action shapes and dtypes that
``check_actions`` accepts.
"""

import re

import numpy as np
import pytest

from npytrpo.distributions import CategoricalHead, GaussianHead, head_from_spec


class FixedUniforms:
    """An ``rng`` stand-in whose ``random(size)`` returns the given uniforms in [0, 1)."""

    def __init__(self, u):
        self.u = np.asarray(u, dtype=np.float64)

    def random(self, size):
        assert self.u.size == np.prod(size)
        return self.u.reshape(size).copy()


def _exact(message: str) -> str:
    return "^" + re.escape(message) + "$"


# ================================================================ sampling rules
def test_categorical_draw_inverts_the_cdf_with_half_open_intervals():
    """Action k is drawn for u in [F_{k−1}, F_k): a uniform exactly at a step opens the next one.

    Equal logits of 4 actions: F = (¼, ½, ¾, 1) exactly, so the uniforms 0, ¼, ½, ¾ sit on the
    steps and give 0, 1, 2, 3; just below a step stays in the previous action; the largest
    uniform below 1 gives the last action.
    """
    head = CategoricalHead(4)
    below = np.nextafter
    u = [0.0, 0.25, 0.5, 0.75, below(0.25, 0.0), below(0.5, 0.0), below(1.0, 0.0)]
    z = np.zeros((len(u), 4))
    a = head.sample(z, FixedUniforms(u))
    np.testing.assert_array_equal(a, [0, 1, 2, 3, 0, 1, 3])
    assert a.dtype == np.int64


def test_two_action_draw_has_the_same_half_open_intervals():
    """K = 2 (its own code path): equal logits give F = (½, 1), so u = 0 and just below ½ draw
    0, u = ½ exactly opens action 1, and the largest uniform below 1 draws 1; with p = (0, 1)
    (logit −1e3 underflows) u = 0 draws 1, never the zero-probability action; with p = (1, 0),
    0."""
    head = CategoricalHead(2)
    below = np.nextafter
    u = [0.0, below(0.5, 0.0), 0.5, below(1.0, 0.0)]
    a = head.sample(np.zeros((4, 2)), FixedUniforms(u))
    np.testing.assert_array_equal(a, [0, 0, 1, 1])
    assert a.dtype == np.int64
    z = np.array([[-1e3, 0.0], [-1e3, 0.0], [0.0, -1e3], [0.0, -1e3]])
    np.testing.assert_array_equal(head.sample(z, FixedUniforms([0.0, 0.5, 0.0, below(1.0, 0.0)])),
                                  [1, 1, 0, 0])


def test_categorical_zero_probability_actions_are_never_drawn_even_at_their_step():
    """p = (0, ½, 0, ½) (logits −1e3 underflow to probability 0): the interval of a zero-
    probability action is empty, so u = 0 gives action 1 and u = ½ gives action 3."""
    head = CategoricalHead(4)
    z = np.tile([-1e3, 0.0, -1e3, 0.0], (4, 1))
    u = [0.0, 0.5, np.nextafter(0.5, 0.0), np.nextafter(1.0, 0.0)]
    np.testing.assert_array_equal(head.sample(z, FixedUniforms(u)), [1, 3, 1, 3])


def test_categorical_draw_is_the_inverse_cdf_of_one_uniform_per_row():
    """With a seeded generator, a_n = #{k : F_nk ≤ u_n}, u = rng.random((N, 1)) drawn once, in
    row order, F_n the normalised CDF of softmax(z_n) (SciPy-free: exp and cumsum by hand)."""
    rng = np.random.default_rng(11)
    z = rng.normal(scale=3.0, size=(500, 5))
    u = np.random.default_rng(5).random((500, 1))
    p = np.exp(z - z.max(axis=1, keepdims=True))
    F = np.cumsum(p / p.sum(axis=1, keepdims=True), axis=1)
    expected = np.array([np.searchsorted(F[n], u[n, 0], side="right") for n in range(500)])
    a = CategoricalHead(5).sample(z, np.random.default_rng(5))
    np.testing.assert_array_equal(a, expected)


def test_each_rows_draw_depends_only_on_its_own_logits():
    """softmax is invariant to a constant added to one row: adding c_n (exactly representable,
    so z_n + c_n − max(z_n + c_n) = z_n − max z_n bit for bit) to each row leaves every draw of
    a seeded generator unchanged, however far apart the rows' scales are."""
    z = np.tile([[0.5, -1.25, 2.0, 0.0], [1.0, 1.0, -0.75, 0.25]], (50, 1))
    c = np.tile([0.0, -1000.0, 500.0, -3000.0, 64.0], 20)[:, None]
    head = CategoricalHead(4)
    a = head.sample(z, np.random.default_rng(2))
    np.testing.assert_array_equal(head.sample(z + c, np.random.default_rng(2)), a)
    assert len(np.unique(a)) == 4  # the draws vary: the equality is not that of constants


def test_gaussian_draw_is_mean_plus_std_times_the_generators_normals():
    """``a = μ + e^ℓ ⊙ ε`` with ε = rng.standard_normal(μ.shape), drawn once, bit for bit."""
    mu = np.array([[0.0, 3.0, -1.5], [2.0, -1.0, 0.5]])
    log_std = np.array([0.0, -1.0, 1.2])
    eps = np.random.default_rng(4).standard_normal(mu.shape)
    a = GaussianHead(3).sample((mu, log_std), np.random.default_rng(4))
    np.testing.assert_array_equal(a, mu + np.exp(log_std) * eps)
    assert np.all(eps != 0.0)  # so that μ − e^ℓ ε would differ


def test_gaussian_actions_are_float64_whatever_the_means_dtype():
    """Sampled and deterministic actions are float64 (as ``check_actions`` takes them back)."""
    head = GaussianHead(2)
    mu = np.array([[0.5, -1.0]], dtype=np.float32)
    mode = head.mode((mu, np.zeros(2)))
    assert mode.dtype == np.float64
    np.testing.assert_array_equal(mode, mu.astype(np.float64))
    assert head.sample((mu, np.zeros(2)), np.random.default_rng(0)).dtype == np.float64


# ================================================================ defaults and parameters
def test_head_parameter_block_has_num_params_entries():
    """``init_params()`` is θ_h of shape (num_params,): empty for the categorical head,
    ``log_std_init`` per dimension for the Gaussian."""
    cat = CategoricalHead(3)
    assert cat.num_params == 0 and cat.init_params().shape == (0,)
    g = GaussianHead(3, log_std_init=-0.5)
    np.testing.assert_array_equal(g.init_params(), [-0.5, -0.5, -0.5])


def test_gaussian_defaults_are_the_documented_ones():
    """``log_std_init`` 0.0 (σ = 1) and ``kl_reduction`` "sum" (kl_scale 1)."""
    head = GaussianHead(2)
    assert head.log_std_init == 0.0 and head.kl_reduction == "sum" and head.kl_scale == 1.0
    np.testing.assert_array_equal(head.init_params(), [0.0, 0.0])


def test_spec_without_the_optional_keys_rebuilds_the_default_head():
    """A Gaussian spec with only ``act_dim`` gets the constructor's defaults."""
    head = head_from_spec({"policy": "gaussian", "act_dim": 2})
    assert head.spec() == GaussianHead(2).spec()
    assert head.spec()["log_std_init"] == 0.0 and head.spec()["kl_reduction"] == "sum"
    only_std = GaussianHead.from_spec({"act_dim": 1, "log_std_init": -1.0})
    assert only_std.kl_reduction == "sum" and only_std.log_std_init == -1.0
    only_kl = GaussianHead.from_spec({"act_dim": 3, "kl_reduction": "mean"})
    assert only_kl.log_std_init == 0.0 and only_kl.kl_scale == pytest.approx(1 / 3, rel=1e-15)


def test_constructor_messages_name_the_argument_and_the_value():
    with pytest.raises(ValueError, match=_exact("n_actions must be >= 2, got 1")):
        CategoricalHead(1)
    with pytest.raises(ValueError, match=_exact("act_dim must be >= 1, got 0")):
        GaussianHead(0)
    with pytest.raises(ValueError, match=_exact("log_std_init must be finite, got nan")):
        GaussianHead(1, log_std_init=float("nan"))
    with pytest.raises(
        ValueError, match=_exact("kl_reduction must be one of ('sum', 'mean'), got 'avg'")
    ):
        GaussianHead(1, kl_reduction="avg")


# ================================================================ check_actions
def test_categorical_actions_of_another_shape_are_refused_with_both_shapes():
    head = CategoricalHead(3)
    with pytest.raises(ValueError, match=_exact("actions must have shape (2,), got (2, 1)")):
        head.check_actions(np.zeros((2, 1), dtype=np.int64), 2)


def test_gaussian_one_dimensional_actions_are_a_column_when_act_dim_is_one():
    """(n,) actions are taken as (n, 1) for act_dim = 1, and refused for act_dim = 2."""
    a = np.array([0.5, -1.0, 2.0])
    np.testing.assert_array_equal(GaussianHead(1).check_actions(a, 3), a[:, None])
    with pytest.raises(ValueError, match=_exact("actions must have shape (3, 2), got (3,)")):
        GaussianHead(2).check_actions(a, 3)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.longdouble])
def test_gaussian_actions_of_any_float_dtype_are_taken_as_float64(dtype):
    a = np.array([[0.5, -1.25]], dtype=dtype)
    got = GaussianHead(2).check_actions(a, 1)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, [[0.5, -1.25]])


def test_gaussian_non_finite_actions_are_refused_by_name():
    with pytest.raises(ValueError, match=_exact("actions must be finite")):
        GaussianHead(2).check_actions(np.array([[0.0, np.inf]]), 1)
