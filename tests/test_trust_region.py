"""Tests of npytrpo.trust_region: the TRPO/NPG step judged against dense SciPy solves, the
policy's own KL and surrogate, and closed forms on a log-std-only Gaussian case."""

import math
import warnings

import numpy as np
import pytest
import scipy.linalg
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st
from strategies import policy_cases

from npytrpo import linearize as linearize_module
from npytrpo.cg import CONVERGED
from npytrpo.closed_form import dense_natural_step
from npytrpo.linesearch import KL_SLACK_FACTOR, make_acceptance_rule
from npytrpo.policies import CategoricalPolicy, GaussianPolicy
from npytrpo.trust_region import STATUSES, npg_step, standardize_advantages, trpo_step

EPS = np.finfo(np.float64).eps

# CG is run to convergence with cg_tol = (CG_REL_RESIDUAL·‖g‖)², i.e. ‖r‖ ≤ 1e-13·‖g‖. Far
# above the floor set by g's rounding-level component outside range(F) (≈ eps·‖g‖, which CG
# from 0 can never remove when λ = 0), so the stopping test is reachable.
CG_REL_RESIDUAL = 1e-13
# Undamped steps are only compared where F restricted to its range has condition number
# ≤ MAX_COND_RANGE (eigenvalues ≤ P·eps·λ_max count as zero, pinvh's own cut-off). Past it,
# CG in finite precision loses orthogonality and needs far more than 4P + 10 iterations
# (of 40 sampled cases with cond between 1e5 and 1e6, 7 did not converge), and the attainable
# accuracy k·eps·cond (k ≤ 4P + 10 ≈ 700 iterations) exceeds the 1e-8 asked for. The generator
# gives well-conditioned linear policies always, one-layer MLPs about half the time and
# two-layer ones a quarter (tanh nets have nearly flat directions); under Hypothesis's
# preference for small examples about 1 draw in 10 is filtered.
MAX_COND_RANGE = 1e5
# CG against the closed form: ‖x − x*‖/‖x*‖ ≤ cond(A)·‖r‖/‖g‖ + k·eps·cond(A)
# ≤ 1e5·1e-13 + 700·2.2e-16·1e5 ≈ 2e-8 at the worst admitted conditioning; the issue asks 1e-8
# and the observed worst case is 5e-12 (cond(A) ≤ 300 with λ = 0.1, ≤ 1e5 with λ = 0).
RTOL_CLOSED_FORM = 1e-8
# dense_natural_step (Cholesky) against the test's own LU solve: two backward-stable solves
# differ by about P·eps·cond(A) ≤ 200·2.2e-16·1e3 ≈ 4e-11 with λ = 0.1.
RTOL_DENSE = 1e-10
# ½ β² xᵀAx with the dense A against δ (β was computed from the matrix-free A): two roundings
# of the same quadratic form, each ≤ P·eps·|x|ᵀ|A||x| / xᵀAx ≈ P·eps·cond(A) ≈ 4e-11.
RTOL_QUADRATIC = 1e-10
# The step's KL, surrogate and trace against the policy's public methods evaluated at the same
# θ: the same formulas, up to the rounding of the sum L(θ_old) + (L(θ) − L(θ_old)), which is a
# few eps of max|Â| (the ratios are O(1) for the trust-region steps generated here).
ROUND_SURROGATE = 1e-13
RTOL_KL = 1e-12
# Quantities computed by the same floating-point operations in the same order (g with an
# entropy bonus vs surrogate_grad + c·entropy_grad): equal to the last bits; 1e-14 is margin.
RTOL_SAME_OPS = 1e-14
# normalize_advantages=True against advantages normalised by the test with np.std: the two
# normalisations differ by a few eps. With CG run to convergence x = A⁻¹g moves by
# ≤ cond(A)·(that + CG_REL_RESIDUAL) ≈ 1e3·1e-13. CG is run to convergence on purpose: on a
# singular F, 10 truncated steps amplify rounding ~50× per step (Lanczos losing orthogonality,
# SciPy's cg alike), and a 2e-16 change of g moved that x by 5e-5 relative.
RTOL_NORMALIZED = 1e-9
# The log-std-only Gaussian case has closed forms for the step and its KL; they are evaluated
# with exp/log in another order than the library, a few eps apart.
RTOL_ANALYTIC = 1e-12


# ------------------------------------------------------------------------------ generators
def cases(kinds=("categorical", "gaussian"), min_n=1):
    """(π, θ, obs, actions, Â) from the shared ``policy_cases`` (tests/strategies.py)."""
    return policy_cases(kinds, min_n).map(lambda c: c[:5])


def small_case(seed=0, kind="categorical", N=32):
    """A fixed small MLP case for the example-based tests."""
    rng = np.random.default_rng(seed)
    if kind == "categorical":
        pi = CategoricalPolicy(3, 3, (8,))
    else:
        pi = GaussianPolicy(3, 2, (8,))
    theta = pi.init(rng) + 0.3 * rng.standard_normal(pi.num_params)
    obs = rng.standard_normal((N, 3))
    return pi, theta, obs, pi.sample(theta, obs, rng), rng.standard_normal(N)


def log_std_case(N=8):
    """A linear 1-D Gaussian whose actions are its means and whose advantages are all 1.

    Then score_μ = (a − μ)/σ² = 0 exactly and score_ℓ = −1, so g = (0, …, 0, −1): the natural
    step moves only ℓ, by d = −√(2δ/(2 + λ)) (F is 2 on ℓ), and everything is in closed form:
    KL(old‖new) = d + e^{−2d}/2 − 1/2 and L(θ) − L(θ_old) = σ_old/σ_new − 1 = e^{−d} − 1 > 0.
    """
    pi = GaussianPolicy(2, 1, ())
    theta = pi.init(0)  # ℓ = 0
    obs = np.random.default_rng(1).standard_normal((N, 2))
    return pi, theta, obs, pi.mode(theta, obs), np.ones(N)


def log_std_step(delta, damping=0.1):
    """The closed-form full step d on ℓ of ``log_std_case``."""
    return -math.sqrt(2.0 * delta / (2.0 + damping))


def log_std_kl(d):
    """KL(N(μ, 1) ‖ N(μ, e^{2d})) = d + e^{−2d}/2 − 1/2."""
    return d + 0.5 * math.exp(-2.0 * d) - 0.5


# ------------------------------------------------------------------------------ oracles
def closed_form(F, g, delta, damping):
    """x* = A⁻¹g (A = F + λI; F⁺g when λ = 0), β* = √(2δ / gᵀx*), step* = β*x*."""
    if damping > 0.0:
        x = scipy.linalg.solve(F + damping * np.eye(F.shape[0]), g)  # LU, not Cholesky
    else:
        x = scipy.linalg.pinvh(F) @ g
    beta = math.sqrt(2.0 * delta / (g @ x))
    return x, beta, beta * x


def cond_on_range(F):
    """λ_max / λ_min⁺ over the eigenvalues above pinvh's cut-off P·eps·λ_max."""
    w = np.linalg.eigvalsh(F)
    cutoff = F.shape[0] * EPS * w.max()
    return w.max() / w[w > cutoff].min()


def converged_options(pi, g):
    """CG options that run it to convergence: up to 4P + 10 iterations, ‖r‖ ≤ 1e-13·‖g‖."""
    return dict(cg_iters=4 * pi.num_params + 10, cg_tol=(CG_REL_RESIDUAL * np.linalg.norm(g)) ** 2)


def rel_err(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


def assert_unchanged(res, theta):
    """θ_new is a bit-identical copy of θ, in its own memory, with no NaN."""
    assert not res.success
    assert res.theta_new is not theta and not np.shares_memory(res.theta_new, theta)
    assert np.array_equal(res.theta_new, theta)
    assert res.theta_new.tobytes() == theta.tobytes()


# ------------------------------------------------------------------------------ design card
@given(case=cases(), delta=st.sampled_from([1e-3, 0.01, 0.1]))
def test_converged_step_matches_closed_form_damped(case, delta):
    """With λ = 0.1 and CG converged, x and βx equal A⁻¹g and √(2δ/gᵀA⁻¹g)·A⁻¹g to 1e-8."""
    pi, theta, obs, a, adv = case
    lam = 0.1
    F = pi.fisher_matrix(theta, obs)
    g = pi.surrogate_grad(theta, obs, a, adv)
    x_star, beta_star, step_star = closed_form(F, g, delta, lam)
    res = trpo_step(pi, theta, obs, a, adv, delta=delta, damping=lam, **converged_options(pi, g))
    event(f"cond(A) ≤ 1e{math.ceil(math.log10(np.linalg.cond(F + lam * np.eye(len(g)))))}")
    assert res.cg.converged and res.cg.status == CONVERGED  # always, no example filtered
    np.testing.assert_array_equal(res.g, g)
    assert rel_err(res.x, x_star) <= RTOL_CLOSED_FORM
    assert rel_err(res.full_step, step_star) <= RTOL_CLOSED_FORM
    assert res.step_size == pytest.approx(beta_star, rel=RTOL_CLOSED_FORM)
    # The library's dense ground truth agrees with this test's independent one.
    x_d, beta_d, step_d = dense_natural_step(F, g, delta=delta, damping=lam)
    assert rel_err(x_d, x_star) <= RTOL_DENSE
    assert beta_d == pytest.approx(beta_star, rel=RTOL_DENSE)
    assert rel_err(step_d, step_star) <= RTOL_DENSE


@given(case=cases(), delta=st.sampled_from([1e-3, 0.01, 0.1]))
def test_converged_step_matches_pseudo_inverse_undamped(case, delta):
    """With λ = 0, CG from 0 stays in range(F) and reaches F⁺g; the step is √(2δ/gᵀF⁺g)·F⁺g."""
    pi, theta, obs, a, adv = case
    F = pi.fisher_matrix(theta, obs)
    cond = cond_on_range(F)
    event(f"cond on range ≤ 1e{math.ceil(math.log10(cond))}")
    # Why filter: see MAX_COND_RANGE (ill-conditioned tanh MLPs, not a property of the step).
    assume(cond <= MAX_COND_RANGE)
    g = pi.surrogate_grad(theta, obs, a, adv)
    x_star, beta_star, step_star = closed_form(F, g, delta, 0.0)
    res = trpo_step(pi, theta, obs, a, adv, delta=delta, damping=0.0, **converged_options(pi, g))
    event(f"singular F: {np.linalg.matrix_rank(F) < len(g)}")
    assert res.cg.converged and res.cg.status == CONVERGED  # on every admitted example
    assert rel_err(res.x, x_star) <= RTOL_CLOSED_FORM
    assert rel_err(res.full_step, step_star) <= RTOL_CLOSED_FORM
    assert res.step_size == pytest.approx(beta_star, rel=RTOL_CLOSED_FORM)
    x_d, beta_d, step_d = dense_natural_step(F, g, delta=delta, damping=0.0)
    assert rel_err(x_d, x_star) <= RTOL_DENSE
    assert beta_d == pytest.approx(beta_star, rel=RTOL_DENSE)
    assert rel_err(step_d, step_star) <= RTOL_DENSE


@given(case=cases(), delta=st.floats(1e-4, 1.0), cg_iters=st.integers(1, 20))
def test_full_step_meets_quadratic_model_on_the_boundary(case, delta, cg_iters):
    """½(βx)ᵀA(βx) = δ with the dense A = F + λI, whatever x CG returned."""
    pi, theta, obs, a, adv = case
    res = trpo_step(pi, theta, obs, a, adv, delta=delta, cg_iters=cg_iters)
    assert res.status in ("accepted", "line_search_failed")
    A = pi.fisher_matrix(theta, obs) + 0.1 * np.eye(pi.num_params)
    s = res.full_step
    assert 0.5 * s @ A @ s == pytest.approx(delta, rel=RTOL_QUADRATIC)
    assert res.xAx == pytest.approx(res.x @ A @ res.x, rel=RTOL_QUADRATIC)
    assert res.expected_improvement == pytest.approx(res.g @ s, rel=RTOL_SAME_OPS)


# ------------------------------------------------------------------------------ line search
@given(case=cases(), delta=st.floats(1e-4, 0.1), direction=st.sampled_from(["old_new", "new_old"]))
def test_accepted_step_is_in_trust_region_and_improves(case, delta, direction):
    """An accepted step has recomputed KL ≤ δ and L(θ_new) > L(θ_old); its trace is honest."""
    pi, theta, obs, a, adv = case
    res = trpo_step(pi, theta, obs, a, adv, delta=delta, kl_direction=direction)
    event(res.status)
    ls = res.line_search
    fr = ls.fractions
    assert fr[0] == 1.0 and np.all(np.diff(fr) < 0)  # the fractions strictly decrease
    np.testing.assert_array_equal(fr, 0.5 ** np.arange(len(fr)))
    # Every trial's KL in the trace is the policy's KL at θ + fraction·βx.
    for f, kl in zip(fr, ls.kl, strict=True):
        kl_true = pi.kl(theta, theta + f * res.full_step, obs, direction)
        assert kl == pytest.approx(kl_true, rel=RTOL_KL, abs=RTOL_KL * delta)
    if not res.success:
        assert res.status == "line_search_failed" and len(fr) == 10
        assert_unchanged(res, theta)
        return
    j = res.n_backtracks
    assert len(fr) == j + 1  # the search stops at the first acceptable trial
    assert all(
        not (k <= delta and d > 0) for k, d in zip(ls.kl[:j], ls.improvement[:j], strict=True)
    )
    np.testing.assert_array_equal(res.theta_new, theta + fr[j] * res.full_step)
    kl_true = pi.kl(theta, res.theta_new, obs, direction)
    assert kl_true <= delta
    assert res.kl == pytest.approx(kl_true, rel=RTOL_KL, abs=RTOL_KL * delta)
    logp_old = pi.logp(theta, obs, a)
    before = pi.surrogate(theta, obs, a, adv, logp_old)
    after = pi.surrogate(res.theta_new, obs, a, adv, logp_old)
    round_off = ROUND_SURROGATE * np.abs(adv).max()
    assert res.surrogate_before == pytest.approx(before, abs=round_off)
    assert res.surrogate_after == pytest.approx(after, abs=round_off)
    assert res.improvement > 0.0
    assert after - before > -round_off  # improved, up to the rounding of the two sums
    assert after > before or res.improvement <= round_off


def test_failed_line_search_keeps_theta_bit_identical():
    """When every trial's KL exceeds δ the step fails and θ_new is a bit-identical copy of θ."""
    pi, theta, obs, a, adv = log_std_case()
    delta = 400.0
    # Trials d, d/2, d/4 with d = −√(800/2.1) ≈ −19.5: the smallest KL, at d/4, is ≈ 8600 > δ.
    d = log_std_step(delta)
    assert all(log_std_kl(d * 0.5**j) > delta for j in range(3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = trpo_step(pi, theta, obs, a, adv, delta=delta, max_backtracks=3)
    assert res.status == "line_search_failed" and not res.success
    assert_unchanged(res, theta)
    ls = res.line_search
    np.testing.assert_array_equal(ls.fractions, [1.0, 0.5, 0.25])
    assert np.all(np.diff(ls.fractions) < 0)
    assert np.all(ls.kl > delta) and np.all(ls.improvement > 0)  # rejected on KL alone
    assert ls.accepted == -1 and res.n_backtracks == 3
    assert res.kl == 0.0 and res.improvement == 0.0
    # The diagnostics of the rejected direction are still reported.
    assert res.full_step[-1] == pytest.approx(d, rel=RTOL_ANALYTIC)
    np.testing.assert_array_equal(res.full_step[:-1], 0.0)


def test_log_std_case_matches_closed_forms():
    """On the log-std-only case the step, the KL trace and the gains follow the closed forms."""
    pi, theta, obs, a, adv = log_std_case()
    delta = 0.01
    res = trpo_step(pi, theta, obs, a, adv, delta=delta)
    d = log_std_step(delta)
    np.testing.assert_array_equal(res.g, [0.0, 0.0, 0.0, -1.0])
    assert res.full_step[-1] == pytest.approx(d, rel=RTOL_ANALYTIC)
    assert res.expected_improvement == pytest.approx(-d, rel=RTOL_ANALYTIC)
    for f, kl, gain in zip(
        res.line_search.fractions, res.line_search.kl, res.line_search.improvement, strict=True
    ):
        assert kl == pytest.approx(log_std_kl(f * d), rel=RTOL_ANALYTIC)
        assert gain == pytest.approx(math.expm1(-f * d), rel=RTOL_ANALYTIC)


# ------------------------------------------------------------------------------ acceptance rules
def test_acceptance_rules_on_boundary_values():
    """Each rule against the default on the boundaries where they differ."""
    delta = 0.01
    above, below = np.nextafter(delta, 1.0), np.nextafter(delta, 0.0)
    default = make_acceptance_rule("kl_and_improve", delta=delta)
    strict = make_acceptance_rule("strict", delta=delta)
    slack = make_acceptance_rule("kl_slack", delta=delta)
    ratio = make_acceptance_rule("expected_ratio", delta=delta, expected_improvement=2.0)
    # KL exactly δ: the default accepts, "strict" does not.
    assert default(1.0, delta, 1e-3) and not strict(1.0, delta, 1e-3)
    assert strict(1.0, below, 1e-3) and not default(1.0, above, 1e-3)
    # δ < KL ≤ 1.5δ, and a zero gain: "kl_slack" accepts, the default does not.
    slack_max = KL_SLACK_FACTOR * delta
    assert slack(1.0, slack_max, 1e-3) and not default(1.0, slack_max, 1e-3)
    assert not slack(1.0, np.nextafter(slack_max, 1.0), 1e-3)
    assert slack(1.0, 0.5 * delta, 0.0) and not default(1.0, 0.5 * delta, 0.0)
    assert not slack(1.0, 0.5 * delta, -1e-300)
    # Any KL with gain > 0.1·fraction·gᵀs: "expected_ratio" accepts, the default does not;
    # a small positive gain below that threshold: the default accepts, "expected_ratio" does not.
    assert ratio(1.0, 1e9, 0.21) and not default(1.0, 1e9, 0.21)
    threshold = 0.1 * 0.5 * 2.0
    assert not ratio(0.5, 0.0, threshold) and ratio(0.5, 0.0, np.nextafter(threshold, 1.0))
    assert default(0.5, 0.0, 0.05) and not ratio(0.5, 0.0, 0.05)
    for bad in (0.0, -1.0):
        never = make_acceptance_rule("expected_ratio", delta=delta, expected_improvement=bad)
        assert not never(1.0, 0.0, 1.0)


def test_kl_slack_accepts_full_step_the_default_rejects():
    """With δ < KL(βx) ≤ 1.5δ the kl_slack rule takes the full step; the default halves it."""
    pi, theta, obs, a, adv = log_std_case()
    delta = 0.01
    kl_full = log_std_kl(log_std_step(delta))  # ≈ 0.01017
    assert delta < kl_full <= KL_SLACK_FACTOR * delta
    default = trpo_step(pi, theta, obs, a, adv, delta=delta)
    slack = trpo_step(pi, theta, obs, a, adv, delta=delta, accept="kl_slack")
    assert default.success and default.n_backtracks == 1 and default.kl <= delta
    assert slack.success and slack.n_backtracks == 0
    assert delta < slack.kl <= KL_SLACK_FACTOR * delta
    assert slack.kl == pytest.approx(kl_full, rel=RTOL_ANALYTIC)
    np.testing.assert_array_equal(slack.theta_new, theta + slack.full_step)
    np.testing.assert_array_equal(default.theta_new, theta + 0.5 * default.full_step)


def test_expected_ratio_accepts_step_outside_trust_region():
    """Rule expected_ratio has no KL check: it takes a full step of KL ≫ δ the default rejects."""
    pi, theta, obs, a, adv = log_std_case()
    delta = 400.0  # full step d ≈ −19.5: gain e^{19.5} − 1 ≫ 0.1·|d|, KL ≈ 4.5e16
    default = trpo_step(pi, theta, obs, a, adv, delta=delta, max_backtracks=3)
    ratio = trpo_step(
        pi, theta, obs, a, adv, delta=delta, max_backtracks=3, accept="expected_ratio"
    )
    assert default.status == "line_search_failed"
    assert ratio.success and ratio.n_backtracks == 0 and ratio.kl > delta
    assert ratio.improvement > 0.1 * ratio.expected_improvement
    assert ratio.kl == pytest.approx(pi.kl(theta, ratio.theta_new, obs), rel=RTOL_KL)


def test_strict_rejects_full_step_with_kl_exactly_delta():
    """At a δ where the full step's KL is exactly δ, the strict rule backtracks; the default not.

    On the log-std case KL(βx) − δ changes sign near δ ≈ 0.0055 with a small slope, so among
    the floats next to the crossing some give KL(βx) == δ to the last bit: bisect, then scan.
    """
    pi, theta, obs, a, adv = log_std_case()

    def gap(delta):
        res = trpo_step(pi, theta, obs, a, adv, delta=delta, max_backtracks=1)
        return res.line_search.kl[0] - delta

    lo, hi = 1e-3, 0.05
    assert gap(lo) < 0.0 < gap(hi)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        lo, hi = (lo, mid) if gap(mid) > 0.0 else (mid, hi)
    candidates = (lo + k * np.spacing(lo) for n in range(3000) for k in (n, -n))
    delta = next((float(c) for c in candidates if gap(c) == 0.0), None)
    assert delta is not None, "no float δ with KL(βx) == δ near the crossing"
    default = trpo_step(pi, theta, obs, a, adv, delta=delta)
    strict = trpo_step(pi, theta, obs, a, adv, delta=delta, accept="strict")
    assert default.success and default.n_backtracks == 0 and default.kl == delta
    assert strict.success and strict.n_backtracks == 1 and strict.kl < delta


# ------------------------------------------------------------------------------ NPG and options
@given(case=cases(), delta=st.floats(1e-3, 0.1))
def test_npg_equals_trpo_when_full_step_accepted(case, delta):
    """npg_step computes TRPO's g, x and β, and its θ_new is TRPO's when j = 0 is accepted."""
    pi, theta, obs, a, adv = case
    trpo = trpo_step(pi, theta, obs, a, adv, delta=delta)
    npg = npg_step(pi, theta, obs, a, adv, delta=delta)
    event(f"trpo accepted j = 0: {trpo.success and trpo.n_backtracks == 0}")
    assert npg.success and npg.status == "full_step" and npg.line_search is None
    for field in ("g", "x", "full_step"):
        np.testing.assert_array_equal(getattr(npg, field), getattr(trpo, field))
    assert npg.step_size == trpo.step_size and npg.xAx == trpo.xAx
    np.testing.assert_array_equal(npg.theta_new, theta + trpo.full_step)
    assert npg.kl == trpo.line_search.kl[0]
    assert npg.improvement == pytest.approx(trpo.line_search.improvement[0], abs=1e-15)
    if trpo.success and trpo.n_backtracks == 0:
        assert npg.theta_new.tobytes() == trpo.theta_new.tobytes()
        assert npg.kl == trpo.kl and npg.surrogate_after == trpo.surrogate_after


@given(case=cases(), k=st.integers(2, 5))
def test_fvp_subsample_uses_every_kth_sample_for_fisher_only(case, k):
    """With fvp_subsample=k, x solves (F[obs[::k]] + λI)x = g, and g uses every sample."""
    pi, theta, obs, a, adv = case
    lam = 0.1
    g = pi.surrogate_grad(theta, obs, a, adv)
    opts = converged_options(pi, g)
    full = trpo_step(pi, theta, obs, a, adv, **opts)
    sub = trpo_step(pi, theta, obs, a, adv, fvp_subsample=k, **opts)
    np.testing.assert_array_equal(sub.g, full.g)
    np.testing.assert_array_equal(sub.g, g)
    assert sub.cg.converged
    F_k = pi.fisher_matrix(theta, obs[::k])
    x_star, _, step_star = closed_form(F_k, g, 0.01, lam)
    assert rel_err(sub.x, x_star) <= RTOL_CLOSED_FORM
    assert rel_err(sub.full_step, step_star) <= RTOL_CLOSED_FORM


@given(case=cases(min_n=2))  # std > 0; a constant vector normalises to 0 (tested below)
def test_normalize_advantages_equals_prenormalized(case):
    """normalize_advantages=True gives the step of the advantages (Â − mean)/std."""
    pi, theta, obs, a, adv = case
    adv_n = (adv - adv.mean()) / adv.std()
    opts = converged_options(pi, pi.surrogate_grad(theta, obs, a, adv_n))
    res = trpo_step(pi, theta, obs, a, adv, normalize_advantages=True, **opts)
    ref = trpo_step(pi, theta, obs, a, adv_n, **opts)
    assert res.status == ref.status
    scale = np.linalg.norm(ref.g)
    np.testing.assert_allclose(res.g, ref.g, rtol=0, atol=RTOL_NORMALIZED * scale)
    assert rel_err(res.full_step, ref.full_step) <= RTOL_NORMALIZED
    np.testing.assert_allclose(
        res.theta_new, ref.theta_new, rtol=0, atol=RTOL_NORMALIZED * np.abs(theta).max()
    )
    assert res.surrogate_before == pytest.approx(ref.surrogate_before, abs=RTOL_NORMALIZED)


@given(case=cases(), c=st.floats(1e-3, 1.0))
def test_entropy_bonus_adds_to_gradient_and_objective(case, c):
    """With entropy_coef c, g = ∇L + c∇H̄ and the objective is L + cH̄ before and after."""
    pi, theta, obs, a, adv = case
    res = trpo_step(pi, theta, obs, a, adv, entropy_coef=c)
    g_ref = pi.surrogate_grad(theta, obs, a, adv) + c * pi.entropy_grad(theta, obs)
    np.testing.assert_allclose(res.g, g_ref, rtol=0, atol=RTOL_SAME_OPS * np.abs(g_ref).max())
    H_old = float(np.mean(pi.entropy(theta, obs)))
    assert res.entropy == pytest.approx(H_old, rel=RTOL_SAME_OPS)
    round_off = ROUND_SURROGATE * (np.abs(adv).max() + c * abs(H_old) + 1.0)
    assert res.surrogate_before == pytest.approx(adv.mean() + c * H_old, abs=round_off)
    if res.success:
        logp_old = pi.logp(theta, obs, a)
        after = pi.surrogate(res.theta_new, obs, a, adv, logp_old)
        after += c * float(np.mean(pi.entropy(res.theta_new, obs)))
        assert res.surrogate_after == pytest.approx(after, abs=round_off)


# ------------------------------------------------------------------------------ degenerate cases
@pytest.mark.parametrize("kind", ["categorical", "gaussian"])
@pytest.mark.parametrize("step", [trpo_step, npg_step])
def test_zero_advantages_is_a_no_step_status(kind, step):
    """All-zero advantages (given, or a constant vector normalised) give status zero_advantages."""
    pi, theta, obs, a, _ = small_case(kind=kind)
    for adv, normalize in ((np.zeros(32), False), (np.full(32, 3.7), True)):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            res = step(pi, theta, obs, a, adv, normalize_advantages=normalize)
        assert res.status == "zero_advantages" and not res.success
        assert_unchanged(res, theta)
        for field in ("g", "x", "full_step"):
            np.testing.assert_array_equal(getattr(res, field), 0.0)
        assert res.step_size == 0.0 and res.kl == 0.0 and res.improvement == 0.0
        assert res.cg is None and res.line_search is None


def test_zero_gradient_with_nonzero_advantages():
    """Advantages that cancel exactly (a = μ, Â = ±1) give g = 0 and status zero_gradient."""
    pi, theta, obs, a, _ = log_std_case(N=8)
    adv = np.tile([1.0, -1.0], 4)  # g_ℓ = −mean(Â) = 0 exactly, g_μ = 0 since a = μ
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = trpo_step(pi, theta, obs, a, adv)
    assert res.status == "zero_gradient"
    np.testing.assert_array_equal(res.g, 0.0)
    assert_unchanged(res, theta)


def test_nonfinite_fisher_product_is_a_status(monkeypatch):
    """A Fisher operator returning NaN gives nonfinite_direction, θ unchanged, no NaN."""
    pi, theta, obs, a, adv = small_case()
    def nan_product(pol, dist, cache):
        return lambda v: np.full_like(v, np.nan)

    monkeypatch.setattr(linearize_module, "fisher_product", nan_product)
    for step in (trpo_step, npg_step):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            res = step(pi, theta, obs, a, adv)
        assert res.status == "nonfinite_direction"
        assert_unchanged(res, theta)
        assert np.all(np.isfinite(res.theta_new)) and np.all(np.isfinite(res.x))


def test_nonpositive_curvature_is_a_status(monkeypatch):
    """A Fisher operator v ↦ −v with λ = 0 gives nonpositive_curvature, θ unchanged, no warning."""
    pi, theta, obs, a, adv = small_case(kind="gaussian")
    monkeypatch.setattr(linearize_module, "fisher_product", lambda pol, dist, cache: lambda v: -v)
    for step in (trpo_step, npg_step):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            res = step(pi, theta, obs, a, adv, damping=0.0)
        assert res.status == "nonpositive_curvature"
        assert_unchanged(res, theta)
        assert res.step_size == 0.0 and np.all(np.isfinite(res.theta_new))


@settings(max_examples=40)
@given(
    case=cases(),
    delta=st.floats(1e-4, 1.0),
    damping=st.sampled_from([0.0, 1e-3, 0.1, 1.0]),
    cg_iters=st.integers(1, 20),
    accept=st.sampled_from(["kl_and_improve", "strict", "kl_slack", "expected_ratio"]),
    direction=st.sampled_from(["old_new", "new_old"]),
    normalize=st.booleans(),
    entropy_coef=st.sampled_from([0.0, 0.01]),
)
def test_theta_new_is_always_finite(
    case, delta, damping, cg_iters, accept, direction, normalize, entropy_coef
):
    """Over random options θ_new never holds NaN/inf; a failed step leaves θ bit-identical."""
    pi, theta, obs, a, adv = case
    res = trpo_step(
        pi,
        theta,
        obs,
        a,
        adv,
        delta=delta,
        damping=damping,
        cg_iters=cg_iters,
        accept=accept,
        kl_direction=direction,
        normalize_advantages=normalize,
        entropy_coef=entropy_coef,
    )
    event(res.status)
    assert res.status in STATUSES
    assert np.all(np.isfinite(res.theta_new))
    if res.success:
        np.testing.assert_array_equal(res.theta_new, theta + res.line_search.step)
    else:
        assert_unchanged(res, theta)


# ------------------------------------------------------------------------------ bad arguments
BAD_OPTIONS = [
    ("delta", 0.0),
    ("delta", -0.01),
    ("delta", float("nan")),
    ("damping", -0.1),
    ("backtrack_coeff", 0.0),
    ("backtrack_coeff", 1.0),
    ("backtrack_coeff", 1.5),
    ("accept", "sometimes"),
    ("kl_direction", "sideways"),
    ("cg_iters", 0),
    ("fvp_subsample", 0),
    ("max_backtracks", 0),
]


@pytest.mark.parametrize(("name", "value"), BAD_OPTIONS)
def test_bad_option_raises_value_error_naming_it(name, value):
    """A bad keyword option raises ValueError whose message names the option."""
    pi, theta, obs, a, adv = small_case()
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        trpo_step(pi, theta, obs, a, adv, **{name: value})


@pytest.mark.parametrize(("name", "value"), [("delta", -1.0), ("damping", -1.0)])
def test_npg_and_dense_step_reject_bad_options(name, value):
    """npg_step and dense_natural_step validate δ and λ the same way."""
    pi, theta, obs, a, adv = small_case()
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        npg_step(pi, theta, obs, a, adv, **{name: value})
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        dense_natural_step(np.eye(2), np.ones(2), **{name: value})


def test_type_errors_name_the_argument():
    """A non-Policy and a non-bool normalize_advantages raise TypeError naming them."""
    pi, theta, obs, a, adv = small_case()
    with pytest.raises(TypeError, match=r"\bpolicy\b"):
        trpo_step(object(), theta, obs, a, adv)
    with pytest.raises(TypeError, match=r"\bnormalize_advantages\b"):
        trpo_step(pi, theta, obs, a, adv, normalize_advantages=1)


@pytest.mark.parametrize("name", ["theta", "obs", "actions", "advantages"])
def test_wrong_shapes_name_the_argument(name):
    """theta, obs, actions or advantages of the wrong shape raise ValueError naming it."""
    pi, theta, obs, a, adv = small_case()
    args = dict(theta=theta, obs=obs, actions=a, advantages=adv)
    args[name] = np.concatenate([args[name], args[name][:1]])  # one row/entry too many
    if name == "obs":
        args[name] = np.hstack([obs, obs[:, :1]])  # one column too many
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        trpo_step(pi, **args)


def test_far_trial_points_overflow_without_warnings():
    """A trial step whose log-std overflows exp is rejected by name, with no RuntimeWarning."""
    pi = GaussianPolicy(2, 1, ())
    th = pi.init(0)
    obs = np.random.default_rng(1).standard_normal((8, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = trpo_step(pi, th, obs, pi.mode(th, obs), np.ones(8), delta=1e6, max_backtracks=3)
    assert res.status == "line_search_failed" and np.array_equal(res.theta_new, th)


def test_standardize_advantages_refuses_an_infinite_std():
    """Advantages whose squares overflow (|Â| ~ 1e160) are refused by name, never zeroed."""
    with pytest.raises(ValueError, match="advantages"):
        standardize_advantages(np.array([1e160, -1e160, 3.0]))
    np.testing.assert_array_equal(standardize_advantages(np.array([2.0, 2.0])), [0.0, 0.0])
