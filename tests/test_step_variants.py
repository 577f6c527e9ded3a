"""npg_step and vpg_step (npytrpo.trust_region): the two steps without a line search; and the
no-step result every step returns when it cannot move.

Each result field is checked against the policy's public methods at the new θ, and each
function against its own options (config object, keyword overrides, unknown keywords), and its
degenerate cases. (test_trust_region.py checks that npg_step's direction is TRPO's.)
"""

import numpy as np
import pytest

from npytrpo import linearize as linearize_module
from npytrpo.cg import MAXITER, NONFINITE, NONPOSITIVE_CURVATURE
from npytrpo.config import TRPOConfig
from npytrpo.policies import CategoricalPolicy, GaussianPolicy
from npytrpo.trust_region import natural_direction, npg_step, trpo_step, vpg_step

# The step's KL and surrogate against the policy's methods at the same θ: the same formulas,
# up to the rounding of L(θ_old) + (L(θ) − L(θ_old)), a few eps of max|Â| (here ≤ 3).
ROUND = 1e-13


def batch(kind="categorical", seed=0, N=24):
    rng = np.random.default_rng(seed)
    pi = CategoricalPolicy(3, 3, (5,)) if kind == "categorical" else GaussianPolicy(3, 2, (5,))
    theta = pi.init(rng) + 0.3 * rng.standard_normal(pi.num_params)
    obs = rng.standard_normal((N, 3))
    return pi, theta, obs, pi.sample(theta, obs, rng), rng.standard_normal(N)


def check_measured_at_new_theta(res, pi, theta, obs, a, adv, direction="old_new", c=0.0):
    """kl, surrogate_after and improvement are those of θ_new, as the docstrings say."""
    new = res.theta_new
    assert res.kl == pytest.approx(pi.kl(theta, new, obs, direction), rel=1e-12, abs=1e-15)
    L_new = pi.surrogate(new, obs, a, adv, pi.logp(theta, obs, a))
    H_gain = pi.entropy(new, obs).mean() - pi.entropy(theta, obs).mean()
    assert res.improvement == pytest.approx(L_new - np.mean(adv) + c * H_gain, abs=ROUND)
    assert res.surrogate_before == pytest.approx(np.mean(adv) + c * pi.entropy(theta, obs).mean())


@pytest.mark.parametrize("kind", ["categorical", "gaussian"])
def test_npg_step_takes_the_full_step_and_measures_it(kind):
    """θ_new = θ + βx with no line search; kl and surrogate_after measured at θ_new."""
    pi, theta, obs, a, adv = batch(kind)
    res = npg_step(pi, theta, obs, a, adv, delta=0.05)
    assert res.success and res.status == "full_step" and res.line_search is None
    np.testing.assert_array_equal(res.theta_new, theta + res.full_step)
    assert res.message == "took the full natural-gradient step βx"
    check_measured_at_new_theta(res, pi, theta, obs, a, adv)


def test_npg_step_reads_its_config_and_overrides():
    """A config object is used, keywords override it, an unknown keyword names npg_step."""
    pi, theta, obs, a, adv = batch()
    cfg = TRPOConfig(delta=0.05, kl_direction="new_old")
    by_config = npg_step(pi, theta, obs, a, adv, cfg)
    by_keywords = npg_step(pi, theta, obs, a, adv, delta=0.05, kl_direction="new_old")
    np.testing.assert_array_equal(by_config.theta_new, by_keywords.theta_new)
    assert by_config.kl == by_keywords.kl
    assert by_config.kl == pytest.approx(pi.kl(theta, by_config.theta_new, obs, "new_old"))
    default = npg_step(pi, theta, obs, a, adv)
    assert default.step_size < by_config.step_size  # β grows with √δ
    with pytest.raises(TypeError, match=r"^npg_step got an unexpected keyword argument 'dleta'"):
        npg_step(pi, theta, obs, a, adv, dleta=0.01)


def test_npg_step_keeps_theta_when_there_is_no_direction():
    """All-zero advantages: the zero-advantages result, θ kept, success False."""
    pi, theta, obs, a, adv = batch()
    res = npg_step(pi, theta, obs, a, np.zeros_like(adv))
    assert res.status == "zero_advantages" and not res.success and res.kl == 0.0
    np.testing.assert_array_equal(res.theta_new, theta)


@pytest.mark.parametrize("kind", ["categorical", "gaussian"])
def test_vpg_step_is_theta_plus_lr_g(kind):
    """θ_new = θ + lr·g exactly; x = g, β = lr, gᵀ(lr g) predicted; measured at θ_new."""
    pi, theta, obs, a, adv = batch(kind)
    lr = 0.05
    res = vpg_step(pi, theta, obs, a, adv, lr=lr)
    g = pi.surrogate_grad(theta, obs, a, adv)
    assert res.success and res.status == "full_step" and res.cg is None
    np.testing.assert_allclose(res.g, g, rtol=1e-13, atol=1e-15)
    np.testing.assert_array_equal(res.x, res.g)
    np.testing.assert_array_equal(res.full_step, lr * res.g)
    np.testing.assert_array_equal(res.theta_new, theta + lr * res.g)
    assert res.step_size == lr and res.expected_improvement == pytest.approx(lr * (g @ g))
    assert "vanilla gradient step" in res.message
    check_measured_at_new_theta(res, pi, theta, obs, a, adv)


def test_vpg_step_applies_direction_and_entropy_bonus_of_its_config():
    """kl_direction and entropy_coef of the config apply: g = ∇L + c∇H̄, KL in that direction."""
    pi, theta, obs, a, adv = batch("gaussian")
    c = 0.1
    cfg = TRPOConfig(kl_direction="new_old", entropy_coef=c)
    res = vpg_step(pi, theta, obs, a, adv, cfg, lr=0.02)
    g = pi.surrogate_grad(theta, obs, a, adv) + c * pi.entropy_grad(theta, obs)
    np.testing.assert_allclose(res.g, g, rtol=1e-12, atol=1e-15)
    check_measured_at_new_theta(res, pi, theta, obs, a, adv, "new_old", c)


def test_vpg_step_degenerate_cases_keep_theta():
    """Zero advantages, or an lr·g that overflows: θ kept, success False, said by status."""
    pi, theta, obs, a, adv = batch()
    zero = vpg_step(pi, theta, obs, a, np.zeros_like(adv), lr=0.1)
    assert zero.status == "zero_advantages" and not zero.success
    huge = vpg_step(pi, theta, obs, a, 1e10 * adv, lr=1e308)  # |g| ~ 1e9: lr·g = inf
    assert huge.status == "nonfinite_direction" and not huge.success
    assert "lr = 1e+308" in huge.message
    for res in (zero, huge):
        np.testing.assert_array_equal(res.theta_new, theta)


@pytest.mark.parametrize(("lr", "error"), [(0.0, ValueError), (-1.0, ValueError), ("1", TypeError)])
def test_vpg_step_rejects_bad_lr_naming_it(lr, error):
    """lr must be a real number > 0; the message starts with its name."""
    pi, theta, obs, a, adv = batch()
    with pytest.raises(error, match=r"^lr must"):
        vpg_step(pi, theta, obs, a, adv, lr=lr)
    with pytest.raises(TypeError, match=r"^vpg_step got an unexpected keyword argument"):
        vpg_step(pi, theta, obs, a, adv, lr=0.1, dleta=0.01)


def vpg(*args, **kw):
    return vpg_step(*args, lr=0.1, **kw)


@pytest.mark.parametrize("step", [trpo_step, npg_step, vpg])
def test_nonfinite_gradient_is_a_no_step_result(step, monkeypatch):
    """A g with NaN gives status nonfinite_gradient and the no-step result: θ kept (a copy),
    x, full step, β, gᵀs, xᵀAx, KL and backtracks all 0, no CG or line search, the surrogate
    unchanged, success the bool False, a message naming the cause."""
    pi, theta, obs, a, adv = batch()
    real = linearize_module.weighted_score_grad

    def nan_grad(*args, **kw):
        g = real(*args, **kw)
        g[0] = np.nan
        return g

    monkeypatch.setattr(linearize_module, "weighted_score_grad", nan_grad)
    res = step(pi, theta, obs, a, adv)
    assert res.status == "nonfinite_gradient" and res.success is False
    assert "NaN/inf" in res.message
    np.testing.assert_array_equal(res.theta_new, theta)
    assert res.theta_new is not theta
    for field in ("x", "full_step"):
        np.testing.assert_array_equal(getattr(res, field), np.zeros(pi.num_params))
    assert (res.step_size, res.expected_improvement, res.xAx, res.kl) == (0.0, 0.0, 0.0, 0.0)
    assert res.n_backtracks == 0 and res.cg is None and res.line_search is None
    assert res.surrogate_after == res.surrogate_before == pytest.approx(np.mean(adv))


def fisher_failing_from_call(k, monkeypatch):
    """Make the linearisation's Fisher product return NaN from its k-th call on (1-based)."""
    real = linearize_module.fisher_product

    def failing(*args):
        fvp, calls = real(*args), [0]

        def product(v):
            calls[0] += 1
            return fvp(v) if calls[0] < k else np.full_like(v, np.nan)

        return product

    monkeypatch.setattr(linearize_module, "fisher_product", failing)


@pytest.mark.parametrize("step", [trpo_step, npg_step])
def test_cg_failure_is_reported_with_cg_result(step, monkeypatch):
    """F·v NaN on CG's 2nd product: nonfinite_direction, the message says CG failed, the CG
    result (status NONFINITE) is attached, x and θ are not moved."""
    pi, theta, obs, a, adv = batch()
    fisher_failing_from_call(2, monkeypatch)
    res = step(pi, theta, obs, a, adv)
    assert res.status == "nonfinite_direction" and res.success is False
    assert res.message.startswith("CG failed: ") and res.cg is not None
    assert res.cg.status == NONFINITE and res.cg.iterations == 1
    np.testing.assert_array_equal(res.x, np.zeros(pi.num_params))
    np.testing.assert_array_equal(res.theta_new, theta)


@pytest.mark.parametrize("step", [trpo_step, npg_step])
def test_nonfinite_curvature_after_cg_is_reported_with_x(step, monkeypatch):
    """CG runs its 2 iterations, then F·x for xᵀAx is NaN: nonfinite_direction, saying so,
    with CG's x and result attached and θ kept."""
    pi, theta, obs, a, adv = batch()
    fisher_failing_from_call(3, monkeypatch)
    res = step(pi, theta, obs, a, adv, cg_iters=2, cg_tol=1e-300)
    assert res.status == "nonfinite_direction" and res.message == "xᵀAx is not finite"
    assert res.cg.status == MAXITER
    np.testing.assert_array_equal(res.x, res.cg.x)
    assert np.any(res.x) and res.xAx == 0.0
    np.testing.assert_array_equal(res.theta_new, theta)


def test_trpo_step_reads_its_config_and_overrides():
    """A config object is used (δ, backtrack coefficient), keywords override it, and an
    unknown keyword names trpo_step."""
    pi, theta, obs, a, adv = batch("gaussian")  # the full step with δ = 0.5 is rejected
    cfg = TRPOConfig(delta=0.5, backtrack_coeff=0.3)
    by_config = trpo_step(pi, theta, obs, a, adv, cfg)
    by_keywords = trpo_step(pi, theta, obs, a, adv, delta=0.5, backtrack_coeff=0.3)
    np.testing.assert_array_equal(by_config.theta_new, by_keywords.theta_new)
    fractions = by_config.line_search.fractions
    assert len(fractions) >= 2
    np.testing.assert_array_equal(fractions, 0.3 ** np.arange(len(fractions)))
    assert by_config.message == (
        f"accepted fraction {fractions[-1]:g} of the full step after {len(fractions) - 1} "
        "backtracks"
    )
    with pytest.raises(TypeError, match=r"^trpo_step got an unexpected keyword argument"):
        trpo_step(pi, theta, obs, a, adv, dleta=0.01)


def test_failed_line_search_is_a_no_step_result():
    """Advantages against every direction tried (the strict rule with δ tiny): success is the
    bool False, θ kept, the message counts the trials and names the rule."""
    pi, theta, obs, a, adv = batch()
    res = trpo_step(pi, theta, obs, a, adv, delta=1e-30, accept="strict", max_backtracks=3)
    assert res.status == "line_search_failed" and res.success is False
    assert res.message == "no acceptable step in 3 trials under 'strict'; θ kept"
    np.testing.assert_array_equal(res.theta_new, theta)


@pytest.mark.parametrize("step", [trpo_step, npg_step])
def test_nonpositive_curvature_is_reported_with_cg_and_xAx(step, monkeypatch):
    """F = −I with λ = 0: CG stops at once (pᵀAp < 0), x = 0 and xᵀAx = 0 are recorded, the
    message gives xᵀAx and CG's own message, CG's result is attached; θ kept."""
    pi, theta, obs, a, adv = batch()
    monkeypatch.setattr(linearize_module, "fisher_product", lambda *args: lambda v: -v)
    res = step(pi, theta, obs, a, adv, damping=0.0)
    assert res.status == "nonpositive_curvature" and res.success is False
    assert res.cg.status == NONPOSITIVE_CURVATURE and res.xAx == 0.0
    assert res.message.startswith("xᵀAx = 0.000e+00 <= 0") and res.cg.message in res.message
    np.testing.assert_array_equal(res.x, np.zeros(pi.num_params))
    np.testing.assert_array_equal(res.theta_new, theta)


def test_natural_direction_is_not_yet_evaluated():
    """natural_direction gives βx and θ_old + βx, with kl and surrogate_after NaN (not
    evaluated: npg_step and trpo_step do that) and its own message."""
    pi, theta, obs, a, adv = batch()
    cfg = TRPOConfig()
    lin = pi.linearize(theta, obs, a, adv, kl_direction=cfg.kl_direction,
                       entropy_coef=cfg.entropy_coef, fvp_subsample=cfg.fvp_subsample)  # fmt: skip
    d = natural_direction(lin, cfg)
    assert d.success and d.status == "full_step"
    assert d.message == "the full natural-gradient step βx"
    assert isinstance(d.kl, float) and np.isnan(d.kl)
    assert isinstance(d.surrogate_after, float) and np.isnan(d.surrogate_after)
    np.testing.assert_array_equal(d.theta_new, theta + d.full_step)
    np.testing.assert_array_equal(d.full_step, d.step_size * d.x)


def test_step_input_errors_name_the_argument_and_value():
    """A non-Policy is a TypeError naming the type received; advantages of the wrong length
    (also on the normalising path) a ValueError starting with "advantages"."""
    pi, theta, obs, a, adv = batch()
    with pytest.raises(TypeError, match=r"^policy must be a npytrpo Policy, got str$"):
        trpo_step("policy", theta, obs, a, adv)
    for normalize in (False, True):
        with pytest.raises(ValueError, match=r"^advantages\b"):
            trpo_step(pi, theta, obs, a, adv[:-1], normalize_advantages=normalize)


@pytest.mark.parametrize("step", [trpo_step, npg_step, vpg])
def test_zero_gradient_statuses_say_why(step, monkeypatch):
    """g = 0 from zero advantages, or exactly 0 with nonzero advantages: each status's message
    names its cause."""
    pi, theta, obs, a, adv = batch()
    res = step(pi, theta, obs, a, np.zeros_like(adv))
    assert res.status == "zero_advantages"
    assert res.message == "all advantages are 0, so g = 0: no step"
    real = linearize_module.weighted_score_grad
    monkeypatch.setattr(linearize_module, "weighted_score_grad", lambda *x, **k: 0 * real(*x, **k))
    res = step(pi, theta, obs, a, adv)
    assert res.status == "zero_gradient" and res.message == "g = 0 exactly: no step"


def counting_fisher(monkeypatch) -> list[int]:
    """Count the linearisation's Fisher products (one list entry per call)."""
    real, calls = linearize_module.fisher_product, []

    def counted(*args):
        fvp = real(*args)
        return lambda v: calls.append(1) or fvp(v)

    monkeypatch.setattr(linearize_module, "fisher_product", counted)
    return calls


# "residual" and "product" differ by the rounding of g − r against that of one more product:
# measured ≤ 4.5e-15 relative on CartPole's 64×64 policy at N = 1024 down to λ = 1e-4
# (docs/measure.py xax); 1e-13 leaves a margin of 20.
XAX_RTOL = 1e-13


@pytest.mark.parametrize("kind", ["categorical", "gaussian"])
@pytest.mark.parametrize("damping", [0.1, 1e-3, 1e-5])
def test_xax_from_the_residual_is_the_products_step_with_one_product_less(
    kind, damping, monkeypatch
):
    """xax="residual": the same CG x, one Fisher product fewer, and xᵀAx (so β, βx and the
    expected gain) within XAX_RTOL of xax="product", however small the damping."""
    pi, theta, obs, a, adv = batch(kind, N=64)
    calls = counting_fisher(monkeypatch)
    prod = npg_step(pi, theta, obs, a, adv, damping=damping)
    n_prod = len(calls)
    res = npg_step(pi, theta, obs, a, adv, damping=damping, xax="residual")
    assert len(calls) - n_prod == n_prod - 1 == prod.cg.nmatvec
    np.testing.assert_array_equal(res.x, prod.x)
    assert res.xAx == pytest.approx(prod.xAx, rel=XAX_RTOL)
    assert res.step_size == pytest.approx(prod.step_size, rel=XAX_RTOL)
    np.testing.assert_allclose(res.full_step, prod.full_step, rtol=0,
                               atol=XAX_RTOL * np.abs(prod.full_step).max())  # fmt: skip
    assert res.expected_improvement == pytest.approx(prod.expected_improvement, rel=XAX_RTOL)
    by_trpo = trpo_step(pi, theta, obs, a, adv, damping=damping, xax="residual")
    assert by_trpo.xAx == res.xAx and by_trpo.step_size == res.step_size
