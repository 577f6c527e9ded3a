"""The documented contract of ``ppo_objectives`` beyond its math (issue 17's mutation run on it):
which arguments are refused and under which name, integer inputs, and ``old_dist_rows``."""

import numpy as np
import pytest

from npytrpo import CategoricalPolicy, GaussianPolicy
from npytrpo.gsde import GSDEHead
from npytrpo.policies import Policy
from npytrpo.ppo_objectives import (
    adaptive_beta,
    check_policy,
    clip_objective,
    clip_weights,
    mean_kl_grad,
    old_dist_rows,
)


@pytest.mark.parametrize("fn", [clip_objective, clip_weights])
def test_clip_functions_name_the_non_finite_argument(fn):
    ok = np.array([1.0, 1.1])
    with pytest.raises(ValueError, match="ratio"):
        fn(np.array([1.0, np.nan]), ok, 0.2)
    with pytest.raises(ValueError, match="adv"):
        fn(ok, np.array([np.inf, 1.0]), 0.2)


@pytest.mark.parametrize("fn", [clip_objective, clip_weights])
def test_clip_functions_take_integer_arrays_as_their_float_values(fn):
    r, a = np.array([2, 1, 0]), np.array([1, -1, 3])
    assert np.array_equal(fn(r, a, 0.2), fn(r.astype(float), a.astype(float), 0.2))


@pytest.mark.parametrize("fn", [clip_objective, clip_weights])
def test_clip_functions_want_vectors_of_one_shape(fn):
    m = np.ones((2, 2))  # same shape, but not vectors
    with pytest.raises(ValueError, match="ratio and adv must be vectors of one shape"):
        fn(m, m, 0.2)
    with pytest.raises(ValueError, match="ratio and adv must be vectors of one shape"):
        fn(np.ones(3), np.ones(2), 0.2)


def test_check_policy_names_what_ppo_supports():
    class OtherHead(GSDEHead):
        kind = "other"

    policy = Policy(3, OtherHead(4, 1), (4,))
    with pytest.raises(TypeError, match="categorical, Gaussian and gSDE"):
        check_policy(policy)


def test_mean_kl_grad_names_theta_old():
    pi = CategoricalPolicy(3, 2, (4,))
    theta = pi.init(np.random.default_rng(0))
    obs = np.random.default_rng(1).standard_normal((5, 3))
    with pytest.raises(ValueError, match="theta_old"):
        mean_kl_grad(pi, theta[:-1], theta, obs)


@pytest.mark.parametrize("bad", [0.0, -1.0])
def test_adaptive_beta_refuses_a_beta_or_target_that_is_not_positive(bad):
    with pytest.raises(ValueError, match="beta"):
        adaptive_beta(bad, 0.01, 0.01)
    with pytest.raises(ValueError, match="target_kl"):
        adaptive_beta(1.0, 0.01, bad)


def _policies():
    yield CategoricalPolicy(3, 4, (5,))
    yield GaussianPolicy(3, 2, (5,))
    yield Policy(3, GSDEHead(5, 2), (5,))


@pytest.mark.parametrize("policy", list(_policies()), ids=lambda p: p.kind)
@pytest.mark.parametrize("idx", [np.array([4, 0, 2]), slice(1, 4)], ids=["indices", "slice"])
def test_old_dist_rows_is_the_distribution_on_those_rows(policy, idx):
    """Documented: π_old's head distribution on rows ``idx`` of the batch it was built on —
    the same as building it on those rows (every field, for each head)."""
    rng = np.random.default_rng(3)
    theta = policy.init(rng) + 0.1 * rng.standard_normal(policy.num_params)
    obs = rng.standard_normal((6, 3))
    rows = old_dist_rows(policy, policy.dist_at(theta, obs)[0], idx)
    direct = policy.dist_at(theta, obs[idx])[0]
    if policy.kind == "categorical":
        np.testing.assert_array_equal(rows, direct)
    elif policy.kind == "gaussian":
        for got, want in zip(rows, direct, strict=True):
            np.testing.assert_array_equal(got, want)
    else:
        for field in ("mean", "var", "z2", "s2"):
            np.testing.assert_array_equal(getattr(rows, field), getattr(direct, field))
